// The CUDA driver API subset the native client calls, declared here so the library builds
// without the CUDA toolkit and loads libcuda at run time only. Types, struct layouts and
// function types follow cuda.h and cudaGL.h of CUDA 13.0 (the _v2 entry points that cuda.h's
// macros select); tests/cuda_decls_check.cpp compiles against the real headers, where they
// can be found, and fails on any difference.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lsd::cu {

using Result = int;  // CUresult
constexpr Result kSuccess = 0;
using Device = int;                    // CUdevice
using DevicePtr = unsigned long long;  // CUdeviceptr (CUdeviceptr_v2)
using Context = struct CUctx_st*;      // CUcontext
using Stream = struct CUstream_st*;    // CUstream
using Event = struct CUevent_st*;      // CUevent
using Array = struct CUarray_st*;      // CUarray
using MipmappedArray = struct CUmipmappedArray_st*;
using GraphicsResource = struct CUgraphicsResource_st*;
using ExternalMemory = struct CUextMemory_st*;

constexpr std::size_t kIpcHandleBytes = 64;  // CU_IPC_HANDLE_SIZE
struct IpcMemHandle {
    char reserved[kIpcHandleBytes];
};
struct IpcEventHandle {
    char reserved[kIpcHandleBytes];
};
struct Uuid {
    char bytes[16];
};

enum MemoryType : int { kMemHost = 1, kMemDevice = 2, kMemArray = 3 };  // CUmemorytype

struct Memcpy2D {  // CUDA_MEMCPY2D (v2)
    std::size_t srcXInBytes, srcY;
    MemoryType srcMemoryType;
    const void* srcHost;
    DevicePtr srcDevice;
    Array srcArray;
    std::size_t srcPitch;
    std::size_t dstXInBytes, dstY;
    MemoryType dstMemoryType;
    void* dstHost;
    DevicePtr dstDevice;
    Array dstArray;
    std::size_t dstPitch;
    std::size_t WidthInBytes, Height;
};

// CUDA_EXTERNAL_MEMORY_HANDLE_DESC
enum ExternalMemoryHandleType : int {
    kExtMemOpaqueFd = 1,
    kExtMemOpaqueWin32 = 2,
    kExtMemOpaqueWin32Kmt = 3,
    kExtMemD3D12Heap = 4,
    kExtMemD3D12Resource = 5,
};
struct ExternalMemoryHandleDesc {
    ExternalMemoryHandleType type;
    union {
        int fd;
        struct {
            void* handle;
            const void* name;
        } win32;
        const void* nvSciBufObject;
    } handle;
    unsigned long long size;
    unsigned int flags;
    unsigned int reserved[16];
};
constexpr unsigned int kExtMemDedicated = 0x1;  // CUDA_EXTERNAL_MEMORY_DEDICATED

// CUarray_format / CUDA_ARRAY3D_DESCRIPTOR / CUDA_EXTERNAL_MEMORY_MIPMAPPED_ARRAY_DESC
enum ArrayFormat : int { kArrayUint8 = 0x01, kArrayHalf = 0x10 };
struct Array3DDescriptor {
    std::size_t Width, Height, Depth;
    ArrayFormat Format;
    unsigned int NumChannels;
    unsigned int Flags;
};
constexpr unsigned int kArray3DColorAttachment = 0x20;  // CUDA_ARRAY3D_COLOR_ATTACHMENT
struct ExternalMemoryMipmappedArrayDesc {
    unsigned long long offset;
    Array3DDescriptor arrayDesc;
    unsigned int numLevels;
    unsigned int reserved[16];
};

constexpr unsigned int kStreamNonBlocking = 0x1;             // CU_STREAM_NON_BLOCKING
constexpr unsigned int kIpcLazyEnablePeerAccess = 0x1;       // CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS
constexpr unsigned int kGraphicsRegisterNone = 0x0;          // CU_GRAPHICS_REGISTER_FLAGS_NONE
constexpr unsigned int kGraphicsRegisterReadOnly = 0x1;      // CU_GRAPHICS_REGISTER_FLAGS_READ_ONLY
constexpr unsigned int kGraphicsRegisterWriteDiscard = 0x2;  // CU_GRAPHICS_REGISTER_FLAGS_WRITE_DISCARD

// driver entry points (the symbol each is loaded from is in cuda_loader.cpp)
using cuInit_t = Result (*)(unsigned int);
using cuDriverGetVersion_t = Result (*)(int*);
using cuDeviceGetCount_t = Result (*)(int*);
using cuDeviceGet_t = Result (*)(Device*, int);
using cuDeviceGetUuid_t = Result (*)(Uuid*, Device);
using cuDevicePrimaryCtxRetain_t = Result (*)(Context*, Device);
using cuDevicePrimaryCtxRelease_t = Result (*)(Device);
using cuCtxPushCurrent_t = Result (*)(Context);
using cuCtxPopCurrent_t = Result (*)(Context*);
using cuGetErrorName_t = Result (*)(Result, const char**);
using cuIpcOpenMemHandle_t = Result (*)(DevicePtr*, IpcMemHandle, unsigned int);
using cuIpcCloseMemHandle_t = Result (*)(DevicePtr);
using cuIpcOpenEventHandle_t = Result (*)(Event*, IpcEventHandle);
using cuEventRecord_t = Result (*)(Event, Stream);
using cuEventDestroy_t = Result (*)(Event);
using cuStreamWaitEvent_t = Result (*)(Stream, Event, unsigned int);
using cuStreamCreate_t = Result (*)(Stream*, unsigned int);
using cuStreamDestroy_t = Result (*)(Stream);
using cuStreamSynchronize_t = Result (*)(Stream);
using cuMemcpy2DAsync_t = Result (*)(const Memcpy2D*, Stream);
using cuGraphicsUnregisterResource_t = Result (*)(GraphicsResource);
using cuGraphicsMapResources_t = Result (*)(unsigned int, GraphicsResource*, Stream);
using cuGraphicsUnmapResources_t = Result (*)(unsigned int, GraphicsResource*, Stream);
using cuGraphicsSubResourceGetMappedArray_t = Result (*)(Array*, GraphicsResource, unsigned int, unsigned int);
// cudaGL.h: GLuint image, GLenum target
using cuGraphicsGLRegisterImage_t = Result (*)(GraphicsResource*, unsigned int, unsigned int, unsigned int);
// cudaD3D11.h (Windows toolkit): ID3D11Resource* pD3DResource
using cuGraphicsD3D11RegisterResource_t = Result (*)(GraphicsResource*, void*, unsigned int);
using cuImportExternalMemory_t = Result (*)(ExternalMemory*, const ExternalMemoryHandleDesc*);
using cuExternalMemoryGetMappedMipmappedArray_t = Result (*)(MipmappedArray*, ExternalMemory,
                                                             const ExternalMemoryMipmappedArrayDesc*);
using cuMipmappedArrayGetLevel_t = Result (*)(Array*, MipmappedArray, unsigned int);
using cuMipmappedArrayDestroy_t = Result (*)(MipmappedArray);
using cuDestroyExternalMemory_t = Result (*)(ExternalMemory);

}  // namespace lsd::cu
