// Plain C++17 test of the plugin's UE-independent code (no Unreal Engine needed):
//   - LSDBridgeLogic.h: format mapping, limits, style sanitising, transport choice, pacing,
//     connection edges, readback FIFO;
//   - LSDNativeSession.h: compiled against the real lsd_client.h; when built with
//     -DLSD_TEST_LINK_NATIVE and linked against liblsd_bridge, and LSD_TEST_STATE_DIR names the
//     state directory of a running lsd-runtime, it streams frames through that runtime with
//     exactly the calls the plugin makes (identity style: output must equal input).
// Driven by tests/test_unreal_plugin.py; prints "ok" lines and exits non-zero on failure.
#include <chrono>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "LSDBridgeLogic.h"
#include "LSDNativeSession.h"

static int GFailures = 0;

#define EXPECT(Cond)                                                              \
	do                                                                            \
	{                                                                             \
		if (!(Cond))                                                              \
		{                                                                         \
			std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #Cond); \
			++GFailures;                                                          \
		}                                                                         \
	} while (0)

using namespace LSDBridgeLogic;

static void TestFormats()
{
	lsd_format F = LSD_FORMAT_RGBA8;
	EXPECT(ToLsdFormat(ESourceFormat::B8G8R8A8, F) && F == LSD_FORMAT_BGRA8);
	EXPECT(ToLsdFormat(ESourceFormat::R8G8B8A8, F) && F == LSD_FORMAT_RGBA8);
	EXPECT(ToLsdFormat(ESourceFormat::FloatRGBA, F) && F == LSD_FORMAT_RGBA16F);
	EXPECT(!ToLsdFormat(ESourceFormat::Unsupported, F));
	EXPECT(BytesPerPixel(LSD_FORMAT_BGRA8) == 4 && BytesPerPixel(LSD_FORMAT_RGBA16F) == 8);
	EXPECT(IsValidFrameSize(8, 8) && IsValidFrameSize(8192, 8192));
	EXPECT(!IsValidFrameSize(7, 100) && !IsValidFrameSize(100, 8193) && !IsValidFrameSize(-1, 64));
	EXPECT(FrameBytes(1920, 1080, LSD_FORMAT_BGRA8) == 1920ull * 1080 * 4);
	EXPECT(FrameBytes(4, 4, LSD_FORMAT_BGRA8) == 0);
	EXPECT(RowPitchBytes(2048, 1920, LSD_FORMAT_RGBA16F) == 2048u * 8);
	EXPECT(RowPitchBytes(1000, 1920, LSD_FORMAT_BGRA8) == 0);
	std::puts("ok formats");
}

static void TestStyle()
{
	EXPECT(ClampStrength(-1.0) == 0.0 && ClampStrength(2.0) == 1.0 && ClampStrength(0.25) == 0.25);
	EXPECT(ClampStrength(std::numeric_limits<double>::quiet_NaN()) == 0.0);
	// "é" is two bytes: a cut in the middle of it backs up to before it
	EXPECT(TruncateUtf8("ab\xC3\xA9", 3) == "ab");
	EXPECT(TruncateUtf8("abc", 3) == "abc");
	FStyleParams In;
	In.Prompt = std::string(3000, 'x');
	In.Strength = 7.0;
	const FStyleParams Clean = SanitizeStyle(In);
	EXPECT(Clean.Model == "effects");
	EXPECT(Clean.Prompt.size() == MaxPromptBytes);
	EXPECT(Clean.Strength == 1.0);
	const lsd_style_desc Desc = MakeStyleDesc(Clean);
	EXPECT(Desc.struct_size == sizeof(lsd_style_desc));
	EXPECT(std::strcmp(Desc.backend, "effects") == 0 && Desc.style == nullptr);
	EXPECT(Desc.has_strength == 1 && Desc.strength == 1.0 && Desc.has_seed == 0);
	FStyleParams Seeded;
	Seeded.Model = "diffusion";
	Seeded.Seed = 42;
	const FStyleParams CleanSeeded = SanitizeStyle(Seeded);
	const lsd_style_desc SeededDesc = MakeStyleDesc(CleanSeeded);
	EXPECT(SeededDesc.has_seed == 1 && SeededDesc.seed == 42 && SeededDesc.prompt == nullptr);
	std::puts("ok style");
}

