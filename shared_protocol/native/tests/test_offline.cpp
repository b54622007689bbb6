// Without a real runtime: absent runtime (every call returns within its timeout),
// argument checks, and a scripted fake runtime (a ROUTER socket in the test) that checks
// what the client sends and how it handles silence, bad replies and version mismatch.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <zmq.hpp>
#ifdef _WIN32
#  define WIN32_LEAN_AND_MEAN
#  include <windows.h>
#else
#  include <fcntl.h>
#  include <sys/mman.h>
#  include <unistd.h>
#endif

#include "fake_runtime.hpp"
#include "lsd_bridge/lsd_client.h"
#include "protocol.hpp"

static unsigned long current_pid() {
#ifdef _WIN32
    return GetCurrentProcessId();
#else
    return static_cast<unsigned long>(getpid());
#endif
}

// what the library names in its error when a shared-memory segment cannot be opened, and a
// slot name that does not exist
#ifdef _WIN32
static const char* const kShmOpenCall = "OpenFileMappingA";
static std::string missing_slot(const char* ring) { return std::string("/lsd-native-test-missing-") + ring; }
#elif defined(__linux__)
static const char* const kShmOpenCall = "open(/proc/";
static std::string missing_slot(const char* ring) {
    return "/proc/" + std::to_string(getpid()) + "/fd/" + (std::string(ring) == "input" ? "999997" : "999998");
}
#else
static const char* const kShmOpenCall = "shm_open";
static std::string missing_slot(const char* ring) { return std::string("/lsd-native-test-missing-") + ring; }
#endif

namespace {

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
    std::string dir =
        (std::filesystem::temp_directory_path() / ("lsd-no-runtime-" + std::to_string(current_pid()))).string();
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
    // a runtime on another machine takes only CURVE links: its key is required, and checked
    cfg.endpoint = "tcp://10.1.2.3:7788";
    cfg.token = "t";
    EXPECT_EQ(lsd_client_create(&cfg, &c), LSD_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(lsd_last_error()).find("give its server key"), std::string::npos) << lsd_last_error();
    cfg.server_key = "too-short";
    EXPECT_EQ(lsd_client_create(&cfg, &c), LSD_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(lsd_last_error()).find("40-character Z85"), std::string::npos) << lsd_last_error();
    lsd_client_config_init(&cfg);
    EXPECT_EQ(lsd_client_connect(nullptr, 0), LSD_E_INVALID_ARGUMENT);
    EXPECT_EQ(lsd_client_state(nullptr), LSD_STATE_CLOSED);
    lsd_client_close(nullptr);

    c = absent_client();
    ASSERT_NE(c, nullptr);
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, 64, 64, LSD_FORMAT_RGBA8);
    b.transport = LSD_TRANSPORT_CUDA_VMM;
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_UNSUPPORTED);
    EXPECT_NE(std::string(lsd_last_error()).find("cuda_vmm is not in this build"), std::string::npos);
    b.transport = LSD_TRANSPORT_CUDA_IPC;
    b.device_ordinal = -1;
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_INVALID_ARGUMENT);
    EXPECT_STREQ(lsd_last_error(), "device_ordinal is -1; a CUDA device ordinal is >= 0");
    b.device_ordinal = 0;
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_NOT_CONNECTED);  // accepted: kept until a runtime answers
    // a value no enumerator has (what a C or C# caller can pass) is refused, not read as an enum
    const int bogus = 9;
    std::memcpy(&b.transport, &bogus, sizeof bogus);
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_UNSUPPORTED);
    EXPECT_NE(std::string(lsd_last_error()).find("not an lsd_transport"), std::string::npos);
    b.transport = LSD_TRANSPORT_SHM;
    std::memcpy(&b.input.format, &bogus, sizeof bogus);
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(lsd_last_error()).find("not an lsd_format"), std::string::npos);
    std::memcpy(&b.input.color, &bogus, sizeof bogus);
    b.input.format = LSD_FORMAT_RGBA8;
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_INVALID_ARGUMENT);
    b.input.color = LSD_COLOR_DEFAULT;
    b.transport = LSD_TRANSPORT_INLINE;  // accepted: kept until a runtime answers
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_NOT_CONNECTED);
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
    EXPECT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_E_INVALID_ARGUMENT);
    EXPECT_STREQ(lsd_last_error(), "frame.device_ptr is for frames on the GPU: use lsd_client_submit_cuda");
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
    if (a) { EXPECT_GE(n, 1); }
    std::printf("libcuda: available=%d devices=%d\n", a, n);
}

