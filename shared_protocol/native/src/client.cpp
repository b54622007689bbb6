#include "client.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "protocol.hpp"
#include "state_file.hpp"

#ifdef _WIN32
#  define WIN32_LEAN_AND_MEAN
#  include <windows.h>
static uint32_t current_pid() { return static_cast<uint32_t>(GetCurrentProcessId()); }
#else
#  include <unistd.h>
static uint32_t current_pid() { return static_cast<uint32_t>(getpid()); }
#endif

namespace lsd {
namespace {

const char* format_name(lsd_format f) {
    switch (f) {
        case LSD_FORMAT_RGBA8: return "rgba8";
        case LSD_FORMAT_BGRA8: return "bgra8";
        case LSD_FORMAT_RGBA16F: return "rgba16f";
    }
    return "rgba8";
}

uint32_t bpp(lsd_format f) { return f == LSD_FORMAT_RGBA16F ? 8u : 4u; }

double now_seconds() {
    return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

Value ring_value(const lsd_ring_desc& r) {
    Value v = Value::object();
    v.set("width", Value::uint(r.width));
    v.set("height", Value::uint(r.height));
    v.set("format", Value::str(format_name(r.format)));
    if (r.pitch) v.set("pitch", Value::uint(r.pitch));
    v.set("bottom_up", Value::boolean(r.bottom_up != 0));
    if (r.color != LSD_COLOR_DEFAULT) v.set("color", Value::str(r.color == LSD_COLOR_LINEAR ? "linear" : "srgb"));
    v.set("slots", Value::uint(r.slots ? r.slots : proto::kDefaultSlots));
    return v;
}

double num(const Value* v) { return v ? v->as_double() : 0.0; }
uint64_t unum(const Value* v) { return v && v->is_uint() ? v->u : 0; }
std::string text(const Value* v) { return v && v->is_str() ? v->s : std::string(); }

}  // namespace

Client::Client(const lsd_client_config& cfg)
    : ctx_(1), wake_tx_(ctx_, zmq::socket_type::pair), wake_rx_(ctx_, zmq::socket_type::pair) {
    if (const char* dbg = std::getenv("LSD_DEBUG"); dbg && *dbg && *dbg != '0') debug_ = true;
    if (cfg.state_dir) {
        use_state_dir_ = true;
        state_dir_ = cfg.state_dir;
    }
    if (cfg.endpoint) cfg_endpoint_ = cfg.endpoint;
    if (cfg.token) cfg_token_ = cfg.token;
    name_ = cfg.client_name && *cfg.client_name ? cfg.client_name : std::string("lsd-native/") + lsd_version();
    cfg_heartbeat_ms_ = cfg.heartbeat_ms;
    cfg_timeout_ms_ = cfg.timeout_ms;
    reconnect_max_ms_ = cfg.reconnect_max_ms ? cfg.reconnect_max_ms : 1000;
    heartbeat_ms_ = cfg_heartbeat_ms_ ? cfg_heartbeat_ms_ : 500;
    timeout_ms_ = cfg_timeout_ms_ ? cfg_timeout_ms_ : 2000;
    endpoint_ = cfg_endpoint_;
    char addr[64];
    std::snprintf(addr, sizeof addr, "inproc://lsd-wake-%p", static_cast<void*>(this));
    wake_rx_.set(zmq::sockopt::linger, 0);
    wake_tx_.set(zmq::sockopt::linger, 0);
    wake_rx_.bind(addr);
    wake_tx_.connect(addr);
    io_ = std::thread([this] { io_main(); });
}

Client::~Client() { close(); }

void Client::wake_locked() {
    try {
        (void)wake_tx_.send(zmq::const_buffer("w", 1), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
    }
}

std::string Client::describe_endpoint_locked() const {
    std::string where = endpoint_.empty() ? (use_state_dir_ ? "(state file " + state_dir_ + ")" : "(no endpoint)") : endpoint_;
    return where + (last_conn_error_.empty() ? "" : ": " + last_conn_error_);
}

// ---------------------------------------------------------------- API side

lsd_status Client::connect(uint32_t timeout_ms) {
    std::unique_lock<std::mutex> lk(mu_);
    if (closed_) { set_last_error("client is closed"); return LSD_E_CLOSED; }
    if (!want_connect_) {
        want_connect_ = true;
        if (state_ == LSD_STATE_IDLE) state_ = LSD_STATE_CONNECTING;
        wake_locked();
    }
    cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return state_ >= LSD_STATE_CONNECTED || closed_; });
    if (state_ >= LSD_STATE_CONNECTED && state_ != LSD_STATE_CLOSED) return LSD_OK;
    set_last_error("not connected to the runtime " + describe_endpoint_locked() + " (still trying)");
    return LSD_E_NOT_CONNECTED;
}

lsd_conn_state Client::state() {
    std::lock_guard<std::mutex> lk(mu_);
    return state_;
}

lsd_status Client::bind(const lsd_bind_desc& desc, uint32_t timeout_ms) {
    std::unique_lock<std::mutex> lk(mu_);
    if (closed_) { set_last_error("client is closed"); return LSD_E_CLOSED; }
    bind_want_ = desc;
    uint64_t seq = ++bind_seq_;
    if (!want_connect_) { want_connect_ = true; if (state_ == LSD_STATE_IDLE) state_ = LSD_STATE_CONNECTING; }
    cmds_.push_back(Cmd{CmdKind::Bind});
    wake_locked();
    cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return bind_done_seq_ >= seq || closed_; });
    if (bind_done_seq_ >= seq) {
        if (bind_result_ != LSD_OK) set_last_error(bind_error_);
        return bind_result_;
    }
    if (state_ < LSD_STATE_CONNECTED) {
        set_last_error("not connected to the runtime " + describe_endpoint_locked() +
                       "; the rings are bound once a session opens");
        return LSD_E_NOT_CONNECTED;
    }
    set_last_error("bind sent; no answer within " + std::to_string(timeout_ms) + " ms yet");
    return LSD_PENDING;
}

