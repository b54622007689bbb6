#include "client.hpp"

#include "inline_codec.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <tuple>

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

constexpr uint32_t kFirstBackoffMs = 50;

double now_seconds() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

Value ring_value(const lsd_ring_desc& r) {
    Value v = Value::object();
    v.set("width", Value::uint(r.width));
    v.set("height", Value::uint(r.height));
    v.set("format", Value::str(lsd_proto_format_name(r.format)));
    if (r.pitch) v.set("pitch", Value::uint(r.pitch));
    v.set("bottom_up", Value::boolean(r.bottom_up != 0));
    if (r.color != LSD_COLOR_DEFAULT) v.set("color", Value::str(lsd_proto_color_name(r.color)));
    v.set("slots", Value::uint(r.slots ? r.slots : LSD_DEFAULT_SLOTS));
    return v;
}

double num(const Value* v) { return v ? v->as_double() : 0.0; }
uint64_t unum(const Value* v) { return v && v->is_uint() ? v->u : 0; }
std::string text(const Value* v) { return v && v->is_str() ? v->s : std::string(); }

void copy_rows(unsigned char* dst, uint64_t dst_pitch, const unsigned char* src, uint64_t src_pitch, uint64_t row,
               uint32_t rows) {
    if (dst_pitch == src_pitch) {
        std::memcpy(dst, src, static_cast<size_t>(src_pitch * (rows - 1) + row));
        return;
    }
    for (uint32_t r = 0; r < rows; ++r)
        std::memcpy(dst + static_cast<size_t>(r * dst_pitch), src + static_cast<size_t>(r * src_pitch),
                    static_cast<size_t>(row));
}

template <size_t N>
void copy_text(char (&dst)[N], const std::string& src) {
    size_t n = std::min(src.size(), N - 1);
    std::memcpy(dst, src.data(), n);
    dst[n] = '\0';
}

}  // namespace

// a tcp:// endpoint whose host is not this machine: shared memory cannot reach it
bool remote_endpoint(const std::string& endpoint) {
    const std::string tcp = "tcp://";
    if (endpoint.compare(0, tcp.size(), tcp) != 0) return false;
    std::string host = endpoint.substr(tcp.size(), endpoint.rfind(':') - tcp.size());
    return host != "127.0.0.1" && host != "localhost" && host != "[::1]" && host != "::1";
}

std::string remote_without_key_message(const std::string& endpoint) {
    return "the runtime at " + endpoint +
           " is on another machine and takes only CURVE-encrypted links: "
           "give its server key (server_key in its runtime.json, or lsd_client_config.server_key)";
}

Client::Client(const lsd_client_config& cfg)
    : ctx_(1),
      wake_tx_(ctx_, zmq::socket_type::pair),
      wake_rx_(ctx_, zmq::socket_type::pair),
      conn_(ctx_, this),
      backoff_(kFirstBackoffMs, cfg.reconnect_max_ms ? cfg.reconnect_max_ms : LSD_DEFAULT_RECONNECT_MAX_MS) {
    if (const char* dbg = std::getenv("LSD_DEBUG"); dbg && *dbg && *dbg != '0') debug_ = true;
    if (cfg.state_dir) {
        use_state_dir_ = true;
        state_dir_ = cfg.state_dir;
    }
    if (cfg.endpoint) cfg_endpoint_ = cfg.endpoint;
    if (cfg.token) cfg_token_ = cfg.token;
    if (cfg.server_key) cfg_server_key_ = cfg.server_key;
    name_ = cfg.client_name && *cfg.client_name ? cfg.client_name : std::string("lsd-native/") + lsd_version();
    cfg_heartbeat_ms_ = cfg.heartbeat_ms;
    cfg_timeout_ms_ = cfg.timeout_ms;
    heartbeat_ms_ = cfg_heartbeat_ms_ ? cfg_heartbeat_ms_ : LSD_DEFAULT_HEARTBEAT_MS;
    timeout_ms_ = cfg_timeout_ms_ ? cfg_timeout_ms_ : LSD_DEFAULT_TIMEOUT_MS;
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
    } catch (const zmq::error_t&) {}
}

std::string Client::describe_endpoint_locked() const {
    std::string where =
        endpoint_.empty() ? (use_state_dir_ ? "(state file " + state_dir_ + ")" : "(no endpoint)") : endpoint_;
    return where + (last_conn_error_.empty() ? "" : ": " + last_conn_error_);
}

lsd_status Client::not_ready_locked() const {
    if (state_ < LSD_STATE_CONNECTED || state_ == LSD_STATE_CLOSED) {
        set_last_error("not connected to the runtime " + describe_endpoint_locked());
        return LSD_E_NOT_CONNECTED;
    }
    set_last_error(bind_.wanted() ? "rings are being bound" : "no rings bound: call lsd_client_bind first");
    return LSD_E_NOT_BOUND;
}

// ---------------------------------------------------------------- API side

lsd_status Client::connect(uint32_t timeout_ms) {
    std::unique_lock<std::mutex> lk(mu_);
    if (closed_) {
        set_last_error("client is closed");
        return LSD_E_CLOSED;
    }
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
    if (closed_) {
        set_last_error("client is closed");
        return LSD_E_CLOSED;
    }
    uint64_t seq = bind_.want(desc);
    if (!want_connect_) {
        want_connect_ = true;
        if (state_ == LSD_STATE_IDLE) state_ = LSD_STATE_CONNECTING;
    }
    cmds_.push_back(Cmd{CmdKind::Bind});
    wake_locked();
    if (bind_.wait(lk, cv_, seq, timeout_ms, [&] { return closed_; })) {
        if (bind_.result() != LSD_OK) set_last_error(bind_.error());
        return bind_.result();
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
    if (closed_) {
        set_last_error("client is closed");
        return LSD_E_CLOSED;
    }
    uint64_t seq = style_.want(style);
    runtime_changed_style_ = false;  // the client's own request again
    if (!want_connect_) {
        want_connect_ = true;
        if (state_ == LSD_STATE_IDLE) state_ = LSD_STATE_CONNECTING;
    }
    cmds_.push_back(Cmd{CmdKind::Style});
    wake_locked();
    if (style_.wait(lk, cv_, seq, timeout_ms, [&] { return closed_; })) {
        if (style_.result() != LSD_OK) set_last_error(style_.error());
        return style_.result();
    }
    if (state_ < LSD_STATE_CONNECTED) {
        set_last_error("not connected to the runtime " + describe_endpoint_locked() +
                       "; the style is sent once a session opens");
        return LSD_E_NOT_CONNECTED;
    }
    set_last_error("set_style sent; no answer within " + std::to_string(timeout_ms) + " ms yet");
    return LSD_PENDING;
}

lsd_status Client::check_input_locked(uint32_t width, uint32_t height, lsd_format format, uint32_t pitch,
                                      RingGeometry& g) const {
    if (closed_) {
        set_last_error("client is closed");
        return LSD_E_CLOSED;
    }
    if (state_ != LSD_STATE_READY || !slots_.bound()) return not_ready_locked();
    g = slots_.input();
    if (width != g.width || height != g.height || format != g.format) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "frame is %ux%u %s; the input ring is %ux%u %s", width, height,
                      lsd_proto_format_name(format), g.width, g.height, lsd_proto_format_name(g.format));
        set_last_error(buf);
        return LSD_E_MISMATCH;
    }
    uint64_t row = lsd_proto_row_bytes(g.width, g.format);
    if (pitch != 0 && pitch < row) {
        set_last_error("frame pitch " + std::to_string(pitch) + " is smaller than a row (" + std::to_string(row) +
                       " bytes)");
        return LSD_E_INVALID_ARGUMENT;
    }
    return LSD_OK;
}

