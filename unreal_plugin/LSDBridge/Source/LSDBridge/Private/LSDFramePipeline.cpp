// LSD Bridge: render-thread readback / upload (shm transport), and the scene capture's motion and
// depth planes (recorded inside the capture's render, sent with the colour frame of that render).
#include "LSDFramePipeline.h"

#include "Async/ParallelFor.h"
#include "LSDBridgeLog.h"
#include "Misc/ScopeLock.h"
#include "RHICommandList.h"
#include "RHIGPUReadback.h"
#include "RHIResources.h"
#include "RenderGraphBuilder.h"
#include "RenderGraphUtils.h"
#include "RenderingThread.h"
#include "SceneRenderTargetParameters.h"
#include "SceneTexturesConfig.h"
#include "SceneView.h"
#include "ScreenPass.h"

FLSDPlaneSet::FLSDPlaneSet() = default;
FLSDPlaneSet::~FLSDPlaneSet() = default;

namespace
{
	/** Rows of the planes converted per task (ParallelFor band). */
	constexpr uint32 PlaneRowsPerBand = 64;

	LSDBridgeLogic::FMat4 ToMat4(const FMatrix& In)
	{
		LSDBridgeLogic::FMat4 Out;
		for (int32 Row = 0; Row < 4; ++Row)
		{
			for (int32 Col = 0; Col < 4; ++Col)
			{
				Out.M[Row][Col] = static_cast<double>(In.M[Row][Col]);
			}
		}
		return Out;
	}

	LSDBridgeLogic::EVelocityFormat ToVelocityFormat(EPixelFormat Format)
	{
		switch (Format)
		{
		case PF_G16R16:
			return LSDBridgeLogic::EVelocityFormat::G16R16;
		case PF_A16B16G16R16:
			return LSDBridgeLogic::EVelocityFormat::A16B16G16R16;
		default:
			return LSDBridgeLogic::EVelocityFormat::Unsupported;
		}
	}

	bool Covers(FRDGTextureRef Texture, const FIntRect& Rect)
	{
		return Texture != nullptr && Texture->Desc.Extent.X >= Rect.Max.X && Texture->Desc.Extent.Y >= Rect.Max.Y;
	}
} // namespace

FLSDFramePipeline::FLSDFramePipeline(const FLSDNativeSessionPtr& InSession, const FLSDRingFormat& InInput,
									 const FLSDRingFormat& InOutput, bool bInPlanes, bool bInGpuInterop)
	: Session(InSession), Input(InInput), Output(InOutput), bPlanes(bInPlanes), bGpuInterop(bInGpuInterop)
{
	check(Session.IsValid());
	OutputPixels.SetNumUninitialized(static_cast<int64>(LSDBridgeLogic::FrameBytes(Output.Width, Output.Height, Output.Format)));
	for (int32& Set : ReadbackPlaneSets)
	{
		Set = -1;
	}
	if (bPlanes)
	{
		const int64 Pixels = static_cast<int64>(Input.Width) * Input.Height;
		MotionPixels.SetNumUninitialized(Pixels * LSDBridgeLogic::MotionBytesPerPixel);
		DepthPixels.SetNumUninitialized(Pixels * LSDBridgeLogic::DepthBytesPerPixel);
	}
}

FLSDFramePipeline::~FLSDFramePipeline() = default;

bool FLSDFramePipeline::MapPixelFormat(EPixelFormat Format, lsd_format& Out)
{
	LSDBridgeLogic::ESourceFormat Source = LSDBridgeLogic::ESourceFormat::Unsupported;
	switch (Format)
	{
	case PF_B8G8R8A8:
		Source = LSDBridgeLogic::ESourceFormat::B8G8R8A8;
		break;
	case PF_R8G8B8A8:
		Source = LSDBridgeLogic::ESourceFormat::R8G8B8A8;
		break;
	case PF_FloatRGBA:
		Source = LSDBridgeLogic::ESourceFormat::FloatRGBA;
		break;
	default:
		break;
	}
	return LSDBridgeLogic::ToLsdFormat(Source, Out);
}

