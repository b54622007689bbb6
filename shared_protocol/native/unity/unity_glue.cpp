// Unity native-plugin entry points for liblsd_bridge: UnityPluginLoad/Unload, graphics
// device events, the render-thread event callback and per-API texture lookups.
// The GPU path: textures registered with CUDA on REGISTER, copied to and from the session's
// slots on CAPTURE / PRESENT (lsd_client_submit_texture / take_texture); where the glue cannot
// (no driver, an API it does not wire) the events say why and the package reads back instead.
#include "lsd_unity.h"
#include "unity_plugin_api.h"

#include <atomic>
#include <cstring>

#if defined(_WIN32)
#  if defined(__has_include)
#    if __has_include(<d3d11.h>)
#      include <d3d11.h>
#      define LSD_UNITY_HAVE_D3D11 1
#    endif
#    if __has_include(<d3d12.h>)
#      include <d3d12.h>
#      define LSD_UNITY_HAVE_D3D12 1
#    endif
#  endif
#  if defined(LSD_REQUIRE_D3D_GLUE) && !(defined(LSD_UNITY_HAVE_D3D11) && defined(LSD_UNITY_HAVE_D3D12))
#    error "d3d11.h or d3d12.h not found: the D3D11/D3D12 texture glue would not be compiled"
#  endif
#  include <windows.h>
#else
#  include <dlfcn.h>
#endif

