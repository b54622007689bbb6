// The exported C functions: argument checks, status codes, thread-local last error.
#include <cstring>
#include <new>
#include <string>
#include <tuple>

#include "c_api_internal.hpp"
#include "cuda_loader.hpp"
#include "state_file.hpp"

namespace lsd {
namespace {
thread_local std::string g_last_error;
}
void set_last_error(const std::string& message) { g_last_error = message; }
const char* g_last_error_c_str() { return g_last_error.c_str(); }
void clear_last_error() { g_last_error.clear(); }
}  // namespace lsd

using lsd::set_last_error;
using namespace lsd::capi;

namespace {

std::string range(uint64_t low, uint64_t high) { return std::to_string(low) + ".." + std::to_string(high); }

bool check_ring(const lsd_ring_desc& r, const char* which) {
    std::string w = which;
    if (r.width < LSD_MIN_DIMENSION || r.width > LSD_MAX_DIMENSION || r.height < LSD_MIN_DIMENSION ||
        r.height > LSD_MAX_DIMENSION) {
        set_last_error(w + " ring size " + std::to_string(r.width) + "x" + std::to_string(r.height) + " is outside " +
                       range(LSD_MIN_DIMENSION, LSD_MAX_DIMENSION));
        return false;
    }
    if (!valid_format(r.format)) {
        set_last_error(w + " ring format is not an lsd_format");
        return false;
    }
    uint64_t bpp = lsd_proto_bytes_per_pixel(r.format);
    if (r.pitch && (r.pitch < lsd_proto_row_bytes(r.width, r.format) || r.pitch % bpp || r.pitch > LSD_MAX_PITCH)) {
        set_last_error(w + " ring pitch " + std::to_string(r.pitch) +
                       " must be >= width x bytes/pixel, a multiple of "
                       "bytes/pixel and <= " +
                       std::to_string(LSD_MAX_PITCH));
        return false;
    }
    if (r.slots > LSD_MAX_SLOTS) {
        set_last_error(w + " ring slots must be 0 (default " + std::to_string(LSD_DEFAULT_SLOTS) + ") or " +
                       range(LSD_MIN_SLOTS, LSD_MAX_SLOTS));
        return false;
    }
    int color = enum_value(r.color);
    if (color != LSD_COLOR_DEFAULT && color != LSD_COLOR_SRGB && color != LSD_COLOR_LINEAR) {
        set_last_error(w + " ring color is not an lsd_color");
        return false;
    }
    return true;
}

// The bind's motion and depth planes (0.3): known enums, a pitch that fits, shm only, and a
// device depth's planes. Sets each plane's bytes per pixel (0: none).
bool check_planes(const lsd_bind_desc& d, int transport, uint32_t& motion_bpp, uint32_t& depth_bpp) {
    int mf = enum_value(d.motion.format), df = enum_value(d.depth.format);
    if (mf != LSD_MOTION_NONE && mf != LSD_MOTION_RG16F && mf != LSD_MOTION_RG32F) {
        set_last_error("motion.format is not an lsd_motion_format");
        return false;
    }
    if (df != LSD_DEPTH_NONE && df != LSD_DEPTH_R16F && df != LSD_DEPTH_R32F) {
        set_last_error("depth.format is not an lsd_depth_format");
        return false;
    }
    motion_bpp = lsd_proto_motion_format_bytes_per_pixel(d.motion.format);
    depth_bpp = lsd_proto_depth_format_bytes_per_pixel(d.depth.format);
    if ((motion_bpp || depth_bpp) && transport != LSD_TRANSPORT_SHM) {
        set_last_error("motion and depth planes travel in shared memory only (LSD_TRANSPORT_SHM)");
        return false;
    }
    if (motion_bpp) {
        int units = enum_value(d.motion.units), sign = enum_value(d.motion.sign);
        if ((units != LSD_MOTION_UNITS_PIXELS && units != LSD_MOTION_UNITS_UV) ||
            (sign != LSD_MOTION_SIGN_CURRENT_MINUS_PREVIOUS && sign != LSD_MOTION_SIGN_PREVIOUS_MINUS_CURRENT)) {
            set_last_error("motion.units or motion.sign is not one of its enum's values");
            return false;
        }
    }
    if (depth_bpp) {
        int kind = enum_value(d.depth.kind);
        if (kind != LSD_DEPTH_KIND_LINEAR && kind != LSD_DEPTH_KIND_DEVICE) {
            set_last_error("depth.kind is not an lsd_depth_kind");
            return false;
        }
        if (kind == LSD_DEPTH_KIND_DEVICE &&
            !(d.depth.near_plane > 0.0f && (d.depth.far_plane == 0.0f || d.depth.far_plane > d.depth.near_plane))) {
            set_last_error("device depth needs depth.near_plane > 0 and depth.far_plane > near_plane (0: infinite)");
            return false;
        }
    }
    for (auto [bpp, pitch, name] :
         {std::make_tuple(motion_bpp, d.motion.pitch, "motion"), std::make_tuple(depth_bpp, d.depth.pitch, "depth")}) {
        uint64_t row = static_cast<uint64_t>(d.input.width) * bpp;
        if (bpp && pitch && (pitch < row || pitch % bpp || pitch > LSD_MAX_PITCH)) {
            set_last_error(std::string(name) + ".pitch " + std::to_string(pitch) + " must be >= input width x " +
                           std::to_string(bpp) + " bytes, a multiple of " + std::to_string(bpp) +
                           " and <= " + std::to_string(LSD_MAX_PITCH));
            return false;
        }
    }
    return true;
}

bool valid_model_side(uint32_t v) { return v >= LSD_MIN_MODEL_DIMENSION && v <= LSD_MAX_MODEL_DIMENSION; }

}  // namespace

