// Golden vectors: byte-exact canonical round trip and the documented errors for invalid input.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "latency_window.hpp"
#include "pending_request.hpp"
#include "protocol.hpp"
#include "state_file.hpp"
#include "value.hpp"

namespace fs = std::filesystem;
using lsd::Value;
using json = nlohmann::ordered_json;

namespace {

std::string read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string unhex(const std::string& h) {
    std::string out;
    for (size_t k = 0; k + 1 < h.size(); k += 2) out += static_cast<char>(std::stoi(h.substr(k, 2), nullptr, 16));
    return out;
}

Value from_json(const json& j) {
    if (j.is_null()) return Value::nil();
    if (j.is_boolean()) return Value::boolean(j.get<bool>());
    if (j.is_number_unsigned()) return Value::uint(j.get<uint64_t>());
    if (j.is_number_integer()) return Value::sint(j.get<int64_t>());
    if (j.is_number_float()) return Value::real(j.get<double>());
    if (j.is_string()) return Value::str(j.get<std::string>());
    if (j.is_array()) {
        Value v = Value::array();
        for (const auto& x : j) v.arr.push_back(from_json(x));
        return v;
    }
    if (j.size() == 1 && j.contains("$bin")) return Value::bin(unhex(j["$bin"].get<std::string>()));
    Value v = Value::object();
    for (auto it = j.begin(); it != j.end(); ++it) v.map.emplace_back(Value::str(it.key()), from_json(it.value()));
    return v;
}

std::vector<fs::path> valid_vectors() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(LSD_VECTORS_DIR))
        if (e.path().extension() == ".msgpack") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// reverse the key order of the message and of its ring maps (schema-ordered maps only)
Value scramble(const Value& m) {
    Value out = Value::object();
    for (auto it = m.map.rbegin(); it != m.map.rend(); ++it) {
        Value v = it->second;
        if (v.kind == Value::Map && (it->first.s == "input" || it->first.s == "output"))
            std::reverse(v.map.begin(), v.map.end());
        out.map.emplace_back(it->first, v);
    }
    return out;
}

std::string hex(const std::string& s) {
    static const char* d = "0123456789abcdef";
    std::string o;
    for (unsigned char c : s) {
        o += d[c >> 4];
        o += d[c & 15];
    }
    return o;
}

}  // namespace

TEST(GoldenVectors, AllPresent) { EXPECT_GE(valid_vectors().size(), 20u); }

TEST(GoldenVectors, DecodeMeansTheJsonAndReencodesByteExactly) {
    for (const auto& path : valid_vectors()) {
        SCOPED_TRACE(path.filename().string());
        std::string bytes = read_file(path);
        fs::path jpath = path;
        jpath.replace_extension(".json");
        json meaning = json::parse(read_file(jpath));
        std::string sender = meaning["sender"].get<std::string>();

        Value decoded;
        lsd::proto::Error err;
        ASSERT_TRUE(lsd::proto::decode(bytes.data(), bytes.size(), sender, decoded, err))
            << err.code << ": " << err.message;
        Value expected = from_json(meaning["message"]);
        EXPECT_TRUE(decoded == expected) << "decoded value differs from the JSON meaning";

        EXPECT_EQ(hex(lsd::proto::encode(decoded)), hex(bytes)) << "decode -> encode";
        EXPECT_EQ(hex(lsd::proto::encode(expected)), hex(bytes)) << "JSON meaning -> encode";
        EXPECT_EQ(hex(lsd::proto::encode(scramble(decoded))), hex(bytes)) << "keys in another order -> canonical";
    }
}

TEST(InvalidVectors, RejectedWithDocumentedCodeIdRef) {
    fs::path dir = fs::path(LSD_VECTORS_DIR) / "invalid";
    json cases = json::parse(read_file(dir / "cases.json"));
    ASSERT_GE(cases.size(), 20u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c["name"].get<std::string>());
        std::string bytes = read_file(dir / c["file"].get<std::string>());
        Value v;
        lsd::proto::Error err;
        EXPECT_FALSE(lsd::proto::decode(bytes.data(), bytes.size(), c["sender"].get<std::string>(), v, err));
        EXPECT_EQ(err.code, c["code"].get<std::string>()) << err.message;
        EXPECT_EQ(err.id, c["id"].get<uint64_t>());
        EXPECT_EQ(err.ref, c["ref"].get<std::string>());
        EXPECT_FALSE(err.message.empty());
    }
}