lsd_status Client::claim_input_locked(InputClaim& c) {
    std::optional<uint32_t> free_slot = slots_.acquire_input();
    if (!free_slot) {
        ++stats_.skipped;
        motion_gap_ = true;  // the engine's next motion measures from this frame, never sent
        set_last_error("every input slot is with the runtime; frame skipped (latest frame wins)");
        return LSD_NO_FREE_SLOT;
    }
    c.slot = *free_slot;
    // after a skipped frame the next motion does not hold (PROTOCOL.md section 4): not sent
    c.drop_motion = motion_gap_;
    motion_gap_ = false;
    c.storage = slots_.storage();
    c.gen = slots_.generation();
    c.id = next_id();
    return LSD_OK;
}

lsd_status Client::submit(const lsd_frame_in& f, uint64_t* frame_id) {
    InputClaim c;
    RingGeometry g;
    {
        std::lock_guard<std::mutex> lk(mu_);
        lsd_status st = check_input_locked(f.width, f.height, f.format, f.pitch, g);
        if (st != LSD_OK) return st;
        const std::shared_ptr<SlotStorage>& storage = slots_.storage();
        for (auto [plane, given, pitch, name] :
             {std::make_tuple(&storage->motion(), f.motion, f.motion_pitch, "motion"),
              std::make_tuple(&storage->depth(), f.depth, f.depth_pitch, "depth")}) {
            if (!given) continue;
            if (!plane->present()) {
                set_last_error(std::string("frame.") + name + " is set, but the binding has no " + name +
                               " plane (declare it in lsd_bind_desc." + name + ")");
                return LSD_E_MISMATCH;
            }
            uint64_t plane_row = static_cast<uint64_t>(g.width) * plane->bytes_per_pixel;
            if (pitch != 0 && pitch < plane_row) {
                set_last_error(std::string("frame.") + name + "_pitch " + std::to_string(pitch) +
                               " is smaller than a row (" + std::to_string(plane_row) + " bytes)");
                return LSD_E_INVALID_ARGUMENT;
            }
        }
        if ((st = claim_input_locked(c)) != LSD_OK) return st;
    }
    // copy outside the lock; the slot is ours and the storage stays alive through c.storage
    uint64_t row = lsd_proto_row_bytes(g.width, g.format);
    if (CudaSlots* cuda = c.storage->cuda()) {
        CopyEnd src;
        src.host = f.data;
        src.pitch = f.pitch ? f.pitch : row;
        std::string why;
        if (!cuda->write_input(c.slot, src, row, g.height, nullptr, true, why))
            return give_back_input(c.slot, c.gen, why);
    } else {
        copy_rows(c.storage->input(c.slot), g.pitch, static_cast<const unsigned char*>(f.data), f.pitch ? f.pitch : row,
                  row, g.height);
    }
    uint32_t flags = f.flags & ~(LSD_FRAME_MOTION | LSD_FRAME_DEPTH);  // the planes given say which are filled
    for (auto [plane, given, pitch, bit] :
         {std::make_tuple(&c.storage->motion(), f.motion, f.motion_pitch, LSD_FRAME_MOTION),
          std::make_tuple(&c.storage->depth(), f.depth, f.depth_pitch, LSD_FRAME_DEPTH)}) {
        if (!given || (bit == LSD_FRAME_MOTION && c.drop_motion)) continue;
        uint64_t plane_row = static_cast<uint64_t>(g.width) * plane->bytes_per_pixel;
        copy_rows(plane->segments[c.slot]->data(), plane->pitch, static_cast<const unsigned char*>(given),
                  pitch ? pitch : plane_row, plane_row, g.height);
        flags |= bit;
    }
    return queue_frame(c.slot, c.gen, c.id, flags, f.time, frame_id);
}

lsd_status Client::queue_frame(uint32_t slot, uint64_t gen, uint64_t id, uint32_t flags, double time,
                               uint64_t* frame_id) {
    std::lock_guard<std::mutex> lk(mu_);
    if (gen != slots_.generation()) {
        set_last_error("the binding changed while the frame was copied (reconnect or rebind); frame skipped");
        return state_ >= LSD_STATE_CONNECTED ? LSD_E_NOT_BOUND : LSD_E_NOT_CONNECTED;
    }
    ++stats_.submitted;
    slots_.in_flight(id, slot, Clock::now());
    Cmd c{CmdKind::Frame};
    c.gen = gen;
    c.id = id;
    c.slot = slot;
    c.flags = flags;
    c.time = time != 0.0 ? time : now_seconds();
    cmds_.push_back(c);
    wake_locked();
    if (frame_id) *frame_id = id;
    return LSD_OK;
}

lsd_status Client::give_back_input(uint32_t slot, uint64_t gen, const std::string& why) {
    std::lock_guard<std::mutex> lk(mu_);
    if (gen == slots_.generation()) slots_.give_back_input(slot);
    set_last_error("the frame could not be copied into its slot: " + why);
    return LSD_E_IO;
}

lsd_status Client::submit_gpu(const CopyEnd& src, const lsd_cuda_frame& f, uint64_t* frame_id, bool sync) {
    InputClaim c;
    RingGeometry g;
    {
        std::lock_guard<std::mutex> lk(mu_);
        lsd_status st = check_input_locked(f.width, f.height, f.format, src.type == cu::kMemDevice ? f.pitch : 0, g);
        if (st != LSD_OK) return st;
        if (!slots_.storage()->cuda() && !cuda_driver().usable()) {
            set_last_error("frames on the GPU need a usable NVIDIA driver: " + cuda_driver().why);
            return LSD_E_UNSUPPORTED;
        }
        if ((st = claim_input_locked(c)) != LSD_OK) return st;
    }
    uint64_t row = lsd_proto_row_bytes(g.width, g.format);
    CopyEnd from = src;
    if (from.type == cu::kMemDevice && !from.pitch) from.pitch = row;
    auto stream = static_cast<cu::Stream>(f.stream);
    std::string why;
    bool ok = false;
    if (CudaSlots* cuda = c.storage->cuda()) {
        ok = cuda->write_input(c.slot, from, row, g.height, stream, sync, why);
    } else if (const CudaContext* ctx = gpu_context(why)) {
        CopyEnd to;
        to.host = c.storage->input(c.slot);
        to.pitch = g.pitch;
        ok = cuda_copy_2d(*ctx, from, to, row, g.height, stream, true, why);  // the slot is host memory
    }
    if (!ok) return give_back_input(c.slot, c.gen, why);
    return queue_frame(c.slot, c.gen, c.id, f.flags & LSD_FRAME_RESET, f.time, frame_id);
}

