// LSD Bridge: the GPU interop path (see LSDCudaInterop.h). Compiled in with LSD_WITH_CUDA_INTEROP=1.
#include "LSDCudaInterop.h"

#include "LSDNativeSession.h"

#if LSD_WITH_CUDA_INTEROP
#include "DynamicRHI.h"
#include "RHICommandList.h"
#include "RHIDefinitions.h"
#include "RHIUtilities.h"
#include "RenderingThread.h"
#if PLATFORM_LINUX
#include "IVulkanDynamicRHI.h"
#endif
#endif

namespace
{
#if LSD_WITH_CUDA_INTEROP
	ERHIInterfaceType CurrentRhi()
	{
		return GDynamicRHI != nullptr ? GDynamicRHI->GetInterfaceType() : ERHIInterfaceType::Null;
	}
#endif
} // namespace

FLSDCudaInterop::~FLSDCudaInterop()
{
	RenderThread_Stop();
}

bool FLSDCudaInterop::IsAvailable(FString& OutReason)
{
#if !LSD_WITH_CUDA_INTEROP
	OutReason = TEXT("plugin built with LSD_WITH_CUDA_INTEROP=0 (the interop path is built on Linux)");
	return false;
#else
	if (CurrentRhi() != ERHIInterfaceType::Vulkan)
	{
		OutReason = TEXT("CUDA interop needs the Vulkan RHI on Linux (cuda_ipc)");
		return false;
	}
	if (!FLSDNativeSession::IsCudaDriverAvailable())
	{
		OutReason = TEXT("no CUDA driver or device (lsd_cuda_available reports 0)");
		return false;
	}
	OutReason = TEXT("available");
	return true;
#endif
}

#if LSD_WITH_CUDA_INTEROP
bool FLSDCudaInterop::CreateStaging(uint32 InWidth, uint32 InHeight, EPixelFormat Format, FTextureRHIRef& Out,
									FString& OutError)
{
	// exportable memory: External on Vulkan (a dedicated allocation CUDA can import), Shared on D3D12
	const ETextureCreateFlags Shareable =
		CurrentRhi() == ERHIInterfaceType::Vulkan ? ETextureCreateFlags::External : ETextureCreateFlags::Shared;
	const FRHITextureCreateDesc Desc = FRHITextureCreateDesc::Create2D(TEXT("LSDCudaStaging"), InWidth, InHeight, Format)
										   .SetFlags(Shareable | ETextureCreateFlags::ShaderResource)
										   .SetInitialState(ERHIAccess::CopyDest);
	Out = RHICreateTexture(Desc);
	if (!Out.IsValid())
	{
		OutError = TEXT("could not create an exportable staging texture");
		return false;
	}
	return true;
}

lsd_gpu_texture* FLSDCudaInterop::Import(FRHITexture* Texture, FString& OutError)
{
	lsd_external_image_desc Desc;
	FMemory::Memzero(Desc);
	Desc.struct_size = sizeof(Desc);
	Desc.width = Width;
	Desc.height = Height;
	Desc.format = WireFormat;
#if PLATFORM_LINUX
	IVulkanDynamicRHI* Vulkan = GetIVulkanDynamicRHI();
	const FVulkanRHIAllocationInfo Allocation = Vulkan->RHIGetAllocationInfo(Texture);
	const PFN_vkGetMemoryFdKHR GetMemoryFd =
		reinterpret_cast<PFN_vkGetMemoryFdKHR>(Vulkan->RHIGetVkDeviceProcAddr("vkGetMemoryFdKHR"));
	if (GetMemoryFd == nullptr)
	{
		OutError = TEXT("the Vulkan device has no vkGetMemoryFdKHR (VK_KHR_external_memory_fd)");
		return nullptr;
	}
	VkMemoryGetFdInfoKHR FdInfo = {};
	FdInfo.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR;
	FdInfo.memory = Allocation.Handle;
	FdInfo.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
	int Fd = -1;
	if (GetMemoryFd(Vulkan->RHIGetVkDevice(), &FdInfo, &Fd) != VK_SUCCESS || Fd < 0)
	{
		OutError = TEXT("vkGetMemoryFdKHR failed on the staging texture's memory");
		return nullptr;
	}
	Desc.handle_type = LSD_EXTERNAL_OPAQUE_FD;
	Desc.fd = Fd; // CUDA owns it once imported
	Desc.offset = Allocation.Offset;
	Desc.size = Allocation.Offset + Allocation.Size;
	Desc.dedicated = 1;
#else
	OutError = TEXT("CUDA interop is built for Linux (Vulkan) only");
	return nullptr;
#endif
	lsd_gpu_texture* Out = nullptr;
	const lsd_status Status = FLSDNativeSession::ImportTexture(Client, Desc, Out);
	if (Status != LSD_OK)
	{
		OutError = FString::Printf(TEXT("lsd_gpu_texture_import: %s: %s"),
								   UTF8_TO_TCHAR(FLSDNativeSession::StatusName(Status)),
								   UTF8_TO_TCHAR(FLSDNativeSession::LastError().c_str()));
		return nullptr;
	}
	return Out;
}
#endif