void FLSDFramePipeline::RenderThread_SubmitReady()
{
	check(IsInRenderingThread());
	for (int32 Oldest = Queue.Oldest(); Oldest >= 0; Oldest = Queue.Oldest())
	{
		if (!Readbacks[Oldest]->IsReady())
		{
			return; // readbacks complete in order: nothing newer is ready either
		}
		const int32 Newer = Queue.SecondOldest();
		if (Newer >= 0 && Readbacks[Newer]->IsReady())
		{
			ReleasePlaneSet(ReadbackPlaneSets[Oldest]); // its planes go with it
			ReadbackPlaneSets[Oldest] = -1;
			Queue.PopOldest(); // a newer frame is ready too: latest frame wins
			continue;
		}
		int32 RowPitchInPixels = 0;
		int32 BufferHeight = 0;
		const void* Pixels = Readbacks[Oldest]->Lock(RowPitchInPixels, &BufferHeight);
		const uint32 PitchBytes = LSDBridgeLogic::RowPitchBytes(RowPitchInPixels, Input.Width, Input.Format);
		if (Pixels != nullptr && PitchBytes != 0 && BufferHeight >= static_cast<int32>(Input.Height))
		{
			const uint64 ImageFrame = ReadbackFrames[Oldest];
			const int32 SetIndex = ReadbackPlaneSets[Oldest];
			const bool bReset = Cuts.AppliesTo(ImageFrame) || (SetIndex >= 0 && PlaneSets[SetIndex].bCameraCut);
			LSDBridgeLogic::FFramePlanes Planes;
			bool bMotion = false;
			const bool bWithPlanes = SetIndex >= 0 && PreparePlanes(SetIndex, bReset, Planes, bMotion);
			// copies colour and planes into a free shm slot and queues the frame; never waits (time 0:
			// the library's clock). A frame without its planes goes alone: never another render's planes.
			const lsd_status Status = Session->Submit(Pixels, Input.Width, Input.Height, PitchBytes, Input.Format, 0.0,
													  nullptr, LSDBridgeLogic::FrameFlags(bReset), Planes);
			if (Status == LSD_OK)
			{
				Cuts.Sent(ImageFrame);
				if (bWithPlanes)
				{
					NumWithDepth.fetch_add(1);
					NumWithMotion.fetch_add(bMotion ? 1 : 0);
				}
			}
			else if (!LSDBridgeLogic::IsExpectedStatus(Status))
			{
				SetError(UTF8_TO_TCHAR(FLSDNativeSession::DescribeFailure("lsd_client_submit", Status).c_str()));
			}
		}
		Readbacks[Oldest]->Unlock();
		ReleasePlaneSet(ReadbackPlaneSets[Oldest]);
		ReadbackPlaneSets[Oldest] = -1;
		Queue.PopOldest();
	}
}

