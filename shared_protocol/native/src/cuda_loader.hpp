// libcuda loaded at run time (never linked): availability and the driver entry points the
// client uses. Groups of entry points are optional: a driver without the graphics interop
// symbols still serves cuda_ipc, one without the IPC symbols (Windows) still serves none.
#pragma once
#include <string>

#include "cuda_api.hpp"

namespace lsd {

struct CudaDriver {
    bool loaded = false;           // the library and the core symbols were found
    bool initialised = false;      // cuInit(0) == CUDA_SUCCESS
    bool ipc = false;              // every symbol cuda_ipc needs was found
    bool gl = false;               // cuGraphicsGLRegisterImage and the map/unmap calls
    bool d3d11 = false;            // cuGraphicsD3D11RegisterResource and the map/unmap calls
    bool external_memory = false;  // cuImportExternalMemory & co. (D3D12, Vulkan)
    int device_count = -1;
    int driver_version = 0;
    std::string why;  // when not usable: what is missing ("" when ipc is usable)

    cu::cuInit_t cuInit = nullptr;
    cu::cuDriverGetVersion_t cuDriverGetVersion = nullptr;
    cu::cuDeviceGetCount_t cuDeviceGetCount = nullptr;
    cu::cuGetErrorName_t cuGetErrorName = nullptr;
    cu::cuDeviceGet_t cuDeviceGet = nullptr;
    cu::cuDeviceGetUuid_t cuDeviceGetUuid = nullptr;
    cu::cuDevicePrimaryCtxRetain_t cuDevicePrimaryCtxRetain = nullptr;
    cu::cuDevicePrimaryCtxRelease_t cuDevicePrimaryCtxRelease = nullptr;
    cu::cuCtxPushCurrent_t cuCtxPushCurrent = nullptr;
    cu::cuCtxPopCurrent_t cuCtxPopCurrent = nullptr;
    cu::cuIpcOpenMemHandle_t cuIpcOpenMemHandle = nullptr;
    cu::cuIpcCloseMemHandle_t cuIpcCloseMemHandle = nullptr;
    cu::cuIpcOpenEventHandle_t cuIpcOpenEventHandle = nullptr;
    cu::cuEventRecord_t cuEventRecord = nullptr;
    cu::cuEventDestroy_t cuEventDestroy = nullptr;
    cu::cuStreamWaitEvent_t cuStreamWaitEvent = nullptr;
    cu::cuStreamCreate_t cuStreamCreate = nullptr;
    cu::cuStreamDestroy_t cuStreamDestroy = nullptr;
    cu::cuStreamSynchronize_t cuStreamSynchronize = nullptr;
    cu::cuMemcpy2DAsync_t cuMemcpy2DAsync = nullptr;
    cu::cuGraphicsUnregisterResource_t cuGraphicsUnregisterResource = nullptr;
    cu::cuGraphicsMapResources_t cuGraphicsMapResources = nullptr;
    cu::cuGraphicsUnmapResources_t cuGraphicsUnmapResources = nullptr;
    cu::cuGraphicsSubResourceGetMappedArray_t cuGraphicsSubResourceGetMappedArray = nullptr;
    cu::cuGraphicsGLRegisterImage_t cuGraphicsGLRegisterImage = nullptr;
    cu::cuGraphicsD3D11RegisterResource_t cuGraphicsD3D11RegisterResource = nullptr;
    cu::cuImportExternalMemory_t cuImportExternalMemory = nullptr;
    cu::cuExternalMemoryGetMappedMipmappedArray_t cuExternalMemoryGetMappedMipmappedArray = nullptr;
    cu::cuMipmappedArrayGetLevel_t cuMipmappedArrayGetLevel = nullptr;
    cu::cuMipmappedArrayDestroy_t cuMipmappedArrayDestroy = nullptr;
    cu::cuDestroyExternalMemory_t cuDestroyExternalMemory = nullptr;

    bool usable() const { return loaded && initialised && device_count > 0; }
    // "cuIpcOpenMemHandle failed: CUDA_ERROR_INVALID_HANDLE (400)"
    std::string describe(const char* call, cu::Result r) const;
};

// Loads once (thread-safe); later calls return the same result. LSD_DISABLE_CUDA=1 makes it
// behave as if no driver were installed.
const CudaDriver& cuda_driver();

}  // namespace lsd
