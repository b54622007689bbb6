// LSD Bridge: stream component (game-thread glue; logic lives in LSDBridgeLogic.h and the native client).
#include "LSDStreamComponent.h"

#include "Components/SceneCaptureComponent2D.h"
#include "CoreGlobals.h"
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
#include "LSDPlaneTap.h"
#include "LSDViewportTap.h"
#include "RenderingThread.h"
#include "TextureResource.h"
#include "UnrealClient.h"
#include "Widgets/SViewport.h"
#include "Widgets/SWindow.h"

struct FLSDGameThreadState
{
	LSDBridgeLogic::FFramePacer Pacer;
	LSDBridgeLogic::FConnectionWatcher Watcher;
	double NextStatsTime = 0.0;
};

struct FLSDAutoStartState
{
	LSDBridgeLogic::FRetrySchedule Retry{0.5, 10.0};
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
		case LSD_STATE_CONNECTING:
			return ELSDConnectionState::Connecting;
		case LSD_STATE_CONNECTED:
			return ELSDConnectionState::Connected;
		case LSD_STATE_READY:
			return ELSDConnectionState::Ready;
		case LSD_STATE_CLOSED:
			return ELSDConnectionState::Closed;
		default:
			return ELSDConnectionState::Idle;
		}
	}

	LSDBridgeLogic::ETransportRequest ToTransportRequest(ELSDTransport Transport)
	{
		switch (Transport)
		{
		case ELSDTransport::SharedMemory:
			return LSDBridgeLogic::ETransportRequest::SharedMemory;
		case ELSDTransport::CudaInterop:
			return LSDBridgeLogic::ETransportRequest::CudaInterop;
		default:
			return LSDBridgeLogic::ETransportRequest::Auto;
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

	/** What the colour rules need to know about a render target (IsSRGB: RTF_RGBA8_SRGB only). */
	LSDBridgeLogic::FTargetColor TargetColorOf(const UTextureRenderTarget2D* Target)
	{
		LSDBridgeLogic::FTargetColor Out;
		Out.bFloat = Target->GetFormat() == PF_FloatRGBA;
		Out.bSrgb = Target->IsSRGB();
		return Out;
	}

	LSDBridgeLogic::ECaptureSource ToCaptureSource(ESceneCaptureSource Source)
	{
		using LSDBridgeLogic::ECaptureSource;
		switch (Source)
		{
		case SCS_SceneColorHDR:
			return ECaptureSource::SceneColorHDR;
		case SCS_SceneColorHDRNoAlpha:
			return ECaptureSource::SceneColorHDRNoAlpha;
		case SCS_FinalColorLDR:
			return ECaptureSource::FinalColorLDR;
		case SCS_SceneColorSceneDepth:
			return ECaptureSource::SceneColorSceneDepth;
		case SCS_SceneDepth:
			return ECaptureSource::SceneDepth;
		case SCS_DeviceDepth:
			return ECaptureSource::DeviceDepth;
		case SCS_Normal:
			return ECaptureSource::Normal;
		case SCS_BaseColor:
			return ECaptureSource::BaseColor;
		case SCS_FinalColorHDR:
			return ECaptureSource::FinalColorHDR;
		case SCS_FinalToneCurveHDR:
			return ECaptureSource::FinalToneCurveHDR;
		default:
			return ECaptureSource::Unknown;
		}
	}

	void LogColorNote(const LSDBridgeLogic::FColorChoice& Choice, const TCHAR* What)
	{
		if (!Choice.Note.empty())
		{
			UE_LOG(LogLSDBridge, Warning, TEXT("%s: %s"), What, UTF8_TO_TCHAR(Choice.Note.c_str()));
		}
	}

	/** The output ring for Target (null: the input's shape), with the colour its sampling needs. */
	bool OutputRingFor(const UTextureRenderTarget2D* Target, const FLSDRingFormat& Input, FLSDRingFormat& Out)
	{
		if (Target == nullptr)
		{
			Out = Input;
			return true;
		}
		if (!RingFromRenderTarget(Target, Out))
		{
			return false;
		}
		const LSDBridgeLogic::FColorChoice Color = LSDBridgeLogic::OutputColor(TargetColorOf(Target));
		LogColorNote(Color, TEXT("output target"));
		Out.Color = Color.Color;
		return true;
	}

	/** An FComponentReference that names nothing (no actor, property, path or component). */
	bool IsEmptyReference(const FComponentReference& Ref)
	{
		return Ref.OtherActor.Get() == nullptr && Ref.ComponentProperty == NAME_None && Ref.PathToComponent.IsEmpty() &&
			   !Ref.OverrideComponent.IsValid();
	}
} // namespace

ULSDStreamComponent::ULSDStreamComponent()
{
	PrimaryComponentTick.bCanEverTick = true;
	PrimaryComponentTick.bStartWithTickEnabled = true;
	PrimaryComponentTick.TickGroup = TG_PostUpdateWork; // after the frame's game logic; the GPU work is enqueued
}

void ULSDStreamComponent::BeginPlay()
{
	Super::BeginPlay();
	if (!bAutoStart)
	{
		return;
	}
	bool bRetryable = false;
	if (!StartStreamInternal(bRetryable) && bRetryable)
	{
		// the source may appear later (spawned, its Texture Target set by a Blueprint): keep trying
		AutoStart = MakeShared<FLSDAutoStartState>();
		const double Now = FPlatformTime::Seconds();
		AutoStart->Retry.Start(Now);
		AutoStart->Retry.ShouldLog(Now); // the failure itself was just logged by Fail()
		UE_LOG(LogLSDBridge, Log, TEXT("auto start: retrying every 0.5 s until the source is ready"));
	}
}

void ULSDStreamComponent::TickAutoStart()
{
	const double Now = FPlatformTime::Seconds();
	if (!AutoStart.IsValid() || Session.IsValid() || !AutoStart->Retry.Due(Now))
	{
		return;
	}
	bool bRetryable = false;
	if (StartStreamInternal(bRetryable))
	{
		UE_LOG(LogLSDBridge, Log, TEXT("auto start: started after %d attempts"), AutoStart->Retry.GetAttempts());
		AutoStart.Reset();
	}
	else if (!bRetryable)
	{
		AutoStart.Reset(); // a setting is wrong, not missing: waiting will not fix it (already logged)
	}
	else if (AutoStart->Retry.ShouldLog(Now))
	{
		UE_LOG(LogLSDBridge, Log, TEXT("auto start: still waiting (%d attempts): %s"), AutoStart->Retry.GetAttempts(),
			   *PluginError);
	}
}

void ULSDStreamComponent::EndPlay(const EEndPlayReason::Type EndPlayReason)
{
	StopStream();
	Super::EndPlay(EndPlayReason);
}

USceneCaptureComponent2D* ULSDStreamComponent::GetSourceCapture() const
{
	AActor* Owner = GetOwner();
	if (USceneCaptureComponent2D* Picked = Cast<USceneCaptureComponent2D>(SourceCapture.GetComponent(Owner)))
	{
		return Picked;
	}
	// nothing picked: the owner's own scene capture (e.g. on a SceneCapture2D actor, whose root is a
	// plain scene component, not the capture)
	return IsEmptyReference(SourceCapture) && Owner != nullptr ? Owner->FindComponentByClass<USceneCaptureComponent2D>()
															   : nullptr;
}

void ULSDStreamComponent::SetSourceCapture(USceneCaptureComponent2D* InSourceCapture)
{
	SourceCapture = FComponentReference();
	SourceCapture.OverrideComponent = InSourceCapture;
}

bool ULSDStreamComponent::ResolveRings(FLSDRingFormat& OutInput, FLSDRingFormat& OutOutput, FString& OutError,
									   bool& bOutRetryable) const
{
	bOutRetryable = false;
	if (Source == ELSDStreamSource::SceneCapture)
	{
		const USceneCaptureComponent2D* Capture = GetSourceCapture();
		if (Capture == nullptr)
		{
			OutError = TEXT("Source Capture does not refer to a Scene Capture Component 2D (pick one in the Details "
							"panel or call SetSourceCapture)");
			bOutRetryable = true;
			return false;
		}
		if (Capture->TextureTarget == nullptr)
		{
			OutError = FString::Printf(TEXT("scene capture '%s' has no Texture Target yet"), *Capture->GetName());
			bOutRetryable = true;
			return false;
		}
		if (!RingFromRenderTarget(Capture->TextureTarget, OutInput))
		{
			OutError = FString::Printf(TEXT("scene capture '%s' needs a Texture Target of %u..%u pixels in RGBA8, "
											"RGBA8_SRGB or RGBA16f"),
									   *Capture->GetName(), LSD_MIN_DIMENSION, LSD_MAX_DIMENSION);
			return false;
		}
		const LSDBridgeLogic::FColorChoice Color =
			LSDBridgeLogic::CaptureColor(ToCaptureSource(Capture->CaptureSource), TargetColorOf(Capture->TextureTarget));
		if (!Color.bOk)
		{
			OutError = FString::Printf(TEXT("scene capture '%s': %s"), *Capture->GetName(), UTF8_TO_TCHAR(Color.Problem.c_str()));
			return false;
		}
		LogColorNote(Color, TEXT("scene capture"));
		OutInput.Color = Color.Color;
	}
	else
	{
		if (GEngine == nullptr || GEngine->GameViewport == nullptr || GEngine->GameViewport->Viewport == nullptr)
		{
			OutError = TEXT("no game viewport to stream yet");
			bOutRetryable = true;
			return false;
		}
		// the back buffer's real size and format are checked on the render thread (re-bind on mismatch)
		const FIntPoint Size = GEngine->GameViewport->Viewport->GetSizeXY();
		OutInput.Width = static_cast<uint32>(Size.X);
		OutInput.Height = static_cast<uint32>(Size.Y);
		OutInput.Format = LSD_FORMAT_BGRA8;
		OutInput.Color = LSDBridgeLogic::ViewportColor().Color;
		if (!OutInput.IsValid())
		{
			OutError = FString::Printf(TEXT("the game viewport is not %u..%u pixels"), LSD_MIN_DIMENSION, LSD_MAX_DIMENSION);
			bOutRetryable = true; // minimised, or not laid out yet
			return false;
		}
	}
	if (!OutputRingFor(OutputTarget, OutInput, OutOutput))
	{
		OutError = FString::Printf(TEXT("OutputTarget must be %u..%u pixels in RGBA8, RGBA8_SRGB or RGBA16f"),
								   LSD_MIN_DIMENSION, LSD_MAX_DIMENSION);
		return false;
	}
	return true;
}

bool ULSDStreamComponent::StartStream()
{
	bool bRetryable = false;
	return StartStreamInternal(bRetryable);
}

bool ULSDStreamComponent::StartStreamInternal(bool& bOutRetryable)
{
	check(IsInGameThread());
	bOutRetryable = false;
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
	if (!ResolveRings(Input, Output, Error, bOutRetryable))
	{
		if (bOutRetryable && AutoStart.IsValid())
		{
			PluginError = Error; // the retry loop logs it now and then, not every half second
		}
		else
		{
			Fail(Error);
		}
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

	// motion and depth beside the input ring: a scene capture's render, over shared memory
	const LSDBridgeLogic::FPlaneChoice Planes =
		LSDBridgeLogic::ChoosePlanes(bSendMotionAndDepth, Source == ELSDStreamSource::SceneCapture, Choice.Transport);
	if (!Planes.Note.empty())
	{
		UE_LOG(LogLSDBridge, Warning, TEXT("%s"), UTF8_TO_TCHAR(Planes.Note.c_str()));
	}

	// rings are remembered by the native client and re-sent after every reconnect; timeout 0
	const lsd_status Status = Session->RequestBind(Input.Width, Input.Height, Input.Format, Input.Color, Output.Width,
												   Output.Height, Output.Format, Output.Color, Choice.Transport,
												   Planes.bPlanes);
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
	ReleasePlaneTap();
	// the old pipeline dies on the render thread, after the commands that captured it
	Pipeline = MakeShared<FLSDFramePipeline, ESPMode::ThreadSafe>(Session, Input, Output, Planes.bPlanes,
																  Choice.bGpuInterop && !Planes.bPlanes);
	if (Planes.bPlanes)
	{
		// registered with the engine for as long as this reference lives; its target is set every tick
		PlaneTap = FSceneViewExtensions::NewExtension<FLSDPlaneTap>(Pipeline);
	}
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

void ULSDStreamComponent::ReleasePlaneTap()
{
	if (PlaneTap.IsValid())
	{
		// stops recording at once; the engine keeps its own reference until this frame's renders finish
		PlaneTap->SetTarget(nullptr);
		PlaneTap.Reset();
	}
}

void ULSDStreamComponent::StopStream()
{
	check(IsInGameThread());
	AutoStart.Reset(); // stopped on purpose (or EndPlay): no more auto-start attempts
	if (ViewportTap.IsValid())
	{
		ViewportTap->Unregister();
		ViewportTap.Reset();
	}
	ReleasePlaneTap();
	const bool bWasOpen = State.IsValid() && State->Watcher.IsOpen();
	if (Session.IsValid() || Pipeline.IsValid())
	{
		// lsd_client_close must run after every render command that uses the session: drop the
		// last references in a render command, which runs after all commands enqueued before it
		ENQUEUE_RENDER_COMMAND(LSDBridgeReleaseStream)
		(
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
	bool bRetryable = false;
	if (!ResolveRings(Input, Output, Error, bRetryable))
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
	bOverrideStrength = true;
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
	Params.Prompt = ToUtf8(Prompt);
	Params.bOverrideStrength = bOverrideStrength;
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

void ULSDStreamComponent::MarkCameraCut()
{
	if (!Pipeline.IsValid())
	{
		return; // nothing streamed yet: nothing to forget
	}
	// matched on the render thread against the game frame each frame's image comes from
	ENQUEUE_RENDER_COMMAND(LSDBridgeCameraCut)
	(
		[StreamPipeline = Pipeline, Frame = GFrameCounter](FRHICommandListImmediate&)
		{
			StreamPipeline->RenderThread_MarkCameraCut(Frame);
		});
}

void ULSDStreamComponent::EnqueueFrameWork(bool bCapture)
{
	FTextureRenderTargetResource* SourceResource = nullptr;
	const USceneCaptureComponent2D* Capture = Source == ELSDStreamSource::SceneCapture ? GetSourceCapture() : nullptr;
	FTextureRenderTargetResource* CaptureResource =
		Capture != nullptr && Capture->TextureTarget != nullptr ? Capture->TextureTarget->GameThread_GetRenderTargetResource() : nullptr;
	if (PlaneTap.IsValid())
	{
		// every render of the capture records its planes, also between capture turns (pacing)
		PlaneTap->SetTarget(CaptureResource);
	}
	const uint64 ImageFrame = LSDBridgeLogic::ImageFrameOf(GFrameCounter, Source == ELSDStreamSource::SceneCapture);
	if (bCapture && CaptureResource != nullptr)
	{
		SourceResource = CaptureResource;
	}
	else if (bCapture && ViewportTap.IsValid() && GEngine != nullptr && GEngine->GameViewport != nullptr)
	{
		// read back when Slate presents the game window: only the part the viewport covers (PIE,
		// letterboxing and UI around the viewport are not part of the game image)
		const TSharedPtr<SViewport> Widget = GEngine->GameViewport->GetGameViewportWidget();
		const TSharedPtr<SWindow> Window = GEngine->GameViewport->GetWindow();
		if (Widget.IsValid() && Window.IsValid())
		{
			const FGeometry& Geometry = Widget->GetPaintSpaceGeometry();
			const FVector2D WidgetPosition = Geometry.GetAbsolutePosition();
			const FVector2D WidgetSize = Geometry.GetAbsoluteSize();
			const FVector2D WindowPosition = Window->GetPositionInScreen();
			ViewportTap->RequestCapture(WidgetPosition.X - WindowPosition.X, WidgetPosition.Y - WindowPosition.Y,
										WidgetSize.X, WidgetSize.Y, ImageFrame);
		}
	}
	FTextureRenderTargetResource* OutputResource = OutputTarget != nullptr ? OutputTarget->GameThread_GetRenderTargetResource() : nullptr;
	ENQUEUE_RENDER_COMMAND(LSDBridgeFrame)
	(
		[StreamPipeline = Pipeline, SourceResource, OutputResource, ImageFrame](FRHICommandListImmediate& RHICmdList)
		{
			if (SourceResource != nullptr)
			{
				StreamPipeline->RenderThread_Capture(RHICmdList, SourceResource->GetRenderTargetTexture(), nullptr, ImageFrame);
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
	TickAutoStart();
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
			if (!OutputRingFor(OutputTarget, Seen, Output))
			{
				Output = Seen; // an unusable output target was reported when the stream started
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
	lsd_transport_info Info;
	if (Session.IsValid() && Session->GetTransport(Info) == LSD_OK)
	{
		// the native client's answer: cuda_ipc granted (frames stay on the GPU), or which transport and why
		Out.Transport = UTF8_TO_TCHAR(LSDBridgeLogic::DescribeTransport(Info, TCHAR_TO_UTF8(*TransportNote)).c_str());
	}
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
	if (Pipeline.IsValid())
	{
		Out.FramesWithMotion = Pipeline->FramesWithMotion();
		Out.FramesWithDepth = Pipeline->FramesWithDepth();
	}
	if (Out.LastError.IsEmpty() && Pipeline.IsValid())
	{
		Out.LastError = Pipeline->GetLastError();
	}
	return Out;
}