namespace {

std::atomic<IUnityInterfaces*> g_interfaces{nullptr};
std::atomic<IUnityGraphics*> g_graphics{nullptr};
std::atomic<int> g_renderer{-1};
std::atomic<uint64_t> g_device_events{0};

// whether the render-thread GPU path can run on the current device, and why not
lsd_status gpu_path(int renderer, const char** why) {
    if (!lsd_cuda_available()) {
        *why = "no usable NVIDIA driver in this process (libcuda not found, or no GPU)";
        return LSD_E_UNSUPPORTED;
    }
    switch (renderer) {
        case kUnityGfxRendererOpenGLCore:
#if defined(_WIN32)
            *why = "OpenGL Core on Windows is not wired (Unity on Windows runs Direct3D 11 by default)";
            return LSD_E_UNSUPPORTED;
#else
            *why = "";
            return LSD_OK;
#endif
        case kUnityGfxRendererD3D11:
#if defined(LSD_UNITY_HAVE_D3D11)
            *why = "";
            return LSD_OK;
#else
            *why = "Direct3D 11 is not compiled into this build";
            return LSD_E_UNSUPPORTED;
#endif
        case kUnityGfxRendererD3D12:
        case kUnityGfxRendererVulkan:
            *why =
                "Direct3D 12 and Vulkan textures need Unity's IUnityGraphicsD3D12/Vulkan interfaces to share "
                "their memory with CUDA: not wired in the Unity glue yet";
            return LSD_E_UNSUPPORTED;
        default: *why = "the GPU path needs OpenGL Core or Direct3D 11 on an NVIDIA GPU"; return LSD_E_UNSUPPORTED;
    }
}

void UNITY_INTERFACE_API on_device_event(UnityGfxDeviceEventType type) {
    g_device_events.fetch_add(1);
    IUnityGraphics* g = g_graphics.load();
    switch (type) {
        case kUnityGfxDeviceEventInitialize:
        case kUnityGfxDeviceEventAfterReset:
            g_renderer.store(g && g->GetRenderer ? static_cast<int>(g->GetRenderer()) : -1);
            break;
        case kUnityGfxDeviceEventShutdown: g_renderer.store(static_cast<int>(kUnityGfxRendererNull)); break;
        case kUnityGfxDeviceEventBeforeReset: break;
    }
}

// ---- per-API texture lookups (render thread) --------------------------------------------

#if !defined(_WIN32)
using gl_get_tex_level_parameteriv = void (*)(unsigned target, int level, unsigned pname, int* params);
using gl_get_texture_level_parameteriv = void (*)(unsigned texture, int level, unsigned pname, int* params);
using gl_bind_texture = void (*)(unsigned target, unsigned texture);
using gl_get_integerv = void (*)(unsigned pname, int* params);
#endif

// GL enums (from the Khronos registry; not taken from a GL header so no GL dev package is needed)
constexpr unsigned kGlTexture2D = 0x0DE1;
constexpr unsigned kGlTextureBinding2D = 0x8069;
constexpr unsigned kGlTextureWidth = 0x1000;
constexpr unsigned kGlTextureHeight = 0x1001;
constexpr unsigned kGlTextureInternalFormat = 0x1003;

void* gl_proc(const char* name) {
#if defined(_WIN32)
    using wgl_get_proc = PROC(WINAPI*)(LPCSTR);
    HMODULE gl = ::GetModuleHandleA("opengl32.dll");
    if (!gl) return nullptr;
    auto wgl = reinterpret_cast<wgl_get_proc>(reinterpret_cast<void*>(::GetProcAddress(gl, "wglGetProcAddress")));
    void* p = wgl ? reinterpret_cast<void*>(wgl(name)) : nullptr;
    if (!p) p = reinterpret_cast<void*>(::GetProcAddress(gl, name));
    return p;
#else
    return ::dlsym(RTLD_DEFAULT, name);  // Unity has libGL loaded when the GL device is current
#endif
}

// OpenGL Core: the native pointer is the GLuint texture name.
lsd_status describe_gl(lsd_unity_texture_event& ev) {
    unsigned name = static_cast<unsigned>(reinterpret_cast<uintptr_t>(ev.native_texture));
    if (!name) return LSD_E_INVALID_ARGUMENT;
#if !defined(_WIN32)
    auto dsa = reinterpret_cast<gl_get_texture_level_parameteriv>(gl_proc("glGetTextureLevelParameteriv"));
    int w = 0, h = 0, f = 0;
    if (dsa) {  // GL 4.5 direct state access: no binding changes
        dsa(name, 0, kGlTextureWidth, &w);
        dsa(name, 0, kGlTextureHeight, &h);
        dsa(name, 0, kGlTextureInternalFormat, &f);
    } else {
        auto bind = reinterpret_cast<gl_bind_texture>(gl_proc("glBindTexture"));
        auto query = reinterpret_cast<gl_get_tex_level_parameteriv>(gl_proc("glGetTexLevelParameteriv"));
        auto get = reinterpret_cast<gl_get_integerv>(gl_proc("glGetIntegerv"));
        if (!bind || !query || !get) return LSD_E_UNSUPPORTED;
        int previous = 0;
        get(kGlTextureBinding2D, &previous);
        bind(kGlTexture2D, name);
        query(kGlTexture2D, 0, kGlTextureWidth, &w);
        query(kGlTexture2D, 0, kGlTextureHeight, &h);
        query(kGlTexture2D, 0, kGlTextureInternalFormat, &f);
        bind(kGlTexture2D, static_cast<unsigned>(previous));
    }
    ev.width = static_cast<uint32_t>(w > 0 ? w : 0);
    ev.height = static_cast<uint32_t>(h > 0 ? h : 0);
    ev.native_format = static_cast<uint32_t>(f > 0 ? f : 0);
    return LSD_OK;
#else
    (void)kGlTexture2D;
    (void)kGlTextureBinding2D;
    (void)kGlTextureWidth;
    (void)kGlTextureHeight;
    (void)kGlTextureInternalFormat;
    (void)gl_proc;
    return LSD_E_UNSUPPORTED;  // Windows GL: not wired (Unity on Windows defaults to D3D11/12)
#endif
}

lsd_status describe_texture(lsd_unity_texture_event& ev, int renderer) {
    if (!ev.native_texture) return LSD_E_INVALID_ARGUMENT;
    switch (renderer) {
#if defined(LSD_UNITY_HAVE_D3D11)
        case kUnityGfxRendererD3D11: {
            auto* res = static_cast<ID3D11Resource*>(ev.native_texture);
            ID3D11Texture2D* tex = nullptr;
            if (FAILED(res->QueryInterface(__uuidof(ID3D11Texture2D), reinterpret_cast<void**>(&tex))) || !tex)
                return LSD_E_INVALID_ARGUMENT;
            D3D11_TEXTURE2D_DESC d;
            tex->GetDesc(&d);
            tex->Release();
            ev.width = d.Width;
            ev.height = d.Height;
            ev.native_format = static_cast<uint32_t>(d.Format);
            return LSD_OK;
        }
#endif
#if defined(LSD_UNITY_HAVE_D3D12)
        case kUnityGfxRendererD3D12: {
            auto* res = static_cast<ID3D12Resource*>(ev.native_texture);
            D3D12_RESOURCE_DESC d = res->GetDesc();
            ev.width = static_cast<uint32_t>(d.Width);
            ev.height = d.Height;
            ev.native_format = static_cast<uint32_t>(d.Format);
            return LSD_OK;
        }
#endif
        case kUnityGfxRendererOpenGLCore: return describe_gl(ev);
        case kUnityGfxRendererVulkan:
            // The pointer is a VkImage*; its size/format come from IUnityGraphicsVulkan::AccessTexture,
            // which needs Unity's IUnityGraphicsVulkan.h (not declared here). Later issue.
            return LSD_E_UNSUPPORTED;
        default: return LSD_E_UNSUPPORTED;
    }
}

// REGISTER with a client: the texture registered with CUDA once (render thread, device current)
lsd_status register_with_cuda(lsd_unity_texture_event& ev, int renderer) {
    const char* why = "";
    lsd_status st = gpu_path(renderer, &why);
    if (st != LSD_OK) return st;
    if (ev.cuda_texture) return LSD_OK;  // registered already
    if (renderer == kUnityGfxRendererOpenGLCore) {
        constexpr uint32_t kGlTexture2DTarget = 0x0DE1;  // GL_TEXTURE_2D: Unity's RenderTextures
        auto name = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(ev.native_texture));
        return lsd_gpu_texture_register_gl(ev.client, name, kGlTexture2DTarget, ev.write, &ev.cuda_texture);
    }
    return lsd_gpu_texture_register_d3d11(ev.client, ev.native_texture, ev.write, &ev.cuda_texture);
}

