/* Prints sizeof and offsetof of every struct in lsd_client.h, one "name value" per line;
 * AbiLayoutTests compares them with Marshal.SizeOf / Marshal.OffsetOf of NativeMethods. */
#include <stddef.h>
#include <stdio.h>
#include "lsd_bridge/lsd_client.h"
#include "lsd_unity.h"

#define S(T) printf(#T " %zu\n", sizeof(T))
#define F(T, f) printf(#T "." #f " %zu\n", offsetof(T, f))

int main(void) {
    S(lsd_status); S(lsd_format);
    S(lsd_runtime_info); F(lsd_runtime_info, endpoint); F(lsd_runtime_info, token); F(lsd_runtime_info, pid);
    F(lsd_runtime_info, version);
    S(lsd_client_config); F(lsd_client_config, endpoint); F(lsd_client_config, token); F(lsd_client_config, state_dir);
    F(lsd_client_config, client_name); F(lsd_client_config, heartbeat_ms); F(lsd_client_config, timeout_ms);
    F(lsd_client_config, reconnect_max_ms); F(lsd_client_config, server_key);
    S(lsd_ring_desc); F(lsd_ring_desc, width); F(lsd_ring_desc, height); F(lsd_ring_desc, format); F(lsd_ring_desc, pitch);
    F(lsd_ring_desc, bottom_up); F(lsd_ring_desc, color); F(lsd_ring_desc, slots);
    S(lsd_bind_desc); F(lsd_bind_desc, transport); F(lsd_bind_desc, input); F(lsd_bind_desc, output);
    F(lsd_bind_desc, model_width); F(lsd_bind_desc, model_height); F(lsd_bind_desc, device_ordinal);
    F(lsd_bind_desc, codec); F(lsd_bind_desc, motion); F(lsd_bind_desc, depth);
    S(lsd_motion_desc); F(lsd_motion_desc, format); F(lsd_motion_desc, units); F(lsd_motion_desc, sign);
    F(lsd_motion_desc, y_up); F(lsd_motion_desc, pitch);
    S(lsd_depth_desc); F(lsd_depth_desc, format); F(lsd_depth_desc, kind); F(lsd_depth_desc, reversed_z);
    F(lsd_depth_desc, near_plane); F(lsd_depth_desc, far_plane); F(lsd_depth_desc, pitch);
    S(lsd_style_desc); F(lsd_style_desc, backend); F(lsd_style_desc, style); F(lsd_style_desc, prompt);
    F(lsd_style_desc, has_strength); F(lsd_style_desc, strength); F(lsd_style_desc, has_seed); F(lsd_style_desc, seed);
    F(lsd_style_desc, model);
    S(lsd_frame_in); F(lsd_frame_in, data); F(lsd_frame_in, device_ptr); F(lsd_frame_in, width); F(lsd_frame_in, height);
    F(lsd_frame_in, pitch); F(lsd_frame_in, format); F(lsd_frame_in, time); F(lsd_frame_in, flags);
    F(lsd_frame_in, motion); F(lsd_frame_in, motion_pitch); F(lsd_frame_in, depth); F(lsd_frame_in, depth_pitch);
    S(lsd_timings); F(lsd_timings, queue_ms); F(lsd_timings, input_ms); F(lsd_timings, backend_ms);
    F(lsd_timings, output_ms); F(lsd_timings, total_ms); F(lsd_timings, round_trip_ms);
    S(lsd_frame_out); F(lsd_frame_out, data); F(lsd_frame_out, device_ptr); F(lsd_frame_out, capacity);
    F(lsd_frame_out, pitch); F(lsd_frame_out, width); F(lsd_frame_out, height); F(lsd_frame_out, format);
    F(lsd_frame_out, frame_id); F(lsd_frame_out, time); F(lsd_frame_out, timings);
    S(lsd_latency); F(lsd_latency, p50_ms); F(lsd_latency, p99_ms); F(lsd_latency, samples);
    S(lsd_stats); F(lsd_stats, state); F(lsd_stats, frames_submitted); F(lsd_stats, frames_done);
    F(lsd_stats, frames_dropped); F(lsd_stats, frames_skipped); F(lsd_stats, frames_lost); F(lsd_stats, frames_taken);
    F(lsd_stats, reconnects); F(lsd_stats, errors); F(lsd_stats, queue); F(lsd_stats, input); F(lsd_stats, backend);
    F(lsd_stats, output); F(lsd_stats, total); F(lsd_stats, round_trip); F(lsd_stats, inline_bytes_sent);
    F(lsd_stats, inline_bytes_received); F(lsd_stats, inline_frames_packed);
    S(lsd_style_info); F(lsd_style_info, status); F(lsd_style_info, backend); F(lsd_style_info, style);
    F(lsd_style_info, model); F(lsd_style_info, matched); F(lsd_style_info, message);
    S(lsd_transport_info); F(lsd_transport_info, requested); F(lsd_transport_info, transport);
    F(lsd_transport_info, zero_copy); F(lsd_transport_info, cuda_driver); F(lsd_transport_info, gpu);
    F(lsd_transport_info, reason);
    printf("lsd_unity_texture_event %zu\n", sizeof(lsd_unity_texture_event));
#define U(f) printf("lsd_unity_texture_event." #f " %zu\n", offsetof(lsd_unity_texture_event, f))
    U(status); U(native_texture); U(width); U(height); U(renderer); U(native_format); U(events_handled); U(client);
    U(write); U(format); U(time); U(flags); U(cuda_status); U(frame_id); U(cuda_texture);
    return 0;
}
