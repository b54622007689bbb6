// Without a real runtime: absent runtime (every call returns within its timeout),
// argument checks, and a scripted fake runtime (a ROUTER socket in the test) that checks
// what the client sends and how it handles silence, bad replies and version mismatch.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zmq.hpp>

#include "lsd_bridge/lsd_client.h"
#include "protocol.hpp"

namespace {

using Clock = std::chrono::steady_clock;
double since_ms(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// generous slack for loaded CI machines and sanitizer builds
constexpr double kSlackMs = 150.0;

lsd_client* absent_client(uint32_t timeout_ms = 0) {
    lsd_client_config cfg;
    lsd_client_config_init(&cfg);
    cfg.endpoint = "tcp://127.0.0.1:9";  // nothing listens on the discard port
    cfg.token = "t0k3n";
    cfg.timeout_ms = timeout_ms;
    lsd_client* c = nullptr;
    EXPECT_EQ(lsd_client_create(&cfg, &c), LSD_OK) << lsd_last_error();
    return c;
}

TEST(RuntimeAbsent, EveryCallReturnsWithinItsTimeout) {
    lsd_client* c = absent_client(300);
    ASSERT_NE(c, nullptr);
    auto t = Clock::now();
    EXPECT_EQ(lsd_client_connect(c, 0), LSD_E_NOT_CONNECTED);
    EXPECT_LT(since_ms(t), kSlackMs);
    EXPECT_NE(std::string(lsd_last_error()), "");

    t = Clock::now();
    EXPECT_EQ(lsd_client_connect(c, 250), LSD_E_NOT_CONNECTED);
    double e = since_ms(t);
    EXPECT_GE(e, 240.0);
    EXPECT_LT(e, 250.0 + kSlackMs);

    lsd_bind_desc b;
    lsd_bind_desc_init(&b, 64, 64, LSD_FORMAT_RGBA8);
    t = Clock::now();
    EXPECT_EQ(lsd_client_bind(c, &b, 200), LSD_E_NOT_CONNECTED);
    EXPECT_LT(since_ms(t), 200.0 + kSlackMs);
    t = Clock::now();
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_NOT_CONNECTED);
    EXPECT_LT(since_ms(t), kSlackMs);

    lsd_style_desc s;
    lsd_style_desc_init(&s);
    s.style = "toon";
    t = Clock::now();
    EXPECT_EQ(lsd_client_set_style(c, &s, 100), LSD_E_NOT_CONNECTED);
    EXPECT_LT(since_ms(t), 100.0 + kSlackMs);

    std::vector<uint8_t> px(64 * 64 * 4, 7);
    lsd_frame_in fi;
    std::memset(&fi, 0, sizeof fi);
    fi.struct_size = sizeof fi;
    fi.data = px.data();
    fi.width = fi.height = 64;
    fi.format = LSD_FORMAT_RGBA8;
    t = Clock::now();
    EXPECT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_E_NOT_CONNECTED);
    EXPECT_LT(since_ms(t), kSlackMs);

    lsd_frame_out fo;
    std::memset(&fo, 0, sizeof fo);
    fo.struct_size = sizeof fo;
    fo.data = px.data();
    fo.capacity = px.size();
    t = Clock::now();
    EXPECT_EQ(lsd_client_take(c, &fo, 150), LSD_E_NOT_CONNECTED);
    e = since_ms(t);
    EXPECT_GE(e, 140.0);
    EXPECT_LT(e, 150.0 + kSlackMs);

    lsd_stats st;
    std::memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    EXPECT_EQ(lsd_client_get_stats(c, &st), LSD_OK);
    EXPECT_EQ(st.state, LSD_STATE_CONNECTING);
    EXPECT_EQ(st.frames_submitted, 0u);

    t = Clock::now();
    lsd_client_close(c);
    EXPECT_LT(since_ms(t), 500.0);
}

TEST(RuntimeAbsent, MissingStateFileIsReportedAndRetried) {
    std::string dir = std::filesystem::temp_directory_path() / ("lsd-no-runtime-" + std::to_string(getpid()));
    lsd_client* c = nullptr;
    ASSERT_EQ(lsd_client_create_from_state(dir.c_str(), nullptr, &c), LSD_OK);
    auto t = Clock::now();
    EXPECT_EQ(lsd_client_connect(c, 300), LSD_E_NOT_CONNECTED);
    EXPECT_LT(since_ms(t), 300.0 + kSlackMs);
    EXPECT_NE(std::string(lsd_last_error()).find("runtime.json"), std::string::npos) << lsd_last_error();
    lsd_runtime_info info;
    std::memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    EXPECT_EQ(lsd_read_runtime_state(dir.c_str(), &info), LSD_E_IO);
    lsd_client_close(c);
}

