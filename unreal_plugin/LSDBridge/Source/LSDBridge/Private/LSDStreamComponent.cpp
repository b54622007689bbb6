// LSD Bridge: stream component (game-thread glue; logic lives in LSDBridgeLogic.h and the native client).
#include "LSDStreamComponent.h"

#include "Components/SceneCaptureComponent2D.h"
#include "Engine/Engine.h"
#include "Engine/GameViewportClient.h"
#include "Engine/TextureRenderTarget2D.h"
#include "HAL/PlatformTime.h"
#include "LSDBridgeLog.h"
#include "LSDBridgeLogic.h"
#include "LSDBridgeModule.h"
#include "LSDCudaInterop.h"
#include "LSDFramePipeline.h"
#include "LSDNativeSession.h"
#include "LSDViewportTap.h"
#include "RenderingThread.h"
#include "TextureResource.h"
#include "UnrealClient.h"
#include "Widgets/SWindow.h"

struct FLSDGameThreadState
{
	LSDBridgeLogic::FFramePacer Pacer;
	LSDBridgeLogic::FConnectionWatcher Watcher;
	double NextStatsTime = 0.0;
};

namespace
{
	std::string ToUtf8(const FString& Text)
	{
		const FTCHARToUTF8 Converter(*Text);
		return std::string(Converter.Get(), Converter.Length());
	}

	ELSDConnectionState ToBlueprintState(lsd_conn_state State)
	{
		switch (State)
		{
		case LSD_STATE_CONNECTING: return ELSDConnectionState::Connecting;
		case LSD_STATE_CONNECTED: return ELSDConnectionState::Connected;
		case LSD_STATE_READY: return ELSDConnectionState::Ready;
		case LSD_STATE_CLOSED: return ELSDConnectionState::Closed;
		default: return ELSDConnectionState::Idle;
		}
	}

	LSDBridgeLogic::ETransportRequest ToTransportRequest(ELSDTransport Transport)
	{
		switch (Transport)
		{
		case ELSDTransport::SharedMemory: return LSDBridgeLogic::ETransportRequest::SharedMemory;
		case ELSDTransport::CudaInterop: return LSDBridgeLogic::ETransportRequest::CudaInterop;
		default: return LSDBridgeLogic::ETransportRequest::Auto;
		}
	}

	bool RingFromRenderTarget(const UTextureRenderTarget2D* Target, FLSDRingFormat& Out)
	{
		if (Target == nullptr)
		{
			return false;
		}
		Out.Width = static_cast<uint32>(Target->SizeX);
		Out.Height = static_cast<uint32>(Target->SizeY);
		return FLSDFramePipeline::MapPixelFormat(Target->GetFormat(), Out.Format) && Out.IsValid();
	}
}

ULSDStreamComponent::ULSDStreamComponent()
{
	PrimaryComponentTick.bCanEverTick = true;
	PrimaryComponentTick.bStartWithTickEnabled = true;
	PrimaryComponentTick.TickGroup = TG_PostUpdateWork; // after the frame's game logic; the GPU work is enqueued
}

void ULSDStreamComponent::BeginPlay()
{
	Super::BeginPlay();
	if (bAutoStart)
	{
		StartStream();
	}
}

void ULSDStreamComponent::EndPlay(const EEndPlayReason::Type EndPlayReason)
{
	StopStream();
	Super::EndPlay(EndPlayReason);
}

