// LSD Bridge: the plugin's pure logic, header-only and UE-independent (plain C++17).
//
// Everything here is compiled and run outside Unreal by unreal_plugin/Tests/plugin_logic_test.cpp
// (g++, no engine). The UE glue maps engine types (EPixelFormat, FString, UENUMs) onto these
// plain types and keeps no decisions of its own.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "lsd_bridge/lsd_client.h"

namespace LSDBridgeLogic
{
	/** Protocol limits, from the generated contract (lsd_protocol.h, included by lsd_client.h). */
	constexpr uint32_t MinFrameSize = LSD_MIN_DIMENSION;
	constexpr uint32_t MaxFrameSize = LSD_MAX_DIMENSION;
	constexpr size_t MaxPromptBytes = LSD_MAX_PROMPT_BYTES;
	constexpr size_t MaxNameBytes = LSD_MAX_STRING_BYTES;

	/** The engine pixel formats the plugin can stream, named after their EPixelFormat values. */
	enum class ESourceFormat : uint8_t
	{
		B8G8R8A8,	// PF_B8G8R8A8: RTF_RGBA8 render targets, the usual back buffer
		R8G8B8A8,	// PF_R8G8B8A8
		FloatRGBA,	// PF_FloatRGBA: RTF_RGBA16f render targets (half floats)
		Unsupported // anything else (A2B10G10R10 HDR back buffers, R32 formats, ...)
	};

	/** Maps an engine format to the wire format; false when the format cannot be streamed. */
	inline bool ToLsdFormat(ESourceFormat In, lsd_format& Out)
	{
		switch (In)
		{
		case ESourceFormat::B8G8R8A8:
			Out = LSD_FORMAT_BGRA8;
			return true;
		case ESourceFormat::R8G8B8A8:
			Out = LSD_FORMAT_RGBA8;
			return true;
		case ESourceFormat::FloatRGBA:
			Out = LSD_FORMAT_RGBA16F;
			return true;
		default:
			return false;
		}
	}

	inline uint32_t BytesPerPixel(lsd_format Format)
	{
		return lsd_proto_bytes_per_pixel(Format);
	}

	inline bool IsValidFrameSize(int64_t Width, int64_t Height)
	{
		return Width >= MinFrameSize && Width <= MaxFrameSize && Height >= MinFrameSize && Height <= MaxFrameSize;
	}

	/**
	 * Bytes a frame with that row pitch spans (PitchBytes 0: tightly packed): the contract's
	 * frame_bytes, pitch x (height - 1) + row. 0 for an invalid size or a pitch shorter than a row.
	 */
	inline uint64_t FrameBytes(int64_t Width, int64_t Height, lsd_format Format, uint32_t PitchBytes = 0)
	{
		if (!IsValidFrameSize(Width, Height) || BytesPerPixel(Format) == 0 ||
			(PitchBytes != 0 && PitchBytes < lsd_proto_row_bytes(static_cast<uint32_t>(Width), Format)))
		{
			return 0;
		}
		return lsd_proto_frame_bytes(static_cast<uint32_t>(Width), static_cast<uint32_t>(Height), Format, PitchBytes);
	}

	/** Readback row pitch (in pixels, as FRHIGPUTextureReadback::Lock reports it) to bytes; 0 if too small. */
	inline uint32_t RowPitchBytes(int64_t RowPitchInPixels, int64_t Width, lsd_format Format)
	{
		if (RowPitchInPixels < Width || RowPitchInPixels <= 0)
		{
			return 0;
		}
		return static_cast<uint32_t>(RowPitchInPixels) * BytesPerPixel(Format);
	}

	/** Strength is 0..1; NaN means "no change from the input" (0). */
	inline double ClampStrength(double Strength)
	{
		if (std::isnan(Strength))
		{
			return 0.0;
		}
		return Strength < 0.0 ? 0.0 : (Strength > 1.0 ? 1.0 : Strength);
	}

	/** Cuts a UTF-8 string to at most MaxBytes without splitting a code point. */
	inline std::string TruncateUtf8(const std::string& Text, size_t MaxBytes)
	{
		if (Text.size() <= MaxBytes)
		{
			return Text;
		}
		size_t Cut = MaxBytes;
		while (Cut > 0 && (static_cast<unsigned char>(Text[Cut]) & 0xC0u) == 0x80u)
		{
			--Cut; // Text[Cut] is a continuation byte: back up to the start of its code point
		}
		return Text.substr(0, Cut);
	}

	/**
	 * The style the user asked for, already in UTF-8. Model is the name the runtime resolves
	 * (PROTOCOL.md section 11: "effects", "toon", "watercolor", "effects:sketch", "sd-turbo", a
	 * folder); the plugin keeps no table of names. Seed < 0: not sent (the backend picks).
	 */
	struct FStyleParams
	{
		std::string Model;				// empty: the contract's default model (LSD_DEFAULT_MODEL)
		std::string Prompt;				// optional; for "effects", words in it pick the style
		bool bOverrideStrength = false; // false: the model's own strength (not sent)
		double Strength = 0.5;			// 0..1, sent with bOverrideStrength
		int64_t Seed = -1;
	};

	/** Sanitised copy: limits applied, empty model -> the default model. */
	inline FStyleParams SanitizeStyle(const FStyleParams& In)
	{
		FStyleParams Out;
		Out.Model = In.Model.empty() ? std::string(LSD_DEFAULT_MODEL) : TruncateUtf8(In.Model, MaxNameBytes);
		Out.Prompt = TruncateUtf8(In.Prompt, MaxPromptBytes);
		Out.bOverrideStrength = In.bOverrideStrength;
		Out.Strength = ClampStrength(In.Strength);
		Out.Seed = In.Seed;
		return Out;
	}

	/** Fills an lsd_style_desc that points into Params (which must outlive the call that uses it). */
	inline lsd_style_desc MakeStyleDesc(const FStyleParams& Params)
	{
		lsd_style_desc Desc{};
		Desc.struct_size = sizeof(lsd_style_desc);
		Desc.model = Params.Model.c_str();
		Desc.prompt = Params.Prompt.empty() ? nullptr : Params.Prompt.c_str();
		Desc.has_strength = Params.bOverrideStrength ? 1 : 0;
		Desc.strength = ClampStrength(Params.Strength);
		Desc.has_seed = Params.Seed >= 0 ? 1 : 0;
		Desc.seed = Params.Seed >= 0 ? Params.Seed : 0;
		return Desc;
	}