lsd_status Client::set_style(const StyleRequest& style, uint32_t timeout_ms) {
    std::unique_lock<std::mutex> lk(mu_);
    if (closed_) { set_last_error("client is closed"); return LSD_E_CLOSED; }
    style_want_ = style;
    uint64_t seq = ++style_seq_;
    if (!want_connect_) { want_connect_ = true; if (state_ == LSD_STATE_IDLE) state_ = LSD_STATE_CONNECTING; }
    cmds_.push_back(Cmd{CmdKind::Style});
    wake_locked();
    cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return style_done_seq_ >= seq || closed_; });
    if (style_done_seq_ >= seq) {
        if (style_result_ != LSD_OK) set_last_error(style_error_);
        return style_result_;
    }
    if (state_ < LSD_STATE_CONNECTED) {
        set_last_error("not connected to the runtime " + describe_endpoint_locked() +
                       "; the style is sent once a session opens");
        return LSD_E_NOT_CONNECTED;
    }
    set_last_error("set_style sent; no answer within " + std::to_string(timeout_ms) + " ms yet");
    return LSD_PENDING;
}

lsd_status Client::submit(const lsd_frame_in& f, uint64_t* frame_id) {
    std::shared_ptr<Mapping> map;
    uint32_t slot = 0;
    uint64_t gen = 0, id = 0;
    RingGeometry g;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (closed_) { set_last_error("client is closed"); return LSD_E_CLOSED; }
        if (state_ < LSD_STATE_CONNECTED || state_ == LSD_STATE_CLOSED) {
            set_last_error("not connected to the runtime " + describe_endpoint_locked());
            return LSD_E_NOT_CONNECTED;
        }
        if (state_ != LSD_STATE_READY || !map_) {
            set_last_error(bind_want_ ? "rings are being bound" : "no rings bound: call lsd_client_bind first");
            return LSD_E_NOT_BOUND;
        }
        g = in_;
        if (f.width != g.width || f.height != g.height || f.format != g.format) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "frame is %ux%u %s; the input ring is %ux%u %s", f.width, f.height,
                          format_name(f.format), g.width, g.height, format_name(g.format));
            set_last_error(buf);
            return LSD_E_MISMATCH;
        }
        uint32_t row = g.width * bpp(g.format);
        if (f.pitch != 0 && f.pitch < row) {
            set_last_error("frame pitch " + std::to_string(f.pitch) + " is smaller than a row (" + std::to_string(row) + " bytes)");
            return LSD_E_INVALID_ARGUMENT;
        }
        bool found = false;
        for (uint32_t k = 0; k < g.slots; ++k)
            if (in_owned_[k]) { slot = k; found = true; break; }
        if (!found) {
            ++skipped_;
            set_last_error("every input slot is with the runtime; frame skipped (latest frame wins)");
            return LSD_NO_FREE_SLOT;
        }
        in_owned_[slot] = false;
        map = map_;
        gen = gen_;
        id = next_id();
    }
    // copy outside the lock; the mapping stays alive through `map`
    uint32_t row = g.width * bpp(g.format);
    uint32_t src_pitch = f.pitch ? f.pitch : row;
    unsigned char* dst = map->in[slot]->data();
    const auto* src = static_cast<const unsigned char*>(f.data);
    if (src_pitch == g.pitch) {
        std::memcpy(dst, src, static_cast<size_t>(g.pitch) * (g.height - 1) + row);
    } else {
        for (uint32_t r = 0; r < g.height; ++r)
            std::memcpy(dst + static_cast<size_t>(r) * g.pitch, src + static_cast<size_t>(r) * src_pitch, row);
    }
    std::lock_guard<std::mutex> lk(mu_);
    if (gen != gen_) {
        set_last_error("the binding changed while the frame was copied (reconnect or rebind); frame skipped");
        return state_ >= LSD_STATE_CONNECTED ? LSD_E_NOT_BOUND : LSD_E_NOT_CONNECTED;
    }
    ++submitted_;
    inflight_[id] = InFlight{Clock::now(), slot, {}};
    Cmd c{CmdKind::Frame};
    c.gen = gen;
    c.id = id;
    c.slot = slot;
    c.flags = f.flags;
    c.time = f.time != 0.0 ? f.time : now_seconds();
    cmds_.push_back(c);
    wake_locked();
    if (frame_id) *frame_id = id;
    return LSD_OK;
}

