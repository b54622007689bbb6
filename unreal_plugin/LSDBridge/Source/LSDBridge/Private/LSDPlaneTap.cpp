// LSD Bridge: motion and depth of the source scene capture (see LSDPlaneTap.h).
#include "LSDPlaneTap.h"

#include "SceneView.h"

FLSDPlaneTap::FLSDPlaneTap(const FAutoRegister& AutoRegister, const TSharedPtr<FLSDFramePipeline, ESPMode::ThreadSafe>& InPipeline)
	: FSceneViewExtensionBase(AutoRegister), Pipeline(InPipeline)
{
}

bool FLSDPlaneTap::IsActiveThisFrame_Internal(const FSceneViewExtensionContext& Context) const
{
	return TargetResource.load() != nullptr && Pipeline.IsValid();
}

void FLSDPlaneTap::PostRenderView_RenderThread(FRDGBuilder& GraphBuilder, FSceneView& InView)
{
	const FRenderTarget* Target = TargetResource.load();
	// a scene capture's view family renders into the capture's Texture Target resource
	if (Target == nullptr || !InView.bIsSceneCapture || InView.Family == nullptr || InView.Family->RenderTarget != Target)
	{
		return;
	}
	Pipeline->RenderThread_RecordPlanes(GraphBuilder, InView);
}