bool ULSDStreamComponent::ResolveRings(FLSDRingFormat& OutInput, FLSDRingFormat& OutOutput, FString& OutError) const
{
	if (Source == ELSDStreamSource::SceneCapture)
	{
		if (SourceCapture == nullptr || !RingFromRenderTarget(SourceCapture->TextureTarget, OutInput))
		{
			OutError = TEXT("SourceCapture needs a Texture Target of 8..8192 pixels in RGBA8 or RGBA16f");
			return false;
		}
	}
	else
	{
		if (GEngine == nullptr || GEngine->GameViewport == nullptr || GEngine->GameViewport->Viewport == nullptr)
		{
			OutError = TEXT("no game viewport to stream");
			return false;
		}
		// the back buffer's real size and format are checked on the render thread (re-bind on mismatch)
		const FIntPoint Size = GEngine->GameViewport->Viewport->GetSizeXY();
		OutInput.Width = static_cast<uint32>(Size.X);
		OutInput.Height = static_cast<uint32>(Size.Y);
		OutInput.Format = LSD_FORMAT_BGRA8;
		if (!OutInput.IsValid())
		{
			OutError = TEXT("the game viewport is not 8..8192 pixels");
			return false;
		}
	}
	if (OutputTarget == nullptr)
	{
		OutOutput = OutInput;
		return true;
	}
	if (!RingFromRenderTarget(OutputTarget, OutOutput))
	{
		OutError = TEXT("OutputTarget must be 8..8192 pixels in RGBA8 or RGBA16f");
		return false;
	}
	return true;
}

bool ULSDStreamComponent::StartStream()
{
	check(IsInGameThread());
	if (Session.IsValid())
	{
		return true;
	}
	const FLSDBridgeModule* Module = FLSDBridgeModule::GetIfLoaded();
	if (Module == nullptr || !Module->IsNativeLibraryLoaded())
	{
		Fail(Module != nullptr ? Module->GetLoadError() : FString(TEXT("LSDBridge module not loaded")));
		return false;
	}
	FLSDRingFormat Input;
	FLSDRingFormat Output;
	FString Error;
	if (!ResolveRings(Input, Output, Error))
	{
		Fail(Error);
		return false;
	}

	FLSDNativeSession::FConfig Config;
	Config.StateDir = ToUtf8(StateDirectory);
	Config.ClientName = "unreal/0.1.0";
	std::string CreateError;
	std::unique_ptr<FLSDNativeSession> Created = FLSDNativeSession::Create(Config, CreateError);
	if (!Created)
	{
		Fail(UTF8_TO_TCHAR(CreateError.c_str()));
		return false;
	}
	Session = TSharedPtr<FLSDNativeSession, ESPMode::ThreadSafe>(Created.release());
	State = MakeShared<FLSDGameThreadState>();
	State->Pacer.SetMaxRate(MaxCaptureRate);
	PluginError.Reset();

	Session->StartConnect(); // timeout 0: the native I/O thread connects (and reconnects) in the background
	if (!RebuildPipeline(Input, Output))
	{
		StopStream();
		return false;
	}
	SendStyle();
	UE_LOG(LogLSDBridge, Log, TEXT("stream started: %ux%u in, %ux%u out, %s"), Input.Width, Input.Height,
		Output.Width, Output.Height, *TransportNote);
	return true;
}

bool ULSDStreamComponent::RebuildPipeline(const FLSDRingFormat& Input, const FLSDRingFormat& Output)
{
	check(Session.IsValid());
	FString InteropReason;
	const bool bInterop = FLSDCudaInterop::IsAvailable(InteropReason);
	const LSDBridgeLogic::FTransportChoice Choice =
		LSDBridgeLogic::ChooseTransport(ToTransportRequest(Transport), bInterop, PLATFORM_WINDOWS != 0);
	TransportNote = FString::Printf(TEXT("%s: %s"), UTF8_TO_TCHAR(Choice.Reason), *InteropReason);
	if (Transport == ELSDTransport::CudaInterop && !Choice.bGpuInterop)
	{
		UE_LOG(LogLSDBridge, Warning, TEXT("%s"), *TransportNote);
	}

	// rings are remembered by the native client and re-sent after every reconnect; timeout 0
	const lsd_status Status = Session->RequestBind(Input.Width, Input.Height, Input.Format, Output.Width,
		Output.Height, Output.Format, Choice.Transport);
	if (!LSDBridgeLogic::IsExpectedStatus(Status))
	{
		Fail(UTF8_TO_TCHAR(FLSDNativeSession::DescribeFailure("lsd_client_bind", Status).c_str()));
		return false;
	}

	if (ViewportTap.IsValid())
	{
		ViewportTap->Unregister();
		ViewportTap.Reset();
	}
	// the old pipeline dies on the render thread, after the commands that captured it
	Pipeline = MakeShared<FLSDFramePipeline, ESPMode::ThreadSafe>(Session, Input, Output);
	if (Source == ELSDStreamSource::Viewport)
	{
		const TSharedPtr<SWindow> Window = GEngine && GEngine->GameViewport ? GEngine->GameViewport->GetWindow() : nullptr;
		ViewportTap = MakeShared<FLSDViewportTap, ESPMode::ThreadSafe>(Pipeline, Window.Get());
		if (!ViewportTap->Register())
		{
			Fail(TEXT("no Slate renderer: the viewport source needs a game window"));
			ViewportTap.Reset();
			return false;
		}
	}
	return true;
}

