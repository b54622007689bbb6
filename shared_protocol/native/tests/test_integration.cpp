// Integration with the real runtime process: pixel-exact streaming over shm and inline, two
// clients, latest-frame-wins pipelining, model names and style errors, the example host.
#include <gtest/gtest.h>

#include <filesystem>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "runtime_process.hpp"
#include "test_helpers.hpp"

using namespace lsdtest;

namespace {

constexpr unsigned W = 160, H = 90;
constexpr unsigned kToonFrames = 4;  // distinct scene frames used with toon (expected via `apply`)

uint16_t to_half(float f) {  // values in [0, 1]: normal halves, or 0
    if (f <= 0.0f) return 0;
    uint32_t x;
    std::memcpy(&x, &f, 4);
    int exp = static_cast<int>((x >> 23) & 0xFF) - 127 + 15;
    if (exp <= 0) return 0;
    uint32_t mant = x & 0x7FFFFF;
    uint16_t h = static_cast<uint16_t>((exp << 10) | (mant >> 13));
    if (mant & 0x1000) ++h;  // round half up
    return h;
}

// the scene as rgba16f (8 bytes per pixel, linear values = bytes / 255)
std::vector<uint8_t> render_half(unsigned w, unsigned h, uint64_t frame) {
    auto px = render(w, h, frame, false);
    std::vector<uint8_t> out(px.size() * 2);
    for (size_t k = 0; k < px.size(); ++k) {
        uint16_t v = to_half(px[k] / 255.0f);
        std::memcpy(out.data() + 2 * k, &v, 2);
    }
    return out;
}

class Runtime : public ::testing::Test {
public:
    static void SetUpTestSuite() {
        dir_ = make_temp_dir("lsd-native-it");
        std::string why;
        ok_ = runtime_.start(dir_, why);
        why_ = why;
        if (!ok_) return;
        // expected toon frames (bgra8) from the runtime's own pipeline, computed in parallel
        std::vector<std::thread> jobs;
        std::vector<int> good(kToonFrames, 0);
        for (unsigned k = 0; k < kToonFrames; ++k) {
            auto in = render(W, H, k * 7, true);
            std::string ip = dir_ + "/toon_in_" + std::to_string(k) + ".raw";
            write_file(ip, in.data(), in.size());
            jobs.emplace_back([k, ip, &good] {
                good[k] = apply_style("toon", W, H, "bgra8", ip, dir_ + "/toon_out_" + std::to_string(k) + ".raw");
            });
        }
        {
            auto half = render_half(W, H, 3);
            write_file(dir_ + "/half_in.raw", half.data(), half.size());
            jobs.emplace_back([] {
                half_ok_ = apply_style("sepia", W, H, "rgba16f", dir_ + "/half_in.raw", dir_ + "/half_out.raw");
            });
        }
        for (auto& j : jobs) j.join();
        half_expected_ = read_file(dir_ + "/half_out.raw");
        for (unsigned k = 0; k < kToonFrames; ++k) {
            if (!good[k]) {
                ok_ = false;
                why_ = "lsd-runtime apply failed: " + read_file(dir_ + "/toon_out_" + std::to_string(k) + ".raw.log");
                return;
            }
            toon_expected_.push_back(read_file(dir_ + "/toon_out_" + std::to_string(k) + ".raw"));
        }
    }
    static void TearDownTestSuite() {
        runtime_.stop();
        remove_tree(dir_);
    }

protected:
    void SetUp() override { ASSERT_TRUE(ok_) << why_; }

    static lsd_client* open(const char* style, lsd_format fmt, unsigned in_pitch = 0,
                            lsd_transport transport = test_transport(), lsd_codec codec = LSD_CODEC_LZ4) {
        lsd_client* c = nullptr;
        EXPECT_EQ(lsd_client_create_from_state(dir_.c_str(), "native-test/0.1.0", &c), LSD_OK) << lsd_last_error();
        if (!c) return nullptr;
        EXPECT_EQ(lsd_client_connect(c, 10000), LSD_OK) << lsd_last_error();
        lsd_bind_desc b;
        lsd_bind_desc_init(&b, W, H, fmt);
        b.input.pitch = in_pitch;
        b.transport = transport;
        b.codec = codec;
        EXPECT_EQ(lsd_client_bind(c, &b, 10000), LSD_OK) << lsd_last_error();
        lsd_style_desc s;
        lsd_style_desc_init(&s);
        s.style = style;
        EXPECT_EQ(lsd_client_set_style(c, &s, 10000), LSD_OK) << lsd_last_error();
        EXPECT_EQ(lsd_client_state(c), LSD_STATE_READY);
        return c;
    }

    // one frame at a time: submit, then take its result
    static void round_trip(lsd_client* c, const std::vector<uint8_t>& px, lsd_format fmt, unsigned src_pitch,
                           std::vector<uint8_t>& out, unsigned out_pitch, uint64_t& id_out) {
        auto fi = frame_in(px, W, H, fmt, src_pitch);
        uint64_t id = 0;
        ASSERT_EQ(lsd_client_submit(c, &fi, &id), LSD_OK) << lsd_last_error();
        auto fo = frame_out(out, out_pitch);
        lsd_status s = lsd_client_take(c, &fo, 5000);
        ASSERT_EQ(s, LSD_OK) << lsd_status_string(s) << ": " << lsd_last_error();
        ASSERT_EQ(fo.frame_id, id);
        ASSERT_EQ(fo.width, W);
        ASSERT_EQ(fo.height, H);
        ASSERT_GT(fo.timings.round_trip_ms, 0.0);
        id_out = id;
    }

