// libcuda loaded at run time (never linked): availability and a few driver entry points.
#pragma once

namespace lsd {

struct CudaDriver {
    bool loaded = false;       // the library and the symbols below were found
    bool initialised = false;  // cuInit(0) == CUDA_SUCCESS
    int device_count = -1;
    int driver_version = 0;
    using cuInit_t = int (*)(unsigned int);
    using cuDeviceGetCount_t = int (*)(int*);
    using cuDriverGetVersion_t = int (*)(int*);
    cuInit_t cuInit = nullptr;
    cuDeviceGetCount_t cuDeviceGetCount = nullptr;
    cuDriverGetVersion_t cuDriverGetVersion = nullptr;
};

// Loads once (thread-safe); later calls return the same result.
const CudaDriver& cuda_driver();

}  // namespace lsd
