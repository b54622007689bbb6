// GPU check, native half: a second process streaming frames that live in device memory through
// the runtime over cuda_ipc and back, as an engine plugin does (scripts/gpu_check.py runs it).
//
//   cuda_roundtrip --state-dir D [--frames N] [--width W] [--height H] [--hold]
//
// Binds cuda_ipc with the identity style, writes a moving pattern into a pitched device buffer,
// lsd_client_submit_cuda -> lsd_client_take_cuda into a second buffer on its own stream, and
// checks every frame byte for byte; prints one JSON line (frames, exact, round trip p50/p99 ms).
// --hold binds, prints "bound" and waits to be killed (the device-memory check).
// Built with the CUDA runtime linked statically (cudart_static): only libcuda.so.1 is needed
// where it runs. Needs a GPU: it is compiled in CI, run by the device script.
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "lsd_bridge/lsd_client.h"
#include "lsd_clock.h"

namespace {

void fail(const std::string& what) {
    std::printf("{\"error\": \"%s\"}\n", what.c_str());
    std::exit(2);
}

void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) fail(std::string(what) + ": " + cudaGetErrorString(e));
}

}  // namespace

int main(int argc, char** argv) {
    std::string state_dir;
    unsigned frames = 1000, width = 1920, height = 1080;
    bool hold = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--state-dir" && i + 1 < argc) state_dir = argv[++i];
        else if (a == "--frames" && i + 1 < argc) frames = static_cast<unsigned>(std::atoi(argv[++i]));
        else if (a == "--width" && i + 1 < argc) width = static_cast<unsigned>(std::atoi(argv[++i]));
        else if (a == "--height" && i + 1 < argc) height = static_cast<unsigned>(std::atoi(argv[++i]));
        else if (a == "--hold") hold = true;
        else fail("unknown argument " + a);
    }
    check(cudaSetDevice(0), "cudaSetDevice");  // the primary context the client uses too
    lsd_client* c = nullptr;
    if (lsd_client_create_from_state(state_dir.empty() ? nullptr : state_dir.c_str(), "gpu-check/roundtrip", &c) !=
        LSD_OK)
        fail(std::string("lsd_client_create_from_state: ") + lsd_last_error());
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, width, height, LSD_FORMAT_RGBA8);
    b.transport = LSD_TRANSPORT_CUDA_IPC;
    b.device_ordinal = 0;
    b.input.slots = b.output.slots = 2;
    lsd_client_bind(c, &b, 0);
    lsd_style_desc s;
    lsd_style_desc_init(&s);
    s.model = "identity";
    lsd_client_set_style(c, &s, 0);
    auto t0 = std::chrono::steady_clock::now();
    while (lsd_client_state(c) != LSD_STATE_READY) {
        if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(30)) fail("not bound within 30 s");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    while (lsd_client_set_style(c, &s, 100) == LSD_PENDING) {}
    lsd_transport_info info;
    std::memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    lsd_client_get_transport(c, &info);
    if (!info.zero_copy) fail(std::string("not on device slots: ") + info.reason);
    if (hold) {
        std::printf("bound\n");
        std::fflush(stdout);
        for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    const size_t row = size_t{width} * 4, src_pitch = row + 256;  // a padded source, a tight target
    unsigned char *src = nullptr, *dst = nullptr;
    check(cudaMalloc(&src, src_pitch * height), "cudaMalloc");
    check(cudaMalloc(&dst, row * height), "cudaMalloc");
    cudaStream_t stream;
    check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
    std::vector<unsigned char> pattern(row * height), back(row * height);
    std::vector<double> rtt;
    unsigned exact = 0, skipped = 0;
    for (unsigned n = 0; n < frames; ++n) {
        for (unsigned y = 0; y < height; ++y)
            for (unsigned x = 0; x < row; ++x) pattern[y * row + x] = static_cast<unsigned char>(x * 3 + y * 5 + n * 7);
        check(cudaMemcpy2D(src, src_pitch, pattern.data(), row, row, height, cudaMemcpyHostToDevice), "upload");
        auto start = std::chrono::steady_clock::now();
        lsd_cuda_frame f;
        std::memset(&f, 0, sizeof f);
        f.struct_size = sizeof f;
        f.device_ptr = reinterpret_cast<uint64_t>(src);
        f.pitch = static_cast<uint32_t>(src_pitch);
        f.width = width;
        f.height = height;
        f.format = LSD_FORMAT_RGBA8;
        f.stream = stream;
        uint64_t id = 0;
        lsd_status st = lsd_client_submit_cuda(c, &f, &id);
        if (st == LSD_NO_FREE_SLOT) {
            ++skipped;
            continue;
        }
        if (st != LSD_OK) fail(std::string("submit: ") + lsd_last_error());
        lsd_cuda_frame out;
        std::memset(&out, 0, sizeof out);
        out.struct_size = sizeof out;
        out.device_ptr = reinterpret_cast<uint64_t>(dst);
        out.stream = stream;
        do {
            st = lsd_client_take_cuda(c, &out, 2000);
            if (st != LSD_OK) fail(std::string("take: ") + lsd_last_error());
        } while (out.frame_id != id);
        check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
        rtt.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        check(cudaMemcpy(back.data(), dst, back.size(), cudaMemcpyDeviceToHost), "download");
        exact += back == pattern;
    }
    std::printf(
        "{\"frames\": %u, \"exact\": %u, \"skipped\": %u, \"width\": %u, \"height\": %u, \"round_trip_p50_ms\": "
        "%.4f, \"round_trip_p99_ms\": %.4f, \"gpu\": \"%s\"}\n",
        frames, exact, skipped, width, height, lsd_percentile(rtt.data(), static_cast<int>(rtt.size()), 50),
        lsd_percentile(rtt.data(), static_cast<int>(rtt.size()), 99), info.gpu);
    cudaFree(src);
    cudaFree(dst);
    cudaStreamDestroy(stream);
    lsd_client_close(c);
    return exact == frames ? 0 : 1;
}
