// The client behind the C handle. API calls (any thread) and one I/O thread meet under one
// mutex; the parts each do one job:
//   Connection      the DEALER socket, its monitor, heartbeat timers, reconnect back-off (I/O thread)
//   PendingRequest  a bind or set_style the API asked for and the I/O thread completes
//   SlotLedger      slot ownership, frames in flight, the newest output, releases
//   ClientStats     counters and latency windows
// Messages from the runtime are dispatched on lsd_msg_type, error codes compared as
// lsd_error_code values (both generated from the contract).
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "client_stats.hpp"
#include "connection.hpp"
#include "lsd_bridge/lsd_client.h"
#include "pending_request.hpp"
#include "slot_ledger.hpp"
#include "value.hpp"

namespace lsd {

void set_last_error(const std::string& message);
void clear_last_error();

struct StyleRequest {
    std::string backend, style, prompt, model;
    bool has_backend = false, has_style = false, has_prompt = false, has_strength = false, has_seed = false,
         has_model = false;
    double strength = 0.0;
    int64_t seed = 0;
};

// What the runtime said it applied (style_set), or why it refused the last request.
struct StyleAnswer {
    std::string backend, style, model, matched;
};

// A tcp:// endpoint whose host is not this machine (shared memory cannot reach it; the runtime
// takes only CURVE-encrypted links there).
bool remote_endpoint(const std::string& endpoint);
// The error a client gets for such an endpoint without the runtime's server key.
std::string remote_without_key_message(const std::string& endpoint);

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
    // frames on the GPU (lsd_client_submit_cuda / take_cuda and the texture calls): src / dst is
    // device memory or a CUDA array; f carries the size, format, stream, time and flags
    // sync: return once the copy is done (memory another API reuses right after the call)
    lsd_status submit_gpu(const CopyEnd& src, const lsd_cuda_frame& f, uint64_t* frame_id, bool sync = false);
    lsd_status take_gpu(const CopyEnd& dst, lsd_cuda_frame& out, uint32_t timeout_ms, bool sync = false);
    void transport_info(lsd_transport_info& out);
    // the primary context of the device the binding names (opened on first use); nullptr + why
    // without a usable driver
    const CudaContext* gpu_context(std::string& why);
    void stats(lsd_stats& out);
    void style_info(lsd_style_info& out);
    void close();

private:
    enum class CmdKind { Frame, Release, Bind, Style };
    struct Cmd {
        CmdKind kind;
        uint64_t gen = 0, id = 0;
        uint32_t slot = 0, flags = 0;
        double time = 0.0;
    };

    // I/O thread
    void io_main();
    void io_step();  // one turn of the loop: connect, timers, poll, messages, commands
    void check_timers(Clock::time_point now, lsd_conn_state st);
    void try_connect(Clock::time_point now);
    void teardown(const std::string& why, Clock::time_point retry_at, bool count_lost = true);
    void handle(const zmq::message_t& msg, Clock::time_point now);
    void on_welcome(const Value& m);
    void on_bound(const Value& m);
    void on_style_set(const Value& m);
    void on_style_changed(const Value& m);  // style_set id 0: the runtime changed it (web console)
    void on_error(const Value& m, Clock::time_point now);
    void on_frame_done(const Value& m, Clock::time_point now);
    void on_dropped(const Value& m);
    void process_commands();
    void send_frame(const Cmd& c, bool session);
    void send_bind();
    void refuse_transport();  // mu_ held: the bind wants a transport the runtime will not serve here
    // mu_ held: the transport a bind wanting `wanted` uses in this session (cuda_ipc: or shm)
    lsd_transport bind_transport_locked(lsd_transport wanted) const;
    void send_style();
    void send_releases();
    void say_bye(int linger_ms = 100);
    Value hello_message(const std::string& token);
    uint64_t next_id() { return next_id_.fetch_add(1); }
    // a free input slot claimed for a frame (what submit and submit_gpu copy into)
    struct InputClaim {
        std::shared_ptr<SlotStorage> storage;  // keeps the slot memory alive through the copy
        uint32_t slot = 0;
        uint64_t gen = 0, id = 0;
        bool drop_motion = false;  // a frame was skipped before: this one's motion does not hold
    };
    // mu_ held: the handle is open and bound, and the frame has the input ring's size, format and a
    // pitch of at least a row (0: tight); g gets the ring
    lsd_status check_input_locked(uint32_t width, uint32_t height, lsd_format format, uint32_t pitch,
                                  RingGeometry& g) const;
    // mu_ held: a free input slot, or LSD_NO_FREE_SLOT (counted as skipped)
    lsd_status claim_input_locked(InputClaim& c);
    // mu_ held through lk: waits up to timeout_ms for a finished frame not taken yet
    lsd_status wait_ready_locked(std::unique_lock<std::mutex>& lk, uint32_t timeout_ms);
    // a taken frame's output slot goes back to the runtime; copied false: LSD_E_IO naming why
    lsd_status finish_take(uint32_t slot, uint64_t gen, bool copied, const std::string& why);
    // the filled input slot goes out as a frame (unless the binding changed meanwhile)
    lsd_status queue_frame(uint32_t slot, uint64_t gen, uint64_t id, uint32_t flags, double time, uint64_t* frame_id);
    // the input slot could not be filled: it is the client's again; LSD_E_IO naming why
    lsd_status give_back_input(uint32_t slot, uint64_t gen, const std::string& why);
    void wake_locked();
    std::string describe_endpoint_locked() const;
    lsd_status not_ready_locked() const;

