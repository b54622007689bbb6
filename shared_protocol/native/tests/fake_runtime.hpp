// A scripted runtime for the native client's offline tests: a ROUTER socket in the test that
// checks what the client sends and answers what the test tells it to.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <zmq.hpp>

#include "lsd_bridge/lsd_client.h"
#include "protocol.hpp"

namespace {

using Clock = std::chrono::steady_clock;
inline double since_ms(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

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
    // timeout_ms: how long the client waits for any message before declaring this runtime gone.
    // The fake answers nothing unless a test does, so a short one races every other step on a
    // busy machine; only the test of that timeout asks for one.
    // gpu, fallback: welcome.gpu (a runtime serving cuda_ipc) and welcome.fallback, when given
    void welcome(uint64_t id, const char* transport = "shm", uint32_t timeout_ms = 30000, const char* gpu = nullptr,
                 const char* fallback = nullptr) {
        lsd::Value w = lsd::proto::make("welcome", id);
        w.set("session", lsd::Value::str("s-1"));
        w.set("server", lsd::Value::str("fake/0"));
        w.set("transport", lsd::Value::str(transport));
        lsd::Value list = lsd::Value::array();
        list.arr.push_back(lsd::Value::str("shm"));
        if (std::string(transport) != "shm") list.arr.push_back(lsd::Value::str(transport));
        w.set("transports", list);
        lsd::Value be = lsd::Value::array();
        be.arr.push_back(lsd::Value::str("effects"));
        w.set("backends", be);
        w.set("styles", be);
        w.set("heartbeat_ms", lsd::Value::uint(100));
        w.set("timeout_ms", lsd::Value::uint(timeout_ms));
        w.set("max_message", lsd::Value::uint(LSD_MAX_MESSAGE_BYTES));
        if (gpu) w.set("gpu", lsd::Value::str(gpu));
        if (fallback) w.set("fallback", lsd::Value::str(fallback));
        send(w);
    }
};

inline lsd_client* client_for(const FakeRuntime& rt) {
    lsd_client_config cfg;
    lsd_client_config_init(&cfg);
    cfg.endpoint = rt.endpoint.c_str();
    cfg.token = "secret-token";
    cfg.client_name = "fake-test/1";
    lsd_client* c = nullptr;
    EXPECT_EQ(lsd_client_create(&cfg, &c), LSD_OK);
    return c;
}

}  // namespace
