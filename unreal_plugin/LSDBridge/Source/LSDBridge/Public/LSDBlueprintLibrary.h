// LSD Bridge: Blueprint nodes over ULSDStreamComponent.
#pragma once

#include "CoreMinimal.h"
#include "Kismet/BlueprintFunctionLibrary.h"
#include "LSDTypes.h"
#include "LSDBlueprintLibrary.generated.h"

class ULSDStreamComponent;
class UTextureRenderTarget2D;

UCLASS()
class LSDBRIDGE_API ULSDBlueprintLibrary : public UBlueprintFunctionLibrary
{
	GENERATED_BODY()

public:
	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (DisplayName = "Start LSD Stream", ToolTip = "Start streaming frames of this LSD Stream component to the runtime. Returns at once."))
	static bool StartLSDStream(ULSDStreamComponent* Stream);

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (DisplayName = "Stop LSD Stream", ToolTip = "Stop streaming and close the session."))
	static void StopLSDStream(ULSDStreamComponent* Stream);

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (DisplayName = "Bind Render Target", ToolTip = "Write the restyled frames into this render target (RGBA8 or RGBA16f)."))
	static bool BindRenderTarget(ULSDStreamComponent* Stream, UTextureRenderTarget2D* OutputTarget);

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (DisplayName = "Set Prompt", ToolTip = "Change the text prompt; applies from the next frame the runtime processes."))
	static void SetPrompt(ULSDStreamComponent* Stream, const FString& Prompt);

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (DisplayName = "Set Strength", ToolTip = "Change how far frames move from the input (0..1)."))
	static void SetStrength(ULSDStreamComponent* Stream, float Strength);

	UFUNCTION(BlueprintCallable, Category = "LSD Bridge", meta = (DisplayName = "Get LSD Stats", ToolTip = "Connection state, frame counters and latency of the stream."))
	static FLSDStats GetLSDStats(ULSDStreamComponent* Stream);
};
