// LSD Bridge: the plugin's pure logic, header-only and UE-independent (plain C++17).
//
// Everything here is compiled and run outside Unreal by unreal_plugin/Tests/plugin_logic_test.cpp
// (g++, no engine). The UE glue maps engine types (EPixelFormat, FString, UENUMs) onto these
// plain types and keeps no decisions of its own.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "lsd_bridge/lsd_client.h"

namespace LSDBridgeLogic
{
	/** Protocol limits (shared_protocol/PROTOCOL.md section 9). */
	constexpr uint32_t MinFrameSize = 8;
	constexpr uint32_t MaxFrameSize = 8192;
	constexpr size_t MaxPromptBytes = 2048;
	constexpr size_t MaxNameBytes = 256;

	/** The engine pixel formats the plugin can stream, named after their EPixelFormat values. */
	enum class ESourceFormat : uint8_t
	{
		B8G8R8A8,   // PF_B8G8R8A8: RTF_RGBA8 render targets, the usual back buffer
		R8G8B8A8,   // PF_R8G8B8A8
		FloatRGBA,  // PF_FloatRGBA: RTF_RGBA16f render targets (half floats)
		Unsupported // anything else (A2B10G10R10 HDR back buffers, R32 formats, ...)
	};

	/** Maps an engine format to the wire format; false when the format cannot be streamed. */
	inline bool ToLsdFormat(ESourceFormat In, lsd_format& Out)
	{
		switch (In)
		{
		case ESourceFormat::B8G8R8A8: Out = LSD_FORMAT_BGRA8; return true;
		case ESourceFormat::R8G8B8A8: Out = LSD_FORMAT_RGBA8; return true;
		case ESourceFormat::FloatRGBA: Out = LSD_FORMAT_RGBA16F; return true;
		default: return false;
		}
	}

	inline uint32_t BytesPerPixel(lsd_format Format)
	{
		return Format == LSD_FORMAT_RGBA16F ? 8u : 4u;
	}

	inline bool IsValidFrameSize(int64_t Width, int64_t Height)
	{
		return Width >= MinFrameSize && Width <= MaxFrameSize && Height >= MinFrameSize && Height <= MaxFrameSize;
	}

	/** Bytes of a tightly packed frame; 0 for an invalid size. */
	inline uint64_t FrameBytes(int64_t Width, int64_t Height, lsd_format Format)
	{
		if (!IsValidFrameSize(Width, Height))
		{
			return 0;
		}
		return static_cast<uint64_t>(Width) * static_cast<uint64_t>(Height) * BytesPerPixel(Format);
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

	/** The style the user asked for, already in UTF-8. Seed < 0: not sent (the backend picks). */
	struct FStyleParams
	{
		std::string Model;   // backend: "effects" (default), "diffusion", ...
		std::string Style;   // optional style name of that backend
		std::string Prompt;  // optional; for "effects", words in it pick the style
		double Strength = 0.5;
		int64_t Seed = -1;
	};

	/** Sanitised copy: limits applied, empty model -> "effects". */
	inline FStyleParams SanitizeStyle(const FStyleParams& In)
	{
		FStyleParams Out;
		Out.Model = In.Model.empty() ? std::string("effects") : TruncateUtf8(In.Model, MaxNameBytes);
		Out.Style = TruncateUtf8(In.Style, MaxNameBytes);
		Out.Prompt = TruncateUtf8(In.Prompt, MaxPromptBytes);
		Out.Strength = ClampStrength(In.Strength);
		Out.Seed = In.Seed;
		return Out;
	}

	/** Fills an lsd_style_desc that points into Params (which must outlive the call that uses it). */
	inline lsd_style_desc MakeStyleDesc(const FStyleParams& Params)
	{
		lsd_style_desc Desc{};
		Desc.struct_size = sizeof(lsd_style_desc);
		Desc.backend = Params.Model.c_str();
		Desc.style = Params.Style.empty() ? nullptr : Params.Style.c_str();
		Desc.prompt = Params.Prompt.empty() ? nullptr : Params.Prompt.c_str();
		Desc.has_strength = 1;
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
	 * Picks the transport. GPU interop is used only when the plugin's interop path reports itself
	 * available (it does not yet: see LSDCudaInterop.h); otherwise shm with a reason the plugin logs.
	 */
	inline FTransportChoice ChooseTransport(ETransportRequest Request, bool bInteropAvailable, bool bWindows)
	{
		FTransportChoice Choice;
		if (Request == ETransportRequest::SharedMemory)
		{
			Choice.Reason = "shm requested";
			return Choice;
		}
		if (!bInteropAvailable)
		{
			Choice.Reason = Request == ETransportRequest::CudaInterop
				? "CUDA interop requested but not available: using the shm readback path"
				: "CUDA interop not available: using the shm readback path";
			return Choice;
		}
		Choice.Transport = bWindows ? LSD_TRANSPORT_CUDA_VMM : LSD_TRANSPORT_CUDA_IPC;
		Choice.bGpuInterop = true;
		Choice.Reason = "CUDA interop";
		return Choice;
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
} // namespace LSDBridgeLogic
