// Compile-time check: src/cuda_api.hpp, the driver API the client declares itself so that it
// builds without the toolkit, against the toolkit's own cuda.h and cudaGL.h (compiled only
// where they are found; CI has CUDA 13.0's). Struct layouts member by member, constants, and
// every entry point's type with our types mapped to cuda.h's. Nothing runs.
#include <cuda.h>
#include <cudaGL.h>

#include <cstddef>
#include <string_view>
#include <type_traits>

#include "cuda_api.hpp"

namespace cu = lsd::cu;

#define SAME_VALUE(a, b) static_assert(static_cast<long>(a) == static_cast<long>(b), #a " != " #b)
#define SAME_OFFSET(ours, theirs, m) static_assert(offsetof(ours, m) == offsetof(theirs, m), #ours "." #m)

static_assert(sizeof(cu::IpcMemHandle) == sizeof(CUipcMemHandle) && CU_IPC_HANDLE_SIZE == cu::kIpcHandleBytes);
static_assert(sizeof(cu::IpcEventHandle) == sizeof(CUipcEventHandle));
static_assert(sizeof(cu::Uuid) == sizeof(CUuuid));
static_assert(std::is_same_v<cu::DevicePtr, CUdeviceptr> && std::is_same_v<cu::Device, CUdevice>);
static_assert(sizeof(cu::Result) == sizeof(CUresult) && cu::kSuccess == CUDA_SUCCESS);

static_assert(sizeof(cu::Memcpy2D) == sizeof(CUDA_MEMCPY2D));
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, srcXInBytes);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, srcY);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, srcMemoryType);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, srcHost);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, srcDevice);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, srcArray);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, srcPitch);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, dstXInBytes);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, dstY);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, dstMemoryType);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, dstHost);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, dstDevice);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, dstArray);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, dstPitch);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, WidthInBytes);
SAME_OFFSET(cu::Memcpy2D, CUDA_MEMCPY2D, Height);
SAME_VALUE(cu::kMemHost, CU_MEMORYTYPE_HOST);
SAME_VALUE(cu::kMemDevice, CU_MEMORYTYPE_DEVICE);
SAME_VALUE(cu::kMemArray, CU_MEMORYTYPE_ARRAY);
static_assert(sizeof(cu::MemoryType) == sizeof(CUmemorytype));

