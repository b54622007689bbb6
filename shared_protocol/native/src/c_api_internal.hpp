// What the files of the C ABI share: the handle behind lsd_client, reading and writing the
// callers' versioned structs, enum fields read through their bytes, and the exception guard.
#pragma once
#include <cstring>
#include <new>
#include <string>

#include "client.hpp"

struct lsd_client {
    lsd::Client impl;
    explicit lsd_client(const lsd_client_config& cfg) : impl(cfg) {}
};

namespace lsd::capi {

// Copies a caller struct of `given` bytes into a zeroed full-size one (older callers).
template <typename T>
bool read_struct(const T* in, T& out, const char* what) {
    out = T{};
    if (!in) {
        set_last_error(std::string(what) + " is NULL");
        return false;
    }
    uint32_t given = in->struct_size;
    if (given < sizeof(uint32_t) * 2) {
        set_last_error(std::string(what) + ".struct_size is not set (use sizeof or the *_init helper)");
        return false;
    }
    std::memcpy(&out, in, given < sizeof(T) ? given : sizeof(T));
    out.struct_size = sizeof(T);
    return true;
}

template <typename T>
void write_struct(T* dst, const T& src) {
    uint32_t n = dst->struct_size < sizeof(T) ? dst->struct_size : static_cast<uint32_t>(sizeof(T));
    uint32_t keep = dst->struct_size;
    std::memcpy(dst, &src, n);
    dst->struct_size = keep;
}

// A caller's C enum field as the int it holds. Reading a C enum that holds a value none of its
// enumerators has is undefined in C++, so the fields are checked through their bytes first.
template <typename E>
int enum_value(const E& field) {
    static_assert(sizeof(E) == sizeof(int), "C enums are int-sized on every supported platform");
    int v;
    std::memcpy(&v, &field, sizeof v);
    return v;
}

inline bool valid_format(const lsd_format& f) {
    int v = enum_value(f);
    return v == LSD_FORMAT_RGBA8 || v == LSD_FORMAT_BGRA8 || v == LSD_FORMAT_RGBA16F;
}

}  // namespace lsd::capi

#define LSD_GUARD_BEGIN try {
#define LSD_GUARD_END                                                \
  }                                                                  \
  catch (const std::bad_alloc&) {                                    \
    lsd::set_last_error("out of memory");                            \
    return LSD_E_INTERNAL;                                           \
  }                                                                  \
  catch (const std::exception& e) {                                  \
    lsd::set_last_error(std::string("internal error: ") + e.what()); \
    return LSD_E_INTERNAL;                                           \
  }                                                                  \
  catch (...) {                                                      \
    lsd::set_last_error("internal error");                           \
    return LSD_E_INTERNAL;                                           \
  }