	/** What the user asked for (mirrors ELSDTransport in LSDTypes.h). */
	enum class ETransportRequest : uint8_t
	{
		Auto,
		SharedMemory,
		CudaInterop
	};

	struct FTransportChoice
	{
		lsd_transport Transport = LSD_TRANSPORT_SHM;
		bool bGpuInterop = false;
		const char* Reason = "";
	};

	/**
	 * Picks the transport. GPU interop (cuda_ipc: the runtime's slots in device memory, the frames
	 * copied GPU to GPU through a CUDA-imported staging texture) is used only when the plugin's
	 * interop path reports itself available (LSDCudaInterop.h); on Windows it would need cuda_vmm,
	 * which the native client does not have yet. Otherwise shm with a reason the plugin logs.
	 */
	inline FTransportChoice ChooseTransport(ETransportRequest Request, bool bInteropAvailable, bool bWindows)
	{
		FTransportChoice Choice;
		if (Request == ETransportRequest::SharedMemory)
		{
			Choice.Reason = "shm requested";
			return Choice;
		}
		if (bWindows)
		{
			Choice.Reason = "CUDA interop on Windows needs the cuda_vmm transport (not in this build): using the shm "
							"readback path";
			return Choice;
		}
		if (!bInteropAvailable)
		{
			Choice.Reason = Request == ETransportRequest::CudaInterop
								? "CUDA interop requested but not available: using the shm readback path"
								: "CUDA interop not available: using the shm readback path";
			return Choice;
		}
		Choice.Transport = LSD_TRANSPORT_CUDA_IPC;
		Choice.bGpuInterop = true;
		Choice.Reason = "CUDA interop";
		return Choice;
	}

	/**
	 * The path a stream's frames are on, as Get LSD Stats shows it: the native client's answer
	 * (lsd_client_get_transport) after the plugin's own note.
	 */
	inline std::string DescribeTransport(const lsd_transport_info& Info, const std::string& PluginNote)
	{
		std::string Out;
		if (Info.zero_copy)
		{
			Out = "cuda_ipc: frames stay on the GPU";
			if (Info.gpu[0] != '\0')
			{
				Out += std::string(" (") + Info.gpu + ")";
			}
		}
		else
		{
			Out = lsd_proto_transport_name(Info.transport);
			if (Info.reason[0] != '\0')
			{
				Out += std::string(" (") + Info.reason + ")";
			}
		}
		return PluginNote.empty() ? Out : PluginNote + "; " + Out;
	}

	/** Whether a frame goes the GPU interop way: interop was chosen and the runtime gave device slots. */
	inline bool UseGpuFrames(bool bInteropChosen, const lsd_transport_info& Info)
	{
		return bInteropChosen && Info.zero_copy != 0;
	}

	/**
	 * Caps how often frames are captured. Ticks arrive with jitter, so a tick up to a quarter of
	 * an interval early still counts; after a hitch the schedule restarts instead of bursting.
	 */
	class FFramePacer
	{
	public:
		/** MaxRate <= 0 (or NaN): every tick captures. */
		void SetMaxRate(double MaxRate)
		{
			Interval = (MaxRate > 0.0) ? 1.0 / MaxRate : 0.0;
			bStarted = false;
		}

		bool ShouldCapture(double NowSeconds)
		{
			if (Interval <= 0.0)
			{
				return true;
			}
			if (!bStarted || NowSeconds + Interval * 0.25 >= Next)
			{
				Next = (bStarted && NowSeconds < Next + Interval) ? Next + Interval : NowSeconds + Interval;
				bStarted = true;
				return true;
			}
			return false;
		}

	private:
		double Interval = 0.0;
		double Next = 0.0;
		bool bStarted = false;
	};

	/** Turns polled connection states into connected / disconnected events (one per transition). */
	class FConnectionWatcher
	{
	public:
		enum class EEdge : uint8_t
		{
			None,
			Connected,
			Disconnected
		};

		EEdge Update(lsd_conn_state State)
		{
			const bool bOpen = State == LSD_STATE_CONNECTED || State == LSD_STATE_READY;
			if (bOpen == bWasOpen)
			{
				return EEdge::None;
			}
			bWasOpen = bOpen;
			return bOpen ? EEdge::Connected : EEdge::Disconnected;
		}

		bool IsOpen() const { return bWasOpen; }

	private:
		bool bWasOpen = false;
	};

	// ---- colour: what the bytes of each ring mean -------------------------------------------------

	/** USceneCaptureComponent2D::CaptureSource (ESceneCaptureSource), named after its values. */
	enum class ECaptureSource : uint8_t
	{
		SceneColorHDR,		  // SCS_SceneColorHDR (the default): linear scene colour, not tonemapped
		SceneColorHDRNoAlpha, // SCS_SceneColorHDRNoAlpha
		FinalColorLDR,		  // SCS_FinalColorLDR: tonemapped, display-encoded (what the player sees)
		SceneColorSceneDepth, // SCS_SceneColorSceneDepth: linear scene colour, depth in alpha
		SceneDepth,			  // SCS_SceneDepth
		DeviceDepth,		  // SCS_DeviceDepth
		Normal,				  // SCS_Normal
		BaseColor,			  // SCS_BaseColor
		FinalColorHDR,		  // SCS_FinalColorHDR: tonemapped, linear working colour space, may exceed 1
		FinalToneCurveHDR,	  // SCS_FinalToneCurveHDR: tone curve applied, linear sRGB gamut, 0..1
		Unknown
	};

	/** A render target as the colour rules see it: float (PF_FloatRGBA) or 8-bit, sRGB view or not
	 * (UTextureRenderTarget2D::IsSRGB(): true only for RTF_RGBA8_SRGB). */
	struct FTargetColor
	{
		bool bFloat = false;
		bool bSrgb = false;
	};