    static std::string dir_, why_;
    static bool ok_;
    static RuntimeProcess runtime_;
    static std::vector<std::string> toon_expected_;
    static std::string half_expected_;
    static bool half_ok_;
};

std::string Runtime::dir_, Runtime::why_;
bool Runtime::ok_ = false;
RuntimeProcess Runtime::runtime_;
std::vector<std::string> Runtime::toon_expected_;
std::string Runtime::half_expected_;
bool Runtime::half_ok_ = false;

TEST_F(Runtime, Identity300FramesPixelExact) {
    // the input ring has padded rows, the caller's output buffer too
    lsd_client* c = open("identity", LSD_FORMAT_RGBA8, W * 4 + 64);
    ASSERT_NE(c, nullptr);
    const unsigned out_pitch = W * 4 + 32;
    std::vector<uint8_t> out(static_cast<size_t>(out_pitch) * H);
    for (unsigned f = 0; f < 300; ++f) {
        auto px = render(W, H, f, false);
        uint64_t id;
        round_trip(c, px, LSD_FORMAT_RGBA8, 0, out, out_pitch, id);
        if (HasFatalFailure()) break;
        ASSERT_TRUE(same_pixels(std::string(px.begin(), px.end()), out, W, H, out_pitch)) << "frame " << f;
    }
    lsd_stats st = stats_of(c);
    EXPECT_EQ(st.frames_submitted, 300u);
    EXPECT_EQ(st.frames_done, 300u);
    EXPECT_EQ(st.frames_taken, 300u);
    EXPECT_EQ(st.frames_dropped, 0u);
    EXPECT_EQ(st.round_trip.samples, 300u);
    EXPECT_GT(st.round_trip.p99_ms, 0.0);
    EXPECT_GE(st.round_trip.p99_ms, st.round_trip.p50_ms);
    EXPECT_EQ(st.state, LSD_STATE_READY);
    std::printf("identity %ux%u: round trip p50 %.3f ms p99 %.3f ms; runtime total p50 %.3f ms\n", W, H,
                st.round_trip.p50_ms, st.round_trip.p99_ms, st.total.p50_ms);
    lsd_client_close(c);
}

TEST_F(Runtime, Toon300FramesPixelExactAgainstApply) {
    lsd_client* c = open("toon", LSD_FORMAT_BGRA8);
    ASSERT_NE(c, nullptr);
    std::vector<uint8_t> out(static_cast<size_t>(W) * 4 * H);
    for (unsigned f = 0; f < 300; ++f) {
        unsigned k = f % kToonFrames;
        auto px = render(W, H, k * 7, true, W * 4 + 16);  // caller rows padded
        uint64_t id;
        round_trip(c, px, LSD_FORMAT_BGRA8, W * 4 + 16, out, 0, id);
        if (HasFatalFailure()) break;
        ASSERT_TRUE(same_pixels(toon_expected_[k], out, W, H, W * 4)) << "frame " << f;
    }
    // toon really changed the picture
    auto in0 = render(W, H, 0, true);
    EXPECT_NE(toon_expected_[0], std::string(in0.begin(), in0.end()));
    EXPECT_EQ(stats_of(c).frames_done, 300u);
    lsd_client_close(c);
}

TEST_F(Runtime, MotionAndDepthPlanesReachTheBackendExactly) {
    // colour + motion (rg32f, pixels) + depth (r32f, linear) per frame; the `planes` style shows
    // what the backend received: red/green = 128 + motion, blue = depth. Frames alternate between
    // sending both planes and sending none (then the view reads 128, 128, 0).
    if (test_transport() != LSD_TRANSPORT_SHM) GTEST_SKIP() << "planes travel in shared memory only";
    lsd_client* c = nullptr;
    ASSERT_EQ(lsd_client_create_from_state(dir_.c_str(), "native-test/0.1.0", &c), LSD_OK) << lsd_last_error();
    ASSERT_EQ(lsd_client_connect(c, 10000), LSD_OK) << lsd_last_error();
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, W, H, LSD_FORMAT_RGBA8);
    b.motion.format = LSD_MOTION_RG32F;
    b.motion.pitch = W * 8 + 24;  // padded plane rows in the slot
    b.depth.format = LSD_DEPTH_R32F;
    ASSERT_EQ(lsd_client_bind(c, &b, 10000), LSD_OK) << lsd_last_error();
    lsd_style_desc s;
    lsd_style_desc_init(&s);
    s.style = "planes";
    ASSERT_EQ(lsd_client_set_style(c, &s, 10000), LSD_OK) << lsd_last_error();
    std::vector<float> motion(static_cast<size_t>(W) * H * 2), depth(static_cast<size_t>(W) * H);
    std::vector<uint8_t> out(static_cast<size_t>(W) * 4 * H);
    for (unsigned f = 0; f < 60; ++f) {
        for (unsigned y = 0; y < H; ++y)
            for (unsigned x = 0; x < W; ++x) {
                size_t k = static_cast<size_t>(y) * W + x;
                motion[2 * k] = static_cast<float>(static_cast<int>((x + f) % 41) - 20);
                motion[2 * k + 1] = static_cast<float>(static_cast<int>((y * 3 + f) % 31) - 15);
                depth[k] = static_cast<float>((x + y + f) % 250) + 1.0f;
            }
        bool planes = f % 2 == 0;
        auto px = render(W, H, f, false);
        auto fi = frame_in(px, W, H, LSD_FORMAT_RGBA8, 0);
        if (planes) {
            fi.motion = motion.data();
            fi.depth = depth.data();
        }
        uint64_t id = 0;
        ASSERT_EQ(lsd_client_submit(c, &fi, &id), LSD_OK) << lsd_last_error();
        auto fo = frame_out(out, 0);
        ASSERT_EQ(lsd_client_take(c, &fo, 5000), LSD_OK) << lsd_last_error();
        ASSERT_EQ(fo.frame_id, id);
        for (unsigned y = 0; y < H; ++y)
            for (unsigned x = 0; x < W; ++x) {
                size_t k = static_cast<size_t>(y) * W + x;
                const uint8_t* p = out.data() + 4 * k;
                int r = planes ? 128 + static_cast<int>(motion[2 * k]) : 128;
                int g = planes ? 128 + static_cast<int>(motion[2 * k + 1]) : 128;
                int bl = planes ? static_cast<int>(depth[k]) : 0;
                ASSERT_EQ(std::make_tuple(int(p[0]), int(p[1]), int(p[2]), int(p[3])), std::make_tuple(r, g, bl, 255))
                    << "frame " << f << " pixel " << x << "," << y;
            }
    }
    EXPECT_EQ(stats_of(c).frames_done, 60u);
    lsd_client_close(c);
}

