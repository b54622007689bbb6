// LSD Bridge: streams a render target (or the viewport) to lsd-runtime and shows the result.
#pragma once

#include "Components/ActorComponent.h"
#include "CoreMinimal.h"
#include "LSDTypes.h"
#include "LSDStreamComponent.generated.h"

class FLSDFramePipeline;
class FLSDNativeSession;
class FLSDViewportTap;
struct FLSDGameThreadState;
struct FLSDRingFormat;
class USceneCaptureComponent2D;
class UTextureRenderTarget2D;

DECLARE_DYNAMIC_MULTICAST_DELEGATE(FLSDOnConnected);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FLSDOnDisconnected, const FString&, Reason);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FLSDOnStats, const FLSDStats&, Stats);

/**
 * Streams frames to the local lsd-runtime and writes the restyled frames into OutputTarget.
 * The game thread never waits: connection and I/O run on the native client's own thread, pixel
 * copies run on the render thread (GPU readback -> shared memory, newest result -> texture upload).
 */
UCLASS(ClassGroup = (Rendering), meta = (BlueprintSpawnableComponent, DisplayName = "LSD Stream"))
class LSDBRIDGE_API ULSDStreamComponent : public UActorComponent
{
	GENERATED_BODY()

public:
	ULSDStreamComponent();

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Source", meta = (ToolTip = "Where frames come from: a Scene Capture Component 2D's render target, or the game viewport."))
	ELSDStreamSource Source = ELSDStreamSource::SceneCapture;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Source", meta = (UseComponentPicker, EditCondition = "Source == ELSDStreamSource::SceneCapture", ToolTip = "Scene capture whose Texture Target (RGBA8 or RGBA16f) is streamed."))
	TObjectPtr<USceneCaptureComponent2D> SourceCapture;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Output", meta = (ToolTip = "Render target that receives the restyled frames (RGBA8 or RGBA16f). Its size is the output size."))
	TObjectPtr<UTextureRenderTarget2D> OutputTarget;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Style", meta = (MultiLine = true, ToolTip = "Text prompt (UTF-8, at most 2048 bytes). For the effects model, words in it pick the style."))
	FString Prompt;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Style", meta = (ToolTip = "Optional style name of the model (e.g. toon, sketch, identity); empty: chosen from the prompt."))
	FString Style;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Style", meta = (ClampMin = "0.0", ClampMax = "1.0", UIMin = "0.0", UIMax = "1.0", ToolTip = "How far to move from the input frame: 0 = unchanged, 1 = fully restyled."))
	float Strength = 0.5f;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Style", meta = (ToolTip = "Random seed for models that use one; -1 lets the model choose."))
	int64 Seed = -1;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Style", meta = (ToolTip = "Runtime backend: effects (built in, no weights) or diffusion."))
	FString Model = TEXT("effects");

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Connection", meta = (ToolTip = "How pixels move: Auto uses CUDA interop when available, else shared memory."))
	ELSDTransport Transport = ELSDTransport::Auto;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Connection", meta = (ToolTip = "Runtime state directory holding runtime.json; empty: $LSD_BRIDGE_HOME or ~/.lsd-bridge."))
	FString StateDirectory;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Connection", meta = (ClampMin = "0.0", ToolTip = "Most frames per second sent to the runtime; 0 = every frame."))
	float MaxCaptureRate = 30.f;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Connection", meta = (ClampMin = "0.1", ToolTip = "Seconds between OnStats events."))
	float StatsInterval = 1.f;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Connection", meta = (ToolTip = "Start streaming in BeginPlay."))
	bool bAutoStart = false;

	UPROPERTY(BlueprintAssignable, Category = "LSD Bridge|Events", meta = (ToolTip = "A session with the runtime opened (also after a reconnect)."))
	FLSDOnConnected OnConnected;

	UPROPERTY(BlueprintAssignable, Category = "LSD Bridge|Events", meta = (ToolTip = "The session with the runtime ended (runtime gone, restarting, or stream stopped)."))
	FLSDOnDisconnected OnDisconnected;

	UPROPERTY(BlueprintAssignable, Category = "LSD Bridge|Events", meta = (ToolTip = "Stream statistics, every StatsInterval seconds while streaming."))
	FLSDOnStats OnStats;

	/** Starts streaming; false (with the reason in GetStats().LastError) if it cannot start. */
	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "Start streaming to the runtime. Returns at once; OnConnected fires when the session opens."))
	bool StartStream();

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "Stop streaming and close the session."))
	void StopStream();

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "Use this render target for the restyled frames (re-binds the output ring while streaming)."))
	bool BindRenderTarget(UTextureRenderTarget2D* InOutputTarget);

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "Change the prompt; applies from the next frame the runtime processes."))
	void SetPrompt(const FString& InPrompt);

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "Change the strength (0..1)."))
	void SetStrength(float InStrength);

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "Current counters, latency and connection state."))
	FLSDStats GetStats() const;

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "True between StartStream and StopStream."))
	bool IsStreaming() const;

	virtual void BeginPlay() override;
	virtual void EndPlay(const EEndPlayReason::Type EndPlayReason) override;
	virtual void TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction) override;

private:
	bool ResolveRings(FLSDRingFormat& OutInput, FLSDRingFormat& OutOutput, FString& OutError) const;
	bool RebuildPipeline(const FLSDRingFormat& Input, const FLSDRingFormat& Output);
	void SendStyle();
	void PollConnection();
	void EnqueueFrameWork(bool bCapture);
	void Fail(const FString& Message);

	TSharedPtr<FLSDNativeSession, ESPMode::ThreadSafe> Session;
	TSharedPtr<FLSDFramePipeline, ESPMode::ThreadSafe> Pipeline;
	TSharedPtr<FLSDViewportTap, ESPMode::ThreadSafe> ViewportTap;
	/** Pacing and connection edges (pure logic, LSDBridgeLogic.h); a shared pointer so the type can stay private. */
	TSharedPtr<FLSDGameThreadState> State;
	FString TransportNote;
	FString PluginError;
};