	/** The colour encoding a ring is bound with, or why that source/target cannot be streamed right. */
	struct FColorChoice
	{
		bool bOk = true;
		lsd_color Color = LSD_COLOR_SRGB;
		std::string Problem; // !bOk: what is wrong and what to set instead
		std::string Note;	 // bOk: worth one log line (works, but not the recommended set-up)
	};

	inline const char* CaptureSourceName(ECaptureSource Source)
	{
		switch (Source)
		{
		case ECaptureSource::SceneColorHDR:
			return "SceneColor (HDR) in RGB";
		case ECaptureSource::SceneColorHDRNoAlpha:
			return "SceneColor (HDR) in RGB, 0 in A";
		case ECaptureSource::FinalColorLDR:
			return "Final Color (LDR) in RGB";
		case ECaptureSource::SceneColorSceneDepth:
			return "SceneColor (HDR) in RGB, SceneDepth in A";
		case ECaptureSource::SceneDepth:
			return "SceneDepth in R";
		case ECaptureSource::DeviceDepth:
			return "DeviceDepth in RGB";
		case ECaptureSource::Normal:
			return "Normal in RGB";
		case ECaptureSource::BaseColor:
			return "BaseColor in RGB";
		case ECaptureSource::FinalColorHDR:
			return "Final Color (HDR) in Linear Working Color Space";
		case ECaptureSource::FinalToneCurveHDR:
			return "Final Color (with tone curve) in Linear sRGB gamut";
		default:
			return "an unknown capture source";
		}
	}

	/**
	 * The input ring's colour for a scene capture. Backends work in sRGB; the runtime converts
	 * linear rings in and out, so what matters is that the value of `color` matches the stored
	 * values. Recommended: Final Color (LDR) into RTF_RGBA8_SRGB (or RTF_RGBA8), which is what the
	 * player sees. HDR sources need a float target (an 8-bit one clips them); non-colour sources
	 * (depth, normals, base colour) are refused.
	 */
	inline FColorChoice CaptureColor(ECaptureSource Source, FTargetColor Target)
	{
		FColorChoice C;
		const std::string Name = std::string("Capture Source '") + CaptureSourceName(Source) + "'";
		switch (Source)
		{
		case ECaptureSource::FinalColorLDR:
			// display-encoded values; an sRGB target stores them sRGB-encoded too
			C.Color = LSD_COLOR_SRGB;
			return C;
		case ECaptureSource::FinalToneCurveHDR:
			// 0..1 linear: an sRGB 8-bit target encodes it on store, a UNorm one keeps it linear
			C.Color = (!Target.bFloat && Target.bSrgb) ? LSD_COLOR_SRGB : LSD_COLOR_LINEAR;
			if (!Target.bFloat && !Target.bSrgb)
			{
				C.Note = Name + " in an 8-bit linear target bands in dark tones: use RTF_RGBA8_SRGB or RTF_RGBA16f";
			}
			return C;
		case ECaptureSource::SceneColorHDR:
		case ECaptureSource::SceneColorHDRNoAlpha:
		case ECaptureSource::SceneColorSceneDepth:
		case ECaptureSource::FinalColorHDR:
			if (!Target.bFloat)
			{
				C.bOk = false;
				C.Problem = Name + " is HDR linear colour: an 8-bit render target clips it. Set the scene capture's "
								   "Capture Source to 'Final Color (LDR) in RGB' (what the player sees), or its Texture "
								   "Target to RTF_RGBA16f";
				return C;
			}
			C.Color = LSD_COLOR_LINEAR;
			if (Source != ECaptureSource::FinalColorHDR)
			{
				C.Note = Name + " is not tonemapped: highlights clip and the exposure differs from the game. For the "
								"image the player sees use 'Final Color (LDR) in RGB'";
			}
			return C;
		default:
			C.bOk = false;
			C.Problem = Name + " is not a colour image of the scene: set the scene capture's Capture Source to "
							   "'Final Color (LDR) in RGB'";
			return C;
		}
	}

	/** The game window's back buffer holds display-encoded 8-bit values (an HDR back buffer's format
	 * is refused by the format check before this). */
	inline FColorChoice ViewportColor()
	{
		return FColorChoice{};
	}

	/**
	 * The output ring's colour, so that the bytes written into OutputTarget look right when it is
	 * sampled: an sRGB target (RTF_RGBA8_SRGB) decodes sRGB, a float one holds linear values, and
	 * an 8-bit UNorm target (RTF_RGBA8) is read as linear values: sRGB bytes there look washed
	 * out, so that target gets linear bytes (correct colour, banding in dark tones).
	 */
	inline FColorChoice OutputColor(FTargetColor Target)
	{
		FColorChoice C;
		if (Target.bFloat)
		{
			C.Color = LSD_COLOR_LINEAR;
		}
		else if (Target.bSrgb)
		{
			C.Color = LSD_COLOR_SRGB;
		}
		else
		{
			C.Color = LSD_COLOR_LINEAR;
			C.Note = "OutputTarget is RTF_RGBA8, which materials read as linear values: the runtime sends linear "
					 "bytes (right colours, banding in dark tones). Use RTF_RGBA8_SRGB for the best 8-bit result";
		}
		return C;
	}

	// ---- viewport crop -----------------------------------------------------------------------------

	/** A rectangle of pixels. */
	struct FPixelRect
	{
		int32_t X = 0;
		int32_t Y = 0;
		uint32_t Width = 0;
		uint32_t Height = 0;

		bool IsEmpty() const { return Width == 0 || Height == 0; }
		bool operator==(const FPixelRect& O) const
		{
			return X == O.X && Y == O.Y && Width == O.Width && Height == O.Height;
		}
	};

