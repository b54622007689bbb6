// Shared helpers for the tests that talk to a real runtime.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "lsd_bridge/lsd_client.h"
#include "runtime_process.hpp"
#include "scene.h"

namespace lsdtest {

// shm where the runtime's shared memory is reachable, else inline (Windows under Wine)
inline lsd_transport test_transport() { return shm_available() ? LSD_TRANSPORT_SHM : LSD_TRANSPORT_INLINE; }
inline const char* test_transport_name() { return shm_available() ? "shm" : "inline"; }

inline double elapsed_ms(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

inline std::vector<uint8_t> render(unsigned w, unsigned h, uint64_t frame, bool bgra, unsigned pitch = 0) {
    if (!pitch) pitch = w * 4;
    std::vector<uint8_t> px(static_cast<size_t>(pitch) * h, 0xAB);
    lsd_scene_render(px.data(), w, h, pitch, frame, bgra ? 1 : 0);
    return px;
}

inline lsd_frame_in frame_in(const std::vector<uint8_t>& px, unsigned w, unsigned h, lsd_format fmt,
                             unsigned pitch = 0) {
    lsd_frame_in f;
    std::memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.data = px.data();
    f.width = w;
    f.height = h;
    f.pitch = pitch;
    f.format = fmt;
    return f;
}

inline lsd_frame_out frame_out(std::vector<uint8_t>& buf, unsigned pitch = 0) {
    lsd_frame_out o;
    std::memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.data = buf.data();
    o.capacity = buf.size();
    o.pitch = pitch;
    return o;
}

inline lsd_stats stats_of(lsd_client* c) {
    lsd_stats s;
    std::memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    lsd_client_get_stats(c, &s);
    return s;
}

// Compare a tightly packed expected image with rows of `pitch` bytes in `got`.
inline ::testing::AssertionResult same_pixels(const std::string& expected, const std::vector<uint8_t>& got, unsigned w,
                                              unsigned h, unsigned pitch) {
    size_t row = static_cast<size_t>(w) * 4;
    if (expected.size() != row * h)
        return ::testing::AssertionFailure() << "expected has " << expected.size() << " bytes";
    for (unsigned y = 0; y < h; ++y)
        if (std::memcmp(expected.data() + y * row, got.data() + static_cast<size_t>(y) * pitch, row) != 0) {
            for (size_t x = 0; x < row; ++x)
                if (expected[y * row + x] != static_cast<char>(got[static_cast<size_t>(y) * pitch + x]))
                    return ::testing::AssertionFailure()
                           << "first difference at row " << y << " byte " << x << ": expected "
                           << int(static_cast<uint8_t>(expected[y * row + x])) << ", got "
                           << int(got[static_cast<size_t>(y) * pitch + x]);
        }
    return ::testing::AssertionSuccess();
}

}  // namespace lsdtest