TEST(Codec, IntegersInFloatFieldsBecomeFloat64) {
    Value a = lsd::proto::make("ping", 10);
    a.set("time", Value::uint(3));
    Value b = lsd::proto::make("ping", 10);
    b.set("time", Value::real(3.0));
    EXPECT_EQ(hex(lsd::proto::encode(a)), hex(lsd::proto::encode(b)));
    std::string bytes = lsd::proto::encode(b);
    EXPECT_NE(bytes.find(std::string("\xcb", 1)), std::string::npos);
}

TEST(Codec, SmallestIntegerEncodings) {
    auto enc = [](Value v) { return hex(lsd::encode_value(v)); };
    EXPECT_EQ(enc(Value::uint(127)), "7f");
    EXPECT_EQ(enc(Value::uint(128)), "cc80");
    EXPECT_EQ(enc(Value::uint(65535)), "cdffff");
    EXPECT_EQ(enc(Value::uint(65536)), "ce00010000");  // uint32 encoding: not a protocol limit
    EXPECT_EQ(enc(Value::uint(1ull << 32)), "cf0000000100000000");
    EXPECT_EQ(enc(Value::sint(-1)), "ff");
    EXPECT_EQ(enc(Value::sint(-33)), "d0df");
    EXPECT_EQ(enc(Value::sint(-7)), "f9");
    EXPECT_EQ(enc(Value::str(std::string(40, 'a'))).substr(0, 4), "d928");  // str8
}

TEST(Codec, UnknownFieldsKeptAfterKnownOnes) {
    Value m = Value::object();
    m.set("extra", Value::uint(1));
    m.set("time", Value::real(1.0));
    m.set("id", Value::uint(2));
    m.set("v", Value::uint(1));
    m.set("t", Value::str("ping"));
    Value back;
    std::string why;
    std::string bytes = lsd::proto::encode(m);
    ASSERT_TRUE(lsd::decode_value(bytes.data(), bytes.size(), LSD_MAX_MESSAGE_BYTES, back, why));
    ASSERT_EQ(back.map.size(), 5u);
    EXPECT_EQ(back.map[0].first.s, "t");
    EXPECT_EQ(back.map[1].first.s, "v");
    EXPECT_EQ(back.map[2].first.s, "id");
    EXPECT_EQ(back.map[3].first.s, "time");
    EXPECT_EQ(back.map[4].first.s, "extra");
    lsd::proto::Error err;
    EXPECT_TRUE(lsd::proto::validate(back, "client", err));  // unknown fields are ignored
}

TEST(Codec, RejectsBadUtf8DeepNestingAndOversize) {
    Value v;
    lsd::proto::Error err;
    // {"t": <invalid utf-8>}
    std::string bad_utf8 = "\x81\xa1t\xa2\xc3\x28";
    EXPECT_FALSE(lsd::proto::decode(bad_utf8.data(), bad_utf8.size(), "client", v, err));
    EXPECT_EQ(err.code, "malformed");
    std::string deep(2000, '\x91');
    deep += '\xc0';
    EXPECT_FALSE(lsd::proto::decode(deep.data(), deep.size(), "client", v, err));
    EXPECT_EQ(err.code, "malformed");
    std::string big(70000, '\0');
    EXPECT_FALSE(lsd::proto::decode(big.data(), big.size(), "client", v, err));
    EXPECT_EQ(err.code, "too_large");
}

TEST(Codec, RuntimeSideValidation) {
    // a frame_done sent by a client is a wrong-direction message
    Value m = lsd::proto::make("frame_done", 1);
    m.set("slot", Value::uint(0));
    m.set("in_slot", Value::uint(0));
    m.set("time", Value::real(1.0));
    m.set("timings", Value::object());
    std::string bytes = lsd::proto::encode(m);
    Value v;
    lsd::proto::Error err;
    EXPECT_TRUE(lsd::proto::decode(bytes.data(), bytes.size(), "runtime", v, err));
    EXPECT_FALSE(lsd::proto::decode(bytes.data(), bytes.size(), "client", v, err));
    EXPECT_EQ(err.code, "unknown_type");
    EXPECT_EQ(err.ref, "frame_done");
    EXPECT_EQ(err.id, 1u);
}

TEST(StateFile, ParsesRuntimeJson) {
    lsd::RuntimeState st;
    std::string why;
    ASSERT_TRUE(lsd::parse_runtime_state(
        R"({"endpoint": "tcp://127.0.0.1:4567", "token": "ab\u0063d", "pid": 1234, "version": "0.1.0", "x": [1, {"y": null}]})",
        st, why))
        << why;
    EXPECT_EQ(st.endpoint, "tcp://127.0.0.1:4567");
    EXPECT_EQ(st.token, "abcd");
    EXPECT_EQ(st.pid, 1234);
    EXPECT_EQ(st.version, "0.1.0");
    EXPECT_FALSE(lsd::parse_runtime_state(R"({"endpoint": "x"})", st, why));
    EXPECT_FALSE(lsd::parse_runtime_state("not json", st, why));
    EXPECT_FALSE(lsd::parse_runtime_state(R"({"endpoint": "x", "token": 5, "pid": 1})", st, why));
}