TEST(Api, ArgumentChecks) {
    lsd_client* c = nullptr;
    EXPECT_EQ(lsd_client_create(nullptr, &c), LSD_E_INVALID_ARGUMENT);
    lsd_client_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    EXPECT_EQ(lsd_client_create(&cfg, &c), LSD_E_INVALID_ARGUMENT);  // struct_size unset
    EXPECT_NE(std::string(lsd_last_error()).find("struct_size"), std::string::npos);
    lsd_client_config_init(&cfg);
    EXPECT_EQ(lsd_client_create(&cfg, &c), LSD_E_INVALID_ARGUMENT);  // no endpoint
    EXPECT_EQ(lsd_client_connect(nullptr, 0), LSD_E_INVALID_ARGUMENT);
    EXPECT_EQ(lsd_client_state(nullptr), LSD_STATE_CLOSED);
    lsd_client_close(nullptr);

    c = absent_client();
    ASSERT_NE(c, nullptr);
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, 64, 64, LSD_FORMAT_RGBA8);
    b.transport = LSD_TRANSPORT_CUDA_IPC;
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_UNSUPPORTED);
    b.transport = LSD_TRANSPORT_SHM;
    b.input.width = 4;
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_INVALID_ARGUMENT);
    b.input.width = 64;
    b.output.pitch = 100;  // < 64 * 4
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_INVALID_ARGUMENT);
    b.output.pitch = 0;
    b.model_width = 64;  // without model_height
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_INVALID_ARGUMENT);
    lsd_style_desc s;
    lsd_style_desc_init(&s);
    s.has_strength = 1;
    s.strength = 1.5;
    EXPECT_EQ(lsd_client_set_style(c, &s, 0), LSD_E_INVALID_ARGUMENT);
    lsd_frame_in fi;
    std::memset(&fi, 0, sizeof fi);
    fi.struct_size = sizeof fi;
    EXPECT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_E_INVALID_ARGUMENT);  // no data
    fi.device_ptr = 0x1000;
    EXPECT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_E_UNSUPPORTED);
    lsd_client_close(c);

    EXPECT_STREQ(lsd_status_string(LSD_NO_FREE_SLOT), "LSD_NO_FREE_SLOT");
    EXPECT_EQ(lsd_format_bytes_per_pixel(LSD_FORMAT_RGBA16F), 8u);
    EXPECT_STREQ(lsd_version(), "0.1.0");
}

TEST(Api, CudaLoaderReportsWithoutCrashing) {
    int n = lsd_cuda_device_count();
    int a = lsd_cuda_available();
    EXPECT_TRUE(a == 0 || a == 1);
    EXPECT_GE(n, -1);
    if (a) {
        EXPECT_GE(n, 1);
    }
    std::printf("libcuda: available=%d devices=%d\n", a, n);
}

TEST(Api, ReadsRuntimeStateFile) {
    std::string dir = std::filesystem::temp_directory_path() / ("lsd-state-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/runtime.json") << R"({"endpoint": "tcp://127.0.0.1:7788", "token": "abc", "pid": 42, "version": "0.1.0"})";
    lsd_runtime_info info;
    std::memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    ASSERT_EQ(lsd_read_runtime_state(dir.c_str(), &info), LSD_OK) << lsd_last_error();
    EXPECT_STREQ(info.endpoint, "tcp://127.0.0.1:7788");
    EXPECT_STREQ(info.token, "abc");
    EXPECT_EQ(info.pid, 42);
    EXPECT_STREQ(info.version, "0.1.0");
    std::filesystem::remove_all(dir);
}

// ---------------------------------------------------------------- scripted fake runtime

struct FakeRuntime {
    zmq::context_t ctx{1};
    zmq::socket_t router{ctx, zmq::socket_type::router};
    std::string endpoint;
    std::string identity;

