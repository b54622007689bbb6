// A stand-in for libcuda.so.1 in the tests: the driver entry points the native client loads,
// with host memory playing device memory, so the client's cuda_ipc path (handles opened once,
// the event waits and records around every copy, pitched copies, the fallbacks) runs and is
// checked on a machine without a GPU. What it fakes is exactly what the test says:
//   - a CUipcMemHandle's first 8 bytes are the address of the slot's host memory (the test,
//     playing the runtime, puts them there); a CUipcEventHandle's first 8 bytes an event id;
//   - cuMemcpy2DAsync copies at once; a CUarray is a FakeArray (data + pitch);
//   - every call that matters is appended to a log the test reads (fake_cuda_log);
//   - knobs (fake_cuda_set) make cuInit, cuIpcOpenMemHandle or the UUID fail or differ.
// It is never shipped: CMake builds it into the test folder only.
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>

namespace {

std::mutex g_mu;
std::string g_log;
int g_init_result = 0;      // cuInit's result
int g_ipc_open_result = 0;  // cuIpcOpenMemHandle's result
int g_ctx_depth = 0;        // pushes minus pops: the client must balance them
int g_open_handles = 0;     // IPC memory handles open now
int g_open_events = 0;      // IPC events open now
int g_registered = 0;       // graphics resources registered now
unsigned char g_uuid[16] = {0x5f, 0x3c, 0x0a, 0x1e, 0x8b, 0x2d, 0x4c, 0x6f,
                            0x9e, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60};

void note(const std::string& what) {
    std::lock_guard<std::mutex> lk(g_mu);
    g_log += what;
    g_log += '\n';
}

struct Handle64 {
    char b[64];
};
struct FakeEvent {
    uint64_t id;
};
struct FakeArray {
    unsigned char* data;
    size_t pitch;
};
struct FakeResource {
    FakeArray* array;
};

uint64_t first8(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

struct Memcpy2D {
    size_t srcXInBytes, srcY;
    int srcMemoryType;
    const void* srcHost;
    unsigned long long srcDevice;
    void* srcArray;
    size_t srcPitch;
    size_t dstXInBytes, dstY;
    int dstMemoryType;
    void* dstHost;
    unsigned long long dstDevice;
    void* dstArray;
    size_t dstPitch;
    size_t WidthInBytes, Height;
};

const unsigned char* src_of(const Memcpy2D* c, size_t& pitch) {
    if (c->srcMemoryType == 3) {
        auto* a = static_cast<FakeArray*>(c->srcArray);
        pitch = a->pitch;
        return a->data;
    }
    pitch = c->srcPitch;
    return c->srcMemoryType == 1 ? static_cast<const unsigned char*>(c->srcHost)
                                 : reinterpret_cast<const unsigned char*>(static_cast<uintptr_t>(c->srcDevice));
}

unsigned char* dst_of(const Memcpy2D* c, size_t& pitch) {
    if (c->dstMemoryType == 3) {
        auto* a = static_cast<FakeArray*>(c->dstArray);
        pitch = a->pitch;
        return a->data;
    }
    pitch = c->dstPitch;
    return c->dstMemoryType == 1 ? static_cast<unsigned char*>(c->dstHost)
                                 : reinterpret_cast<unsigned char*>(static_cast<uintptr_t>(c->dstDevice));
}

const char* kind(int t) { return t == 1 ? "host" : t == 2 ? "device" : t == 3 ? "array" : "?"; }

}  // namespace

extern "C" {

// --- the test's controls ---------------------------------------------------------------------
__attribute__((visibility("default"))) void fake_cuda_set(const char* knob, long value) {
    std::lock_guard<std::mutex> lk(g_mu);
    std::string k = knob;
    if (k == "init_result") g_init_result = static_cast<int>(value);
    else if (k == "ipc_open_result") g_ipc_open_result = static_cast<int>(value);
    else if (k == "uuid_last_byte") g_uuid[15] = static_cast<unsigned char>(value);
}
// the log since the last call (and clears it)
__attribute__((visibility("default"))) const char* fake_cuda_log() {
    static thread_local std::string out;
    std::lock_guard<std::mutex> lk(g_mu);
    out.swap(g_log);
    g_log.clear();
    return out.c_str();
}
__attribute__((visibility("default"))) long fake_cuda_count(const char* what) {
    std::lock_guard<std::mutex> lk(g_mu);
    std::string w = what;
    if (w == "ctx_depth") return g_ctx_depth;
    if (w == "open_handles") return g_open_handles;
    if (w == "open_events") return g_open_events;
    if (w == "registered") return g_registered;
    return -1;
}
// a texture the fake GL "driver" knows: cuGraphicsGLRegisterImage(texture) maps to this memory
static FakeArray g_gl_arrays[8];
__attribute__((visibility("default"))) void fake_cuda_gl_texture(unsigned texture, void* data, size_t pitch) {
    if (texture < 8) g_gl_arrays[texture] = FakeArray{static_cast<unsigned char*>(data), pitch};
}

// --- driver entry points (the signatures of cuda.h / cudaGL.h) --------------------------------
#define API __attribute__((visibility("default")))
API int cuInit(unsigned) { return g_init_result; }
API int cuDriverGetVersion(int* v) {
    *v = 13000;
    return 0;
}
API int cuDeviceGetCount(int* n) {
    *n = 1;
    return 0;
}
API int cuGetErrorName(int r, const char** s) {
    *s = r == 400 ? "CUDA_ERROR_INVALID_HANDLE" : r == 100 ? "CUDA_ERROR_NO_DEVICE" : "CUDA_ERROR_UNKNOWN";
    return 0;
}
API int cuDeviceGet(int* d, int ordinal) {
    if (ordinal != 0) return 101;  // CUDA_ERROR_INVALID_DEVICE
    *d = 0;
    return 0;
}
API int cuDeviceGetUuid_v2(char* uuid, int) {
    std::lock_guard<std::mutex> lk(g_mu);
    std::memcpy(uuid, g_uuid, 16);
    return 0;
}
static int g_ctx_object;
API int cuDevicePrimaryCtxRetain(void** ctx, int) {
    *ctx = &g_ctx_object;
    return 0;
}
API int cuDevicePrimaryCtxRelease_v2(int) { return 0; }
API int cuCtxPushCurrent_v2(void* ctx) {
    if (ctx != &g_ctx_object) return 201;  // CUDA_ERROR_INVALID_CONTEXT
    std::lock_guard<std::mutex> lk(g_mu);
    ++g_ctx_depth;
    return 0;
}
API int cuCtxPopCurrent_v2(void** ctx) {
    std::lock_guard<std::mutex> lk(g_mu);
    --g_ctx_depth;
    if (ctx) *ctx = &g_ctx_object;
    return 0;
}
API int cuIpcOpenMemHandle_v2(unsigned long long* ptr, Handle64 h, unsigned) {
    if (g_ipc_open_result) return g_ipc_open_result;
    *ptr = first8(h.b);
    note("open_mem");
    std::lock_guard<std::mutex> lk(g_mu);
    ++g_open_handles;
    return 0;
}
API int cuIpcCloseMemHandle(unsigned long long) {
    std::lock_guard<std::mutex> lk(g_mu);
    --g_open_handles;
    return 0;
}
API int cuIpcOpenEventHandle(void** ev, Handle64 h) {
    *ev = new FakeEvent{first8(h.b)};
    std::lock_guard<std::mutex> lk(g_mu);
    ++g_open_events;
    return 0;
}
API int cuEventRecord(void* ev, void*) {
    note("record " + std::to_string(static_cast<FakeEvent*>(ev)->id));
    return 0;
}
API int cuEventDestroy_v2(void* ev) {
    delete static_cast<FakeEvent*>(ev);
    std::lock_guard<std::mutex> lk(g_mu);
    --g_open_events;
    return 0;
}
API int cuStreamWaitEvent(void*, void* ev, unsigned) {
    note("wait " + std::to_string(static_cast<FakeEvent*>(ev)->id));
    return 0;
}
static int g_stream_object;
API int cuStreamCreate(void** s, unsigned) {
    *s = &g_stream_object;
    return 0;
}
API int cuStreamDestroy_v2(void*) { return 0; }
API int cuStreamSynchronize(void*) {
    note("sync");
    return 0;
}
API int cuMemcpy2DAsync_v2(const Memcpy2D* c, void* stream) {
    size_t sp = 0, dp = 0;
    const unsigned char* src = src_of(c, sp);
    unsigned char* dst = dst_of(c, dp);
    for (size_t y = 0; y < c->Height; ++y) std::memcpy(dst + y * dp, src + y * sp, c->WidthInBytes);
    note(std::string("copy ") + kind(c->srcMemoryType) + "->" + kind(c->dstMemoryType) + " " +
         std::to_string(c->WidthInBytes) + "x" + std::to_string(c->Height) +
         (stream == &g_stream_object ? ""
          : stream                   ? " on caller stream"
                                     : " on stream 0"));
    return 0;
}
API int cuGraphicsGLRegisterImage(void** res, unsigned texture, unsigned target, unsigned flags) {
    if (texture >= 8 || !g_gl_arrays[texture].data) return 400;
    *res = new FakeResource{&g_gl_arrays[texture]};
    note("gl_register " + std::to_string(texture) + " target " + std::to_string(target) + " flags " +
         std::to_string(flags));
    std::lock_guard<std::mutex> lk(g_mu);
    ++g_registered;
    return 0;
}
API int cuGraphicsUnregisterResource(void* res) {
    delete static_cast<FakeResource*>(res);
    std::lock_guard<std::mutex> lk(g_mu);
    --g_registered;
    return 0;
}
API int cuGraphicsMapResources(unsigned n, void**, void*) {
    note("map " + std::to_string(n));
    return 0;
}
API int cuGraphicsUnmapResources(unsigned n, void**, void*) {
    note("unmap " + std::to_string(n));
    return 0;
}
API int cuGraphicsSubResourceGetMappedArray(void** array, void* res, unsigned, unsigned) {
    *array = static_cast<FakeResource*>(res)->array;
    return 0;
}

}  // extern "C"