void ULSDStreamComponent::StopStream()
{
	check(IsInGameThread());
	if (ViewportTap.IsValid())
	{
		ViewportTap->Unregister();
		ViewportTap.Reset();
	}
	const bool bWasOpen = State.IsValid() && State->Watcher.IsOpen();
	if (Session.IsValid() || Pipeline.IsValid())
	{
		// lsd_client_close must run after every render command that uses the session: drop the
		// last references in a render command, which runs after all commands enqueued before it
		ENQUEUE_RENDER_COMMAND(LSDBridgeReleaseStream)(
			[PipelineToRelease = MoveTemp(Pipeline), SessionToRelease = MoveTemp(Session)](FRHICommandListImmediate&) mutable
			{
				PipelineToRelease.Reset();
				SessionToRelease.Reset();
			});
	}
	Pipeline.Reset();
	Session.Reset();
	State.Reset();
	if (bWasOpen)
	{
		OnDisconnected.Broadcast(TEXT("stream stopped"));
	}
}

bool ULSDStreamComponent::BindRenderTarget(UTextureRenderTarget2D* InOutputTarget)
{
	OutputTarget = InOutputTarget;
	if (!Session.IsValid())
	{
		return InOutputTarget != nullptr;
	}
	FLSDRingFormat Input;
	FLSDRingFormat Output;
	FString Error;
	if (!ResolveRings(Input, Output, Error))
	{
		Fail(Error);
		return false;
	}
	if (Pipeline.IsValid() && Pipeline->GetInput() == Input && Pipeline->GetOutput() == Output)
	{
		return true; // same rings: the next take simply lands in the new target
	}
	return RebuildPipeline(Input, Output);
}

void ULSDStreamComponent::SetPrompt(const FString& InPrompt)
{
	Prompt = InPrompt;
	SendStyle();
}

void ULSDStreamComponent::SetStrength(float InStrength)
{
	Strength = static_cast<float>(LSDBridgeLogic::ClampStrength(InStrength));
	SendStyle();
}

void ULSDStreamComponent::SendStyle()
{
	if (!Session.IsValid())
	{
		return; // sent by StartStream
	}
	LSDBridgeLogic::FStyleParams Params;
	Params.Model = ToUtf8(Model);
	Params.Style = ToUtf8(Style);
	Params.Prompt = ToUtf8(Prompt);
	Params.Strength = Strength;
	Params.Seed = Seed;
	// remembered by the native client and re-sent after reconnects; timeout 0
	const lsd_status Status = Session->RequestStyle(Params);
	if (!LSDBridgeLogic::IsExpectedStatus(Status))
	{
		Fail(UTF8_TO_TCHAR(FLSDNativeSession::DescribeFailure("lsd_client_set_style", Status).c_str()));
	}
}

bool ULSDStreamComponent::IsStreaming() const
{
	return Session.IsValid();
}

void ULSDStreamComponent::Fail(const FString& Message)
{
	PluginError = Message;
	UE_LOG(LogLSDBridge, Warning, TEXT("%s"), *Message);
}

void ULSDStreamComponent::PollConnection()
{
	using EEdge = LSDBridgeLogic::FConnectionWatcher::EEdge;
	const EEdge Edge = State->Watcher.Update(Session->GetState()); // no wait
	if (Edge == EEdge::Connected)
	{
		OnConnected.Broadcast();
	}
	else if (Edge == EEdge::Disconnected)
	{
		OnDisconnected.Broadcast(TEXT("runtime unreachable; reconnecting in the background"));
	}
}

