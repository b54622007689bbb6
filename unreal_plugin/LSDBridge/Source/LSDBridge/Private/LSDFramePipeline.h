// LSD Bridge: the render-thread half of a stream (shm path): GPU readback -> lsd_client_submit,
// lsd_client_take -> texture upload. Owned through a thread-safe shared pointer that render
// commands capture; the game thread only flips atomics and reads the last error.
#pragma once

#include "CoreMinimal.h"
#include "LSDBridgeLogic.h"
#include "LSDNativeSession.h"
#include "PixelFormat.h"
#include "Templates/SharedPointer.h"
#include "Templates/UniquePtr.h"

#include <atomic>

class FRHICommandListImmediate;
class FRHIGPUTextureReadback;
class FRHITexture;

/** Size and format of one ring (input or output). */
struct FLSDRingFormat
{
	uint32 Width = 0;
	uint32 Height = 0;
	lsd_format Format = LSD_FORMAT_BGRA8;

	bool IsValid() const { return LSDBridgeLogic::IsValidFrameSize(Width, Height); }
	bool operator==(const FLSDRingFormat& Other) const
	{
		return Width == Other.Width && Height == Other.Height && Format == Other.Format;
	}
	bool operator!=(const FLSDRingFormat& Other) const { return !(*this == Other); }
};

using FLSDNativeSessionPtr = TSharedPtr<FLSDNativeSession, ESPMode::ThreadSafe>;

class FLSDFramePipeline
{
public:
	FLSDFramePipeline(const FLSDNativeSessionPtr& InSession, const FLSDRingFormat& InInput, const FLSDRingFormat& InOutput);
	~FLSDFramePipeline();

	/** Engine format -> wire format; false for formats the runtime cannot take. */
	static bool MapPixelFormat(EPixelFormat Format, lsd_format& Out);

	/** Render thread: submit finished readbacks, then start a readback of Source (skipped when all are busy). */
	void RenderThread_Capture(FRHICommandListImmediate& RHICmdList, FRHITexture* Source);

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

private:
	void SetError(const FString& Message);

	static constexpr int32 NumReadbacks = 3;

	FLSDNativeSessionPtr Session;
	FLSDRingFormat Input;
	FLSDRingFormat Output;

	TUniquePtr<FRHIGPUTextureReadback> Readbacks[NumReadbacks];
	LSDBridgeLogic::TReadbackQueue<NumReadbacks> Queue;
	TArray<uint8> OutputPixels;

	std::atomic<bool> bSourceMismatch{false};
	std::atomic<int64> NumPresented{0};
	mutable FCriticalSection ErrorLock;
	FString LastError;
	FLSDRingFormat SeenSource;
};