	/**
	 * The part of a BufferWidth x BufferHeight back buffer that shows the game viewport, from the
	 * viewport's position and size in its window (Slate geometry, in pixels, possibly fractional
	 * or partly off the window): rounded to whole pixels, clipped to the buffer; empty when
	 * nothing is left. The engine's own frame grabber captures this rectangle, not the window.
	 */
	inline FPixelRect ViewportRectInBackBuffer(double X, double Y, double Width, double Height, uint32_t BufferWidth,
											   uint32_t BufferHeight)
	{
		FPixelRect R;
		if (!(Width > 0.0) || !(Height > 0.0) || !std::isfinite(X) || !std::isfinite(Y) || !std::isfinite(Width) ||
			!std::isfinite(Height))
		{
			return R;
		}
		const double X0 = std::max(0.0, std::round(X));
		const double Y0 = std::max(0.0, std::round(Y));
		const double X1 = std::min(static_cast<double>(BufferWidth), std::round(X + Width));
		const double Y1 = std::min(static_cast<double>(BufferHeight), std::round(Y + Height));
		if (X1 <= X0 || Y1 <= Y0)
		{
			return R;
		}
		R.X = static_cast<int32_t>(X0);
		R.Y = static_cast<int32_t>(Y0);
		R.Width = static_cast<uint32_t>(X1 - X0);
		R.Height = static_cast<uint32_t>(Y1 - Y0);
		return R;
	}

	// ---- auto start ---------------------------------------------------------------------------------

	/**
	 * With bAutoStart, a stream whose source is not there yet (the scene capture is spawned later,
	 * its Texture Target set by a Blueprint, the viewport not created) is retried every Interval
	 * seconds until it starts; the reason is logged on the first failure and then at most every
	 * LogEvery seconds, so the log says why without repeating itself every frame.
	 */
	class FRetrySchedule
	{
	public:
		FRetrySchedule(double InInterval = 0.5, double InLogEvery = 10.0)
			: Interval(InInterval), LogEvery(InLogEvery) {}

		void Start(double Now)
		{
			bActive = true;
			NextTry = Now + Interval;
			NextLog = Now;
			Attempts = 1;
		}
		void Stop() { bActive = false; }
		bool IsActive() const { return bActive; }

		/** True when it is time for the next attempt (and counts it). */
		bool Due(double Now)
		{
			if (!bActive || Now < NextTry)
			{
				return false;
			}
			NextTry = Now + Interval;
			++Attempts;
			return true;
		}

		/** True when a failure now should be logged. */
		bool ShouldLog(double Now)
		{
			if (Now < NextLog)
			{
				return false;
			}
			NextLog = Now + LogEvery;
			return true;
		}

		int GetAttempts() const { return Attempts; }

	private:
		double Interval;
		double LogEvery;
		double NextTry = 0.0;
		double NextLog = 0.0;
		int Attempts = 0;
		bool bActive = false;
	};

	/** Statuses that are part of normal streaming (not worth a warning in the log). */
	inline bool IsExpectedStatus(lsd_status Status)
	{
		return Status >= 0 || Status == LSD_E_NOT_CONNECTED || Status == LSD_E_NOT_BOUND;
	}

	/**
	 * Order of in-flight GPU readbacks (a FIFO over a fixed pool). The render thread acquires a
	 * free entry per capture and completes them oldest first; when the pool is full the capture is
	 * skipped (latest frame wins on the runtime side anyway).
	 */
	template <int N>
	class TReadbackQueue
	{
		static_assert(N > 0, "need at least one readback");

	public:
		/** Index of a free entry, now in flight; -1 when all N are in flight. */
		int Acquire()
		{
			if (Count == N)
			{
				return -1;
			}
			const int Index = (Head + Count) % N;
			++Count;
			return Index;
		}

		/** Oldest in-flight entry; -1 when none. */
		int Oldest() const { return Count == 0 ? -1 : Head; }

		/** Index of the in-flight entry after the oldest; -1 when there is none. */
		int SecondOldest() const { return Count < 2 ? -1 : (Head + 1) % N; }

		/** Frees the oldest entry. */
		void PopOldest()
		{
			if (Count > 0)
			{
				Head = (Head + 1) % N;
				--Count;
			}
		}

		int InFlight() const { return Count; }

	private:
		int Head = 0;
		int Count = 0;
	};

	// ---- motion vectors and depth (the auxiliary planes) ------------------------------------------
	//
	// With bSendMotionAndDepth, each colour frame of a scene capture carries that render's motion
	// vectors and depth (lsd_frame_in.motion / .depth). What the plugin sends, stated in the bind:
	//   motion: LSD_MOTION_RG16F, in pixels of the input ring, current minus previous, +y down the
	//           rows (a pixel at (x, y) was at (x, y) - motion one render of the capture ago);
	//   depth:  LSD_DEPTH_R32F, linear view depth in scene units (Unreal: cm), FarDepth for the sky.
	// The engine gives its velocity buffer (encoded, see DecodeVelocity) and its device depth
	// (reversed-Z); everything that turns those into the convention above is here, tested.

	constexpr lsd_motion_format PlaneMotionFormat = LSD_MOTION_RG16F;
	constexpr lsd_depth_format PlaneDepthFormat = LSD_DEPTH_R32F;
	constexpr uint32_t MotionBytesPerPixel = 4; // two half floats
	constexpr uint32_t DepthBytesPerPixel = 4;	// one float
	/** Linear depth sent for device depth 0 (the infinite far plane: sky) and anything beyond it. */
	constexpr float FarDepth = 1.0e9f;

	/** Whether a stream's bind declares the planes, and why not when they were asked for. */
	struct FPlaneChoice
	{
		bool bPlanes = false;
		std::string Note; // asked for but not possible: worth one log line
	};

	/**
	 * bRequested: the component's bSendMotionAndDepth. Only a scene capture's render has motion
	 * vectors and depth the plugin can read with its image (the viewport source reads the finished
	 * back buffer), and the planes travel in shared memory only.
	 */
	inline FPlaneChoice ChoosePlanes(bool bRequested, bool bSceneCaptureSource, lsd_transport Transport)
	{
		FPlaneChoice C;
		if (!bRequested)
		{
			return C;
		}
		if (!bSceneCaptureSource)
		{
			C.Note = "bSendMotionAndDepth needs the Scene Capture source (the viewport source has no motion vectors or "
					 "depth to read with its image): sending colour only";
			return C;
		}
		if (Transport != LSD_TRANSPORT_SHM)
		{
			C.Note = std::string("bSendMotionAndDepth: motion and depth travel in shared memory only, not over ") +
					 lsd_proto_transport_name(Transport) + ": sending colour only";
			return C;
		}
		C.bPlanes = true;
		return C;
	}