lsd_status Client::wait_ready_locked(std::unique_lock<std::mutex>& lk, uint32_t timeout_ms) {
    if (closed_) {
        set_last_error("client is closed");
        return LSD_E_CLOSED;
    }
    cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return closed_ || slots_.has_ready(); });
    if (closed_) {
        set_last_error("client is closed");
        return LSD_E_CLOSED;
    }
    if (!slots_.has_ready()) {
        if (state_ != LSD_STATE_READY || !slots_.bound()) return not_ready_locked();
        set_last_error("no new finished frame");
        return LSD_NO_FRAME;
    }
    return LSD_OK;
}

lsd_status Client::finish_take(uint32_t slot, uint64_t gen, bool copied, const std::string& why) {
    std::lock_guard<std::mutex> lk(mu_);
    if (copied) ++stats_.taken;
    if (gen == slots_.generation()) {
        slots_.release(slot);
        cmds_.push_back(Cmd{CmdKind::Release});
        wake_locked();
    }
    if (!copied) {
        set_last_error("the finished frame could not be copied out (it is lost): " + why);
        return LSD_E_IO;
    }
    return LSD_OK;
}

lsd_status Client::take_gpu(const CopyEnd& dst, lsd_cuda_frame& out, uint32_t timeout_ms, bool sync) {
    std::shared_ptr<SlotStorage> storage;
    ReadyFrame r;
    RingGeometry g;
    uint64_t gen = 0;
    {
        std::unique_lock<std::mutex> lk(mu_);
        if (slots_.bound() && !slots_.storage()->cuda() && !cuda_driver().usable()) {
            set_last_error("frames on the GPU need a usable NVIDIA driver: " + cuda_driver().why);
            return LSD_E_UNSUPPORTED;
        }
        lsd_status st = wait_ready_locked(lk, timeout_ms);
        if (st != LSD_OK) return st;
        g = slots_.output();
        uint64_t row = lsd_proto_row_bytes(g.width, g.format);
        if (dst.type == cu::kMemDevice && out.pitch != 0 && out.pitch < row) {
            set_last_error("frame pitch " + std::to_string(out.pitch) + " is smaller than a row (" +
                           std::to_string(row) + " bytes)");
            return LSD_E_INVALID_ARGUMENT;
        }
        r = *slots_.take_ready();
        storage = slots_.storage();
        gen = slots_.generation();
    }
    uint64_t row = lsd_proto_row_bytes(g.width, g.format);
    CopyEnd to = dst;
    if (to.type == cu::kMemDevice && !to.pitch) to.pitch = row;
    auto stream = static_cast<cu::Stream>(out.stream);
    std::string why;
    bool ok = false;
    if (CudaSlots* cuda = storage->cuda()) {
        ok = cuda->read_output(r.slot, to, row, g.height, stream, sync, why);
    } else if (const CudaContext* ctx = gpu_context(why)) {
        CopyEnd from;
        from.host = storage->output(r.slot);
        from.pitch = g.pitch;
        ok = cuda_copy_2d(*ctx, from, to, row, g.height, stream, true, why);
    }
    out.width = g.width;
    out.height = g.height;
    out.format = g.format;
    out.frame_id = r.id;
    out.time = r.time;
    out.timings = r.timings;
    return finish_take(r.slot, gen, ok, why);
}

const CudaContext* Client::gpu_context(std::string& why) {
    int ordinal = 0;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (bind_.wanted()) ordinal = bind_.wanted()->device_ordinal;
    }
    std::lock_guard<std::mutex> lk(gpu_mu_);
    if (gpu_ctx_ && gpu_ctx_->ordinal() == ordinal) return gpu_ctx_.get();
    auto ctx = std::make_unique<CudaContext>();
    if (!ctx->open(ordinal, why)) return nullptr;
    gpu_ctx_ = std::move(ctx);
    return gpu_ctx_.get();
}

void Client::transport_info(lsd_transport_info& o) {
    std::lock_guard<std::mutex> lk(mu_);
    o.requested = bind_.wanted() ? bind_.wanted()->transport : LSD_TRANSPORT_SHM;
    o.transport = slots_.bound() ? path_transport_ : bind_transport_locked(o.requested);
    o.zero_copy = slots_.bound() && slots_.storage()->cuda() ? 1 : 0;
    o.cuda_driver = cuda_driver().usable() ? 1 : 0;
    copy_text(o.gpu, runtime_gpu_);
    copy_text(o.reason, path_reason_);
}

lsd_status Client::take(lsd_frame_out& out, uint32_t timeout_ms) {
    std::shared_ptr<SlotStorage> storage;
    ReadyFrame r;
    RingGeometry g;
    uint64_t gen = 0;
    {
        std::unique_lock<std::mutex> lk(mu_);
        lsd_status st = wait_ready_locked(lk, timeout_ms);
        if (st != LSD_OK) return st;
        g = slots_.output();
        uint64_t row = lsd_proto_row_bytes(g.width, g.format);
        uint64_t pitch = out.pitch ? out.pitch : row;
        uint64_t need = lsd_proto_frame_bytes(g.width, g.height, g.format, out.pitch);
        if (pitch < row || out.capacity < need) {  // the frame stays ready for a big enough buffer
            set_last_error("output buffer too small: a " + std::to_string(g.width) + "x" + std::to_string(g.height) +
                           " " + lsd_proto_format_name(g.format) + " frame with pitch " + std::to_string(pitch) +
                           " needs " + std::to_string(need) + " bytes");
            return LSD_E_INVALID_ARGUMENT;
        }
        r = *slots_.take_ready();
        storage = slots_.storage();
        gen = slots_.generation();
    }
    uint64_t row = lsd_proto_row_bytes(g.width, g.format);
    std::string why;
    bool copied = true;
    if (CudaSlots* cuda = storage->cuda()) {
        CopyEnd to;
        to.host = out.data;
        to.pitch = out.pitch ? out.pitch : row;
        copied = cuda->read_output(r.slot, to, row, g.height, nullptr, true, why);
    } else {
        copy_rows(static_cast<unsigned char*>(out.data), out.pitch ? out.pitch : row, storage->output(r.slot), g.pitch,
                  row, g.height);
    }
    out.width = g.width;
    out.height = g.height;
    out.format = g.format;
    out.frame_id = r.id;
    out.time = r.time;
    out.timings = r.timings;
    return finish_take(r.slot, gen, copied, why);
}