extern "C" {

LSD_API const char* lsd_version(void) { return LSD_VERSION_STRING; }

LSD_API const char* lsd_status_string(lsd_status s) { return lsd_proto_status_name(s); }

LSD_API const char* lsd_last_error(void) { return lsd::g_last_error_c_str(); }

LSD_API uint32_t lsd_format_bytes_per_pixel(lsd_format f) { return lsd_proto_bytes_per_pixel(f); }

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
    if (!out) {
        set_last_error("out is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
    *out = nullptr;
    lsd_client_config cfg;
    if (!read_struct(cfg_in, cfg, "config")) return LSD_E_INVALID_ARGUMENT;
    if (!cfg.state_dir && (!cfg.endpoint || !*cfg.endpoint || !cfg.token)) {
        set_last_error("config needs endpoint and token, or state_dir");
        return LSD_E_INVALID_ARGUMENT;
    }
    if (!cfg.state_dir && lsd::remote_endpoint(cfg.endpoint) && (!cfg.server_key || !*cfg.server_key)) {
        set_last_error(lsd::remote_without_key_message(cfg.endpoint));
        return LSD_E_INVALID_ARGUMENT;
    }
    if (cfg.server_key && *cfg.server_key && std::strlen(cfg.server_key) != 40) {
        set_last_error("config.server_key must be the runtime's 40-character Z85 CURVE key");
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
    if (!c) {
        set_last_error("client is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
    return c->impl.connect(timeout_ms);
    LSD_GUARD_END
}

LSD_API lsd_conn_state lsd_client_state(lsd_client* c) {
    if (!c) return LSD_STATE_CLOSED;
    try {
        return c->impl.state();
    } catch (...) { return LSD_STATE_CLOSED; }
}

LSD_API void lsd_bind_desc_init(lsd_bind_desc* d, uint32_t width, uint32_t height, lsd_format format) {
    if (!d) return;
    *d = lsd_bind_desc{};
    d->struct_size = sizeof *d;
    d->transport = LSD_TRANSPORT_SHM;
    d->codec = LSD_CODEC_LZ4;
    for (lsd_ring_desc* r : {&d->input, &d->output}) {
        r->struct_size = sizeof *r;
        r->width = width;
        r->height = height;
        r->format = format;
        r->slots = LSD_DEFAULT_SLOTS;
    }
}

LSD_API lsd_status lsd_client_bind(lsd_client* c, const lsd_bind_desc* desc, uint32_t timeout_ms) {
    LSD_GUARD_BEGIN
    if (!c) {
        set_last_error("client is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
    lsd_bind_desc d;
    if (!read_struct(desc, d, "bind desc")) return LSD_E_INVALID_ARGUMENT;
    int transport = enum_value(d.transport);
    if (transport != LSD_TRANSPORT_SHM && transport != LSD_TRANSPORT_INLINE && transport != LSD_TRANSPORT_CUDA_IPC) {
        set_last_error(transport == LSD_TRANSPORT_CUDA_VMM
                           ? "cuda_vmm is not in this build yet: bind LSD_TRANSPORT_CUDA_IPC (Linux) or shm"
                           : "transport is not an lsd_transport");
        return LSD_E_UNSUPPORTED;
    }
    if (transport == LSD_TRANSPORT_CUDA_IPC && d.device_ordinal < 0) {
        set_last_error("device_ordinal is " + std::to_string(d.device_ordinal) + "; a CUDA device ordinal is >= 0");
        return LSD_E_INVALID_ARGUMENT;
    }
    if (!check_ring(d.input, "input") || !check_ring(d.output, "output")) return LSD_E_INVALID_ARGUMENT;
    int codec = enum_value(d.codec);
    if (codec != LSD_CODEC_NONE && codec != LSD_CODEC_LZ4) {
        set_last_error("codec is not an lsd_codec (LSD_CODEC_NONE or LSD_CODEC_LZ4)");
        return LSD_E_INVALID_ARGUMENT;
    }
    uint32_t motion_bpp = 0, depth_bpp = 0;
    if (!check_planes(d, transport, motion_bpp, depth_bpp)) return LSD_E_INVALID_ARGUMENT;
    auto ring_bytes = [](const lsd_ring_desc& r) {
        return lsd_proto_slot_bytes(r.width, r.height, r.format, r.pitch) * (r.slots ? r.slots : LSD_DEFAULT_SLOTS);
    };
    auto plane_bytes = [&d](uint32_t bpp, uint32_t pitch) -> uint64_t {
        if (!bpp) return 0;
        uint64_t row = pitch ? pitch : static_cast<uint64_t>(d.input.width) * bpp;
        return row * d.input.height * (d.input.slots ? d.input.slots : LSD_DEFAULT_SLOTS);
    };
    uint64_t total = ring_bytes(d.input) + ring_bytes(d.output) + plane_bytes(motion_bpp, d.motion.pitch) +
                     plane_bytes(depth_bpp, d.depth.pitch);
    if (total > LSD_MAX_BIND_BYTES) {
        set_last_error("the rings would take " + std::to_string(total >> 20) + " MiB; the limit is " +
                       std::to_string(LSD_MAX_BIND_BYTES >> 20) + " MiB (fewer slots or a smaller format)");
        return LSD_E_INVALID_ARGUMENT;
    }
    if ((d.model_width == 0) != (d.model_height == 0) ||
        (d.model_width && (!valid_model_side(d.model_width) || !valid_model_side(d.model_height)))) {
        set_last_error("model_width/model_height: both 0, or both " +
                       range(LSD_MIN_MODEL_DIMENSION, LSD_MAX_MODEL_DIMENSION));
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
    if (!c) {
        set_last_error("client is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
    lsd_style_desc s;
    if (!read_struct(style, s, "style")) return LSD_E_INVALID_ARGUMENT;
    lsd::StyleRequest r;
    if (s.model) {
        r.has_model = true;
        r.model = s.model;
    }
    if (s.style) {
        r.has_style = true;
        r.style = s.style;
    }
    if (s.prompt) {
        r.has_prompt = true;
        r.prompt = s.prompt;
    }
    if (s.backend && *s.backend) {
        r.has_backend = true;
        r.backend = s.backend;
    } else if (r.has_style && !r.has_model) {
        r.has_backend = true;  // a style alone is an effects style, as before 0.2
        r.backend = "effects";
    }
    if (r.has_model && (r.has_backend || r.has_style)) {
        set_last_error("give model, or backend with style, not both");
        return LSD_E_INVALID_ARGUMENT;
    }
    if (r.backend.size() > LSD_MAX_STRING_BYTES || r.style.size() > LSD_MAX_STRING_BYTES ||
        r.model.size() > LSD_MAX_STRING_BYTES || r.prompt.size() > LSD_MAX_PROMPT_BYTES) {
        set_last_error("backend/style/model are limited to " + std::to_string(LSD_MAX_STRING_BYTES) +
                       " bytes, prompt to " + std::to_string(LSD_MAX_PROMPT_BYTES));
        return LSD_E_INVALID_ARGUMENT;
    }
    if (s.has_strength) {
        if (!(s.strength >= 0.0 && s.strength <= 1.0)) {
            set_last_error("strength must be 0..1");
            return LSD_E_INVALID_ARGUMENT;
        }
        r.has_strength = true;
        r.strength = s.strength;
    }
    if (s.has_seed) {
        r.has_seed = true;
        r.seed = s.seed;
    }
    return c->impl.set_style(r, timeout_ms);
    LSD_GUARD_END
}

LSD_API lsd_status lsd_client_submit(lsd_client* c, const lsd_frame_in* frame, uint64_t* frame_id) {
    LSD_GUARD_BEGIN
    if (!c) {
        set_last_error("client is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
    lsd_frame_in f;
    if (!read_struct(frame, f, "frame")) return LSD_E_INVALID_ARGUMENT;
    if (f.device_ptr) {
        set_last_error("frame.device_ptr is for frames on the GPU: use lsd_client_submit_cuda");
        return LSD_E_INVALID_ARGUMENT;
    }
    if (f.flags & ~static_cast<uint32_t>(LSD_FRAME_FLAGS_KNOWN)) {
        set_last_error("frame.flags has bits beyond LSD_FRAME_RESET, LSD_FRAME_MOTION and LSD_FRAME_DEPTH");
        return LSD_E_INVALID_ARGUMENT;
    }
    if (!f.data) {
        set_last_error("frame.data is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
    if (!valid_format(f.format)) {
        set_last_error("frame.format is not an lsd_format");
        return LSD_E_INVALID_ARGUMENT;
    }
    return c->impl.submit(f, frame_id);
    LSD_GUARD_END
}

LSD_API lsd_status lsd_client_take(lsd_client* c, lsd_frame_out* out, uint32_t timeout_ms) {
    LSD_GUARD_BEGIN
    if (!c) {
        set_last_error("client is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
    lsd_frame_out o;
    if (!read_struct(out, o, "frame_out")) return LSD_E_INVALID_ARGUMENT;
    if (o.device_ptr) {
        set_last_error("frame_out.device_ptr is for frames on the GPU: use lsd_client_take_cuda");
        return LSD_E_INVALID_ARGUMENT;
    }
    if (!o.data) {
        set_last_error("frame_out.data is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
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

LSD_API lsd_status lsd_client_get_style(lsd_client* c, lsd_style_info* out) {
    LSD_GUARD_BEGIN
    if (!c || !out || out->struct_size < sizeof(uint32_t) * 2) {
        set_last_error("client or style info is NULL, or its struct_size is not set");
        return LSD_E_INVALID_ARGUMENT;
    }
    lsd_style_info info{};
    info.struct_size = sizeof info;
    c->impl.style_info(info);
    write_struct(out, info);
    return LSD_OK;
    LSD_GUARD_END
}

LSD_API void lsd_client_close(lsd_client* c) {
    if (!c) return;
    try {
        c->impl.close();
    } catch (...) {}
    delete c;
}

}  // extern "C"