	/** Declares (or clears) the planes in a bind desc that lsd_bind_desc_init prepared. */
	inline void DeclarePlanes(lsd_bind_desc& Desc, bool bPlanes)
	{
		Desc.motion = lsd_motion_desc{};
		Desc.depth = lsd_depth_desc{};
		if (!bPlanes)
		{
			return; // LSD_MOTION_NONE, LSD_DEPTH_NONE
		}
		Desc.motion.format = PlaneMotionFormat;
		Desc.motion.units = LSD_MOTION_UNITS_PIXELS;
		Desc.motion.sign = LSD_MOTION_SIGN_CURRENT_MINUS_PREVIOUS;
		Desc.motion.y_up = 0;
		Desc.motion.pitch = 0; // the plugin packs its plane buffers tightly
		Desc.depth.format = PlaneDepthFormat;
		Desc.depth.kind = LSD_DEPTH_KIND_LINEAR;
		Desc.depth.reversed_z = 0; // device-depth fields: unused for linear depth
		Desc.depth.near_plane = 0.0f;
		Desc.depth.far_plane = 0.0f;
		Desc.depth.pitch = 0;
	}

	/** A frame's planes for lsd_client_submit (null: not this frame). */
	struct FFramePlanes
	{
		const void* Motion = nullptr;
		uint32_t MotionPitch = 0;
		const void* Depth = nullptr;
		uint32_t DepthPitch = 0;
	};

	/** The flags the plugin sets: only LSD_FRAME_RESET (the library sets LSD_FRAME_MOTION / _DEPTH itself). */
	inline uint32_t FrameFlags(bool bReset)
	{
		return bReset ? static_cast<uint32_t>(LSD_FRAME_RESET) : 0u;
	}

	inline lsd_frame_in MakeFrameIn(const void* Data, uint32_t Width, uint32_t Height, uint32_t PitchBytes,
									lsd_format Format, double CaptureTimeSeconds, uint32_t Flags,
									const FFramePlanes& Planes)
	{
		lsd_frame_in Frame{};
		Frame.struct_size = sizeof(lsd_frame_in);
		Frame.data = Data;
		Frame.width = Width;
		Frame.height = Height;
		Frame.pitch = PitchBytes;
		Frame.format = Format;
		Frame.time = CaptureTimeSeconds;
		Frame.flags = Flags;
		Frame.motion = Planes.Motion;
		Frame.motion_pitch = Planes.Motion != nullptr ? Planes.MotionPitch : 0;
		Frame.depth = Planes.Depth;
		Frame.depth_pitch = Planes.Depth != nullptr ? Planes.DepthPitch : 0;
		return Frame;
	}

	/**
	 * Unreal's velocity buffer. The engine writes it per pixel for what moved by itself (skinned,
	 * moving or animated primitives) as EncodeVelocityToTexture in Engine/Shaders/Private/Common.ush
	 * (UE 5): V = current minus previous screen position (-1..1, +y up, without TAA jitter); on SM5+
	 * platforms (VELOCITY_ENCODE_GAMMA) V' = sign(V) * sqrt(|V|) * sqrt(2), then stored as UNORM16
	 * V' * (0.499 * 0.5) + 32767 / 65535 in R (x) and G (y) of PF_G16R16 or PF_A16B16G16R16 (B, A:
	 * depth velocity, unused here). Pixels nobody wrote keep the clear value 0: there the engine
	 * derives the motion from the camera (CameraVelocity). Epic does not document this encoding; it
	 * was read from transcriptions of Common.ush (UE 5.2, 5.7, 5.8) in public projects and must be
	 * checked in an engine (README). It is decoded here and nowhere else.
	 *
	 * Returns false for the clear value (no velocity written); else V (screen units, +y up).
	 */
	constexpr double VelocityEncodeScale = 0.499 * 0.5;
	constexpr double VelocityEncodeBias = 32767.0 / 65535.0;

	inline bool DecodeVelocity(uint16_t EncodedX, uint16_t EncodedY, double& OutX, double& OutY, bool bGammaEncoded = true)
	{
		if (EncodedX == 0)
		{
			return false; // the engine's own test: EncodedVelocity.x > 0
		}
		const auto Decode = [bGammaEncoded](uint16_t Encoded)
		{
			const double V = (static_cast<double>(Encoded) / 65535.0 - VelocityEncodeBias) / VelocityEncodeScale;
			return bGammaEncoded ? V * std::fabs(V) * 0.5 : V;
		};
		OutX = Decode(EncodedX);
		OutY = Decode(EncodedY);
		return true;
	}

	/** A 4x4 matrix as Unreal's FMatrix holds it: M[row][column], applied to row vectors (v * M). */
	struct FMat4
	{
		double M[4][4] = {};

		static FMat4 Identity()
		{
			FMat4 I;
			for (int K = 0; K < 4; ++K)
			{
				I.M[K][K] = 1.0;
			}
			return I;
		}
	};

	inline FMat4 Multiply(const FMat4& A, const FMat4& B)
	{
		FMat4 R;
		for (int Row = 0; Row < 4; ++Row)
		{
			for (int Col = 0; Col < 4; ++Col)
			{
				double Sum = 0.0;
				for (int K = 0; K < 4; ++K)
				{
					Sum += A.M[Row][K] * B.M[K][Col];
				}
				R.M[Row][Col] = Sum;
			}
		}
		return R;
	}