static void TestTransport()
{
	FTransportChoice C = ChooseTransport(ETransportRequest::Auto, false, true);
	EXPECT(C.Transport == LSD_TRANSPORT_SHM && !C.bGpuInterop);
	C = ChooseTransport(ETransportRequest::CudaInterop, false, false);
	EXPECT(C.Transport == LSD_TRANSPORT_SHM && std::strstr(C.Reason, "not available") != nullptr);
	C = ChooseTransport(ETransportRequest::Auto, true, true);
	EXPECT(C.Transport == LSD_TRANSPORT_CUDA_VMM && C.bGpuInterop);
	C = ChooseTransport(ETransportRequest::Auto, true, false);
	EXPECT(C.Transport == LSD_TRANSPORT_CUDA_IPC);
	C = ChooseTransport(ETransportRequest::SharedMemory, true, false);
	EXPECT(C.Transport == LSD_TRANSPORT_SHM && !C.bGpuInterop);
	std::puts("ok transport");
}

static void TestPacer()
{
	FFramePacer Unlimited;
	Unlimited.SetMaxRate(0.0);
	EXPECT(Unlimited.ShouldCapture(0.0) && Unlimited.ShouldCapture(0.0));

	// 60 Hz ticks with +-2 ms jitter, capped at 30 FPS: about 30 captures per second
	FFramePacer Pacer;
	Pacer.SetMaxRate(30.0);
	int Captures = 0;
	for (int Tick = 0; Tick < 600; ++Tick)
	{
		const double Jitter = ((Tick * 7919) % 5 - 2) * 0.001;
		Captures += Pacer.ShouldCapture(Tick / 60.0 + Jitter) ? 1 : 0;
	}
	EXPECT(Captures >= 295 && Captures <= 305);

	// a 0.5 s hitch gives one capture, not a burst
	FFramePacer Hitch;
	Hitch.SetMaxRate(30.0);
	EXPECT(Hitch.ShouldCapture(0.0));
	EXPECT(Hitch.ShouldCapture(0.5));
	EXPECT(!Hitch.ShouldCapture(0.51));
	std::puts("ok pacer");
}

static void TestConnectionWatcher()
{
	using EEdge = FConnectionWatcher::EEdge;
	FConnectionWatcher W;
	EXPECT(W.Update(LSD_STATE_CONNECTING) == EEdge::None);
	EXPECT(W.Update(LSD_STATE_CONNECTED) == EEdge::Connected);
	EXPECT(W.Update(LSD_STATE_READY) == EEdge::None);
	EXPECT(W.Update(LSD_STATE_CONNECTING) == EEdge::Disconnected);
	EXPECT(W.Update(LSD_STATE_CONNECTING) == EEdge::None);
	EXPECT(W.Update(LSD_STATE_READY) == EEdge::Connected);
	EXPECT(W.Update(LSD_STATE_CLOSED) == EEdge::Disconnected);
	EXPECT(IsExpectedStatus(LSD_NO_FREE_SLOT) && IsExpectedStatus(LSD_E_NOT_BOUND));
	EXPECT(!IsExpectedStatus(LSD_E_MISMATCH) && !IsExpectedStatus(LSD_E_REJECTED));
	std::puts("ok connection");
}

static void TestReadbackQueue()
{
	TReadbackQueue<3> Q;
	EXPECT(Q.Oldest() == -1 && Q.SecondOldest() == -1);
	EXPECT(Q.Acquire() == 0 && Q.Acquire() == 1 && Q.Acquire() == 2);
	EXPECT(Q.Acquire() == -1 && Q.InFlight() == 3);
	EXPECT(Q.Oldest() == 0 && Q.SecondOldest() == 1);
	Q.PopOldest();
	EXPECT(Q.Oldest() == 1 && Q.Acquire() == 0);
	Q.PopOldest();
	Q.PopOldest();
	EXPECT(Q.Oldest() == 0 && Q.SecondOldest() == -1);
	Q.PopOldest();
	Q.PopOldest(); // popping an empty queue is harmless
	EXPECT(Q.InFlight() == 0 && Q.Oldest() == -1);
	std::puts("ok readback queue");
}

