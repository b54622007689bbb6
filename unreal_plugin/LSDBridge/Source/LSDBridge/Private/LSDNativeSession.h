// LSD Bridge: the plugin's only caller of the native client's C ABI (lsd_client.h).
//
// Header-only and UE-independent (plain C++17) so that unreal_plugin/Tests/plugin_logic_test.cpp
// compiles it against the real header, links it against the real liblsd_bridge and streams
// frames through a real lsd-runtime with it. The UE glue owns one FLSDNativeSession per stream
// in a thread-safe shared pointer: the game thread polls state / stats and sends styles, the
// render thread submits and takes; lsd_client_close runs when the last owner lets go, which is
// after every render command that captured it has finished (the ABI's only ordering rule).
//
// Every call here passes timeout 0 or has no timeout: nothing waits on the runtime.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "LSDBridgeLogic.h"
#include "lsd_bridge/lsd_client.h"

class FLSDNativeSession
{
public:
	struct FConfig
	{
		/** Read endpoint + token from STATE_DIR/runtime.json on every (re)connect; "" = default dir. */
		std::string StateDir;
		/** Used only when bUseStateDir is false. */
		std::string Endpoint;
		std::string Token;
		/** The runtime's CURVE key for an Endpoint on another machine; "" = from runtime.json. */
		std::string ServerKey;
		bool bUseStateDir = true;
		std::string ClientName = "unreal/0.1.0";
		uint32_t HeartbeatMs = 0; // 0: the runtime's value
		uint32_t TimeoutMs = 0;	  // 0: the runtime's value
	};

	/** Creates the handle (starts the native I/O thread, does not wait). Null + OutError on failure. */
	static std::unique_ptr<FLSDNativeSession> Create(const FConfig& Config, std::string& OutError)
	{
		lsd_client_config Cfg;
		lsd_client_config_init(&Cfg);
		if (Config.bUseStateDir)
		{
			Cfg.state_dir = Config.StateDir.c_str();
		}
		else
		{
			Cfg.endpoint = Config.Endpoint.c_str();
			Cfg.token = Config.Token.c_str();
		}
		Cfg.server_key = Config.ServerKey.empty() ? nullptr : Config.ServerKey.c_str();
		Cfg.client_name = Config.ClientName.c_str();
		Cfg.heartbeat_ms = Config.HeartbeatMs;
		Cfg.timeout_ms = Config.TimeoutMs;
		lsd_client* Client = nullptr;
		const lsd_status Status = lsd_client_create(&Cfg, &Client);
		if (Status != LSD_OK || Client == nullptr)
		{
			OutError = DescribeFailure("lsd_client_create", Status);
			return nullptr;
		}
		return std::unique_ptr<FLSDNativeSession>(new FLSDNativeSession(Client));
	}

	~FLSDNativeSession() { lsd_client_close(Client); }

	FLSDNativeSession(const FLSDNativeSession&) = delete;
	FLSDNativeSession& operator=(const FLSDNativeSession&) = delete;

	/** Starts hello/welcome in the background; returns at once (LSD_E_NOT_CONNECTED = not yet). */
	lsd_status StartConnect() { return lsd_client_connect(Client, 0); }

	lsd_conn_state GetState() { return lsd_client_state(Client); }

	/**
	 * Requests input and output rings; remembered by the client and re-sent after reconnects.
	 * LSD_PENDING / LSD_E_NOT_CONNECTED are normal answers (the bind completes in the background).
	 * bPlanes: also the motion and depth planes beside the input ring (LSDBridgeLogic::DeclarePlanes).
	 */
	lsd_status RequestBind(uint32_t InWidth, uint32_t InHeight, lsd_format InFormat, lsd_color InColor, uint32_t OutWidth,
						   uint32_t OutHeight, lsd_format OutFormat, lsd_color OutColor, lsd_transport Transport,
						   bool bPlanes = false)
	{
		lsd_bind_desc Desc;
		lsd_bind_desc_init(&Desc, InWidth, InHeight, InFormat);
		Desc.transport = Transport;
		Desc.input.bottom_up = 0;	// UE textures: first row is the top row
		Desc.input.color = InColor; // always explicit: derived from the capture source and target (LSDBridgeLogic.h)
		Desc.output.width = OutWidth;
		Desc.output.height = OutHeight;
		Desc.output.format = OutFormat;
		Desc.output.bottom_up = 0;
		Desc.output.color = OutColor;
		LSDBridgeLogic::DeclarePlanes(Desc, bPlanes);
		return lsd_client_bind(Client, &Desc, 0);
	}