static void write_private(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(Api, ReadsRuntimeStateFile) {
    std::string dir =
        (std::filesystem::temp_directory_path() / ("lsd-state-" + std::to_string(current_pid()))).string();
    std::filesystem::create_directories(dir);
    write_private(dir + "/runtime.json",
                  R"({"endpoint": "tcp://127.0.0.1:7788", "token": "abc", "pid": 42, "version": "0.1.0"})");
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

#ifndef _WIN32
// Another local user must not be able to point the game at their endpoint: a state directory
// others may write to, a runtime.json others may read or that is a link, are refused.
TEST(Api, StateFilesOthersCouldTamperWithAreRefused) {
    namespace fs = std::filesystem;
    std::string dir = (fs::temp_directory_path() / ("lsd-state-hostile-" + std::to_string(current_pid()))).string();
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string state = R"({"endpoint": "tcp://127.0.0.1:9", "token": "abc", "pid": 42})";
    write_private(dir + "/runtime.json", state);
    lsd_runtime_info info;
    std::memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    ASSERT_EQ(lsd_read_runtime_state(dir.c_str(), &info), LSD_OK) << lsd_last_error();

    fs::permissions(dir, fs::perms::all);  // 0777: anyone could swap runtime.json
    EXPECT_EQ(lsd_read_runtime_state(dir.c_str(), &info), LSD_E_IO);
    EXPECT_NE(std::string(lsd_last_error()).find("writable by others"), std::string::npos) << lsd_last_error();
    fs::permissions(dir, fs::perms::owner_all);

    fs::permissions(dir + "/runtime.json", fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
    EXPECT_EQ(lsd_read_runtime_state(dir.c_str(), &info), LSD_E_IO);
    EXPECT_NE(std::string(lsd_last_error()).find("open to others"), std::string::npos) << lsd_last_error();

    fs::remove(dir + "/runtime.json");
    write_private(dir + "/real.json", state);
    fs::create_symlink(dir + "/real.json", dir + "/runtime.json");
    EXPECT_EQ(lsd_read_runtime_state(dir.c_str(), &info), LSD_E_IO);
    EXPECT_NE(std::string(lsd_last_error()).find("is a link"), std::string::npos) << lsd_last_error();

    if (geteuid() == 0) {  // a directory of another user (CI runs as root and can make one)
        fs::remove(dir + "/runtime.json");
        write_private(dir + "/runtime.json", state);
        ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
        EXPECT_EQ(lsd_read_runtime_state(dir.c_str(), &info), LSD_E_IO);
        EXPECT_NE(std::string(lsd_last_error()).find("belongs to uid 65534"), std::string::npos) << lsd_last_error();
        ASSERT_EQ(chown(dir.c_str(), 0, 0), 0);
    }
    fs::remove_all(dir);
}
#endif

// ---------------------------------------------------------------- scripted fake runtime

TEST(FakeRuntime, HelloCarriesTokenPidTransportsAndHeartbeatsFlow) {
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    EXPECT_EQ(lsd_client_connect(c, 0), LSD_E_NOT_CONNECTED);
    lsd::Value hello;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    EXPECT_EQ(hello.get("token")->s, "secret-token");
    EXPECT_EQ(hello.get("client")->s, "fake-test/1");
    ASSERT_EQ(hello.get("transports")->arr.size(), 2u);
    EXPECT_EQ(hello.get("transports")->arr[0].s, "shm");  // the default bind's transport first
    EXPECT_EQ(hello.get("transports")->arr[1].s, "inline");
    ASSERT_NE(hello.get("pid"), nullptr);
    EXPECT_EQ(hello.get("pid")->u, static_cast<uint64_t>(current_pid()));
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
            names.arr.push_back(lsd::Value::str(missing_slot(ring)));
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
    EXPECT_NE(std::string(lsd_last_error()).find(kShmOpenCall), std::string::npos) << lsd_last_error();

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

    // a model name goes to the runtime as it is, without a backend (the runtime resolves it)
    std::thread answer3([&] {
        lsd::Value ss;
        if (!rt.expect("set_style", ss, 3000)) return;
        EXPECT_EQ(ss.get("backend"), nullptr);
        EXPECT_EQ(ss.get("style"), nullptr);
        ASSERT_NE(ss.get("model"), nullptr);
        EXPECT_EQ(ss.get("model")->s, "Watercolor");
        lsd::Value ok = lsd::proto::make("style_set", ss.get("id")->u);
        ok.set("backend", lsd::Value::str("effects"));
        ok.set("style", lsd::Value::str("watercolour"));
        ok.set("matched", lsd::Value::str(""));
        ok.set("model", lsd::Value::str("watercolour"));
        rt.send(ok);
    });
    lsd_style_desc_init(&s);
    s.model = "Watercolor";
    EXPECT_EQ(lsd_client_set_style(c, &s, 3000), LSD_OK) << lsd_last_error();
    answer3.join();
    // a model with a backend or style is refused before anything is sent
    s.style = "toon";
    EXPECT_EQ(lsd_client_set_style(c, &s, 0), LSD_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(lsd_last_error()).find("not both"), std::string::npos) << lsd_last_error();

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
    auto t0 = Clock::now();  // the client's last message from the runtime arrives after this
    rt.welcome(hello.get("id")->u, "shm", 600);
    ASSERT_EQ(lsd_client_connect(c, 2000), LSD_OK);
    // answer nothing (not even pings): after 600 ms without a reply the client drops the
    // session and says hello again on a new socket; never sooner, however busy the machine
    bool saw_hello = false;
    int pings = 0;
    while (!saw_hello && since_ms(t0) < 5000) {
        lsd::Value m;
        if (!rt.recv(m, 50)) continue;
        if (m.get("t")->s == "ping") ++pings;
        if (m.get("t")->s == "hello") saw_hello = true;
    }
    EXPECT_TRUE(saw_hello);
    EXPECT_GE(pings, 3);
    double gone_after = since_ms(t0);
    EXPECT_GE(gone_after, 600.0);
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
#ifdef _WIN32
    HANDLE mapping = nullptr;
    FakeSegment(const std::string& n, size_t sz) : name(n), size(sz) {
        // the name the library opens: "Local\" + the POSIX name without its '/'
        mapping = CreateFileMappingA(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, static_cast<DWORD>(sz),
                                     ("Local\\" + n.substr(1)).c_str());
        if (!mapping) return;
        data = static_cast<uint8_t*>(MapViewOfFile(mapping, FILE_MAP_ALL_ACCESS, 0, 0, sz));
    }
    ~FakeSegment() {
        if (data) UnmapViewOfFile(data);
        if (mapping) CloseHandle(mapping);
    }
#elif defined(__linux__)
    // what the real runtime makes on Linux: a memfd sealed against resizing, opened by the
    // client as /proc/<pid>/fd/<fd> (`sealed` false: an unsealed one, which must be refused)
    int fd = -1;
    FakeSegment(const std::string& n, size_t sz, bool sealed = true) : size(sz) {
        fd = memfd_create(n.c_str() + 1, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) return;
        name = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fd);
        if (ftruncate(fd, static_cast<off_t>(sz)) != 0) return;
        if (sealed && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) return;
        void* p = mmap(nullptr, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) data = static_cast<uint8_t*>(p);
    }
    ~FakeSegment() {
        if (data) munmap(data, size);
        if (fd >= 0) close(fd);
    }
#else
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
#endif
};

TEST(FakeRuntime, HostileRepliesDoNotBreakTheClientAndSlotsAreReleased) {
    const unsigned W = 16, H = 8;
    const size_t size = W * 4 * H;
    // the fake runtime's session is "s-1": the slots' names carry it, as the real runtime's do
    std::string base = "/lsd-native-fake-s-1-" + std::to_string(current_pid());
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
        ri.set("names", ni);
        ri.set("size", lsd::Value::uint(size));
        ri.set("pitch", lsd::Value::uint(W * 4));
        ro.set("names", no);
        ro.set("size", lsd::Value::uint(size));
        ro.set("pitch", lsd::Value::uint(W * 4));
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
        const lsd::Value* slots = m.get("t")->s == "release" ? m.get("slots")
                                  : m.get("t")->s == "frame" ? m.get("release")
                                                             : nullptr;
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

TEST(FakeRuntime, PlanesAreDeclaredCopiedFlaggedAndMotionSkipsAGap) {
    const unsigned W = 8, H = 8;
    const size_t size = W * 4 * H, mpitch = W * 4 + 12, msize = mpitch * H, dsize = W * 4 * H;
    std::string base = "/lsd-native-fake-s-1-" + std::to_string(current_pid());
    FakeSegment in0(base + "-pl-in-0", size), out0(base + "-pl-out-0", size), mv0(base + "-pl-mv-0", msize),
        z0(base + "-pl-z-0", dsize);
    ASSERT_TRUE(in0.data && out0.data && mv0.data && z0.data);
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
    b.output.slots = 1;
    b.motion.format = LSD_MOTION_RG16F;
    b.motion.units = LSD_MOTION_UNITS_UV;
    b.motion.y_up = 1;
    b.motion.pitch = static_cast<uint32_t>(mpitch);
    b.depth.format = LSD_DEPTH_R32F;
    b.depth.kind = LSD_DEPTH_KIND_DEVICE;
    b.depth.reversed_z = 1;
    b.depth.near_plane = 0.5f;
    b.depth.far_plane = 0.0f;
    auto ring_reply = [](const std::string& name, size_t sz, size_t pitch) {
        lsd::Value r = lsd::Value::object(), names = lsd::Value::array();
        names.arr.push_back(lsd::Value::str(name));
        r.set("names", names);
        r.set("size", lsd::Value::uint(sz));
        r.set("pitch", lsd::Value::uint(pitch));
        return r;
    };
    std::thread answer([&] {
        lsd::Value bind;
        if (!rt.expect("bind", bind, 3000)) return;
        EXPECT_EQ(bind.get("motion_format")->s, "rg16f");
        EXPECT_EQ(bind.get("motion_units")->s, "uv");
        EXPECT_EQ(bind.get("motion_sign")->s, "current_minus_previous");
        EXPECT_TRUE(bind.get("motion_y_up")->b);
        EXPECT_EQ(bind.get("motion_pitch")->u, mpitch);
        EXPECT_EQ(bind.get("depth_format")->s, "r32f");
        EXPECT_EQ(bind.get("depth_kind")->s, "device");
        EXPECT_TRUE(bind.get("depth_reversed_z")->b);
        EXPECT_EQ(bind.get("depth_near")->f, 0.5);
        EXPECT_EQ(bind.get("depth_far")->f, 0.0);
        EXPECT_EQ(bind.get("depth_pitch"), nullptr);  // tight: not sent
        lsd::Value bound = lsd::proto::make("bound", bind.get("id")->u);
        bound.set("transport", lsd::Value::str("shm"));
        bound.set("input", ring_reply(in0.name, size, W * 4));
        bound.set("output", ring_reply(out0.name, size, W * 4));
        bound.set("model_width", lsd::Value::uint(W));
        bound.set("model_height", lsd::Value::uint(H));
        bound.set("motion", ring_reply(mv0.name, msize, mpitch));
        bound.set("depth", ring_reply(z0.name, dsize, W * 4));
        rt.send(bound);
    });
    ASSERT_EQ(lsd_client_bind(c, &b, 3000), LSD_OK) << lsd_last_error();
    answer.join();

    std::vector<uint8_t> px(size, 9), motion(static_cast<size_t>(W) * 4 * H), depth(dsize);
    for (size_t k = 0; k < motion.size(); ++k) motion[k] = static_cast<uint8_t>(k * 3 + 1);
    for (size_t k = 0; k < depth.size(); ++k) depth[k] = static_cast<uint8_t>(k * 5 + 2);
    lsd_frame_in fi;
    std::memset(&fi, 0, sizeof fi);
    fi.struct_size = sizeof fi;
    fi.data = px.data();
    fi.width = W;
    fi.height = H;
    fi.format = LSD_FORMAT_RGBA8;
    fi.time = 1.0;
    fi.motion = motion.data();
    fi.depth = depth.data();
    auto answer_frame = [&](uint64_t& flags) {
        lsd::Value frame;
        ASSERT_TRUE(rt.expect("frame", frame, 2000));
        const lsd::Value* f = frame.get("flags");
        flags = f ? f->u : 0;
        lsd::Value d = lsd::proto::make("frame_done", frame.get("id")->u);
        d.set("slot", lsd::Value::uint(0));
        d.set("in_slot", lsd::Value::uint(0));
        d.set("time", lsd::Value::real(1.0));
        d.set("timings", lsd::Value::object());
        rt.send(d);
        std::vector<uint8_t> out(size);
        lsd_frame_out fo;
        std::memset(&fo, 0, sizeof fo);
        fo.struct_size = sizeof fo;
        fo.data = out.data();
        fo.capacity = out.size();
        ASSERT_EQ(lsd_client_take(c, &fo, 2000), LSD_OK) << lsd_last_error();
    };
    uint64_t flags = 0;
    ASSERT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_OK) << lsd_last_error();
    answer_frame(flags);
    EXPECT_EQ(flags, LSD_FRAME_MOTION | LSD_FRAME_DEPTH);
    for (unsigned r = 0; r < H; ++r)  // the motion rows land at the plane's pitch
        ASSERT_EQ(std::memcmp(mv0.data + r * mpitch, motion.data() + r * W * 4, W * 4), 0) << "row " << r;
    EXPECT_EQ(std::memcmp(z0.data, depth.data(), dsize), 0);

    // a frame skipped (the one slot is with the runtime): the next one's motion measures from
    // a frame never sent, so only its depth goes; the one after sends both again
    ASSERT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_OK);
    EXPECT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_NO_FREE_SLOT);
    answer_frame(flags);
    EXPECT_EQ(flags, LSD_FRAME_MOTION | LSD_FRAME_DEPTH);
    fi.flags = LSD_FRAME_RESET | LSD_FRAME_MOTION;  // the library decides the plane bits itself
    std::memset(mv0.data, 0, msize);
    ASSERT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_OK);
    answer_frame(flags);
    EXPECT_EQ(flags, LSD_FRAME_RESET | LSD_FRAME_DEPTH);
    EXPECT_EQ(mv0.data[0], 0) << "the withheld motion was not copied either";
    fi.flags = 0;
    ASSERT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_OK);
    answer_frame(flags);
    EXPECT_EQ(flags, LSD_FRAME_MOTION | LSD_FRAME_DEPTH);
    lsd_client_close(c);
}

}  // namespace