TEST_F(Runtime, PlanesAreCheckedBeforeTheyAreSent) {
    lsd_client* c = open("identity", LSD_FORMAT_RGBA8);
    ASSERT_NE(c, nullptr);
    // no plane declared: a frame that brings one is refused, and nothing is lost
    std::vector<float> depth(static_cast<size_t>(W) * H, 1.0f);
    auto px = render(W, H, 1, false);
    auto fi = frame_in(px, W, H, LSD_FORMAT_RGBA8, 0);
    fi.depth = depth.data();
    EXPECT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_E_MISMATCH);
    EXPECT_NE(std::string(lsd_last_error()).find("no depth plane"), std::string::npos) << lsd_last_error();
    fi.depth = nullptr;
    fi.flags = 8;
    EXPECT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_E_INVALID_ARGUMENT);
    // bad declarations never reach the runtime
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, W, H, LSD_FORMAT_RGBA8);
    b.depth.format = LSD_DEPTH_R16F;
    b.depth.kind = LSD_DEPTH_KIND_DEVICE;
    b.depth.near_plane = 0.0f;
    EXPECT_EQ(lsd_client_bind(c, &b, 1000), LSD_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(lsd_last_error()).find("near_plane > 0"), std::string::npos) << lsd_last_error();
    lsd_bind_desc_init(&b, W, H, LSD_FORMAT_RGBA8);
    b.motion.format = LSD_MOTION_RG16F;
    b.motion.pitch = W * 4 - 4;
    EXPECT_EQ(lsd_client_bind(c, &b, 1000), LSD_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(lsd_last_error()).find("motion.pitch"), std::string::npos) << lsd_last_error();
    lsd_bind_desc_init(&b, W, H, LSD_FORMAT_RGBA8);
    b.transport = LSD_TRANSPORT_INLINE;
    b.motion.format = LSD_MOTION_RG16F;
    EXPECT_EQ(lsd_client_bind(c, &b, 1000), LSD_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(lsd_last_error()).find("shared memory only"), std::string::npos) << lsd_last_error();
    // the session goes on
    std::vector<uint8_t> out(static_cast<size_t>(W) * 4 * H);
    uint64_t id;
    fi.flags = 0;
    round_trip(c, px, LSD_FORMAT_RGBA8, 0, out, 0, id);
    EXPECT_TRUE(same_pixels(std::string(px.begin(), px.end()), out, W, H, W * 4));
    lsd_client_close(c);
}

