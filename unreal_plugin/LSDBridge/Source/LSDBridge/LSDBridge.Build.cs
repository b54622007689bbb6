// LSD Bridge: module rules. Links the native client (lsd_client.h C ABI) as a third-party library.
using System.IO;
using UnrealBuildTool;

public class LSDBridge : ModuleRules
{
	public LSDBridge(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		// no CppStandard: the engine's default (C++20 from 5.3 on) compiles this module, and
		// CppStandardVersion.Cpp17 is refused from 5.5 on

		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine", "RenderCore", "RHI" });
		// Renderer: the scene-texture access and draw helpers the motion/depth capture uses
		// (CreateSceneTextureUniformBuffer, AddDrawTexturePass; public headers of the Renderer module)
		PrivateDependencyModuleNames.AddRange(new string[] { "Projects", "Renderer", "Slate", "SlateCore" });

		// GPU interop (LSDCudaInterop.h): Vulkan on Linux, exportable staging textures imported into
		// CUDA, frames over cuda_ipc. On Windows it would need the cuda_vmm transport (not in the
		// native client yet): off there, and the stream uses the shm readback path.
		if (Target.Platform == UnrealTargetPlatform.Linux)
		{
			PrivateDefinitions.Add("LSD_WITH_CUDA_INTEROP=1");
			PrivateDependencyModuleNames.Add("VulkanRHI");                     // IVulkanDynamicRHI.h
			AddEngineThirdPartyPrivateStaticDependencies(Target, "Vulkan");    // vulkan.h
		}
		else
		{
			PrivateDefinitions.Add("LSD_WITH_CUDA_INTEROP=0");
		}

		// ThirdParty/LSDNative/include/lsd_bridge/lsd_client.h and lib/<Platform>/ are filled by
		// unreal_plugin/Tools/stage_native.sh; inside the LSD Bridge repository the header is also
		// found where the native client lives.
		string NativeRoot = Path.Combine(ModuleDirectory, "..", "ThirdParty", "LSDNative");
		string NativeInclude = Path.Combine(NativeRoot, "include");
		string RepoInclude = Path.GetFullPath(Path.Combine(PluginDirectory, "..", "..", "shared_protocol", "native", "include"));
		PublicIncludePaths.Add(File.Exists(Path.Combine(NativeInclude, "lsd_bridge", "lsd_client.h")) ? NativeInclude : RepoInclude);

		string BinariesDir = Path.Combine(PluginDirectory, "Binaries", "ThirdParty", "LSDNative");
		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			string LibDir = Path.Combine(NativeRoot, "lib", "Win64");
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "lsd_bridge.lib"));  // import library
			PublicDelayLoadDLLs.Add("lsd_bridge.dll");                              // loaded by FLSDBridgeModule::StartupModule
			// lsd_bridge.dll and its vcpkg dependencies (libzmq-mt-*.dll) are staged next to each other
			if (Directory.Exists(LibDir))
			{
				foreach (string Dll in Directory.GetFiles(LibDir, "*.dll"))
				{
					RuntimeDependencies.Add(Path.Combine(BinariesDir, "Win64", Path.GetFileName(Dll)), Dll);
				}
			}
		}
		else if (Target.Platform == UnrealTargetPlatform.Linux)
		{
			// Link the copy staged under Binaries/ so the module's rpath points where the .so ships.
			string StagedDir = Path.Combine(BinariesDir, "Linux");
			string LibDir = Path.Combine(NativeRoot, "lib", "Linux");
			RuntimeDependencies.Add(Path.Combine(StagedDir, "liblsd_bridge.so.0"), Path.Combine(LibDir, "liblsd_bridge.so.0"));
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "liblsd_bridge.so"));
			PublicRuntimeLibraryPaths.Add(StagedDir);
		}
	}
}
