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

#define LSD_PROTOCOL_VERSION 1
#define LSD_MAX_SLOTS 8

typedef enum lsd_status {
    LSD_OK = 0,
    LSD_PENDING = 1,          /* sent; the runtime has not answered within timeout_ms (it still may) */
    LSD_NO_FRAME = 2,         /* take: no new finished frame yet */
    LSD_NO_FREE_SLOT = 3,     /* submit: every input slot is with the runtime; this frame was skipped */
    LSD_E_INVALID_ARGUMENT = -1,
    LSD_E_NOT_CONNECTED = -2, /* no session with a runtime (absent, starting, restarting) */
    LSD_E_NOT_BOUND = -3,     /* connected, but no rings bound (call lsd_client_bind) */
    LSD_E_REJECTED = -4,      /* the runtime answered `error` (see lsd_last_error) */
    LSD_E_UNSUPPORTED = -5,   /* e.g. a transport this build cannot use yet */
    LSD_E_MISMATCH = -6,      /* frame size/format does not match the bound ring */
    LSD_E_IO = -7,            /* state file, shared memory or socket failure */
    LSD_E_CLOSED = -8,        /* the handle is closing */
    LSD_E_INTERNAL = -9
} lsd_status;

typedef enum lsd_conn_state {
    LSD_STATE_IDLE = 0,        /* created, lsd_client_connect not called yet */
    LSD_STATE_CONNECTING = 1,  /* waiting for welcome (or retrying after a failure) */
    LSD_STATE_CONNECTED = 2,   /* session open, rings not bound */
    LSD_STATE_READY = 3,       /* rings bound: frames can flow */
    LSD_STATE_CLOSED = 4
} lsd_conn_state;

typedef enum lsd_transport {
    LSD_TRANSPORT_SHM = 0,      /* named shared memory per slot (implemented) */
    LSD_TRANSPORT_CUDA_IPC = 1, /* reserved: device pointers through cuIpc handles */
    LSD_TRANSPORT_CUDA_VMM = 2, /* reserved: cuMemCreate shareable handles */
    LSD_TRANSPORT_INLINE = 3    /* reserved: pixels inside messages */
} lsd_transport;

typedef enum lsd_format {
    LSD_FORMAT_RGBA8 = 0,   /* 4 bytes per pixel */
    LSD_FORMAT_BGRA8 = 1,   /* 4 bytes per pixel */
    LSD_FORMAT_RGBA16F = 2  /* 8 bytes per pixel, IEEE half floats */
} lsd_format;

typedef enum lsd_color {
    LSD_COLOR_DEFAULT = 0,  /* srgb for 8-bit formats, linear for rgba16f */
    LSD_COLOR_SRGB = 1,
    LSD_COLOR_LINEAR = 2
} lsd_color;

/* ---- library ------------------------------------------------------------------ */

LSD_API const char* lsd_version(void);                 /* "0.1.0" */
LSD_API const char* lsd_status_string(lsd_status s);   /* "LSD_OK", ... */
LSD_API const char* lsd_last_error(void);              /* this thread's last error, "" if none */
LSD_API uint32_t lsd_format_bytes_per_pixel(lsd_format f);

/* libcuda is loaded at run time (dlopen / LoadLibrary) when present; nothing links CUDA. */
LSD_API int lsd_cuda_available(void);      /* 1: driver loaded, cuInit ok and >= 1 device */
LSD_API int lsd_cuda_device_count(void);   /* -1 when no driver */

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
    const char* endpoint;     /* e.g. "tcp://127.0.0.1:7788"; ignored when state_dir is set */
    const char* token;        /* session token; ignored when state_dir is set */
    const char* state_dir;    /* non-NULL: read endpoint+token from STATE_DIR/runtime.json on every
                                 (re)connect; "" means the default directory */
    const char* client_name;  /* sent in hello, e.g. "unity/0.1.0"; NULL: "lsd-native/<version>" */
    uint32_t heartbeat_ms;    /* ping when idle this often; 0: the runtime's welcome value (500) */
    uint32_t timeout_ms;      /* no reply this long = runtime gone; 0: the runtime's value (2000) */
    uint32_t reconnect_max_ms;/* longest wait between reconnect attempts; 0: 1000 */
} lsd_client_config;

LSD_API void lsd_client_config_init(lsd_client_config* cfg);

/* Creates the handle and starts its I/O thread; does not wait for the runtime. */
LSD_API lsd_status lsd_client_create(const lsd_client_config* cfg, lsd_client** out);
/* Same with cfg.state_dir = state_dir (NULL: default directory) and the given name. */
LSD_API lsd_status lsd_client_create_from_state(const char* state_dir, const char* client_name,
                                                lsd_client** out);

/* Starts connecting (hello/welcome) and waits up to timeout_ms for the session.
 * LSD_OK: session open. LSD_E_NOT_CONNECTED: not yet; the client keeps trying. */