static_assert(sizeof(cu::ExternalMemoryHandleDesc) == sizeof(CUDA_EXTERNAL_MEMORY_HANDLE_DESC));
SAME_OFFSET(cu::ExternalMemoryHandleDesc, CUDA_EXTERNAL_MEMORY_HANDLE_DESC, type);
SAME_OFFSET(cu::ExternalMemoryHandleDesc, CUDA_EXTERNAL_MEMORY_HANDLE_DESC, handle);
SAME_OFFSET(cu::ExternalMemoryHandleDesc, CUDA_EXTERNAL_MEMORY_HANDLE_DESC, handle.win32.handle);
SAME_OFFSET(cu::ExternalMemoryHandleDesc, CUDA_EXTERNAL_MEMORY_HANDLE_DESC, handle.win32.name);
SAME_OFFSET(cu::ExternalMemoryHandleDesc, CUDA_EXTERNAL_MEMORY_HANDLE_DESC, size);
SAME_OFFSET(cu::ExternalMemoryHandleDesc, CUDA_EXTERNAL_MEMORY_HANDLE_DESC, flags);
SAME_OFFSET(cu::ExternalMemoryHandleDesc, CUDA_EXTERNAL_MEMORY_HANDLE_DESC, reserved);
SAME_VALUE(cu::kExtMemOpaqueFd, CU_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD);
SAME_VALUE(cu::kExtMemOpaqueWin32, CU_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_WIN32);
SAME_VALUE(cu::kExtMemOpaqueWin32Kmt, CU_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_WIN32_KMT);
SAME_VALUE(cu::kExtMemD3D12Heap, CU_EXTERNAL_MEMORY_HANDLE_TYPE_D3D12_HEAP);
SAME_VALUE(cu::kExtMemD3D12Resource, CU_EXTERNAL_MEMORY_HANDLE_TYPE_D3D12_RESOURCE);
static_assert(sizeof(cu::ExternalMemoryHandleType) == sizeof(CUexternalMemoryHandleType));
static_assert(cu::kExtMemDedicated == CUDA_EXTERNAL_MEMORY_DEDICATED);
static_assert(sizeof(cu::Array3DDescriptor) == sizeof(CUDA_ARRAY3D_DESCRIPTOR));
SAME_OFFSET(cu::Array3DDescriptor, CUDA_ARRAY3D_DESCRIPTOR, Width);
SAME_OFFSET(cu::Array3DDescriptor, CUDA_ARRAY3D_DESCRIPTOR, Height);
SAME_OFFSET(cu::Array3DDescriptor, CUDA_ARRAY3D_DESCRIPTOR, Depth);
SAME_OFFSET(cu::Array3DDescriptor, CUDA_ARRAY3D_DESCRIPTOR, Format);
SAME_OFFSET(cu::Array3DDescriptor, CUDA_ARRAY3D_DESCRIPTOR, NumChannels);
SAME_OFFSET(cu::Array3DDescriptor, CUDA_ARRAY3D_DESCRIPTOR, Flags);
static_assert(sizeof(cu::ExternalMemoryMipmappedArrayDesc) == sizeof(CUDA_EXTERNAL_MEMORY_MIPMAPPED_ARRAY_DESC));
SAME_OFFSET(cu::ExternalMemoryMipmappedArrayDesc, CUDA_EXTERNAL_MEMORY_MIPMAPPED_ARRAY_DESC, offset);
SAME_OFFSET(cu::ExternalMemoryMipmappedArrayDesc, CUDA_EXTERNAL_MEMORY_MIPMAPPED_ARRAY_DESC, arrayDesc);
SAME_OFFSET(cu::ExternalMemoryMipmappedArrayDesc, CUDA_EXTERNAL_MEMORY_MIPMAPPED_ARRAY_DESC, numLevels);
SAME_VALUE(cu::kArrayUint8, CU_AD_FORMAT_UNSIGNED_INT8);
SAME_VALUE(cu::kArrayHalf, CU_AD_FORMAT_HALF);
static_assert(sizeof(cu::ArrayFormat) == sizeof(CUarray_format));
static_assert(cu::kArray3DColorAttachment == CUDA_ARRAY3D_COLOR_ATTACHMENT);

static_assert(cu::kStreamNonBlocking == CU_STREAM_NON_BLOCKING);
static_assert(cu::kIpcLazyEnablePeerAccess == CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS);
static_assert(cu::kGraphicsRegisterNone == CU_GRAPHICS_REGISTER_FLAGS_NONE &&
              cu::kGraphicsRegisterReadOnly == CU_GRAPHICS_REGISTER_FLAGS_READ_ONLY &&
              cu::kGraphicsRegisterWriteDiscard == CU_GRAPHICS_REGISTER_FLAGS_WRITE_DISCARD);

// our types -> cuda.h's, then whole function types compared
template <typename T>
struct Theirs {
    using type = T;
};
template <>
struct Theirs<cu::Context> {
    using type = CUcontext;
};
template <>
struct Theirs<cu::Stream> {
    using type = CUstream;
};
template <>
struct Theirs<cu::Event> {
    using type = CUevent;
};
template <>
struct Theirs<cu::Array> {
    using type = CUarray;
};
template <>
struct Theirs<cu::MipmappedArray> {
    using type = CUmipmappedArray;
};
template <>
struct Theirs<cu::GraphicsResource> {
    using type = CUgraphicsResource;
};
template <>
struct Theirs<cu::ExternalMemory> {
    using type = CUexternalMemory;
};
template <>
struct Theirs<cu::IpcMemHandle> {
    using type = CUipcMemHandle;
};
template <>
struct Theirs<cu::IpcEventHandle> {
    using type = CUipcEventHandle;
};
template <>
struct Theirs<cu::Uuid> {
    using type = CUuuid;
};
template <>
struct Theirs<cu::Memcpy2D> {
    using type = CUDA_MEMCPY2D;
};
template <>
struct Theirs<cu::ExternalMemoryHandleDesc> {
    using type = CUDA_EXTERNAL_MEMORY_HANDLE_DESC;
};
template <>
struct Theirs<cu::ExternalMemoryMipmappedArrayDesc> {
    using type = CUDA_EXTERNAL_MEMORY_MIPMAPPED_ARRAY_DESC;
};
template <typename T>
struct Theirs<T*> {
    using type = typename Theirs<T>::type*;
};
template <typename T>
struct Theirs<const T*> {
    using type = const typename Theirs<T>::type*;
};
// every entry point returns CUresult (ours: int, which is also CUdevice, so it is mapped here only)
template <typename... A>
struct Theirs<cu::Result (*)(A...)> {
    using type = CUresult (*)(typename Theirs<A>::type...);
};

