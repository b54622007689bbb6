// LSD Bridge: viewport source (see LSDViewportTap.h).
#include "LSDViewportTap.h"

#include "Framework/Application/SlateApplication.h"
#include "RHICommandList.h"
#include "Rendering/SlateRenderer.h"

bool FLSDViewportTap::Register()
{
	check(IsInGameThread());
	if (!FSlateApplication::IsInitialized() || FSlateApplication::Get().GetRenderer() == nullptr)
	{
		return false;
	}
	Handle = FSlateApplication::Get().GetRenderer()->OnBackBufferReadyToPresent().AddSP(
		AsShared(), &FLSDViewportTap::OnBackBufferReady);
	return Handle.IsValid();
}

void FLSDViewportTap::Unregister()
{
	check(IsInGameThread());
	if (Handle.IsValid() && FSlateApplication::IsInitialized() && FSlateApplication::Get().GetRenderer() != nullptr)
	{
		FSlateApplication::Get().GetRenderer()->OnBackBufferReadyToPresent().Remove(Handle);
	}
	Handle.Reset();
}

void FLSDViewportTap::OnBackBufferReady(SWindow& Window, const FTextureRHIRef& BackBuffer)
{
	if (&Window != GameWindow || !bCaptureRequested.exchange(false))
	{
		return;
	}
	Pipeline->RenderThread_Capture(FRHICommandListExecutor::GetImmediateCommandList(), BackBuffer.GetReference());
}