void Client::stats(lsd_stats& s) {
    std::lock_guard<std::mutex> lk(mu_);
    s.state = state_;
    stats_.fill(s);
}

void Client::style_info(lsd_style_info& out) {
    std::lock_guard<std::mutex> lk(mu_);
    // pending: asked for and not answered on this session yet, or none asked for (nothing
    // applied: frames pass through); the runtime's console may have applied one since
    if (style_.pending()) out.status = LSD_PENDING;
    else if (runtime_changed_style_) out.status = LSD_OK;
    else out.status = style_.sent() ? style_.result() : LSD_PENDING;
    copy_text(out.backend, applied_.backend);
    copy_text(out.style, applied_.style);
    copy_text(out.model, applied_.model);
    copy_text(out.matched, applied_.matched);
    copy_text(out.message, out.status == LSD_E_REJECTED ? style_.error() : std::string());
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
    slots_.unbind();
}

// ---------------------------------------------------------------- I/O thread: connecting

Value Client::hello_message(const std::string& token) {
    // offer the transport the rings want first; for a runtime on another machine shm cannot work
    lsd_transport want = LSD_TRANSPORT_SHM;
    int ordinal = 0;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (bind_.wanted()) {
            want = bind_.wanted()->transport;
            ordinal = bind_.wanted()->device_ordinal;
        } else if (remote_endpoint(endpoint_)) {
            want = LSD_TRANSPORT_INLINE;
        }
    }
    offered_ = want;
    // cuda_ipc: only with a driver that opens IPC handles, naming the GPU the frames are on
    std::string gpu, no_cuda;
    if (want == LSD_TRANSPORT_CUDA_IPC) {
        const CudaDriver& d = cuda_driver();
        if (!d.usable() || !d.ipc) {
            no_cuda = d.why;
        } else {
            gpu = cuda_device_uuid(ordinal, no_cuda);
            if (!gpu.empty()) no_cuda.clear();
        }
        if (!no_cuda.empty()) want = remote_endpoint(endpoint_) ? LSD_TRANSPORT_INLINE : LSD_TRANSPORT_SHM;
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        path_reason_ = no_cuda.empty() ? "" : "cuda_ipc: " + no_cuda + "; frames go through host memory";
    }
    hello_id_ = next_id();
    Value hello = proto::make("hello", hello_id_);
    hello.set("token", Value::str(token));
    hello.set("client", Value::str(name_));
    Value tr = Value::array();
    tr.arr.push_back(Value::str(lsd_proto_transport_name(want)));
    lsd_transport other = want == LSD_TRANSPORT_SHM ? LSD_TRANSPORT_INLINE : LSD_TRANSPORT_SHM;
    tr.arr.push_back(Value::str(lsd_proto_transport_name(other)));
    hello.set("transports", tr);
    hello.set("pid", Value::uint(current_pid()));
    Value kinds = Value::array();  // how this client opens shm slots (Linux: only sealed memfds)
#if defined(__linux__)
    kinds.arr.push_back(Value::str("memfd"));
#else
    kinds.arr.push_back(Value::str("named"));
#endif
    hello.set("shm", kinds);
    if (!gpu.empty()) hello.set("gpu", Value::str(gpu));
    return hello;
}

void Client::try_connect(Clock::time_point now) {
    std::string endpoint = cfg_endpoint_, token = cfg_token_, server_key = cfg_server_key_, why;
    if (use_state_dir_) {
        RuntimeState st;
        if (!read_runtime_state(state_dir_, st, why)) {
            std::lock_guard<std::mutex> lk(mu_);
            last_conn_error_ = why;
            next_attempt_ = now + std::chrono::milliseconds(backoff_.next());
            return;
        }
        endpoint = st.endpoint;
        token = st.token;
        if (server_key.empty()) server_key = st.server_key;
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        endpoint_ = endpoint;
    }
    if (server_key.empty() && remote_endpoint(endpoint)) {
        // the runtime only takes CURVE-encrypted links from other machines: a plain one would hang
        std::lock_guard<std::mutex> lk(mu_);
        last_conn_error_ = remote_without_key_message(endpoint);
        next_attempt_ = now + std::chrono::milliseconds(backoff_.max());
        return;
    }
    if (!conn_.open(endpoint, server_key, why)) {
        std::lock_guard<std::mutex> lk(mu_);
        last_conn_error_ = why;
        next_attempt_ = now + std::chrono::milliseconds(backoff_.max());
        return;
    }
    conn_.send(hello_message(token));
    std::lock_guard<std::mutex> lk(mu_);
    state_ = LSD_STATE_CONNECTING;
}

void Client::teardown(const std::string& why, Clock::time_point retry_at, bool count_lost) {
    conn_.close();
    std::lock_guard<std::mutex> lk(mu_);
    last_conn_error_ = why;
    size_t lost = slots_.unbind();
    if (count_lost) stats_.lost += lost;
    style_.session_lost();  // nothing is applied on the next session until it answers
    applied_ = StyleAnswer{};
    // frames and releases belong to the old session; bind/style requests stay wanted
    std::deque<Cmd> keep;
    for (const Cmd& c : cmds_)
        if (c.kind == CmdKind::Bind || c.kind == CmdKind::Style) keep.push_back(c);
    cmds_.swap(keep);
    if (state_ != LSD_STATE_CLOSED) state_ = want_connect_ ? LSD_STATE_CONNECTING : LSD_STATE_IDLE;
    next_attempt_ = retry_at;
    cv_.notify_all();
}

// ---------------------------------------------------------------- I/O thread: sending

