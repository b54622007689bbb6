// Wire protocol v1: schema, validation (same order and codes as protocol.py), canonical encoding.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "value.hpp"

namespace lsd::proto {

constexpr int kVersion = 1;
constexpr size_t kMaxMessageBytes = 64 * 1024;
constexpr uint64_t kMaxStringBytes = 256;
constexpr uint64_t kMaxPromptBytes = 2048;
constexpr uint64_t kMaxList = 64;
constexpr uint32_t kMaxSlots = 8;
constexpr uint32_t kDefaultSlots = 3;

enum class Kind { Str, Prompt, UInt, Int, Float, Bool, Bin, UIntList, StrList, Ring, RingReply, Map, Any };

struct Field {
    const char* name;
    Kind kind;
    bool required;
    bool has_low, has_high;
    double low, high;        // Float bounds
    int64_t ilow;            // Int/UInt bounds (UInt: as uint64 via uhigh)
    uint64_t uhigh;
    std::vector<const char*> choices;
};

struct MessageSpec {
    const char* name;
    const char* sender;  // "client", "runtime", "both"
    std::vector<Field> fields;
};

const MessageSpec* find_spec(const std::string& type);
const std::vector<Field>& ring_fields();
const std::vector<Field>& ring_reply_fields();

struct Error {
    std::string code;     // "malformed", "bad_field", ...
    std::string message;
    std::string ref;
    uint64_t id = 0;
};

// Decode + validate one message sent by `sender` ("client" or "runtime").
// Returns true and fills `out`, or false and fills `err`.
bool decode(const void* data, size_t len, const std::string& sender, Value& out, Error& err,
            size_t max_bytes = kMaxMessageBytes);
bool validate(const Value& obj, const std::string& sender, Error& err);

// Canonical bytes: t, v, id, then the schema's fields in table order (nested rings in
// their own order), then unknown keys as given; integers in FLOAT fields become floats.
std::string encode(const Value& message);

// A message map with t, v, id set.
Value make(const std::string& type, uint64_t id);

}  // namespace lsd::proto
