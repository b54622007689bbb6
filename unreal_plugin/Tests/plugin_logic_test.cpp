// Plain C++17 test of the plugin's UE-independent code (no Unreal Engine needed):
//   - LSDBridgeLogic.h: format mapping, limits, style sanitising, transport choice, pacing,
//     connection edges, readback FIFO, ring colours, viewport rectangle, auto-start retries, and
//     the motion/depth planes (bind declaration, frame flags, velocity decode, camera motion,
//     depth linearisation, half floats, row conversion with pitches, plane-set pairing, camera cuts);
//   - LSDNativeSession.h: compiled against the real lsd_client.h; when built with
//     -DLSD_TEST_LINK_NATIVE and linked against liblsd_bridge, and LSD_TEST_STATE_DIR names the
//     state directory of a running lsd-runtime, it streams frames through that runtime with
//     exactly the calls the plugin makes (identity style: output must equal input), and frames
//     with planes converted from Unreal-encoded readbacks (planes style: exact bytes).
// Driven by tests/unit/test_unreal_plugin.py and tests/integration/test_unreal_runtime.py; prints
// "ok" lines and exits non-zero on failure.
#include <chrono>
#include <cmath>
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

#define EXPECT(Cond)                                                             \
	do                                                                           \
	{                                                                            \
		if (!(Cond))                                                             \
		{                                                                        \
			std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #Cond); \
			++GFailures;                                                         \
		}                                                                        \
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
	EXPECT(IsValidFrameSize(MinFrameSize, MinFrameSize) && IsValidFrameSize(MaxFrameSize, MaxFrameSize));
	EXPECT(!IsValidFrameSize(MinFrameSize - 1, 100) && !IsValidFrameSize(100, MaxFrameSize + 1) && !IsValidFrameSize(-1, 64));
	EXPECT(FrameBytes(1920, 1080, LSD_FORMAT_BGRA8) == 1920ull * 1080 * 4);
	EXPECT(FrameBytes(4, 4, LSD_FORMAT_BGRA8) == 0);
	// a pitch: every row but the last spans the pitch, the last only its pixels
	EXPECT(FrameBytes(10, 8, LSD_FORMAT_RGBA16F, 100) == 100ull * 7 + 10 * 8);
	EXPECT(FrameBytes(10, 8, LSD_FORMAT_RGBA16F, 79) == 0);
	EXPECT(RowPitchBytes(2000, 1920, LSD_FORMAT_RGBA16F) == 2000u * 8);
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
	EXPECT(Clean.Model == LSD_DEFAULT_MODEL && Clean.Model == "effects");
	EXPECT(Clean.Prompt.size() == MaxPromptBytes);
	EXPECT(Clean.Strength == 1.0);
	const lsd_style_desc Desc = MakeStyleDesc(Clean);
	EXPECT(Desc.struct_size == sizeof(lsd_style_desc));
	EXPECT(std::strcmp(Desc.model, "effects") == 0 && Desc.backend == nullptr && Desc.style == nullptr);
	EXPECT(Desc.has_strength == 0 && Desc.has_seed == 0); // the model's own strength unless overridden
	In.bOverrideStrength = true;
	const lsd_style_desc Overridden = MakeStyleDesc(SanitizeStyle(In));
	EXPECT(Overridden.has_strength == 1 && Overridden.strength == 1.0);
	FStyleParams Seeded;
	Seeded.Model = "sd-turbo";
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
	C = ChooseTransport(ETransportRequest::Auto, true, true); // Windows: cuda_vmm is not in this build
	EXPECT(C.Transport == LSD_TRANSPORT_SHM && !C.bGpuInterop && std::strstr(C.Reason, "cuda_vmm") != nullptr);
	C = ChooseTransport(ETransportRequest::Auto, true, false);
	EXPECT(C.Transport == LSD_TRANSPORT_CUDA_IPC && C.bGpuInterop);
	C = ChooseTransport(ETransportRequest::SharedMemory, true, false);
	EXPECT(C.Transport == LSD_TRANSPORT_SHM && !C.bGpuInterop);

	// what Get LSD Stats shows: the native client's answer after the plugin's note
	lsd_transport_info Info;
	std::memset(&Info, 0, sizeof Info);
	Info.transport = LSD_TRANSPORT_CUDA_IPC;
	Info.zero_copy = 1;
	std::strcpy(Info.gpu, "GPU-5f3c0a1e-8b2d-4c6f-9e0a-1b2c3d4e5f60");
	EXPECT(DescribeTransport(Info, "CUDA interop") ==
		   "CUDA interop; cuda_ipc: frames stay on the GPU (GPU-5f3c0a1e-8b2d-4c6f-9e0a-1b2c3d4e5f60)");
	EXPECT(UseGpuFrames(true, Info) && !UseGpuFrames(false, Info));
	Info.zero_copy = 0;
	Info.transport = LSD_TRANSPORT_SHM;
	Info.gpu[0] = '\0';
	std::strcpy(Info.reason, "cuda_ipc: this runtime runs on the CPU (serve --device cuda for device slots)");
	EXPECT(DescribeTransport(Info, "") ==
		   "shm (cuda_ipc: this runtime runs on the CPU (serve --device cuda for device slots))");
	EXPECT(!UseGpuFrames(true, Info));
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

static void TestColor()
{
	const FTargetColor Rgba8{false, false}, Rgba8Srgb{false, true}, Rgba16f{true, false};
	// the recommended set-up: what the player sees, sRGB-encoded
	for (const FTargetColor T : {Rgba8, Rgba8Srgb, Rgba16f})
	{
		const FColorChoice C = CaptureColor(ECaptureSource::FinalColorLDR, T);
		EXPECT(C.bOk && C.Color == LSD_COLOR_SRGB && C.Note.empty());
	}
	// the default capture source: HDR linear, refused in 8 bits with what to set instead
	for (const FTargetColor T : {Rgba8, Rgba8Srgb})
	{
		const FColorChoice C = CaptureColor(ECaptureSource::SceneColorHDR, T);
		EXPECT(!C.bOk && C.Problem.find("SceneColor (HDR) in RGB") != std::string::npos &&
			   C.Problem.find("'Final Color (LDR) in RGB'") != std::string::npos &&
			   C.Problem.find("RTF_RGBA16f") != std::string::npos);
	}
	const FColorChoice Hdr16 = CaptureColor(ECaptureSource::SceneColorHDR, Rgba16f);
	EXPECT(Hdr16.bOk && Hdr16.Color == LSD_COLOR_LINEAR && Hdr16.Note.find("not tonemapped") != std::string::npos);
	EXPECT(!CaptureColor(ECaptureSource::FinalColorHDR, Rgba8).bOk);
	const FColorChoice FinalHdr16 = CaptureColor(ECaptureSource::FinalColorHDR, Rgba16f);
	EXPECT(FinalHdr16.bOk && FinalHdr16.Color == LSD_COLOR_LINEAR && FinalHdr16.Note.empty());
	EXPECT(CaptureColor(ECaptureSource::FinalToneCurveHDR, Rgba8Srgb).Color == LSD_COLOR_SRGB);
	const FColorChoice ToneLinear8 = CaptureColor(ECaptureSource::FinalToneCurveHDR, Rgba8);
	EXPECT(ToneLinear8.bOk && ToneLinear8.Color == LSD_COLOR_LINEAR && !ToneLinear8.Note.empty());
	EXPECT(CaptureColor(ECaptureSource::FinalToneCurveHDR, Rgba16f).Color == LSD_COLOR_LINEAR);
	// not colour images
	for (const ECaptureSource S : {ECaptureSource::SceneDepth, ECaptureSource::DeviceDepth, ECaptureSource::Normal,
								   ECaptureSource::BaseColor, ECaptureSource::Unknown})
	{
		for (const FTargetColor T : {Rgba8, Rgba16f})
		{
			const FColorChoice C = CaptureColor(S, T);
			EXPECT(!C.bOk && C.Problem.find("not a colour image") != std::string::npos);
		}
	}
	EXPECT(ViewportColor().bOk && ViewportColor().Color == LSD_COLOR_SRGB);
	// output: the bytes must look right when the target is sampled
	EXPECT(OutputColor(Rgba8Srgb).Color == LSD_COLOR_SRGB && OutputColor(Rgba8Srgb).Note.empty());
	EXPECT(OutputColor(Rgba16f).Color == LSD_COLOR_LINEAR && OutputColor(Rgba16f).Note.empty());
	const FColorChoice Unorm = OutputColor(Rgba8);
	EXPECT(Unorm.bOk && Unorm.Color == LSD_COLOR_LINEAR && Unorm.Note.find("RTF_RGBA8_SRGB") != std::string::npos);
	std::puts("ok colour");
}

static void TestViewportRect()
{
	// a viewport filling the window
	EXPECT((ViewportRectInBackBuffer(0, 0, 1920, 1080, 1920, 1080) == FPixelRect{0, 0, 1920, 1080}));
	// PIE / letterboxing: the viewport is a part of the window
	EXPECT((ViewportRectInBackBuffer(300.4, 120.6, 1280, 720, 1920, 1080) == FPixelRect{300, 121, 1280, 720}));
	// partly off the buffer: clipped
	EXPECT((ViewportRectInBackBuffer(-10, -5, 100, 50, 64, 64) == FPixelRect{0, 0, 64, 45}));
	EXPECT((ViewportRectInBackBuffer(1900, 1000, 100, 100, 1920, 1080) == FPixelRect{1900, 1000, 20, 80}));
	// nothing left, or nonsense geometry
	EXPECT(ViewportRectInBackBuffer(2000, 0, 100, 100, 1920, 1080).IsEmpty());
	EXPECT(ViewportRectInBackBuffer(0, 0, 0, 100, 1920, 1080).IsEmpty());
	EXPECT(ViewportRectInBackBuffer(0, 0, -5, 100, 1920, 1080).IsEmpty());
	EXPECT(ViewportRectInBackBuffer(std::numeric_limits<double>::quiet_NaN(), 0, 10, 10, 64, 64).IsEmpty());
	EXPECT(ViewportRectInBackBuffer(0, 0, std::numeric_limits<double>::infinity(), 10, 64, 64).IsEmpty());
	std::puts("ok viewport rect");
}

static void TestRetrySchedule()
{
	FRetrySchedule Retry(0.5, 10.0);
	EXPECT(!Retry.IsActive() && !Retry.Due(100.0));
	Retry.Start(0.0); // the failed attempt in BeginPlay
	EXPECT(Retry.IsActive() && Retry.GetAttempts() == 1);
	EXPECT(Retry.ShouldLog(0.0));  // the first failure is logged
	EXPECT(!Retry.ShouldLog(0.1)); // ... and not again right away
	EXPECT(!Retry.Due(0.49));
	EXPECT(Retry.Due(0.5) && Retry.GetAttempts() == 2);
	EXPECT(!Retry.Due(0.6));
	int Tries = 0;
	int Logs = 0;
	for (double T = 0.6; T < 60.0; T += 1.0 / 60.0) // a minute of frames
	{
		if (Retry.Due(T))
		{
			++Tries;
			Logs += Retry.ShouldLog(T) ? 1 : 0;
		}
	}
	EXPECT(Tries >= 115 && Tries <= 120); // every half second, not every frame
	EXPECT(Logs >= 5 && Logs <= 6);		  // every ten seconds, not every try
	Retry.Stop();
	EXPECT(!Retry.IsActive() && !Retry.Due(1000.0));
	std::puts("ok retry schedule");
}

// ---- motion and depth planes -------------------------------------------------------------------

// Unreal's EncodeVelocityToTexture (SM5+, VELOCITY_ENCODE_GAMMA) as the engine applies it, with the
// UNORM16 store (clamp, round to nearest): test data for the decode, written from the same description.
static void EncodeVelocityLikeUnreal(double Vx, double Vy, uint16_t& OutX, uint16_t& OutY, bool bGamma = true)
{
	const auto Encode = [bGamma](double V)
	{
		const double Shaped = bGamma ? (V < 0 ? -1.0 : 1.0) * std::sqrt(std::fabs(V)) * std::sqrt(2.0) : V;
		const double Stored = std::min(1.0, std::max(0.0, Shaped * (0.499 * 0.5) + 32767.0 / 65535.0));
		return static_cast<uint16_t>(std::lround(Stored * 65535.0));
	};
	OutX = Encode(Vx);
	OutY = Encode(Vy);
}

// Unreal's FReversedZPerspectiveMatrix with MinZ == MaxZ (the engine's infinite far plane), for a
// horizontal half field of view and a Width x Height view: row vectors, clip = (x, y, z, 1) * P.
static FMat4 ReversedInfinitePerspective(double HalfFovX, uint32_t Width, uint32_t Height, double Near)
{
	FMat4 P;
	P.M[0][0] = 1.0 / std::tan(HalfFovX);
	P.M[1][1] = (static_cast<double>(Width) / Height) / std::tan(HalfFovX);
	P.M[2][3] = 1.0;
	P.M[3][2] = Near;
	return P;
}

// world -> view for a camera at Position looking down +z (view x right, y up), turned by Yaw about y
static FMat4 ViewMatrix(double Px, double Py, double Pz, double Yaw = 0.0)
{
	FMat4 Translate = FMat4::Identity();
	Translate.M[3][0] = -Px;
	Translate.M[3][1] = -Py;
	Translate.M[3][2] = -Pz;
	FMat4 Rotate = FMat4::Identity(); // inverse of the camera's rotation
	Rotate.M[0][0] = std::cos(Yaw);
	Rotate.M[0][2] = std::sin(Yaw);
	Rotate.M[2][0] = -std::sin(Yaw);
	Rotate.M[2][2] = std::cos(Yaw);
	return Multiply(Translate, Rotate);
}

static void Project(const FMat4& ViewProjection, const double World[3], double& Sx, double& Sy, double& DeviceZ)
{
	double Clip[4] = {0, 0, 0, 0};
	for (int Col = 0; Col < 4; ++Col)
	{
		Clip[Col] = World[0] * ViewProjection.M[0][Col] + World[1] * ViewProjection.M[1][Col] +
					World[2] * ViewProjection.M[2][Col] + ViewProjection.M[3][Col];
	}
	Sx = Clip[0] / Clip[3];
	Sy = Clip[1] / Clip[3];
	DeviceZ = Clip[2] / Clip[3];
}

static bool Near(double A, double B, double Tolerance)
{
	return std::fabs(A - B) <= Tolerance;
}

static void TestPlaneDeclaration()
{
	FPlaneChoice C = ChoosePlanes(false, true, LSD_TRANSPORT_SHM);
	EXPECT(!C.bPlanes && C.Note.empty());
	C = ChoosePlanes(true, false, LSD_TRANSPORT_SHM);
	EXPECT(!C.bPlanes && C.Note.find("Scene Capture") != std::string::npos);
	C = ChoosePlanes(true, true, LSD_TRANSPORT_INLINE);
	EXPECT(!C.bPlanes && C.Note.find("shared memory only") != std::string::npos && C.Note.find("inline") != std::string::npos);
	C = ChoosePlanes(true, true, LSD_TRANSPORT_SHM);
	EXPECT(C.bPlanes && C.Note.empty());

	lsd_bind_desc Desc;
	std::memset(&Desc, 0x5A, sizeof(Desc)); // whatever was there before
	DeclarePlanes(Desc, false);
	EXPECT(Desc.motion.format == LSD_MOTION_NONE && Desc.depth.format == LSD_DEPTH_NONE);
	EXPECT(Desc.motion.pitch == 0 && Desc.depth.pitch == 0);
	DeclarePlanes(Desc, true);
	EXPECT(Desc.motion.format == LSD_MOTION_RG16F && Desc.motion.units == LSD_MOTION_UNITS_PIXELS);
	EXPECT(Desc.motion.sign == LSD_MOTION_SIGN_CURRENT_MINUS_PREVIOUS && Desc.motion.y_up == 0 && Desc.motion.pitch == 0);
	EXPECT(Desc.depth.format == LSD_DEPTH_R32F && Desc.depth.kind == LSD_DEPTH_KIND_LINEAR && Desc.depth.pitch == 0);
	EXPECT(Desc.depth.reversed_z == 0 && Desc.depth.near_plane == 0.0f && Desc.depth.far_plane == 0.0f);
	// the byte sizes the plugin packs with are the contract's
	EXPECT(lsd_proto_motion_format_bytes_per_pixel(PlaneMotionFormat) == MotionBytesPerPixel);
	EXPECT(lsd_proto_depth_format_bytes_per_pixel(PlaneDepthFormat) == DepthBytesPerPixel);

	// frame flags: only the reset bit is the plugin's to set
	EXPECT(FrameFlags(false) == 0u && FrameFlags(true) == LSD_FRAME_RESET);
	EXPECT((FrameFlags(true) & (LSD_FRAME_MOTION | LSD_FRAME_DEPTH)) == 0u);
	const uint8_t Pixel[4] = {1, 2, 3, 4};
	lsd_frame_in F = MakeFrameIn(Pixel, 8, 8, 64, LSD_FORMAT_BGRA8, 0.0, FrameFlags(true), FFramePlanes());
	EXPECT(F.struct_size == sizeof(lsd_frame_in) && F.data == Pixel && F.pitch == 64 && F.flags == LSD_FRAME_RESET);
	EXPECT(F.motion == nullptr && F.depth == nullptr && F.motion_pitch == 0 && F.depth_pitch == 0 && F.device_ptr == 0);
	FFramePlanes Planes;
	Planes.Motion = Pixel;
	Planes.MotionPitch = 40;
	Planes.Depth = Pixel + 1;
	Planes.DepthPitch = 36;
	F = MakeFrameIn(Pixel, 8, 8, 0, LSD_FORMAT_RGBA8, 1.5, 0, Planes);
	EXPECT(F.motion == Pixel && F.motion_pitch == 40 && F.depth == Pixel + 1 && F.depth_pitch == 36 && F.time == 1.5);
	std::puts("ok plane declaration");
}

static void TestVelocityDecode()
{
	double Vx = 1.0, Vy = 1.0;
	EXPECT(!DecodeVelocity(0, 40000, Vx, Vy)); // the clear value: no velocity written
	EXPECT(DecodeVelocity(32767, 32767, Vx, Vy) && Vx == 0.0 && Vy == 0.0);
	// every screen-space motion in the encodable range comes back to within the 16-bit step
	for (double V = -1.99; V <= 1.99; V += 0.0173)
	{
		uint16_t Ex = 0, Ey = 0;
		EncodeVelocityLikeUnreal(V, -V * 0.5, Ex, Ey);
		EXPECT(DecodeVelocity(Ex, Ey, Vx, Vy));
		EXPECT(Near(Vx, V, 2e-4) && Near(Vy, -V * 0.5, 2e-4));
	}
	// small motions keep their precision (the point of the square-root encoding)
	uint16_t Ex = 0, Ey = 0;
	EncodeVelocityLikeUnreal(0.001, -0.0005, Ex, Ey);
	EXPECT(DecodeVelocity(Ex, Ey, Vx, Vy) && Near(Vx, 0.001, 2e-6) && Near(Vy, -0.0005, 2e-6));
	// platforms without VELOCITY_ENCODE_GAMMA store the motion linearly
	EncodeVelocityLikeUnreal(0.25, -0.5, Ex, Ey, false);
	EXPECT(DecodeVelocity(Ex, Ey, Vx, Vy, false) && Near(Vx, 0.25, 1e-4) && Near(Vy, -0.5, 1e-4));
	// screen units (+y up, -1..1 across the view) to pixels (+y down)
	float Mx = 0, My = 0;
	ScreenVelocityToPixels(0.1, 0.1, 1920, 1080, Mx, My);
	EXPECT(Near(Mx, 96.0, 1e-4) && Near(My, -54.0, 1e-4));
	double Sx = 0, Sy = 0;
	PixelToScreen(0, 0, 4, 2, Sx, Sy);
	EXPECT(Near(Sx, -0.75, 1e-12) && Near(Sy, 0.5, 1e-12));
	PixelToScreen(3, 1, 4, 2, Sx, Sy);
	EXPECT(Near(Sx, 0.75, 1e-12) && Near(Sy, -0.5, 1e-12));
	EXPECT(VelocityFormatBytes(EVelocityFormat::G16R16) == 4 && VelocityFormatBytes(EVelocityFormat::A16B16G16R16) == 8);
	EXPECT(VelocityFormatBytes(EVelocityFormat::Unsupported) == 0);
	std::puts("ok velocity decode");
}

static void TestCameraMath()
{
	FMat4 Inv;
	EXPECT(Invert(FMat4::Identity(), Inv));
	for (int R = 0; R < 4; ++R)
	{
		for (int C = 0; C < 4; ++C)
		{
			EXPECT(Inv.M[R][C] == (R == C ? 1.0 : 0.0));
		}
	}
	const FMat4 P = ReversedInfinitePerspective(0.6, 64, 48, 10.0);
	const FMat4 VP = Multiply(ViewMatrix(3, -2, 7, 0.3), P);
	EXPECT(Invert(VP, Inv));
	const FMat4 Product = Multiply(VP, Inv);
	for (int R = 0; R < 4; ++R)
	{
		for (int C = 0; C < 4; ++C)
		{
			EXPECT(Near(Product.M[R][C], R == C ? 1.0 : 0.0, 1e-12));
		}
	}
	FMat4 Singular;
	EXPECT(!Invert(Singular, Inv));

	// linear depth: Unreal's reversed-Z infinite perspective (device = near / z)
	EXPECT(Near(LinearDepth(10.0 / 250.0, P), 250.0, 1e-3) && Near(LinearDepth(1.0, P), 10.0, 1e-6));
	EXPECT(LinearDepth(0.0, P) == FarDepth && LinearDepth(1e-12, P) == FarDepth);
	// a finite reversed-Z perspective (FReversedZPerspectiveMatrix, near 10, far 1000)
	FMat4 Finite = P;
	Finite.M[2][2] = 10.0 / (10.0 - 1000.0);
	Finite.M[3][2] = -1000.0 * 10.0 / (10.0 - 1000.0);
	for (double Z : {10.0, 55.5, 400.0, 1000.0})
	{
		const double Device = (Z * Finite.M[2][2] + Finite.M[3][2]) / Z;
		EXPECT(Near(LinearDepth(Device, Finite), Z, Z * 1e-6));
	}
	// an orthographic reversed-Z projection (FReversedZOrthoMatrix, ZOffset 0): device = 1 - z * scale
	FMat4 Ortho = FMat4::Identity();
	Ortho.M[2][2] = -1.0 / 5000.0;
	Ortho.M[3][2] = 1.0;
	EXPECT(Near(LinearDepth(1.0 - 1234.0 / 5000.0, Ortho), 1234.0, 1e-3));

	// camera history: nothing to move from on the first render and after a cut
	FCameraHistory History;
	FMat4 C2P;
	EXPECT(!History.Advance(Multiply(ViewMatrix(0, 0, 0), P), false, C2P));
	EXPECT(History.Advance(Multiply(ViewMatrix(10, 0, 0), P), false, C2P));
	// the camera moved 10 to the right: a still surface at depth z moved left by x_scale * 10 / z
	for (double Z : {20.0, 40.0, 320.0})
	{
		double Vx = 0, Vy = 0;
		EXPECT(CameraVelocity(0.3, -0.2, 10.0 / Z, C2P, Vx, Vy));
		EXPECT(Near(Vx, -P.M[0][0] * 10.0 / Z, 1e-9) && Near(Vy, 0.0, 1e-9));
	}
	EXPECT(!History.Advance(Multiply(ViewMatrix(50, 0, 0), P), true, C2P)); // cut
	EXPECT(History.Advance(Multiply(ViewMatrix(50, 0, 0), P), false, C2P));
	double Vx = 1, Vy = 1;
	EXPECT(CameraVelocity(0.5, 0.5, 0.1, C2P, Vx, Vy) && Near(Vx, 0.0, 1e-12) && Near(Vy, 0.0, 1e-12));

	// moved and turned: the reconstruction matches projecting the same world point with both cameras
	const FMat4 Before = Multiply(ViewMatrix(0, 1, 0, 0.00), P);
	const FMat4 After = Multiply(ViewMatrix(4, 1.5, 2, 0.05), P);
	FCameraHistory Turning;
	Turning.Advance(Before, false, C2P);
	EXPECT(Turning.Advance(After, false, C2P));
	const double Points[3][3] = {{5, 2, 60}, {-20, -4, 150}, {1, 1, 25}};
	for (const auto& World : Points)
	{
		double Sx = 0, Sy = 0, Dz = 0, PrevX = 0, PrevY = 0, PrevZ = 0;
		Project(After, World, Sx, Sy, Dz);
		Project(Before, World, PrevX, PrevY, PrevZ);
		EXPECT(CameraVelocity(Sx, Sy, Dz, C2P, Vx, Vy));
		EXPECT(Near(Vx, Sx - PrevX, 1e-9) && Near(Vy, Sy - PrevY, 1e-9));
	}
	// the sky (device depth 0, infinitely far): only the turn moves it
	FCameraHistory Sky;
	Sky.Advance(Multiply(ViewMatrix(0, 0, 0, 0.0), P), false, C2P);
	EXPECT(Sky.Advance(Multiply(ViewMatrix(500, 0, 0, 0.02), P), false, C2P));
	const double Far[3] = {0.0, 0.0, 1e9};
	double Sx = 0, Sy = 0, Dz = 0, PrevX = 0, PrevY = 0, PrevZ = 0;
	Project(Multiply(ViewMatrix(500, 0, 0, 0.02), P), Far, Sx, Sy, Dz);
	Project(Multiply(ViewMatrix(0, 0, 0, 0.0), P), Far, PrevX, PrevY, PrevZ);
	EXPECT(CameraVelocity(Sx, Sy, 0.0, C2P, Vx, Vy) && Near(Vx, Sx - PrevX, 1e-6) && Near(Vy, 0.0, 1e-9));
	std::puts("ok camera math");
}

static uint16_t ReferenceHalf(float Value)
{
	// the nearest half by search (ties: even mantissa), for positive finite values below 65520
	uint16_t Best = 0;
	double BestError = 1e300;
	for (uint32_t H = 0; H < 0x7C00u; ++H)
	{
		const double Error = std::fabs(static_cast<double>(HalfToFloat(static_cast<uint16_t>(H))) - Value);
		if (Error < BestError || (Error == BestError && (H & 1u) == 0u))
		{
			Best = static_cast<uint16_t>(H);
			BestError = Error;
		}
	}
	return Best;
}

static void TestHalfFloats()
{
	EXPECT(FloatToHalf(0.0f) == 0x0000 && FloatToHalf(-0.0f) == 0x8000);
	EXPECT(FloatToHalf(1.0f) == 0x3C00 && FloatToHalf(-2.0f) == 0xC000 && FloatToHalf(0.1f) == 0x2E66);
	EXPECT(FloatToHalf(65504.0f) == 0x7BFF && FloatToHalf(65519.0f) == 0x7BFF && FloatToHalf(65520.0f) == 0x7C00);
	EXPECT(FloatToHalf(1e10f) == 0x7C00 && FloatToHalf(-std::numeric_limits<float>::infinity()) == 0xFC00);
	const uint16_t NaN = FloatToHalf(std::numeric_limits<float>::quiet_NaN());
	EXPECT((NaN & 0x7C00) == 0x7C00 && (NaN & 0x03FF) != 0);
	EXPECT(FloatToHalf(std::ldexp(1.0f, -24)) == 0x0001 && FloatToHalf(std::ldexp(1.0f, -25)) == 0x0000);
	EXPECT(FloatToHalf(std::ldexp(1.5f, -25)) == 0x0001 && FloatToHalf(std::ldexp(3.0f, -25)) == 0x0002);
	EXPECT(FloatToHalf(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);						   // a tie: to even
	EXPECT(FloatToHalf(1.0f + 3.0f * std::ldexp(1.0f, -11)) == 0x3C02);					   // a tie: to even (up)
	EXPECT(FloatToHalf(std::ldexp(1.0f, -14) * (1.0f - std::ldexp(1.0f, -12))) == 0x0400); // rounds up into the normals
	// every half survives the round trip
	int Mismatches = 0;
	for (uint32_t H = 0; H <= 0xFFFFu; ++H)
	{
		const bool bNaN = (H & 0x7C00u) == 0x7C00u && (H & 0x03FFu) != 0u;
		if (!bNaN && FloatToHalf(HalfToFloat(static_cast<uint16_t>(H))) != H)
		{
			++Mismatches;
		}
	}
	EXPECT(Mismatches == 0);
	// rounding against a brute-force nearest half, across the range (subnormals included)
	uint32_t Seed = 12345;
	int Wrong = 0;
	for (int K = 0; K < 300; ++K)
	{
		Seed = Seed * 1664525u + 1013904223u;
		const float Value = std::ldexp(1.0f + static_cast<float>(Seed >> 8) / 16777216.0f, static_cast<int>(Seed % 40) - 25);
		if (Value < 65504.0f && FloatToHalf(Value) != ReferenceHalf(Value))
		{
			++Wrong;
		}
	}
	EXPECT(Wrong == 0);
	std::puts("ok half floats");
}

// A Width x Height render as the plane tap would read it back: the engine's velocity (8 bytes a
// pixel, padded rows; written for the left half only) and device depth (padded rows).
struct FFakeRender
{
	uint32_t Width = 0, Height = 0;
	std::vector<uint8_t> Velocity, Depth;
	uint32_t VelocityPitch = 0, DepthPitch = 0;
	std::vector<double> Z;			   // linear depth per pixel
	std::vector<int> MotionX, MotionY; // integer pixel motion written into the velocity buffer, left half
	FMat4 Projection;
	FMat4 ClipToPrevClip;
	bool bHistory = false;
	double CameraStep = 0.0; // the camera moved this far along view x since the previous render

	static double DepthAt(uint32_t X, uint32_t Y) { return 20.0 * static_cast<double>(1u << ((X + Y) % 5)); } // 20..320
	bool Written(uint32_t X) const { return X < Width / 2; }

	FFakeRender(uint32_t W, uint32_t H, double Step)
		: Width(W), Height(H), CameraStep(Step)
	{
		Projection = ReversedInfinitePerspective(std::atan(1.0), W, H, 10.0); // 90 degrees across
		FCameraHistory History;
		History.Advance(Multiply(ViewMatrix(0, 0, 0), Projection), false, ClipToPrevClip);
		bHistory = History.Advance(Multiply(ViewMatrix(Step, 0, 0), Projection), false, ClipToPrevClip);
		VelocityPitch = W * 8 + 24;
		DepthPitch = W * 4 + 12;
		Velocity.assign(static_cast<size_t>(VelocityPitch) * H, 0xAB); // padding: garbage
		Depth.assign(static_cast<size_t>(DepthPitch) * H, 0xCD);
		Z.resize(static_cast<size_t>(W) * H);
		MotionX.resize(Z.size());
		MotionY.resize(Z.size());
		for (uint32_t Y = 0; Y < H; ++Y)
		{
			for (uint32_t X = 0; X < W; ++X)
			{
				const size_t K = static_cast<size_t>(Y) * W + X;
				Z[K] = DepthAt(X, Y);
				const float Device = static_cast<float>(10.0 / Z[K]);
				std::memcpy(&Depth[static_cast<size_t>(Y) * DepthPitch + X * 4], &Device, 4);
				uint16_t Encoded[4] = {0, 0, 0x1234, 0x5678}; // B, A: depth velocity, ignored
				if (Written(X))
				{
					MotionX[K] = static_cast<int>(X % 9) - 4;
					MotionY[K] = static_cast<int>(Y % 7) - 3;
					// pixels (+y down) to the engine's screen units (+y up)
					EncodeVelocityLikeUnreal(2.0 * MotionX[K] / W, -2.0 * MotionY[K] / H, Encoded[0], Encoded[1]);
					if (Encoded[0] == 0)
					{
						Encoded[0] = 1; // never the clear value for a written pixel
					}
				}
				std::memcpy(&Velocity[static_cast<size_t>(Y) * VelocityPitch + X * 8], Encoded, 8);
			}
		}
	}

	FPlaneReadback Readback(bool bWithVelocity) const
	{
		FPlaneReadback In;
		In.Width = Width;
		In.Height = Height;
		In.Velocity = bWithVelocity ? Velocity.data() : nullptr;
		In.VelocityPitch = VelocityPitch;
		In.VelocityBytesPerPixel = 8;
		In.DeviceDepth = Depth.data();
		In.DeviceDepthPitch = DepthPitch;
		In.Projection = Projection;
		In.bHasClipToPrevClip = bHistory;
		In.ClipToPrevClip = ClipToPrevClip;
		return In;
	}

	// what the backend should see: the engine's motion where written, else the camera's (x scale 1)
	double ExpectedX(uint32_t X, uint32_t Y) const
	{
		const size_t K = static_cast<size_t>(Y) * Width + X;
		return Written(X) ? MotionX[K] : -CameraStep / Z[K] * (Width / 2.0);
	}
	double ExpectedY(uint32_t X, uint32_t Y) const { return Written(X) ? MotionY[static_cast<size_t>(Y) * Width + X] : 0.0; }
};

static float ReadFloat(const uint8_t* Bytes)
{
	float V = 0;
	std::memcpy(&V, Bytes, 4);
	return V;
}

static uint16_t ReadHalf(const uint8_t* Bytes)
{
	uint16_t V = 0;
	std::memcpy(&V, Bytes, 2);
	return V;
}

static void TestPlaneConversion()
{
	const uint32_t W = 32, H = 16;
	const FFakeRender Render(W, H, 10.0);
	EXPECT(Render.bHistory);
	const uint32_t MotionPitch = W * 4 + 8, DepthPitch = W * 4 + 4;
	std::vector<uint8_t> Motion(static_cast<size_t>(MotionPitch) * H, 0xEE), Depth(static_cast<size_t>(DepthPitch) * H, 0xEE);
	const FPlaneReadback In = Render.Readback(true);
	EXPECT(IsConvertible(In, H, H));
	FPlaneOutput Out;
	Out.Motion = Motion.data();
	Out.MotionPitch = MotionPitch;
	Out.Depth = Depth.data();
	Out.DepthPitch = DepthPitch;
	ConvertPlaneRows(In, Out, 0, 5); // two bands, as threads would split it
	ConvertPlaneRows(In, Out, 5, 1000);
	bool bMotionOk = true, bDepthOk = true, bPaddingOk = true;
	for (uint32_t Y = 0; Y < H; ++Y)
	{
		for (uint32_t X = 0; X < W; ++X)
		{
			const uint8_t* M = &Motion[static_cast<size_t>(Y) * MotionPitch + X * 4];
			bMotionOk = bMotionOk && Near(HalfToFloat(ReadHalf(M)), Render.ExpectedX(X, Y), 0.02) &&
						Near(HalfToFloat(ReadHalf(M + 2)), Render.ExpectedY(X, Y), 0.02);
			const double Z = Render.Z[static_cast<size_t>(Y) * W + X];
			bDepthOk = bDepthOk && Near(ReadFloat(&Depth[static_cast<size_t>(Y) * DepthPitch + X * 4]), Z, Z * 1e-5);
		}
		for (uint32_t B = W * 4; B < MotionPitch; ++B)
		{
			bPaddingOk = bPaddingOk && Motion[static_cast<size_t>(Y) * MotionPitch + B] == 0xEE;
		}
		for (uint32_t B = W * 4; B < DepthPitch; ++B)
		{
			bPaddingOk = bPaddingOk && Depth[static_cast<size_t>(Y) * DepthPitch + B] == 0xEE;
		}
	}
	EXPECT(bMotionOk && bDepthOk && bPaddingOk);

	// depth only (a reset frame): the motion buffer is not touched
	std::vector<uint8_t> Untouched(Motion.size(), 0x77);
	Out.Motion = nullptr;
	ConvertPlaneRows(In, Out, 0, H);
	EXPECT(Untouched == std::vector<uint8_t>(Motion.size(), 0x77));
	// no velocity buffer: every pixel gets the camera's motion; no history either: still
	FPlaneReadback CameraOnly = Render.Readback(false);
	Out.Motion = Motion.data();
	ConvertPlaneRows(CameraOnly, Out, 0, H);
	EXPECT(Near(HalfToFloat(ReadHalf(&Motion[0])), -10.0 / Render.Z[0] * (W / 2.0), 0.02));
	CameraOnly.bHasClipToPrevClip = false;
	ConvertPlaneRows(CameraOnly, Out, 0, H);
	EXPECT(ReadHalf(&Motion[0]) == 0 && ReadHalf(&Motion[2]) == 0 && ReadHalf(&Motion[(W - 1) * 4]) == 0);

	// what cannot be converted
	EXPECT(!IsConvertible(In, H, H - 1)); // too few depth rows
	EXPECT(!IsConvertible(In, H - 1, H)); // too few velocity rows
	FPlaneReadback Bad = In;
	Bad.DeviceDepthPitch = W * 4 - 4;
	EXPECT(!IsConvertible(Bad, H, H));
	Bad = In;
	Bad.VelocityBytesPerPixel = 6;
	EXPECT(!IsConvertible(Bad, H, H));
	Bad = In;
	Bad.VelocityPitch = W * 8 - 8;
	EXPECT(!IsConvertible(Bad, H, H));
	Bad = In;
	Bad.DeviceDepth = nullptr;
	EXPECT(!IsConvertible(Bad, H, H));
	Bad = In;
	Bad.Velocity = nullptr; // no velocity buffer is fine
	EXPECT(IsConvertible(Bad, 0, H));
	std::puts("ok plane conversion");
}

static void TestPlanePairing()
{
	// a render records, the colour readback of its image claims it; once
	TPlaneSets<4> Sets;
	int RenderOf[4] = {-1, -1, -1, -1};
	int Set = Sets.Record();
	EXPECT(Set >= 0);
	RenderOf[Set] = 1;
	const int Claimed = Sets.Claim();
	EXPECT(Claimed == Set && RenderOf[Claimed] == 1);
	EXPECT(Sets.Claim() == -1); // the same image read again goes alone
	// two renders before the next colour turn: the target holds the second, so do the planes
	Set = Sets.Record();
	RenderOf[Set] = 2;
	Set = Sets.Record();
	RenderOf[Set] = 3;
	int Next = Sets.Claim();
	EXPECT(Next >= 0 && RenderOf[Next] == 3 && Sets.InUse() == 2);
	Sets.Release(Claimed);
	Sets.Release(Next);
	EXPECT(Sets.InUse() == 0);
	// a render whose planes were unusable leaves nothing: the colour goes alone
	Sets.Abandon(Sets.Record());
	EXPECT(Sets.Claim() == -1);
	// every set with a frame in flight: the render cannot record, and its colour goes alone
	TPlaneSets<2> Two;
	EXPECT(Two.Record() == 0 && Two.Claim() == 0 && Two.Record() == 1 && Two.Claim() == 1);
	EXPECT(Two.Record() == -1 && Two.Claim() == -1 && Two.InUse() == 2);
	Two.Release(0);
	EXPECT(Two.Record() == 0 && Two.Claim() == 0);
	Two.Release(5); // out of range: harmless
	Two.Release(-1);

	// the decision for one colour frame
	FPlaneSend S = DecidePlanes(false, true, true, true, false);
	EXPECT(!S.bMotion && !S.bDepth); // no planes of its own render
	S = DecidePlanes(true, false, true, true, false);
	EXPECT(!S.bMotion && !S.bDepth); // a copy not back yet: colour only, never half a set
	S = DecidePlanes(true, true, false, true, false);
	EXPECT(!S.bMotion && !S.bDepth);
	S = DecidePlanes(true, true, true, true, false);
	EXPECT(S.bMotion && S.bDepth);
	S = DecidePlanes(true, true, true, false, false);
	EXPECT(!S.bMotion && S.bDepth); // first render of the capture: nothing to move from
	S = DecidePlanes(true, true, true, true, true);
	EXPECT(!S.bMotion && S.bDepth); // a camera cut

	// camera cuts by game frame
	FCameraCutTracker Cuts;
	EXPECT(!Cuts.AppliesTo(100));
	Cuts.Mark(10);
	Cuts.Mark(20);
	EXPECT(!Cuts.AppliesTo(9) && Cuts.AppliesTo(10) && Cuts.AppliesTo(15));
	Cuts.Sent(9); // a frame from before the cut does not take it
	EXPECT(Cuts.Pending() == 2);
	Cuts.Sent(15); // takes the first cut; the second waits for its own frame
	EXPECT(Cuts.Pending() == 1 && !Cuts.AppliesTo(19) && Cuts.AppliesTo(20));
	Cuts.Sent(30);
	EXPECT(Cuts.Pending() == 0 && !Cuts.AppliesTo(40));
	// a scene capture's target holds the previous frame's render when the stream's tick copies it
	EXPECT(ImageFrameOf(100, true) == 99 && ImageFrameOf(100, false) == 100 && ImageFrameOf(0, true) == 0);
	std::puts("ok plane pairing");
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
	const lsd_status Bind = Session->RequestBind(W, H, LSD_FORMAT_BGRA8, LSD_COLOR_SRGB, W, H, LSD_FORMAT_BGRA8,
												 LSD_COLOR_SRGB, LSD_TRANSPORT_SHM);
	EXPECT(LSDBridgeLogic::IsExpectedStatus(Bind));
	FStyleParams Style;
	Style.Model = "identity";
	Style.bOverrideStrength = true;
	Style.Strength = 1.0;
	EXPECT(LSDBridgeLogic::IsExpectedStatus(Session->RequestStyle(Style)));
	EXPECT(WaitFor(std::chrono::seconds(20), [&]
				   {
					   return Session->GetState() == LSD_STATE_READY;
				   }));

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
	EXPECT(WaitFor(std::chrono::seconds(20), [&]
				   {
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

// Frames with planes through a real runtime, as the pipeline sends them: a fake Unreal render
// (encoded velocity on the left half, device depth everywhere, the camera moved 10 cm to the
// right) converted by ConvertPlaneRows, submitted with the colour; the `planes` style shows what
// the backend received (red, green: 128 + motion in pixels; blue: depth; 255), compared exactly.
static void TestLivePlanes(const char* StateDir)
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
	Session->StartConnect();
	const uint32_t W = 64, H = 48;
	// what the component decides for a scene capture over shared memory with bSendMotionAndDepth
	const FPlaneChoice Choice = ChoosePlanes(true, true, LSD_TRANSPORT_SHM);
	EXPECT(Choice.bPlanes);
	EXPECT(IsExpectedStatus(Session->RequestBind(W, H, LSD_FORMAT_RGBA8, LSD_COLOR_SRGB, W, H, LSD_FORMAT_RGBA8,
												 LSD_COLOR_SRGB, LSD_TRANSPORT_SHM, Choice.bPlanes)));
	FStyleParams Style;
	Style.Model = "planes";
	EXPECT(IsExpectedStatus(Session->RequestStyle(Style)));
	EXPECT(WaitFor(std::chrono::seconds(20), [&]
				   {
					   return Session->GetState() == LSD_STATE_READY;
				   }));

	std::vector<uint8_t> Colour(static_cast<size_t>(W) * H * 4);
	for (size_t K = 0; K < Colour.size(); ++K)
	{
		Colour[K] = static_cast<uint8_t>(K * 7);
	}
	std::vector<uint8_t> Out(static_cast<size_t>(W) * H * 4);
	// submits one frame (retrying while every slot is busy) and waits for exactly its result
	const auto RoundTrip = [&](uint32_t Flags, const FFramePlanes& Planes)
	{
		uint64_t Id = 0;
		const bool bSent = WaitFor(std::chrono::seconds(20), [&]
								   {
									   const lsd_status S = Session->Submit(Colour.data(), W, H, 0, LSD_FORMAT_RGBA8, 0.0, &Id, Flags, Planes);
									   if (!IsExpectedStatus(S))
									   {
										   std::fprintf(stderr, "%s\n", FLSDNativeSession::DescribeFailure("submit", S).c_str());
									   }
									   return S == LSD_OK;
								   });
		lsd_frame_out Frame{};
		return bSent && WaitFor(std::chrono::seconds(20), [&]
								{
									return Session->Take(Out.data(), Out.size(), 0, Frame) == LSD_OK && Frame.frame_id == Id;
								});
	};
	const auto Matches = [&](const std::function<void(uint32_t, uint32_t, int[4])>& Expected)
	{
		int Bad = 0;
		for (uint32_t Y = 0; Y < H; ++Y)
		{
			for (uint32_t X = 0; X < W; ++X)
			{
				int E[4] = {0, 0, 0, 0};
				Expected(X, Y, E);
				const uint8_t* P = &Out[(static_cast<size_t>(Y) * W + X) * 4];
				if (P[0] != E[0] || P[1] != E[1] || P[2] != E[2] || P[3] != E[3])
				{
					if (Bad++ < 5)
					{
						std::fprintf(stderr, "pixel %u,%u: got %d %d %d %d, expected %d %d %d %d\n", X, Y, P[0], P[1], P[2],
									 P[3], E[0], E[1], E[2], E[3]);
					}
				}
			}
		}
		return Bad == 0;
	};
	const auto Clamp8 = [](double V)
	{
		return static_cast<int>(std::min(255.0, std::max(0.0, std::nearbyint(V))));
	};
	const auto NoPlanes = [](uint32_t, uint32_t, int E[4])
	{
		E[0] = 128;
		E[1] = 128;
		E[2] = 0;
		E[3] = 255;
	};

	// until the style is applied the session passes frames through: wait for the planes view
	EXPECT(WaitFor(std::chrono::seconds(20), [&]
				   {
					   return RoundTrip(0, FFramePlanes()) && Out[0] == 128 && Out[1] == 128 && Out[2] == 0;
				   }));

	const FFakeRender Render(W, H, 10.0);
	std::vector<uint8_t> Motion(static_cast<size_t>(W) * H * MotionBytesPerPixel);
	std::vector<uint8_t> Depth(static_cast<size_t>(W) * H * DepthBytesPerPixel);
	const auto Prepare = [&](const FPlaneSend& Send)
	{
		FPlaneOutput Target;
		Target.Motion = Send.bMotion ? Motion.data() : nullptr;
		Target.MotionPitch = W * MotionBytesPerPixel;
		Target.Depth = Depth.data();
		Target.DepthPitch = W * DepthBytesPerPixel;
		ConvertPlaneRows(Render.Readback(true), Target, 0, H);
		FFramePlanes Planes;
		if (Send.bDepth)
		{
			Planes.Depth = Depth.data();
			Planes.DepthPitch = Target.DepthPitch;
		}
		if (Send.bMotion)
		{
			Planes.Motion = Motion.data();
			Planes.MotionPitch = Target.MotionPitch;
		}
		return Planes;
	};

	// 1: a frame with both planes of its render
	const FPlaneSend Both = DecidePlanes(true, true, true, Render.bHistory, false);
	EXPECT(Both.bMotion && Both.bDepth);
	EXPECT(RoundTrip(FrameFlags(false), Prepare(Both)));
	const bool bBoth = Matches([&](uint32_t X, uint32_t Y, int E[4])
							   {
								   E[0] = Clamp8(128.0 + Render.ExpectedX(X, Y));
								   E[1] = Clamp8(128.0 + Render.ExpectedY(X, Y));
								   E[2] = Clamp8(Render.Z[static_cast<size_t>(Y) * W + X]);
								   E[3] = 255;
							   });
	EXPECT(bBoth);
	// 2: a frame whose plane readbacks were not back yet: colour only
	const FPlaneSend NotReady = DecidePlanes(true, false, true, true, false);
	EXPECT(!NotReady.bMotion && !NotReady.bDepth);
	EXPECT(RoundTrip(FrameFlags(false), FFramePlanes()));
	EXPECT(Matches(NoPlanes));
	// 3: a camera cut: LSD_FRAME_RESET, depth without motion
	const FPlaneSend Cut = DecidePlanes(true, true, true, Render.bHistory, true);
	EXPECT(!Cut.bMotion && Cut.bDepth);
	EXPECT(RoundTrip(FrameFlags(true), Prepare(Cut)));
	EXPECT(Matches([&](uint32_t X, uint32_t Y, int E[4])
				   {
					   E[0] = 128;
					   E[1] = 128;
					   E[2] = Clamp8(Render.Z[static_cast<size_t>(Y) * W + X]);
					   E[3] = 255;
				   }));
	lsd_stats Stats;
	EXPECT(Session->GetStats(Stats) == LSD_OK && Stats.frames_taken >= 3);
	if (bBoth)
	{
		std::puts("ok live planes (motion and depth arrived exactly; colour only; reset with depth)");
	}
}
#endif

// --frame-bytes: read "WIDTH HEIGHT FORMAT PITCH" lines (FORMAT as the lsd_format value) from
// stdin and print FrameBytes of each, so the test can compare the formula with Python's.
static int PrintFrameBytes()
{
	unsigned W = 0, H = 0, F = 0, Pitch = 0;
	while (std::scanf("%u %u %u %u", &W, &H, &F, &Pitch) == 4)
	{
		std::printf("%llu\n", static_cast<unsigned long long>(FrameBytes(W, H, static_cast<lsd_format>(F), Pitch)));
	}
	return 0;
}

int main(int Argc, char** Argv)
{
	if (Argc > 1 && std::strcmp(Argv[1], "--frame-bytes") == 0)
	{
		return PrintFrameBytes();
	}
	TestFormats();
	TestStyle();
	TestTransport();
	TestPacer();
	TestConnectionWatcher();
	TestReadbackQueue();
	TestColor();
	TestViewportRect();
	TestRetrySchedule();
	TestPlaneDeclaration();
	TestVelocityDecode();
	TestCameraMath();
	TestHalfFloats();
	TestPlaneConversion();
	TestPlanePairing();
#if defined(LSD_TEST_LINK_NATIVE)
	if (const char* StateDir = std::getenv("LSD_TEST_STATE_DIR"))
	{
		TestLiveSession(StateDir);
		TestLivePlanes(StateDir);
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