bool FLSDFramePipeline::PreparePlanes(int32 SetIndex, bool bReset, LSDBridgeLogic::FFramePlanes& OutPlanes, bool& bOutMotion)
{
	// a claimed set is this frame's alone: the capture's render records only into free sets
	FLSDPlaneSet& Set = PlaneSets[SetIndex];
	const bool bVelocityReady = !Set.bHasVelocity || (Set.Velocity.IsValid() && Set.Velocity->IsReady());
	const bool bDepthReady = Set.Depth.IsValid() && Set.Depth->IsReady();
	const bool bSizeMatches = Set.Width == Input.Width && Set.Height == Input.Height;
	const LSDBridgeLogic::FPlaneSend Send =
		LSDBridgeLogic::DecidePlanes(true, bVelocityReady && bDepthReady, bSizeMatches, Set.bHasClipToPrevClip, bReset);
	if (!Send.bDepth)
	{
		return false; // colour only this frame
	}

	LSDBridgeLogic::FPlaneReadback In;
	In.Width = Input.Width;
	In.Height = Input.Height;
	In.Projection = Set.Projection;
	In.bHasClipToPrevClip = Set.bHasClipToPrevClip;
	In.ClipToPrevClip = Set.ClipToPrevClip;
	int32 DepthPitchInPixels = 0;
	int32 DepthRows = 0;
	In.DeviceDepth = static_cast<const uint8*>(Set.Depth->Lock(DepthPitchInPixels, &DepthRows));
	In.DeviceDepthPitch = static_cast<uint32>(FMath::Max(DepthPitchInPixels, 0)) * LSDBridgeLogic::DepthBytesPerPixel;
	int32 VelocityPitchInPixels = 0;
	int32 VelocityRows = 0;
	const bool bReadVelocity = Send.bMotion && Set.bHasVelocity;
	if (bReadVelocity)
	{
		In.Velocity = static_cast<const uint8*>(Set.Velocity->Lock(VelocityPitchInPixels, &VelocityRows));
		In.VelocityBytesPerPixel = Set.VelocityBytesPerPixel;
		In.VelocityPitch = static_cast<uint32>(FMath::Max(VelocityPitchInPixels, 0)) * Set.VelocityBytesPerPixel;
	}

	const bool bOk = LSDBridgeLogic::IsConvertible(In, static_cast<uint32>(FMath::Max(VelocityRows, 0)),
												   static_cast<uint32>(FMath::Max(DepthRows, 0)));
	if (bOk)
	{
		LSDBridgeLogic::FPlaneOutput Out;
		Out.Motion = Send.bMotion ? MotionPixels.GetData() : nullptr;
		Out.MotionPitch = Input.Width * LSDBridgeLogic::MotionBytesPerPixel;
		Out.Depth = DepthPixels.GetData();
		Out.DepthPitch = Input.Width * LSDBridgeLogic::DepthBytesPerPixel;
		// rows are independent: bands of rows on the task graph, the render thread waits for them
		const int32 Bands = static_cast<int32>((In.Height + PlaneRowsPerBand - 1) / PlaneRowsPerBand);
		ParallelFor(Bands, [&In, &Out](int32 Band)
					{
						const uint32 First = static_cast<uint32>(Band) * PlaneRowsPerBand;
						LSDBridgeLogic::ConvertPlaneRows(In, Out, First, First + PlaneRowsPerBand);
					});
		OutPlanes.Depth = DepthPixels.GetData();
		OutPlanes.DepthPitch = Out.DepthPitch;
		if (Send.bMotion)
		{
			OutPlanes.Motion = MotionPixels.GetData();
			OutPlanes.MotionPitch = Out.MotionPitch;
		}
		bOutMotion = Send.bMotion;
	}
	if (bReadVelocity)
	{
		Set.Velocity->Unlock();
	}
	Set.Depth->Unlock();
	return bOk;
}

void FLSDFramePipeline::ReleasePlaneSet(int32 SetIndex)
{
	if (SetIndex >= 0)
	{
		FScopeLock Lock(&PlanesLock);
		PlaneSlots.Release(SetIndex);
	}
}

void FLSDFramePipeline::RenderThread_MarkCameraCut(uint64 Frame)
{
	check(IsInRenderingThread());
	Cuts.Mark(Frame);
}

