#include "cuda_loader.hpp"

#include <cstdlib>
#include <mutex>

#ifdef _WIN32
#  define WIN32_LEAN_AND_MEAN
#  include <windows.h>
#else
#  include <dlfcn.h>
#endif

namespace lsd {
namespace {

#ifdef _WIN32
constexpr const char* kLibraryName = "nvcuda.dll";
#else
constexpr const char* kLibraryName = "libcuda.so.1";
#endif

void* open_library() {
    if (const char* off = std::getenv("LSD_DISABLE_CUDA"); off && *off && *off != '0') return nullptr;
#ifdef _WIN32
    return reinterpret_cast<void*>(LoadLibraryA(kLibraryName));
#else
    void* h = dlopen(kLibraryName, RTLD_NOW | RTLD_LOCAL);
    if (!h) h = dlopen("libcuda.so", RTLD_NOW | RTLD_LOCAL);
    return h;
#endif
}

void* symbol(void* lib, const char* name) {
#ifdef _WIN32
    return reinterpret_cast<void*>(GetProcAddress(static_cast<HMODULE>(lib), name));
#else
    return dlsym(lib, name);
#endif
}

// all-or-nothing per group: `missing` names the first symbol not found
struct Resolver {
    void* lib;
    std::string missing;
    template <typename F>
    bool operator()(const char* name, F& fn) {
        void* p = symbol(lib, name);
        fn = reinterpret_cast<F>(p);
        if (!p && missing.empty()) missing = name;
        return p != nullptr;
    }
};

}  // namespace

std::string CudaDriver::describe(const char* call, cu::Result r) const {
    const char* name = nullptr;
    if (cuGetErrorName && cuGetErrorName(r, &name) == cu::kSuccess && name)
        return std::string(call) + " failed: " + name + " (" + std::to_string(r) + ")";
    return std::string(call) + " failed: CUDA error " + std::to_string(r);
}

const CudaDriver& cuda_driver() {
    static CudaDriver driver;
    static std::once_flag once;
    std::call_once(once, [] {
        CudaDriver d;
        void* lib = open_library();
        if (!lib) {
            const char* off = std::getenv("LSD_DISABLE_CUDA");
            d.why = off && *off && *off != '0' ? "CUDA is disabled (LSD_DISABLE_CUDA is set)"
                                               : std::string("no NVIDIA driver (") + kLibraryName + " not found)";
            driver = d;
            return;
        }
        Resolver get{lib, {}};
        // the library stays loaded for the life of the process once found
        bool core = get("cuInit", d.cuInit) & get("cuDriverGetVersion", d.cuDriverGetVersion) &
                    get("cuDeviceGetCount", d.cuDeviceGetCount) & get("cuGetErrorName", d.cuGetErrorName) &
                    get("cuDeviceGet", d.cuDeviceGet) & get("cuDeviceGetUuid_v2", d.cuDeviceGetUuid) &
                    get("cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain) &
                    get("cuDevicePrimaryCtxRelease_v2", d.cuDevicePrimaryCtxRelease) &
                    get("cuCtxPushCurrent_v2", d.cuCtxPushCurrent) & get("cuCtxPopCurrent_v2", d.cuCtxPopCurrent) &
                    get("cuEventRecord", d.cuEventRecord) & get("cuEventDestroy_v2", d.cuEventDestroy) &
                    get("cuStreamWaitEvent", d.cuStreamWaitEvent) & get("cuStreamCreate", d.cuStreamCreate) &
                    get("cuStreamDestroy_v2", d.cuStreamDestroy) & get("cuStreamSynchronize", d.cuStreamSynchronize) &
                    get("cuMemcpy2DAsync_v2", d.cuMemcpy2DAsync);
        if (!core) {
            d.why = std::string("the NVIDIA driver lacks ") + get.missing + " (too old)";
            driver = d;
            return;
        }
        d.loaded = true;
        Resolver ipc{lib, {}};
        d.ipc = ipc("cuIpcOpenMemHandle_v2", d.cuIpcOpenMemHandle) & ipc("cuIpcCloseMemHandle", d.cuIpcCloseMemHandle) &
                ipc("cuIpcOpenEventHandle", d.cuIpcOpenEventHandle);
        Resolver gfx{lib, {}};
        bool map = gfx("cuGraphicsUnregisterResource", d.cuGraphicsUnregisterResource) &
                   gfx("cuGraphicsMapResources", d.cuGraphicsMapResources) &
                   gfx("cuGraphicsUnmapResources", d.cuGraphicsUnmapResources) &
                   gfx("cuGraphicsSubResourceGetMappedArray", d.cuGraphicsSubResourceGetMappedArray);
        d.gl = map && gfx("cuGraphicsGLRegisterImage", d.cuGraphicsGLRegisterImage);
        d.d3d11 = map && gfx("cuGraphicsD3D11RegisterResource", d.cuGraphicsD3D11RegisterResource);
        Resolver ext{lib, {}};
        d.external_memory = ext("cuImportExternalMemory", d.cuImportExternalMemory) &
                            ext("cuExternalMemoryGetMappedMipmappedArray", d.cuExternalMemoryGetMappedMipmappedArray) &
                            ext("cuMipmappedArrayGetLevel", d.cuMipmappedArrayGetLevel) &
                            ext("cuMipmappedArrayDestroy", d.cuMipmappedArrayDestroy) &
                            ext("cuDestroyExternalMemory", d.cuDestroyExternalMemory);
        cu::Result r = d.cuInit(0);
        d.initialised = r == cu::kSuccess;
        if (d.initialised) {
            int n = 0;
            d.device_count = d.cuDeviceGetCount(&n) == cu::kSuccess ? n : 0;
            int v = 0;
            if (d.cuDriverGetVersion(&v) == cu::kSuccess) d.driver_version = v;
        }
        if (!d.initialised) d.why = d.describe("cuInit", r) + " (no usable NVIDIA GPU)";
        else if (d.device_count <= 0) d.why = "the NVIDIA driver sees no GPU";
        else if (!d.ipc) d.why = std::string("the NVIDIA driver lacks ") + ipc.missing + " (CUDA IPC: Linux only)";
        driver = d;
    });
    return driver;
}

}  // namespace lsd