lsd_status Client::take(lsd_frame_out& out, uint32_t timeout_ms) {
    std::shared_ptr<Mapping> map;
    Ready r;
    RingGeometry g;
    uint64_t gen = 0;
    {
        std::unique_lock<std::mutex> lk(mu_);
        if (closed_) { set_last_error("client is closed"); return LSD_E_CLOSED; }
        cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return ready_.valid || closed_; });
        if (closed_) { set_last_error("client is closed"); return LSD_E_CLOSED; }
        if (!ready_.valid || !map_) {
            if (state_ < LSD_STATE_CONNECTED) {
                set_last_error("not connected to the runtime " + describe_endpoint_locked());
                return LSD_E_NOT_CONNECTED;
            }
            if (state_ != LSD_STATE_READY) { set_last_error("no rings bound"); return LSD_E_NOT_BOUND; }
            set_last_error("no new finished frame");
            return LSD_NO_FRAME;
        }
        g = out_;
        uint64_t row = static_cast<uint64_t>(g.width) * bpp(g.format);
        uint64_t pitch = out.pitch ? out.pitch : row;
        uint64_t need = pitch * (g.height - 1) + row;
        if (pitch < row || out.capacity < need) {
            set_last_error("output buffer too small: a " + std::to_string(g.width) + "x" + std::to_string(g.height) + " " +
                           format_name(g.format) + " frame with pitch " + std::to_string(pitch) + " needs " +
                           std::to_string(need) + " bytes");
            return LSD_E_INVALID_ARGUMENT;
        }
        r = ready_;
        ready_.valid = false;
        map = map_;
        gen = gen_;
    }
    uint32_t row = g.width * bpp(g.format);
    uint32_t dst_pitch = out.pitch ? out.pitch : row;
    const unsigned char* src = map->out[r.slot]->data();
    auto* dst = static_cast<unsigned char*>(out.data);
    if (dst_pitch == g.pitch) {
        std::memcpy(dst, src, static_cast<size_t>(g.pitch) * (g.height - 1) + row);
    } else {
        for (uint32_t y = 0; y < g.height; ++y)
            std::memcpy(dst + static_cast<size_t>(y) * dst_pitch, src + static_cast<size_t>(y) * g.pitch, row);
    }
    out.width = g.width;
    out.height = g.height;
    out.format = g.format;
    out.frame_id = r.id;
    out.time = r.time;
    out.timings = r.timings;
    std::lock_guard<std::mutex> lk(mu_);
    ++taken_;
    if (gen == gen_) {
        release_queue_.push_back(r.slot);
        cmds_.push_back(Cmd{CmdKind::Release});
        wake_locked();
    }
    return LSD_OK;
}

void Client::stats(lsd_stats& s) {
    std::lock_guard<std::mutex> lk(mu_);
    s.state = state_;
    s.frames_submitted = submitted_;
    s.frames_done = done_;
    s.frames_dropped = dropped_;
    s.frames_skipped = skipped_;
    s.frames_lost = lost_;
    s.frames_taken = taken_;
    s.reconnects = reconnects_;
    s.errors = errors_;
    auto fill = [](lsd_latency& l, const LatencyWindow& w) {
        l.p50_ms = w.percentile(50.0);
        l.p99_ms = w.percentile(99.0);
        l.samples = w.size();
    };
    fill(s.queue, lat_queue_);
    fill(s.input, lat_input_);
    fill(s.backend, lat_backend_);
    fill(s.output, lat_output_);
    fill(s.total, lat_total_);
    fill(s.round_trip, lat_rt_);
}