TEST_F(Runtime, InlineTransport300FramesPixelExact) {
    // pixels inside the messages (how a game reaches a runtime on another machine): identity is
    // exact, toon equals `apply`, both with padded rows on the caller's side
    lsd_client* c = open("identity", LSD_FORMAT_RGBA8, W * 4 + 64, LSD_TRANSPORT_INLINE);
    ASSERT_NE(c, nullptr);
    const unsigned out_pitch = W * 4 + 32;
    std::vector<uint8_t> out(static_cast<size_t>(out_pitch) * H);
    for (unsigned f = 0; f < 300; ++f) {
        auto px = render(W, H, f, false);
        uint64_t id;
        round_trip(c, px, LSD_FORMAT_RGBA8, 0, out, out_pitch, id);
        if (HasFatalFailure()) break;
        ASSERT_TRUE(same_pixels(std::string(px.begin(), px.end()), out, W, H, out_pitch)) << "frame " << f;
    }
    lsd_stats st = stats_of(c);
    EXPECT_EQ(st.frames_done, 300u);
    EXPECT_EQ(st.frames_taken, 300u);
    EXPECT_EQ(st.errors, 0u);
    // the scene compresses well: every frame travelled as an LZ4 block, both ways
    const uint64_t slot = static_cast<uint64_t>(W * 4 + 64) * H;
    EXPECT_EQ(st.inline_frames_packed, 600u);
    EXPECT_LE(st.inline_bytes_sent, 300 * slot / 8 * 7);  // a block is sent only when it pays
    EXPECT_LE(st.inline_bytes_received, 300 * (static_cast<uint64_t>(W) * 4 * H) / 8 * 7);
    std::printf("inline identity %ux%u: round trip p50 %.3f ms p99 %.3f ms; lz4 sent %.1f%%, received %.1f%% of raw\n",
                W, H, st.round_trip.p50_ms, st.round_trip.p99_ms, 100.0 * st.inline_bytes_sent / (300.0 * slot),
                100.0 * st.inline_bytes_received / (300.0 * W * 4 * H));
    lsd_client_close(c);

    c = open("toon", LSD_FORMAT_BGRA8, 0, LSD_TRANSPORT_INLINE);
    ASSERT_NE(c, nullptr);
    std::vector<uint8_t> toon(static_cast<size_t>(W) * 4 * H);
    for (unsigned k = 0; k < kToonFrames; ++k) {
        auto px = render(W, H, k * 7, true, W * 4 + 16);
        uint64_t id;
        round_trip(c, px, LSD_FORMAT_BGRA8, W * 4 + 16, toon, 0, id);
        if (HasFatalFailure()) break;
        ASSERT_TRUE(same_pixels(toon_expected_[k], toon, W, H, W * 4)) << "toon frame " << k;
    }
    lsd_client_close(c);
}

TEST_F(Runtime, InlineFramesGoRawWhenCompressingDoesNotPayOrIsOff) {
    const uint64_t size = static_cast<uint64_t>(W) * 4 * H;
    std::vector<uint8_t> out(size);
    uint64_t seed = 12345;
    auto noise = [&] {  // xorshift: bytes LZ4 cannot shrink
        std::vector<uint8_t> px(size);
        for (auto& b : px) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            b = static_cast<uint8_t>(seed);
        }
        return px;
    };
    lsd_client* c = open("identity", LSD_FORMAT_RGBA8, 0, LSD_TRANSPORT_INLINE);  // lz4 offered
    ASSERT_NE(c, nullptr);
    for (unsigned f = 0; f < 20; ++f) {
        auto px = noise();
        uint64_t id;
        round_trip(c, px, LSD_FORMAT_RGBA8, 0, out, 0, id);
        ASSERT_TRUE(same_pixels(std::string(px.begin(), px.end()), out, W, H, W * 4)) << "noise frame " << f;
    }
    lsd_stats st = stats_of(c);
    EXPECT_EQ(st.inline_frames_packed, 0u);
    EXPECT_EQ(st.inline_bytes_sent, 20 * size);
    EXPECT_EQ(st.inline_bytes_received, 20 * size);
    lsd_client_close(c);

    c = open("identity", LSD_FORMAT_RGBA8, 0, LSD_TRANSPORT_INLINE, LSD_CODEC_NONE);  // compressible, but off
    ASSERT_NE(c, nullptr);
    for (unsigned f = 0; f < 20; ++f) {
        auto px = render(W, H, f, false);
        uint64_t id;
        round_trip(c, px, LSD_FORMAT_RGBA8, 0, out, 0, id);
        ASSERT_TRUE(same_pixels(std::string(px.begin(), px.end()), out, W, H, W * 4)) << "frame " << f;
    }
    st = stats_of(c);
    EXPECT_EQ(st.inline_frames_packed, 0u);
    EXPECT_EQ(st.inline_bytes_sent, 20 * size);
    EXPECT_EQ(st.inline_bytes_received, 20 * size);
    lsd_client_close(c);
}

TEST_F(Runtime, BindingAnotherTransportReopensTheSession) {
    if (!shm_available())
        GTEST_SKIP() << "shm is out of reach here (LSD_TEST_TRANSPORT=inline): no transport to switch from";
    lsd_client* c = open("identity", LSD_FORMAT_RGBA8, 0, LSD_TRANSPORT_SHM);
    ASSERT_NE(c, nullptr);
    std::vector<uint8_t> out(static_cast<size_t>(W) * 4 * H);
    auto px = render(W, H, 1, false);
    uint64_t id;
    round_trip(c, px, LSD_FORMAT_RGBA8, 0, out, 0, id);
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, W, H, LSD_FORMAT_RGBA8);
    b.transport = LSD_TRANSPORT_INLINE;
    ASSERT_EQ(lsd_client_bind(c, &b, 10000), LSD_OK) << lsd_last_error();
    round_trip(c, px, LSD_FORMAT_RGBA8, 0, out, 0, id);  // the style came along to the new session
    ASSERT_TRUE(same_pixels(std::string(px.begin(), px.end()), out, W, H, W * 4));
    EXPECT_EQ(stats_of(c).reconnects, 1u);
    lsd_client_close(c);
}

