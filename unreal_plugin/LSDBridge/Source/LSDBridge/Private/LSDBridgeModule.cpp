// LSD Bridge: native library loading.
#include "LSDBridgeModule.h"

#include "HAL/PlatformProcess.h"
#include "Interfaces/IPluginManager.h"
#include "LSDBridgeLog.h"
#include "LSDNativeSession.h"
#include "Misc/Paths.h"
#include "Modules/ModuleManager.h"

DEFINE_LOG_CATEGORY(LogLSDBridge);

FString FLSDBridgeModule::GetNativeLibraryPath()
{
	const TSharedPtr<IPlugin> Plugin = IPluginManager::Get().FindPlugin(TEXT("LSDBridge"));
	if (!ensure(Plugin.IsValid()))
	{
		return FString();
	}
	const FString Dir = FPaths::Combine(Plugin->GetBaseDir(), TEXT("Binaries"), TEXT("ThirdParty"), TEXT("LSDNative"));
#if PLATFORM_WINDOWS
	return FPaths::Combine(Dir, TEXT("Win64"), TEXT("lsd_bridge.dll"));
#elif PLATFORM_LINUX
	return FPaths::Combine(Dir, TEXT("Linux"), TEXT("liblsd_bridge.so.0"));
#else
	return FString();
#endif
}

void FLSDBridgeModule::StartupModule()
{
	const FString Path = GetNativeLibraryPath();
	if (Path.IsEmpty() || !FPaths::FileExists(Path))
	{
		LoadError = FString::Printf(TEXT("native library not found at '%s' (run unreal_plugin/Tools/stage_native.sh)"), *Path);
		UE_LOG(LogLSDBridge, Error, TEXT("%s"), *LoadError);
		return;
	}
	// Windows: lsd_bridge.dll is delay-loaded (PublicDelayLoadDLLs), so loading it here by full
	// path before the first lsd_* call is what resolves it. Linux: the module links it with an
	// rpath to the same folder; this keeps a reference for the module's lifetime.
#if PLATFORM_WINDOWS
	// the DLLs lsd_bridge.dll depends on (if any, e.g. a vcpkg libzmq) sit next to it: Windows only
	// searches the application's folders, so add this one while loading
	const FString Dir = FPaths::GetPath(Path);
	FPlatformProcess::PushDllDirectory(*Dir);
	NativeLibraryHandle = FPlatformProcess::GetDllHandle(*Path);
	FPlatformProcess::PopDllDirectory(*Dir);
#else
	NativeLibraryHandle = FPlatformProcess::GetDllHandle(*Path);
#endif
	if (NativeLibraryHandle == nullptr)
	{
		LoadError = FString::Printf(TEXT("could not load '%s' (a dependency missing? the library shipped by "
										 "unreal_plugin/Tools/stage_native.sh needs only the C/C++ runtimes)"),
									*Path);
		UE_LOG(LogLSDBridge, Error, TEXT("%s"), *LoadError);
		return;
	}
	UE_LOG(LogLSDBridge, Log, TEXT("loaded native client %s from %s (CUDA driver: %s)"),
		   UTF8_TO_TCHAR(FLSDNativeSession::LibraryVersion()), *Path,
		   FLSDNativeSession::IsCudaDriverAvailable() ? TEXT("yes") : TEXT("no"));
}

void FLSDBridgeModule::ShutdownModule()
{
	// Streams close their native sessions in EndPlay / OnUnregister, before modules shut down.
	if (NativeLibraryHandle != nullptr)
	{
		FPlatformProcess::FreeDllHandle(NativeLibraryHandle);
		NativeLibraryHandle = nullptr;
	}
}

FLSDBridgeModule* FLSDBridgeModule::GetIfLoaded()
{
	return FModuleManager::GetModulePtr<FLSDBridgeModule>(TEXT("LSDBridge"));
}

IMPLEMENT_MODULE(FLSDBridgeModule, LSDBridge)