    // configuration (immutable after construction)
    std::string cfg_endpoint_, cfg_token_, cfg_server_key_, state_dir_, name_;
    bool use_state_dir_ = false, debug_ = false;
    uint32_t cfg_heartbeat_ms_ = 0, cfg_timeout_ms_ = 0;

    zmq::context_t ctx_;
    std::atomic<uint64_t> next_id_{1};

    std::mutex mu_;
    std::condition_variable cv_;
    zmq::socket_t wake_tx_;  // API side; every use is under mu_
    // --- guarded by mu_ ---
    bool stop_ = false, closed_ = false, want_connect_ = false;
    lsd_conn_state state_ = LSD_STATE_IDLE;
    std::string endpoint_, last_conn_error_;
    std::deque<Cmd> cmds_;
    PendingRequest<lsd_bind_desc> bind_;
    PendingRequest<StyleRequest> style_;
    StyleAnswer applied_;
    bool runtime_changed_style_ = false;                // the last change came from the runtime (its console)
    bool motion_gap_ = false;                           // a frame was skipped: the next one's motion is not sent
    lsd_transport path_transport_ = LSD_TRANSPORT_SHM;  // what the current binding's frames travel on
    std::string path_reason_;        // why that is not the transport the bind asked for ("" when it is)
    std::string runtime_gpu_;        // welcome.gpu
    bool cuda_open_failed_ = false;  // this session's device slots could not be opened: bind shm
    SlotLedger slots_;
    ClientStats stats_;

    std::mutex gpu_mu_;                     // guards gpu_ctx_
    std::unique_ptr<CudaContext> gpu_ctx_;  // for copies between the GPU and host slots

    // --- I/O thread only ---
    zmq::socket_t wake_rx_;
    Connection conn_;
    Backoff backoff_;
    Clock::time_point next_attempt_{};
    bool had_session_ = false;
    uint64_t hello_id_ = 0;
    lsd_transport offered_ = LSD_TRANSPORT_SHM;            // the transport hello asked for first
    lsd_transport session_transport_ = LSD_TRANSPORT_SHM;  // the one the runtime chose
    std::string session_id_;                               // welcome.session: slot memfds carry it
    bool inline_lz4_ = false;                              // bound.codec is lz4 (under mu_: set by on_bound)
    std::vector<unsigned char> pack_buffer_;               // I/O thread only: the frame being sent compressed
    uint32_t heartbeat_ms_, timeout_ms_;
    size_t max_reply_bytes_ = LSD_MAX_MESSAGE_BYTES;  // inline: plus an output slot
    std::thread io_;
};

}  // namespace lsd
