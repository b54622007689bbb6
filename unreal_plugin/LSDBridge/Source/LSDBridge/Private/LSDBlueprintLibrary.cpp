// LSD Bridge: Blueprint nodes (thin forwards to the component).
#include "LSDBlueprintLibrary.h"

#include "LSDBridgeLog.h"
#include "LSDStreamComponent.h"

namespace
{
	bool CheckStream(const ULSDStreamComponent* Stream, const TCHAR* Node)
	{
		if (Stream == nullptr)
		{
			UE_LOG(LogLSDBridge, Warning, TEXT("%s: no LSD Stream component given"), Node);
			return false;
		}
		return true;
	}
} // namespace

bool ULSDBlueprintLibrary::StartLSDStream(ULSDStreamComponent* Stream)
{
	return CheckStream(Stream, TEXT("Start LSD Stream")) && Stream->StartStream();
}

void ULSDBlueprintLibrary::StopLSDStream(ULSDStreamComponent* Stream)
{
	if (CheckStream(Stream, TEXT("Stop LSD Stream")))
	{
		Stream->StopStream();
	}
}

bool ULSDBlueprintLibrary::BindRenderTarget(ULSDStreamComponent* Stream, UTextureRenderTarget2D* OutputTarget)
{
	return CheckStream(Stream, TEXT("Bind Render Target")) && Stream->BindRenderTarget(OutputTarget);
}

void ULSDBlueprintLibrary::SetPrompt(ULSDStreamComponent* Stream, const FString& Prompt)
{
	if (CheckStream(Stream, TEXT("Set Prompt")))
	{
		Stream->SetPrompt(Prompt);
	}
}

void ULSDBlueprintLibrary::SetStrength(ULSDStreamComponent* Stream, float Strength)
{
	if (CheckStream(Stream, TEXT("Set Strength")))
	{
		Stream->SetStrength(Strength);
	}
}

FLSDStats ULSDBlueprintLibrary::GetLSDStats(ULSDStreamComponent* Stream)
{
	return CheckStream(Stream, TEXT("Get LSD Stats")) ? Stream->GetStats() : FLSDStats();
}
