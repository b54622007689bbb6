// LSD Bridge: motion and depth of the source scene capture. A scene view extension (the engine's
// hook into every scene render, scene captures included) that, for the view rendering into the
// source capture's Texture Target only, hands the render to FLSDFramePipeline::RenderThread_RecordPlanes
// after the view is drawn: GPU copies of its velocity and depth go into a plane set that the next
// colour readback of that target (the same render's image) takes.
#pragma once

#include "CoreMinimal.h"
#include "LSDFramePipeline.h"
#include "SceneViewExtension.h"

#include <atomic>

class FRenderTarget;

class FLSDPlaneTap : public FSceneViewExtensionBase
{
public:
	FLSDPlaneTap(const FAutoRegister& AutoRegister, const TSharedPtr<FLSDFramePipeline, ESPMode::ThreadSafe>& InPipeline);

	/** Game thread: the render target the source capture renders into (compared, never dereferenced); null: off. */
	void SetTarget(const FRenderTarget* Target) { TargetResource.store(Target); }

	//~ ISceneViewExtension (the game-thread hooks are not needed; overridden because 5.3 declares some pure)
	virtual void SetupViewFamily(FSceneViewFamily& InViewFamily) override {}
	virtual void SetupView(FSceneViewFamily& InViewFamily, FSceneView& InView) override {}
	virtual void BeginRenderViewFamily(FSceneViewFamily& InViewFamily) override {}
	virtual void PreRenderViewFamily_RenderThread(FRDGBuilder& GraphBuilder, FSceneViewFamily& InViewFamily) override {}
	virtual void PreRenderView_RenderThread(FRDGBuilder& GraphBuilder, FSceneView& InView) override {}
	/** Render thread, after the view is rendered: the source capture's view records its planes. */
	virtual void PostRenderView_RenderThread(FRDGBuilder& GraphBuilder, FSceneView& InView) override;

protected:
	virtual bool IsActiveThisFrame_Internal(const FSceneViewExtensionContext& Context) const override;

private:
	const TSharedPtr<FLSDFramePipeline, ESPMode::ThreadSafe> Pipeline;
	std::atomic<const FRenderTarget*> TargetResource{nullptr};
};