TEST_F(Runtime, ModelNamesAreResolvedByTheRuntimeAndReported) {
    lsd_client* c = open("identity", LSD_FORMAT_RGBA8);
    ASSERT_NE(c, nullptr);
    lsd_style_info info;
    info.struct_size = sizeof info;
    ASSERT_EQ(lsd_client_get_style(c, &info), LSD_OK);
    EXPECT_EQ(info.status, LSD_OK);
    EXPECT_STREQ(info.style, "identity");
    lsd_style_desc s;
    lsd_style_desc_init(&s);
    s.model = "Watercolor";  // an alias, resolved by the runtime
    ASSERT_EQ(lsd_client_set_style(c, &s, 10000), LSD_OK) << lsd_last_error();
    ASSERT_EQ(lsd_client_get_style(c, &info), LSD_OK);
    EXPECT_EQ(info.status, LSD_OK);
    EXPECT_STREQ(info.backend, "effects");
    EXPECT_STREQ(info.style, "watercolour");
    EXPECT_STREQ(info.model, "watercolour");
    s.model = "no-such-model";
    EXPECT_EQ(lsd_client_set_style(c, &s, 10000), LSD_E_REJECTED);
    ASSERT_EQ(lsd_client_get_style(c, &info), LSD_OK);
    EXPECT_EQ(info.status, LSD_E_REJECTED);
    EXPECT_NE(std::string(info.message).find("unknown model 'no-such-model'"), std::string::npos) << info.message;
    EXPECT_STREQ(info.style, "watercolour");  // what is still applied
    lsd_client_close(c);
}

TEST_F(Runtime, HalfFloatFramesMatchApply) {
    // rgba16f (8 bytes per pixel, linear colour) through a non-identity effect
    ASSERT_TRUE(half_ok_) << read_file(dir_ + "/half_out.raw.log");
    lsd_client* c = open("sepia", LSD_FORMAT_RGBA16F);
    ASSERT_NE(c, nullptr);
    auto px = render_half(W, H, 3);
    ASSERT_EQ(half_expected_.size(), px.size());
    std::vector<uint8_t> out(px.size());
    for (unsigned f = 0; f < 20; ++f) {
        auto fi = frame_in(px, W, H, LSD_FORMAT_RGBA16F);
        ASSERT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_OK) << lsd_last_error();
        auto fo = frame_out(out);
        ASSERT_EQ(lsd_client_take(c, &fo, 5000), LSD_OK) << lsd_last_error();
        ASSERT_EQ(fo.format, LSD_FORMAT_RGBA16F);
        ASSERT_EQ(std::memcmp(out.data(), half_expected_.data(), out.size()), 0) << "frame " << f;
    }
    EXPECT_NE(half_expected_, std::string(px.begin(), px.end()));
    lsd_client_close(c);
}

TEST_F(Runtime, BottomUpInputComesBackTopDown) {
    lsd_client* c = open("identity", LSD_FORMAT_RGBA8);
    ASSERT_NE(c, nullptr);
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, W, H, LSD_FORMAT_RGBA8);
    b.transport = test_transport();
    b.input.bottom_up = 1;  // OpenGL/Unity rows in, top-down rows out
    ASSERT_EQ(lsd_client_bind(c, &b, 10000), LSD_OK) << lsd_last_error();
    auto px = render(W, H, 77, false);
    std::string flipped;
    for (unsigned y = 0; y < H; ++y)
        flipped.append(reinterpret_cast<const char*>(px.data()) + (H - 1 - y) * W * 4, W * 4);
    std::vector<uint8_t> out(px.size());
    auto fi = frame_in(px, W, H, LSD_FORMAT_RGBA8);
    ASSERT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_OK) << lsd_last_error();
    auto fo = frame_out(out);
    ASSERT_EQ(lsd_client_take(c, &fo, 5000), LSD_OK) << lsd_last_error();
    EXPECT_TRUE(same_pixels(flipped, out, W, H, W * 4));
    lsd_client_close(c);
}