	/** Gauss-Jordan with partial pivoting; false for a singular (or non-finite) matrix. */
	inline bool Invert(const FMat4& In, FMat4& Out)
	{
		double A[4][8];
		for (int Row = 0; Row < 4; ++Row)
		{
			for (int Col = 0; Col < 4; ++Col)
			{
				A[Row][Col] = In.M[Row][Col];
				A[Row][Col + 4] = Row == Col ? 1.0 : 0.0;
			}
		}
		for (int Col = 0; Col < 4; ++Col)
		{
			int Pivot = Col;
			for (int Row = Col + 1; Row < 4; ++Row)
			{
				if (std::fabs(A[Row][Col]) > std::fabs(A[Pivot][Col]))
				{
					Pivot = Row;
				}
			}
			if (!(std::fabs(A[Pivot][Col]) > 1e-300) || !std::isfinite(A[Pivot][Col]))
			{
				return false;
			}
			if (Pivot != Col)
			{
				for (int K = 0; K < 8; ++K)
				{
					std::swap(A[Pivot][K], A[Col][K]);
				}
			}
			const double Scale = 1.0 / A[Col][Col];
			for (int K = 0; K < 8; ++K)
			{
				A[Col][K] *= Scale;
			}
			for (int Row = 0; Row < 4; ++Row)
			{
				if (Row != Col && A[Row][Col] != 0.0)
				{
					const double Factor = A[Row][Col];
					for (int K = 0; K < 8; ++K)
					{
						A[Row][K] -= Factor * A[Col][K];
					}
				}
			}
		}
		for (int Row = 0; Row < 4; ++Row)
		{
			for (int Col = 0; Col < 4; ++Col)
			{
				Out.M[Row][Col] = A[Row][Col + 4];
			}
		}
		return true;
	}

	/**
	 * The camera's history over the renders of one scene capture: from this render's
	 * view-projection (world to clip, without TAA jitter) and the previous render's, the matrix
	 * that takes this render's clip space to the previous render's (the engine's ClipToPrevClip).
	 * A camera cut (the engine's, or MarkCameraCut) has no previous render to move from.
	 */
	class FCameraHistory
	{
	public:
		/** Call on every render of the capture; true (and OutClipToPrevClip) when a previous render is known. */
		bool Advance(const FMat4& ViewProjection, bool bCameraCut, FMat4& OutClipToPrevClip)
		{
			bool bKnown = false;
			FMat4 Inverse;
			if (bHasPrevious && !bCameraCut && Invert(ViewProjection, Inverse))
			{
				OutClipToPrevClip = Multiply(Inverse, Previous);
				bKnown = true;
			}
			Previous = ViewProjection;
			bHasPrevious = true;
			return bKnown;
		}

		void Reset() { bHasPrevious = false; }

	private:
		FMat4 Previous;
		bool bHasPrevious = false;
	};

	/** Unreal's screen position (-1..1, +y up) of the centre of pixel (X, Y) of a Width x Height view. */
	inline void PixelToScreen(uint32_t X, uint32_t Y, uint32_t Width, uint32_t Height, double& OutX, double& OutY)
	{
		OutX = (static_cast<double>(X) + 0.5) / Width * 2.0 - 1.0;
		OutY = 1.0 - (static_cast<double>(Y) + 0.5) / Height * 2.0;
	}

	/**
	 * The screen motion (current minus previous, screen units, +y up) of a surface that did not move
	 * by itself, from where it is now (screen position, device depth) and ClipToPrevClip: what the
	 * engine assumes for pixels without velocity. Device depth 0 (the infinite far plane) gives the
	 * camera's rotation alone. False when the previous position is not defined.
	 */
	inline bool CameraVelocity(double ScreenX, double ScreenY, double DeviceZ, const FMat4& ClipToPrevClip, double& OutX, double& OutY)
	{
		const FMat4& C = ClipToPrevClip;
		const double PrevX = ScreenX * C.M[0][0] + ScreenY * C.M[1][0] + DeviceZ * C.M[2][0] + C.M[3][0];
		const double PrevY = ScreenX * C.M[0][1] + ScreenY * C.M[1][1] + DeviceZ * C.M[2][1] + C.M[3][1];
		const double PrevW = ScreenX * C.M[0][3] + ScreenY * C.M[1][3] + DeviceZ * C.M[2][3] + C.M[3][3];
		if (!(std::fabs(PrevW) > 1e-12))
		{
			return false;
		}
		OutX = ScreenX - PrevX / PrevW;
		OutY = ScreenY - PrevY / PrevW;
		return std::isfinite(OutX) && std::isfinite(OutY);
	}

	/** Screen-space motion (-1..1 spans the view, +y up) to pixels of a Width x Height view, +y down. */
	inline void ScreenVelocityToPixels(double VelocityX, double VelocityY, uint32_t Width, uint32_t Height, float& OutX, float& OutY)
	{
		OutX = static_cast<float>(VelocityX * 0.5 * Width);
		OutY = static_cast<float>(-VelocityY * 0.5 * Height);
	}

	/**
	 * Linear view depth of a device depth value, from the view's projection (row-vector FMatrix:
	 * device = (z M22 + M32) / (z M23 + M33)). Unreal's perspective is reversed-Z with an infinite far
	 * plane (M22 = 0, M32 = near, M23 = 1: z = near / device); orthographic projections work too.
	 * Device depth 0 under the infinite projection (the sky) and non-finite results give FarDepth.
	 */
	inline float LinearDepth(double DeviceZ, const FMat4& Projection)
	{
		const FMat4& P = Projection;
		const double Denominator = DeviceZ * P.M[2][3] - P.M[2][2];
		const double Numerator = P.M[3][2] - DeviceZ * P.M[3][3];
		if (!(std::fabs(Denominator) > 0.0) || !std::isfinite(DeviceZ))
		{
			return FarDepth;
		}
		const double Z = Numerator / Denominator;
		if (!std::isfinite(Z) || Z >= FarDepth)
		{
			return FarDepth;
		}
		return Z > 0.0 ? static_cast<float>(Z) : 0.0f;
	}

