/* Round-trip benchmark of the native client, identity effect: shm beside inline (pixels in the
 * messages) raw and LZ4-compressed, with the procedural scene (compresses well) and noise
 * (does not compress: the worst case, sent raw), in one run so the paths compare as ratios.
 *
 *   lsd_bench [--state-dir DIR] [--frames N] [--warmup N] [--sizes 512x512,1920x1080]
 *             [--paths shm,inline,inline-lz4] [--content scene,noise] [--repeat N]
 *
 * --repeat N runs the size's paths N times, interleaved (a loaded machine drifts: compare
 * paths within a repetition).
 * With no --state-dir it starts `lsd-runtime serve` itself (POSIX; $LSD_RUNTIME_CMD
 * overrides the command) in a temporary state directory and stops it at the end.
 * Round trip = lsd_client_submit (copy into the slot) -> lsd_client_take returned
 * (result copied out), one frame at a time. */
#ifndef _WIN32
#  define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsd_bridge/lsd_client.h"
#include "lsd_clock.h"
#include "scene.h"

#ifndef _WIN32
#  include <signal.h>
#  include <sys/stat.h>
#  include <sys/wait.h>
#  include <unistd.h>
#endif

#ifndef _WIN32
static pid_t start_runtime(const char* dir) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    char log[1024];
    snprintf(log, sizeof log, "%s/runtime.log", dir);
    if (!freopen(log, "w", stdout) || !freopen(log, "a", stderr)) _exit(126);
    const char* env = getenv("LSD_RUNTIME_CMD");
    if (env && *env) {
        char cmd[2048]; /* a shell command line: not a protocol limit */
        snprintf(cmd, sizeof cmd, "exec %s serve --endpoint tcp://127.0.0.1:0 --inline --state-dir '%s'", env, dir);
        execl("/bin/sh", "sh", "-c", cmd, (char*)NULL);
    }
    /* --inline: the bench compares shm with pixels inside the messages */
    execlp("lsd-runtime", "lsd-runtime", "serve", "--endpoint", "tcp://127.0.0.1:0", "--inline", "--state-dir", dir,
           (char*)NULL);
    execlp("python3", "python3", "-m", "lsd_runtime", "serve", "--endpoint", "tcp://127.0.0.1:0", "--inline",
           "--state-dir", dir, (char*)NULL);
    _exit(127);
}
#endif

/* whether `name` is one of the comma-separated items of `list` */
static int in_list(const char* list, const char* name) {
    size_t n = strlen(name);
    for (const char* p = list; p && *p;) {
        const char* end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static lsd_stats stats_of(lsd_client* c) {
    lsd_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    lsd_client_get_stats(c, &st);
    return st;
}

/* one size x path x content: returns 0, or 1 on an error (printed) */
static int run_case(lsd_client* c, unsigned w, unsigned h, lsd_transport transport, lsd_codec codec, int noise,
                    int frames, int warmup, const char* path) {
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, w, h, LSD_FORMAT_RGBA8);
    b.transport = transport;
    b.codec = codec;
    if (lsd_client_bind(c, &b, 20000) != LSD_OK) {
        fprintf(stderr, "bind %ux%u %s: %s\n", w, h, path, lsd_last_error());
        return 1;
    }
    size_t size = (size_t)w * h * 4;
    unsigned char* in = malloc(size);
    unsigned char* out = malloc(size);
    double* rt = malloc(sizeof(double) * frames);
    double* tot = malloc(sizeof(double) * frames);
    if (noise) {
        uint64_t x = 88172645463325252ull; /* xorshift: bytes nothing compresses */
        for (size_t i = 0; i < size; ++i) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            in[i] = (unsigned char)x;
        }
    } else {
        lsd_scene_render(in, w, h, w * 4, 1, 0);
    }
    int n = 0, rc = 0;
    double t_start = 0;
    lsd_stats before = stats_of(c);
    for (int f = 0; f < warmup + frames; ++f) {
        if (f == warmup) {
            t_start = lsd_now_ms();
            before = stats_of(c);
        }
        lsd_frame_in fi;
        memset(&fi, 0, sizeof fi);
        fi.struct_size = sizeof fi;
        fi.data = in;
        fi.width = w;
        fi.height = h;
        fi.format = LSD_FORMAT_RGBA8;
        lsd_frame_out fo;
        memset(&fo, 0, sizeof fo);
        fo.struct_size = sizeof fo;
        fo.data = out;
        fo.capacity = size;
        double t0 = lsd_now_ms();
        lsd_status s = lsd_client_submit(c, &fi, NULL);
        if (s != LSD_OK) {
            fprintf(stderr, "submit: %s\n", lsd_last_error());
            rc = 1;
            break;
        }
        s = lsd_client_take(c, &fo, 20000);
        if (s != LSD_OK) {
            fprintf(stderr, "take: %s\n", lsd_last_error());
            rc = 1;
            break;
        }
        double t1 = lsd_now_ms();
        if (f >= warmup) {
            rt[n] = t1 - t0;
            tot[n] = fo.timings.total_ms;
            ++n;
        }
    }
    double elapsed = lsd_now_ms() - t_start;
    lsd_stats after = stats_of(c);
    if (n > 0 && memcmp(in, out, size) != 0) {
        fprintf(stderr, "%s %ux%u: the frame came back different\n", path, w, h);
        rc = 1;
    }
    char label[32], wire[32];
    snprintf(label, sizeof label, "%ux%u", w, h);
    if (transport == LSD_TRANSPORT_SHM) {
        snprintf(wire, sizeof wire, "(shm)");
    } else {
        double bytes = (double)(after.inline_bytes_sent - before.inline_bytes_sent) +
                       (double)(after.inline_bytes_received - before.inline_bytes_received);
        snprintf(wire, sizeof wire, "%.1f%%", n ? 100.0 * bytes / (2.0 * (double)size * n) : 0.0);
    }
    if (n > 0 && !rc)
        printf("| %s | %s | %s | %.3f | %.3f | %.3f | %.1f | %s |\n", label, path, noise ? "noise" : "scene",
               lsd_percentile(rt, n, 50), lsd_percentile(rt, n, 99), lsd_percentile(tot, n, 50), n / (elapsed / 1000.0),
               wire);
    fflush(stdout);
    free(in);
    free(out);
    free(rt);
    free(tot);
    return rc;
}