void Client::close() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (closed_) return;
        closed_ = true;
        stop_ = true;
        wake_locked();
        cv_.notify_all();
    }
    if (io_.joinable()) io_.join();
    std::lock_guard<std::mutex> lk(mu_);
    state_ = LSD_STATE_CLOSED;
    map_.reset();
}

// ---------------------------------------------------------------- I/O thread

bool Client::send(const Value& msg) {
    if (!dealer_) return false;
    std::string bytes = proto::encode(msg);
    try {
        auto r = dealer_->send(zmq::const_buffer(bytes.data(), bytes.size()), zmq::send_flags::dontwait);
        if (!r) return false;  // high-water mark: the runtime is not reading
    } catch (const zmq::error_t&) {
        return false;
    }
    last_send_ = Clock::now();
    return true;
}

void Client::close_dealer() {
    if (monitor_) {
        if (dealer_) zmq_socket_monitor(dealer_->handle(), nullptr, 0);
        monitor_.reset();
    }
    dealer_.reset();
}

void Client::try_connect(Clock::time_point now) {
    std::string endpoint = cfg_endpoint_, token = cfg_token_, why;
    if (use_state_dir_) {
        RuntimeState st;
        if (!read_runtime_state(state_dir_, st, why)) {
            std::lock_guard<std::mutex> lk(mu_);
            last_conn_error_ = why;
            next_attempt_ = now + std::chrono::milliseconds(backoff_ms_);
            backoff_ms_ = std::min(backoff_ms_ * 2, reconnect_max_ms_);
            return;
        }
        endpoint = st.endpoint;
        token = st.token;
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        endpoint_ = endpoint;
    }
    try {
        dealer_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
        dealer_->set(zmq::sockopt::linger, 0);
        // a dropped TCP connection means the runtime died or restarted: notice at once
        // (a runtime restarted on the same port would otherwise keep answering our pings)
        char addr[80];
        std::snprintf(addr, sizeof addr, "inproc://lsd-mon-%p-%u", static_cast<void*>(this), ++monitor_seq_);
        if (zmq_socket_monitor(dealer_->handle(), addr, ZMQ_EVENT_DISCONNECTED) == 0) {
            monitor_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::pair);
            monitor_->set(zmq::sockopt::linger, 0);
            monitor_->connect(addr);
        }
        dealer_->connect(endpoint);
    } catch (const zmq::error_t& e) {
        close_dealer();
        std::lock_guard<std::mutex> lk(mu_);
        last_conn_error_ = std::string("cannot connect: ") + e.what();
        next_attempt_ = now + std::chrono::milliseconds(reconnect_max_ms_);
        return;
    }
    hello_id_ = next_id();
    Value hello = proto::make("hello", hello_id_);
    hello.set("token", Value::str(token));
    hello.set("client", Value::str(name_));
    Value tr = Value::array();
    tr.arr.push_back(Value::str("shm"));
    hello.set("transports", tr);
    hello.set("pid", Value::uint(current_pid()));
    send(hello);
    hello_sent_ = now;
    last_recv_ = now;
    std::lock_guard<std::mutex> lk(mu_);
    state_ = LSD_STATE_CONNECTING;
}

void Client::teardown(const std::string& why, Clock::time_point retry_at, bool count_lost) {
    close_dealer();
    std::lock_guard<std::mutex> lk(mu_);
    last_conn_error_ = why;
    if (count_lost) lost_ += inflight_.size();
    inflight_.clear();
    map_.reset();
    ++gen_;
    in_owned_.fill(false);
    ready_.valid = false;
    release_queue_.clear();
    // frames and releases belong to the old session; bind/style requests stay wanted
    std::deque<Cmd> keep;
    for (const Cmd& c : cmds_)
        if (c.kind == CmdKind::Bind || c.kind == CmdKind::Style) keep.push_back(c);
    cmds_.swap(keep);
    if (state_ != LSD_STATE_CLOSED) state_ = want_connect_ ? LSD_STATE_CONNECTING : LSD_STATE_IDLE;
    next_attempt_ = retry_at;
    cv_.notify_all();
}

