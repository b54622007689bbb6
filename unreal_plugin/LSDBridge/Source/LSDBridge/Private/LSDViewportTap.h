// LSD Bridge: viewport source. Slate calls OnBackBufferReadyToPresent on the render thread for
// every window it presents; the tap reads back the game window's back buffer when the game
// thread asked for a capture (pacing stays on the game thread).
#pragma once

#include "CoreMinimal.h"
#include "LSDFramePipeline.h"
#include "RHIResources.h"

#include <atomic>

class SWindow;

class FLSDViewportTap : public TSharedFromThis<FLSDViewportTap, ESPMode::ThreadSafe>
{
public:
	FLSDViewportTap(const TSharedPtr<FLSDFramePipeline, ESPMode::ThreadSafe>& InPipeline, const SWindow* InGameWindow)
		: Pipeline(InPipeline)
		, GameWindow(InGameWindow)
	{
	}

	/** Game thread: registers with the Slate renderer; false when there is none (e.g. -nullrhi). */
	bool Register();

	/** Game thread: stops receiving back buffers. */
	void Unregister();

	/** Game thread: capture the next presented back buffer of the game window. */
	void RequestCapture() { bCaptureRequested.store(true); }

private:
	/** Render thread (Slate renderer callback). */
	void OnBackBufferReady(SWindow& Window, const FTextureRHIRef& BackBuffer);

	const TSharedPtr<FLSDFramePipeline, ESPMode::ThreadSafe> Pipeline;
	const SWindow* const GameWindow; // compared, never dereferenced
	std::atomic<bool> bCaptureRequested{false};
	FDelegateHandle Handle;
};