void FLSDFramePipeline::RenderThread_RecordPlanes(FRDGBuilder& GraphBuilder, const FSceneView& View)
{
	if (!bPlanes)
	{
		return;
	}
	const FIntRect Rect = View.UnscaledViewRect;
	// every render of the capture moves the camera history on, recorded or not
	const LSDBridgeLogic::FMat4 Projection = ToMat4(View.ViewMatrices.GetProjectionNoAAMatrix());
	const LSDBridgeLogic::FMat4 ViewProjection = ToMat4(View.ViewMatrices.GetViewMatrix() * View.ViewMatrices.GetProjectionNoAAMatrix());

	FScopeLock Lock(&PlanesLock);
	LSDBridgeLogic::FMat4 ClipToPrevClip;
	const bool bHistory = CameraHistory.Advance(ViewProjection, View.bCameraCut, ClipToPrevClip);
	const int32 SetIndex = PlaneSlots.Record();
	if (SetIndex < 0)
	{
		return; // every set is with a frame in flight: this render's colour goes alone
	}
	if (Rect.Width() != static_cast<int32>(Input.Width) || Rect.Height() != static_cast<int32>(Input.Height))
	{
		PlaneSlots.Abandon(SetIndex);
		NoteOnce(bNotedPlaneSize, TEXT("motion/depth: the capture's view is not the size of its Texture Target (screen "
									   "percentage or main-view resolution?): sending colour only"));
		return;
	}
	// device depth and velocity of this view, as the renderer left them (public scene-texture access)
	const TRDGUniformBufferRef<FSceneTextureUniformParameters> SceneTextures = CreateSceneTextureUniformBuffer(
		GraphBuilder, View, ESceneTextureSetupMode::SceneDepth | ESceneTextureSetupMode::SceneVelocity);
	// TRDGUniformBuffer::operator-> gives the parameter struct (GetParameters() is the RDG wrapper)
	FRDGTextureRef SceneDepth = SceneTextures != nullptr ? (*SceneTextures)->SceneDepthTexture : nullptr;
	FRDGTextureRef SceneVelocity = SceneTextures != nullptr ? (*SceneTextures)->GBufferVelocityTexture : nullptr;
	if (!Covers(SceneDepth, Rect))
	{
		PlaneSlots.Abandon(SetIndex);
		return;
	}

	FLSDPlaneSet& Set = PlaneSets[SetIndex];
	if (!Set.Depth.IsValid())
	{
		Set.Depth = MakeUnique<FRHIGPUTextureReadback>(TEXT("LSDBridgeDepthReadback"));
		Set.Velocity = MakeUnique<FRHIGPUTextureReadback>(TEXT("LSDBridgeVelocityReadback"));
	}
	Set.Width = Input.Width;
	Set.Height = Input.Height;
	Set.bCameraCut = View.bCameraCut;
	Set.bHasClipToPrevClip = bHistory;
	Set.Projection = Projection;
	Set.ClipToPrevClip = ClipToPrevClip;

	// the depth buffer (a depth-stencil format) drawn into a plain float texture, then copied back
	const FRDGTextureDesc DepthDesc = FRDGTextureDesc::Create2D(Rect.Size(), PF_R32_FLOAT, FClearValueBinding::None,
																TexCreate_RenderTargetable | TexCreate_ShaderResource);
	FRDGTextureRef DeviceDepth = GraphBuilder.CreateTexture(DepthDesc, TEXT("LSDBridgeDeviceDepth"));
	AddDrawTexturePass(GraphBuilder, View, SceneDepth, DeviceDepth, Rect.Min, FIntPoint::ZeroValue, Rect.Size());
	AddEnqueueCopyPass(GraphBuilder, Set.Depth.Get(), DeviceDepth);

	// the velocity buffer as the engine encoded it (decoded on the CPU: LSDBridgeLogic::DecodeVelocity);
	// a render without a velocity pass binds a small dummy: then the motion is the camera's alone
	const LSDBridgeLogic::EVelocityFormat VelocityFormat =
		SceneVelocity != nullptr ? ToVelocityFormat(SceneVelocity->Desc.Format) : LSDBridgeLogic::EVelocityFormat::Unsupported;
	Set.VelocityBytesPerPixel = LSDBridgeLogic::VelocityFormatBytes(VelocityFormat);
	Set.bHasVelocity = Set.VelocityBytesPerPixel != 0 && Covers(SceneVelocity, Rect);
	if (Set.bHasVelocity)
	{
		AddEnqueueCopyPass(GraphBuilder, Set.Velocity.Get(), SceneVelocity,
						   FResolveRect(Rect.Min.X, Rect.Min.Y, Rect.Max.X, Rect.Max.Y));
	}
	else
	{
		NoteOnce(bNotedNoVelocity, TEXT("motion/depth: the capture rendered no velocity buffer: motion is the camera's "
										"alone (objects moving by themselves look still). Enable Temporal AA or Motion "
										"Blur in the capture's Show Flags"));
	}
}