    FakeRuntime() {
        router.set(zmq::sockopt::linger, 0);
        router.bind("tcp://127.0.0.1:*");
        endpoint = router.get(zmq::sockopt::last_endpoint);
    }
    // next client message (validated as a client message), or false on timeout
    bool recv(lsd::Value& msg, int timeout_ms, std::string* error_code = nullptr) {
        zmq::pollitem_t items[] = {{router.handle(), 0, ZMQ_POLLIN, 0}};
        zmq::poll(items, 1, std::chrono::milliseconds(timeout_ms));
        if (!(items[0].revents & ZMQ_POLLIN)) return false;
        zmq::message_t id, body;
        (void)router.recv(id);
        (void)router.recv(body);
        identity = id.to_string();
        lsd::proto::Error err;
        bool ok = lsd::proto::decode(body.data(), body.size(), "client", msg, err);
        if (error_code) *error_code = ok ? "" : err.code;
        EXPECT_TRUE(ok) << "client sent an invalid message: " << err.code << ": " << err.message;
        return true;
    }
    // skip pings (answering them) until a message of type t
    bool expect(const std::string& t, lsd::Value& msg, int timeout_ms) {
        auto t0 = Clock::now();
        while (since_ms(t0) < timeout_ms) {
            if (!recv(msg, 50)) continue;
            std::string got = msg.get("t")->s;
            if (got == t) return true;
            if (got == "ping") {
                lsd::Value pong = lsd::proto::make("pong", msg.get("id")->u);
                pong.set("time", *msg.get("time"));
                send(pong);
            }
        }
        return false;
    }
    void send(const lsd::Value& m) { send_raw(lsd::proto::encode(m)); }
    void send_raw(const std::string& bytes) {
        router.send(zmq::buffer(identity), zmq::send_flags::sndmore);
        router.send(zmq::buffer(bytes));
    }
    void welcome(uint64_t id) {
        lsd::Value w = lsd::proto::make("welcome", id);
        w.set("session", lsd::Value::str("s-1"));
        w.set("server", lsd::Value::str("fake/0"));
        w.set("transport", lsd::Value::str("shm"));
        lsd::Value list = lsd::Value::array();
        list.arr.push_back(lsd::Value::str("shm"));
        w.set("transports", list);
        lsd::Value be = lsd::Value::array();
        be.arr.push_back(lsd::Value::str("effects"));
        w.set("backends", be);
        w.set("styles", be);
        w.set("heartbeat_ms", lsd::Value::uint(100));
        w.set("timeout_ms", lsd::Value::uint(600));
        w.set("max_message", lsd::Value::uint(65536));
        send(w);
    }
};

lsd_client* client_for(const FakeRuntime& rt) {
    lsd_client_config cfg;
    lsd_client_config_init(&cfg);
    cfg.endpoint = rt.endpoint.c_str();
    cfg.token = "secret-token";
    cfg.client_name = "fake-test/1";
    lsd_client* c = nullptr;
    EXPECT_EQ(lsd_client_create(&cfg, &c), LSD_OK);
    return c;
}

