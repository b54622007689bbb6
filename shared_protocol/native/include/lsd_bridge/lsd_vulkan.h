/*
 * LSD Bridge: a Vulkan image's memory handed to the native client (header only).
 *
 * Include after <vulkan/vulkan.h> (on Windows also <vulkan/vulkan_win32.h>, with
 * VK_USE_PLATFORM_WIN32_KHR). The image must be bound to memory allocated exportable
 * (VkExportMemoryAllocateInfo with the OPAQUE_FD handle type on Linux, OPAQUE_WIN32 on
 * Windows; a dedicated allocation is best), RGBA8/BGRA8/RGBA16F, optimal tiling, one mip,
 * one layer. The memory is exported once (vkGetMemoryFdKHR / vkGetMemoryWin32HandleKHR) and
 * imported into CUDA as an array (lsd_gpu_texture_import); then lsd_client_submit_texture /
 * lsd_client_take_texture copy it each frame. Ordering: the caller makes Vulkan's work on the
 * image complete before a submit reads it (a fence wait) and waits for take before using it
 * (an imported texture's copies return when done).
 *
 * Returns LSD_E_UNSUPPORTED when the device lacks the export function (the extension is not
 * enabled), LSD_E_IO when exporting fails; otherwise what lsd_gpu_texture_import returns.
 * Compiled in CI against Debian's Vulkan headers; not run on a GPU yet.
 */
#ifndef LSD_BRIDGE_LSD_VULKAN_H
#define LSD_BRIDGE_LSD_VULKAN_H

#include <string.h>

#include "lsd_client.h"

#if defined(_WIN32)
#  include <windows.h>
#else
#  include <unistd.h>
#endif

static inline lsd_status lsd_gpu_texture_import_vulkan(lsd_client* c, VkDevice device, VkDeviceMemory memory,
                                                       VkDeviceSize allocation_size, VkDeviceSize offset,
                                                       uint32_t width, uint32_t height, lsd_format format,
                                                       PFN_vkGetDeviceProcAddr get_device_proc, lsd_gpu_texture** out) {
    lsd_external_image_desc d;
    lsd_status st;
    if (!c || !out || !get_device_proc) return LSD_E_INVALID_ARGUMENT;
    *out = NULL;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.size = (uint64_t)allocation_size;
    d.offset = (uint64_t)offset;
    d.dedicated = 1;
    d.width = width;
    d.height = height;
    d.format = format;
#if defined(_WIN32)
    {
        PFN_vkGetMemoryWin32HandleKHR get =
            (PFN_vkGetMemoryWin32HandleKHR)get_device_proc(device, "vkGetMemoryWin32HandleKHR");
        VkMemoryGetWin32HandleInfoKHR info;
        HANDLE handle = NULL;
        if (!get) return LSD_E_UNSUPPORTED;
        memset(&info, 0, sizeof info);
        info.sType = VK_STRUCTURE_TYPE_MEMORY_GET_WIN32_HANDLE_INFO_KHR;
        info.memory = memory;
        info.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_WIN32_BIT;
        if (get(device, &info, &handle) != VK_SUCCESS || !handle) return LSD_E_IO;
        d.handle_type = LSD_EXTERNAL_OPAQUE_WIN32;
        d.win32_handle = handle;
        st = lsd_gpu_texture_import(c, &d, out);
        CloseHandle(handle); /* CUDA does not take a Win32 handle: the import holds its own reference */
        return st;
    }
#else
    {
        PFN_vkGetMemoryFdKHR get = (PFN_vkGetMemoryFdKHR)get_device_proc(device, "vkGetMemoryFdKHR");
        VkMemoryGetFdInfoKHR info;
        int fd = -1;
        if (!get) return LSD_E_UNSUPPORTED;
        memset(&info, 0, sizeof info);
        info.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR;
        info.memory = memory;
        info.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
        if (get(device, &info, &fd) != VK_SUCCESS || fd < 0) return LSD_E_IO;
        d.handle_type = LSD_EXTERNAL_OPAQUE_FD;
        d.fd = fd;
        st = lsd_gpu_texture_import(c, &d, out);
        if (st != LSD_OK) close(fd); /* on success CUDA owns the descriptor */
        return st;
    }
#endif
}

#endif