void Client::send_bind() {
    lsd_bind_desc d;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!bind_want_) return;
        d = *bind_want_;
        bind_sent_ = d;
        bind_sent_seq_ = bind_seq_;
        // a re-bind retires the old rings at once: stop using them now
        if (map_) {
            map_.reset();
            ++gen_;
            in_owned_.fill(false);
            ready_.valid = false;
            release_queue_.clear();
            lost_ += inflight_.size();
            inflight_.clear();
        }
        if (state_ == LSD_STATE_READY) state_ = LSD_STATE_CONNECTED;
    }
    bind_id_ = next_id();
    Value m = proto::make("bind", bind_id_);
    m.set("transport", Value::str("shm"));
    m.set("input", ring_value(d.input));
    m.set("output", ring_value(d.output));
    if (d.model_width && d.model_height) {
        m.set("model_width", Value::uint(d.model_width));
        m.set("model_height", Value::uint(d.model_height));
    }
    send(m);
}

void Client::send_style() {
    StyleRequest s;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!style_want_) return;
        s = *style_want_;
        style_sent_ = s;
        style_sent_seq_ = style_seq_;
    }
    style_id_ = next_id();
    Value m = proto::make("set_style", style_id_);
    m.set("backend", Value::str(s.backend.empty() ? "effects" : s.backend));
    if (s.has_style) m.set("style", Value::str(s.style));
    if (s.has_prompt) m.set("prompt", Value::str(s.prompt));
    if (s.has_strength) m.set("strength", Value::real(s.strength));
    if (s.has_seed) m.set("seed", Value::sint(s.seed));
    send(m);
}

void Client::on_welcome(const Value& m, Clock::time_point) {
    std::string transport = text(m.get("transport"));
    if (transport != "shm") {
        teardown("the runtime chose transport '" + transport + "'; this client offers shm only",
                 Clock::now() + std::chrono::milliseconds(reconnect_max_ms_), false);
        return;
    }
    heartbeat_ms_ = cfg_heartbeat_ms_ ? cfg_heartbeat_ms_ : static_cast<uint32_t>(std::max<uint64_t>(10, unum(m.get("heartbeat_ms"))));
    timeout_ms_ = cfg_timeout_ms_ ? cfg_timeout_ms_ : static_cast<uint32_t>(std::max<uint64_t>(50, unum(m.get("timeout_ms"))));
    backoff_ms_ = 50;
    bool rebind, restyle;
    {
        std::lock_guard<std::mutex> lk(mu_);
        state_ = LSD_STATE_CONNECTED;
        if (had_session_) ++reconnects_;
        last_conn_error_.clear();
        rebind = bind_want_.has_value();
        restyle = style_want_.has_value();
        // requests queued before the session opened are answered by the sends below
        std::deque<Cmd> keep;
        for (const Cmd& c : cmds_)
            if (c.kind != CmdKind::Bind && c.kind != CmdKind::Style) keep.push_back(c);
        cmds_.swap(keep);
        cv_.notify_all();
    }
    had_session_ = true;
    if (restyle) send_style();
    if (rebind) send_bind();
}

void Client::on_bound(const Value& m) {
    auto map = std::make_shared<Mapping>();
    RingGeometry gi, go;
    std::string why;
    lsd_bind_desc d;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!bind_sent_) return;
        d = *bind_sent_;  // the rings this reply answers (bind_want_ may be newer)
    }
    auto open_ring = [&](const Value* reply, const lsd_ring_desc& r, RingGeometry& g,
                         std::vector<std::unique_ptr<ShmSegment>>& segs) -> bool {
        const Value* names = reply ? reply->get("names") : nullptr;
        g.width = r.width;
        g.height = r.height;
        g.format = r.format;
        g.slots = r.slots ? r.slots : proto::kDefaultSlots;
        g.pitch = static_cast<uint32_t>(unum(reply ? reply->get("pitch") : nullptr));
        g.size = static_cast<size_t>(unum(reply ? reply->get("size") : nullptr));
        uint64_t row = static_cast<uint64_t>(g.width) * bpp(g.format);
        if (!names || names->arr.size() != g.slots || g.pitch < row ||
            g.size < static_cast<size_t>(g.pitch) * (g.height - 1) + row) {
            why = "the runtime's 'bound' does not match the requested ring";
            return false;
        }
        for (const Value& n : names->arr) {
            auto seg = std::make_unique<ShmSegment>();
            if (!seg->open(n.s, g.size, why)) return false;
            segs.push_back(std::move(seg));
        }
        return true;
    };
    bool ok = open_ring(m.get("input"), d.input, gi, map->in) && open_ring(m.get("output"), d.output, go, map->out);
    std::lock_guard<std::mutex> lk(mu_);
    bind_done_seq_ = bind_sent_seq_;
    if (!ok) {
        bind_result_ = LSD_E_IO;
        bind_error_ = "cannot map the runtime's slots: " + why;
        cv_.notify_all();
        return;
    }
    map_ = map;
    ++gen_;
    in_ = gi;
    out_ = go;
    in_owned_.fill(false);
    for (uint32_t k = 0; k < gi.slots; ++k) in_owned_[k] = true;
    ready_.valid = false;
    release_queue_.clear();
    inflight_.clear();
    state_ = LSD_STATE_READY;
    bind_result_ = LSD_OK;
    bind_error_.clear();
    cv_.notify_all();
}

