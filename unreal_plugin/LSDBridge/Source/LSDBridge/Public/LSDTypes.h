// LSD Bridge: Blueprint-visible types shared by the component and the function library.
#pragma once

#include "CoreMinimal.h"
#include "LSDTypes.generated.h"

/** Where the frames streamed to the runtime come from. */
UENUM(BlueprintType)
enum class ELSDStreamSource : uint8
{
	/** The render target of SourceCapture (a USceneCaptureComponent2D). Works in the editor. */
	SceneCapture UMETA(DisplayName = "Scene Capture", ToolTip = "Stream the render target of a Scene Capture Component 2D."),
	/** The game window's back buffer (standalone / packaged games; in PIE it is the editor window). */
	Viewport UMETA(DisplayName = "Viewport", ToolTip = "Stream the game viewport's back buffer (standalone or packaged games).")
};

/** How pixels move between the engine and the runtime. */
UENUM(BlueprintType)
enum class ELSDTransport : uint8
{
	/** GPU interop when it is available, else shared memory. */
	Auto UMETA(ToolTip = "CUDA interop when available, otherwise the shared-memory readback path."),
	/** GPU readback into shared memory (works everywhere). */
	SharedMemory UMETA(DisplayName = "Shared Memory", ToolTip = "GPU readback into shared-memory slots; works on every GPU."),
	/** CUDA interop through a shared staging texture (not available yet: falls back to shared memory). */
	CudaInterop UMETA(DisplayName = "CUDA Interop", ToolTip = "D3D12/Vulkan to CUDA through a shared staging texture. Not available yet; falls back to Shared Memory with a log message.")
};

/** The native client's connection state (lsd_conn_state). */
UENUM(BlueprintType)
enum class ELSDConnectionState : uint8
{
	Idle,
	Connecting,
	Connected,
	Ready,
	Closed
};

/** Counters and latency of one stream (lsd_stats). */
USTRUCT(BlueprintType)
struct LSDBRIDGE_API FLSDStats
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Connection state of the native client."))
	ELSDConnectionState State = ELSDConnectionState::Idle;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Frames accepted by submit."))
	int64 FramesSubmitted = 0;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Frames the runtime finished."))
	int64 FramesDone = 0;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Frames the runtime dropped because a newer one arrived (latest frame wins)."))
	int64 FramesDropped = 0;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Frames skipped because every input slot was with the runtime."))
	int64 FramesSkipped = 0;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Frames in flight when the link to the runtime went down."))
	int64 FramesLost = 0;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Restyled frames written to the output render target."))
	int64 FramesTaken = 0;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Sessions opened after the first one."))
	int64 Reconnects = 0;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Frames sent with the capture's motion vectors (bSendMotionAndDepth)."))
	int64 FramesWithMotion = 0;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Frames sent with the capture's depth (bSendMotionAndDepth)."))
	int64 FramesWithDepth = 0;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Median submit-to-result time measured by the client, in ms."))
	float RoundTripP50Ms = 0.f;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "99th percentile submit-to-result time measured by the client, in ms."))
	float RoundTripP99Ms = 0.f;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Median time the runtime's backend took per frame, in ms."))
	float BackendP50Ms = 0.f;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Median total runtime time per frame (queue, input, backend, output), in ms."))
	float RuntimeTotalP50Ms = 0.f;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Transport in use: shm, or why GPU interop is not."))
	FString Transport;

	UPROPERTY(BlueprintReadOnly, Category = "LSD Bridge", meta = (ToolTip = "Last error reported by the native client or the plugin; empty if none."))
	FString LastError;
};
