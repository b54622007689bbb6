/* Example engine host: renders a procedural scene on the CPU, streams it through the
 * LSD Bridge runtime (shm, or inline for a runtime out of shared-memory reach) and prints the latency.
 *
 *   lsd_scene_host [--state-dir DIR] [--frames N] [--width W] [--height H] [--style NAME] [--fps F]
 *                  [--transport shm|inline]
 *
 * Exit status 0 when at least a quarter of the frames came back restyled. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#  define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsd_bridge/lsd_client.h"
#include "lsd_clock.h"
#include "scene.h"

int main(int argc, char** argv) {
    const char* state_dir = NULL;
    const char* style = "toon";
    unsigned frames = 120, width = 320, height = 180;
    double fps = 60.0;
    lsd_transport transport = LSD_TRANSPORT_SHM;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--state-dir")) state_dir = argv[i + 1];
        else if (!strcmp(argv[i], "--frames")) frames = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--width")) width = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--height")) height = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--style")) style = argv[i + 1];
        else if (!strcmp(argv[i], "--fps")) fps = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--transport")) {
            if (!strcmp(argv[i + 1], "inline")) transport = LSD_TRANSPORT_INLINE;
            else if (strcmp(argv[i + 1], "shm") != 0) {
                fprintf(stderr, "--transport: shm or inline, not %s\n", argv[i + 1]);
                return 2;
            }
        } else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    printf("lsd_scene_host: libcuda %s; streaming %u frames of %ux%u, style %s\n",
           lsd_cuda_available() ? "available" : "not available (shm path)", frames, width, height, style);

    lsd_client* c = NULL;
    if (lsd_client_create_from_state(state_dir, "scene-host/0.1.0", &c) != LSD_OK) {
        fprintf(stderr, "create: %s\n", lsd_last_error());
        return 1;
    }
    if (lsd_client_connect(c, 5000) != LSD_OK) {
        fprintf(stderr, "connect: %s\n", lsd_last_error());
        lsd_client_close(c);
        return 1;
    }
    lsd_bind_desc bind;
    lsd_bind_desc_init(&bind, width, height, LSD_FORMAT_RGBA8);
    bind.transport = transport;
    lsd_status s = lsd_client_bind(c, &bind, 5000);
    if (s != LSD_OK) {
        fprintf(stderr, "bind: %s: %s\n", lsd_status_string(s), lsd_last_error());
        lsd_client_close(c);
        return 1;
    }
    lsd_style_desc sd;
    lsd_style_desc_init(&sd);
    sd.style = style;
    s = lsd_client_set_style(c, &sd, 5000);
    if (s != LSD_OK) {
        fprintf(stderr, "set_style: %s: %s\n", lsd_status_string(s), lsd_last_error());
        lsd_client_close(c);
        return 1;
    }

    size_t size = (size_t)width * height * 4;
    unsigned char* in = malloc(size);
    unsigned char* out = malloc(size);
    unsigned received = 0;
    double frame_ms = fps > 0 ? 1000.0 / fps : 0.0;
    for (unsigned f = 0; f < frames; ++f) {
        double start = lsd_now_ms();
        lsd_scene_render(in, width, height, width * 4, f, 0);
        lsd_frame_in fi = {0};
        fi.struct_size = sizeof fi;
        fi.data = in;
        fi.width = width;
        fi.height = height;
        fi.format = LSD_FORMAT_RGBA8;
        s = lsd_client_submit(c, &fi, NULL); /* never waits: skipped when every slot is busy */
        lsd_frame_out fo = {0};
        fo.struct_size = sizeof fo;
        fo.data = out;
        fo.capacity = size;
        if (lsd_client_take(c, &fo, (uint32_t)frame_ms) == LSD_OK) {
            ++received;
            if (received % 30 == 0)
                printf("frame %llu: round trip %.2f ms (runtime total %.2f ms, backend %.2f ms)\n",
                       (unsigned long long)fo.frame_id, fo.timings.round_trip_ms, fo.timings.total_ms,
                       fo.timings.backend_ms);
        } else if (s < 0) {
            printf("frame %u: %s (%s)\n", f, lsd_status_string(s), lsd_last_error());
        }
        lsd_sleep_ms(frame_ms - (lsd_now_ms() - start));
    }
    lsd_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    lsd_client_get_stats(c, &st);
    printf("submitted %llu, done %llu, dropped %llu, skipped %llu, taken %llu\n",
           (unsigned long long)st.frames_submitted, (unsigned long long)st.frames_done,
           (unsigned long long)st.frames_dropped, (unsigned long long)st.frames_skipped,
           (unsigned long long)st.frames_taken);
    printf("round trip p50 %.2f ms p99 %.2f ms; runtime total p50 %.2f ms p99 %.2f ms\n", st.round_trip.p50_ms,
           st.round_trip.p99_ms, st.total.p50_ms, st.total.p99_ms);
    lsd_client_close(c);
    free(in);
    free(out);
    /* a real-time host skips frames under load; a quarter coming back restyled counts as working */
    return received * 4 >= frames ? 0 : 1;
}