	/** IEEE 754 binary32 to binary16, rounding to nearest even; out of range: infinity; NaN stays NaN. */
	inline uint16_t FloatToHalf(float Value)
	{
		uint32_t Bits = 0;
		std::memcpy(&Bits, &Value, sizeof(Bits));
		const uint16_t Sign = static_cast<uint16_t>((Bits >> 16) & 0x8000u);
		const uint32_t Abs = Bits & 0x7FFFFFFFu;
		if (Abs >= 0x7F800000u)
		{
			return static_cast<uint16_t>(Sign | (Abs > 0x7F800000u ? 0x7E00u : 0x7C00u));
		}
		if (Abs >= 0x477FF000u) // 65520 and above round to infinity
		{
			return static_cast<uint16_t>(Sign | 0x7C00u);
		}
		if (Abs < 0x38800000u) // below 2^-14: a subnormal half (or zero)
		{
			if (Abs < 0x33000000u) // below 2^-25: rounds to zero
			{
				return Sign;
			}
			const uint32_t Mantissa = (Abs & 0x7FFFFFu) | 0x800000u;
			const uint32_t Shift = 126u - (Abs >> 23); // 14..24: the value in units of 2^-24
			uint32_t Half = Mantissa >> Shift;
			const uint32_t Rest = Mantissa & ((1u << Shift) - 1u);
			const uint32_t Midpoint = 1u << (Shift - 1u);
			if (Rest > Midpoint || (Rest == Midpoint && (Half & 1u) != 0u))
			{
				++Half;
			}
			return static_cast<uint16_t>(Sign | Half);
		}
		uint32_t Half = (Abs - 0x38000000u) >> 13; // re-bias the exponent (127 -> 15)
		const uint32_t Rest = Abs & 0x1FFFu;
		if (Rest > 0x1000u || (Rest == 0x1000u && (Half & 1u) != 0u))
		{
			++Half; // a carry into the exponent is still the right value
		}
		return static_cast<uint16_t>(Sign | Half);
	}

	inline float HalfToFloat(uint16_t Half)
	{
		const float Sign = (Half & 0x8000u) != 0 ? -1.0f : 1.0f;
		const int Exponent = (Half >> 10) & 0x1F;
		const int Mantissa = Half & 0x3FF;
		if (Exponent == 0)
		{
			return Sign * std::ldexp(static_cast<float>(Mantissa), -24);
		}
		if (Exponent == 31)
		{
			return Mantissa == 0 ? Sign * std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN();
		}
		return Sign * std::ldexp(static_cast<float>(Mantissa + 1024), Exponent - 25);
	}

	/** One scene-capture render's planes as read back from the GPU, each buffer with its row pitch. */
	struct FPlaneReadback
	{
		uint32_t Width = 0;
		uint32_t Height = 0;
		/** The engine's encoded velocity (R, G: x, y as UNORM16, first); null: the render had none. */
		const uint8_t* Velocity = nullptr;
		uint32_t VelocityPitch = 0;
		uint32_t VelocityBytesPerPixel = 0; // 4: PF_G16R16, 8: PF_A16B16G16R16
		/** Device depth (32-bit float, reversed-Z), copied from the depth buffer. */
		const uint8_t* DeviceDepth = nullptr;
		uint32_t DeviceDepthPitch = 0;
		FMat4 Projection; // the view's projection without TAA jitter
		bool bHasClipToPrevClip = false;
		FMat4 ClipToPrevClip;
	};

	/** Where the converted planes go (Motion null: depth only). */
	struct FPlaneOutput
	{
		uint8_t* Motion = nullptr;
		uint32_t MotionPitch = 0;
		uint8_t* Depth = nullptr;
		uint32_t DepthPitch = 0;
	};

	/** The velocity buffer formats of Unreal's desktop renderers (FVelocityRendering::GetFormat). */
	enum class EVelocityFormat : uint8_t
	{
		G16R16,		  // PF_G16R16: x, y
		A16B16G16R16, // PF_A16B16G16R16: x, y and the depth velocity (Lumen / ray tracing projects)
		Unsupported	  // anything else (e.g. the 1x1 dummy bound when the render had no velocity pass)
	};

	/** Bytes per pixel of a velocity buffer the decode reads; 0 for one it cannot. */
	inline uint32_t VelocityFormatBytes(EVelocityFormat Format)
	{
		switch (Format)
		{
		case EVelocityFormat::G16R16:
			return 4;
		case EVelocityFormat::A16B16G16R16:
			return 8;
		default:
			return 0;
		}
	}

	/** Whether a read-back plane set can be converted: buffers there, pitches and rows enough for the image. */
	inline bool IsConvertible(const FPlaneReadback& In, uint32_t VelocityRows, uint32_t DepthRows)
	{
		if (!IsValidFrameSize(In.Width, In.Height) || In.DeviceDepth == nullptr ||
			In.DeviceDepthPitch < In.Width * DepthBytesPerPixel || DepthRows < In.Height)
		{
			return false;
		}
		if (In.Velocity != nullptr &&
			((In.VelocityBytesPerPixel != 4 && In.VelocityBytesPerPixel != 8) ||
			 In.VelocityPitch < In.Width * In.VelocityBytesPerPixel || VelocityRows < In.Height))
		{
			return false;
		}
		return true;
	}

	/**
	 * Converts rows [FirstRow, EndRow) of a render's planes into what the plugin sends: motion (when
	 * Out.Motion) as RG16F pixels, current minus previous, +y down: the decoded velocity where the
	 * engine wrote one, else the camera's motion from depth and ClipToPrevClip (0 without it); depth
	 * as R32F linear view depth. Rows are independent: callers may split the image across threads.
	 */
	inline void ConvertPlaneRows(const FPlaneReadback& In, const FPlaneOutput& Out, uint32_t FirstRow, uint32_t EndRow)
	{
		EndRow = std::min(EndRow, In.Height);
		for (uint32_t Y = FirstRow; Y < EndRow; ++Y)
		{
			const uint8_t* DepthRow = In.DeviceDepth + static_cast<size_t>(Y) * In.DeviceDepthPitch;
			const uint8_t* VelocityRow = In.Velocity != nullptr ? In.Velocity + static_cast<size_t>(Y) * In.VelocityPitch : nullptr;
			uint8_t* MotionRow = Out.Motion != nullptr ? Out.Motion + static_cast<size_t>(Y) * Out.MotionPitch : nullptr;
			uint8_t* LinearRow = Out.Depth != nullptr ? Out.Depth + static_cast<size_t>(Y) * Out.DepthPitch : nullptr;
			for (uint32_t X = 0; X < In.Width; ++X)
			{
				float DeviceZ = 0.0f;
				std::memcpy(&DeviceZ, DepthRow + static_cast<size_t>(X) * DepthBytesPerPixel, sizeof(DeviceZ));
				if (LinearRow != nullptr)
				{
					const float Linear = LinearDepth(DeviceZ, In.Projection);
					std::memcpy(LinearRow + static_cast<size_t>(X) * DepthBytesPerPixel, &Linear, sizeof(Linear));
				}
				if (MotionRow == nullptr)
				{
					continue;
				}
				double VelocityX = 0.0;
				double VelocityY = 0.0;
				bool bKnown = false;
				if (VelocityRow != nullptr)
				{
					uint16_t Encoded[2] = {0, 0};
					std::memcpy(Encoded, VelocityRow + static_cast<size_t>(X) * In.VelocityBytesPerPixel, sizeof(Encoded));
					bKnown = DecodeVelocity(Encoded[0], Encoded[1], VelocityX, VelocityY);
				}
				if (!bKnown && In.bHasClipToPrevClip)
				{
					double ScreenX = 0.0;
					double ScreenY = 0.0;
					PixelToScreen(X, Y, In.Width, In.Height, ScreenX, ScreenY);
					bKnown = CameraVelocity(ScreenX, ScreenY, DeviceZ, In.ClipToPrevClip, VelocityX, VelocityY);
				}
				float Pixels[2] = {0.0f, 0.0f};
				if (bKnown)
				{
					ScreenVelocityToPixels(VelocityX, VelocityY, In.Width, In.Height, Pixels[0], Pixels[1]);
				}
				const uint16_t Halves[2] = {FloatToHalf(Pixels[0]), FloatToHalf(Pixels[1])};
				std::memcpy(MotionRow + static_cast<size_t>(X) * MotionBytesPerPixel, Halves, sizeof(Halves));
			}
		}
	}

