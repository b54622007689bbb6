/* Monotonic milliseconds and a sleep for the example host and the benchmark, on every
 * platform the library builds for (msvcrt, which mingw links, has no timespec_get). */
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

#endif
