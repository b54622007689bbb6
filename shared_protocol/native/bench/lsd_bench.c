/* Round-trip benchmark of the native client over shm, identity effect.
 *
 *   lsd_bench [--state-dir DIR] [--frames N] [--warmup N] [--sizes 512x512,1920x1080]
 *
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
#include "scene.h"

#ifndef _WIN32
#  include <signal.h>
#  include <sys/stat.h>
#  include <sys/wait.h>
#  include <unistd.h>
#endif

static double now_ms(void) {
    struct timespec ts;
#ifdef _WIN32
    timespec_get(&ts, TIME_UTC);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

static double pct(const double* sorted, int n, double q) {
    if (n <= 0) return 0;
    double pos = q / 100.0 * (n - 1);
    int lo = (int)pos;
    int hi = lo + 1 < n ? lo + 1 : n - 1;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

#ifndef _WIN32
static pid_t start_runtime(const char* dir) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    char log[1024];
    snprintf(log, sizeof log, "%s/runtime.log", dir);
    if (!freopen(log, "w", stdout) || !freopen(log, "a", stderr)) _exit(126);
    const char* env = getenv("LSD_RUNTIME_CMD");
    if (env && *env) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "exec %s serve --endpoint tcp://127.0.0.1:0 --state-dir '%s'", env, dir);
        execl("/bin/sh", "sh", "-c", cmd, (char*)NULL);
    }
    execlp("lsd-runtime", "lsd-runtime", "serve", "--endpoint", "tcp://127.0.0.1:0", "--state-dir", dir, (char*)NULL);
    execlp("python3", "python3", "-m", "lsd_runtime", "serve", "--endpoint", "tcp://127.0.0.1:0", "--state-dir", dir,
           (char*)NULL);
    _exit(127);
}
#endif

int main(int argc, char** argv) {
    const char* state_dir = NULL;
    const char* sizes = "512x512,1920x1080";
    int frames = 300, warmup = 30;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--state-dir")) state_dir = argv[i + 1];
        else if (!strcmp(argv[i], "--frames")) frames = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup")) warmup = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--sizes")) sizes = argv[i + 1];
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    if (frames < 1) frames = 1;
    int rc = 0;
#ifndef _WIN32
    char tmp[] = "/tmp/lsd-bench-XXXXXX";
    pid_t runtime = -1;
    if (!state_dir) {
        if (!mkdtemp(tmp)) { perror("mkdtemp"); return 1; }
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
    printf("LSD Bridge native client round trip (shm, identity effect, rgba8, %d frames after %d warm-up)\n", frames, warmup);
    printf("libcuda available: %s\n\n", lsd_cuda_available() ? "yes" : "no");
    printf("| size      | round trip p50 ms | p99 ms | runtime total p50 ms | p99 ms | backend p50 ms | FPS (1 in flight) |\n");
    printf("|-----------|------------------:|-------:|---------------------:|-------:|---------------:|------------------:|\n");
    const char* p = sizes;
    while (*p) {
        unsigned w = 0, h = 0;
        if (sscanf(p, "%ux%u", &w, &h) != 2) { fprintf(stderr, "bad size list %s\n", sizes); rc = 2; break; }
        lsd_bind_desc b;
        lsd_bind_desc_init(&b, w, h, LSD_FORMAT_RGBA8);
        if (lsd_client_bind(c, &b, 10000) != LSD_OK) { fprintf(stderr, "bind %ux%u: %s\n", w, h, lsd_last_error()); rc = 1; break; }
        size_t size = (size_t)w * h * 4;
        unsigned char* in = malloc(size);
        unsigned char* out = malloc(size);
        double* rt = malloc(sizeof(double) * frames);
        double* tot = malloc(sizeof(double) * frames);
        double* be = malloc(sizeof(double) * frames);
        lsd_scene_render(in, w, h, w * 4, 1, 0);
        int n = 0;
        double t_start = 0;
        for (int f = 0; f < warmup + frames; ++f) {
            if (f == warmup) t_start = now_ms();
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
            double t0 = now_ms();
            lsd_status s = lsd_client_submit(c, &fi, NULL);
            if (s != LSD_OK) { fprintf(stderr, "submit: %s\n", lsd_last_error()); rc = 1; break; }
            s = lsd_client_take(c, &fo, 10000);
            if (s != LSD_OK) { fprintf(stderr, "take: %s\n", lsd_last_error()); rc = 1; break; }
            double t1 = now_ms();
            if (f >= warmup) {
                rt[n] = t1 - t0;
                tot[n] = fo.timings.total_ms;
                be[n] = fo.timings.backend_ms;
                ++n;
            }
        }
        double elapsed = now_ms() - t_start;
        qsort(rt, n, sizeof(double), cmp_double);
        qsort(tot, n, sizeof(double), cmp_double);
        qsort(be, n, sizeof(double), cmp_double);
        char label[32];
        snprintf(label, sizeof label, "%ux%u", w, h);
        if (n > 0)
            printf("| %-9s | %17.3f | %6.3f | %20.3f | %6.3f | %14.3f | %17.1f |\n", label, pct(rt, n, 50), pct(rt, n, 99),
                   pct(tot, n, 50), pct(tot, n, 99), pct(be, n, 50), n / (elapsed / 1000.0));
        fflush(stdout);
        free(in); free(out); free(rt); free(tot); free(be);
        if (rc) break;
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