void Client::send_bind() {
    std::optional<lsd_bind_desc> d;
    uint64_t id = next_id();
    bool other_transport = false;
    lsd_transport effective = LSD_TRANSPORT_SHM;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!bind_.wanted()) return;
        effective = bind_transport_locked(bind_.wanted()->transport);
        if (bind_.wanted()->transport == LSD_TRANSPORT_CUDA_IPC && effective != LSD_TRANSPORT_CUDA_IPC &&
            path_reason_.empty() && !(cuda_driver().usable() && cuda_driver().ipc))
            path_reason_ = "cuda_ipc: " + cuda_driver().why + "; frames go through host memory";
        // a cuda_ipc session also takes shm rings (a client that cannot open its device slots)
        other_transport = effective != session_transport_ &&
                          !(session_transport_ == LSD_TRANSPORT_CUDA_IPC && effective == LSD_TRANSPORT_SHM);
        if (other_transport && bind_.wanted()->transport == offered_) {
            // this session's hello asked for that transport first and the runtime chose another:
            // it will not serve it to this client, and reopening would only hear the same
            refuse_transport();
            return;
        }
        if (!other_transport) {
            d = bind_.send(id);
            // a re-bind retires the old rings at once: stop using them now
            if (slots_.bound()) stats_.lost += slots_.unbind();
            if (state_ == LSD_STATE_READY) state_ = LSD_STATE_CONNECTED;
        }
    }
    if (other_transport) {
        // the session was opened for another transport: end it properly (the runtime frees its
        // rings at once) and open one for this bind (hello offers the bind's transport first)
        say_bye();
        teardown("reopening the session for another transport", Clock::now());
        return;
    }
    Value m = proto::make("bind", id);
    m.set("transport", Value::str(lsd_proto_transport_name(effective)));
    m.set("input", ring_value(d->input));
    m.set("output", ring_value(d->output));
    if (d->model_width && d->model_height) {
        m.set("model_width", Value::uint(d->model_width));
        m.set("model_height", Value::uint(d->model_height));
    }
    if (d->motion.format != LSD_MOTION_NONE) {
        m.set("motion_format", Value::str(lsd_proto_motion_format_name(d->motion.format)));
        m.set("motion_units", Value::str(lsd_proto_motion_units_name(d->motion.units)));
        m.set("motion_sign", Value::str(lsd_proto_motion_sign_name(d->motion.sign)));
        m.set("motion_y_up", Value::boolean(d->motion.y_up != 0));
        if (d->motion.pitch) m.set("motion_pitch", Value::uint(d->motion.pitch));
    }
    if (d->depth.format != LSD_DEPTH_NONE) {
        m.set("depth_format", Value::str(lsd_proto_depth_format_name(d->depth.format)));
        m.set("depth_kind", Value::str(lsd_proto_depth_kind_name(d->depth.kind)));
        if (d->depth.kind == LSD_DEPTH_KIND_DEVICE) {
            m.set("depth_reversed_z", Value::boolean(d->depth.reversed_z != 0));
            m.set("depth_near", Value::real(d->depth.near_plane));
            m.set("depth_far", Value::real(d->depth.far_plane));
        }
        if (d->depth.pitch) m.set("depth_pitch", Value::uint(d->depth.pitch));
    }
    if (d->transport == LSD_TRANSPORT_INLINE && d->codec == LSD_CODEC_LZ4 && lz4_available()) {
        Value codecs = Value::array();
        codecs.arr.push_back(Value::str(lsd_proto_codec_name(LSD_CODEC_LZ4)));
        m.set("codecs", codecs);
    }
    conn_.send(m);
}

void Client::send_style() {
    std::optional<StyleRequest> s;
    uint64_t id = next_id();
    {
        std::lock_guard<std::mutex> lk(mu_);
        s = style_.send(id);
    }
    if (!s) return;
    Value m = proto::make("set_style", id);
    if (s->has_backend) m.set("backend", Value::str(s->backend));
    if (s->has_style) m.set("style", Value::str(s->style));
    if (s->has_prompt) m.set("prompt", Value::str(s->prompt));
    if (s->has_strength) m.set("strength", Value::real(s->strength));
    if (s->has_seed) m.set("seed", Value::sint(s->seed));
    if (s->has_model) m.set("model", Value::str(s->model));
    conn_.send(m);
}

void Client::send_frame(const Cmd& c, bool session) {
    std::vector<uint32_t> rel;
    std::shared_ptr<SlotStorage> storage;
    size_t size = 0;
    bool lz4 = false;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!session || c.gen != slots_.generation()) return;  // the frame belonged to rings now gone
        rel = slots_.releases_for(c.id);                       // piggy-back the releases on the frame
        storage = slots_.storage();
        size = slots_.input().size;
        lz4 = inline_lz4_;
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
    // inline: the slot's bytes travel in the message (the slot is the runtime's until answered),
    // as an LZ4 block when the session agreed on one and it pays
    size_t wire = 0;
    bool packed = false;
    if (storage->is_inline()) {
        packed = lz4 && lz4_pack(storage->input(c.slot), size, pack_buffer_);
        if (packed) {
            m.set("data", Value::bin_ref(pack_buffer_.data(), pack_buffer_.size()));
            m.set("codec", Value::str(lsd_proto_codec_name(LSD_CODEC_LZ4)));
        } else {
            m.set("data", Value::bin_ref(storage->input(c.slot), size));
        }
        wire = packed ? pack_buffer_.size() : size;
    }
    if (wire) {
        std::lock_guard<std::mutex> lk(mu_);
        stats_.inline_sent += wire;
        if (packed) ++stats_.inline_packed;
    }
    if (!conn_.send(m)) {
        std::lock_guard<std::mutex> lk(mu_);
        if (c.gen == slots_.generation() && slots_.unsent(c.id)) ++stats_.lost;
    }
}

void Client::send_releases() {
    std::vector<uint32_t> slots;
    {
        std::lock_guard<std::mutex> lk(mu_);
        slots = slots_.drain_releases();
    }
    if (slots.empty()) return;
    Value m = proto::make("release", next_id());
    Value arr = Value::array();
    for (uint32_t s : slots) arr.arr.push_back(Value::uint(s));
    m.set("slots", arr);
    conn_.send(m);
}

void Client::say_bye(int linger_ms) {
    bool session;
    {
        std::lock_guard<std::mutex> lk(mu_);
        session = state_ >= LSD_STATE_CONNECTED && state_ != LSD_STATE_CLOSED;
    }
    if (session) {
        Value bye = proto::make("bye", next_id());
        bye.set("reason", Value::str("client closing"));
        conn_.send(bye);
    }
    conn_.close(session ? linger_ms : 0);
}

