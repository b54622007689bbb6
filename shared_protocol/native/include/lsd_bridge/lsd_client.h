/*
 * LSD Bridge native client: C ABI.
 *
 * Streams engine frames to the lsd-runtime process (wire protocol v1, see
 * shared_protocol/PROTOCOL.md) and hands restyled frames back.
 *
 * ABI rules
 *   - Opaque handles; plain structs whose first member is `struct_size` (set it to
 *     sizeof(the struct) before the call, or use the *_init helpers). Newer library
 *     versions only append members, and read/write only the first struct_size bytes.
 *   - Every call returns an lsd_status (>= 0: success or an expected condition,
 *     < 0: an error). After a call that returned something other than LSD_OK, the
 *     calling thread's lsd_last_error() names what happened.
 *   - No call blocks longer than the timeout_ms it takes (0 = do not wait at all);
 *     calls without a timeout never wait on the runtime. A background I/O thread owns
 *     the ZeroMQ socket, heartbeats, reconnects and re-binds.
 *
 * Thread safety
 *   - lsd_client_* functions on one handle may be called from any threads at the same
 *     time (e.g. submit from the game thread, take from the render thread): the handle
 *     serialises them internally, and the pixel copies of submit and take run outside
 *     the internal lock so they do not hold each other up.
 *   - lsd_client_close ends the handle: call it once, after every other thread has
 *     stopped using that handle (no call may be in progress or start afterwards).
 *   - lsd_last_error() is per thread: it describes the last failing call made by the
 *     calling thread, and the pointer stays valid until that thread's next call.
 *   - Functions without a handle (lsd_version, lsd_read_runtime_state,
 *     lsd_cuda_available, ...) are thread-safe.
 *
 * Runtime absent, killed or restarted
 *   Calls return LSD_E_NOT_CONNECTED / LSD_E_NOT_BOUND instead of waiting; the client
 *   keeps reconnecting in the background (re-reading runtime.json when it was created
 *   from a state directory), says hello, binds the last requested rings again and
 *   re-sends the last style. Frames in flight when the link died are counted in
 *   lsd_stats.frames_lost.
 */
#ifndef LSD_BRIDGE_LSD_CLIENT_H
#define LSD_BRIDGE_LSD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "lsd_protocol.h"

#if defined(_WIN32)
#  if defined(LSD_BUILDING_LIBRARY)
#    define LSD_API __declspec(dllexport)
#  else
#    define LSD_API __declspec(dllimport)
#  endif
#else
#  define LSD_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The protocol's limits, defaults and enums (lsd_status, lsd_conn_state, lsd_transport,
 * lsd_format, lsd_color, ...) come from lsd_protocol.h, generated from
 * shared_protocol/schema/protocol.json. */

/* ---- library ------------------------------------------------------------------ */

LSD_API const char* lsd_version(void);               /* "0.1.0" */
LSD_API const char* lsd_status_string(lsd_status s); /* "LSD_OK", ... */
LSD_API const char* lsd_last_error(void);            /* this thread's last error, "" if none */
LSD_API uint32_t lsd_format_bytes_per_pixel(lsd_format f);

/* libcuda is loaded at run time (dlopen / LoadLibrary) when present; nothing links CUDA. */
LSD_API int lsd_cuda_available(void);    /* 1: driver loaded, cuInit ok and >= 1 device */
LSD_API int lsd_cuda_device_count(void); /* -1 when no driver */

/* ---- discovery ------------------------------------------------------------------ */

typedef struct lsd_runtime_info {
    uint32_t struct_size;
    char endpoint[256];
    char token[256];
    int64_t pid;
    char version[64];
} lsd_runtime_info;

/* Reads STATE_DIR/runtime.json. state_dir NULL or "": $LSD_BRIDGE_HOME, else ~/.lsd-bridge. */
LSD_API lsd_status lsd_read_runtime_state(const char* state_dir, lsd_runtime_info* out);

/* ---- client ------------------------------------------------------------------------ */

typedef struct lsd_client lsd_client;