#define SAME_API(name) \
  static_assert(std::is_same_v<Theirs<cu::name##_t>::type, decltype(&::name)>, #name " differs from cuda.h")

SAME_API(cuInit);
SAME_API(cuDriverGetVersion);
SAME_API(cuDeviceGetCount);
SAME_API(cuDeviceGet);
SAME_API(cuDeviceGetUuid);  // cuda.h: cuDeviceGetUuid_v2, the symbol the loader takes
SAME_API(cuDevicePrimaryCtxRetain);
SAME_API(cuDevicePrimaryCtxRelease);  // _v2
SAME_API(cuCtxPushCurrent);           // _v2
SAME_API(cuCtxPopCurrent);            // _v2
// its first parameter is a CUresult (an int here, as CUdevice): compared spelled out
static_assert(std::is_same_v<cu::cuGetErrorName_t, cu::Result (*)(cu::Result, const char**)> &&
              std::is_same_v<decltype(&::cuGetErrorName), CUresult (*)(CUresult, const char**)>);
SAME_API(cuIpcOpenMemHandle);  // _v2
SAME_API(cuIpcCloseMemHandle);
SAME_API(cuIpcOpenEventHandle);
SAME_API(cuEventRecord);
SAME_API(cuEventDestroy);  // _v2
SAME_API(cuStreamWaitEvent);
SAME_API(cuStreamCreate);
SAME_API(cuStreamDestroy);  // _v2
SAME_API(cuStreamSynchronize);
SAME_API(cuMemcpy2DAsync);  // _v2
SAME_API(cuGraphicsUnregisterResource);
SAME_API(cuGraphicsMapResources);
SAME_API(cuGraphicsUnmapResources);
SAME_API(cuGraphicsSubResourceGetMappedArray);
SAME_API(cuGraphicsGLRegisterImage);
SAME_API(cuImportExternalMemory);
SAME_API(cuExternalMemoryGetMappedMipmappedArray);
SAME_API(cuMipmappedArrayGetLevel);
SAME_API(cuMipmappedArrayDestroy);
SAME_API(cuDestroyExternalMemory);

// the _v2 entry points cuda.h's macros select are the symbols cuda_loader.cpp asks for
#define STR2(x) #x
#define STR(x) STR2(x)
static_assert(std::string_view(STR(cuDeviceGetUuid)) == "cuDeviceGetUuid_v2");
static_assert(std::string_view(STR(cuIpcOpenMemHandle)) == "cuIpcOpenMemHandle_v2");
static_assert(std::string_view(STR(cuCtxPushCurrent)) == "cuCtxPushCurrent_v2");
static_assert(std::string_view(STR(cuCtxPopCurrent)) == "cuCtxPopCurrent_v2");
static_assert(std::string_view(STR(cuDevicePrimaryCtxRelease)) == "cuDevicePrimaryCtxRelease_v2");
static_assert(std::string_view(STR(cuEventDestroy)) == "cuEventDestroy_v2");
static_assert(std::string_view(STR(cuStreamDestroy)) == "cuStreamDestroy_v2");
static_assert(std::string_view(STR(cuMemcpy2DAsync)) == "cuMemcpy2DAsync_v2");
static_assert(std::string_view(STR(cuStreamWaitEvent)) == "cuStreamWaitEvent");
static_assert(std::string_view(STR(cuEventRecord)) == "cuEventRecord");
