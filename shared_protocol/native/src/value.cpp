#include "value.hpp"

#include "lsd_bridge/lsd_protocol.h"

#include <cmath>
#include <cstring>
#include <msgpack.hpp>

namespace lsd {

const Value* Value::get(const std::string& key) const {
    const Value* found = nullptr;
    for (const auto& kv : map)
        if (kv.first.kind == Str && kv.first.s == key) found = &kv.second;
    return found;
}

Value& Value::set(const std::string& key, Value v) {
    for (auto& kv : map)
        if (kv.first.kind == Str && kv.first.s == key) {
            kv.second = std::move(v);
            return kv.second;
        }
    map.emplace_back(Value::str(key), std::move(v));
    return map.back().second;
}

double Value::as_double() const {
    if (kind == Float) return f;
    if (kind == Int) return negative ? static_cast<double>(i) : static_cast<double>(u);
    return 0.0;
}

bool operator==(const Value& a, const Value& b) {
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case Value::Nil: return true;
        case Value::Bool: return a.b == b.b;
        case Value::Int: return a.negative == b.negative && (a.negative ? a.i == b.i : a.u == b.u);
        case Value::Float: return a.f == b.f || (std::isnan(a.f) && std::isnan(b.f));
        case Value::Str:
        case Value::Ext: return a.s == b.s;
        case Value::Bin:
            return a.bin_size() == b.bin_size() &&
                   (a.bin_size() == 0 || std::memcmp(a.bin_data(), b.bin_data(), a.bin_size()) == 0);
        case Value::Array: return a.arr == b.arr;
        case Value::Map: return a.map == b.map;
    }
    return false;
}

namespace {

bool valid_utf8(const char* p, size_t n) {
    const auto* s = reinterpret_cast<const unsigned char*>(p);
    size_t k = 0;
    while (k < n) {
        unsigned c = s[k];
        if (c < 0x80) {
            ++k;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else return false;
        if (k + len > n) return false;
        for (size_t j = 1; j < len; ++j) {
            if ((s[k + j] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[k + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        k += len;
    }
    return true;
}

bool convert(const msgpack::object& o, Value& out, std::string& why, bool is_key) {
    switch (o.type) {
        case msgpack::type::NIL: out.kind = Value::Nil; return true;
        case msgpack::type::BOOLEAN: out = Value::boolean(o.via.boolean); return true;
        case msgpack::type::POSITIVE_INTEGER: out = Value::uint(o.via.u64); return true;
        case msgpack::type::NEGATIVE_INTEGER: out = Value::sint(o.via.i64); return true;
        case msgpack::type::FLOAT32:
        case msgpack::type::FLOAT64: out = Value::real(o.via.f64); return true;
        case msgpack::type::STR:
            if (!valid_utf8(o.via.str.ptr, o.via.str.size)) {
                why = "invalid UTF-8 in a string";
                return false;
            }
            out = Value::str(std::string(o.via.str.ptr, o.via.str.size));
            return true;
        case msgpack::type::BIN: out = Value::bin(std::string(o.via.bin.ptr, o.via.bin.size)); return true;
        case msgpack::type::EXT:
            out.kind = Value::Ext;
            out.s.assign(o.via.ext.ptr, o.via.ext.size);
            return true;
        case msgpack::type::ARRAY: {
            if (is_key) {
                why = "unhashable map key (array)";
                return false;
            }
            out = Value::array();
            out.arr.resize(o.via.array.size);
            for (uint32_t k = 0; k < o.via.array.size; ++k)
                if (!convert(o.via.array.ptr[k], out.arr[k], why, false)) return false;
            return true;
        }
        case msgpack::type::MAP: {
            if (is_key) {
                why = "unhashable map key (map)";
                return false;
            }
            out = Value::object();
            out.map.resize(o.via.map.size);
            for (uint32_t k = 0; k < o.via.map.size; ++k) {
                if (!convert(o.via.map.ptr[k].key, out.map[k].first, why, true)) return false;
                if (!convert(o.via.map.ptr[k].val, out.map[k].second, why, false)) return false;
            }
            return true;
        }
    }
    why = "unknown msgpack type";
    return false;
}

// float64 written by hand: msgpack-cxx 4.x packs integral doubles as integers
void pack_float64(msgpack::sbuffer& buf, double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    char out[9];
    out[0] = static_cast<char>(0xcb);
    for (int k = 0; k < 8; ++k) out[1 + k] = static_cast<char>((bits >> (56 - 8 * k)) & 0xFF);
    buf.write(out, sizeof out);
}

void pack(msgpack::sbuffer& buf, msgpack::packer<msgpack::sbuffer>& pk, const Value& v) {
    switch (v.kind) {
        case Value::Nil: pk.pack_nil(); break;
        case Value::Bool:
            if (v.b) pk.pack_true();
            else pk.pack_false();
            break;
        case Value::Int:
            if (v.negative) pk.pack_int64(v.i);
            else pk.pack_uint64(v.u);
            break;
        case Value::Float: pack_float64(buf, v.f); break;
        case Value::Str:
            pk.pack_str(static_cast<uint32_t>(v.s.size()));
            pk.pack_str_body(v.s.data(), static_cast<uint32_t>(v.s.size()));
            break;
        case Value::Bin:
            pk.pack_bin(static_cast<uint32_t>(v.bin_size()));
            pk.pack_bin_body(reinterpret_cast<const char*>(v.bin_data()), static_cast<uint32_t>(v.bin_size()));
            break;
        case Value::Ext:  // not produced by this library; written as bin
            pk.pack_bin(static_cast<uint32_t>(v.s.size()));
            pk.pack_bin_body(v.s.data(), static_cast<uint32_t>(v.s.size()));
            break;
        case Value::Array:
            pk.pack_array(static_cast<uint32_t>(v.arr.size()));
            for (const auto& x : v.arr) pack(buf, pk, x);
            break;
        case Value::Map:
            pk.pack_map(static_cast<uint32_t>(v.map.size()));
            for (const auto& kv : v.map) {
                pack(buf, pk, kv.first);
                pack(buf, pk, kv.second);
            }
            break;
    }
}

}  // namespace

bool decode_value(const void* data, size_t len, size_t max_bytes, Value& out, std::string& why) {
    if (len == 0) {
        why = "empty message";
        return false;
    }
    try {
        size_t off = 0;
        msgpack::unpack_limit limit(LSD_DECODE_MAX_ARRAY, LSD_DECODE_MAX_MAP, static_cast<std::size_t>(max_bytes),
                                    static_cast<std::size_t>(max_bytes), static_cast<std::size_t>(max_bytes), 512);
        msgpack::object_handle oh = msgpack::unpack(static_cast<const char*>(data), len, off, nullptr, nullptr, limit);
        if (off != len) {
            why = "trailing bytes after the message";
            return false;
        }
        return convert(oh.get(), out, why, false);
    } catch (const msgpack::insufficient_bytes&) { why = "truncated"; } catch (const msgpack::parse_error&) {
        why = "invalid msgpack byte";
    } catch (const msgpack::size_overflow&) {
        why = "a string, array or map is over the size limit";
    } catch (const std::exception& e) { why = e.what(); }
    return false;
}

std::string encode_value(const Value& v) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pack(buf, pk, v);
    return std::string(buf.data(), buf.size());
}

}  // namespace lsd