void Client::process_commands() {
    std::deque<Cmd> cmds;
    lsd_conn_state st;
    {
        std::lock_guard<std::mutex> lk(mu_);
        cmds.swap(cmds_);
        st = state_;
    }
    bool session = conn_.is_open() && st >= LSD_STATE_CONNECTED && st != LSD_STATE_CLOSED;
    bool want_bind = false, want_style = false;
    for (const Cmd& c : cmds) {
        switch (c.kind) {
            case CmdKind::Bind: want_bind = true; break;
            case CmdKind::Style: want_style = true; break;
            case CmdKind::Release: break;
            case CmdKind::Frame: send_frame(c, session); break;
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
    send_releases();
}

// ---------------------------------------------------------------- I/O thread: receiving

void Client::on_welcome(const Value& m) {
    lsd_transport chosen = LSD_TRANSPORT_SHM;
    std::string transport = text(m.get("transport"));
    bool known = false;
    for (lsd_transport t : {LSD_TRANSPORT_SHM, LSD_TRANSPORT_INLINE, LSD_TRANSPORT_CUDA_IPC}) {
        if (transport == lsd_proto_transport_name(t)) {
            chosen = t;
            known = true;
        }
    }
    if (!known) {
        teardown("the runtime chose transport '" + transport + "', which this client does not offer",
                 Clock::now() + std::chrono::milliseconds(backoff_.max()), false);
        return;
    }
    heartbeat_ms_ = cfg_heartbeat_ms_ ? cfg_heartbeat_ms_
                                      : static_cast<uint32_t>(std::max<uint64_t>(10, unum(m.get("heartbeat_ms"))));
    timeout_ms_ =
        cfg_timeout_ms_ ? cfg_timeout_ms_ : static_cast<uint32_t>(std::max<uint64_t>(50, unum(m.get("timeout_ms"))));
    backoff_.reset();
    session_transport_ = chosen;
    session_id_ = text(m.get("session"));
    bool rebind, restyle;
    {
        std::lock_guard<std::mutex> lk(mu_);
        state_ = LSD_STATE_CONNECTED;
        // the runtime will not serve the transport this hello asked for first: say so instead of
        // reopening forever (a bind for yet another transport, made since the hello, reopens once)
        if (bind_.wanted() && bind_.wanted()->transport != chosen && bind_.wanted()->transport == offered_ &&
            offered_ != LSD_TRANSPORT_CUDA_IPC)
            refuse_transport();
        runtime_gpu_ = text(m.get("gpu"));
        cuda_open_failed_ = false;
        if (offered_ == LSD_TRANSPORT_CUDA_IPC && chosen != LSD_TRANSPORT_CUDA_IPC && path_reason_.empty()) {
            std::string fallback = text(m.get("fallback"));
            path_reason_ =
                fallback.empty() ? std::string("the runtime chose ") + lsd_proto_transport_name(chosen) : fallback;
        }
        if (had_session_) ++stats_.reconnects;
        last_conn_error_.clear();
        rebind = bind_.wanted().has_value();
        restyle = style_.wanted().has_value();
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

lsd_transport Client::bind_transport_locked(lsd_transport wanted) const {
    if (wanted != LSD_TRANSPORT_CUDA_IPC) return wanted;
    // a cuda_ipc session binds shm when this client could not open its device slots; a session
    // the runtime opened on shm or inline instead (no driver, another GPU) binds that
    if (session_transport_ == LSD_TRANSPORT_CUDA_IPC) return cuda_open_failed_ ? LSD_TRANSPORT_SHM : wanted;
    // a session whose hello did not ask for cuda_ipc (opened before this bind): reopened to ask, when
    // this process can use it at all
    const CudaDriver& d = cuda_driver();
    if (offered_ != LSD_TRANSPORT_CUDA_IPC && d.usable() && d.ipc) return wanted;
    return session_transport_;
}

void Client::refuse_transport() {
    bind_.send(0);
    bind_.refuse(LSD_E_UNSUPPORTED,
                 std::string("the runtime serves ") + lsd_proto_transport_name(session_transport_) + ", not " +
                     lsd_proto_transport_name(offered_) + ", to this client",
                 false);
    cv_.notify_all();
}

void Client::on_bound(const Value& m) {
    lsd_bind_desc d;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!bind_.sent()) return;
        d = *bind_.sent();  // the rings this reply answers (the wanted ones may be newer)
    }
    std::string why;
    auto geometry = [&](const Value* reply, const lsd_ring_desc& r, RingGeometry& g) -> bool {
        g.width = r.width;
        g.height = r.height;
        g.format = r.format;
        g.slots = r.slots ? r.slots : LSD_DEFAULT_SLOTS;
        g.pitch = static_cast<uint32_t>(unum(reply ? reply->get("pitch") : nullptr));
        g.size = static_cast<size_t>(unum(reply ? reply->get("size") : nullptr));
        if (g.pitch < lsd_proto_row_bytes(g.width, g.format) ||
            g.size != lsd_proto_slot_bytes(g.width, g.height, g.format, g.pitch)) {
            why = "the runtime's 'bound' does not match the requested ring";
            return false;
        }
        return true;
    };
    auto open_ring = [&](const Value* reply, const RingGeometry& g,
                         std::vector<std::unique_ptr<ShmSegment>>& segs) -> bool {
        const Value* names = reply ? reply->get("names") : nullptr;
        if (!names || names->arr.size() != g.slots) {
            why = "the runtime's 'bound' names " + std::to_string(names ? names->arr.size() : 0) + " slots, not " +
                  std::to_string(g.slots);
            return false;
        }
        for (const Value& n : names->arr) {
            auto seg = std::make_unique<ShmSegment>();
            if (!seg->open(n.s, g.size, why, session_id_)) return false;
            segs.push_back(std::move(seg));
        }
        return true;
    };
    // a plane beside the input ring: its rows as the bind declared them, one segment per input slot
    auto open_plane = [&](const char* name, uint32_t bpp, uint32_t pitch, const RingGeometry& in,
                          PlaneRing& plane) -> bool {
        if (!bpp) return true;  // not asked for
        const Value* reply = m.get(name);
        RingGeometry g;
        g.slots = in.slots;
        g.pitch = static_cast<uint32_t>(unum(reply ? reply->get("pitch") : nullptr));
        g.size = static_cast<size_t>(unum(reply ? reply->get("size") : nullptr));
        uint64_t row = static_cast<uint64_t>(in.width) * bpp;
        if (!reply || g.pitch != (pitch ? pitch : row) || g.size != static_cast<uint64_t>(g.pitch) * in.height) {
            why = std::string("the runtime's 'bound' has no matching ") + name + " plane";
            return false;
        }
        plane.pitch = g.pitch;
        plane.bytes_per_pixel = bpp;
        return open_ring(reply, g, plane.segments);
    };
    RingGeometry gi, go;
    std::shared_ptr<SlotStorage> storage;
    std::string bound_transport = text(m.get("transport"));
    lsd_transport path = LSD_TRANSPORT_SHM;
    for (lsd_transport t : {LSD_TRANSPORT_INLINE, LSD_TRANSPORT_CUDA_IPC})
        if (bound_transport == lsd_proto_transport_name(t)) path = t;
    bool ok = geometry(m.get("input"), d.input, gi) && geometry(m.get("output"), d.output, go);
    if (ok && path == LSD_TRANSPORT_CUDA_IPC) {
        auto dev = [](const RingGeometry& g) { return CudaRingGeometry{g.slots, g.size, g.pitch}; };
        std::unique_ptr<CudaSlots> cuda =
            CudaSlots::open(d.device_ordinal, m.get("input"), dev(gi), m.get("output"), dev(go), why);
        if (!cuda) {
            // this process cannot use the runtime's device slots: the same rings in shared memory
            {
                std::lock_guard<std::mutex> lk(mu_);
                cuda_open_failed_ = true;
                path_reason_ = "cuda_ipc: the runtime's device slots could not be opened here (" + why +
                               "); frames go through shared memory";
            }
            send_bind();
            return;
        }
        storage = SlotStorage::device(std::move(cuda));
    }
    try {
        if (storage) {
            // device slots, opened above
        } else if (ok && path == LSD_TRANSPORT_INLINE) {
            storage = SlotStorage::local(gi, go);
        } else if (ok) {
            std::vector<std::unique_ptr<ShmSegment>> in, out;
            PlaneRing motion, depth;
            ok = open_ring(m.get("input"), gi, in) && open_ring(m.get("output"), go, out) &&
                 open_plane("motion", lsd_proto_motion_format_bytes_per_pixel(d.motion.format), d.motion.pitch, gi,
                            motion) &&
                 open_plane("depth", lsd_proto_depth_format_bytes_per_pixel(d.depth.format), d.depth.pitch, gi, depth);
            if (ok) storage = SlotStorage::shm(std::move(in), std::move(out), std::move(motion), std::move(depth));
        }
    } catch (const std::bad_alloc&) {
        ok = false;
        why = "out of memory for the rings' local buffers";
    }
    std::lock_guard<std::mutex> lk(mu_);
    if (!ok) {
        std::string hint = remote_endpoint(endpoint_) ? " (the runtime is on another machine: bind with "
                                                        "LSD_TRANSPORT_INLINE)"
                                                      : "";
        bind_.fail(LSD_E_IO, "cannot map the runtime's slots: " + why + hint);
        cv_.notify_all();
        return;
    }
    slots_.bind(storage, gi, go);
    path_transport_ = path;
    if (!text(m.get("fallback")).empty()) path_reason_ = text(m.get("fallback"));
    else if (path == LSD_TRANSPORT_CUDA_IPC) path_reason_.clear();
    // a compressed block can be a little larger than its frame: allow LZ4's bound
    max_reply_bytes_ = LSD_MAX_MESSAGE_BYTES + (storage->is_inline() ? go.size + go.size / 255 + 16 : 0);
    inline_lz4_ = storage->is_inline() && d.codec == LSD_CODEC_LZ4 && lz4_available() &&
                  text(m.get("codec")) == lsd_proto_codec_name(LSD_CODEC_LZ4);
    state_ = LSD_STATE_READY;
    bind_.accept();
    cv_.notify_all();
}

void Client::on_style_set(const Value& m) {
    std::lock_guard<std::mutex> lk(mu_);
    style_.accept();
    runtime_changed_style_ = false;
    applied_.backend = text(m.get("backend"));
    applied_.style = text(m.get("style"));
    applied_.matched = text(m.get("matched"));
    applied_.model = m.get("model") ? text(m.get("model")) : applied_.style;  // a 0.1 runtime sends none
    cv_.notify_all();
}

void Client::on_style_changed(const Value& m) {
    std::lock_guard<std::mutex> lk(mu_);
    applied_.backend = text(m.get("backend"));
    applied_.style = text(m.get("style"));
    applied_.matched = text(m.get("matched"));
    applied_.model = m.get("model") ? text(m.get("model")) : applied_.style;
    runtime_changed_style_ = true;
}

void Client::on_error(const Value& m, Clock::time_point now) {
    std::string code = text(m.get("code")), message = text(m.get("message")), ref = text(m.get("ref"));
    lsd_error_code ec = lsd_proto_error_from_name(code.c_str());
    lsd_msg_type about = lsd_proto_msg_from_name(ref.c_str());
    uint64_t id = unum(m.get("id"));
    std::string full = "runtime error " + code + ": " + message;
    bool hello_refused = false, session_lost = false, rebind = false;
    {
        std::lock_guard<std::mutex> lk(mu_);
        ++stats_.errors;
        if (state_ == LSD_STATE_CONNECTING && (id == hello_id_ || about == LSD_MSG_HELLO || ref.empty())) {
            hello_refused = true;
            if (ec == LSD_ERROR_TRANSPORT_UNAVAILABLE && bind_.wanted()) {
                // neither transport: the bind cannot be served (a session without rings still can)
                bind_.send(0);
                bind_.refuse(LSD_E_UNSUPPORTED, full, false);
                cv_.notify_all();
            }
        } else if (ec == LSD_ERROR_NO_SESSION) {
            // a runtime restarted on the same endpoint: ZeroMQ reconnected the socket
            // underneath us, but the new process has never heard of this session
            session_lost = true;
        } else if (ec == LSD_ERROR_NOT_BOUND && state_ == LSD_STATE_READY && bind_.wanted()) {
            rebind = true;  // the runtime lost our rings (should not happen): bind again
        } else if (about == LSD_MSG_BIND && id == bind_.id()) {
            // not re-sent after a reconnect (a newer bind, if one is waiting, still goes out)
            bind_.refuse(ec == LSD_ERROR_TRANSPORT_UNAVAILABLE ? LSD_E_UNSUPPORTED : LSD_E_REJECTED, full, false);
            cv_.notify_all();
        } else if (about == LSD_MSG_SET_STYLE && id == style_.id()) {
            style_.refuse(LSD_E_REJECTED, full, true);  // back to the last style accepted
            cv_.notify_all();
        } else if (about == LSD_MSG_FRAME) {
            // an error changes nothing on the runtime: the slot (and any releases) are still ours
            slots_.refused(id);
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
        uint32_t wait = std::max<uint32_t>(backoff_.next(), 100);
        teardown("hello refused: " + full, now + std::chrono::milliseconds(wait), false);
    }
}

void Client::on_frame_done(const Value& m, Clock::time_point now) {
    uint64_t id = unum(m.get("id"));
    uint64_t slot = unum(m.get("slot")), in_slot = unum(m.get("in_slot"));
    const Value* t = m.get("timings");
    const Value* data = m.get("data");
    std::shared_ptr<SlotStorage> storage;
    RingGeometry out;
    std::optional<InFlight> f;
    bool held = false;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!slots_.bound()) return;  // an answer for rings already retired
        f = slots_.finished(id);
        out = slots_.output();
        storage = slots_.storage();
        if (!f) {
            // not a frame of these rings (stray or stale): hand a valid output slot straight back
            slots_.release_stray(static_cast<uint32_t>(slot));
            return;
        }
        ++stats_.done;
        held = slots_.output_held(static_cast<uint32_t>(slot));
    }
    if (f->slot != in_slot && debug_)
        std::fprintf(stderr, "lsd: frame %llu: in_slot %llu, expected %u\n", (unsigned long long)id,
                     (unsigned long long)in_slot, f->slot);
    bool valid = slot < out.slots && !held;  // a slot the client holds is not the runtime's to fill
    bool packed = false;
    if (valid && storage->is_inline()) {
        // the output slot is ours from this message on: its bytes go where take() reads them
        const Value* codec = m.get("codec");
        valid = data && data->kind == Value::Bin;
        unsigned char* dst = storage->output(static_cast<uint32_t>(slot));
        if (valid && codec) {
            bool lz4;
            {
                std::lock_guard<std::mutex> lk(mu_);
                lz4 = inline_lz4_;
            }
            packed = lz4 && text(codec) == lsd_proto_codec_name(LSD_CODEC_LZ4);
            valid = packed && lz4_unpack(reinterpret_cast<const unsigned char*>(data->bin_data()), data->bin_size(),
                                         dst, out.size);
        } else if (valid) {
            valid = data->bin_size() == out.size;
            if (valid) std::memcpy(dst, data->bin_data(), out.size);
        }
    }
    ReadyFrame r;
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
    r.timings.round_trip_ms = ms_between(f->submitted, now);
    std::lock_guard<std::mutex> lk(mu_);
    stats_.add(r.timings);
    if (valid && storage->is_inline()) {
        stats_.inline_received += data->bin_size();
        if (packed) ++stats_.inline_packed;
    }
    if (!valid) {
        ++stats_.errors;
        last_conn_error_ = "the runtime's frame_done for frame " + std::to_string(id) + " is unusable (slot " +
                           std::to_string(slot) + ", data size or codec); frame skipped";
        if (slot < out.slots && !held) slots_.release_stray(static_cast<uint32_t>(slot));
        return;
    }
    slots_.ready(r);
    cv_.notify_all();
}

void Client::on_dropped(const Value& m) {
    uint64_t id = unum(m.get("id"));
    if (debug_)
        std::fprintf(stderr, "lsd: frame %llu dropped (%s)\n", (unsigned long long)id, text(m.get("reason")).c_str());
    std::lock_guard<std::mutex> lk(mu_);
    if (slots_.bound() && slots_.dropped(id)) ++stats_.dropped;  // unknown ids (stale, stray) change nothing
}

void Client::handle(const zmq::message_t& msg, Clock::time_point now) {
    Value m;
    proto::Error err;
    if (!proto::decode(msg.data(), msg.size(), "runtime", m, err, max_reply_bytes_)) {
        if (lsd_proto_error_from_name(err.code.c_str()) == LSD_ERROR_VERSION_MISMATCH) {
            teardown("the runtime speaks another protocol version (" + err.message + ")",
                     now + std::chrono::milliseconds(backoff_.max()));
            return;
        }
        std::lock_guard<std::mutex> lk(mu_);
        ++stats_.errors;
        last_conn_error_ = "ignored an invalid message from the runtime: " + err.code + ": " + err.message;
        if (debug_) std::fprintf(stderr, "lsd: %s\n", last_conn_error_.c_str());
        return;
    }
    conn_.last_recv = now;
    uint64_t id = unum(m.get("id"));
    uint64_t bind_id, style_id;
    {
        std::lock_guard<std::mutex> lk(mu_);
        bind_id = bind_.id();
        style_id = style_.id();
    }
    switch (lsd_proto_msg_from_name(m.get("t")->s.c_str())) {
        case LSD_MSG_WELCOME:
            if (id == hello_id_) on_welcome(m);
            break;
        case LSD_MSG_BOUND:
            if (id == bind_id) on_bound(m);
            break;
        case LSD_MSG_STYLE_SET:
            if (id == 0) on_style_changed(m);  // the runtime's web console changed it
            else if (id == style_id) on_style_set(m);
            break;
        case LSD_MSG_FRAME_DONE: on_frame_done(m, now); break;
        case LSD_MSG_DROPPED: on_dropped(m); break;
        case LSD_MSG_ERROR: on_error(m, now); break;
        case LSD_MSG_PING: {
            Value pong = proto::make("pong", id);
            pong.set("time", Value::real(num(m.get("time"))));
            conn_.send(pong);
            break;
        }
        case LSD_MSG_BYE:
            teardown("the runtime ended the session (" + text(m.get("reason")) + ")",
                     now + std::chrono::milliseconds(100));
            break;
        default:  // pong, stats: liveness only
            break;
    }
}

// ---------------------------------------------------------------- I/O thread: the loop

void Client::check_timers(Clock::time_point now, lsd_conn_state st) {
    using std::chrono::milliseconds;
    if (!conn_.is_open()) return;
    if (st == LSD_STATE_CONNECTING && now - conn_.opened_at > milliseconds(timeout_ms_)) {
        teardown("no answer to hello within " + std::to_string(timeout_ms_) + " ms",
                 now + milliseconds(backoff_.next()), false);
    } else if (st >= LSD_STATE_CONNECTED && now - conn_.last_recv > milliseconds(timeout_ms_)) {
        teardown("the runtime has not answered for " + std::to_string(timeout_ms_) + " ms (gone?)",
                 now + milliseconds(10));
    } else if (st >= LSD_STATE_CONNECTED && (now - conn_.last_send >= milliseconds(heartbeat_ms_) ||
                                             (now - conn_.last_recv >= milliseconds(heartbeat_ms_) &&
                                              now - conn_.last_ping >= milliseconds(heartbeat_ms_)))) {
        Value ping = proto::make("ping", next_id());
        ping.set("time", Value::real(now_seconds()));
        conn_.send(ping);
        conn_.last_ping = now;
    }
}

void Client::io_main() {
    using namespace std::chrono;
    while (true) {
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (stop_) break;
        }
        try {
            io_step();
        } catch (const std::exception& e) {
            // out of memory encoding a frame, a bug: the game must not die of it; start over
            teardown(std::string("internal error in the I/O thread: ") + e.what(),
                     Clock::now() + milliseconds(backoff_.next()));
        }
    }
    try {
        if (conn_.is_open()) say_bye();
    } catch (const std::exception&) { conn_.close(); }
}

