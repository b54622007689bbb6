/* Monotonic milliseconds, a sleep and the percentile the tools report, for the example host,
 * the benchmark and the GPU check's programs, on every platform the library builds for (msvcrt,
 * which mingw links, has no timespec_get). */
#ifndef LSD_EXAMPLES_LSD_CLOCK_H
#define LSD_EXAMPLES_LSD_CLOCK_H

#ifdef _WIN32
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  include <windows.h>
static inline double lsd_now_ms(void) {
    LARGE_INTEGER f, t;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * 1e3 / (double)f.QuadPart;
}
static inline void lsd_sleep_ms(double ms) {
    if (ms > 0) Sleep((DWORD)ms);
}
#else
#  include <time.h>
static inline double lsd_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
static inline void lsd_sleep_ms(double ms) {
    if (ms <= 0) return;
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - ts.tv_sec * 1000.0) * 1e6);
    nanosleep(&ts, NULL);
}
#endif

#include <stdlib.h>

static inline int lsd_compare_doubles(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

/* The q-th percentile of v[0..n) with linear interpolation between closest ranks (numpy's, the
 * project's one definition); sorts v in place. 0 for no values. */
static inline double lsd_percentile(double* v, int n, double q) {
    if (n <= 0) return 0.0;
    qsort(v, (size_t)n, sizeof *v, lsd_compare_doubles);
    double pos = q / 100.0 * (n - 1);
    int lo = (int)pos;
    int hi = lo + 1 < n ? lo + 1 : n - 1;
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

#endif
