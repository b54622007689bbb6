// Compression of an inline session's pixel data (PROTOCOL.md, bind.codecs / bound.codec):
// LZ4 blocks with no header, sent only when they pay (at most 7/8 of the raw bytes). Built
// without LZ4 (LSD_HAVE_LZ4 0) the client offers no codec and every frame goes raw.
#pragma once
#include <cstddef>
#include <vector>

namespace lsd {

// Whether this build can read and write LZ4 blocks.
bool lz4_available();

// Compresses n bytes into `out`; true when the block pays (then send it with codec "lz4"),
// false: send the raw bytes.
bool lz4_pack(const unsigned char* src, size_t n, std::vector<unsigned char>& out);

// Decompresses an LZ4 block into dst; true only when it makes exactly n bytes.
bool lz4_unpack(const unsigned char* src, size_t src_n, unsigned char* dst, size_t n);

}  // namespace lsd