#if defined(LSD_TEST_LINK_NATIVE)
static bool WaitFor(const std::chrono::seconds Limit, const std::function<bool()>& Done)
{
	const auto End = std::chrono::steady_clock::now() + Limit;
	while (std::chrono::steady_clock::now() < End)
	{
		if (Done())
		{
			return true;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	return false;
}

static void TestLiveSession(const char* StateDir)
{
	FLSDNativeSession::FConfig Config;
	Config.StateDir = StateDir;
	Config.ClientName = "unreal-plugin-test/0.1.0";
	std::string Error;
	std::unique_ptr<FLSDNativeSession> Session = FLSDNativeSession::Create(Config, Error);
	EXPECT(Session != nullptr);
	if (!Session)
	{
		std::fprintf(stderr, "create failed: %s\n", Error.c_str());
		return;
	}
	// the plugin's game thread: start, never wait; this test may poll
	const lsd_status Connect = Session->StartConnect();
	EXPECT(Connect == LSD_OK || Connect == LSD_E_NOT_CONNECTED);
	const uint32_t W = 64, H = 48;
	const lsd_status Bind = Session->RequestBind(W, H, LSD_FORMAT_BGRA8, W, H, LSD_FORMAT_BGRA8, LSD_TRANSPORT_SHM);
	EXPECT(LSDBridgeLogic::IsExpectedStatus(Bind));
	FStyleParams Style;
	Style.Style = "identity";
	Style.Strength = 1.0;
	EXPECT(LSDBridgeLogic::IsExpectedStatus(Session->RequestStyle(Style)));
	EXPECT(WaitFor(std::chrono::seconds(20), [&] { return Session->GetState() == LSD_STATE_READY; }));

	// a padded source (readback rows are often wider than the image)
	const uint32_t PitchPixels = 80;
	std::vector<uint8_t> Pixels(PitchPixels * 4 * H, 0xEE);
	for (uint32_t Y = 0; Y < H; ++Y)
	{
		for (uint32_t X = 0; X < W * 4; ++X)
		{
			Pixels[Y * PitchPixels * 4 + X] = static_cast<uint8_t>((X * 3 + Y * 5) & 0xFF);
		}
	}
	const uint32_t PitchBytes = LSDBridgeLogic::RowPitchBytes(PitchPixels, W, LSD_FORMAT_BGRA8);
	std::vector<uint8_t> Out(LSDBridgeLogic::FrameBytes(W, H, LSD_FORMAT_BGRA8), 0);
	lsd_frame_out Frame{};
	bool bTaken = false;
	EXPECT(WaitFor(std::chrono::seconds(20), [&] {
		uint64_t Id = 0;
		const lsd_status S = Session->Submit(Pixels.data(), W, H, PitchBytes, LSD_FORMAT_BGRA8, 0.0, &Id);
		if (!LSDBridgeLogic::IsExpectedStatus(S))
		{
			std::fprintf(stderr, "submit: %s\n", FLSDNativeSession::DescribeFailure("submit", S).c_str());
		}
		bTaken = Session->Take(Out.data(), Out.size(), 0, Frame) == LSD_OK;
		return bTaken;
	}));
	if (bTaken)
	{
		EXPECT(Frame.width == W && Frame.height == H && Frame.format == LSD_FORMAT_BGRA8);
		bool bSame = true;
		for (uint32_t Y = 0; Y < H; ++Y)
		{
			bSame = bSame && std::memcmp(&Out[Y * W * 4], &Pixels[Y * PitchPixels * 4], W * 4) == 0;
		}
		EXPECT(bSame);
	}
	lsd_stats Stats;
	EXPECT(Session->GetStats(Stats) == LSD_OK);
	EXPECT(Stats.state == LSD_STATE_READY && Stats.frames_taken >= 1 && Stats.frames_submitted >= 1);
	std::printf("ok live session (native %s, %llu submitted, round trip p50 %.2f ms)\n",
		FLSDNativeSession::LibraryVersion(), static_cast<unsigned long long>(Stats.frames_submitted),
		Stats.round_trip.p50_ms);
}
#endif

int main()
{
	TestFormats();
	TestStyle();
	TestTransport();
	TestPacer();
	TestConnectionWatcher();
	TestReadbackQueue();
#if defined(LSD_TEST_LINK_NATIVE)
	if (const char* StateDir = std::getenv("LSD_TEST_STATE_DIR"))
	{
		TestLiveSession(StateDir);
	}
	else
	{
		std::puts("skip live session: LSD_TEST_STATE_DIR not set");
	}
#endif
	if (GFailures != 0)
	{
		std::fprintf(stderr, "%d failure(s)\n", GFailures);
		return 1;
	}
	std::puts("all ok");
	return 0;
}