void FLSDFramePipeline::RenderThread_Capture(FRHICommandListImmediate& RHICmdList, FRHITexture* Source,
											 const LSDBridgeLogic::FPixelRect* Crop, uint64 ImageFrame)
{
	check(IsInRenderingThread());
	RenderThread_SubmitReady();
	if (Source == nullptr)
	{
		return;
	}
	const FRHITextureDesc& Desc = Source->GetDesc();
	FLSDRingFormat Actual;
	Actual.Width = Crop != nullptr ? Crop->Width : static_cast<uint32>(Desc.Extent.X);
	Actual.Height = Crop != nullptr ? Crop->Height : static_cast<uint32>(Desc.Extent.Y);
	Actual.Color = Input.Color; // the colour follows the settings, not the texture
	const bool bFormatOk = MapPixelFormat(Desc.Format, Actual.Format);
	if (!bFormatOk || !Actual.SameShape(Input))
	{
		if (!bFormatOk)
		{
			SetError(FString::Printf(TEXT("source pixel format %s cannot be streamed (use RGBA8 or RGBA16f)"),
									 GetPixelFormatString(Desc.Format)));
			Actual.Width = 0; // invalid: nothing to re-bind to
		}
		{
			FScopeLock Lock(&ErrorLock);
			SeenSource = Actual;
		}
		bSourceMismatch.store(true); // the game thread re-binds to a valid SeenSource
		return;
	}
	if (RenderThread_UseInterop(Desc.Format))
	{
		// GPU to GPU: the source is copied into the staging texture and on into a free input slot
		uint64 FrameId = 0;
		const lsd_status Status = Interop.RenderThread_Submit(RHICmdList, Source, Crop,
															  LSDBridgeLogic::FrameFlags(Cuts.AppliesTo(ImageFrame)), FrameId);
		if (Status == LSD_OK)
		{
			Cuts.Sent(ImageFrame);
		}
		else if (!LSDBridgeLogic::IsExpectedStatus(Status))
		{
			SetError(UTF8_TO_TCHAR(FLSDNativeSession::DescribeFailure("lsd_client_submit_texture", Status).c_str()));
		}
		return;
	}
	const int32 Index = Queue.Acquire();
	if (Index < 0)
	{
		return; // every readback still in flight: skip this frame
	}
	if (!Readbacks[Index].IsValid())
	{
		Readbacks[Index] = MakeUnique<FRHIGPUTextureReadback>(TEXT("LSDBridgeReadback"));
	}
	ReadbackFrames[Index] = ImageFrame;
	ReadbackPlaneSets[Index] = -1;
	if (bPlanes && Crop == nullptr)
	{
		// the target holds the newest render of the capture: its planes, if that render recorded them
		FScopeLock Lock(&PlanesLock);
		ReadbackPlaneSets[Index] = PlaneSlots.Claim();
	}
	RHICmdList.Transition(FRHITransitionInfo(Source, ERHIAccess::Unknown, ERHIAccess::CopySrc));
	if (Crop != nullptr)
	{
		// the staging texture takes the rectangle's size: the readback holds only the viewport
		const FResolveRect Rect(Crop->X, Crop->Y, Crop->X + static_cast<int32>(Crop->Width),
								Crop->Y + static_cast<int32>(Crop->Height));
		Readbacks[Index]->EnqueueCopy(RHICmdList, Source, Rect);
	}
	else
	{
		Readbacks[Index]->EnqueueCopy(RHICmdList, Source);
	}
	// a scene-capture target goes back to being sampled; a back buffer (the cropped viewport path) is
	// about to be presented, as the engine's frame grabber leaves it
	RHICmdList.Transition(
		FRHITransitionInfo(Source, ERHIAccess::CopySrc, Crop != nullptr ? ERHIAccess::Present : ERHIAccess::SRVMask));
}