TEST(FakeRuntime, ARuntimeThatServesAnotherTransportRefusesTheBindOnce) {
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, 64, 64, LSD_FORMAT_RGBA8);
    b.transport = LSD_TRANSPORT_INLINE;
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_NOT_CONNECTED);
    lsd::Value hello;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    EXPECT_EQ(hello.get("transports")->arr[0].s, "inline");  // the bind's transport first
    rt.welcome(hello.get("id")->u, "shm");                   // a runtime that will not serve it
    EXPECT_EQ(lsd_client_bind(c, &b, 2000), LSD_E_UNSUPPORTED);
    EXPECT_NE(std::string(lsd_last_error()).find("serves shm, not inline"), std::string::npos) << lsd_last_error();
    // no reconnect loop: the session stays open, no new hello, no bind
    lsd::Value again;
    EXPECT_FALSE(rt.expect("hello", again, 500));
    EXPECT_EQ(lsd_client_state(c), LSD_STATE_CONNECTED);
    // asked again with the session open (the order a busy machine can give the two calls
    // above): refused at once, without ending the session to ask the same runtime again
    EXPECT_EQ(lsd_client_bind(c, &b, 2000), LSD_E_UNSUPPORTED);
    EXPECT_NE(std::string(lsd_last_error()).find("serves shm, not inline"), std::string::npos) << lsd_last_error();
    EXPECT_FALSE(rt.expect("bye", again, 300));
    EXPECT_EQ(lsd_client_state(c), LSD_STATE_CONNECTED);
    lsd_client_close(c);
}