void Client::on_error(const Value& m, Clock::time_point now) {
    std::string code = text(m.get("code")), message = text(m.get("message")), ref = text(m.get("ref"));
    uint64_t id = unum(m.get("id"));
    std::string full = "runtime error " + code + ": " + message;
    bool hello_refused = false, session_lost = false, rebind = false;
    {
        std::lock_guard<std::mutex> lk(mu_);
        ++errors_;
        if (state_ == LSD_STATE_CONNECTING && (id == hello_id_ || ref == "hello" || ref.empty())) {
            hello_refused = true;
        } else if (code == "no_session") {
            // a runtime restarted on the same endpoint: ZeroMQ reconnected the socket
            // underneath us, but the new process has never heard of this session
            session_lost = true;
        } else if (code == "not_bound" && state_ == LSD_STATE_READY && bind_want_) {
            rebind = true;  // the runtime lost our rings (should not happen): bind again
        } else if (ref == "bind" && id == bind_id_) {
            bind_done_seq_ = bind_sent_seq_;
            bind_result_ = code == "transport_unavailable" ? LSD_E_UNSUPPORTED : LSD_E_REJECTED;
            bind_error_ = full;
            bind_want_.reset();  // not re-sent after a reconnect
            cv_.notify_all();
        } else if (ref == "set_style" && id == style_id_) {
            style_done_seq_ = style_sent_seq_;
            style_result_ = LSD_E_REJECTED;
            style_error_ = full;
            style_want_ = style_accepted_;
            cv_.notify_all();
        } else if (ref == "frame") {
            // an error changes nothing on the runtime: the slot (and any releases) are still ours
            auto it = inflight_.find(id);
            if (it != inflight_.end()) {
                if (it->second.slot < LSD_MAX_SLOTS) in_owned_[it->second.slot] = true;
                for (uint32_t s : it->second.released) release_queue_.push_back(s);
                inflight_.erase(it);
            }
        }
        if (!hello_refused) last_conn_error_ = full;
    }
    if (session_lost) {
        teardown("the runtime does not know this session any more (restarted?): " + full, now);
        return;
    }
    if (rebind) {
        send_bind();
        return;
    }
    if (hello_refused) {
        // wrong token (a restarted runtime), busy, version: retry later, re-reading the state file
        uint32_t wait = std::max<uint32_t>(backoff_ms_, 100);
        backoff_ms_ = std::min(backoff_ms_ * 2, reconnect_max_ms_);
        teardown("hello refused: " + full, now + std::chrono::milliseconds(wait), false);
    }
}

void Client::on_frame_done(const Value& m, Clock::time_point now) {
    uint64_t id = unum(m.get("id"));
    uint64_t slot = unum(m.get("slot")), in_slot = unum(m.get("in_slot"));
    const Value* t = m.get("timings");
    std::lock_guard<std::mutex> lk(mu_);
    if (!map_) return;  // answer for rings already retired
    auto it = inflight_.find(id);
    if (it == inflight_.end()) {
        // not a frame of these rings (stray or stale): hand a valid output slot straight back
        if (slot < out_.slots) release_queue_.push_back(static_cast<uint32_t>(slot));
        return;
    }
    // the input slot comes back; trust our record of it (in_slot should say the same)
    if (in_slot != it->second.slot && debug_)
        std::fprintf(stderr, "lsd: frame %llu: in_slot %llu, expected %u\n", (unsigned long long)id,
                     (unsigned long long)in_slot, it->second.slot);
    if (it->second.slot < in_.slots) in_owned_[it->second.slot] = true;
    ++done_;
    Ready r;
    r.valid = true;
    r.slot = static_cast<uint32_t>(slot);
    r.id = id;
    r.time = num(m.get("time"));
    if (t) {
        r.timings.queue_ms = num(t->get("queue_ms"));
        r.timings.input_ms = num(t->get("input_ms"));
        r.timings.backend_ms = num(t->get("backend_ms"));
        r.timings.output_ms = num(t->get("output_ms"));
        r.timings.total_ms = num(t->get("total_ms"));
    }
    r.timings.round_trip_ms = ms_between(it->second.submitted, now);
    lat_rt_.add(r.timings.round_trip_ms);
    inflight_.erase(it);
    lat_queue_.add(r.timings.queue_ms);
    lat_input_.add(r.timings.input_ms);
    lat_backend_.add(r.timings.backend_ms);
    lat_output_.add(r.timings.output_ms);
    lat_total_.add(r.timings.total_ms);
    if (slot >= out_.slots) return;
    if (ready_.valid) release_queue_.push_back(ready_.slot);  // never taken: newest wins
    ready_ = r;
    cv_.notify_all();
}

