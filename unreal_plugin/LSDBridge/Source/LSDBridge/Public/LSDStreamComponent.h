// LSD Bridge: streams a render target (or the viewport) to lsd-runtime and shows the result.
#pragma once

#include "Components/ActorComponent.h"
#include "CoreMinimal.h"
#include "Engine/EngineTypes.h" // FComponentReference
#include "LSDTypes.h"
#include "LSDStreamComponent.generated.h"

class FLSDFramePipeline;
class FLSDNativeSession;
class FLSDPlaneTap;
class FLSDViewportTap;
struct FLSDAutoStartState;
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

	/**
	 * The scene capture whose Texture Target is streamed: pick a Scene Capture Component 2D of this
	 * actor or of another one in the Details panel (resolved in BeginPlay / StartStream), or set it
	 * from code / Blueprints with SetSourceCapture. Left empty: the owner's own scene capture. Recommended: Capture Source "Final Color (LDR) in
	 * RGB" into an RTF_RGBA8_SRGB target (what the player sees); HDR capture sources need RTF_RGBA16f.
	 */
	UPROPERTY(EditAnywhere, Category = "LSD Bridge|Source", meta = (UseComponentPicker, AllowAnyActor, AllowedClasses = "/Script/Engine.SceneCaptureComponent2D", EditCondition = "Source == ELSDStreamSource::SceneCapture", ToolTip = "Scene Capture Component 2D whose Texture Target is streamed (this actor's or another actor's). Recommended: Capture Source 'Final Color (LDR) in RGB' into RTF_RGBA8_SRGB; HDR capture sources need RTF_RGBA16f."))
	FComponentReference SourceCapture;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Output", meta = (ToolTip = "Render target that receives the restyled frames; its size is the output size. Recommended: RTF_RGBA8_SRGB (RTF_RGBA16f works; RTF_RGBA8 is read as linear values and gets linear bytes)."))
	TObjectPtr<UTextureRenderTarget2D> OutputTarget;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Style", meta = (MultiLine = true, ToolTip = "Text prompt (UTF-8; cut at the protocol's prompt limit). For the effects model, words in it pick the style."))
	FString Prompt;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Style", meta = (InlineEditConditionToggle, ToolTip = "Send Strength; off: the model's own strength (effects: fully restyled)."))
	bool bOverrideStrength = false;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Style", meta = (EditCondition = "bOverrideStrength", ClampMin = "0.0", ClampMax = "1.0", UIMin = "0.0", UIMax = "1.0", ToolTip = "How far to move from the input frame: 0 = unchanged, 1 = fully restyled."))
	float Strength = 0.5f;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Style", meta = (ToolTip = "Random seed for models that use one; -1 lets the model choose."))
	int64 Seed = -1;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Style", meta = (ToolTip = "Model name, resolved by the runtime: effects (built in, no weights; the prompt's words pick the look), an effect such as toon, watercolor, sketch, or a diffusion model such as sd-turbo. Empty: the default model, effects."))
	FString Model;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Connection", meta = (ToolTip = "How pixels move: Auto uses CUDA interop when available, else shared memory."))
	ELSDTransport Transport = ELSDTransport::Auto;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Connection", meta = (ToolTip = "Runtime state directory holding runtime.json; empty: $LSD_BRIDGE_HOME or ~/.lsd-bridge."))
	FString StateDirectory;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Connection", meta = (ClampMin = "0.0", ToolTip = "Most frames per second sent to the runtime; 0 = every frame."))
	float MaxCaptureRate = 30.f;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Connection", meta = (ClampMin = "0.1", ToolTip = "Seconds between OnStats events."))
	float StatsInterval = 1.f;

	/**
	 * Send the scene capture's motion vectors and depth with every colour frame (Scene Capture source,
	 * shared memory): the bind declares both planes, motion as RG16F pixels (current minus previous,
	 * +y down) and depth as R32F linear view depth (cm). Takes effect at the next StartStream / re-bind.
	 */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge", meta = (ToolTip = "Send the scene capture's motion vectors and depth beside each colour frame (Scene Capture source, shared memory). Motion: pixels, current minus previous, +y down; depth: linear view depth in cm. Applies at the next StartStream."))
	bool bSendMotionAndDepth = false;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "LSD Bridge|Connection", meta = (ToolTip = "Start streaming in BeginPlay; if the source is not ready yet (scene capture or its Texture Target not set, no viewport), retry every half second until it is."))
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

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "Use this scene capture as the source (takes effect at the next StartStream)."))
	void SetSourceCapture(USceneCaptureComponent2D* InSourceCapture);

	/** The scene capture SourceCapture refers to (null when it does not resolve). */
	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "The Scene Capture Component 2D that Source Capture refers to, or none."))
	USceneCaptureComponent2D* GetSourceCapture() const;

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "Use this render target for the restyled frames (re-binds the output ring while streaming)."))
	bool BindRenderTarget(UTextureRenderTarget2D* InOutputTarget);

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "Change the prompt; applies from the next frame the runtime processes."))
	void SetPrompt(const FString& InPrompt);

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "Change the strength (0..1)."))
	void SetStrength(float InStrength);

	/**
	 * The camera cut this frame (teleport, new shot): the first frame sent whose image was rendered
	 * this frame or later carries LSD_FRAME_RESET, so temporal models forget what came before, and no
	 * motion (there is nothing to move from).
	 */
	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "Call when the camera cuts (teleport, new shot): the next frame rendered from now on is sent as a reset (temporal models forget earlier frames; no motion with it)."))
	void MarkCameraCut();

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "Current counters, latency and connection state."))
	FLSDStats GetStats() const;

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (ToolTip = "True between StartStream and StopStream."))
	bool IsStreaming() const;

	virtual void BeginPlay() override;
	virtual void EndPlay(const EEndPlayReason::Type EndPlayReason) override;
	virtual void TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction) override;

private:
	/** false + OutError when the rings cannot be set up; bOutRetryable: the source is just not there yet. */
	bool ResolveRings(FLSDRingFormat& OutInput, FLSDRingFormat& OutOutput, FString& OutError, bool& bOutRetryable) const;
	bool StartStreamInternal(bool& bOutRetryable);
	void TickAutoStart();
	bool RebuildPipeline(const FLSDRingFormat& Input, const FLSDRingFormat& Output);
	void ReleasePlaneTap();
	void SendStyle();
	void PollConnection();
	void EnqueueFrameWork(bool bCapture);
	void Fail(const FString& Message);

	TSharedPtr<FLSDNativeSession, ESPMode::ThreadSafe> Session;
	TSharedPtr<FLSDFramePipeline, ESPMode::ThreadSafe> Pipeline;
	TSharedPtr<FLSDViewportTap, ESPMode::ThreadSafe> ViewportTap;
	/** With planes: the scene view extension that records the source capture's velocity and depth. */
	TSharedPtr<FLSDPlaneTap, ESPMode::ThreadSafe> PlaneTap;
	/** Pacing and connection edges (pure logic, LSDBridgeLogic.h); a shared pointer so the type can stay private. */
	TSharedPtr<FLSDGameThreadState> State;
	/** bAutoStart retries until the source resolves (pure schedule in LSDBridgeLogic.h). */
	TSharedPtr<FLSDAutoStartState> AutoStart;
	FString TransportNote;
	FString PluginError;
};