TEST(FakeRuntime, SwitchingTransportSaysByeBeforeTheNewHello) {
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    lsd_client_connect(c, 0);
    lsd::Value hello;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    rt.welcome(hello.get("id")->u, "shm");
    ASSERT_EQ(lsd_client_connect(c, 2000), LSD_OK);
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, 64, 64, LSD_FORMAT_RGBA8);
    b.transport = LSD_TRANSPORT_INLINE;
    lsd_status st = lsd_client_bind(c, &b, 0);  // sent, or already reopening the session
    EXPECT_TRUE(st == LSD_PENDING || st == LSD_E_NOT_CONNECTED) << lsd_status_string(st);
    lsd::Value bye;
    ASSERT_TRUE(rt.expect("bye", bye, 3000));  // the old session's rings are freed at once
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    EXPECT_EQ(hello.get("transports")->arr[0].s, "inline");
    rt.welcome(hello.get("id")->u, "inline");
    lsd::Value bind;
    ASSERT_TRUE(rt.expect("bind", bind, 3000));
    EXPECT_EQ(bind.get("transport")->s, "inline");
    lsd_client_close(c);
}

TEST(FakeRuntime, InlineCodecIsOfferedUsedAndACorruptBlockIsRefused) {
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    const unsigned W = 64, H = 32;
    const uint64_t size = W * 4 * H;
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, W, H, LSD_FORMAT_RGBA8);
    b.transport = LSD_TRANSPORT_INLINE;
    EXPECT_EQ(b.codec, LSD_CODEC_LZ4);  // the default
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_NOT_CONNECTED);
    lsd::Value hello, bind;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    rt.welcome(hello.get("id")->u, "inline");
    ASSERT_TRUE(rt.expect("bind", bind, 3000));
    const lsd::Value* codecs = bind.get("codecs");
    ASSERT_NE(codecs, nullptr) << "an inline bind offers the library's codec";
    ASSERT_EQ(codecs->arr.size(), 1u);
    EXPECT_EQ(codecs->arr[0].s, "lz4");
    lsd::Value bound = lsd::proto::make("bound", bind.get("id")->u);
    bound.set("transport", lsd::Value::str("inline"));
    for (const char* ring : {"input", "output"}) {
        lsd::Value r = lsd::Value::object();
        lsd::Value names = lsd::Value::array();
        for (int k = 0; k < 3; ++k) names.arr.push_back(lsd::Value::str(""));
        r.set("names", names);
        r.set("size", lsd::Value::uint(size));
        r.set("pitch", lsd::Value::uint(W * 4));
        bound.set(ring, r);
    }
    bound.set("model_width", lsd::Value::uint(W));
    bound.set("model_height", lsd::Value::uint(H));
    bound.set("codec", lsd::Value::str("lz4"));
    rt.send(bound);
    // this thread is the runtime too: answer pings while waiting for the client
    lsd::Value ignored;
    for (int k = 0; k < 100 && lsd_client_state(c) != LSD_STATE_READY; ++k) rt.expect("never", ignored, 20);
    ASSERT_EQ(lsd_client_state(c), LSD_STATE_READY) << lsd_last_error();

    // a flat frame goes as an LZ4 block
    std::vector<uint8_t> px(size, 0x40);
    lsd_frame_in fi;
    std::memset(&fi, 0, sizeof fi);
    fi.struct_size = sizeof fi;
    fi.data = px.data();
    fi.width = W;
    fi.height = H;
    fi.format = LSD_FORMAT_RGBA8;
    uint64_t id = 0;
    ASSERT_EQ(lsd_client_submit(c, &fi, &id), LSD_OK) << lsd_last_error();
    lsd::Value frame;
    ASSERT_TRUE(rt.expect("frame", frame, 3000));
    ASSERT_NE(frame.get("codec"), nullptr);
    EXPECT_EQ(frame.get("codec")->s, "lz4");
    EXPECT_LT(frame.get("data")->bin_size(), size / 10);

    // a frame_done whose block does not decompress to the ring's size: counted, skipped, slot handed back
    lsd::Value done = lsd::proto::make("frame_done", id);
    done.set("slot", lsd::Value::uint(0));
    done.set("in_slot", *frame.get("slot"));
    done.set("time", *frame.get("time"));
    done.set("timings", lsd::Value::object());
    std::string junk = "\x1f not an lz4 block of the right size";
    done.set("data", lsd::Value::bin(junk));
    done.set("codec", lsd::Value::str("lz4"));
    rt.send(done);
    std::vector<uint8_t> out(size);
    lsd_frame_out fo;
    std::memset(&fo, 0, sizeof fo);
    fo.struct_size = sizeof fo;
    fo.data = out.data();
    fo.capacity = out.size();
    EXPECT_EQ(lsd_client_take(c, &fo, 200), LSD_NO_FRAME);
    lsd_stats st;
    std::memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    lsd_client_get_stats(c, &st);
    EXPECT_EQ(st.errors, 1u);
    EXPECT_EQ(st.inline_frames_packed, 1u);  // the frame sent; the broken one is not counted
    lsd::Value release;
    ASSERT_TRUE(rt.expect("release", release, 3000));  // the output slot came straight back
    lsd_client_close(c);
}