TEST_F(Runtime, TwoClientsAtOnceStayIndependent) {
    std::atomic<int> failures{0};
    auto identity_worker = [&] {
        lsd_client* c = open("identity", LSD_FORMAT_RGBA8);
        if (!c) {
            ++failures;
            return;
        }
        std::vector<uint8_t> out(static_cast<size_t>(W) * 4 * H);
        for (unsigned f = 0; f < 150; ++f) {
            auto px = render(W, H, 1000 + f, false);
            uint64_t id;
            round_trip(c, px, LSD_FORMAT_RGBA8, 0, out, 0, id);
            if (::testing::Test::HasFailure() || !same_pixels(std::string(px.begin(), px.end()), out, W, H, W * 4)) {
                ++failures;
                break;
            }
        }
        lsd_stats st = stats_of(c);
        if (st.frames_done != 150 || st.frames_dropped != 0) ++failures;
        lsd_client_close(c);
    };
    auto toon_worker = [&] {
        lsd_client* c = open("toon", LSD_FORMAT_BGRA8);
        if (!c) {
            ++failures;
            return;
        }
        std::vector<uint8_t> out(static_cast<size_t>(W) * 4 * H);
        for (unsigned f = 0; f < 150; ++f) {
            unsigned k = f % kToonFrames;
            auto px = render(W, H, k * 7, true);
            uint64_t id;
            round_trip(c, px, LSD_FORMAT_BGRA8, 0, out, 0, id);
            if (::testing::Test::HasFailure() || !same_pixels(toon_expected_[k], out, W, H, W * 4)) {
                ++failures;
                break;
            }
        }
        lsd_stats st = stats_of(c);
        if (st.frames_done != 150 || st.frames_dropped != 0) ++failures;
        lsd_client_close(c);
    };
    std::thread a(identity_worker), b(toon_worker);
    a.join();
    b.join();
    EXPECT_EQ(failures.load(), 0);
}

TEST_F(Runtime, PipelinedSubmitNeverWaitsAndLatestFrameWins) {
    lsd_client* c = open("identity", LSD_FORMAT_RGBA8);
    ASSERT_NE(c, nullptr);
    std::map<uint64_t, unsigned> frame_of;  // frame id -> scene frame
    std::vector<uint8_t> out(static_cast<size_t>(W) * 4 * H);
    unsigned taken = 0, accepted = 0, skipped = 0;
    double worst_submit_ms = 0;
    auto check = [&](const lsd_frame_out& fo) {
        auto it = frame_of.find(fo.frame_id);
        ASSERT_NE(it, frame_of.end());
        auto px = render(W, H, it->second, false);
        ASSERT_TRUE(same_pixels(std::string(px.begin(), px.end()), out, W, H, W * 4)) << "id " << fo.frame_id;
        ++taken;
    };
    for (unsigned f = 0; f < 300; ++f) {
        auto px = render(W, H, 5000 + f, false);
        auto fi = frame_in(px, W, H, LSD_FORMAT_RGBA8);
        uint64_t id = 0;
        auto t0 = std::chrono::steady_clock::now();
        lsd_status s = lsd_client_submit(c, &fi, &id);
        worst_submit_ms = std::max(worst_submit_ms, elapsed_ms(t0));
        if (s == LSD_OK) {
            frame_of[id] = 5000 + f;
            ++accepted;
        } else {
            ASSERT_EQ(s, LSD_NO_FREE_SLOT) << lsd_last_error();
            ++skipped;
        }
        auto fo = frame_out(out);
        if (lsd_client_take(c, &fo, 0) == LSD_OK) {
            check(fo);
            if (HasFatalFailure()) break;
        }
    }
    // drain: everything accepted is answered (done or dropped)
    auto t0 = std::chrono::steady_clock::now();
    while (elapsed_ms(t0) < 10000) {
        lsd_stats st = stats_of(c);
        auto fo = frame_out(out);
        if (lsd_client_take(c, &fo, 20) == LSD_OK) check(fo);
        if (st.frames_done + st.frames_dropped == st.frames_submitted) break;
    }
    lsd_stats st = stats_of(c);
    EXPECT_EQ(st.frames_submitted, accepted);
    EXPECT_EQ(st.frames_skipped, skipped);
    EXPECT_EQ(st.frames_done + st.frames_dropped, st.frames_submitted);
    EXPECT_GT(taken, 10u);
    EXPECT_LT(worst_submit_ms, 50.0);
    std::printf("pipelined: accepted %u, skipped %u, done %llu, dropped %llu, taken %u, worst submit %.3f ms\n",
                accepted, skipped, (unsigned long long)st.frames_done, (unsigned long long)st.frames_dropped, taken,
                worst_submit_ms);
    lsd_client_close(c);
}

TEST_F(Runtime, GameThreadSubmitsWhileRenderThreadTakes) {
    // the documented split: submit on one thread, take on another, same handle
    lsd_client* c = open("identity", LSD_FORMAT_RGBA8);
    ASSERT_NE(c, nullptr);
    std::mutex mu;
    std::map<uint64_t, unsigned> frame_of;
    std::atomic<bool> done{false};
    std::atomic<unsigned> bad{0}, taken{0};
    std::thread render_thread([&] {
        std::vector<uint8_t> out(static_cast<size_t>(W) * 4 * H);
        while (!done.load() || taken.load() == 0) {
            auto fo = frame_out(out);
            if (lsd_client_take(c, &fo, 5) != LSD_OK) continue;
            unsigned f;
            {
                std::lock_guard<std::mutex> lk(mu);
                auto it = frame_of.find(fo.frame_id);
                if (it == frame_of.end()) {
                    ++bad;
                    continue;
                }
                f = it->second;
            }
            auto px = render(W, H, f, false);
            if (!same_pixels(std::string(px.begin(), px.end()), out, W, H, W * 4)) ++bad;
            ++taken;
        }
    });
    auto t0 = std::chrono::steady_clock::now();
    unsigned f = 0;
    while (elapsed_ms(t0) < 1500) {
        auto px = render(W, H, 9000 + f, false);
        auto fi = frame_in(px, W, H, LSD_FORMAT_RGBA8);
        // hold the map lock across submit so the id is known before the render thread sees it
        std::lock_guard<std::mutex> lk(mu);
        uint64_t id = 0;
        if (lsd_client_submit(c, &fi, &id) == LSD_OK) frame_of[id] = 9000 + f;
        ++f;
    }
    done = true;
    render_thread.join();
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_GT(taken.load(), 20u);
    lsd_client_close(c);
}