typedef struct lsd_client_config {
    uint32_t struct_size;
    const char* endpoint;      /* e.g. "tcp://127.0.0.1:7788"; ignored when state_dir is set */
    const char* token;         /* session token; ignored when state_dir is set */
    const char* state_dir;     /* non-NULL: read endpoint+token from STATE_DIR/runtime.json on every
                                  (re)connect; "" means the default directory */
    const char* client_name;   /* sent in hello, e.g. "unity/0.1.0"; NULL: "lsd-native/<version>" */
    uint32_t heartbeat_ms;     /* ping when idle this often; 0: the runtime's welcome value (500) */
    uint32_t timeout_ms;       /* no reply this long = runtime gone; 0: the runtime's value (2000) */
    uint32_t reconnect_max_ms; /* longest wait between reconnect attempts; 0: 1000 */
    /* appended in 0.2: the runtime's CURVE public key (40 Z85 characters). A runtime on another
       machine encrypts its endpoint with CURVE and writes this key to runtime.json (read from
       there when state_dir is set); NULL/"": from the state file, or no encryption for loopback.
       A non-loopback endpoint without a key is refused with a clear error. */
    const char* server_key;
} lsd_client_config;

LSD_API void lsd_client_config_init(lsd_client_config* cfg);

/* Creates the handle and starts its I/O thread; does not wait for the runtime. */
LSD_API lsd_status lsd_client_create(const lsd_client_config* cfg, lsd_client** out);
/* Same with cfg.state_dir = state_dir (NULL: default directory) and the given name. */
LSD_API lsd_status lsd_client_create_from_state(const char* state_dir, const char* client_name, lsd_client** out);

/* Starts connecting (hello/welcome) and waits up to timeout_ms for the session.
 * LSD_OK: session open. LSD_E_NOT_CONNECTED: not yet; the client keeps trying. */
LSD_API lsd_status lsd_client_connect(lsd_client* c, uint32_t timeout_ms);

LSD_API lsd_conn_state lsd_client_state(lsd_client* c);

typedef struct lsd_ring_desc {
    uint32_t struct_size;
    uint32_t width, height; /* LSD_MIN_DIMENSION..LSD_MAX_DIMENSION */
    lsd_format format;
    uint32_t pitch;    /* bytes per row in the slot; 0: tightly packed */
    int32_t bottom_up; /* 1: first memory row is the bottom row (OpenGL/Unity) */
    lsd_color color;
    uint32_t slots; /* 1..8; 0: 3 */
} lsd_ring_desc;

/* The engine's motion vectors beside the input ring (appended in 0.3): same width, height,
   slots and row order as the input ring, shm transport only. format LSD_MOTION_NONE: none. */
typedef struct lsd_motion_desc {
    lsd_motion_format format; /* LSD_MOTION_RG16F or LSD_MOTION_RG32F */
    lsd_motion_units units;   /* LSD_MOTION_UNITS_PIXELS or _UV */
    lsd_motion_sign sign;     /* LSD_MOTION_SIGN_CURRENT_MINUS_PREVIOUS (Unity, Unreal) or the other way */
    int32_t y_up;             /* 1: +y points up the image (UV / NDC), 0: down the rows */
    uint32_t pitch;           /* bytes per row; 0: tightly packed */
} lsd_motion_desc;

/* The engine's depth beside the input ring (appended in 0.3). format LSD_DEPTH_NONE: none. */
typedef struct lsd_depth_desc {
    lsd_depth_format format; /* LSD_DEPTH_R16F or LSD_DEPTH_R32F */
    lsd_depth_kind kind;     /* LSD_DEPTH_KIND_LINEAR (view depth) or _DEVICE (the 0..1 depth buffer) */
    int32_t reversed_z;      /* device depth: 1 when 1.0 is near (reversed-Z) */
    float near_plane;        /* device depth: the camera's near plane (> 0) */
    float far_plane;         /* device depth: its far plane (> near), or 0 for an infinite one */
    uint32_t pitch;          /* bytes per row; 0: tightly packed */
} lsd_depth_desc;

typedef struct lsd_bind_desc {
    uint32_t struct_size;
    lsd_transport transport; /* LSD_TRANSPORT_SHM (same machine), LSD_TRANSPORT_INLINE (pixels inside the
                                messages: a runtime on another machine) or LSD_TRANSPORT_CUDA_IPC (frames stay
                                on the GPU; Linux, NVIDIA). cuda_ipc falls back to shm when the driver, the
                                runtime or the GPU cannot serve it: lsd_client_get_transport says which and
                                why. cuda_vmm: LSD_E_UNSUPPORTED. A session opened for another transport is
                                reopened for this one. */
    lsd_ring_desc input;
    lsd_ring_desc output;
    uint32_t model_width, model_height; /* 0, 0: the backend's choice */
    int32_t device_ordinal;             /* cuda_ipc: the CUDA device (ordinal in this process) the frames are on */
    /* appended in 0.2: inline only, the compression offered for the pixel data: LSD_CODEC_LZ4
       (what lsd_bind_desc_init sets: each frame is sent as an LZ4 block when that pays, raw
       otherwise; used when the runtime and this build have LZ4) or LSD_CODEC_NONE. */
    lsd_codec codec;
    /* appended in 0.3: the engine's planes (lsd_bind_desc_init: none); lsd_client_submit fills
       them from lsd_frame_in.motion / .depth */
    lsd_motion_desc motion;
    lsd_depth_desc depth;
} lsd_bind_desc;

