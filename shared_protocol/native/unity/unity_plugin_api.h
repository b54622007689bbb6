/*
 * The few declarations of Unity's native plugin interface that the LSD Bridge glue uses,
 * written from Unity's published PluginAPI headers (IUnityInterface.h, IUnityGraphics.h;
 * see https://docs.unity3d.com/Manual/NativePluginInterface.html and
 * https://docs.unity3d.com/Manual/LowLevelNativePluginInterface.html). No Unity file is
 * copied here. Build with -DLSD_UNITY_PLUGIN_API_DIR=<Unity>/Editor/Data/PluginAPI
 * (CMake: -DLSD_UNITY_PLUGIN_API_DIR=...) to use the user's real headers instead; that
 * also enables the parts that need more of the API (Vulkan texture access).
 */
#ifndef LSD_BRIDGE_UNITY_PLUGIN_API_H
#define LSD_BRIDGE_UNITY_PLUGIN_API_H

#if defined(LSD_USE_UNITY_HEADERS)
#  include "IUnityInterface.h"
#  include "IUnityGraphics.h"
#else

#  if defined(_WIN32) || defined(__CYGWIN__)
#    define UNITY_INTERFACE_API __stdcall
#    define UNITY_INTERFACE_EXPORT __declspec(dllexport)
#  else
#    define UNITY_INTERFACE_API
#    define UNITY_INTERFACE_EXPORT __attribute__((visibility("default")))
#  endif

/* 128-bit interface id, split in two 64-bit halves as in IUnityInterface.h */
struct UnityInterfaceGUID {
    unsigned long long m_GUIDHigh;
    unsigned long long m_GUIDLow;
};

typedef void IUnityInterface;

typedef struct IUnityInterfaces {
    IUnityInterface*(UNITY_INTERFACE_API* GetInterface)(UnityInterfaceGUID guid);
    void(UNITY_INTERFACE_API* RegisterInterface)(UnityInterfaceGUID guid, IUnityInterface* ptr);
    IUnityInterface*(UNITY_INTERFACE_API* GetInterfaceSplit)(unsigned long long guidHigh, unsigned long long guidLow);
    void(UNITY_INTERFACE_API* RegisterInterfaceSplit)(unsigned long long guidHigh, unsigned long long guidLow,
                                                      IUnityInterface* ptr);
} IUnityInterfaces;

typedef enum UnityGfxRenderer {
    kUnityGfxRendererD3D11 = 2,
    kUnityGfxRendererNull = 4,
    kUnityGfxRendererOpenGLES30 = 11,
    kUnityGfxRendererPS4 = 13,
    kUnityGfxRendererXboxOne = 14,
    kUnityGfxRendererMetal = 16,
    kUnityGfxRendererOpenGLCore = 17,
    kUnityGfxRendererD3D12 = 18,
    kUnityGfxRendererVulkan = 21,
    kUnityGfxRendererNvn = 22,
    kUnityGfxRendererXboxOneD3D12 = 23
} UnityGfxRenderer;

typedef enum UnityGfxDeviceEventType {
    kUnityGfxDeviceEventInitialize = 0,
    kUnityGfxDeviceEventShutdown = 1,
    kUnityGfxDeviceEventBeforeReset = 2,
    kUnityGfxDeviceEventAfterReset = 3
} UnityGfxDeviceEventType;

typedef void(UNITY_INTERFACE_API* IUnityGraphicsDeviceEventCallback)(UnityGfxDeviceEventType eventType);

/* IUnityGraphics, GUID 0x7CBA0A9CA4DDB544 / 0x8C5AD4926EB17B11 */
typedef struct IUnityGraphics {
    UnityGfxRenderer(UNITY_INTERFACE_API* GetRenderer)(void);
    void(UNITY_INTERFACE_API* RegisterDeviceEventCallback)(IUnityGraphicsDeviceEventCallback callback);
    void(UNITY_INTERFACE_API* UnregisterDeviceEventCallback)(IUnityGraphicsDeviceEventCallback callback);
    int(UNITY_INTERFACE_API* ReserveEventIDRange)(int count);
} IUnityGraphics;

#  define LSD_UNITY_GRAPHICS_GUID_HIGH 0x7CBA0A9CA4DDB544ULL
#  define LSD_UNITY_GRAPHICS_GUID_LOW 0x8C5AD4926EB17B11ULL

typedef void(UNITY_INTERFACE_API* UnityRenderingEvent)(int eventId);
typedef void(UNITY_INTERFACE_API* UnityRenderingEventAndData)(int eventId, void* data);

#endif /* LSD_USE_UNITY_HEADERS */
#endif