TEST_F(Runtime, UnknownStyleIsRejectedAndSessionGoesOn) {
    lsd_client* c = open("identity", LSD_FORMAT_RGBA8);
    ASSERT_NE(c, nullptr);
    lsd_style_desc s;
    lsd_style_desc_init(&s);
    s.style = "no_such_style";
    EXPECT_EQ(lsd_client_set_style(c, &s, 5000), LSD_E_REJECTED);
    EXPECT_NE(std::string(lsd_last_error()).find("unknown_style"), std::string::npos) << lsd_last_error();
    s.style = nullptr;
    s.prompt = "a toon cartoon look";
    s.has_strength = 1;
    s.strength = 1.0;
    EXPECT_EQ(lsd_client_set_style(c, &s, 5000), LSD_OK) << lsd_last_error();
    std::vector<uint8_t> out(static_cast<size_t>(W) * 4 * H);
    auto px = render(W, H, 3, false);
    uint64_t id;
    round_trip(c, px, LSD_FORMAT_RGBA8, 0, out, 0, id);
    // wrong frame size is refused locally
    auto small = render(64, 64, 0, false);
    lsd_frame_in fi = frame_in(small, 64, 64, LSD_FORMAT_RGBA8);
    EXPECT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_E_MISMATCH);
    EXPECT_EQ(stats_of(c).errors, 1u);
    lsd_client_close(c);
}

TEST_F(Runtime, RebindToAnotherSizeWorks) {
    lsd_client* c = open("identity", LSD_FORMAT_RGBA8);
    ASSERT_NE(c, nullptr);
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, 64, 48, LSD_FORMAT_RGBA8);
    b.transport = test_transport();
    b.input.slots = 2;
    b.output.slots = 2;
    ASSERT_EQ(lsd_client_bind(c, &b, 10000), LSD_OK) << lsd_last_error();
    std::vector<uint8_t> out(64 * 4 * 48);
    for (unsigned f = 0; f < 20; ++f) {
        auto px = render(64, 48, f, false);
        auto fi = frame_in(px, 64, 48, LSD_FORMAT_RGBA8);
        ASSERT_EQ(lsd_client_submit(c, &fi, nullptr), LSD_OK) << lsd_last_error();
        auto fo = frame_out(out);
        ASSERT_EQ(lsd_client_take(c, &fo, 5000), LSD_OK) << lsd_last_error();
        ASSERT_TRUE(same_pixels(std::string(px.begin(), px.end()), out, 64, 48, 64 * 4));
    }
    lsd_client_close(c);
}

TEST_F(Runtime, ExampleHostStreamsThroughTheLibrary) {
    int rc = run_command({native_path(LSD_SCENE_HOST), "--state-dir", dir_, "--frames", "90", "--width", "160",
                          "--height", "90", "--style", "toon", "--fps", "60", "--transport", test_transport_name()},
                         dir_ + "/host.log");
    EXPECT_EQ(rc, 0) << read_file(dir_ + "/host.log");
    std::printf("%s", read_file(dir_ + "/host.log").c_str());
}

}  // namespace

// ---- CURVE: a runtime that encrypts its endpoint --------------------------------------------------

namespace {

// 60 identity frames through `c`, each compared byte for byte
void stream_identity_exactly(lsd_client* c, unsigned frames) {
    std::vector<uint8_t> out(static_cast<size_t>(W) * 4 * H);
    for (unsigned f = 0; f < frames; ++f) {
        auto px = render(W, H, f, false);
        auto fi = frame_in(px, W, H, LSD_FORMAT_RGBA8);
        uint64_t id = 0;
        ASSERT_EQ(lsd_client_submit(c, &fi, &id), LSD_OK) << lsd_last_error();
        auto fo = frame_out(out);
        ASSERT_EQ(lsd_client_take(c, &fo, 5000), LSD_OK) << lsd_last_error();
        ASSERT_EQ(fo.frame_id, id);
        ASSERT_TRUE(same_pixels(std::string(px.begin(), px.end()), out, W, H, W * 4)) << "frame " << f;
    }
}

lsd_client* open_identity(const lsd_client_config& cfg, lsd_transport transport) {
    lsd_client* c = nullptr;
    EXPECT_EQ(lsd_client_create(&cfg, &c), LSD_OK) << lsd_last_error();
    if (!c) return nullptr;
    EXPECT_EQ(lsd_client_connect(c, 15000), LSD_OK) << lsd_last_error();
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, W, H, LSD_FORMAT_RGBA8);
    b.transport = transport;
    EXPECT_EQ(lsd_client_bind(c, &b, 15000), LSD_OK) << lsd_last_error();
    lsd_style_desc s;
    lsd_style_desc_init(&s);
    s.style = "identity";
    EXPECT_EQ(lsd_client_set_style(c, &s, 15000), LSD_OK) << lsd_last_error();
    return c;
}