LSD_API lsd_status lsd_client_connect(lsd_client* c, uint32_t timeout_ms);

LSD_API lsd_conn_state lsd_client_state(lsd_client* c);

typedef struct lsd_ring_desc {
    uint32_t struct_size;
    uint32_t width, height;   /* 8..8192 */
    lsd_format format;
    uint32_t pitch;           /* bytes per row in the slot; 0: tightly packed */
    int32_t bottom_up;        /* 1: first memory row is the bottom row (OpenGL/Unity) */
    lsd_color color;
    uint32_t slots;           /* 1..8; 0: 3 */
} lsd_ring_desc;

typedef struct lsd_bind_desc {
    uint32_t struct_size;
    lsd_transport transport;  /* LSD_TRANSPORT_SHM (others: LSD_E_UNSUPPORTED for now) */
    lsd_ring_desc input;
    lsd_ring_desc output;
    uint32_t model_width, model_height;  /* 0, 0: the backend's choice */
    int32_t device_ordinal;   /* reserved for cuda transports */
} lsd_bind_desc;

LSD_API void lsd_bind_desc_init(lsd_bind_desc* d, uint32_t width, uint32_t height, lsd_format format);

/* Requests rings; remembered and re-sent after every reconnect. Waits up to timeout_ms
 * for `bound`. LSD_OK: ready. LSD_PENDING: sent, not answered yet. LSD_E_NOT_CONNECTED:
 * kept, sent once a session exists. LSD_E_REJECTED: the runtime refused it. */
LSD_API lsd_status lsd_client_bind(lsd_client* c, const lsd_bind_desc* desc, uint32_t timeout_ms);

typedef struct lsd_style_desc {
    uint32_t struct_size;
    const char* backend;      /* NULL: "effects" */
    const char* style;        /* NULL: not sent */
    const char* prompt;       /* NULL: not sent */
    int32_t has_strength;
    double strength;          /* 0..1 */
    int32_t has_seed;
    int64_t seed;
} lsd_style_desc;

LSD_API void lsd_style_desc_init(lsd_style_desc* s);

/* Sets the style (remembered; re-sent after reconnects). Waits up to timeout_ms for
 * `style_set`. Same statuses as lsd_client_bind. */
LSD_API lsd_status lsd_client_set_style(lsd_client* c, const lsd_style_desc* style, uint32_t timeout_ms);

typedef struct lsd_frame_in {
    uint32_t struct_size;
    const void* data;         /* CPU pixels, first memory row first */
    uint64_t device_ptr;      /* reserved for cuda transports; must be 0 */
    uint32_t width, height;   /* must equal the input ring's */
    uint32_t pitch;           /* bytes between rows of `data`; 0: tightly packed */
    lsd_format format;        /* must equal the input ring's */
    double time;              /* capture time in seconds; 0: the library's monotonic clock */
    uint32_t flags;           /* bit 0: reset temporal state */
} lsd_frame_in;

/* Copies the frame into a free input slot and queues it; never waits.
 * LSD_NO_FREE_SLOT: every slot is with the runtime, the frame is skipped (latest wins). */
LSD_API lsd_status lsd_client_submit(lsd_client* c, const lsd_frame_in* frame, uint64_t* frame_id);

typedef struct lsd_timings {
    double queue_ms, input_ms, backend_ms, output_ms, total_ms;  /* runtime stages */
    double round_trip_ms;     /* client: submit -> frame_done arrival */
} lsd_timings;

typedef struct lsd_frame_out {
    uint32_t struct_size;
    void* data;               /* caller's buffer */
    uint64_t device_ptr;      /* reserved; must be 0 */
    uint64_t capacity;        /* bytes available at data */
    uint32_t pitch;           /* bytes between rows of data; 0: tightly packed */
    /* filled in: */
    uint32_t width, height;
    lsd_format format;
    uint64_t frame_id;
    double time;              /* the frame's submit time, echoed */
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
    uint64_t frames_submitted;  /* accepted by submit */
    uint64_t frames_done;       /* answered frame_done */
    uint64_t frames_dropped;    /* answered dropped by the runtime */
    uint64_t frames_skipped;    /* submit found no free slot */
    uint64_t frames_lost;       /* in flight when the link went down */
    uint64_t frames_taken;      /* copied out by take */
    uint64_t reconnects;        /* sessions opened after the first */
    uint64_t errors;            /* error replies received */
    lsd_latency queue, input, backend, output, total;  /* runtime stages, last 1024 frames */
    lsd_latency round_trip;     /* client-measured submit -> frame_done */
} lsd_stats;

LSD_API lsd_status lsd_client_get_stats(lsd_client* c, lsd_stats* out);

/* Says bye (best effort, without waiting), stops the I/O thread, unmaps, frees. */
LSD_API void lsd_client_close(lsd_client* c);

#ifdef __cplusplus
}
#endif
#endif
