// The client behind the C handle: API side (any thread) + one I/O thread owning the DEALER.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "latency_window.hpp"
#include "lsd_bridge/lsd_client.h"
#include "shm_segment.hpp"
#include "value.hpp"

namespace lsd {

void set_last_error(const std::string& message);
void clear_last_error();

using Clock = std::chrono::steady_clock;

struct RingGeometry {
    uint32_t width = 0, height = 0, pitch = 0, slots = 0;
    lsd_format format = LSD_FORMAT_RGBA8;
    size_t size = 0;
};

// The mapped slots of one binding; API threads hold a reference while they copy.
struct Mapping {
    std::vector<std::unique_ptr<ShmSegment>> in, out;
};

struct StyleRequest {
    std::string backend, style, prompt;
    bool has_style = false, has_prompt = false, has_strength = false, has_seed = false;
    double strength = 0.0;
    int64_t seed = 0;
};

class Client {
public:
    explicit Client(const lsd_client_config& cfg);
    ~Client();

    lsd_status connect(uint32_t timeout_ms);
    lsd_conn_state state();
    lsd_status bind(const lsd_bind_desc& desc, uint32_t timeout_ms);
    lsd_status set_style(const StyleRequest& style, uint32_t timeout_ms);
    lsd_status submit(const lsd_frame_in& frame, uint64_t* frame_id);
    lsd_status take(lsd_frame_out& out, uint32_t timeout_ms);
    void stats(lsd_stats& out);
    void close();

private:
    enum class CmdKind { Frame, Release, Bind, Style };
    struct Cmd {
        CmdKind kind;
        uint64_t gen = 0, id = 0;
        uint32_t slot = 0, flags = 0;
        double time = 0.0;
    };
    struct InFlight {
        Clock::time_point submitted;
        uint32_t slot;
        std::vector<uint32_t> released;  // output slots handed back with this frame
    };
    struct Ready {
        bool valid = false;
        uint32_t slot = 0;
        uint64_t id = 0;
        double time = 0.0;
        lsd_timings timings{};
    };

    // I/O thread
    void io_main();
    void try_connect(Clock::time_point now);
    void teardown(const std::string& why, Clock::time_point retry_at, bool count_lost = true);
    void handle(const zmq::message_t& msg, Clock::time_point now);
    void on_welcome(const Value& m, Clock::time_point now);
    void on_bound(const Value& m);
    void on_error(const Value& m, Clock::time_point now);
    void on_frame_done(const Value& m, Clock::time_point now);
    void process_commands(Clock::time_point now);
    void send_bind();
    void send_style();
    bool send(const Value& msg);
    void send_release_now();
    uint64_t next_id() { return next_id_.fetch_add(1); }
    void wake_locked();
    std::string describe_endpoint_locked() const;

    // configuration (immutable after construction)
    std::string cfg_endpoint_, cfg_token_, state_dir_, name_;
    bool use_state_dir_ = false, debug_ = false;
    uint32_t cfg_heartbeat_ms_ = 0, cfg_timeout_ms_ = 0, reconnect_max_ms_ = 1000;

    zmq::context_t ctx_;
    std::atomic<uint64_t> next_id_{1};

    std::mutex mu_;
    std::condition_variable cv_;
    zmq::socket_t wake_tx_;  // API side, used under mu_
    // --- guarded by mu_ ---
    bool stop_ = false, closed_ = false, want_connect_ = false;
    lsd_conn_state state_ = LSD_STATE_IDLE;
    std::string endpoint_, last_conn_error_;
    std::deque<Cmd> cmds_;
    std::optional<lsd_bind_desc> bind_want_, bind_sent_;
    uint64_t bind_seq_ = 0, bind_sent_seq_ = 0, bind_done_seq_ = 0;
    lsd_status bind_result_ = LSD_OK;
    std::string bind_error_;
    std::optional<StyleRequest> style_want_, style_sent_, style_accepted_;
    uint64_t style_seq_ = 0, style_sent_seq_ = 0, style_done_seq_ = 0;
    lsd_status style_result_ = LSD_OK;
    std::string style_error_;
    uint64_t gen_ = 0;  // changes whenever the binding (and its slots) changes
    std::shared_ptr<Mapping> map_;
    RingGeometry in_, out_;
    std::array<bool, LSD_MAX_SLOTS> in_owned_{};
    std::map<uint64_t, InFlight> inflight_;
    Ready ready_;
    std::vector<uint32_t> release_queue_;
    uint64_t submitted_ = 0, done_ = 0, dropped_ = 0, skipped_ = 0, lost_ = 0, taken_ = 0, reconnects_ = 0,
             errors_ = 0;
    LatencyWindow lat_queue_, lat_input_, lat_backend_, lat_output_, lat_total_, lat_rt_;

    // --- I/O thread only ---
    zmq::socket_t wake_rx_;
    std::unique_ptr<zmq::socket_t> dealer_;
    std::unique_ptr<zmq::socket_t> monitor_;  // ZMQ_EVENT_DISCONNECTED of dealer_
    unsigned monitor_seq_ = 0;
    void close_dealer();
    bool had_session_ = false;
    uint64_t hello_id_ = 0, bind_id_ = 0, style_id_ = 0;
    uint32_t heartbeat_ms_ = 500, timeout_ms_ = 2000, backoff_ms_ = 50;
    Clock::time_point hello_sent_{}, last_send_{}, last_recv_{}, last_ping_{}, next_attempt_{};
    std::thread io_;
};

}  // namespace lsd