int main(int argc, char** argv) {
    const char* state_dir = NULL;
    const char* sizes = "512x512,1920x1080";
    const char* paths = "shm,inline,inline-lz4";
    const char* content = "scene,noise";
    int frames = 300, warmup = 30, repeat = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--state-dir")) state_dir = argv[i + 1];
        else if (!strcmp(argv[i], "--frames")) frames = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup")) warmup = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--sizes")) sizes = argv[i + 1];
        else if (!strcmp(argv[i], "--paths")) paths = argv[i + 1];
        else if (!strcmp(argv[i], "--content")) content = argv[i + 1];
        else if (!strcmp(argv[i], "--repeat")) repeat = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (frames < 1) frames = 1;
    int rc = 0;
#ifndef _WIN32
    char tmp[] = "/tmp/lsd-bench-XXXXXX";
    pid_t runtime = -1;
    if (!state_dir) {
        if (!mkdtemp(tmp)) {
            perror("mkdtemp");
            return 1;
        }
        state_dir = tmp;
        runtime = start_runtime(tmp);
        fprintf(stderr, "lsd_bench: started lsd-runtime (pid %d) in %s\n", (int)runtime, tmp);
    }
#endif
    lsd_client* c = NULL;
    if (lsd_client_create_from_state(state_dir, "lsd-bench/0.1.0", &c) != LSD_OK ||
        lsd_client_connect(c, 60000) != LSD_OK) {
        fprintf(stderr, "lsd_bench: cannot connect: %s\n", lsd_last_error());
        rc = 1;
        goto done;
    }
    lsd_style_desc sd;
    lsd_style_desc_init(&sd);
    sd.style = "identity";
    if (lsd_client_set_style(c, &sd, 10000) != LSD_OK) {
        fprintf(stderr, "lsd_bench: set_style: %s\n", lsd_last_error());
        rc = 1;
        goto done;
    }
    printf("LSD Bridge native client round trip (identity effect, rgba8, %d frames after %d warm-up)\n", frames,
           warmup);
    printf("libcuda available: %s\n\n", lsd_cuda_available() ? "yes" : "no");
    printf(
        "| size | path | content | round trip p50 ms | p99 ms | runtime total p50 ms | FPS (1 in flight) | on the "
        "wire |\n");
    printf("|---|---|---|---:|---:|---:|---:|---:|\n");
    for (const char* p = sizes; *p && !rc;) {
        unsigned w = 0, h = 0;
        if (sscanf(p, "%ux%u", &w, &h) != 2) {
            fprintf(stderr, "bad size list %s\n", sizes);
            rc = 2;
            break;
        }
        for (int r = 0; r < (repeat > 0 ? repeat : 1) && !rc; ++r) {
            for (int k = 0; k < 3 && !rc; ++k) {
                static const char* const names[3] = {"shm", "inline", "inline-lz4"};
                if (!in_list(paths, names[k])) continue;
                for (int noise = 0; noise < 2 && !rc; ++noise) {
                    if (!in_list(content, noise ? "noise" : "scene")) continue;
                    if (k == 0 && noise) continue;  // shm copies bytes: the content does not matter
                    rc = run_case(c, w, h, k == 0 ? LSD_TRANSPORT_SHM : LSD_TRANSPORT_INLINE,
                                  k == 2 ? LSD_CODEC_LZ4 : LSD_CODEC_NONE, noise, frames, warmup, names[k]);
                }
            }
        }
        p = strchr(p, ',');
        if (!p) break;
        ++p;
    }
done:
    if (c) lsd_client_close(c);
#ifndef _WIN32
    if (runtime > 0) {
        kill(runtime, SIGTERM);
        int st;
        waitpid(runtime, &st, 0);
        char path[1100];
        snprintf(path, sizeof path, "%s/runtime.log", tmp);
        remove(path);
        snprintf(path, sizeof path, "%s/runtime.json", tmp);
        remove(path);
        rmdir(tmp);
    }
#endif
    return rc;
}
