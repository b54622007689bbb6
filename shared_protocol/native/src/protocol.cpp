#include "protocol.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>

namespace lsd::proto {
namespace {

Field F(const char* name, Kind kind, bool required = true) {
    Field f{name, kind, required, false, false, 0.0, 0.0, 0, 0, {}};
    return f;
}
Field UH(const char* name, bool required, uint64_t high) {  // uint, minimum 0
    Field f = F(name, Kind::UInt, required);
    f.has_high = true;
    f.uhigh = high;
    return f;
}

constexpr uint64_t kU64 = LSD_MAX_ID;

#include "protocol_schema.inc"

std::string kind_name(const Value& v) {
    switch (v.kind) {
        case Value::Nil: return "nil";
        case Value::Bool: return "bool";
        case Value::Int: return "integer";
        case Value::Float: return "float";
        case Value::Str: return "string";
        case Value::Bin: return "binary";
        case Value::Array: return "array";
        case Value::Map: return "map";
        case Value::Ext: return "ExtType";
    }
    return "?";
}

std::string fmt_int(const Value& v) { return v.negative ? std::to_string(v.i) : std::to_string(v.u); }

std::string py_float(double d) {  // close to Python's repr for the common cases
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    char buf[64];
    for (int prec = 1; prec <= 17; ++prec) {
        std::snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (std::strtod(buf, nullptr) == d) break;
    }
    std::string s = buf;
    if (s.find_first_of(".eni") == std::string::npos) s += ".0";
    return s;
}

std::string utf8_prefix(const std::string& s, size_t chars) {
    size_t n = 0, k = 0;
    while (k < s.size() && n < chars) {
        unsigned char c = static_cast<unsigned char>(s[k]);
        k += c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
        ++n;
    }
    return s.substr(0, std::min(k, s.size()));
}

struct Fail {
    Error e;
};

[[noreturn]] void fail(const char* code, std::string msg, std::string ref, uint64_t id) {
    throw Fail{Error{code, std::move(msg), std::move(ref), id}};
}

[[noreturn]] void bad(const std::string& t, const std::string& path, uint64_t rid, const std::string& why) {
    fail("bad_field", "'" + t + "' field '" + path + "' " + why, t, rid);
}

void check_fields(const Value& obj, const std::vector<Field>& fields, const std::string& t, const std::string& prefix,
                  uint64_t rid);

void check_value(const Value& v, const Field& f, const std::string& t, const std::string& path, uint64_t rid) {
    switch (f.kind) {
        case Kind::Any: return;
        case Kind::UInt:
        case Kind::Int: {
            if (v.kind != Value::Int) bad(t, path, rid, "must be an integer, got " + kind_name(v));
            if (f.kind == Kind::UInt) {
                uint64_t low = f.has_low ? static_cast<uint64_t>(f.ilow) : 0;
                if (v.negative || v.u < low)
                    bad(t, path, rid, "is " + fmt_int(v) + "; the minimum is " + std::to_string(low));
                if (f.has_high && v.u > f.uhigh)
                    bad(t, path, rid, "is " + fmt_int(v) + "; the maximum is " + std::to_string(f.uhigh));
            } else {
                if (f.has_low && v.negative && v.i < f.ilow)
                    bad(t, path, rid, "is " + fmt_int(v) + "; the minimum is " + std::to_string(f.ilow));
                if (f.has_high && !v.negative && v.u > f.uhigh)
                    bad(t, path, rid, "is " + fmt_int(v) + "; the maximum is " + std::to_string(f.uhigh));
            }
            return;
        }
        case Kind::Float: {
            if (v.kind != Value::Int && v.kind != Value::Float)
                bad(t, path, rid, "must be a number, got " + kind_name(v));
            double d = v.as_double();
            if (v.kind == Value::Float && !std::isfinite(d)) bad(t, path, rid, "must be a finite number");
            std::string shown = v.kind == Value::Int ? fmt_int(v) : py_float(d);
            if (f.has_low && d < f.low) bad(t, path, rid, "is " + shown + "; the minimum is " + py_float(f.low));
            if (f.has_high && d > f.high) bad(t, path, rid, "is " + shown + "; the maximum is " + py_float(f.high));
            return;
        }
        case Kind::Str:
        case Kind::Prompt: {
            if (v.kind != Value::Str) bad(t, path, rid, "must be a string, got " + kind_name(v));
            uint64_t limit = f.kind == Kind::Prompt ? kMaxPromptBytes : kMaxStringBytes;
            if (v.s.size() > limit) bad(t, path, rid, "is longer than " + std::to_string(limit) + " bytes");
            if (!f.choices.empty()) {
                bool ok = false;
                std::string list;
                for (const char* c : f.choices) {
                    if (v.s == c) ok = true;
                    if (!list.empty()) list += ", ";
                    list += c;
                }
                if (!ok) bad(t, path, rid, "is '" + utf8_prefix(v.s, 32) + "'; expected one of " + list);
            }
            return;
        }
        case Kind::Bool:
            if (v.kind != Value::Bool) bad(t, path, rid, "must be a boolean, got " + kind_name(v));
            return;
        case Kind::Bin:
            if (v.kind != Value::Bin) bad(t, path, rid, "must be binary, got " + kind_name(v));
            return;
        case Kind::UIntList:
        case Kind::StrList: {
            if (v.kind != Value::Array) bad(t, path, rid, "must be an array, got " + kind_name(v));
            if (v.arr.size() > kMaxList)
                bad(t, path, rid,
                    "has " + std::to_string(v.arr.size()) + " items; the maximum is " + std::to_string(kMaxList));
            Field item = f.kind == Kind::UIntList ? UH(f.name, true, kU64) : F(f.name, Kind::Str);
            for (size_t k = 0; k < v.arr.size(); ++k)
                check_value(v.arr[k], item, t, path + "[" + std::to_string(k) + "]", rid);
            return;
        }
        case Kind::Ring:
        case Kind::RingReply:
            if (v.kind != Value::Map) bad(t, path, rid, "must be a map, got " + kind_name(v));
            check_fields(v, f.kind == Kind::Ring ? kRing : kRingReply, t, path + ".", rid);
            return;
        case Kind::Map:
            if (v.kind != Value::Map) bad(t, path, rid, "must be a map, got " + kind_name(v));
            for (const auto& kv : v.map)
                if (kv.first.kind != Value::Str) bad(t, path, rid, "keys must be strings, got " + kind_name(kv.first));
            return;
    }
}

void check_fields(const Value& obj, const std::vector<Field>& fields, const std::string& t, const std::string& prefix,
                  uint64_t rid) {
    for (const auto& f : fields) {
        std::string path = prefix + f.name;
        const Value* v = obj.get(f.name);
        if (!v) {
            if (f.required) fail("missing_field", "'" + t + "' needs field '" + path + "'", t, rid);
            continue;
        }
        check_value(*v, f, t, path, rid);
    }
}

bool sent_by(const MessageSpec& s, const std::string& sender) {
    std::string who = s.sender;
    return who == "both" || who == sender;
}

Value canonical(const Value& v, const std::vector<Field>* fields) {
    if (v.kind == Value::Array) {
        Value out = Value::array();
        for (const auto& x : v.arr) out.arr.push_back(canonical(x, nullptr));
        return out;
    }
    if (v.kind != Value::Map) return v;
    Value out = Value::object();
    std::vector<bool> used(v.map.size(), false);
    if (fields) {
        for (const auto& f : *fields) {
            const Value* x = v.get(f.name);
            if (!x) continue;
            for (size_t k = 0; k < v.map.size(); ++k)
                if (v.map[k].first.kind == Value::Str && v.map[k].first.s == f.name) used[k] = true;
            const std::vector<Field>* sub = f.kind == Kind::Ring        ? &kRing
                                            : f.kind == Kind::RingReply ? &kRingReply
                                                                        : nullptr;
            Value c = canonical(*x, sub);
            if (f.kind == Kind::Float && c.kind == Value::Int) c = Value::real(c.as_double());
            out.map.emplace_back(Value::str(f.name), std::move(c));
        }
    }
    for (size_t k = 0; k < v.map.size(); ++k) {
        if (used[k]) continue;
        // a duplicate of an unknown key: keep the last, like a dict
        bool later = false;
        for (size_t j = k + 1; j < v.map.size(); ++j)
            if (v.map[j].first == v.map[k].first) later = true;
        if (later) continue;
        out.map.emplace_back(canonical(v.map[k].first, nullptr), canonical(v.map[k].second, nullptr));
    }
    return out;
}

}  // namespace

const MessageSpec* find_spec(const std::string& type) {
    for (const auto& s : specs())
        if (type == s.name) return &s;
    return nullptr;
}
const std::vector<Field>& ring_fields() { return kRing; }
const std::vector<Field>& ring_reply_fields() { return kRingReply; }

bool validate(const Value& obj, const std::string& sender, Error& err) {
    try {
        if (obj.kind != Value::Map) fail("malformed", "a message must be a map, got " + kind_name(obj), "", 0);
        uint64_t rid = 0;
        if (const Value* id = obj.get("id"); id && id->is_uint()) rid = id->u;
        const Value* t = obj.get("t");
        if (!t) fail("missing_field", "message has no 't' (type) field", "", rid);
        if (t->kind != Value::Str) fail("bad_field", "'t' must be a string, got " + kind_name(*t), "", rid);
        std::string ref = utf8_prefix(t->s, LSD_REF_CHARS);
        const Value* v = obj.get("v");
        if (!v) fail("missing_field", "'" + ref + "' has no 'v' (protocol version) field", ref, rid);
        if (v->kind != Value::Int) fail("bad_field", "'v' must be an integer, got " + kind_name(*v), ref, rid);
        if (v->negative || v->u != static_cast<uint64_t>(kVersion))
            fail("version_mismatch",
                 "message is protocol v" + fmt_int(*v) + "; this side speaks v" + std::to_string(kVersion), ref, rid);
        const MessageSpec* spec = find_spec(t->s);
        if (!spec || !sent_by(*spec, sender)) {
            std::string detail =
                spec ? std::string(" (") + t->s + " is sent by the " + spec->sender + ", not the " + sender + ")" : "";
            fail("unknown_type", "unknown message type '" + ref + "'" + detail, ref, rid);
        }
        const Value* id = obj.get("id");
        if (!id) fail("missing_field", "'" + t->s + "' has no 'id' field", t->s, rid);
        check_value(*id, UH("id", true, kU64), t->s, "id", rid);
        check_fields(obj, spec->fields, t->s, "", rid);
        return true;
    } catch (Fail& f) {
        err = std::move(f.e);
        return false;
    }
}

bool decode(const void* data, size_t len, const std::string& sender, Value& out, Error& err, size_t max_bytes) {
    if (len > max_bytes) {
        err = Error{"too_large",
                    "message is " + std::to_string(len) + " bytes; the limit is " + std::to_string(max_bytes), "", 0};
        return false;
    }
    std::string why;
    if (!decode_value(data, len, max_bytes, out, why)) {
        err = Error{"malformed", "not a msgpack message (" + why + ")", "", 0};
        return false;
    }
    return validate(out, sender, err);
}

std::string encode(const Value& message) {
    static const std::vector<Field> head = {F("t", Kind::Any), F("v", Kind::Any), F("id", Kind::Any)};
    std::vector<Field> fields = head;
    if (message.kind == Value::Map) {
        const Value* t = message.get("t");
        if (t && t->kind == Value::Str)
            if (const MessageSpec* spec = find_spec(t->s))
                fields.insert(fields.end(), spec->fields.begin(), spec->fields.end());
    }
    return encode_value(canonical(message, &fields));
}

Value make(const std::string& type, uint64_t id) {
    Value m = Value::object();
    m.set("t", Value::str(type));
    m.set("v", Value::uint(kVersion));
    m.set("id", Value::uint(id));
    return m;
}

}  // namespace lsd::proto