lsd_cuda_frame frame_of(const lsd_unity_texture_event& ev) {
    lsd_cuda_frame f;
    std::memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.width = ev.width;
    f.height = ev.height;
    f.format = ev.format;
    f.time = ev.time;
    f.flags = ev.flags;
    return f;  // stream NULL: the binding's own
}

void UNITY_INTERFACE_API on_render_event(int event_id, void* data) {
    auto* ev = static_cast<lsd_unity_texture_event*>(data);
    if (!ev || ev->struct_size < sizeof(lsd_unity_texture_event)) return;  // never trust foreign data
    int renderer = g_renderer.load();
    ev->renderer = renderer;
    ev->events_handled++;
    switch (event_id) {
        case LSD_UNITY_EVENT_REGISTER_TEXTURE:
            ev->status = describe_texture(*ev, renderer);
            ev->cuda_status = ev->client ? register_with_cuda(*ev, renderer) : LSD_E_INVALID_ARGUMENT;
            break;
        case LSD_UNITY_EVENT_CAPTURE: {
            if (!ev->client || !ev->cuda_texture) {
                ev->status = LSD_E_UNSUPPORTED;  // not registered with CUDA: the readback path
                break;
            }
            lsd_cuda_frame f = frame_of(*ev);
            uint64_t id = 0;
            ev->status = lsd_client_submit_texture(ev->client, ev->cuda_texture, &f, &id);
            ev->frame_id = ev->status == LSD_OK ? id : 0;
            break;
        }
        case LSD_UNITY_EVENT_PRESENT: {
            if (!ev->client || !ev->cuda_texture) {
                ev->status = LSD_E_UNSUPPORTED;
                break;
            }
            lsd_cuda_frame f = frame_of(*ev);
            ev->status = lsd_client_take_texture(ev->client, ev->cuda_texture, &f, 0);  // LSD_NO_FRAME: none new
            ev->frame_id = ev->status == LSD_OK ? f.frame_id : 0;
            break;
        }
        case LSD_UNITY_EVENT_UNREGISTER_TEXTURE:
            if (ev->cuda_texture) lsd_gpu_texture_release(ev->cuda_texture);
            ev->cuda_texture = nullptr;
            ev->status = LSD_OK;
            break;
        default: ev->status = LSD_E_INVALID_ARGUMENT; break;
    }
}

}  // namespace

extern "C" {

UNITY_INTERFACE_EXPORT void UNITY_INTERFACE_API UnityPluginLoad(IUnityInterfaces* interfaces) {
    g_interfaces.store(interfaces);
    IUnityGraphics* graphics = nullptr;
    if (interfaces) {
#if defined(LSD_USE_UNITY_HEADERS)
        graphics = interfaces->Get<IUnityGraphics>();
#else
        if (interfaces->GetInterfaceSplit)
            graphics = static_cast<IUnityGraphics*>(
                interfaces->GetInterfaceSplit(LSD_UNITY_GRAPHICS_GUID_HIGH, LSD_UNITY_GRAPHICS_GUID_LOW));
        else if (interfaces->GetInterface)
            graphics = static_cast<IUnityGraphics*>(interfaces->GetInterface(
                UnityInterfaceGUID{LSD_UNITY_GRAPHICS_GUID_HIGH, LSD_UNITY_GRAPHICS_GUID_LOW}));
#endif
    }
    g_graphics.store(graphics);
    if (graphics && graphics->RegisterDeviceEventCallback) graphics->RegisterDeviceEventCallback(on_device_event);
    // the device may already exist when the plugin is loaded: run the initialize step ourselves
    on_device_event(kUnityGfxDeviceEventInitialize);
}

UNITY_INTERFACE_EXPORT void UNITY_INTERFACE_API UnityPluginUnload(void) {
    IUnityGraphics* graphics = g_graphics.exchange(nullptr);
    if (graphics && graphics->UnregisterDeviceEventCallback) graphics->UnregisterDeviceEventCallback(on_device_event);
    g_interfaces.store(nullptr);
    g_renderer.store(-1);
}

LSD_API void* lsd_unity_get_render_event_func(void) {
    UnityRenderingEventAndData f = on_render_event;
    return reinterpret_cast<void*>(f);
}

LSD_API int32_t lsd_unity_renderer(void) { return g_renderer.load(); }

LSD_API uint64_t lsd_unity_device_events(void) { return g_device_events.load(); }

LSD_API lsd_status lsd_unity_gpu_path_status(void) {
    const char* why = "";
    return gpu_path(g_renderer.load(), &why);
}

LSD_API const char* lsd_unity_gpu_path_message(void) {
    const char* why = "";
    gpu_path(g_renderer.load(), &why);
    return why;
}

}  // extern "C"
