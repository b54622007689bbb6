// LSD Bridge: module that loads the native client library (lsd_bridge.dll / liblsd_bridge.so).
#pragma once

#include "CoreMinimal.h"
#include "Modules/ModuleInterface.h"

class LSDBRIDGE_API FLSDBridgeModule : public IModuleInterface
{
public:
	virtual void StartupModule() override;
	virtual void ShutdownModule() override;

	/** True when the native library was loaded; no lsd_* function may be called otherwise. */
	bool IsNativeLibraryLoaded() const { return NativeLibraryHandle != nullptr; }

	/** Why the native library is not loaded (empty when it is). */
	const FString& GetLoadError() const { return LoadError; }

	static FLSDBridgeModule* GetIfLoaded();

private:
	static FString GetNativeLibraryPath();

	void* NativeLibraryHandle = nullptr;
	FString LoadError;
};