void Client::handle(const zmq::message_t& msg, Clock::time_point now) {
    Value m;
    proto::Error err;
    if (!proto::decode(msg.data(), msg.size(), "runtime", m, err, proto::kMaxMessageBytes + (64u << 20))) {
        if (err.code == "version_mismatch") {
            teardown("the runtime speaks another protocol version (" + err.message + ")",
                     now + std::chrono::milliseconds(reconnect_max_ms_));
            return;
        }
        std::lock_guard<std::mutex> lk(mu_);
        ++errors_;
        last_conn_error_ = "ignored an invalid message from the runtime: " + err.code + ": " + err.message;
        return;
    }
    last_recv_ = now;
    const std::string t = m.get("t")->s;
    if (t == "welcome") {
        if (unum(m.get("id")) == hello_id_) on_welcome(m, now);
    } else if (t == "bound") {
        if (unum(m.get("id")) == bind_id_) on_bound(m);
    } else if (t == "style_set") {
        if (unum(m.get("id")) == style_id_) {
            std::lock_guard<std::mutex> lk(mu_);
            style_done_seq_ = style_sent_seq_;
            style_result_ = LSD_OK;
            style_accepted_ = style_sent_;
            cv_.notify_all();
        }
    } else if (t == "frame_done") {
        on_frame_done(m, now);
    } else if (t == "dropped") {
        if (debug_) std::fprintf(stderr, "lsd: frame %llu dropped (%s)\n", (unsigned long long)unum(m.get("id")), text(m.get("reason")).c_str());
        std::lock_guard<std::mutex> lk(mu_);
        auto it = inflight_.find(unum(m.get("id")));
        if (map_ && it != inflight_.end()) {  // unknown ids (stale or stray) change nothing
            if (it->second.slot < in_.slots) in_owned_[it->second.slot] = true;
            inflight_.erase(it);
            ++dropped_;
        }
    } else if (t == "error") {
        on_error(m, now);
    } else if (t == "ping") {
        Value pong = proto::make("pong", unum(m.get("id")));
        pong.set("time", Value::real(num(m.get("time"))));
        send(pong);
    } else if (t == "bye") {
        teardown("the runtime ended the session (" + text(m.get("reason")) + ")", now + std::chrono::milliseconds(100));
    }
    // pong, stats: liveness only
}

void Client::send_release_now() {
    std::vector<uint32_t> slots;
    {
        std::lock_guard<std::mutex> lk(mu_);
        slots.swap(release_queue_);
    }
    if (slots.empty()) return;
    Value m = proto::make("release", next_id());
    Value arr = Value::array();
    for (uint32_t s : slots) arr.arr.push_back(Value::uint(s));
    m.set("slots", arr);
    send(m);
}

void Client::process_commands(Clock::time_point) {
    std::deque<Cmd> cmds;
    uint64_t gen;
    lsd_conn_state st;
    {
        std::lock_guard<std::mutex> lk(mu_);
        cmds.swap(cmds_);
        gen = gen_;
        st = state_;
    }
    bool session = dealer_ && st >= LSD_STATE_CONNECTED && st != LSD_STATE_CLOSED;
    bool want_bind = false, want_style = false;
    for (const Cmd& c : cmds) {
        switch (c.kind) {
            case CmdKind::Bind: want_bind = true; break;
            case CmdKind::Style: want_style = true; break;
            case CmdKind::Release: break;
            case CmdKind::Frame: {
                if (!session || c.gen != gen) break;
                std::vector<uint32_t> rel;
                {
                    std::lock_guard<std::mutex> lk(mu_);
                    rel.swap(release_queue_);  // piggy-back the releases on the frame
                    auto it = inflight_.find(c.id);
                    if (it != inflight_.end()) it->second.released = rel;
                }
                Value m = proto::make("frame", c.id);
                m.set("slot", Value::uint(c.slot));
                m.set("time", Value::real(c.time));
                if (c.flags) m.set("flags", Value::uint(c.flags));
                if (!rel.empty()) {
                    Value arr = Value::array();
                    for (uint32_t s : rel) arr.arr.push_back(Value::uint(s));
                    m.set("release", arr);
                }
                if (!send(m)) {
                    std::lock_guard<std::mutex> lk(mu_);
                    if (inflight_.erase(c.id)) ++lost_;
                    if (gen_ == c.gen) in_owned_[c.slot] = true;
                    for (uint32_t s : rel) release_queue_.push_back(s);
                }
                break;
            }
        }
    }
    if (!session) {
        if (want_bind || want_style) {  // keep them for when the session opens
            std::lock_guard<std::mutex> lk(mu_);
            if (want_bind) cmds_.push_back(Cmd{CmdKind::Bind});
            if (want_style) cmds_.push_back(Cmd{CmdKind::Style});
        }
        return;
    }
    if (want_style) send_style();
    if (want_bind) send_bind();
    send_release_now();
}

