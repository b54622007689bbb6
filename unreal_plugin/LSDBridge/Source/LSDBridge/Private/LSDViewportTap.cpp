// LSD Bridge: viewport source (see LSDViewportTap.h).
#include "LSDViewportTap.h"

#include "Framework/Application/SlateApplication.h"
#include "Misc/ScopeLock.h"
#include "RHICommandList.h"
#include "RenderCommandFence.h"
#include "RenderingThread.h"
#include "Rendering/SlateRenderer.h"
#if LSD_BACKBUFFER_DELEGATE_HAS_VIEWPORT_PROVIDER
#include "Slate/SlateViewportProvider.h"
#endif

bool FLSDViewportTap::Register()
{
	check(IsInGameThread());
	if (!FSlateApplication::IsInitialized() || FSlateApplication::Get().GetRenderer() == nullptr)
	{
		return false;
	}
	Renderer = FSlateApplication::Get().GetRenderer();
	ENQUEUE_RENDER_COMMAND(LSDBridgeAddBackBufferTap)
	(
		[Tap = AsShared(), SlateRenderer = Renderer](FRHICommandListImmediate&)
		{
			Tap->Handle = SlateRenderer->OnBackBufferReadyToPresent().AddSP(Tap, &FLSDViewportTap::OnBackBufferReady);
		});
	return true;
}

void FLSDViewportTap::Unregister()
{
	check(IsInGameThread());
	if (Renderer == nullptr)
	{
		return;
	}
	bCaptureRequested.store(false);
	// at engine exit the Slate renderer may be gone already: then there is no delegate left to remove
	const bool bRendererAlive = FSlateApplication::IsInitialized() && FSlateApplication::Get().GetRenderer() == Renderer;
	ENQUEUE_RENDER_COMMAND(LSDBridgeRemoveBackBufferTap)
	(
		[Tap = AsShared(), SlateRenderer = Renderer, bRendererAlive](FRHICommandListImmediate&)
		{
			if (bRendererAlive && Tap->Handle.IsValid())
			{
				SlateRenderer->OnBackBufferReadyToPresent().Remove(Tap->Handle);
			}
			Tap->Handle.Reset();
		});
	Renderer = nullptr;
	FRenderCommandFence Fence;
	Fence.BeginFence();
	Fence.Wait(); // the removal above has run: no callback after this returns
}

void FLSDViewportTap::RequestCapture(double X, double Y, double Width, double Height, uint64 Frame)
{
	{
		FScopeLock Lock(&RectLock);
		RectX = X;
		RectY = Y;
		RectWidth = Width;
		RectHeight = Height;
		RequestFrame = Frame;
	}
	bCaptureRequested.store(true);
}

#if LSD_BACKBUFFER_DELEGATE_HAS_VIEWPORT_PROVIDER
void FLSDViewportTap::OnBackBufferReady(SWindow& Window, ISlateViewportProvider& ViewportProvider)
{
	CaptureBackBuffer(Window, ViewportProvider.GetBackBufferResource());
}
#else
void FLSDViewportTap::OnBackBufferReady(SWindow& Window, const FTextureRHIRef& BackBuffer)
{
	CaptureBackBuffer(Window, BackBuffer.GetReference());
}
#endif

void FLSDViewportTap::CaptureBackBuffer(SWindow& Window, FRHITexture* BackBuffer)
{
	check(IsInRenderingThread());
	if (&Window != GameWindow || BackBuffer == nullptr || !bCaptureRequested.exchange(false))
	{
		return;
	}
	double X, Y, Width, Height;
	uint64 Frame;
	{
		FScopeLock Lock(&RectLock);
		X = RectX;
		Y = RectY;
		Width = RectWidth;
		Height = RectHeight;
		Frame = RequestFrame;
	}
	const FIntPoint Extent = BackBuffer->GetDesc().Extent;
	const LSDBridgeLogic::FPixelRect Crop = LSDBridgeLogic::ViewportRectInBackBuffer(
		X, Y, Width, Height, static_cast<uint32>(Extent.X), static_cast<uint32>(Extent.Y));
	if (Crop.IsEmpty())
	{
		return; // the viewport is not on the back buffer (minimised, zero-sized)
	}
	Pipeline->RenderThread_Capture(FRHICommandListExecutor::GetImmediateCommandList(), BackBuffer, &Crop, Frame);
}
