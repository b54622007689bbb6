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
 * GPU path status: the per-frame copy texture -> CUDA slot belongs to the cuda_ipc /
 * cuda_vmm transports, which the native client does not implement yet. Every GPU event
 * therefore answers LSD_E_UNSUPPORTED ("not available in this build") in `status`; the
 * package then uses the AsyncGPUReadback + shm path.
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
} lsd_unity_texture_event;

/* UnityRenderingEventAndData to pass to CommandBuffer.IssuePluginEventAndData. */
LSD_API void* lsd_unity_get_render_event_func(void);

/* UnityGfxRenderer of the current device (-1 before UnityPluginLoad, e.g. outside Unity). */
LSD_API int32_t lsd_unity_renderer(void);

/* Device events seen (initialize, shutdown, reset...), for diagnostics. */
LSD_API uint64_t lsd_unity_device_events(void);

/* LSD_OK when the GPU texture path can run; LSD_E_UNSUPPORTED in this build. */
LSD_API lsd_status lsd_unity_gpu_path_status(void);

/* Why the GPU path is not available, or ""; valid until the library is unloaded. */
LSD_API const char* lsd_unity_gpu_path_message(void);

#ifdef __cplusplus
}
#endif
#endif