bool FLSDCudaInterop::RenderThread_Start(lsd_client* InClient, uint32 InWidth, uint32 InHeight, EPixelFormat Format,
										 lsd_format Wire, FString& OutError)
{
#if !LSD_WITH_CUDA_INTEROP
	OutError = TEXT("plugin built with LSD_WITH_CUDA_INTEROP=0");
	return false;
#else
	check(IsInRenderingThread());
	RenderThread_Stop();
	Client = InClient;
	Width = InWidth;
	Height = InHeight;
	WireFormat = Wire;
	if (!CreateStaging(InWidth, InHeight, Format, InputStaging, OutError) ||
		!CreateStaging(InWidth, InHeight, Format, OutputStaging, OutError))
	{
		return false;
	}
	InputTexture = Import(InputStaging, OutError);
	OutputTexture = InputTexture != nullptr ? Import(OutputStaging, OutError) : nullptr;
	if (OutputTexture == nullptr)
	{
		RenderThread_Stop();
		return false;
	}
	return true;
#endif
}

lsd_status FLSDCudaInterop::RenderThread_Submit(FRHICommandListImmediate& RHICmdList, FRHITexture* Source,
												const LSDBridgeLogic::FPixelRect* Crop, uint32 Flags,
												uint64& OutFrameId)
{
#if !LSD_WITH_CUDA_INTEROP
	return LSD_E_UNSUPPORTED;
#else
	check(IsInRenderingThread());
	if (!IsStarted() || Source == nullptr)
	{
		return LSD_E_NOT_BOUND;
	}
	FRHICopyTextureInfo Copy;
	Copy.Size = FIntVector(static_cast<int32>(Width), static_cast<int32>(Height), 1);
	if (Crop != nullptr)
	{
		Copy.SourcePosition = FIntVector(Crop->X, Crop->Y, 0);
	}
	TransitionAndCopyTexture(RHICmdList, Source, InputStaging, Copy);
	// CUDA reads the staging texture next: the engine's queue must have finished the copy
	RHICmdList.SubmitCommandsAndFlushGPU();
	RHICmdList.BlockUntilGPUIdle();
	lsd_cuda_frame Frame;
	FMemory::Memzero(Frame);
	Frame.struct_size = sizeof(Frame);
	Frame.width = Width;
	Frame.height = Height;
	Frame.format = WireFormat;
	Frame.flags = Flags;
	uint64_t Id = 0;
	const lsd_status Status = FLSDNativeSession::SubmitTexture(Client, InputTexture, Frame, Id);
	OutFrameId = Id;
	return Status;
#endif
}

lsd_status FLSDCudaInterop::RenderThread_Present(FRHICommandListImmediate& RHICmdList, FRHITexture* Target)
{
#if !LSD_WITH_CUDA_INTEROP
	return LSD_E_UNSUPPORTED;
#else
	check(IsInRenderingThread());
	if (!IsStarted() || Target == nullptr)
	{
		return LSD_E_NOT_BOUND;
	}
	lsd_cuda_frame Frame;
	FMemory::Memzero(Frame);
	Frame.struct_size = sizeof(Frame);
	// an imported texture's take waits for CUDA's copy: the engine may copy the staging texture next
	const lsd_status Status = FLSDNativeSession::TakeTexture(Client, OutputTexture, Frame);
	if (Status != LSD_OK)
	{
		return Status;
	}
	TransitionAndCopyTexture(RHICmdList, OutputStaging, Target, FRHICopyTextureInfo());
	return LSD_OK;
#endif
}

void FLSDCudaInterop::RenderThread_Stop()
{
	if (InputTexture != nullptr)
	{
		FLSDNativeSession::ReleaseTexture(InputTexture);
	}
	if (OutputTexture != nullptr)
	{
		FLSDNativeSession::ReleaseTexture(OutputTexture);
	}
	InputTexture = OutputTexture = nullptr;
#if LSD_WITH_CUDA_INTEROP
	InputStaging.SafeRelease();
	OutputStaging.SafeRelease();
#endif
}
