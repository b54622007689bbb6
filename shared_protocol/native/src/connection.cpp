#include "connection.hpp"

#include <cstdio>

#include "protocol.hpp"

namespace lsd {

bool Connection::open(const std::string& endpoint, const std::string& server_key, std::string& why) {
    close();
    if (!server_key.empty()) {
        uint8_t raw[32];
        if (server_key.size() != 40 || !zmq_z85_decode(raw, server_key.c_str())) {
            why = "the runtime's CURVE server key is not 40 Z85 characters";
            return false;
        }
        if (!zmq_has("curve")) {
            why = "this build of libzmq has no CURVE, which the runtime's endpoint needs";
            return false;
        }
    }
    try {
        dealer_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
        dealer_->set(zmq::sockopt::linger, 0);
        if (!server_key.empty()) {
            char pub[41], sec[41];
            if (zmq_curve_keypair(pub, sec) != 0) {
                close();
                why = "cannot make a CURVE key pair";
                return false;
            }
            dealer_->set(zmq::sockopt::curve_serverkey, server_key);
            dealer_->set(zmq::sockopt::curve_publickey, std::string(pub, 40));
            dealer_->set(zmq::sockopt::curve_secretkey, std::string(sec, 40));
        }
        // a dropped TCP connection means the runtime died or restarted: notice at once
        // (a runtime restarted on the same port would otherwise keep answering our pings)
        char addr[80];
        std::snprintf(addr, sizeof addr, "inproc://lsd-mon-%p-%u", owner_, ++monitor_seq_);
        if (zmq_socket_monitor(dealer_->handle(), addr, ZMQ_EVENT_DISCONNECTED) == 0) {
            monitor_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::pair);
            monitor_->set(zmq::sockopt::linger, 0);
            monitor_->connect(addr);
        }
        dealer_->connect(endpoint);
    } catch (const zmq::error_t& e) {
        close();
        why = std::string("cannot connect: ") + e.what();
        return false;
    }
    opened_at = last_send = last_recv = last_ping = Clock::now();
    return true;
}

void Connection::close(int linger_ms) {
    if (monitor_) {
        if (dealer_) zmq_socket_monitor(dealer_->handle(), nullptr, 0);
        monitor_.reset();
    }
    if (dealer_ && linger_ms > 0) dealer_->set(zmq::sockopt::linger, linger_ms);
    dealer_.reset();
}

bool Connection::send(const Value& msg) {
    if (!dealer_) return false;
    std::string bytes;
    try {
        bytes = proto::encode(msg);
    } catch (const std::bad_alloc&) {
        return false;  // an inline frame too big for this machine's memory: not sent, never fatal
    }
    try {
        auto r = dealer_->send(zmq::const_buffer(bytes.data(), bytes.size()), zmq::send_flags::dontwait);
        if (!r) return false;  // high-water mark: the runtime is not reading
    } catch (const zmq::error_t&) { return false; }
    last_send = Clock::now();
    return true;
}

int Connection::poll_items(zmq::pollitem_t* items) const {
    int n = 0;
    if (dealer_) items[n++] = {dealer_->handle(), 0, ZMQ_POLLIN, 0};
    if (dealer_ && monitor_) items[n++] = {monitor_->handle(), 0, ZMQ_POLLIN, 0};
    return n;
}

void Connection::drain(const std::function<void(const zmq::message_t&)>& on_message, int max_messages) {
    zmq::message_t msg;
    // bounded: a runtime that sends without pause (a ping storm) must not keep the I/O thread
    // from its timers and from noticing that lsd_client_close wants it to stop
    for (int n = 0; dealer_ && n < max_messages; ++n) {
        zmq::recv_result_t r;
        try {
            r = dealer_->recv(msg, zmq::recv_flags::dontwait);
        } catch (const zmq::error_t&) { return; }
        if (!r) return;
        on_message(msg);
    }
}

bool Connection::dropped() {
    if (!dealer_ || !monitor_) return false;
    bool seen = false;
    zmq::message_t msg;
    try {
        while (monitor_->recv(msg, zmq::recv_flags::dontwait)) {
            if (!msg.more()) seen = true;
        }
    } catch (const zmq::error_t&) {}
    return seen;
}

}  // namespace lsd
