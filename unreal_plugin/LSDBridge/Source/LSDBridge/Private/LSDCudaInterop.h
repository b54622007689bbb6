// LSD Bridge: GPU interop path (D3D12 / Vulkan -> CUDA) through a shared staging texture.
//
// UE render targets cannot be handed to CUDA as they are (D3D12 textures are created without the
// shared flag, Vulkan images without external memory), so this path keeps its own staging texture
// created shareable and does one GPU copy into it per frame. Importing that texture into CUDA
// (cuImportExternalMemory + cuExternalMemoryGetMappedMipmappedArray, then cuMemcpy2DAsync into the
// runtime's slot) belongs to a later GPU issue, as do the native client's CUDA transports
// (LSD_TRANSPORT_CUDA_IPC / _VMM answer LSD_E_UNSUPPORTED today).
//
// LSD_WITH_CUDA_INTEROP (Build.cs, default 0) compiles the staging-texture structure in; either
// way IsAvailable() answers false with the reason, and the stream uses the shm readback path.
#pragma once

#include "CoreMinimal.h"
#include "PixelFormat.h"

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
	/** Any thread: whether frames can move through CUDA; OutReason says why not. Never pretends. */
	static bool IsAvailable(FString& OutReason);

	/** Render thread: creates the shareable staging texture (D3D12: Shared, Vulkan: External). */
	bool RenderThread_CreateStaging(uint32 Width, uint32 Height, EPixelFormat Format, FString& OutError);

	/** Render thread: one GPU copy of Source into the staging texture. */
	bool RenderThread_CopyToStaging(FRHICommandListImmediate& RHICmdList, FRHITexture* Source);

	/** Render thread: ID3D12Resource* or VkImage of the staging texture (what CUDA would import). */
	void* RenderThread_GetStagingNativeResource() const;

	/** Render thread: hand the staging texture to CUDA. Not implemented: always false with the reason. */
	bool RenderThread_ImportIntoCuda(FString& OutError);

private:
#if LSD_WITH_CUDA_INTEROP
	FTextureRHIRef Staging;
#endif
};
