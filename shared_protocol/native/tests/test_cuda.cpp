// cuda_ipc in the native client without a GPU: a stand-in libcuda (fake_cuda/, host memory as
// device memory, every event wait, record and copy logged) and the scripted fake runtime. Run
// twice by ctest: with the stand-in on LD_LIBRARY_PATH (FakeDriver.*), and with
// LSD_DISABLE_CUDA=1 (NoDriver.*), where the same binary must work on shm.
// What only a GPU can show (real handles, real events, GL interop on a real texture) is in
// scripts/gpu_check.py.
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fake_runtime.hpp"
#include "lsd_unity.h"
#include "unity_plugin_api.h"

extern "C" void UNITY_INTERFACE_API UnityPluginLoad(IUnityInterfaces* interfaces);
extern "C" void UNITY_INTERFACE_API UnityPluginUnload(void);

namespace {

constexpr const char* kGpu = "GPU-5f3c0a1e-8b2d-4c6f-9e0a-1b2c3d4e5f60";  // the stand-in's UUID
constexpr unsigned kW = 16, kH = 8;
constexpr uint32_t kPitch = kW * 4 + 32;  // padded rows in the device slots
constexpr size_t kSize = size_t{kPitch} * kH;

// the stand-in's controls (the client loaded it as libcuda.so.1)
template <typename F>
F fake(const char* name) {
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    EXPECT_NE(lib, nullptr) << "the stand-in libcuda is not loaded";
    return lib ? reinterpret_cast<F>(dlsym(lib, name)) : nullptr;
}
std::string log_since() { return fake<const char* (*)()>("fake_cuda_log")(); }
long count(const char* what) { return fake<long (*)(const char*)>("fake_cuda_count")(what); }
void knob(const char* name, long v) { fake<void (*)(const char*, long)>("fake_cuda_set")(name, v); }

// a 64-byte handle whose first 8 bytes the stand-in reads: an address or an event id
std::string handle(uint64_t v) {
    std::string h(64, '\0');
    std::memcpy(&h[0], &v, sizeof v);
    return h;
}

// event ids: 100 + k input ready, 200 + k input free, 300 + j output ready, 400 + j output free
struct DeviceRings {
    std::vector<std::vector<uint8_t>> in{2, std::vector<uint8_t>(kSize)}, out{2, std::vector<uint8_t>(kSize)};
    lsd::Value reply(bool input) {
        auto& ring = input ? in : out;
        std::string mem, ready, free;
        for (uint64_t k = 0; k < ring.size(); ++k) {
            mem += handle(reinterpret_cast<uint64_t>(ring[k].data()));
            ready += handle((input ? 100 : 300) + k);
            free += handle((input ? 200 : 400) + k);
        }
        lsd::Value r = lsd::Value::object();
        r.set("names", lsd::Value::array());
        r.set("size", lsd::Value::uint(kSize));
        r.set("pitch", lsd::Value::uint(kPitch));
        r.set("ipc_handles", lsd::Value::bin(mem));
        lsd::Value offsets = lsd::Value::array();
        offsets.arr.assign(ring.size(), lsd::Value::uint(0));
        r.set("ipc_offsets", offsets);
        r.set("ipc_ready", lsd::Value::bin(ready));
        r.set("ipc_free", lsd::Value::bin(free));
        return r;
    }
};

// what the real runtime makes on Linux for shm: sealed memfds, named /proc/<pid>/fd/<n>, whose
// memfd name carries the session ("s-1", the fake runtime's)
struct Memfd {
    int fd = -1;
    std::string name;
    explicit Memfd(size_t size) {
        fd = memfd_create("lsd-test-s-1-slot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
            return;
        name = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fd);
    }
    ~Memfd() {
        if (fd >= 0) close(fd);
    }
};

lsd::Value bound_message(uint64_t id, const char* transport, lsd::Value in, lsd::Value out) {
    lsd::Value m = lsd::proto::make("bound", id);
    m.set("transport", lsd::Value::str(transport));
    m.set("input", std::move(in));
    m.set("output", std::move(out));
    m.set("model_width", lsd::Value::uint(kW));
    m.set("model_height", lsd::Value::uint(kH));
    return m;
}

lsd::Value shm_reply(const std::vector<Memfd*>& slots, uint32_t pitch) {
    lsd::Value r = lsd::Value::object();
    lsd::Value names = lsd::Value::array();
    for (Memfd* s : slots) names.arr.push_back(lsd::Value::str(s->name));
    r.set("names", names);
    r.set("size", lsd::Value::uint(size_t{pitch} * kH));
    r.set("pitch", lsd::Value::uint(pitch));
    return r;
}

lsd_bind_desc cuda_bind() {
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, kW, kH, LSD_FORMAT_RGBA8);
    b.transport = LSD_TRANSPORT_CUDA_IPC;
    b.input.pitch = b.output.pitch = kPitch;
    b.input.slots = b.output.slots = 2;
    return b;
}

