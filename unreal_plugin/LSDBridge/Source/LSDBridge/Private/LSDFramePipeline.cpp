// LSD Bridge: render-thread readback / upload (shm transport).
#include "LSDFramePipeline.h"

#include "LSDBridgeLog.h"
#include "Misc/ScopeLock.h"
#include "RHICommandList.h"
#include "RHIGPUReadback.h"
#include "RHIResources.h"
#include "RenderingThread.h"

FLSDFramePipeline::FLSDFramePipeline(const FLSDNativeSessionPtr& InSession, const FLSDRingFormat& InInput,
	const FLSDRingFormat& InOutput)
	: Session(InSession)
	, Input(InInput)
	, Output(InOutput)
{
	check(Session.IsValid());
	OutputPixels.SetNumUninitialized(static_cast<int64>(LSDBridgeLogic::FrameBytes(Output.Width, Output.Height, Output.Format)));
}

FLSDFramePipeline::~FLSDFramePipeline() = default;

bool FLSDFramePipeline::MapPixelFormat(EPixelFormat Format, lsd_format& Out)
{
	LSDBridgeLogic::ESourceFormat Source = LSDBridgeLogic::ESourceFormat::Unsupported;
	switch (Format)
	{
	case PF_B8G8R8A8: Source = LSDBridgeLogic::ESourceFormat::B8G8R8A8; break;
	case PF_R8G8B8A8: Source = LSDBridgeLogic::ESourceFormat::R8G8B8A8; break;
	case PF_FloatRGBA: Source = LSDBridgeLogic::ESourceFormat::FloatRGBA; break;
	default: break;
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
			Queue.PopOldest(); // a newer frame is ready too: latest frame wins
			continue;
		}
		int32 RowPitchInPixels = 0;
		int32 BufferHeight = 0;
		const void* Pixels = Readbacks[Oldest]->Lock(RowPitchInPixels, &BufferHeight);
		const uint32 PitchBytes = LSDBridgeLogic::RowPitchBytes(RowPitchInPixels, Input.Width, Input.Format);
		if (Pixels != nullptr && PitchBytes != 0 && BufferHeight >= static_cast<int32>(Input.Height))
		{
			// copies into a free shm slot and queues the frame; never waits (time 0: the library's clock)
			const lsd_status Status = Session->Submit(Pixels, Input.Width, Input.Height, PitchBytes, Input.Format, 0.0, nullptr);
			if (!LSDBridgeLogic::IsExpectedStatus(Status))
			{
				SetError(UTF8_TO_TCHAR(FLSDNativeSession::DescribeFailure("lsd_client_submit", Status).c_str()));
			}
		}
		Readbacks[Oldest]->Unlock();
		Queue.PopOldest();
	}
}

void FLSDFramePipeline::RenderThread_Capture(FRHICommandListImmediate& RHICmdList, FRHITexture* Source)
{
	check(IsInRenderingThread());
	RenderThread_SubmitReady();
	if (Source == nullptr)
	{
		return;
	}
	const FRHITextureDesc& Desc = Source->GetDesc();
	FLSDRingFormat Actual;
	Actual.Width = static_cast<uint32>(Desc.Extent.X);
	Actual.Height = static_cast<uint32>(Desc.Extent.Y);
	const bool bFormatOk = MapPixelFormat(Desc.Format, Actual.Format);
	if (!bFormatOk || Actual != Input)
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
	const int32 Index = Queue.Acquire();
	if (Index < 0)
	{
		return; // every readback still in flight: skip this frame
	}
	if (!Readbacks[Index].IsValid())
	{
		Readbacks[Index] = MakeUnique<FRHIGPUTextureReadback>(TEXT("LSDBridgeReadback"));
	}
	RHICmdList.Transition(FRHITransitionInfo(Source, ERHIAccess::Unknown, ERHIAccess::CopySrc));
	Readbacks[Index]->EnqueueCopy(RHICmdList, Source);
	RHICmdList.Transition(FRHITransitionInfo(Source, ERHIAccess::CopySrc, ERHIAccess::SRVMask));
}

void FLSDFramePipeline::RenderThread_Present(FRHICommandListImmediate& RHICmdList, FRHITexture* Target)
{
	check(IsInRenderingThread());
	if (Target == nullptr || OutputPixels.Num() == 0)
	{
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
	if (!MapPixelFormat(Desc.Format, TargetFormat) || TargetFormat != Frame.format
		|| Desc.Extent.X != static_cast<int32>(Frame.width) || Desc.Extent.Y != static_cast<int32>(Frame.height))
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

void FLSDFramePipeline::SetError(const FString& Message)
{
	FScopeLock Lock(&ErrorLock);
	if (LastError != Message)
	{
		UE_LOG(LogLSDBridge, Warning, TEXT("%s"), *Message);
		LastError = Message;
	}
}
