// LSD Bridge: the engine APIs whose declarations differ between the engine versions the plugin
// supports (5.3 and later), each as one macro derived from the engine version. Code that uses
// such an API branches on these macros only; tests/unit/test_unreal_plugin.py checks that every
// use sits under its guard.
#pragma once

#include "Misc/EngineVersionComparison.h"

// FSlateRenderer::OnBackBufferReadyToPresent: (SWindow&, const FTextureRHIRef& BackBuffer) up to
// 5.7 (5.3/5.4 declare it with FTexture2DRHIRef, the same type since 5.1); from 5.8
// (SWindow&, ISlateViewportProvider&), the back buffer through GetBackBufferResource(), declared in
// Slate/SlateViewportProvider.h.
#define LSD_BACKBUFFER_DELEGATE_HAS_VIEWPORT_PROVIDER (!UE_VERSION_OLDER_THAN(5, 8, 0))
