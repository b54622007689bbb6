// The runtime is killed (SIGKILL) mid-stream and a new one started in the same state
// directory (new port, new token): the same client handle recovers by itself, re-binds,
// re-sends the style, and frames flow again pixel-exactly. No call waits meanwhile.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "runtime_process.hpp"
#include "test_helpers.hpp"

using namespace lsdtest;

namespace {

constexpr unsigned W = 96, H = 64;

struct Expected {
    std::vector<uint8_t> in;
    std::string out;
};

TEST(Restart, KilledRuntimeIsReplacedAndTheClientRecovers) {
    std::string dir = make_temp_dir("lsd-native-restart");
    RuntimeProcess rt;
    std::string why;
    ASSERT_TRUE(rt.start(dir, why)) << why;

    // expected toon output for two scene frames
    std::vector<Expected> exp(2);
    for (unsigned k = 0; k < 2; ++k) {
        exp[k].in = render(W, H, 11 + k, false);
        std::string ip = dir + "/in" + std::to_string(k) + ".raw", op = dir + "/out" + std::to_string(k) + ".raw";
        write_file(ip, exp[k].in.data(), exp[k].in.size());
        ASSERT_TRUE(apply_style("toon", W, H, "rgba8", ip, op)) << read_file(op + ".log");
        exp[k].out = read_file(op);
    }

    lsd_client_config cfg;
    lsd_client_config_init(&cfg);
    cfg.state_dir = dir.c_str();
    cfg.client_name = "restart-test/0.1.0";
    cfg.heartbeat_ms = 100;
    cfg.timeout_ms = 800;
    cfg.reconnect_max_ms = 300;
    lsd_client* c = nullptr;
    ASSERT_EQ(lsd_client_create(&cfg, &c), LSD_OK) << lsd_last_error();
    ASSERT_EQ(lsd_client_connect(c, 10000), LSD_OK) << lsd_last_error();
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, W, H, LSD_FORMAT_RGBA8);
    b.transport = test_transport();
    ASSERT_EQ(lsd_client_bind(c, &b, 10000), LSD_OK) << lsd_last_error();
    lsd_style_desc s;
    lsd_style_desc_init(&s);
    s.style = "toon";
    ASSERT_EQ(lsd_client_set_style(c, &s, 10000), LSD_OK) << lsd_last_error();

    std::vector<uint8_t> out(static_cast<size_t>(W) * 4 * H);
    auto stream = [&](unsigned frames, double budget_ms) -> unsigned {
        // submit + take in a host-like loop; returns the frames that came back (all checked)
        unsigned good = 0;
        auto t0 = std::chrono::steady_clock::now();
        for (unsigned f = 0; good < frames && elapsed_ms(t0) < budget_ms; ++f) {
            const Expected& e = exp[f % 2];
            auto fi = frame_in(e.in, W, H, LSD_FORMAT_RGBA8);
            auto t1 = std::chrono::steady_clock::now();
            lsd_status st = lsd_client_submit(c, &fi, nullptr);
            EXPECT_LT(elapsed_ms(t1), 50.0) << "submit waited";
            if (st != LSD_OK) {
                EXPECT_TRUE(st == LSD_E_NOT_CONNECTED || st == LSD_E_NOT_BOUND || st == LSD_NO_FREE_SLOT)
                    << lsd_status_string(st);
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
                continue;
            }
            auto fo = frame_out(out);
            auto t2 = std::chrono::steady_clock::now();
            lsd_status tk = lsd_client_take(c, &fo, 200);
            EXPECT_LT(elapsed_ms(t2), 200.0 + 100.0) << "take overran its timeout";
            if (tk == LSD_OK) {
                // the frame id tells which input it was; both are toon-styled
                bool ok = same_pixels(exp[0].out, out, W, H, W * 4) || same_pixels(exp[1].out, out, W, H, W * 4);
                EXPECT_TRUE(ok) << "returned frame is not the toon result of an input";
                if (ok) ++good;
            }
        }
        return good;
    };

    EXPECT_EQ(stream(40, 20000), 40u);
    lsd_stats before = stats_of(c);
    // the runtime picks at hello a transport this client can use (under Wine: inline, since a
    // Linux runtime's shm slots are memfds a Windows client cannot open), so binding it
    // never has to reopen the session
    EXPECT_EQ(before.reconnects, 0u);