// the client's rings are bound (its one bind request answered), or false after 3 s
bool wait_ready(lsd_client* c) {
    auto t0 = Clock::now();
    while (lsd_client_state(c) != LSD_STATE_READY) {
        if (since_ms(t0) > 3000) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

lsd_transport_info transport_of(lsd_client* c) {
    lsd_transport_info info;
    std::memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    EXPECT_EQ(lsd_client_get_transport(c, &info), LSD_OK);
    return info;
}

lsd_cuda_frame cuda_frame(const void* device, uint32_t pitch) {
    lsd_cuda_frame f;
    std::memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.device_ptr = reinterpret_cast<uint64_t>(device);
    f.pitch = pitch;
    f.width = kW;
    f.height = kH;
    f.format = LSD_FORMAT_RGBA8;
    return f;
}

// hello, welcome, bind: the client bound on cuda_ipc to the fake runtime's device rings
struct CudaSession {
    FakeRuntime rt;
    DeviceRings rings;
    lsd_client* c = nullptr;
    lsd::Value hello, bind;
    void open() {
        c = client_for(rt);
        lsd_bind_desc b = cuda_bind();
        ASSERT_EQ(lsd_client_bind(c, &b, 0), LSD_E_NOT_CONNECTED);
        ASSERT_TRUE(rt.expect("hello", hello, 3000));
        rt.welcome(hello.get("id")->u, "cuda_ipc", 30000, kGpu);
        ASSERT_TRUE(rt.expect("bind", bind, 3000));
        rt.send(bound_message(bind.get("id")->u, "cuda_ipc", rings.reply(true), rings.reply(false)));
        ASSERT_TRUE(wait_ready(c)) << lsd_last_error();
    }
};

TEST(FakeDriver, HelloOffersCudaIpcAndNamesTheGpu) {
    EXPECT_EQ(lsd_cuda_available(), 1);
    CudaSession s;
    s.open();
    const lsd::Value* tr = s.hello.get("transports");
    ASSERT_EQ(tr->arr.size(), 2u);
    EXPECT_EQ(tr->arr[0].s, "cuda_ipc");
    EXPECT_EQ(tr->arr[1].s, "shm");
    EXPECT_EQ(s.hello.get("gpu")->s, kGpu);
    EXPECT_EQ(s.bind.get("transport")->s, "cuda_ipc");
    lsd_transport_info info = transport_of(s.c);
    EXPECT_EQ(info.requested, LSD_TRANSPORT_CUDA_IPC);
    EXPECT_EQ(info.transport, LSD_TRANSPORT_CUDA_IPC);
    EXPECT_EQ(info.zero_copy, 1);
    EXPECT_EQ(info.cuda_driver, 1);
    EXPECT_STREQ(info.gpu, kGpu);
    EXPECT_STREQ(info.reason, "");
    lsd_client_close(s.c);
}

TEST(FakeDriver, FramesCrossTheDeviceSlotsInEventOrderAndHandlesOpenOnce) {
    CudaSession s;
    log_since();
    s.open();
    EXPECT_EQ(count("open_handles"), 4);  // 2 input + 2 output slots, opened at bind
    EXPECT_EQ(count("open_events"), 8);
    EXPECT_EQ(log_since(), "open_mem\nopen_mem\nopen_mem\nopen_mem\n");
    const uint32_t src_pitch = kW * 4 + 8;
    std::vector<uint8_t> frame(size_t{src_pitch} * kH), result(size_t{kW} * 4 * kH, 0);
    for (int n = 0; n < 6; ++n) {
        for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(i * 7 + n);
        lsd_cuda_frame f = cuda_frame(frame.data(), src_pitch);
        f.stream = reinterpret_cast<void*>(0x1234);  // the caller's stream (the stand-in only notes it)
        uint64_t id = 0;
        ASSERT_EQ(lsd_client_submit_cuda(s.c, &f, &id), LSD_OK) << lsd_last_error();
        lsd::Value fm;
        ASSERT_TRUE(s.rt.expect("frame", fm, 3000));
        uint32_t k = static_cast<uint32_t>(fm.get("slot")->u);
        // the caller's stream waits until the runtime has read the slot, copies, then says ready
        EXPECT_EQ(log_since(), "wait " + std::to_string(200 + k) +
                                   "\ncopy device->device 64x8 on caller stream\nrecord " + std::to_string(100 + k) +
                                   "\n");
        for (unsigned y = 0; y < kH; ++y)
            ASSERT_EQ(std::memcmp(s.rings.in[k].data() + y * kPitch, frame.data() + y * src_pitch, kW * 4), 0);
        // the runtime's answer: the frame, inverted, in output slot j
        uint32_t j = static_cast<uint32_t>(n % 2);
        for (size_t i = 0; i < kSize; ++i) s.rings.out[j][i] = static_cast<uint8_t>(~s.rings.in[k][i]);
        lsd::Value done = lsd::proto::make("frame_done", id);
        done.set("slot", lsd::Value::uint(j));
        done.set("in_slot", lsd::Value::uint(k));
        done.set("time", *fm.get("time"));
        done.set("timings", lsd::Value::object());
        s.rt.send(done);
        lsd_cuda_frame out = cuda_frame(result.data(), 0);
        ASSERT_EQ(lsd_client_take_cuda(s.c, &out, 3000), LSD_OK) << lsd_last_error();
        EXPECT_EQ(out.frame_id, id);
        EXPECT_EQ(log_since(), "wait " + std::to_string(300 + j) + "\ncopy device->device 64x8\nrecord " +
                                   std::to_string(400 + j) + "\n");
        for (unsigned y = 0; y < kH; ++y)
            for (unsigned x = 0; x < kW * 4; ++x)
                ASSERT_EQ(result[y * kW * 4 + x], static_cast<uint8_t>(~frame[y * src_pitch + x])) << y << "," << x;
    }
    // frames from host memory take the same slots and events, and wait for their copy
    std::vector<uint8_t> host(size_t{kW} * 4 * kH, 9);
    lsd_frame_in fi;
    std::memset(&fi, 0, sizeof fi);
    fi.struct_size = sizeof fi;
    fi.data = host.data();
    fi.width = kW;
    fi.height = kH;
    fi.format = LSD_FORMAT_RGBA8;
    ASSERT_EQ(lsd_client_submit(s.c, &fi, nullptr), LSD_OK) << lsd_last_error();
    std::string l = log_since();
    EXPECT_NE(l.find("copy host->device 64x8\nrecord 10"), std::string::npos) << l;
    EXPECT_NE(l.find("\nsync\n"), std::string::npos) << l;
    EXPECT_EQ(count("open_handles"), 4);  // never reopened per frame
    lsd_client_close(s.c);
    EXPECT_EQ(count("open_handles"), 0);  // closed with the binding
    EXPECT_EQ(count("open_events"), 0);
    EXPECT_EQ(count("ctx_depth"), 0);  // every push popped
}

TEST(FakeDriver, HandlesThatWillNotOpenFallBackToShmWithTheReason) {
    knob("ipc_open_result", 400);  // CUDA_ERROR_INVALID_HANDLE: e.g. another GPU
    struct Reset {
        ~Reset() { knob("ipc_open_result", 0); }
    } reset;
    FakeRuntime rt;
    DeviceRings rings;
    lsd_client* c = client_for(rt);
    lsd_bind_desc b = cuda_bind();
    ASSERT_EQ(lsd_client_bind(c, &b, 0), LSD_E_NOT_CONNECTED);
    lsd::Value hello, bind, again;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    rt.welcome(hello.get("id")->u, "cuda_ipc", 30000, kGpu);
    ASSERT_TRUE(rt.expect("bind", bind, 3000));
    rt.send(bound_message(bind.get("id")->u, "cuda_ipc", rings.reply(true), rings.reply(false)));
    ASSERT_TRUE(rt.expect("bind", again, 3000));  // the same rings, in shared memory
    EXPECT_EQ(again.get("transport")->s, "shm");
    EXPECT_EQ(count("open_handles"), 0);  // what did open is closed again
    Memfd i0(kSize), i1(kSize), o0(kSize), o1(kSize);
    rt.send(bound_message(again.get("id")->u, "shm", shm_reply({&i0, &i1}, kPitch), shm_reply({&o0, &o1}, kPitch)));
    ASSERT_TRUE(wait_ready(c)) << lsd_last_error();
    lsd_transport_info info = transport_of(c);
    EXPECT_EQ(info.transport, LSD_TRANSPORT_SHM);
    EXPECT_EQ(info.zero_copy, 0);
    EXPECT_STREQ(info.reason,
                 "cuda_ipc: the runtime's device slots could not be opened here (input slot 0: cuIpcOpenMemHandle "
                 "failed: CUDA_ERROR_INVALID_HANDLE (400) (the runtime's GPU must be this one)); frames go through "
                 "shared memory");
    // a frame on the GPU still goes: copied into the shm slot, waited for
    std::vector<uint8_t> frame(size_t{kW} * 4 * kH, 42);
    lsd_cuda_frame f = cuda_frame(frame.data(), 0);
    log_since();
    ASSERT_EQ(lsd_client_submit_cuda(c, &f, nullptr), LSD_OK) << lsd_last_error();
    EXPECT_EQ(log_since(), "copy device->host 64x8 on stream 0\nsync\n");  // no binding stream on shm
    lsd::Value fm;
    ASSERT_TRUE(rt.expect("frame", fm, 3000));
    lsd_client_close(c);
    EXPECT_EQ(count("ctx_depth"), 0);
}

TEST(FakeDriver, ARuntimeOnAnotherGpuBindsShmAndSaysWhy) {
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    lsd_bind_desc b = cuda_bind();
    ASSERT_EQ(lsd_client_bind(c, &b, 0), LSD_E_NOT_CONNECTED);
    lsd::Value hello, bind;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    const char* why =
        "cuda_ipc: the client's GPU GPU-5f3c0a1e-8b2d-4c6f-9e0a-1b2c3d4e5f60 is not the runtime's "
        "GPU-00000000-1111-2222-3333-444444444444 (CUDA IPC handles open only on the GPU that made them)";
    rt.welcome(hello.get("id")->u, "shm", 30000, nullptr, why);
    ASSERT_TRUE(rt.expect("bind", bind, 3000));  // not refused: the frames take shm
    EXPECT_EQ(bind.get("transport")->s, "shm");
    lsd_transport_info info = transport_of(c);
    EXPECT_EQ(info.transport, LSD_TRANSPORT_SHM);
    EXPECT_STREQ(info.reason, why);
    EXPECT_STREQ(info.gpu, "");
    lsd::Value bye;
    EXPECT_FALSE(rt.expect("bye", bye, 300));  // no reopening loop
    lsd_client_close(c);
}

TEST(FakeDriver, ASessionOpenedBeforeACudaIpcBindIsReopenedToAskForIt) {
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    lsd_client_connect(c, 0);
    lsd::Value hello, bye;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    EXPECT_EQ(hello.get("transports")->arr[0].s, "shm");  // nothing asked for cuda_ipc yet
    rt.welcome(hello.get("id")->u, "shm");
    ASSERT_EQ(lsd_client_connect(c, 2000), LSD_OK);
    lsd_bind_desc b = cuda_bind();
    lsd_status st = lsd_client_bind(c, &b, 0);
    EXPECT_TRUE(st == LSD_PENDING || st == LSD_E_NOT_CONNECTED) << lsd_status_string(st);
    ASSERT_TRUE(rt.expect("bye", bye, 3000));  // the shm session ends properly
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    EXPECT_EQ(hello.get("transports")->arr[0].s, "cuda_ipc");
    EXPECT_EQ(hello.get("gpu")->s, kGpu);
    lsd_client_close(c);
}

TEST(FakeDriver, AGlTextureIsRegisteredOnceAndMappedAroundEachCopy) {
    CudaSession s;
    s.open();
    std::vector<uint8_t> texture(size_t{kW} * 4 * kH);
    for (size_t i = 0; i < texture.size(); ++i) texture[i] = static_cast<uint8_t>(i);
    fake<void (*)(unsigned, void*, size_t)>("fake_cuda_gl_texture")(3, texture.data(), kW * 4);
    lsd_gpu_texture* t = nullptr;
    log_since();
    ASSERT_EQ(lsd_gpu_texture_register_gl(s.c, 3, 0x0DE1 /* GL_TEXTURE_2D */, 0, &t), LSD_OK) << lsd_last_error();
    EXPECT_EQ(log_since(), "gl_register 3 target 3553 flags 1\n");  // read-only for submit
    EXPECT_EQ(count("registered"), 1);
    lsd_cuda_frame f = cuda_frame(nullptr, 0);
    for (int n = 0; n < 2; ++n) {
        ASSERT_EQ(lsd_client_submit_texture(s.c, t, &f, nullptr), LSD_OK) << lsd_last_error();
        lsd::Value fm;
        ASSERT_TRUE(s.rt.expect("frame", fm, 3000));
        uint32_t k = static_cast<uint32_t>(fm.get("slot")->u);
        EXPECT_EQ(log_since(), "map 1\nwait " + std::to_string(200 + k) + "\ncopy array->device 64x8\nrecord " +
                                   std::to_string(100 + k) + "\nunmap 1\n");
        EXPECT_EQ(std::memcmp(s.rings.in[k].data() + kPitch, texture.data() + kW * 4, kW * 4), 0);
        lsd::Value d = lsd::proto::make("dropped", fm.get("id")->u);
        d.set("in_slot", lsd::Value::uint(k));
        d.set("reason", lsd::Value::str("superseded"));
        s.rt.send(d);
    }
    EXPECT_EQ(count("registered"), 1);  // registered once, not per frame
    lsd_gpu_texture_release(t);
    EXPECT_EQ(count("registered"), 0);
    lsd_client_close(s.c);
}

// Unity as the glue sees it: an OpenGL Core device (the glue inside liblsd_bridge, loaded the way
// Unity loads it)
UnityGfxRenderer UNITY_INTERFACE_API gl_core_renderer() { return kUnityGfxRendererOpenGLCore; }
void UNITY_INTERFACE_API no_callback(IUnityGraphicsDeviceEventCallback) {}
int UNITY_INTERFACE_API no_reserve(int) { return 0; }
IUnityGraphics g_unity_graphics = {gl_core_renderer, no_callback, no_callback, no_reserve};
IUnityInterface* UNITY_INTERFACE_API unity_get_split(unsigned long long hi, unsigned long long lo) {
    return hi == 0x7CBA0A9CA4DDB544ULL && lo == 0x8C5AD4926EB17B11ULL ? &g_unity_graphics : nullptr;
}
IUnityInterface* UNITY_INTERFACE_API unity_get(UnityInterfaceGUID g) {
    return unity_get_split(g.m_GUIDHigh, g.m_GUIDLow);
}

lsd_unity_texture_event texture_record(unsigned gl_name, lsd_client* client, bool write) {
    lsd_unity_texture_event ev;
    std::memset(&ev, 0, sizeof ev);
    ev.struct_size = sizeof ev;
    ev.native_texture = reinterpret_cast<void*>(static_cast<uintptr_t>(gl_name));
    ev.width = kW;
    ev.height = kH;
    ev.client = client;
    ev.write = write ? 1 : 0;
    ev.format = LSD_FORMAT_RGBA8;
    return ev;
}

TEST(FakeDriver, TheUnityGlueRunsTheGpuPathOnItsRenderThreadEvents) {
    IUnityInterfaces interfaces = {unity_get, nullptr, unity_get_split, nullptr};
    UnityPluginLoad(&interfaces);
    ASSERT_EQ(lsd_unity_renderer(), kUnityGfxRendererOpenGLCore);
    EXPECT_EQ(lsd_unity_gpu_path_status(), LSD_OK);
    EXPECT_STREQ(lsd_unity_gpu_path_message(), "");
    CudaSession s;
    s.open();
    // the capture and output textures, as the stand-in GL driver holds them
    std::vector<uint8_t> capture(size_t{kW} * 4 * kH), output(size_t{kW} * 4 * kH, 0);
    for (size_t i = 0; i < capture.size(); ++i) capture[i] = static_cast<uint8_t>(i * 3 + 1);
    auto gl_texture = fake<void (*)(unsigned, void*, size_t)>("fake_cuda_gl_texture");
    gl_texture(4, capture.data(), kW * 4);
    gl_texture(5, output.data(), kW * 4);
    auto fn = reinterpret_cast<UnityRenderingEventAndData>(lsd_unity_get_render_event_func());
    lsd_unity_texture_event in = texture_record(4, s.c, false), out = texture_record(5, s.c, true);
    log_since();
    fn(LSD_UNITY_EVENT_REGISTER_TEXTURE, &in);
    fn(LSD_UNITY_EVENT_REGISTER_TEXTURE, &out);
    EXPECT_EQ(in.cuda_status, LSD_OK);
    EXPECT_EQ(out.cuda_status, LSD_OK);
    EXPECT_EQ(log_since(), "gl_register 4 target 3553 flags 1\ngl_register 5 target 3553 flags 2\n");
    EXPECT_EQ(count("registered"), 2);

    in.time = 2.5;
    fn(LSD_UNITY_EVENT_CAPTURE, &in);  // the render thread: texture -> input slot, frame sent
    ASSERT_EQ(in.status, LSD_OK) << lsd_last_error();
    EXPECT_NE(in.frame_id, 0u);
    lsd::Value fm;
    ASSERT_TRUE(s.rt.expect("frame", fm, 3000));
    EXPECT_EQ(fm.get("id")->u, in.frame_id);
    EXPECT_EQ(fm.get("time")->as_double(), 2.5);
    uint32_t k = static_cast<uint32_t>(fm.get("slot")->u);
    for (unsigned y = 0; y < kH; ++y)
        ASSERT_EQ(std::memcmp(s.rings.in[k].data() + y * kPitch, capture.data() + y * kW * 4, kW * 4), 0);

    fn(LSD_UNITY_EVENT_PRESENT, &out);  // nothing finished yet
    EXPECT_EQ(out.status, LSD_NO_FRAME);
    EXPECT_EQ(out.frame_id, 0u);
    for (size_t i = 0; i < kSize; ++i) s.rings.out[1][i] = static_cast<uint8_t>(255 - i % 251);
    lsd::Value done = lsd::proto::make("frame_done", in.frame_id);
    done.set("slot", lsd::Value::uint(1));
    done.set("in_slot", lsd::Value::uint(k));
    done.set("time", *fm.get("time"));
    done.set("timings", lsd::Value::object());
    s.rt.send(done);
    auto t0 = Clock::now();
    do {  // PRESENT never waits: the render thread asks again next frame
        fn(LSD_UNITY_EVENT_PRESENT, &out);
    } while (out.status == LSD_NO_FRAME && since_ms(t0) < 3000);
    ASSERT_EQ(out.status, LSD_OK) << lsd_last_error();
    EXPECT_EQ(out.frame_id, in.frame_id);
    for (unsigned y = 0; y < kH; ++y)
        ASSERT_EQ(std::memcmp(output.data() + y * kW * 4, s.rings.out[1].data() + y * kPitch, kW * 4), 0);

    fn(LSD_UNITY_EVENT_UNREGISTER_TEXTURE, &in);
    fn(LSD_UNITY_EVENT_UNREGISTER_TEXTURE, &out);
    EXPECT_EQ(count("registered"), 0);
    EXPECT_EQ(in.cuda_texture, nullptr);
    lsd_client_close(s.c);
    UnityPluginUnload();
}

TEST(FakeDriver, GpuCallsCheckTheirArguments) {
    CudaSession s;
    s.open();
    lsd_cuda_frame f = cuda_frame(nullptr, 0);
    EXPECT_EQ(lsd_client_submit_cuda(s.c, &f, nullptr), LSD_E_INVALID_ARGUMENT);
    EXPECT_STREQ(lsd_last_error(), "give frame.device_ptr or frame.array (one of them)");
    std::vector<uint8_t> px(size_t{kW} * 4 * kH);
    f = cuda_frame(px.data(), 0);
    f.width = kW * 2;
    EXPECT_EQ(lsd_client_submit_cuda(s.c, &f, nullptr), LSD_E_MISMATCH);
    EXPECT_STREQ(lsd_last_error(), "frame is 32x8 rgba8; the input ring is 16x8 rgba8");
    f = cuda_frame(px.data(), kW * 2);
    EXPECT_EQ(lsd_client_submit_cuda(s.c, &f, nullptr), LSD_E_INVALID_ARGUMENT);
    EXPECT_STREQ(lsd_last_error(), "frame pitch 32 is smaller than a row (64 bytes)");
    f = cuda_frame(px.data(), 0);
    f.flags = LSD_FRAME_MOTION;
    EXPECT_EQ(lsd_client_submit_cuda(s.c, &f, nullptr), LSD_E_INVALID_ARGUMENT);
    lsd_gpu_texture* t = nullptr;
    EXPECT_EQ(lsd_gpu_texture_register_gl(s.c, 7, 0x0DE1, 0, &t), LSD_E_IO);  // a texture the driver refuses
    EXPECT_STREQ(lsd_last_error(), "cuGraphicsGLRegisterImage failed: CUDA_ERROR_INVALID_HANDLE (400)");
    EXPECT_EQ(t, nullptr);
    EXPECT_EQ(lsd_client_take_cuda(s.c, &f, 0), LSD_NO_FRAME);
    lsd_client_close(s.c);
}

TEST(NoDriver, ACudaIpcBindTakesShmAndSaysWhy) {
    EXPECT_EQ(lsd_cuda_available(), 0);
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    lsd_bind_desc b = cuda_bind();
    ASSERT_EQ(lsd_client_bind(c, &b, 0), LSD_E_NOT_CONNECTED);
    lsd::Value hello, bind;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    ASSERT_EQ(hello.get("transports")->arr[0].s, "shm");  // cuda_ipc is not even offered
    EXPECT_EQ(hello.get("gpu"), nullptr);
    rt.welcome(hello.get("id")->u, "shm");
    ASSERT_TRUE(rt.expect("bind", bind, 3000));
    EXPECT_EQ(bind.get("transport")->s, "shm");
    Memfd i0(kSize), i1(kSize), o0(kSize), o1(kSize);
    rt.send(bound_message(bind.get("id")->u, "shm", shm_reply({&i0, &i1}, kPitch), shm_reply({&o0, &o1}, kPitch)));
    ASSERT_TRUE(wait_ready(c)) << lsd_last_error();
    lsd_transport_info info = transport_of(c);
    EXPECT_EQ(info.transport, LSD_TRANSPORT_SHM);
    EXPECT_EQ(info.cuda_driver, 0);
    EXPECT_STREQ(info.reason, "cuda_ipc: CUDA is disabled (LSD_DISABLE_CUDA is set); frames go through host memory");
    std::vector<uint8_t> px(size_t{kW} * 4 * kH);
    lsd_cuda_frame f = cuda_frame(px.data(), 0);
    EXPECT_EQ(lsd_client_submit_cuda(c, &f, nullptr), LSD_E_UNSUPPORTED);
    EXPECT_STREQ(lsd_last_error(),
                 "frames on the GPU need a usable NVIDIA driver: CUDA is disabled (LSD_DISABLE_CUDA is set)");
    lsd_gpu_texture* t = nullptr;
    EXPECT_EQ(lsd_gpu_texture_register_gl(c, 1, 0x0DE1, 0, &t), LSD_E_UNSUPPORTED);
    // frames from host memory flow as ever
    lsd_frame_in fi;
    std::memset(&fi, 0, sizeof fi);
    fi.struct_size = sizeof fi;
    fi.data = px.data();
    fi.width = kW;
    fi.height = kH;
    fi.format = LSD_FORMAT_RGBA8;
    EXPECT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_OK) << lsd_last_error();
    lsd_client_close(c);
}

}  // namespace