TEST(FakeRuntime, HelloCarriesTokenPidTransportsAndHeartbeatsFlow) {
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    EXPECT_EQ(lsd_client_connect(c, 0), LSD_E_NOT_CONNECTED);
    lsd::Value hello;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    EXPECT_EQ(hello.get("token")->s, "secret-token");
    EXPECT_EQ(hello.get("client")->s, "fake-test/1");
    ASSERT_EQ(hello.get("transports")->arr.size(), 1u);
    EXPECT_EQ(hello.get("transports")->arr[0].s, "shm");
    ASSERT_NE(hello.get("pid"), nullptr);
    EXPECT_EQ(hello.get("pid")->u, static_cast<uint64_t>(getpid()));
    rt.welcome(hello.get("id")->u);
    EXPECT_EQ(lsd_client_connect(c, 2000), LSD_OK) << lsd_last_error();
    EXPECT_EQ(lsd_client_state(c), LSD_STATE_CONNECTED);

    // idle: pings every heartbeat_ms (100 ms from welcome)
    lsd::Value ping;
    ASSERT_TRUE(rt.expect("ping", ping, 1000));
    auto t0 = Clock::now();
    lsd::Value pong = lsd::proto::make("pong", ping.get("id")->u);
    pong.set("time", *ping.get("time"));
    rt.send(pong);
    ASSERT_TRUE(rt.expect("ping", ping, 1000));
    EXPECT_LT(since_ms(t0), 400.0);

    // the runtime pings: the client answers pong with the same id and time
    lsd::Value rping = lsd::proto::make("ping", 777);
    rping.set("time", lsd::Value::real(1.25));
    rt.send(rping);
    lsd::Value rpong;
    ASSERT_TRUE(rt.expect("pong", rpong, 1000));
    EXPECT_EQ(rpong.get("id")->u, 777u);
    EXPECT_EQ(rpong.get("time")->f, 1.25);

    // garbage from the runtime is ignored, the session stays
    rt.send_raw(std::string("\xc1\xc1", 2));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(lsd_client_state(c), LSD_STATE_CONNECTED);

    // bind: bound with segments that do not exist -> LSD_E_IO, no crash
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, 64, 64, LSD_FORMAT_RGBA8);
    b.input.slots = b.output.slots = 1;
    std::thread answer([&] {
        lsd::Value bind;
        if (!rt.expect("bind", bind, 3000)) return;
        EXPECT_EQ(bind.get("transport")->s, "shm");
        EXPECT_EQ(bind.get("input")->get("width")->u, 64u);
        lsd::Value bound = lsd::proto::make("bound", bind.get("id")->u);
        bound.set("transport", lsd::Value::str("shm"));
        for (const char* ring : {"input", "output"}) {
            lsd::Value r = lsd::Value::object();
            lsd::Value names = lsd::Value::array();
            names.arr.push_back(lsd::Value::str(std::string("/lsd-native-test-missing-") + ring));
            r.set("names", names);
            r.set("size", lsd::Value::uint(64 * 64 * 4));
            r.set("pitch", lsd::Value::uint(64 * 4));
            bound.set(ring, r);
        }
        bound.set("model_width", lsd::Value::uint(64));
        bound.set("model_height", lsd::Value::uint(64));
        rt.send(bound);
    });
    EXPECT_EQ(lsd_client_bind(c, &b, 3000), LSD_E_IO);
    answer.join();
    EXPECT_NE(std::string(lsd_last_error()).find("shm_open"), std::string::npos) << lsd_last_error();

    // set_style answered with an error -> LSD_E_REJECTED carrying the runtime's message
    std::thread answer2([&] {
        lsd::Value ss;
        if (!rt.expect("set_style", ss, 3000)) return;
        EXPECT_EQ(ss.get("backend")->s, "effects");
        EXPECT_EQ(ss.get("seed")->i, -5);
        lsd::Value e = lsd::proto::make("error", ss.get("id")->u);
        e.set("code", lsd::Value::str("unknown_style"));
        e.set("message", lsd::Value::str("no style 'x'"));
        e.set("ref", lsd::Value::str("set_style"));
        rt.send(e);
    });
    lsd_style_desc s;
    lsd_style_desc_init(&s);
    s.style = "x";
    s.has_seed = 1;
    s.seed = -5;
    EXPECT_EQ(lsd_client_set_style(c, &s, 3000), LSD_E_REJECTED);
    answer2.join();
    EXPECT_NE(std::string(lsd_last_error()).find("no style 'x'"), std::string::npos) << lsd_last_error();

    // close says bye
    lsd_client_close(c);
    lsd::Value bye;
    EXPECT_TRUE(rt.expect("bye", bye, 1000));
}

TEST(FakeRuntime, SilentRuntimeIsDeclaredGoneAndReconnected) {
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    lsd_client_connect(c, 0);
    lsd::Value hello;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    rt.welcome(hello.get("id")->u);  // timeout_ms 600
    ASSERT_EQ(lsd_client_connect(c, 2000), LSD_OK);
    // answer nothing (not even pings): after 600 ms without a reply the client drops the
    // session and says hello again on a new socket
    auto t0 = Clock::now();
    bool saw_hello = false;
    int pings = 0;
    while (!saw_hello && since_ms(t0) < 3000) {
        lsd::Value m;
        if (!rt.recv(m, 50)) continue;
        if (m.get("t")->s == "ping") ++pings;
        if (m.get("t")->s == "hello") saw_hello = true;
    }
    EXPECT_TRUE(saw_hello);
    EXPECT_GE(pings, 3);
    double gone_after = since_ms(t0);
    EXPECT_GT(gone_after, 500.0);
    EXPECT_LT(gone_after, 600.0 + 500.0);
    EXPECT_EQ(lsd_client_state(c), LSD_STATE_CONNECTING);
    lsd_client_close(c);
}

TEST(FakeRuntime, VersionMismatchEndsTheSession) {
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    lsd_client_connect(c, 0);
    lsd::Value hello;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    rt.welcome(hello.get("id")->u);
    ASSERT_EQ(lsd_client_connect(c, 2000), LSD_OK);
    lsd::Value v2 = lsd::proto::make("pong", 1);
    v2.set("v", lsd::Value::uint(2));
    v2.set("time", lsd::Value::real(0.0));
    rt.send(v2);
    auto t0 = Clock::now();
    while (lsd_client_state(c) == LSD_STATE_CONNECTED && since_ms(t0) < 2000)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(lsd_client_state(c), LSD_STATE_CONNECTING);
    lsd_client_close(c);
}

