// Compile-only: the header-only Vulkan and Direct3D 12 helpers against the real API headers,
// wherever they can be had (Debian's Vulkan headers on Linux; mingw-w64's d3d12.h, and Vulkan's
// Win32 declarations when present, in the Windows cross build). Nothing runs.
#if defined(LSD_CHECK_VULKAN)
#  if defined(_WIN32)
#    define VK_USE_PLATFORM_WIN32_KHR 1
#  endif
#  include <vulkan/vulkan.h>

#  include <cstring>

#  include "lsd_bridge/lsd_vulkan.h"
#endif
#if defined(LSD_CHECK_D3D12)
#  include <d3d12.h>

#  include "lsd_bridge/lsd_d3d12.h"
#endif

// take the helpers' addresses so they are compiled and their signatures fixed
#if defined(LSD_CHECK_VULKAN)
[[maybe_unused]] static auto* const kVulkanImport = &lsd_gpu_texture_import_vulkan;
#endif
#if defined(LSD_CHECK_D3D12)
[[maybe_unused]] static auto* const kD3D12Import = &lsd_gpu_texture_import_d3d12;
#endif
