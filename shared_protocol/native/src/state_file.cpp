#include "state_file.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#ifndef _WIN32
#  include <cerrno>
#  include <fcntl.h>
#  include <sys/stat.h>
#  include <unistd.h>
#endif

namespace lsd {
namespace {

struct Json {
    const std::string& s;
    size_t k = 0;
    std::string why;

    void ws() {
        while (k < s.size() && (s[k] == ' ' || s[k] == '\n' || s[k] == '\r' || s[k] == '\t')) ++k;
    }
    bool lit(const char* w) {
        size_t n = std::char_traits<char>::length(w);
        if (s.compare(k, n, w) != 0) return false;
        k += n;
        return true;
    }
    static void put_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) out += static_cast<char>(cp);
        else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    bool hex4(uint32_t& v) {
        if (k + 4 > s.size()) return false;
        v = 0;
        for (int j = 0; j < 4; ++j) {
            char c = s[k++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
            else return false;
        }
        return true;
    }
    bool string(std::string& out) {
        if (k >= s.size() || s[k] != '"') return false;
        ++k;
        while (k < s.size()) {
            char c = s[k++];
            if (c == '"') return true;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (k >= s.size()) return false;
            char e = s[k++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    uint32_t cp;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xD800 && cp < 0xDC00 && lit("\\u")) {
                        uint32_t lo;
                        if (!hex4(lo)) return false;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    put_utf8(out, cp);
                    break;
                }
                default: return false;
            }
        }
        return false;
    }
    // value: strings and numbers are returned as text; nested values are skipped
    bool value(std::string& text, bool& is_string, int depth) {
        ws();
        if (k >= s.size() || depth > 32) return false;
        char c = s[k];
        is_string = false;
        if (c == '"') {
            is_string = true;
            return string(text);
        }
        if (c == '{' || c == '[') {
            char close = c == '{' ? '}' : ']';
            ++k;
            ws();
            if (k < s.size() && s[k] == close) {
                ++k;
                return true;
            }
            while (true) {
                std::string t;
                bool st;
                if (c == '{') {
                    ws();
                    if (!string(t)) return false;
                    ws();
                    if (k >= s.size() || s[k++] != ':') return false;
                    t.clear();
                }
                if (!value(t, st, depth + 1)) return false;
                ws();
                if (k < s.size() && s[k] == ',') {
                    ++k;
                    continue;
                }
                if (k < s.size() && s[k] == close) {
                    ++k;
                    return true;
                }
                return false;
            }
        }
        if (lit("true") || lit("false") || lit("null")) return true;
        size_t start = k;
        while (k < s.size() && (std::isdigit(static_cast<unsigned char>(s[k])) || s[k] == '-' || s[k] == '+' ||
                                s[k] == '.' || s[k] == 'e' || s[k] == 'E'))
            ++k;
        if (k == start) return false;
        text = s.substr(start, k - start);
        return true;
    }
};

}  // namespace

std::string default_state_dir() {
    if (const char* env = std::getenv("LSD_BRIDGE_HOME"); env && *env) return env;
#ifdef _WIN32
    const char* home = std::getenv("USERPROFILE");
#else
    const char* home = std::getenv("HOME");
#endif
    return std::string(home ? home : ".") + "/.lsd-bridge";
}

bool parse_runtime_state(const std::string& text, RuntimeState& out, std::string& why) {
    Json j{text, 0, {}};
    j.ws();
    if (j.k >= text.size() || text[j.k] != '{') {
        why = "not a JSON object";
        return false;
    }
    ++j.k;
    std::map<std::string, std::pair<std::string, bool>> fields;
    j.ws();
    if (j.k < text.size() && text[j.k] == '}') ++j.k;
    else {
        while (true) {
            std::string key, val;
            bool is_str = false;
            j.ws();
            if (!j.string(key)) {
                why = "bad JSON key";
                return false;
            }
            j.ws();
            if (j.k >= text.size() || text[j.k++] != ':') {
                why = "bad JSON (expected ':')";
                return false;
            }
            if (!j.value(val, is_str, 0)) {
                why = "bad JSON value for '" + key + "'";
                return false;
            }
            fields[key] = {val, is_str};
            j.ws();
            if (j.k < text.size() && text[j.k] == ',') {
                ++j.k;
                continue;
            }
            if (j.k < text.size() && text[j.k] == '}') {
                ++j.k;
                break;
            }
            why = "bad JSON (expected ',' or '}')";
            return false;
        }
    }
    auto str = [&](const char* name, std::string& dst, bool required) {
        auto it = fields.find(name);
        if (it == fields.end() || !it->second.second) {
            if (required) why = std::string("no string '") + name + "'";
            return !required;
        }
        dst = it->second.first;
        return true;
    };
    if (!str("endpoint", out.endpoint, true) || !str("token", out.token, true)) return false;
    str("version", out.version, false);
    str("server_key", out.server_key, false);
    auto it = fields.find("pid");
    if (it == fields.end() || it->second.second || it->second.first.empty()) {
        why = "no integer 'pid'";
        return false;
    }
    char* end = nullptr;
    out.pid = std::strtoll(it->second.first.c_str(), &end, 10);
    return true;
}

#ifndef _WIN32
namespace {

// The state directory must be the user's own and writable by nobody else, or another local
// user could replace runtime.json and point the game at their own endpoint.
bool check_state_dir(const std::string& dir, std::string& why) {
    struct stat link {
    }, st{};
    if (::lstat(dir.c_str(), &link) != 0 || ::stat(dir.c_str(), &st) != 0) {
        why = "no runtime state at " + dir + "/runtime.json (no such directory): is `lsd-runtime serve` running?";
        return false;
    }
    uid_t uid = ::geteuid();
    if (S_ISLNK(link.st_mode) && link.st_uid != uid) {
        why = "state directory " + dir + " is a link made by uid " + std::to_string(link.st_uid) +
              ", not this user; refusing it";
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        why = "state directory " + dir + " is not a directory";
        return false;
    }
    if (st.st_uid != uid) {
        why = "state directory " + dir + " belongs to uid " + std::to_string(st.st_uid) + ", not this user (" +
              std::to_string(uid) + "): another user could replace runtime.json; use a directory of your own";
        return false;
    }
    if (st.st_mode & 022) {
        why = "state directory " + dir + " is writable by others: they could replace runtime.json; chmod 700 it";
        return false;
    }
    return true;
}

}  // namespace
#endif

bool read_runtime_state(const std::string& dir, RuntimeState& out, std::string& why) {
    std::string base = dir.empty() ? default_state_dir() : dir;
    std::string path = base + "/runtime.json";
    std::string text;
#ifdef _WIN32
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        why = "no runtime state at " + path + ": is `lsd-runtime serve` running?";
        return false;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    text = ss.str();
#else
    if (!check_state_dir(base, why)) return false;
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        why = errno == ELOOP ? path + " is a link; the runtime writes a plain file: refusing it"
                             : "no runtime state at " + path + ": is `lsd-runtime serve` running?";
        return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
        ::close(fd);
        why = path + " is not a file of this user's; refusing it";
        return false;
    }
    if (st.st_mode & 077) {
        ::close(fd);
        why = path + " is open to others (the runtime writes it 0600); refusing it";
        return false;
    }
    const size_t max_bytes = size_t(1) << 16;  // runtime.json is a few hundred bytes: not a protocol limit
    char buf[1024];
    ssize_t n;
    while (text.size() < max_bytes && (n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    ::close(fd);
#endif
    if (!parse_runtime_state(text, out, why)) {
        why = path + " is not a runtime state file (" + why + ")";
        return false;
    }
    return true;
}

}  // namespace lsd