void Client::io_step() {
    using namespace std::chrono;
    zmq::message_t msg;
    auto now = Clock::now();
    bool want;
    lsd_conn_state st;
    {
        std::lock_guard<std::mutex> lk(mu_);
        want = want_connect_;
        st = state_;
    }
    if (want && !conn_.is_open() && now >= next_attempt_) {
        try_connect(now);
        std::lock_guard<std::mutex> lk(mu_);
        st = state_;
    }
    check_timers(now, st);
    // wait for a message, a wake-up or the next timer (at most 20 ms)
    long wait_ms = 20;
    if (want && !conn_.is_open())
        wait_ms = std::max<long>(0, std::min<long>(20, duration_cast<milliseconds>(next_attempt_ - now).count()));
    zmq::pollitem_t items[3] = {{wake_rx_.handle(), 0, ZMQ_POLLIN, 0}, {}, {}};
    int n = 1 + conn_.poll_items(items + 1);
    try {
        zmq::poll(items, static_cast<size_t>(n), milliseconds(wait_ms));
    } catch (const zmq::error_t&) { return; }
    while (wake_rx_.recv(msg, zmq::recv_flags::dontwait)) {}
    now = Clock::now();
    conn_.drain([&](const zmq::message_t& m) { handle(m, now); });
    if (conn_.dropped())
        teardown("the connection to the runtime dropped (runtime stopped or restarted)", now + milliseconds(20));
    process_commands();
}

}  // namespace lsd
