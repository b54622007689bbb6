// Loads the glue the way Unity does (UnityPluginLoad with an IUnityInterfaces whose
// GetInterfaceSplit hands out an IUnityGraphics), fires device events and render events,
// and checks the statuses. No Unity, no GPU: the renderer reported is kUnityGfxRendererNull.
#include <cstdio>
#include <cstring>

#include "lsd_unity.h"
#include "unity_plugin_api.h"

extern "C" void UNITY_INTERFACE_API UnityPluginLoad(IUnityInterfaces* interfaces);
extern "C" void UNITY_INTERFACE_API UnityPluginUnload(void);

namespace {
IUnityGraphicsDeviceEventCallback g_callback = nullptr;
int g_fail = 0;
#define CHECK(c)                                               \
  do {                                                         \
    if (!(c)) {                                                \
      std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); \
      g_fail++;                                                \
    }                                                          \
  } while (0)

UnityGfxRenderer UNITY_INTERFACE_API get_renderer() { return kUnityGfxRendererNull; }
void UNITY_INTERFACE_API reg(IUnityGraphicsDeviceEventCallback cb) { g_callback = cb; }
void UNITY_INTERFACE_API unreg(IUnityGraphicsDeviceEventCallback cb) {
    if (g_callback == cb) g_callback = nullptr;
}
int UNITY_INTERFACE_API reserve(int) { return 0; }
IUnityGraphics g_graphics = {get_renderer, reg, unreg, reserve};

IUnityInterface* UNITY_INTERFACE_API get_split(unsigned long long hi, unsigned long long lo) {
    return hi == 0x7CBA0A9CA4DDB544ULL && lo == 0x8C5AD4926EB17B11ULL ? &g_graphics : nullptr;
}
IUnityInterface* UNITY_INTERFACE_API get(UnityInterfaceGUID g) { return get_split(g.m_GUIDHigh, g.m_GUIDLow); }
}  // namespace

int main() {
    CHECK(lsd_unity_renderer() == -1);
    IUnityInterfaces interfaces = {get, nullptr, get_split, nullptr};
    UnityPluginLoad(&interfaces);
    CHECK(g_callback != nullptr);
    CHECK(lsd_unity_renderer() == kUnityGfxRendererNull);
    CHECK(lsd_unity_device_events() == 1);
    if (g_callback) g_callback(kUnityGfxDeviceEventAfterReset);
    CHECK(lsd_unity_device_events() == 2);

    auto fn = reinterpret_cast<UnityRenderingEventAndData>(lsd_unity_get_render_event_func());
    CHECK(fn != nullptr);
    lsd_unity_texture_event ev;
    std::memset(&ev, 0, sizeof ev);
    ev.struct_size = sizeof ev;
    int fake_texture = 0;
    ev.native_texture = &fake_texture;
    fn(LSD_UNITY_EVENT_REGISTER_TEXTURE, &ev);
    CHECK(ev.status == LSD_E_UNSUPPORTED);  // null device: no texture access
    CHECK(ev.renderer == kUnityGfxRendererNull);
    CHECK(ev.cuda_status == LSD_E_INVALID_ARGUMENT);  // no client: nothing registered with CUDA
    fn(LSD_UNITY_EVENT_CAPTURE, &ev);
    CHECK(ev.status == LSD_E_UNSUPPORTED);  // not registered with CUDA: the package reads back
    fn(LSD_UNITY_EVENT_PRESENT, &ev);
    CHECK(ev.status == LSD_E_UNSUPPORTED);
    // with a session (no runtime needed to register): the driver is what decides, and it says so
    lsd_client_config cfg;
    lsd_client_config_init(&cfg);
    cfg.endpoint = "tcp://127.0.0.1:9";
    cfg.token = "t";
    lsd_client* client = nullptr;
    CHECK(lsd_client_create(&cfg, &client) == LSD_OK);
    ev.client = client;
    fn(LSD_UNITY_EVENT_REGISTER_TEXTURE, &ev);
    CHECK(ev.cuda_status == LSD_E_UNSUPPORTED);  // LSD_DISABLE_CUDA=1 (ctest): no driver
    CHECK(ev.cuda_texture == nullptr);
    fn(LSD_UNITY_EVENT_CAPTURE, &ev);
    CHECK(ev.status == LSD_E_UNSUPPORTED && ev.frame_id == 0);
    fn(LSD_UNITY_EVENT_UNREGISTER_TEXTURE, &ev);
    CHECK(ev.status == LSD_OK);
    lsd_client_close(client);
    ev.client = nullptr;
    fn(12345, &ev);
    CHECK(ev.status == LSD_E_INVALID_ARGUMENT);
    CHECK(ev.events_handled == 7);
    fn(LSD_UNITY_EVENT_CAPTURE, nullptr);  // ignored, no crash
    lsd_unity_texture_event small = ev;
    small.struct_size = 4;
    small.status = 77;
    fn(LSD_UNITY_EVENT_CAPTURE, &small);  // too small: ignored
    CHECK(small.status == 77);
    CHECK(lsd_unity_gpu_path_status() == LSD_E_UNSUPPORTED);
    CHECK(std::strcmp(lsd_unity_gpu_path_message(),
                      "no usable NVIDIA driver in this process (libcuda not found, or no GPU)") == 0);

    UnityPluginUnload();
    CHECK(g_callback == nullptr);
    CHECK(lsd_unity_renderer() == -1);
    std::printf("unity glue smoke test: %s\n", g_fail ? "FAILED" : "ok");
    return g_fail ? 1 : 0;
}
