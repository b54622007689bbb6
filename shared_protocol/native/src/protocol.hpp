// Wire protocol: validation (same order and codes as the Python codec) and canonical encoding.
// The limits and message tables come from the generated contract (lsd_protocol.h and
// protocol_schema.inc, both from shared_protocol/schema/protocol.json).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lsd_bridge/lsd_protocol.h"
#include "value.hpp"

namespace lsd::proto {

constexpr int kVersion = LSD_PROTOCOL_VERSION;
constexpr size_t kMaxMessageBytes = LSD_MAX_MESSAGE_BYTES;
constexpr uint64_t kMaxStringBytes = LSD_MAX_STRING_BYTES;
constexpr uint64_t kMaxPromptBytes = LSD_MAX_PROMPT_BYTES;
constexpr uint64_t kMaxList = LSD_MAX_LIST;
constexpr uint32_t kMaxSlots = LSD_MAX_SLOTS;
constexpr uint32_t kDefaultSlots = LSD_DEFAULT_SLOTS;

enum class Kind { Str, Prompt, UInt, Int, Float, Bool, Bin, UIntList, StrList, Ring, RingReply, Map, Any };

struct Field {
    const char* name;
    Kind kind;
    bool required;
    bool has_low, has_high;
    double low, high;  // Float bounds
    int64_t ilow;      // Int/UInt lower bound
    uint64_t uhigh;    // Int/UInt upper bound
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
    std::string code;  // "malformed", "bad_field", ... (lsd_proto_error_from_name maps it)
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