void ULSDStreamComponent::EnqueueFrameWork(bool bCapture)
{
	FTextureRenderTargetResource* SourceResource = nullptr;
	if (bCapture && Source == ELSDStreamSource::SceneCapture && SourceCapture != nullptr && SourceCapture->TextureTarget != nullptr)
	{
		SourceResource = SourceCapture->TextureTarget->GameThread_GetRenderTargetResource();
	}
	else if (bCapture && ViewportTap.IsValid())
	{
		ViewportTap->RequestCapture(); // read back when Slate presents the game window
	}
	FTextureRenderTargetResource* OutputResource = OutputTarget != nullptr ? OutputTarget->GameThread_GetRenderTargetResource() : nullptr;
	ENQUEUE_RENDER_COMMAND(LSDBridgeFrame)(
		[StreamPipeline = Pipeline, SourceResource, OutputResource](FRHICommandListImmediate& RHICmdList)
		{
			if (SourceResource != nullptr)
			{
				StreamPipeline->RenderThread_Capture(RHICmdList, SourceResource->GetRenderTargetTexture());
			}
			else
			{
				StreamPipeline->RenderThread_SubmitReady();
			}
			if (OutputResource != nullptr)
			{
				StreamPipeline->RenderThread_Present(RHICmdList, OutputResource->GetRenderTargetTexture());
			}
		});
}

void ULSDStreamComponent::TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction)
{
	Super::TickComponent(DeltaTime, TickType, ThisTickFunction);
	if (!Session.IsValid() || !Pipeline.IsValid())
	{
		return;
	}
	PollConnection();
	if (Pipeline->SourceMismatch())
	{
		const FLSDRingFormat Seen = Pipeline->GetSeenSource();
		if (Seen.IsValid())
		{
			FLSDRingFormat Output;
			if (OutputTarget == nullptr || !RingFromRenderTarget(OutputTarget, Output))
			{
				Output = Seen;
			}
			UE_LOG(LogLSDBridge, Log, TEXT("source is now %ux%u: re-binding"), Seen.Width, Seen.Height);
			RebuildPipeline(Seen, Output);
		}
	}
	const double Now = FPlatformTime::Seconds();
	EnqueueFrameWork(State->Pacer.ShouldCapture(Now));
	if (Now >= State->NextStatsTime)
	{
		State->NextStatsTime = Now + FMath::Max(0.1f, StatsInterval);
		OnStats.Broadcast(GetStats());
	}
}

FLSDStats ULSDStreamComponent::GetStats() const
{
	FLSDStats Out;
	Out.Transport = TransportNote;
	Out.LastError = PluginError;
	if (!Session.IsValid())
	{
		return Out;
	}
	lsd_stats Native;
	if (Session->GetStats(Native) == LSD_OK) // no wait: counters kept by the native client
	{
		Out.State = ToBlueprintState(Native.state);
		Out.FramesSubmitted = static_cast<int64>(Native.frames_submitted);
		Out.FramesDone = static_cast<int64>(Native.frames_done);
		Out.FramesDropped = static_cast<int64>(Native.frames_dropped);
		Out.FramesSkipped = static_cast<int64>(Native.frames_skipped);
		Out.FramesLost = static_cast<int64>(Native.frames_lost);
		Out.FramesTaken = static_cast<int64>(Native.frames_taken);
		Out.Reconnects = static_cast<int64>(Native.reconnects);
		Out.RoundTripP50Ms = static_cast<float>(Native.round_trip.p50_ms);
		Out.RoundTripP99Ms = static_cast<float>(Native.round_trip.p99_ms);
		Out.BackendP50Ms = static_cast<float>(Native.backend.p50_ms);
		Out.RuntimeTotalP50Ms = static_cast<float>(Native.total.p50_ms);
	}
	if (Out.LastError.IsEmpty() && Pipeline.IsValid())
	{
		Out.LastError = Pipeline->GetLastError();
	}
	return Out;
}
