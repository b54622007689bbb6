// The exported C functions: argument checks, status codes, thread-local last error.
#include <cstring>
#include <new>
#include <string>

#include "client.hpp"
#include "cuda_loader.hpp"
#include "state_file.hpp"

struct lsd_client {
    lsd::Client impl;
    explicit lsd_client(const lsd_client_config& cfg) : impl(cfg) {}
};

namespace lsd {
namespace {
thread_local std::string g_last_error;
}
void set_last_error(const std::string& message) { g_last_error = message; }
const char* g_last_error_c_str() { return g_last_error.c_str(); }
void clear_last_error() { g_last_error.clear(); }
}  // namespace lsd

using lsd::set_last_error;

namespace {

// Copies a caller struct of `given` bytes into a zeroed full-size one (older callers).
template <typename T>
bool read_struct(const T* in, T& out, const char* what) {
    out = T{};
    if (!in) { set_last_error(std::string(what) + " is NULL"); return false; }
    uint32_t given = in->struct_size;
    if (given < sizeof(uint32_t) * 2) {
        set_last_error(std::string(what) + ".struct_size is not set (use sizeof or the *_init helper)");
        return false;
    }
    std::memcpy(&out, in, given < sizeof(T) ? given : sizeof(T));
    out.struct_size = sizeof(T);
    return true;
}

template <typename T>
void write_struct(T* dst, const T& src) {
    uint32_t n = dst->struct_size < sizeof(T) ? dst->struct_size : static_cast<uint32_t>(sizeof(T));
    uint32_t keep = dst->struct_size;
    std::memcpy(dst, &src, n);
    dst->struct_size = keep;
}

bool valid_format(lsd_format f) { return f == LSD_FORMAT_RGBA8 || f == LSD_FORMAT_BGRA8 || f == LSD_FORMAT_RGBA16F; }

bool check_ring(const lsd_ring_desc& r, const char* which) {
    std::string w = which;
    if (r.width < 8 || r.width > 8192 || r.height < 8 || r.height > 8192) {
        set_last_error(w + " ring size " + std::to_string(r.width) + "x" + std::to_string(r.height) + " is outside 8..8192");
        return false;
    }
    if (!valid_format(r.format)) { set_last_error(w + " ring format is not an lsd_format"); return false; }
    uint32_t bpp = lsd_format_bytes_per_pixel(r.format);
    if (r.pitch && (r.pitch < r.width * bpp || r.pitch % bpp || r.pitch > (1u << 17))) {
        set_last_error(w + " ring pitch " + std::to_string(r.pitch) + " must be >= width x bytes/pixel, a multiple of "
                       "bytes/pixel and <= 131072");
        return false;
    }
    if (r.slots > 8) { set_last_error(w + " ring slots must be 0 (default 3) or 1..8"); return false; }
    if (r.color != LSD_COLOR_DEFAULT && r.color != LSD_COLOR_SRGB && r.color != LSD_COLOR_LINEAR) {
        set_last_error(w + " ring color is not an lsd_color");
        return false;
    }
    return true;
}

#define LSD_GUARD_BEGIN try {
#define LSD_GUARD_END                                                   \
    }                                                                   \
    catch (const std::bad_alloc&) {                                     \
        set_last_error("out of memory");                                \
        return LSD_E_INTERNAL;                                          \
    }                                                                   \
    catch (const std::exception& e) {                                   \
        set_last_error(std::string("internal error: ") + e.what());     \
        return LSD_E_INTERNAL;                                          \
    }                                                                   \
    catch (...) {                                                       \
        set_last_error("internal error");                               \
        return LSD_E_INTERNAL;                                          \
    }

}  // namespace