LSD_API void lsd_bind_desc_init(lsd_bind_desc* d, uint32_t width, uint32_t height, lsd_format format);

/* Requests rings; remembered and re-sent after every reconnect. Waits up to timeout_ms
 * for `bound`. LSD_OK: ready. LSD_PENDING: sent, not answered yet. LSD_E_NOT_CONNECTED:
 * kept, sent once a session exists. LSD_E_REJECTED: the runtime refused it. */
LSD_API lsd_status lsd_client_bind(lsd_client* c, const lsd_bind_desc* desc, uint32_t timeout_ms);

typedef struct lsd_style_desc {
    uint32_t struct_size;
    const char* backend; /* NULL: not sent (with a style and no model: "effects") */
    const char* style;   /* NULL: not sent */
    const char* prompt;  /* NULL: not sent */
    int32_t has_strength;
    double strength; /* 0..1 */
    int32_t has_seed;
    int64_t seed;
    /* appended in 0.2: the model name the runtime resolves ("toon", "watercolor", "effects",
     * "effects:sketch", "sd-turbo", a folder; PROTOCOL.md section 11). Give it instead of
     * backend/style. NULL with backend and style NULL: the runtime's default model
     * (LSD_DEFAULT_MODEL). */
    const char* model;
} lsd_style_desc;

LSD_API void lsd_style_desc_init(lsd_style_desc* s);

/* Sets the style (remembered; re-sent after reconnects). Waits up to timeout_ms for
 * `style_set`. Same statuses as lsd_client_bind. */
LSD_API lsd_status lsd_client_set_style(lsd_client* c, const lsd_style_desc* style, uint32_t timeout_ms);

typedef struct lsd_frame_in {
    uint32_t struct_size;
    const void* data;       /* CPU pixels, first memory row first */
    uint64_t device_ptr;    /* must be 0 (frames on the GPU: lsd_client_submit_cuda) */
    uint32_t width, height; /* must equal the input ring's */
    uint32_t pitch;         /* bytes between rows of `data`; 0: tightly packed */
    lsd_format format;      /* must equal the input ring's */
    double time;            /* capture time in seconds; 0: the library's monotonic clock */
    uint32_t flags;         /* bit 0 (LSD_FRAME_RESET): reset temporal state, e.g. a camera cut */
    /* appended in 0.3: this frame's motion vectors and depth, laid out as lsd_bind_desc.motion
       and .depth declared (same width, height and row order as data); NULL: not this frame.
       Motion measures from the frame submitted before: after a skipped submit (LSD_NO_FREE_SLOT)
       the next frame's motion is not sent (its depth is). */
    const void* motion;
    uint32_t motion_pitch; /* bytes between rows of motion; 0: tightly packed */
    const void* depth;
    uint32_t depth_pitch; /* bytes between rows of depth; 0: tightly packed */
} lsd_frame_in;

/* Copies the frame into a free input slot and queues it; never waits.
 * LSD_NO_FREE_SLOT: every slot is with the runtime, the frame is skipped (latest wins). */
LSD_API lsd_status lsd_client_submit(lsd_client* c, const lsd_frame_in* frame, uint64_t* frame_id);

typedef struct lsd_timings {
    double queue_ms, input_ms, backend_ms, output_ms, total_ms; /* runtime stages */
    double round_trip_ms;                                       /* client: submit -> frame_done arrival */
} lsd_timings;

typedef struct lsd_frame_out {
    uint32_t struct_size;
    void* data;          /* caller's buffer */
    uint64_t device_ptr; /* must be 0 (frames on the GPU: lsd_client_take_cuda) */
    uint64_t capacity;   /* bytes available at data */
    uint32_t pitch;      /* bytes between rows of data; 0: tightly packed */
    /* filled in: */
    uint32_t width, height;
    lsd_format format;
    uint64_t frame_id;
    double time; /* the frame's submit time, echoed */
    lsd_timings timings;
} lsd_frame_out;