TEST(Api, BindRefusesAnUnknownCodec) {
    lsd_client* c = absent_client();
    ASSERT_NE(c, nullptr);
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, 64, 64, LSD_FORMAT_RGBA8);
    const int bogus = 7;
    std::memcpy(&b.codec, &bogus, sizeof bogus);
    EXPECT_EQ(lsd_client_bind(c, &b, 0), LSD_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(lsd_last_error()).find("not an lsd_codec"), std::string::npos) << lsd_last_error();
    lsd_client_close(c);
}

#if defined(__linux__)
namespace {

// connect `c` to the fake runtime, then answer its bind of a W x H RGBA8 ring (one slot each
// way) with `in_name` / `out_name`; returns what lsd_client_bind returned
lsd_status bind_to(FakeRuntime& rt, lsd_client* c, unsigned W, unsigned H, const std::string& in_name,
                   const std::string& out_name) {
    lsd_client_connect(c, 0);
    lsd::Value hello;
    if (!rt.expect("hello", hello, 3000)) return LSD_E_INTERNAL;
    rt.welcome(hello.get("id")->u);
    if (lsd_client_connect(c, 2000) != LSD_OK) return LSD_E_NOT_CONNECTED;
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, W, H, LSD_FORMAT_RGBA8);
    b.input.slots = b.output.slots = 1;
    std::thread answer([&] {
        lsd::Value bind;
        if (!rt.expect("bind", bind, 3000)) return;
        lsd::Value bound = lsd::proto::make("bound", bind.get("id")->u);
        bound.set("transport", lsd::Value::str("shm"));
        for (const char* ring : {"input", "output"}) {
            lsd::Value r = lsd::Value::object(), names = lsd::Value::array();
            names.arr.push_back(lsd::Value::str(std::string(ring) == "input" ? in_name : out_name));
            r.set("names", names);
            r.set("size", lsd::Value::uint(W * 4 * H));
            r.set("pitch", lsd::Value::uint(W * 4));
            bound.set(ring, r);
        }
        bound.set("model_width", lsd::Value::uint(W));
        bound.set("model_height", lsd::Value::uint(H));
        rt.send(bound);
    });
    lsd_status st = lsd_client_bind(c, &b, 3000);
    answer.join();
    return st;
}

}  // namespace