void Client::io_main() {
    using namespace std::chrono;
    zmq::message_t msg;
    while (true) {
        auto now = Clock::now();
        bool want;
        lsd_conn_state st;
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (stop_) break;
            want = want_connect_;
            st = state_;
        }
        if (want && !dealer_ && now >= next_attempt_) {
            try_connect(now);
            std::lock_guard<std::mutex> lk(mu_);
            st = state_;
        }
        // timers
        if (dealer_) {
            if (st == LSD_STATE_CONNECTING && now - hello_sent_ > milliseconds(timeout_ms_)) {
                uint32_t wait = backoff_ms_;
                backoff_ms_ = std::min(backoff_ms_ * 2, reconnect_max_ms_);
                teardown("no answer to hello within " + std::to_string(timeout_ms_) + " ms", now + milliseconds(wait), false);
            } else if (st >= LSD_STATE_CONNECTED && now - last_recv_ > milliseconds(timeout_ms_)) {
                teardown("the runtime has not answered for " + std::to_string(timeout_ms_) + " ms (gone?)",
                         now + milliseconds(10));
            } else if (st >= LSD_STATE_CONNECTED &&
                       (now - last_send_ >= milliseconds(heartbeat_ms_) ||
                        (now - last_recv_ >= milliseconds(heartbeat_ms_) && now - last_ping_ >= milliseconds(heartbeat_ms_)))) {
                Value ping = proto::make("ping", next_id());
                ping.set("time", Value::real(now_seconds()));
                send(ping);
                last_ping_ = now;
            }
        }
        // wait for a message, a wake-up or the next timer (at most 20 ms)
        long wait_ms = 20;
        if (want && !dealer_) wait_ms = std::max<long>(0, std::min<long>(20, duration_cast<milliseconds>(next_attempt_ - now).count()));
        zmq::pollitem_t items[3] = {{wake_rx_.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, 0, ZMQ_POLLIN, 0},
                                    {nullptr, 0, ZMQ_POLLIN, 0}};
        int n = 1;
        if (dealer_) { items[1].socket = dealer_->handle(); n = 2; }
        if (dealer_ && monitor_) { items[2].socket = monitor_->handle(); n = 3; }
        try {
            zmq::poll(items, static_cast<size_t>(n), milliseconds(wait_ms));
        } catch (const zmq::error_t&) {
            continue;
        }
        while (wake_rx_.recv(msg, zmq::recv_flags::dontwait)) {
        }
        now = Clock::now();
        while (dealer_) {
            zmq::recv_result_t r;
            try {
                r = dealer_->recv(msg, zmq::recv_flags::dontwait);
            } catch (const zmq::error_t&) {
                break;
            }
            if (!r) break;
            handle(msg, now);
        }
        if (dealer_ && monitor_) {
            bool dropped = false;
            try {
                while (monitor_->recv(msg, zmq::recv_flags::dontwait)) {
                    if (!msg.more()) dropped = true;
                }
            } catch (const zmq::error_t&) {
            }
            if (dropped) teardown("the connection to the runtime dropped (runtime stopped or restarted)", now + milliseconds(20));
        }
        process_commands(now);
    }
    if (dealer_) {
        bool session;
        {
            std::lock_guard<std::mutex> lk(mu_);
            session = state_ >= LSD_STATE_CONNECTED && state_ != LSD_STATE_CLOSED;
        }
        if (session) {
            Value bye = proto::make("bye", next_id());
            bye.set("reason", Value::str("client closing"));
            send(bye);
            dealer_->set(zmq::sockopt::linger, 100);
        }
        close_dealer();
    }
}

}  // namespace lsd
