// LSD Bridge: GPU interop structure (see LSDCudaInterop.h). Compiled in with LSD_WITH_CUDA_INTEROP=1.
#include "LSDCudaInterop.h"

#include "LSDNativeSession.h"

#if LSD_WITH_CUDA_INTEROP
#include "DynamicRHI.h"
#include "RHICommandList.h"
#include "RHIDefinitions.h"
#include "RHIUtilities.h"
#include "RenderingThread.h"
#endif

namespace
{
#if LSD_WITH_CUDA_INTEROP
	ERHIInterfaceType CurrentRhi()
	{
		return GDynamicRHI != nullptr ? GDynamicRHI->GetInterfaceType() : ERHIInterfaceType::Null;
	}
#endif

	const TCHAR* const NotImplemented = TEXT("CUDA import of the staging texture is not implemented yet "
											 "(later GPU issue; the native client's CUDA transports answer LSD_E_UNSUPPORTED)");
} // namespace

bool FLSDCudaInterop::IsAvailable(FString& OutReason)
{
#if !LSD_WITH_CUDA_INTEROP
	OutReason = TEXT("plugin built with LSD_WITH_CUDA_INTEROP=0");
	return false;
#else
	const ERHIInterfaceType Rhi = CurrentRhi();
	if (Rhi != ERHIInterfaceType::D3D12 && Rhi != ERHIInterfaceType::Vulkan)
	{
		OutReason = TEXT("CUDA interop needs the D3D12 or Vulkan RHI");
		return false;
	}
	if (!FLSDNativeSession::IsCudaDriverAvailable())
	{
		OutReason = TEXT("no CUDA driver or device (lsd_cuda_available reports 0)");
		return false;
	}
	OutReason = NotImplemented;
	return false;
#endif
}

bool FLSDCudaInterop::RenderThread_CreateStaging(uint32 Width, uint32 Height, EPixelFormat Format, FString& OutError)
{
#if !LSD_WITH_CUDA_INTEROP
	OutError = TEXT("plugin built with LSD_WITH_CUDA_INTEROP=0");
	return false;
#else
	check(IsInRenderingThread());
	const ETextureCreateFlags Shareable = CurrentRhi() == ERHIInterfaceType::Vulkan
											  ? ETextureCreateFlags::External
											  : ETextureCreateFlags::Shared;
	const FRHITextureCreateDesc Desc = FRHITextureCreateDesc::Create2D(TEXT("LSDCudaStaging"), Width, Height, Format)
										   .SetFlags(Shareable | ETextureCreateFlags::ShaderResource)
										   .SetInitialState(ERHIAccess::CopyDest);
	Staging = RHICreateTexture(Desc);
	if (!Staging.IsValid())
	{
		OutError = TEXT("could not create the shareable staging texture");
		return false;
	}
	return true;
#endif
}

bool FLSDCudaInterop::RenderThread_CopyToStaging(FRHICommandListImmediate& RHICmdList, FRHITexture* Source)
{
#if !LSD_WITH_CUDA_INTEROP
	return false;
#else
	check(IsInRenderingThread());
	if (Source == nullptr || !Staging.IsValid())
	{
		return false;
	}
	TransitionAndCopyTexture(RHICmdList, Source, Staging, FRHICopyTextureInfo());
	return true;
#endif
}

void* FLSDCudaInterop::RenderThread_GetStagingNativeResource() const
{
#if !LSD_WITH_CUDA_INTEROP
	return nullptr;
#else
	return Staging.IsValid() ? Staging->GetNativeResource() : nullptr;
#endif
}

bool FLSDCudaInterop::RenderThread_ImportIntoCuda(FString& OutError)
{
	// Next step (GPU issue): D3D12 -> ID3D12Device::CreateSharedHandle on the staging resource,
	// Vulkan -> vkGetMemoryWin32HandleKHR / vkGetMemoryFdKHR on its memory; then, in the native
	// client, cuImportExternalMemory + cuExternalMemoryGetMappedMipmappedArray once, and per frame
	// cuMemcpy2DAsync array -> slot with an imported semaphore/fence for ordering.
	OutError = NotImplemented;
	return false;
}
