// A msgpack value tree that keeps map order; decode with limits, encode canonically.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lsd {

struct Value {
    enum Kind { Nil, Bool, Int, Float, Str, Bin, Array, Map, Ext };
    Kind kind = Nil;
    bool b = false;
    bool negative = false;  // Int: value is i (< 0); otherwise u
    uint64_t u = 0;
    int64_t i = 0;
    double f = 0.0;
    std::string s;  // Str, Bin, Ext payload
    // Bin only: bytes owned elsewhere (bin_ref), encoded without a copy; they must outlive encoding
    const unsigned char* ref = nullptr;
    size_t ref_len = 0;
    std::vector<Value> arr;
    std::vector<std::pair<Value, Value>> map;

    static Value nil() { return Value(); }
    static Value boolean(bool v) {
        Value x;
        x.kind = Bool;
        x.b = v;
        return x;
    }
    static Value uint(uint64_t v) {
        Value x;
        x.kind = Int;
        x.u = v;
        return x;
    }
    static Value sint(int64_t v) {
        Value x;
        x.kind = Int;
        if (v < 0) {
            x.negative = true;
            x.i = v;
        } else {
            x.u = static_cast<uint64_t>(v);
        }
        return x;
    }
    static Value real(double v) {
        Value x;
        x.kind = Float;
        x.f = v;
        return x;
    }
    static Value str(std::string v) {
        Value x;
        x.kind = Str;
        x.s = std::move(v);
        return x;
    }
    static Value bin(std::string v) {
        Value x;
        x.kind = Bin;
        x.s = std::move(v);
        return x;
    }
    static Value bin_ref(const void* p, size_t n) {
        Value x;
        x.kind = Bin;
        x.ref = static_cast<const unsigned char*>(p);
        x.ref_len = n;
        return x;
    }
    size_t bin_size() const { return ref ? ref_len : s.size(); }
    const unsigned char* bin_data() const { return ref ? ref : reinterpret_cast<const unsigned char*>(s.data()); }
    static Value array() {
        Value x;
        x.kind = Array;
        return x;
    }
    static Value object() {
        Value x;
        x.kind = Map;
        return x;
    }

    // map helpers (last duplicate key wins, like a Python dict)
    const Value* get(const std::string& key) const;
    Value& set(const std::string& key, Value v);  // appends (or replaces)
    bool is_uint() const { return kind == Int && !negative; }
    bool is_str() const { return kind == Str; }
    double as_double() const;  // Int or Float
};

bool operator==(const Value& a, const Value& b);

// Decodes exactly one msgpack object filling all of [data, data+len). Returns false
// (with why) for anything Python's msgpack.unpackb(raw=False, strict_map_key=False,
// max_str_len=max_bytes, max_bin_len=max_bytes, max_array_len=LSD_DECODE_MAX_ARRAY,
// max_map_len=LSD_DECODE_MAX_MAP)
// rejects: bad bytes, truncation, trailing bytes, invalid UTF-8, unhashable keys.
bool decode_value(const void* data, size_t len, size_t max_bytes, Value& out, std::string& why);

// Encodes as Python msgpack.packb(use_bin_type=True) would: smallest int encodings,
// floats as float64, map order as stored.
std::string encode_value(const Value& v);

}  // namespace lsd
