#include "inline_codec.hpp"

#include <climits>

#if LSD_HAVE_LZ4
#  include <lz4.h>
#endif

namespace lsd {

#if LSD_HAVE_LZ4
bool lz4_available() { return true; }

bool lz4_pack(const unsigned char* src, size_t n, std::vector<unsigned char>& out) {
    if (n == 0 || n > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) return false;
    out.resize(static_cast<size_t>(LZ4_compressBound(static_cast<int>(n))));
    int made = LZ4_compress_default(reinterpret_cast<const char*>(src), reinterpret_cast<char*>(out.data()),
                                    static_cast<int>(n), static_cast<int>(out.size()));
    if (made <= 0 || static_cast<size_t>(made) > n / 8 * 7) return false;
    out.resize(static_cast<size_t>(made));
    return true;
}

bool lz4_unpack(const unsigned char* src, size_t src_n, unsigned char* dst, size_t n) {
    if (src_n > static_cast<size_t>(INT_MAX) || n > static_cast<size_t>(INT_MAX)) return false;
    int made = LZ4_decompress_safe(reinterpret_cast<const char*>(src), reinterpret_cast<char*>(dst),
                                   static_cast<int>(src_n), static_cast<int>(n));
    return made >= 0 && static_cast<size_t>(made) == n;
}
#else
bool lz4_available() { return false; }
bool lz4_pack(const unsigned char*, size_t, std::vector<unsigned char>&) { return false; }
bool lz4_unpack(const unsigned char*, size_t, unsigned char*, size_t) { return false; }
#endif

}  // namespace lsd