TEST(FakeRuntime, WrongTokenIsRetriedNotFatal) {
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    lsd_client_connect(c, 0);
    lsd::Value hello;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    lsd::Value e = lsd::proto::make("error", hello.get("id")->u);
    e.set("code", lsd::Value::str("auth_failed"));
    e.set("message", lsd::Value::str("wrong token"));
    e.set("ref", lsd::Value::str("hello"));
    rt.send(e);
    auto t = Clock::now();
    EXPECT_EQ(lsd_client_connect(c, 100), LSD_E_NOT_CONNECTED);
    EXPECT_LT(since_ms(t), 100.0 + kSlackMs);
    lsd::Value again;
    EXPECT_TRUE(rt.expect("hello", again, 3000));  // tried again with a fresh socket
    rt.welcome(again.get("id")->u);
    EXPECT_EQ(lsd_client_connect(c, 2000), LSD_OK) << lsd_last_error();
    lsd_client_close(c);
}

// Shared memory the fake runtime creates, like the real one does.
struct FakeSegment {
    std::string name;
    uint8_t* data = nullptr;
    size_t size = 0;
    FakeSegment(const std::string& n, size_t sz) : name(n), size(sz) {
        int fd = shm_open(n.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
        if (fd < 0) return;
        if (ftruncate(fd, static_cast<off_t>(sz)) == 0) {
            void* p = mmap(nullptr, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (p != MAP_FAILED) data = static_cast<uint8_t*>(p);
        }
        close(fd);
    }
    ~FakeSegment() {
        if (data) munmap(data, size);
        shm_unlink(name.c_str());
    }
};

TEST(FakeRuntime, HostileRepliesDoNotBreakTheClientAndSlotsAreReleased) {
    const unsigned W = 16, H = 8;
    const size_t size = W * 4 * H;
    std::string base = "/lsd-native-fake-" + std::to_string(getpid());
    FakeSegment in0(base + "-in-0", size), out0(base + "-out-0", size), out1(base + "-out-1", size);
    ASSERT_TRUE(in0.data && out0.data && out1.data);

    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    lsd_client_connect(c, 0);
    lsd::Value hello;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    rt.welcome(hello.get("id")->u);
    ASSERT_EQ(lsd_client_connect(c, 2000), LSD_OK);

    lsd_bind_desc b;
    lsd_bind_desc_init(&b, W, H, LSD_FORMAT_RGBA8);
    b.input.slots = 1;
    b.output.slots = 2;
    b.input.bottom_up = 1;
    b.input.color = LSD_COLOR_LINEAR;
    b.model_width = 8;
    b.model_height = 8;
    std::thread answer([&] {
        lsd::Value bind;
        if (!rt.expect("bind", bind, 3000)) return;
        const lsd::Value* in = bind.get("input");
        EXPECT_EQ(in->get("slots")->u, 1u);
        EXPECT_TRUE(in->get("bottom_up")->b);
        EXPECT_EQ(in->get("color")->s, "linear");
        EXPECT_EQ(in->get("format")->s, "rgba8");
        EXPECT_EQ(bind.get("output")->get("slots")->u, 2u);
        EXPECT_EQ(bind.get("model_width")->u, 8u);
        lsd::Value bound = lsd::proto::make("bound", bind.get("id")->u);
        bound.set("transport", lsd::Value::str("shm"));
        lsd::Value ri = lsd::Value::object(), ro = lsd::Value::object();
        lsd::Value ni = lsd::Value::array(), no = lsd::Value::array();
        ni.arr.push_back(lsd::Value::str(in0.name));
        no.arr.push_back(lsd::Value::str(out0.name));
        no.arr.push_back(lsd::Value::str(out1.name));
        ri.set("names", ni); ri.set("size", lsd::Value::uint(size)); ri.set("pitch", lsd::Value::uint(W * 4));
        ro.set("names", no); ro.set("size", lsd::Value::uint(size)); ro.set("pitch", lsd::Value::uint(W * 4));
        bound.set("input", ri);
        bound.set("output", ro);
        bound.set("model_width", lsd::Value::uint(8));
        bound.set("model_height", lsd::Value::uint(8));
        rt.send(bound);
    });
    ASSERT_EQ(lsd_client_bind(c, &b, 3000), LSD_OK) << lsd_last_error();
    answer.join();

    std::vector<uint8_t> px(size), out(size);
    for (size_t k = 0; k < size; ++k) px[k] = static_cast<uint8_t>(k * 7);
    lsd_frame_in fi;
    std::memset(&fi, 0, sizeof fi);
    fi.struct_size = sizeof fi;
    fi.data = px.data();
    fi.width = W;
    fi.height = H;
    fi.format = LSD_FORMAT_RGBA8;
    fi.time = 42.5;
    uint64_t id = 0;
    ASSERT_EQ(lsd_client_submit(c, &fi, &id), LSD_OK) << lsd_last_error();
    EXPECT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_NO_FREE_SLOT);  // the one slot is with the runtime
    lsd::Value frame;
    ASSERT_TRUE(rt.expect("frame", frame, 2000));
    EXPECT_EQ(frame.get("id")->u, id);
    EXPECT_EQ(frame.get("slot")->u, 0u);
    EXPECT_EQ(frame.get("time")->f, 42.5);
    EXPECT_EQ(std::memcmp(in0.data, px.data(), size), 0) << "the frame is in the slot before `frame` is sent";

    // hostile / confused replies: out-of-range slots, unknown ids, stray welcome/bound, garbage
    auto done = [&](uint64_t fid, uint64_t slot, uint64_t in_slot) {
        lsd::Value d = lsd::proto::make("frame_done", fid);
        d.set("slot", lsd::Value::uint(slot));
        d.set("in_slot", lsd::Value::uint(in_slot));
        d.set("time", lsd::Value::real(42.5));
        lsd::Value t = lsd::Value::object();
        t.set("total_ms", lsd::Value::real(1.5));
        d.set("timings", t);
        return d;
    };
    rt.send(done(id + 100, 7, 9));
    rt.send(done(id + 101, 1ull << 40, 1ull << 40));
    lsd::Value drop = lsd::proto::make("dropped", 123456);
    drop.set("in_slot", lsd::Value::uint(77));
    drop.set("reason", lsd::Value::str("superseded"));
    rt.send(drop);
    rt.welcome(999);
    lsd::Value e = lsd::proto::make("error", 31337);
    e.set("code", lsd::Value::str("bad_slot"));
    e.set("message", lsd::Value::str("?"));
    e.set("ref", lsd::Value::str("frame"));
    rt.send(e);
    rt.send_raw(std::string("\x81\xa1t\xc0", 4));
    std::string deep(100000, '\x91');
    rt.send_raw(deep);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(lsd_client_state(c), LSD_STATE_READY);

    // the real answer: output slot 1 holds the result
    for (size_t k = 0; k < size; ++k) out1.data[k] = static_cast<uint8_t>(255 - k);
    rt.send(done(id, 1, 0));
    lsd_frame_out fo;
    std::memset(&fo, 0, sizeof fo);
    fo.struct_size = sizeof fo;
    fo.data = out.data();
    fo.capacity = out.size();
    ASSERT_EQ(lsd_client_take(c, &fo, 1000), LSD_OK) << lsd_last_error();
    EXPECT_EQ(fo.frame_id, id);  // stray frame_done messages were not offered as results
    EXPECT_EQ(fo.time, 42.5);
    EXPECT_EQ(fo.timings.total_ms, 1.5);
    for (size_t k = 0; k < size; ++k) ASSERT_EQ(out[k], static_cast<uint8_t>(255 - k));

    // output slot 1 goes back: in a `release` message (or with the next frame)
    bool released = false;
    auto t0 = Clock::now();
    while (!released && since_ms(t0) < 2000) {
        lsd::Value m;
        if (!rt.recv(m, 50)) continue;
        const lsd::Value* slots = m.get("t")->s == "release" ? m.get("slots") : m.get("t")->s == "frame" ? m.get("release") : nullptr;
        if (slots)
            for (const auto& sv : slots->arr) released = released || sv.u == 1;
    }
    EXPECT_TRUE(released);
    // and the input slot came back with frame_done: a new frame is accepted
    EXPECT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_OK) << lsd_last_error();
    lsd_stats st;
    std::memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    lsd_client_get_stats(c, &st);
    EXPECT_EQ(st.frames_done, 1u);
    EXPECT_EQ(st.frames_dropped, 0u);
    lsd_client_close(c);
}

}  // namespace
