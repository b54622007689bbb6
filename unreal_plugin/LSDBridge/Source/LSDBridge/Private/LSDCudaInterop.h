// LSD Bridge: the GPU interop path (Vulkan on Linux -> CUDA -> the runtime's cuda_ipc slots).
//
// UE render targets cannot be handed to CUDA as they are (Vulkan images are made without
// exportable memory, D3D12 textures without the shared flag), so this path keeps two staging
// textures of its own, created exportable (ETextureCreateFlags::External / Shared), and imports
// their memory into CUDA once through the native client (lsd_gpu_texture_import: an opaque fd
// from vkGetMemoryFdKHR, or a D3D12 shared handle). Per frame: one GPU copy source -> input
// staging, lsd_client_submit_texture (staging -> slot on the GPU); lsd_client_take_texture
// (slot -> output staging, waited for), one GPU copy output staging -> target. Ordering across
// the APIs: the engine's queue is drained before CUDA reads the staging texture (a GPU flush per
// frame; imported semaphores would overlap the two, a later step), and the take waits for CUDA
// before the engine copies the result.
//
// LSD_WITH_CUDA_INTEROP (Build.cs: 1 on Linux, 0 elsewhere) compiles it in. IsAvailable()
// answers true only for the Vulkan RHI on Linux with an NVIDIA driver; otherwise false with the
// reason, and the stream uses the shm readback path. Written against UE 5.1-5.5's public RHI
// headers (IVulkanDynamicRHI.h, ID3D12DynamicRHI.h); no Unreal Engine here: never compiled
// against the engine, never run (README: what was verified where).
#pragma once

#include "CoreMinimal.h"
#include "LSDBridgeLogic.h"
#include "PixelFormat.h"
#include "lsd_bridge/lsd_client.h"

#ifndef LSD_WITH_CUDA_INTEROP
#define LSD_WITH_CUDA_INTEROP 0
#endif

#if LSD_WITH_CUDA_INTEROP
#include "RHIResources.h"
#endif

class FRHICommandListImmediate;
class FRHITexture;

class FLSDCudaInterop
{
public:
	~FLSDCudaInterop();

	/** Any thread: whether frames can move through CUDA; OutReason says why not. Never pretends. */
	static bool IsAvailable(FString& OutReason);

	/**
	 * Render thread: creates the two exportable staging textures (Width x Height, Format) and
	 * imports them into CUDA for Client's binding. False with OutError when any step fails.
	 */
	bool RenderThread_Start(lsd_client* Client, uint32 Width, uint32 Height, EPixelFormat Format, lsd_format Wire,
							FString& OutError);

	/**
	 * Render thread: Source (or its Crop) -> input staging on the GPU, then into a free input slot
	 * and out as a frame. LSD_NO_FREE_SLOT: skipped (latest wins).
	 */
	lsd_status RenderThread_Submit(FRHICommandListImmediate& RHICmdList, FRHITexture* Source, const LSDBridgeLogic::FPixelRect* Crop,
								   uint32 Flags, uint64& OutFrameId);

	/** Render thread: the newest finished frame (if any) -> output staging -> Target. LSD_NO_FRAME: none new. */
	lsd_status RenderThread_Present(FRHICommandListImmediate& RHICmdList, FRHITexture* Target);

	/** Render thread: releases the CUDA imports (before the staging textures go). */
	void RenderThread_Stop();

	bool IsStarted() const { return InputTexture != nullptr && OutputTexture != nullptr; }

private:
#if LSD_WITH_CUDA_INTEROP
	bool CreateStaging(uint32 Width, uint32 Height, EPixelFormat Format, FTextureRHIRef& Out, FString& OutError);
	lsd_gpu_texture* Import(FRHITexture* Texture, FString& OutError);
	FTextureRHIRef InputStaging;
	FTextureRHIRef OutputStaging;
#endif
	lsd_client* Client = nullptr;
	uint32 Width = 0;
	uint32 Height = 0;
	lsd_format WireFormat = LSD_FORMAT_BGRA8;
	lsd_gpu_texture* InputTexture = nullptr;
	lsd_gpu_texture* OutputTexture = nullptr;
};
