// runtime.json discovery file (a flat JSON object) and its default location.
#pragma once
#include <cstdint>
#include <string>

namespace lsd {

struct RuntimeState {
    std::string endpoint, token, version;
    std::string server_key;  // Z85 CURVE public key; empty when the runtime does not encrypt
    int64_t pid = 0;
};

std::string default_state_dir();  // $LSD_BRIDGE_HOME, else ~/.lsd-bridge
// Reads DIR/runtime.json; false with `why` when missing or not a state file.
bool read_runtime_state(const std::string& dir, RuntimeState& out, std::string& why);
// Parses the JSON text of a state file (exposed for tests).
bool parse_runtime_state(const std::string& text, RuntimeState& out, std::string& why);

}  // namespace lsd
