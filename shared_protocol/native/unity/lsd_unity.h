/*
 * LSD Bridge Unity glue: what the package's C# calls in addition to lsd_client.h.
 * Compiled into the same shared library (CMake option LSD_WITH_UNITY_GLUE).
 *
 * Render-thread plumbing: C# gets the callback once (lsd_unity_get_render_event_func) and
 * queues it with CommandBuffer.IssuePluginEventAndData(callback, LSD_UNITY_EVENT_*, data),
 * where data points to an lsd_unity_texture_event in unmanaged memory that stays alive
 * until the event ran (the C# side keeps it for the texture's lifetime). The callback runs
 * on Unity's render thread with the graphics device current.
 *
 * GPU path: with `client` set, REGISTER also registers the texture with CUDA (OpenGL Core,
 * Direct3D 11); CAPTURE then copies it into an input slot and sends the frame
 * (lsd_client_submit_texture), PRESENT copies the newest finished frame into it
 * (lsd_client_take_texture). Over cuda_ipc the pixels never leave the GPU; on a binding that
 * fell back to shm the same events copy through host memory. Where the glue cannot do it
 * (no NVIDIA driver, Direct3D 12, Vulkan, Metal) `status` / `cuda_status` say so and the
 * package uses the AsyncGPUReadback + shm path.
 */
#ifndef LSD_BRIDGE_LSD_UNITY_H
#define LSD_BRIDGE_LSD_UNITY_H

#include <stdint.h>

#include "lsd_bridge/lsd_client.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Event ids (one range, unlikely to collide with other plugins' ids). */
#define LSD_UNITY_EVENT_BASE 0x4C534400
enum {
    LSD_UNITY_EVENT_REGISTER_TEXTURE = LSD_UNITY_EVENT_BASE + 0, /* look the texture up on the device */
    LSD_UNITY_EVENT_CAPTURE = LSD_UNITY_EVENT_BASE + 1,          /* copy texture -> input slot (GPU path) */
    LSD_UNITY_EVENT_PRESENT = LSD_UNITY_EVENT_BASE + 2,          /* copy output slot -> texture (GPU path) */
    LSD_UNITY_EVENT_UNREGISTER_TEXTURE = LSD_UNITY_EVENT_BASE + 3
};

typedef struct lsd_unity_texture_event {
    uint32_t struct_size;
    int32_t status;          /* out: lsd_status of the last event on this record */
    void* native_texture;    /* Texture.GetNativeTexturePtr(): ID3D11Resource*, ID3D12Resource*, GLuint, VkImage* */
    uint32_t width, height;  /* in: what C# expects; out (REGISTER): what the device reports, 0 if unknown */
    int32_t renderer;        /* out: UnityGfxRenderer the event ran under */
    uint32_t native_format;  /* out (REGISTER): DXGI_FORMAT / GL internal format / VkFormat, 0 if unknown */
    uint64_t events_handled; /* out: how many events ran on this record */
    /* appended in 0.4: the GPU path */
    lsd_client* client;            /* in: the session the frames go to; NULL: describe the texture only */
    int32_t write;                 /* in: 1 for a texture PRESENT writes (the output), 0 for CAPTURE's */
    lsd_format format;             /* in: the ring's format (the texture's bytes as they are) */
    double time;                   /* in (CAPTURE): the frame's capture time */
    uint32_t flags;                /* in (CAPTURE): LSD_FRAME_RESET */
    int32_t cuda_status;           /* out (REGISTER): lsd_status of registering the texture with CUDA */
    uint64_t frame_id;             /* out: CAPTURE: the frame sent; PRESENT: the frame written, 0: none new */
    lsd_gpu_texture* cuda_texture; /* internal: the CUDA registration (released by UNREGISTER) */
} lsd_unity_texture_event;

/* UnityRenderingEventAndData to pass to CommandBuffer.IssuePluginEventAndData. */
LSD_API void* lsd_unity_get_render_event_func(void);

/* UnityGfxRenderer of the current device (-1 before UnityPluginLoad, e.g. outside Unity). */
LSD_API int32_t lsd_unity_renderer(void);

/* Device events seen (initialize, shutdown, reset...), for diagnostics. */
LSD_API uint64_t lsd_unity_device_events(void);

/* LSD_OK when the GPU texture path can run on this device (an NVIDIA driver, OpenGL Core or
 * Direct3D 11); LSD_E_UNSUPPORTED otherwise, lsd_unity_gpu_path_message says why. Whether the
 * frames then stay on the GPU is the runtime's answer: lsd_client_get_transport. */
LSD_API lsd_status lsd_unity_gpu_path_status(void);

/* Why the GPU path is not available, or ""; valid until the library is unloaded. */
LSD_API const char* lsd_unity_gpu_path_message(void);

#ifdef __cplusplus
}
#endif
#endif