/* Copies the newest finished frame (not taken before) into out->data and hands its slot
 * back to the runtime. Waits up to timeout_ms for one. LSD_NO_FRAME: none yet. */
LSD_API lsd_status lsd_client_take(lsd_client* c, lsd_frame_out* out, uint32_t timeout_ms);

typedef struct lsd_latency {
    double p50_ms, p99_ms;
    uint64_t samples;
} lsd_latency;

typedef struct lsd_stats {
    uint32_t struct_size;
    lsd_conn_state state;
    uint64_t frames_submitted;                        /* accepted by submit */
    uint64_t frames_done;                             /* answered frame_done */
    uint64_t frames_dropped;                          /* answered dropped by the runtime */
    uint64_t frames_skipped;                          /* submit found no free slot */
    uint64_t frames_lost;                             /* in flight when the link went down */
    uint64_t frames_taken;                            /* copied out by take */
    uint64_t reconnects;                              /* sessions opened after the first */
    uint64_t errors;                                  /* error replies received, unusable runtime messages */
    lsd_latency queue, input, backend, output, total; /* runtime stages, last 1024 frames */
    lsd_latency round_trip;                           /* client-measured submit -> frame_done */
    /* appended in 0.2: inline sessions, pixel bytes as they went over the wire (after compression) */
    uint64_t inline_bytes_sent;     /* frame data */
    uint64_t inline_bytes_received; /* frame_done data */
    uint64_t inline_frames_packed;  /* frames (either way) that travelled compressed */
} lsd_stats;

LSD_API lsd_status lsd_client_get_stats(lsd_client* c, lsd_stats* out);

/* What the runtime applied for the last set_style (appended in 0.2). */
typedef struct lsd_style_info {
    uint32_t struct_size;
    lsd_status status; /* LSD_OK: applied (the fields below); LSD_PENDING: not answered yet, or no
                          style asked for (frames pass through); LSD_E_REJECTED: refused, see message
                          (the fields keep the last style applied) */
    char backend[64];  /* "effects", "diffusion" */
    char style[256];   /* the resolved style (effects) or model (diffusion) */
    char model[256];   /* the canonical model name: sent as lsd_style_desc.model it selects the same */
    char matched[64];  /* the prompt word that picked an effects style, or "" */
    char message[256]; /* the runtime's reason when status is LSD_E_REJECTED */
} lsd_style_info;

LSD_API lsd_status lsd_client_get_style(lsd_client* c, lsd_style_info* out);

/* ---- frames on the GPU (appended in 0.4) -----------------------------------------------
 * With LSD_TRANSPORT_CUDA_IPC bound the slots are the runtime's device memory, opened once per
 * binding; these calls copy a frame in and out on a CUDA stream and order it with the slots'
 * interprocess events, never waiting on the host. On a binding that fell back to shm (or
 * inline) they copy between the GPU and the slot's host memory and wait for it; without an
 * NVIDIA driver they return LSD_E_UNSUPPORTED. Streams must belong to the device's primary
 * context (the CUDA runtime API's); NULL: the binding's own stream. */
typedef struct lsd_cuda_frame {
    uint32_t struct_size;
    uint64_t device_ptr;    /* CUdeviceptr of the frame's first memory row; 0 when array is given */
    void* array;            /* a CUarray (graphics interop maps textures to arrays); NULL with device_ptr */
    uint32_t pitch;         /* bytes between rows at device_ptr; 0: tightly packed (ignored for arrays) */
    uint32_t width, height; /* must equal the ring's (take: filled in) */
    lsd_format format;      /* must equal the ring's (take: filled in) */
    void* stream;           /* CUstream the copy is ordered on; NULL: the binding's own stream */
    double time;            /* submit: capture time (0: now); take: the frame's, echoed */
    uint32_t flags;         /* submit: LSD_FRAME_RESET */
    uint64_t frame_id;      /* take: filled in */
    lsd_timings timings;    /* take: filled in */
} lsd_cuda_frame;

/* Copies the frame (device memory or an array) into a free input slot and queues it.
 * LSD_NO_FREE_SLOT: every slot is with the runtime, the frame is skipped (latest wins). */