bool FLSDFramePipeline::RenderThread_UseInterop(EPixelFormat SourceFormat)
{
	lsd_transport_info Info;
	const bool bUse = bGpuInterop && !bInteropFailed && Session->GetTransport(Info) == LSD_OK &&
					  LSDBridgeLogic::UseGpuFrames(true, Info);
	if (bUse && !Interop.IsStarted())
	{
		FString Error;
		if (!Interop.RenderThread_Start(Session->GetClient(), Input.Width, Input.Height, SourceFormat, Input.Format, Error))
		{
			bInteropFailed = true;
			SetError(FString::Printf(TEXT("CUDA interop could not start (%s): using the shm readback path"), *Error));
			bOnGpuPath.store(false);
			return false;
		}
	}
	bOnGpuPath.store(bUse);
	return bUse;
}

void FLSDFramePipeline::RenderThread_Present(FRHICommandListImmediate& RHICmdList, FRHITexture* Target)
{
	check(IsInRenderingThread());
	if (Target == nullptr || OutputPixels.Num() == 0)
	{
		return;
	}
	if (bOnGpuPath.load() && Interop.IsStarted())
	{
		const lsd_status Status = Interop.RenderThread_Present(RHICmdList, Target);
		if (Status == LSD_OK)
		{
			NumPresented.fetch_add(1);
		}
		else if (!LSDBridgeLogic::IsExpectedStatus(Status))
		{
			SetError(UTF8_TO_TCHAR(FLSDNativeSession::DescribeFailure("lsd_client_take_texture", Status).c_str()));
		}
		return;
	}
	lsd_frame_out Frame;
	const lsd_status Status = Session->Take(OutputPixels.GetData(), static_cast<uint64>(OutputPixels.Num()), 0, Frame);
	if (Status != LSD_OK)
	{
		if (!LSDBridgeLogic::IsExpectedStatus(Status))
		{
			SetError(UTF8_TO_TCHAR(FLSDNativeSession::DescribeFailure("lsd_client_take", Status).c_str()));
		}
		return; // no new frame: the last one stays on screen
	}
	const FRHITextureDesc& Desc = Target->GetDesc();
	lsd_format TargetFormat = LSD_FORMAT_BGRA8;
	if (!MapPixelFormat(Desc.Format, TargetFormat) || TargetFormat != Frame.format || Desc.Extent.X != static_cast<int32>(Frame.width) || Desc.Extent.Y != static_cast<int32>(Frame.height))
	{
		SetError(FString::Printf(TEXT("output render target (%dx%d) does not match the output ring (%ux%u)"),
								 Desc.Extent.X, Desc.Extent.Y, Frame.width, Frame.height));
		return;
	}
	const FUpdateTextureRegion2D Region(0, 0, 0, 0, Frame.width, Frame.height);
	const uint32 SourcePitch = Frame.width * LSDBridgeLogic::BytesPerPixel(Frame.format);
	RHICmdList.UpdateTexture2D(Target, 0, Region, SourcePitch, OutputPixels.GetData());
	NumPresented.fetch_add(1);
}

FLSDRingFormat FLSDFramePipeline::GetSeenSource() const
{
	FScopeLock Lock(&ErrorLock);
	return SeenSource;
}

FString FLSDFramePipeline::GetLastError() const
{
	FScopeLock Lock(&ErrorLock);
	return LastError;
}

void FLSDFramePipeline::NoteOnce(std::atomic<bool>& bNoted, const TCHAR* Message)
{
	if (!bNoted.exchange(true))
	{
		UE_LOG(LogLSDBridge, Warning, TEXT("%s"), Message);
	}
}

void FLSDFramePipeline::SetError(const FString& Message)
{
	FScopeLock Lock(&ErrorLock);
	if (LastError != Message)
	{
		UE_LOG(LogLSDBridge, Warning, TEXT("%s"), *Message);
		LastError = Message;
	}
}
