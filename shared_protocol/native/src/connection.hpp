// The I/O thread's link to the runtime: one DEALER socket (and a monitor that reports a
// dropped TCP connection at once), the heartbeat and liveness timers, and the reconnect
// back-off. Used by the I/O thread only; nothing here locks.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "value.hpp"

namespace lsd {

using Clock = std::chrono::steady_clock;

// Doubling waits between reconnect attempts, from `first` to `max`.
class Backoff {
public:
    Backoff(uint32_t first_ms, uint32_t max_ms) : first_(first_ms), max_(max_ms), next_(first_ms) {}
    uint32_t next() {  // the wait to use now; the one after doubles
        uint32_t wait = next_;
        next_ = std::min(next_ * 2, max_);
        return wait;
    }
    void reset() { next_ = first_; }
    uint32_t max() const { return max_; }

private:
    uint32_t first_, max_, next_;
};

class Connection {
public:
    Connection(zmq::context_t& ctx, const void* owner) : ctx_(ctx), owner_(owner) {}
    ~Connection() { close(); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // A new DEALER connected (asynchronously, as ZeroMQ does) to `endpoint`; false with `why`.
    // With a server_key (Z85) the link is encrypted with CURVE, with a fresh client key pair.
    bool open(const std::string& endpoint, const std::string& server_key, std::string& why);
    // Closes the socket; with linger_ms > 0, what was queued (a bye) may still leave.
    void close(int linger_ms = 0);
    bool is_open() const { return dealer_ != nullptr; }

    // Non-blocking send; false when the runtime is not reading (high-water mark) or on error.
    bool send(const Value& msg);

    // Poll items for the socket and its monitor (0, 1 or 2 entries written).
    int poll_items(zmq::pollitem_t* items) const;
    // Up to `max_messages` messages waiting on the socket, handed to `on_message` (which may
    // close the link); the rest wait for the next call.
    void drain(const std::function<void(const zmq::message_t&)>& on_message, int max_messages = 256);
    // Whether the monitor saw the TCP connection drop since the last call.
    bool dropped();

    // timers (the I/O thread reads and sets them; last_recv: the last valid message)
    Clock::time_point opened_at{}, last_send{}, last_recv{}, last_ping{};

private:
    zmq::context_t& ctx_;
    const void* owner_;
    std::unique_ptr<zmq::socket_t> dealer_;
    std::unique_ptr<zmq::socket_t> monitor_;  // ZMQ_EVENT_DISCONNECTED of dealer_
    unsigned monitor_seq_ = 0;
};

}  // namespace lsd
