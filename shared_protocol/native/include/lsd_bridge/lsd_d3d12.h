/*
 * LSD Bridge: a Direct3D 12 texture handed to the native client (header only, C++).
 *
 * Include after <d3d12.h>. The resource must be a committed resource created with
 * D3D12_HEAP_FLAG_SHARED, RGBA8/BGRA8/RGBA16F, one mip, one layer. A shared NT handle is made
 * once (ID3D12Device::CreateSharedHandle), imported into CUDA as an array
 * (lsd_gpu_texture_import, LSD_EXTERNAL_D3D12_RESOURCE) and closed; then
 * lsd_client_submit_texture / lsd_client_take_texture copy it each frame. Ordering: the caller
 * makes its command queue's work on the resource complete before a submit reads it (a fence
 * wait) and waits for take before using it. Frames over cuda_ipc need Linux; on Windows the
 * copies go through the binding's shared memory until the cuda_vmm transport exists.
 *
 * Returns LSD_E_IO when CreateSharedHandle fails, otherwise what lsd_gpu_texture_import
 * returns. Compiled in CI with mingw-w64's d3d12.h; not run (no Windows, no GPU here).
 */
#ifndef LSD_BRIDGE_LSD_D3D12_H
#define LSD_BRIDGE_LSD_D3D12_H

#include <string.h>

#include "lsd_client.h"

#ifdef __cplusplus
inline lsd_status lsd_gpu_texture_import_d3d12(lsd_client* c, ID3D12Device* device, ID3D12Resource* resource,
                                               uint32_t width, uint32_t height, lsd_format format,
                                               lsd_gpu_texture** out) {
    if (!c || !device || !resource || !out) return LSD_E_INVALID_ARGUMENT;
    *out = nullptr;
    HANDLE handle = nullptr;
    if (FAILED(device->CreateSharedHandle(resource, nullptr, GENERIC_ALL, nullptr, &handle)) || !handle)
        return LSD_E_IO;
    D3D12_RESOURCE_DESC desc = resource->GetDesc();
    D3D12_RESOURCE_ALLOCATION_INFO info = device->GetResourceAllocationInfo(0, 1, &desc);
    lsd_external_image_desc d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.handle_type = LSD_EXTERNAL_D3D12_RESOURCE;
    d.win32_handle = handle;
    d.size = info.SizeInBytes;
    d.dedicated = 1;
    d.width = width;
    d.height = height;
    d.format = format;
    lsd_status st = lsd_gpu_texture_import(c, &d, out);
    CloseHandle(handle);  // the import holds its own reference
    return st;
}
#endif

#endif