LSD_API lsd_status lsd_client_submit_cuda(lsd_client* c, const lsd_cuda_frame* frame, uint64_t* frame_id);
/* Copies the newest finished frame into frame->device_ptr / frame->array on frame->stream and
 * hands its slot back; work queued on that stream afterwards sees the frame. Waits up to
 * timeout_ms for one. LSD_NO_FRAME: none yet. */
LSD_API lsd_status lsd_client_take_cuda(lsd_client* c, lsd_cuda_frame* frame, uint32_t timeout_ms);

/* A graphics API texture registered with CUDA once, mapped and unmapped around each copy. */
typedef struct lsd_gpu_texture lsd_gpu_texture;
/* OpenGL: texture name and target (GL_TEXTURE_2D, GL_TEXTURE_RECTANGLE); a context sharing it
 * must be current on the calling thread. write: 1 for a texture take_texture writes into. */
LSD_API lsd_status lsd_gpu_texture_register_gl(lsd_client* c, uint32_t texture, uint32_t target, int32_t write,
                                               lsd_gpu_texture** out);
/* Direct3D 11: an ID3D11Texture2D (as ID3D11Resource*). Windows, written against cudaD3D11.h. */
LSD_API lsd_status lsd_gpu_texture_register_d3d11(lsd_client* c, void* resource, int32_t write, lsd_gpu_texture** out);

/* Direct3D 12 and Vulkan: the texture's memory exported as a handle (cuImportExternalMemory). */
typedef enum lsd_external_handle {
    LSD_EXTERNAL_OPAQUE_FD = 1,     /* Vulkan on Linux: VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT */
    LSD_EXTERNAL_OPAQUE_WIN32 = 2,  /* Vulkan on Windows: ..._OPAQUE_WIN32_BIT */
    LSD_EXTERNAL_D3D12_HEAP = 4,    /* ID3D12Heap shared handle */
    LSD_EXTERNAL_D3D12_RESOURCE = 5 /* committed ID3D12Resource shared handle */
} lsd_external_handle;
typedef struct lsd_external_image_desc {
    uint32_t struct_size;
    lsd_external_handle handle_type;
    int32_t fd;             /* OPAQUE_FD: CUDA owns it after a successful import */
    void* win32_handle;     /* the Windows kinds: an NT handle (the caller keeps it) */
    uint64_t size;          /* bytes of the whole allocation */
    uint64_t offset;        /* where the image starts in it */
    int32_t dedicated;      /* 1: a dedicated allocation (D3D12 committed resources: always) */
    uint32_t width, height; /* the image's, equal to the ring's */
    lsd_format format;
} lsd_external_image_desc;
LSD_API lsd_status lsd_gpu_texture_import(lsd_client* c, const lsd_external_image_desc* desc, lsd_gpu_texture** out);

/* submit / take through a registered texture: frame gives width, height, format, stream, time
 * and flags (device_ptr and array are set by the call). */
LSD_API lsd_status lsd_client_submit_texture(lsd_client* c, lsd_gpu_texture* t, const lsd_cuda_frame* frame,
                                             uint64_t* frame_id);
LSD_API lsd_status lsd_client_take_texture(lsd_client* c, lsd_gpu_texture* t, lsd_cuda_frame* frame,
                                           uint32_t timeout_ms);
/* Unregisters (or releases the imported memory); before the graphics API frees the texture. */
LSD_API void lsd_gpu_texture_release(lsd_gpu_texture* t);

/* Which path the frames are on (appended in 0.4). */
typedef struct lsd_transport_info {
    uint32_t struct_size;
    lsd_transport requested; /* lsd_bind_desc.transport */
    lsd_transport transport; /* what the current binding uses (valid in LSD_STATE_READY) */
    int32_t zero_copy;       /* 1: the slots are device memory (cuda_ipc bound) */
    int32_t cuda_driver;     /* 1: this process has a usable NVIDIA driver */
    char gpu[64];            /* the runtime's GPU when it serves cuda_ipc ("GPU-..."), else "" */
    char reason[256];        /* why transport is not requested; "" when it is */
} lsd_transport_info;
LSD_API lsd_status lsd_client_get_transport(lsd_client* c, lsd_transport_info* out);

/* Says bye (best effort, without waiting), stops the I/O thread, unmaps, frees. */
LSD_API void lsd_client_close(lsd_client* c);

#ifdef __cplusplus
}
#endif
#endif
