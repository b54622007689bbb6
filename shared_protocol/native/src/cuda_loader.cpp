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

void* open_library() {
    if (const char* off = std::getenv("LSD_DISABLE_CUDA"); off && *off && *off != '0') return nullptr;
#ifdef _WIN32
    return reinterpret_cast<void*>(LoadLibraryA("nvcuda.dll"));
#else
    void* h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
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

template <typename F>
bool resolve(void* lib, const char* name, F& fn) {
    void* p = symbol(lib, name);
    fn = reinterpret_cast<F>(p);
    return p != nullptr;
}

}  // namespace

const CudaDriver& cuda_driver() {
    static CudaDriver driver;
    static std::once_flag once;
    std::call_once(once, [] {
        void* lib = open_library();
        if (!lib) return;  // kept loaded for the life of the process once found
        CudaDriver d;
        if (!resolve(lib, "cuInit", d.cuInit) || !resolve(lib, "cuDeviceGetCount", d.cuDeviceGetCount) ||
            !resolve(lib, "cuDriverGetVersion", d.cuDriverGetVersion))
            return;
        d.loaded = true;
        d.initialised = d.cuInit(0) == 0;
        if (d.initialised) {
            int n = 0;
            d.device_count = d.cuDeviceGetCount(&n) == 0 ? n : 0;
            int v = 0;
            if (d.cuDriverGetVersion(&v) == 0) d.driver_version = v;
        }
        driver = d;
    });
    return driver;
}

}  // namespace lsd