// The game maps slot memory; a process that shrinks it under the mapping would kill the game
// (SIGBUS). Only memfds sealed against shrinking are mapped, and their size cannot change.
TEST(FakeRuntime, OnlySlotMemoryNobodyCanShrinkIsMapped) {
    const unsigned W = 16, H = 8;
    const size_t size = W * 4 * H;
    std::string base = "/lsd-native-seal-s-1-" + std::to_string(current_pid());
    {  // a named /dev/shm segment, as an older runtime made: refused, with the reason
        std::string named = base + "-named";
        int fd = shm_open(named.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(ftruncate(fd, static_cast<off_t>(size)), 0);
        close(fd);
        FakeRuntime rt;
        lsd_client* c = client_for(rt);
        EXPECT_EQ(bind_to(rt, c, W, H, named, named), LSD_E_IO);
        EXPECT_NE(std::string(lsd_last_error()).find("could shrink"), std::string::npos) << lsd_last_error();
        lsd_client_close(c);
        shm_unlink(named.c_str());
    }
    {  // an unsealed memfd: refused
        FakeSegment in(base + "-in", size, false), out(base + "-out", size, false);
        ASSERT_TRUE(in.data && out.data);
        FakeRuntime rt;
        lsd_client* c = client_for(rt);
        EXPECT_EQ(bind_to(rt, c, W, H, in.name, out.name), LSD_E_IO);
        EXPECT_NE(std::string(lsd_last_error()).find("not sealed"), std::string::npos) << lsd_last_error();
        lsd_client_close(c);
    }
    {  // sealed, but another session's (a descriptor the runtime reused): refused
        FakeSegment in("/lsd-native-seal-s-9-in", size), out("/lsd-native-seal-s-9-out", size);
        ASSERT_TRUE(in.data && out.data);
        FakeRuntime rt;
        lsd_client* c = client_for(rt);
        EXPECT_EQ(bind_to(rt, c, W, H, in.name, out.name), LSD_E_IO);
        EXPECT_NE(std::string(lsd_last_error()).find("not session s-1's"), std::string::npos) << lsd_last_error();
        lsd_client_close(c);
    }
    {  // sealed: mapped, frames flow, and nobody can shrink it while the game holds it
        FakeSegment in(base + "-in2", size), out(base + "-out2", size);
        ASSERT_TRUE(in.data && out.data);
        FakeRuntime rt;
        lsd_client* c = client_for(rt);
        ASSERT_EQ(bind_to(rt, c, W, H, in.name, out.name), LSD_OK) << lsd_last_error();
        int fd = open(in.name.c_str(), O_RDWR);
        ASSERT_GE(fd, 0);
        EXPECT_EQ(ftruncate(fd, 0), -1);
        EXPECT_EQ(errno, EPERM);
        EXPECT_EQ(ftruncate(fd, static_cast<off_t>(size / 2)), -1);
        close(fd);
        std::vector<uint8_t> px(size, 9);
        lsd_frame_in fi;
        std::memset(&fi, 0, sizeof fi);
        fi.struct_size = sizeof fi;
        fi.data = px.data();
        fi.width = W;
        fi.height = H;
        fi.format = LSD_FORMAT_RGBA8;
        EXPECT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_OK) << lsd_last_error();
        EXPECT_EQ(in.data[0], 9);  // the frame went into the runtime's memory
        lsd_client_close(c);
    }
}
#endif