TEST(LatencyWindow, PercentilesLikeNumpy) {
    lsd::LatencyWindow w(4);
    EXPECT_EQ(w.percentile(50), 0.0);
    for (double x : {1.0, 2.0, 3.0, 4.0}) w.add(x);
    EXPECT_DOUBLE_EQ(w.percentile(50), 2.5);
    EXPECT_NEAR(w.percentile(99), 3.97, 1e-9);
    w.add(100.0);  // replaces the oldest (1.0)
    EXPECT_DOUBLE_EQ(w.percentile(50), 3.5);
    EXPECT_EQ(w.count(), 5u);
}

TEST(Fuzz, MutatedVectorsNeverCrashTheDecoder) {
    // deterministic xorshift so failures reproduce
    uint64_t state = 0x9E3779B97F4A7C15ull;
    auto rnd = [&] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    size_t accepted = 0, rejected = 0;
    for (const auto& path : valid_vectors()) {
        std::string bytes = read_file(path);
        for (int k = 0; k < 3000; ++k) {
            std::string m = bytes;
            int edits = 1 + static_cast<int>(rnd() % 4);
            for (int e = 0; e < edits; ++e) {
                size_t pos = rnd() % (m.size() + 1);
                switch (rnd() % 4) {
                    case 0:
                        if (pos < m.size()) m[pos] = static_cast<char>(rnd());
                        break;
                    case 1: m.insert(pos, 1, static_cast<char>(rnd())); break;
                    case 2:
                        if (pos < m.size()) m.erase(pos, 1);
                        break;
                    case 3: m = m.substr(0, pos); break;
                }
            }
            for (const char* sender : {"client", "runtime"}) {
                Value v;
                lsd::proto::Error err;
                if (lsd::proto::decode(m.data(), m.size(), sender, v, err)) {
                    ++accepted;
                    // whatever validates also re-encodes and decodes to the same value
                    std::string again = lsd::proto::encode(v);
                    Value back;
                    std::string why;
                    ASSERT_TRUE(lsd::decode_value(again.data(), again.size(), 1 << 20, back, why)) << why;
                } else {
                    ++rejected;
                    EXPECT_FALSE(err.code.empty());
                }
            }
        }
    }
    EXPECT_GT(accepted, 0u);
    EXPECT_GT(rejected, 0u);
}

TEST(PendingRequest, ARefusalDoesNotThrowAwayANewerRequest) {
    lsd::PendingRequest<int> r;
    uint64_t a = r.want(1);
    ASSERT_EQ(r.send(10).value(), 1);
    uint64_t b = r.want(2);  // asked for while 1 is on its way
    r.refuse(LSD_E_REJECTED, "no", true);
    EXPECT_TRUE(r.answered(a));
    EXPECT_FALSE(r.answered(b));
    ASSERT_TRUE(r.wanted().has_value());
    EXPECT_EQ(*r.wanted(), 2);  // still wanted: it goes out next
    EXPECT_EQ(r.send(11).value(), 2);
    r.accept();
    EXPECT_TRUE(r.answered(b));
    EXPECT_EQ(*r.accepted(), 2);
}

TEST(PendingRequest, ARefusalFallsBackToTheLastAcceptedOrToNothing) {
    lsd::PendingRequest<int> r;
    r.want(1);
    r.send(1);
    r.accept();
    r.want(2);
    r.send(2);
    r.refuse(LSD_E_REJECTED, "no", true);
    EXPECT_EQ(*r.wanted(), 1);  // back to what is applied
    EXPECT_EQ(r.result(), LSD_E_REJECTED);
    EXPECT_FALSE(r.pending());
    // a new session refuses the accepted value itself on its resend: nothing left to resend
    r.session_lost();
    EXPECT_TRUE(r.pending());  // not answered on this session yet
    r.send(3);
    r.refuse(LSD_E_REJECTED, "not here", true);
    EXPECT_FALSE(r.wanted().has_value());
    EXPECT_FALSE(r.accepted().has_value());
    // a request without fall-back (a bind) is not re-sent after a refusal
    lsd::PendingRequest<int> bind;
    bind.want(7);
    bind.send(4);
    bind.refuse(LSD_E_REJECTED, "bad ring", false);
    EXPECT_FALSE(bind.wanted().has_value());
}