extern "C" {

LSD_API const char* lsd_version(void) { return LSD_VERSION_STRING; }

LSD_API const char* lsd_status_string(lsd_status s) {
    switch (s) {
        case LSD_OK: return "LSD_OK";
        case LSD_PENDING: return "LSD_PENDING";
        case LSD_NO_FRAME: return "LSD_NO_FRAME";
        case LSD_NO_FREE_SLOT: return "LSD_NO_FREE_SLOT";
        case LSD_E_INVALID_ARGUMENT: return "LSD_E_INVALID_ARGUMENT";
        case LSD_E_NOT_CONNECTED: return "LSD_E_NOT_CONNECTED";
        case LSD_E_NOT_BOUND: return "LSD_E_NOT_BOUND";
        case LSD_E_REJECTED: return "LSD_E_REJECTED";
        case LSD_E_UNSUPPORTED: return "LSD_E_UNSUPPORTED";
        case LSD_E_MISMATCH: return "LSD_E_MISMATCH";
        case LSD_E_IO: return "LSD_E_IO";
        case LSD_E_CLOSED: return "LSD_E_CLOSED";
        case LSD_E_INTERNAL: return "LSD_E_INTERNAL";
    }
    return "LSD_UNKNOWN_STATUS";
}

LSD_API const char* lsd_last_error(void) { return lsd::g_last_error_c_str(); }

LSD_API uint32_t lsd_format_bytes_per_pixel(lsd_format f) {
    return f == LSD_FORMAT_RGBA16F ? 8u : valid_format(f) ? 4u : 0u;
}

LSD_API int lsd_cuda_available(void) {
    const auto& d = lsd::cuda_driver();
    return d.loaded && d.initialised && d.device_count > 0 ? 1 : 0;
}

LSD_API int lsd_cuda_device_count(void) {
    const auto& d = lsd::cuda_driver();
    return d.loaded ? (d.initialised ? d.device_count : 0) : -1;
}

LSD_API lsd_status lsd_read_runtime_state(const char* state_dir, lsd_runtime_info* out) {
    LSD_GUARD_BEGIN
    if (!out || out->struct_size < sizeof(uint32_t)) {
        set_last_error("out is NULL or out->struct_size is not set");
        return LSD_E_INVALID_ARGUMENT;
    }
    lsd::RuntimeState st;
    std::string why;
    if (!lsd::read_runtime_state(state_dir ? state_dir : "", st, why)) {
        set_last_error(why);
        return LSD_E_IO;
    }
    lsd_runtime_info info{};
    info.struct_size = sizeof info;
    if (st.endpoint.size() >= sizeof info.endpoint || st.token.size() >= sizeof info.token) {
        set_last_error("endpoint or token in runtime.json is too long");
        return LSD_E_IO;
    }
    std::memcpy(info.endpoint, st.endpoint.c_str(), st.endpoint.size() + 1);
    std::memcpy(info.token, st.token.c_str(), st.token.size() + 1);
    std::strncpy(info.version, st.version.c_str(), sizeof info.version - 1);
    info.pid = st.pid;
    write_struct(out, info);
    return LSD_OK;
    LSD_GUARD_END
}

LSD_API void lsd_client_config_init(lsd_client_config* cfg) {
    if (!cfg) return;
    *cfg = lsd_client_config{};
    cfg->struct_size = sizeof *cfg;
}

LSD_API lsd_status lsd_client_create(const lsd_client_config* cfg_in, lsd_client** out) {
    LSD_GUARD_BEGIN
    if (!out) { set_last_error("out is NULL"); return LSD_E_INVALID_ARGUMENT; }
    *out = nullptr;
    lsd_client_config cfg;
    if (!read_struct(cfg_in, cfg, "config")) return LSD_E_INVALID_ARGUMENT;
    if (!cfg.state_dir && (!cfg.endpoint || !*cfg.endpoint || !cfg.token)) {
        set_last_error("config needs endpoint and token, or state_dir");
        return LSD_E_INVALID_ARGUMENT;
    }
    *out = new lsd_client(cfg);
    return LSD_OK;
    LSD_GUARD_END
}

LSD_API lsd_status lsd_client_create_from_state(const char* state_dir, const char* client_name, lsd_client** out) {
    lsd_client_config cfg;
    lsd_client_config_init(&cfg);
    cfg.state_dir = state_dir ? state_dir : "";
    cfg.client_name = client_name;
    return lsd_client_create(&cfg, out);
}

LSD_API lsd_status lsd_client_connect(lsd_client* c, uint32_t timeout_ms) {
    LSD_GUARD_BEGIN
    if (!c) { set_last_error("client is NULL"); return LSD_E_INVALID_ARGUMENT; }
    return c->impl.connect(timeout_ms);
    LSD_GUARD_END
}

LSD_API lsd_conn_state lsd_client_state(lsd_client* c) {
    if (!c) return LSD_STATE_CLOSED;
    try {
        return c->impl.state();
    } catch (...) {
        return LSD_STATE_CLOSED;
    }
}

LSD_API void lsd_bind_desc_init(lsd_bind_desc* d, uint32_t width, uint32_t height, lsd_format format) {
    if (!d) return;
    *d = lsd_bind_desc{};
    d->struct_size = sizeof *d;
    d->transport = LSD_TRANSPORT_SHM;
    for (lsd_ring_desc* r : {&d->input, &d->output}) {
        r->struct_size = sizeof *r;
        r->width = width;
        r->height = height;
        r->format = format;
        r->slots = 3;
    }
}

LSD_API lsd_status lsd_client_bind(lsd_client* c, const lsd_bind_desc* desc, uint32_t timeout_ms) {
    LSD_GUARD_BEGIN
    if (!c) { set_last_error("client is NULL"); return LSD_E_INVALID_ARGUMENT; }
    lsd_bind_desc d;
    if (!read_struct(desc, d, "bind desc")) return LSD_E_INVALID_ARGUMENT;
    if (d.transport != LSD_TRANSPORT_SHM) {
        set_last_error(d.transport == LSD_TRANSPORT_CUDA_IPC || d.transport == LSD_TRANSPORT_CUDA_VMM ||
                               d.transport == LSD_TRANSPORT_INLINE
                           ? "this build supports the shm transport only (cuda_ipc, cuda_vmm, inline come later)"
                           : "transport is not an lsd_transport");
        return LSD_E_UNSUPPORTED;
    }
    if (!check_ring(d.input, "input") || !check_ring(d.output, "output")) return LSD_E_INVALID_ARGUMENT;
    if ((d.model_width == 0) != (d.model_height == 0) ||
        (d.model_width && (d.model_width < 8 || d.model_width > 4096 || d.model_height < 8 || d.model_height > 4096))) {
        set_last_error("model_width/model_height: both 0, or both 8..4096");
        return LSD_E_INVALID_ARGUMENT;
    }
    return c->impl.bind(d, timeout_ms);
    LSD_GUARD_END
}

LSD_API void lsd_style_desc_init(lsd_style_desc* s) {
    if (!s) return;
    *s = lsd_style_desc{};
    s->struct_size = sizeof *s;
}

LSD_API lsd_status lsd_client_set_style(lsd_client* c, const lsd_style_desc* style, uint32_t timeout_ms) {
    LSD_GUARD_BEGIN
    if (!c) { set_last_error("client is NULL"); return LSD_E_INVALID_ARGUMENT; }
    lsd_style_desc s;
    if (!read_struct(style, s, "style")) return LSD_E_INVALID_ARGUMENT;
    lsd::StyleRequest r;
    r.backend = s.backend && *s.backend ? s.backend : "effects";
    if (s.style) { r.has_style = true; r.style = s.style; }
    if (s.prompt) { r.has_prompt = true; r.prompt = s.prompt; }
    if (r.backend.size() > 256 || r.style.size() > 256 || r.prompt.size() > 2048) {
        set_last_error("backend/style are limited to 256 bytes, prompt to 2048");
        return LSD_E_INVALID_ARGUMENT;
    }
    if (s.has_strength) {
        if (!(s.strength >= 0.0 && s.strength <= 1.0)) { set_last_error("strength must be 0..1"); return LSD_E_INVALID_ARGUMENT; }
        r.has_strength = true;
        r.strength = s.strength;
    }
    if (s.has_seed) { r.has_seed = true; r.seed = s.seed; }
    return c->impl.set_style(r, timeout_ms);
    LSD_GUARD_END
}

LSD_API lsd_status lsd_client_submit(lsd_client* c, const lsd_frame_in* frame, uint64_t* frame_id) {
    LSD_GUARD_BEGIN
    if (!c) { set_last_error("client is NULL"); return LSD_E_INVALID_ARGUMENT; }
    lsd_frame_in f;
    if (!read_struct(frame, f, "frame")) return LSD_E_INVALID_ARGUMENT;
    if (f.device_ptr) { set_last_error("device pointers need a cuda transport (not in this build)"); return LSD_E_UNSUPPORTED; }
    if (!f.data) { set_last_error("frame.data is NULL"); return LSD_E_INVALID_ARGUMENT; }
    if (!valid_format(f.format)) { set_last_error("frame.format is not an lsd_format"); return LSD_E_INVALID_ARGUMENT; }
    return c->impl.submit(f, frame_id);
    LSD_GUARD_END
}

LSD_API lsd_status lsd_client_take(lsd_client* c, lsd_frame_out* out, uint32_t timeout_ms) {
    LSD_GUARD_BEGIN
    if (!c) { set_last_error("client is NULL"); return LSD_E_INVALID_ARGUMENT; }
    lsd_frame_out o;
    if (!read_struct(out, o, "frame_out")) return LSD_E_INVALID_ARGUMENT;
    if (o.device_ptr) { set_last_error("device pointers need a cuda transport (not in this build)"); return LSD_E_UNSUPPORTED; }
    if (!o.data) { set_last_error("frame_out.data is NULL"); return LSD_E_INVALID_ARGUMENT; }
    lsd_status s = c->impl.take(o, timeout_ms);
    if (s == LSD_OK) write_struct(out, o);
    return s;
    LSD_GUARD_END
}

LSD_API lsd_status lsd_client_get_stats(lsd_client* c, lsd_stats* out) {
    LSD_GUARD_BEGIN
    if (!c || !out || out->struct_size < sizeof(uint32_t) * 2) {
        set_last_error("client or stats is NULL, or stats.struct_size is not set");
        return LSD_E_INVALID_ARGUMENT;
    }
    lsd_stats s{};
    s.struct_size = sizeof s;
    c->impl.stats(s);
    write_struct(out, s);
    return LSD_OK;
    LSD_GUARD_END
}

LSD_API void lsd_client_close(lsd_client* c) {
    if (!c) return;
    try {
        c->impl.close();
    } catch (...) {
    }
    delete c;
}

}  // extern "C"