// A runtime that sends without pause must not keep lsd_client_close (or any call) waiting.
TEST(FakeRuntime, ClosingDuringAPingStormReturnsPromptly) {
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    lsd_client_connect(c, 0);
    lsd::Value hello;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    rt.welcome(hello.get("id")->u);
    ASSERT_EQ(lsd_client_connect(c, 2000), LSD_OK) << lsd_last_error();
    std::atomic<bool> storm{true};
    std::thread pinger([&] {
        lsd::Value ping = lsd::proto::make("ping", 1);
        ping.set("time", lsd::Value::real(1.0));
        std::string bytes = lsd::proto::encode(ping);
        while (storm.load()) {
            try {
                rt.router.send(zmq::buffer(rt.identity), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
                rt.router.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
            } catch (const zmq::error_t&) {}
        }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // thousands of pings queued
    auto t = Clock::now();
    lsd_stats st;
    std::memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    EXPECT_EQ(lsd_client_get_stats(c, &st), LSD_OK);
    EXPECT_LT(since_ms(t), 100.0 + kSlackMs);
    t = Clock::now();
    lsd_client_close(c);
    EXPECT_LT(since_ms(t), 500.0 + kSlackMs);
    storm = false;
    pinger.join();
}

// Numbers a peer sends are checked against the contract's bounds: a timeout_ms of 2^32 once
// wrapped to 0 and made the client reconnect in a tight loop.
TEST(FakeRuntime, WelcomeNumbersOutsideTheContractAreRefusedWithoutAReconnectStorm) {
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    lsd_client_connect(c, 0);
    auto t0 = Clock::now();
    int hellos = 0;
    while (since_ms(t0) < 2000) {
        lsd::Value hello;
        if (!rt.expect("hello", hello, 100)) continue;
        ++hellos;
        lsd::Value w = lsd::proto::make("welcome", hello.get("id")->u);
        w.set("session", lsd::Value::str("s-1"));
        w.set("server", lsd::Value::str("fake/0"));
        w.set("transport", lsd::Value::str("shm"));
        lsd::Value list = lsd::Value::array();
        list.arr.push_back(lsd::Value::str("shm"));
        w.set("transports", list);
        w.set("backends", list);
        w.set("styles", list);
        w.set("heartbeat_ms", lsd::Value::uint(100));
        w.set("timeout_ms", lsd::Value::uint(UINT64_C(4294967296)));
        w.set("max_message", lsd::Value::uint(LSD_MAX_MESSAGE_BYTES));
        rt.send(w);
    }
    EXPECT_GE(hellos, 1);
    EXPECT_LE(hellos, 8) << "the client reconnected " << hellos << " times in 2 s";
    lsd_stats st;
    std::memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    EXPECT_EQ(lsd_client_get_stats(c, &st), LSD_OK);
    EXPECT_NE(st.state, LSD_STATE_CONNECTED);
    EXPECT_NE(st.state, LSD_STATE_READY);
    lsd_client_close(c);
}

// A style_set of id 0 is the runtime telling the client its console changed the style: the
// client reports it (lsd_client_get_style) without taking it for the answer to a request.
TEST(FakeRuntime, AStyleChangedByTheRuntimesConsoleIsReported) {
    FakeRuntime rt;
    lsd_client* c = client_for(rt);
    lsd_client_connect(c, 0);
    lsd::Value hello;
    ASSERT_TRUE(rt.expect("hello", hello, 3000));
    rt.welcome(hello.get("id")->u);
    ASSERT_EQ(lsd_client_connect(c, 2000), LSD_OK) << lsd_last_error();
    lsd_style_info info;
    std::memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    ASSERT_EQ(lsd_client_get_style(c, &info), LSD_OK);
    EXPECT_EQ(info.status, LSD_PENDING);  // nothing asked for, nothing applied
    lsd::Value changed = lsd::proto::make("style_set", 0);
    changed.set("backend", lsd::Value::str("effects"));
    changed.set("style", lsd::Value::str("sketch"));
    changed.set("matched", lsd::Value::str("pencil"));
    changed.set("model", lsd::Value::str("effects"));
    rt.send(changed);
    auto t0 = Clock::now();
    while (since_ms(t0) < 3000) {
        lsd_client_get_style(c, &info);
        if (std::string(info.style) == "sketch") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(info.status, LSD_OK);
    EXPECT_STREQ(info.backend, "effects");
    EXPECT_STREQ(info.style, "sketch");
    EXPECT_STREQ(info.matched, "pencil");
    lsd_client_close(c);
}
