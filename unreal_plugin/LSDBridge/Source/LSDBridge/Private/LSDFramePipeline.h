// LSD Bridge: the render-thread half of a stream. shm path: GPU readback -> lsd_client_submit,
// lsd_client_take -> texture upload; GPU interop path (cuda_ipc granted): the frames go GPU to GPU
// through FLSDCudaInterop's staging textures. Owned through a thread-safe shared pointer that render
// commands capture; the game thread only flips atomics and reads the last error.
#pragma once

#include "CoreMinimal.h"
#include "LSDBridgeLogic.h"
#include "LSDCudaInterop.h"
#include "LSDNativeSession.h"
#include "PixelFormat.h"
#include "Templates/SharedPointer.h"
#include "Templates/UniquePtr.h"

#include <atomic>

class FRDGBuilder;
class FRHICommandListImmediate;
class FRHIGPUTextureReadback;
class FRHITexture;
class FSceneView;

/** Size, format and colour encoding of one ring (input or output). */
struct FLSDRingFormat
{
	uint32 Width = 0;
	uint32 Height = 0;
	lsd_format Format = LSD_FORMAT_BGRA8;
	lsd_color Color = LSD_COLOR_SRGB; // always set explicitly (LSDBridgeLogic::CaptureColor / OutputColor)

	bool IsValid() const { return LSDBridgeLogic::IsValidFrameSize(Width, Height); }
	/** Same size and format (what a texture can be compared on; the colour comes from settings). */
	bool SameShape(const FLSDRingFormat& Other) const
	{
		return Width == Other.Width && Height == Other.Height && Format == Other.Format;
	}
	bool operator==(const FLSDRingFormat& Other) const { return SameShape(Other) && Color == Other.Color; }
	bool operator!=(const FLSDRingFormat& Other) const { return !(*this == Other); }
};

using FLSDNativeSessionPtr = TSharedPtr<FLSDNativeSession, ESPMode::ThreadSafe>;

/** One scene-capture render's planes: GPU copies of its velocity and depth, and its camera. */
struct FLSDPlaneSet
{
	FLSDPlaneSet();
	~FLSDPlaneSet();

	TUniquePtr<FRHIGPUTextureReadback> Velocity; // the engine's encoded velocity, the view's rectangle
	TUniquePtr<FRHIGPUTextureReadback> Depth;	 // device depth as PF_R32_FLOAT, the view's rectangle
	bool bHasVelocity = false;					 // the render had a velocity buffer (else: camera motion only)
	uint32 VelocityBytesPerPixel = 0;
	uint32 Width = 0;
	uint32 Height = 0;
	bool bCameraCut = false; // the engine's cut flag for the capture's view
	bool bHasClipToPrevClip = false;
	LSDBridgeLogic::FMat4 Projection;
	LSDBridgeLogic::FMat4 ClipToPrevClip;
};

class FLSDFramePipeline
{
public:
	/** bInPlanes: the input ring was bound with the motion and depth planes (scene capture source).
	 *  bInGpuInterop: bound for cuda_ipc; frames go through FLSDCudaInterop while the runtime grants it. */
	FLSDFramePipeline(const FLSDNativeSessionPtr& InSession, const FLSDRingFormat& InInput, const FLSDRingFormat& InOutput,
					  bool bInPlanes = false, bool bInGpuInterop = false);
	~FLSDFramePipeline();

	/** Engine format -> wire format; false for formats the runtime cannot take. */
	static bool MapPixelFormat(EPixelFormat Format, lsd_format& Out);

	/**
	 * Render thread: submit finished readbacks, then start a readback of Source (skipped when all
	 * are busy): all of it, or only Crop (the viewport's part of a back buffer) when given.
	 * ImageFrame: the game frame whose render Source holds (LSDBridgeLogic::ImageFrameOf). With
	 * planes, the readback takes the planes of the render the target holds (if they were recorded).
	 */
	void RenderThread_Capture(FRHICommandListImmediate& RHICmdList, FRHITexture* Source,
							  const LSDBridgeLogic::FPixelRect* Crop = nullptr, uint64 ImageFrame = 0);

	/**
	 * Render thread, inside the scene capture's render (FLSDPlaneTap, after its view is drawn):
	 * enqueue GPU copies of the view's velocity and depth into a plane set and note its camera.
	 */
	void RenderThread_RecordPlanes(FRDGBuilder& GraphBuilder, const FSceneView& View);