std::string json_field(const std::string& json, const std::string& key) {
    size_t k = json.find("\"" + key + "\"");
    if (k == std::string::npos) return "";
    size_t a = json.find('"', json.find(':', k) + 1);
    size_t b = json.find('"', a + 1);
    return a == std::string::npos || b == std::string::npos ? "" : json.substr(a + 1, b - a - 1);
}

}  // namespace

TEST(Curve, EncryptedLoopbackRuntimeStreamsExactlyWithTheKeyFromItsStateFile) {
    std::string dir = make_temp_dir("lsd-native-curve");
    RuntimeProcess rt;
    std::string why;
    ASSERT_TRUE(rt.start(dir, why, 60, {"--curve"})) << why;
    std::string state = read_file(dir + "/runtime.json");
    ASSERT_EQ(json_field(state, "server_key").size(), 40u) << state;
    lsd_client_config cfg;
    lsd_client_config_init(&cfg);
    cfg.state_dir = dir.c_str();
    cfg.client_name = "curve-test/0.2";
    lsd_client* c = open_identity(cfg, test_transport());
    ASSERT_NE(c, nullptr);
    stream_identity_exactly(c, 60);
    lsd_client_close(c);
    rt.stop();
    remove_tree(dir);
}

// Needs a runtime on a non-loopback address (tests/remote_curve.sh makes one in a network
// namespace and names its state directory in LSD_TEST_REMOTE_STATE_DIR).
TEST(Curve, RemoteRuntimeWorksWithItsServerKeyAndRefusesWithoutIt) {
    const char* remote = std::getenv("LSD_TEST_REMOTE_STATE_DIR");
    if (!remote || !*remote) GTEST_SKIP() << "LSD_TEST_REMOTE_STATE_DIR not set (run tests/remote_curve.sh)";
    std::string dir = native_path(remote);
    std::string state = read_file(dir + "/runtime.json");
    std::string endpoint = json_field(state, "endpoint"), token = json_field(state, "token"),
                key = json_field(state, "server_key");
    ASSERT_EQ(endpoint.rfind("tcp://127.", 0), std::string::npos) << "not a remote endpoint: " << endpoint;
    ASSERT_EQ(key.size(), 40u) << state;

    // with the key (from the state file): pixel-exact frames over inline
    lsd_client_config cfg;
    lsd_client_config_init(&cfg);
    cfg.state_dir = dir.c_str();
    cfg.client_name = "remote-curve-test/0.2";
    lsd_client* c = open_identity(cfg, LSD_TRANSPORT_INLINE);
    ASSERT_NE(c, nullptr);
    stream_identity_exactly(c, 60);
    std::printf("remote %s over CURVE: 60 exact frames, round trip p50 %.2f ms\n", endpoint.c_str(),
                stats_of(c).round_trip.p50_ms);
    lsd_client_close(c);

    // the same key given explicitly with endpoint + token
    lsd_client_config direct;
    lsd_client_config_init(&direct);
    direct.endpoint = endpoint.c_str();
    direct.token = token.c_str();
    direct.server_key = key.c_str();
    c = open_identity(direct, LSD_TRANSPORT_INLINE);
    ASSERT_NE(c, nullptr);
    stream_identity_exactly(c, 5);
    lsd_client_close(c);

    // without the key: refused at create, saying what is missing
    direct.server_key = nullptr;
    lsd_client* refused = nullptr;
    EXPECT_EQ(lsd_client_create(&direct, &refused), LSD_E_INVALID_ARGUMENT);
    EXPECT_EQ(refused, nullptr);
    EXPECT_NE(std::string(lsd_last_error()).find("server key"), std::string::npos) << lsd_last_error();
    EXPECT_NE(std::string(lsd_last_error()).find(endpoint), std::string::npos) << lsd_last_error();

    // a state file without the key: connect says so instead of hanging on a silent socket
    std::string keyless = make_temp_dir("lsd-native-keyless");
    std::string stripped = "{\"endpoint\": \"" + endpoint + "\", \"token\": \"" + token + "\", \"pid\": 1}";
    write_file(keyless + "/runtime.json", stripped.data(), stripped.size());
    std::filesystem::permissions(keyless + "/runtime.json",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    lsd_client_config from_state;
    lsd_client_config_init(&from_state);
    from_state.state_dir = keyless.c_str();
    ASSERT_EQ(lsd_client_create(&from_state, &c), LSD_OK) << lsd_last_error();
    EXPECT_EQ(lsd_client_connect(c, 1500), LSD_E_NOT_CONNECTED);
    EXPECT_NE(std::string(lsd_last_error()).find("takes only CURVE-encrypted links"), std::string::npos)
        << lsd_last_error();
    lsd_client_close(c);
    remove_tree(keyless);
}