	/** Sends the style (remembered and re-sent after reconnects); does not wait for style_set. */
	lsd_status RequestStyle(const LSDBridgeLogic::FStyleParams& Params)
	{
		const LSDBridgeLogic::FStyleParams Clean = LSDBridgeLogic::SanitizeStyle(Params);
		const lsd_style_desc Desc = LSDBridgeLogic::MakeStyleDesc(Clean);
		return lsd_client_set_style(Client, &Desc, 0);
	}

	/**
	 * Copies one CPU frame (and, when given, its motion and depth planes) into a free input slot and
	 * queues it; never waits. Flags: LSDBridgeLogic::FrameFlags (LSD_FRAME_RESET for a camera cut).
	 */
	lsd_status Submit(const void* Data, uint32_t Width, uint32_t Height, uint32_t PitchBytes, lsd_format Format,
					  double CaptureTimeSeconds, uint64_t* OutFrameId, uint32_t Flags = 0,
					  const LSDBridgeLogic::FFramePlanes& Planes = LSDBridgeLogic::FFramePlanes())
	{
		const lsd_frame_in Frame =
			LSDBridgeLogic::MakeFrameIn(Data, Width, Height, PitchBytes, Format, CaptureTimeSeconds, Flags, Planes);
		return lsd_client_submit(Client, &Frame, OutFrameId);
	}

	/** Copies the newest finished frame into Data (if any); LSD_NO_FRAME when none. Never waits. */
	lsd_status Take(void* Data, uint64_t Capacity, uint32_t PitchBytes, lsd_frame_out& Out)
	{
		Out = lsd_frame_out{};
		Out.struct_size = sizeof(lsd_frame_out);
		Out.data = Data;
		Out.capacity = Capacity;
		Out.pitch = PitchBytes;
		return lsd_client_take(Client, &Out, 0);
	}

	lsd_status GetStats(lsd_stats& Out)
	{
		Out = lsd_stats{};
		Out.struct_size = sizeof(lsd_stats);
		return lsd_client_get_stats(Client, &Out);
	}

	/** This thread's last native error, with the status name. */
	static std::string DescribeFailure(const char* What, lsd_status Status)
	{
		std::string Message = std::string(What) + ": " + lsd_status_string(Status);
		const char* Detail = lsd_last_error();
		if (Detail != nullptr && Detail[0] != '\0')
		{
			Message += " (";
			Message += Detail;
			Message += ")";
		}
		return Message;
	}

	static const char* StatusName(lsd_status Status) { return lsd_status_string(Status); }
	static const char* LibraryVersion() { return lsd_version(); }
	static bool IsCudaDriverAvailable() { return lsd_cuda_available() == 1; }

	/** Which transport the binding uses and why (no wait). */
	lsd_status GetTransport(lsd_transport_info& Out)
	{
		std::memset(&Out, 0, sizeof Out);
		Out.struct_size = sizeof Out;
		return lsd_client_get_transport(Client, &Out);
	}

	/** The native handle, for the GPU interop calls that take it (valid while this session lives). */
	lsd_client* GetClient() const { return Client; }

	// GPU interop (FLSDCudaInterop, render thread): textures imported into CUDA and the frames they carry
	static lsd_status ImportTexture(lsd_client* InClient, const lsd_external_image_desc& Desc, lsd_gpu_texture*& Out)
	{
		return lsd_gpu_texture_import(InClient, &Desc, &Out);
	}
	static lsd_status SubmitTexture(lsd_client* InClient, lsd_gpu_texture* Texture, const lsd_cuda_frame& Frame,
									uint64_t& OutFrameId)
	{
		return lsd_client_submit_texture(InClient, Texture, &Frame, &OutFrameId);
	}
	static lsd_status TakeTexture(lsd_client* InClient, lsd_gpu_texture* Texture, lsd_cuda_frame& Frame)
	{
		return lsd_client_take_texture(InClient, Texture, &Frame, 0); // never waits
	}
	static void ReleaseTexture(lsd_gpu_texture* Texture) { lsd_gpu_texture_release(Texture); }
	static std::string LastError() { return lsd_last_error(); }

private:
	explicit FLSDNativeSession(lsd_client* InClient)
		: Client(InClient) {}

	lsd_client* Client;
};