    // kill mid-stream: frames are in flight right now
    auto fi = frame_in(exp[0].in, W, H, LSD_FORMAT_RGBA8);
    ASSERT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_OK) << lsd_last_error();
    rt.kill9();
    auto killed = std::chrono::steady_clock::now();

    // while it is gone, calls return at once with a clear status
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_NE(lsd_client_state(c), LSD_STATE_READY);
    auto t0 = std::chrono::steady_clock::now();
    lsd_status st = lsd_client_submit(c, &fi, nullptr);
    EXPECT_LT(elapsed_ms(t0), 50.0);
    EXPECT_TRUE(st == LSD_E_NOT_CONNECTED || st == LSD_E_NOT_BOUND) << lsd_status_string(st);
    EXPECT_NE(std::string(lsd_last_error()), "");

    // a new runtime in the same state dir: new port, new token
    std::string old_state = read_file(dir + "/runtime.json");
    ASSERT_TRUE(rt.start(dir, why)) << why;
    EXPECT_NE(read_file(dir + "/runtime.json"), old_state);

    // frames flow again through the same handle; toon proves the style was re-sent
    unsigned good = stream(40, 30000);
    EXPECT_EQ(good, 40u);
    lsd_stats after = stats_of(c);
    EXPECT_GE(after.reconnects, before.reconnects + 1);
    EXPECT_EQ(after.state, LSD_STATE_READY);
    std::printf("recovered %.0f ms after the kill (runtime start included); lost %llu frames in flight\n",
                elapsed_ms(killed), (unsigned long long)after.frames_lost);

    auto tc = std::chrono::steady_clock::now();
    lsd_client_close(c);
    EXPECT_LT(elapsed_ms(tc), 1000.0);
    rt.stop();
    remove_tree(dir);
}

TEST(Restart, RuntimeRestartedOnTheSamePortIsNoticedWhileIdle) {
    // the default deployment uses a fixed port (7788): ZeroMQ reconnects the old socket to
    // the new process by itself, which does not know the session (and answers pings anyway)
    std::string dir = make_temp_dir("lsd-native-sameport");
    int port = free_tcp_port();
    ASSERT_GT(port, 0);
    std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port);
    RuntimeProcess rt;
    std::string why;
    ASSERT_TRUE(rt.start(dir, why, 60, {}, endpoint)) << why;

    lsd_client* c = nullptr;
    ASSERT_EQ(lsd_client_create_from_state(dir.c_str(), "sameport-test/0.1.0", &c), LSD_OK);
    ASSERT_EQ(lsd_client_connect(c, 10000), LSD_OK) << lsd_last_error();
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, W, H, LSD_FORMAT_RGBA8);
    b.transport = test_transport();
    ASSERT_EQ(lsd_client_bind(c, &b, 10000), LSD_OK) << lsd_last_error();
    std::vector<uint8_t> out(static_cast<size_t>(W) * 4 * H);
    auto one = [&](unsigned f) {
        auto px = render(W, H, f, false);
        auto fi = frame_in(px, W, H, LSD_FORMAT_RGBA8);
        lsd_status st = lsd_client_submit(c, &fi, nullptr);
        if (st != LSD_OK) return false;
        auto fo = frame_out(out);
        if (lsd_client_take(c, &fo, 3000) != LSD_OK) return false;
        return static_cast<bool>(same_pixels(std::string(px.begin(), px.end()), out, W, H, W * 4));
    };
    for (unsigned f = 0; f < 10; ++f) ASSERT_TRUE(one(f)) << lsd_last_error();

    // watch the state from before the kill: on a busy machine the runtime's start-up can
    // outlast the client's whole notice-and-recover cycle, so a watch begun after start()
    // returns could miss the moment the client left READY
    std::atomic<bool> left_ready{false}, watching{true};
    std::thread watcher([&] {
        while (watching.load()) {
            if (lsd_client_state(c) != LSD_STATE_READY) left_ready = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    });
    const uint64_t reconnects_before = stats_of(c).reconnects;
    rt.kill9();
    bool restarted = rt.start(dir, why, 60, {}, endpoint);
    // idle: no frames are sent; the client must still notice and open a new session
    auto t0 = std::chrono::steady_clock::now();
    while (restarted && elapsed_ms(t0) < 30000) {
        if (left_ready && lsd_client_state(c) == LSD_STATE_READY && stats_of(c).reconnects > reconnects_before) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    watching = false;
    watcher.join();
    ASSERT_TRUE(restarted) << why;
    EXPECT_TRUE(left_ready);
    ASSERT_EQ(lsd_client_state(c), LSD_STATE_READY) << lsd_last_error();
    EXPECT_GT(stats_of(c).reconnects, reconnects_before);
    for (unsigned f = 0; f < 10; ++f) EXPECT_TRUE(one(100 + f)) << lsd_last_error();
    lsd_client_close(c);
    rt.stop();
    remove_tree(dir);
}

}  // namespace
