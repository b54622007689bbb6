// LSD Bridge: viewport source. Slate calls OnBackBufferReadyToPresent on the render thread for
// every window it presents; the tap reads back the game viewport's part of the game window's
// back buffer when the game thread asked for a capture (pacing stays on the game thread).
#pragma once

#include "CoreMinimal.h"
#include "HAL/CriticalSection.h"
#include "LSDBridgeLogic.h"
#include "LSDEngineVersion.h"
#include "LSDFramePipeline.h"
#include "RHIResources.h"

#include <atomic>

class FSlateRenderer;
class ISlateViewportProvider;
class SWindow;

class FLSDViewportTap : public TSharedFromThis<FLSDViewportTap, ESPMode::ThreadSafe>
{
public:
	FLSDViewportTap(const TSharedPtr<FLSDFramePipeline, ESPMode::ThreadSafe>& InPipeline, const SWindow* InGameWindow)
		: Pipeline(InPipeline), GameWindow(InGameWindow)
	{
	}

	/**
	 * Game thread: starts receiving back buffers; false when there is no Slate renderer (e.g.
	 * -nullrhi). The delegate is added on the render thread, where the renderer broadcasts it (the
	 * delegate is not thread-safe before 5.8).
	 */
	bool Register();

	/**
	 * Game thread: stops receiving back buffers. The delegate is removed on the render thread and
	 * this waits for that command, so no callback runs after Unregister returns (the pipeline it
	 * uses may be released right after). Called from StopStream / EndPlay, never per frame.
	 */
	void Unregister();

	/**
	 * Game thread: capture the next presented back buffer of the game window, the part showing the
	 * viewport at (X, Y, Width, Height) in window pixels (from the viewport widget's geometry).
	 * Frame: the game frame that back buffer shows (camera cuts are matched against it).
	 */
	void RequestCapture(double X, double Y, double Width, double Height, uint64 Frame = 0);

private:
	/** Render thread (Slate renderer callback); the back buffer comes from the engine's delegate. */
#if LSD_BACKBUFFER_DELEGATE_HAS_VIEWPORT_PROVIDER
	void OnBackBufferReady(SWindow& Window, ISlateViewportProvider& ViewportProvider);
#else
	void OnBackBufferReady(SWindow& Window, const FTextureRHIRef& BackBuffer);
#endif
	void CaptureBackBuffer(SWindow& Window, FRHITexture* BackBuffer);

	const TSharedPtr<FLSDFramePipeline, ESPMode::ThreadSafe> Pipeline;
	const SWindow* const GameWindow;	// compared, never dereferenced
	FSlateRenderer* Renderer = nullptr; // game thread: set in Register; outlives every stream
	FDelegateHandle Handle;				// render thread only
	std::atomic<bool> bCaptureRequested{false};
	FCriticalSection RectLock;
	double RectX = 0.0, RectY = 0.0, RectWidth = 0.0, RectHeight = 0.0; // under RectLock
	uint64 RequestFrame = 0;											// under RectLock
};