	/** Render thread: the first frame sent whose image is from game frame Frame or later resets (LSD_FRAME_RESET). */
	void RenderThread_MarkCameraCut(uint64 Frame);

	/** Any thread: the input ring carries motion and depth. */
	bool SendsPlanes() const { return bPlanes; }

	/** Any thread: frames submitted with motion / with depth (diagnostics). */
	int64 FramesWithMotion() const { return NumWithMotion.load(); }
	int64 FramesWithDepth() const { return NumWithDepth.load(); }

	/** Render thread: submit finished readbacks without starting a new one. */
	void RenderThread_SubmitReady();

	/** Render thread: newest restyled frame (if any) -> Target. */
	void RenderThread_Present(FRHICommandListImmediate& RHICmdList, FRHITexture* Target);

	/** Any thread: the source texture no longer matches the bound input ring (size / format). */
	bool SourceMismatch() const { return bSourceMismatch.load(); }

	/** Any thread: size / format of the last mismatching source (valid after SourceMismatch()). */
	FLSDRingFormat GetSeenSource() const;

	const FLSDRingFormat& GetInput() const { return Input; }
	const FLSDRingFormat& GetOutput() const { return Output; }

	/** Any thread: frames written to the output texture. */
	int64 FramesPresented() const { return NumPresented.load(); }

	/** Any thread: last error (empty when none). */
	FString GetLastError() const;

	/** Any thread: frames went GPU to GPU last time one was captured. */
	bool OnGpuPath() const { return bOnGpuPath.load(); }

private:
	void SetError(const FString& Message);
	void NoteOnce(std::atomic<bool>& bNoted, const TCHAR* Message);
	/** Render thread: converts a claimed plane set for the frame being submitted; false: colour only. */
	bool PreparePlanes(int32 SetIndex, bool bReset, LSDBridgeLogic::FFramePlanes& OutPlanes, bool& bOutMotion);
	void ReleasePlaneSet(int32 SetIndex);

	static constexpr int32 NumReadbacks = 3;
	static constexpr int32 NumPlaneSets = NumReadbacks + 1; // one per colour readback in flight, one waiting

	FLSDNativeSessionPtr Session;
	FLSDRingFormat Input;
	FLSDRingFormat Output;
	const bool bPlanes;

	TUniquePtr<FRHIGPUTextureReadback> Readbacks[NumReadbacks];
	uint64 ReadbackFrames[NumReadbacks] = {};	// the game frame each readback's image is from
	int32 ReadbackPlaneSets[NumReadbacks] = {}; // the plane set each readback claimed, -1: none
	LSDBridgeLogic::TReadbackQueue<NumReadbacks> Queue;
	TArray<uint8> OutputPixels;

	// planes: the sets are recorded inside the capture's render and claimed by the frame commands
	FCriticalSection PlanesLock; // PlaneSlots, CameraHistory and the content of sets not yet claimed
	LSDBridgeLogic::TPlaneSets<NumPlaneSets> PlaneSlots;
	FLSDPlaneSet PlaneSets[NumPlaneSets];
	LSDBridgeLogic::FCameraHistory CameraHistory;
	LSDBridgeLogic::FCameraCutTracker Cuts; // render thread (frame commands) only
	TArray<uint8> MotionPixels;				// converted planes of the frame being submitted
	TArray<uint8> DepthPixels;

	/** Render thread: whether this frame goes the interop way (starting it on first use); false: read back. */
	bool RenderThread_UseInterop(EPixelFormat SourceFormat);

	const bool bGpuInterop;
	FLSDCudaInterop Interop;
	bool bInteropFailed = false; // render thread: it could not start: the readback path from then on
	std::atomic<bool> bOnGpuPath{false};
	std::atomic<bool> bSourceMismatch{false};
	std::atomic<int64> NumPresented{0};
	std::atomic<int64> NumWithMotion{0};
	std::atomic<int64> NumWithDepth{0};
	std::atomic<bool> bNotedNoVelocity{false};
	std::atomic<bool> bNotedPlaneSize{false};
	mutable FCriticalSection ErrorLock;
	FString LastError;
	FLSDRingFormat SeenSource;
};