	/** Which planes a colour frame carries. */
	struct FPlaneSend
	{
		bool bMotion = false;
		bool bDepth = false;
	};

	/**
	 * A colour frame carries planes only from its own render (bClaimed) and only when every GPU copy
	 * of that render has arrived (bCopiesReady) at the ring's size: otherwise it goes alone, colour
	 * only; planes of another render are never attached. Motion also needs a previous render of the
	 * capture to move from (bHasHistory), and a frame that resets (a camera cut) sends none.
	 */
	inline FPlaneSend DecidePlanes(bool bClaimed, bool bCopiesReady, bool bSizeMatches, bool bHasHistory, bool bReset)
	{
		FPlaneSend Send;
		if (!bClaimed || !bCopiesReady || !bSizeMatches)
		{
			return Send;
		}
		Send.bDepth = true;
		Send.bMotion = bHasHistory && !bReset;
		return Send;
	}

	/**
	 * The planes of scene-capture renders waiting for their colour frame, N sets. Every render of the
	 * capture records into a free set (Record; -1 when all are taken: that render has no planes) and
	 * supersedes the unclaimed set of an earlier render. The capture's target holds the newest
	 * render's image, so the colour readback of the target claims the waiting set (Claim), which is
	 * then that newest render's or none: a render that could not record leaves nothing to claim. A
	 * claimed set is released once its frame was submitted or dropped.
	 */
	template <int N>
	class TPlaneSets
	{
		static_assert(N > 0, "need at least one plane set");

	public:
		/** A render of the capture: a set to record its planes into, or -1. */
		int Record()
		{
			for (int K = 0; K < N; ++K)
			{
				if (States[K] == EState::Waiting)
				{
					States[K] = EState::Free; // an earlier render's image is no longer in the target
				}
			}
			for (int K = 0; K < N; ++K)
			{
				if (States[K] == EState::Free)
				{
					States[K] = EState::Waiting;
					return K;
				}
			}
			return -1;
		}

		/** A colour readback of the target: the newest render's set (now claimed), or -1. */
		int Claim()
		{
			for (int K = 0; K < N; ++K)
			{
				if (States[K] == EState::Waiting)
				{
					States[K] = EState::Claimed;
					return K;
				}
			}
			return -1;
		}

		/** Drops a set whose render turned out unusable before anyone claimed it. */
		void Abandon(int Index) { Release(Index); }

		void Release(int Index)
		{
			if (Index >= 0 && Index < N)
			{
				States[Index] = EState::Free;
			}
		}

		int InUse() const
		{
			int Count = 0;
			for (int K = 0; K < N; ++K)
			{
				Count += States[K] != EState::Free ? 1 : 0;
			}
			return Count;
		}

	private:
		enum class EState : uint8_t
		{
			Free,
			Waiting,
			Claimed
		};
		EState States[N] = {};
	};

	/**
	 * Camera cuts (MarkCameraCut) by game frame. A frame whose image was rendered in the frame of a
	 * cut or later carries LSD_FRAME_RESET: the first such frame that is submitted takes every cut up
	 * to its image's frame; later cuts wait for later frames.
	 */
	class FCameraCutTracker
	{
	public:
		void Mark(uint64_t Frame)
		{
			if (Cuts.size() < 64) // more unsent cuts than that are one reset anyway
			{
				Cuts.push_back(Frame);
			}
		}

		bool AppliesTo(uint64_t ImageFrame) const
		{
			for (const uint64_t Cut : Cuts)
			{
				if (Cut <= ImageFrame)
				{
					return true;
				}
			}
			return false;
		}

		/** A frame with this image frame was submitted (with the reset AppliesTo gave it). */
		void Sent(uint64_t ImageFrame)
		{
			Cuts.erase(std::remove_if(Cuts.begin(), Cuts.end(), [ImageFrame](uint64_t Cut)
									  {
										  return Cut <= ImageFrame;
									  }),
					   Cuts.end());
		}

		size_t Pending() const { return Cuts.size(); }

	private:
		std::vector<uint64_t> Cuts;
	};

	/**
	 * The game frame whose render a capture turn reads. A scene capture renders at the end of the
	 * frame, after the stream component's tick: the turn enqueued in frame K copies the target as
	 * frame K - 1 left it. The viewport source reads the back buffer frame K presents.
	 */
	inline uint64_t ImageFrameOf(uint64_t TickFrame, bool bSceneCaptureSource)
	{
		return bSceneCaptureSource && TickFrame > 0 ? TickFrame - 1 : TickFrame;
	}
} // namespace LSDBridgeLogic
