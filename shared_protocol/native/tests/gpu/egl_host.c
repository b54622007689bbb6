/* A headless OpenGL host (EGL, no window): renders a moving scene into a texture, sends it
 * through the native client and the runtime (identity style), receives the result into a second
 * texture and checks it pixel for pixel, frame after frame, as an engine plugin would.
 *
 *   egl_host --state-dir D [--frames N] [--width W] [--height H] [--path gpu|host]
 *
 * --path gpu (the GPU machine): both textures are registered with CUDA once
 *   (lsd_gpu_texture_register_gl) and each frame is lsd_client_submit_texture /
 *   lsd_client_take_texture over cuda_ipc: the pixels never leave the GPU.
 * --path host (anywhere, Mesa's software GL in CI): glReadPixels -> lsd_client_submit over shm,
 *   lsd_client_take -> glTexSubImage2D; the same scene, checks and output.
 * Prints one JSON line: frames, exact, the GL renderer, the transport and round trip p50/p99.
 * GL rows start at the bottom: the rings are declared bottom_up. */
#define EGL_EGLEXT_PROTOTYPES
#include <EGL/egl.h>
#include <EGL/eglext.h>
#define GL_GLEXT_PROTOTYPES
#include <GL/gl.h>
#include <GL/glext.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsd_bridge/lsd_client.h"
#include "lsd_clock.h"

static void fail(const char* what, const char* detail) {
    printf("{\"error\": \"%s: %s\"}\n", what, detail ? detail : "");
    exit(2);
}

/* a surfaceless context on the first EGL device (NVIDIA or Mesa), else the default display */
static void make_context(void) {
    EGLDisplay dpy = EGL_NO_DISPLAY;
    PFNEGLQUERYDEVICESEXTPROC query = (PFNEGLQUERYDEVICESEXTPROC)eglGetProcAddress("eglQueryDevicesEXT");
    PFNEGLGETPLATFORMDISPLAYEXTPROC platform =
        (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
    EGLDeviceEXT devices[8];
    EGLint count = 0;
    if (query && platform && query(8, devices, &count) && count > 0)
        dpy = platform(EGL_PLATFORM_DEVICE_EXT, devices[0], NULL);
    if (dpy == EGL_NO_DISPLAY) dpy = eglGetDisplay(EGL_DEFAULT_DISPLAY);
    EGLint major = 0, minor = 0;
    if (dpy == EGL_NO_DISPLAY || !eglInitialize(dpy, &major, &minor)) fail("eglInitialize", "no EGL display");
    static const EGLint config_attrs[] = {EGL_SURFACE_TYPE,
                                          EGL_PBUFFER_BIT,
                                          EGL_RENDERABLE_TYPE,
                                          EGL_OPENGL_BIT,
                                          EGL_RED_SIZE,
                                          8,
                                          EGL_GREEN_SIZE,
                                          8,
                                          EGL_BLUE_SIZE,
                                          8,
                                          EGL_ALPHA_SIZE,
                                          8,
                                          EGL_NONE};
    EGLConfig config;
    EGLint n = 0;
    if (!eglChooseConfig(dpy, config_attrs, &config, 1, &n) || n < 1) fail("eglChooseConfig", "no RGBA8 config");
    if (!eglBindAPI(EGL_OPENGL_API)) fail("eglBindAPI", "no desktop OpenGL");
    EGLContext ctx = eglCreateContext(dpy, config, EGL_NO_CONTEXT, NULL);
    if (ctx == EGL_NO_CONTEXT) fail("eglCreateContext", "failed");
    static const EGLint pbuffer_attrs[] = {EGL_WIDTH, 16, EGL_HEIGHT, 16, EGL_NONE};
    EGLSurface surface = eglCreatePbufferSurface(dpy, config, pbuffer_attrs);
    if (!eglMakeCurrent(dpy, surface, surface, ctx)) fail("eglMakeCurrent", "failed");
}

static GLuint make_texture(unsigned w, unsigned h, GLuint* fbo) {
    GLuint tex = 0;
    glGenTextures(1, &tex);
    glBindTexture(GL_TEXTURE_2D, tex);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, (GLsizei)w, (GLsizei)h, 0, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glGenFramebuffers(1, fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, *fbo);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, tex, 0);
    if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) fail("framebuffer", "incomplete");
    return tex;
}

/* frame n: a background that changes every frame and two rectangles that move across it */
static void render(GLuint fbo, unsigned w, unsigned h, unsigned n) {
    glBindFramebuffer(GL_FRAMEBUFFER, fbo);
    glViewport(0, 0, (GLsizei)w, (GLsizei)h);
    glDisable(GL_SCISSOR_TEST);
    glClearColor((float)(n % 256) / 255.0f, (float)((n * 3) % 256) / 255.0f, 0.25f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    glEnable(GL_SCISSOR_TEST);
    glScissor((GLint)((n * 7) % w), (GLint)(h / 4), (GLsizei)(w / 5), (GLsizei)(h / 3));
    glClearColor(1.0f, 0.5f, (float)((n * 11) % 256) / 255.0f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    glScissor((GLint)(w / 3), (GLint)((n * 5) % h), (GLsizei)(w / 4), (GLsizei)(h / 6));
    glClearColor(0.0f, 1.0f, 1.0f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    glDisable(GL_SCISSOR_TEST);
}

static void read_texture(GLuint fbo, unsigned w, unsigned h, unsigned char* out) {
    glBindFramebuffer(GL_FRAMEBUFFER, fbo);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadPixels(0, 0, (GLsizei)w, (GLsizei)h, GL_RGBA, GL_UNSIGNED_BYTE, out);
}

int main(int argc, char** argv) {
    const char* state_dir = NULL;
    unsigned frames = 1000, w = 1280, h = 720;
    int gpu = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--state-dir") && i + 1 < argc) state_dir = argv[++i];
        else if (!strcmp(argv[i], "--frames") && i + 1 < argc) frames = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--width") && i + 1 < argc) w = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--height") && i + 1 < argc) h = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--path") && i + 1 < argc) gpu = !strcmp(argv[++i], "gpu");
        else fail("unknown argument", argv[i]);
    }
    make_context();
    GLuint src_fbo = 0, dst_fbo = 0;
    GLuint src = make_texture(w, h, &src_fbo), dst = make_texture(w, h, &dst_fbo);

    lsd_client* c = NULL;
    if (lsd_client_create_from_state(state_dir, "gpu-check/egl-host", &c) != LSD_OK)
        fail("lsd_client_create_from_state", lsd_last_error());
    lsd_bind_desc b;
    lsd_bind_desc_init(&b, w, h, LSD_FORMAT_RGBA8);
    b.transport = gpu ? LSD_TRANSPORT_CUDA_IPC : LSD_TRANSPORT_SHM;
    b.input.bottom_up = b.output.bottom_up = 1; /* GL's first row is the bottom one */
    b.input.slots = b.output.slots = 2;
    lsd_client_bind(c, &b, 0);
    lsd_style_desc s;
    lsd_style_desc_init(&s);
    s.model = "identity";
    lsd_client_set_style(c, &s, 0);
    double t0 = lsd_now_ms();
    while (lsd_client_state(c) != LSD_STATE_READY)
        if (lsd_now_ms() - t0 > 30000) fail("bind", "not bound within 30 s");
    while (lsd_client_set_style(c, &s, 100) == LSD_PENDING) {}
    lsd_transport_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    lsd_client_get_transport(c, &info);
    if (gpu && !info.zero_copy) fail("cuda_ipc not in use", info.reason);

    lsd_gpu_texture *src_cuda = NULL, *dst_cuda = NULL;
    if (gpu) {
        glFinish(); /* the textures exist before CUDA registers them */
        if (lsd_gpu_texture_register_gl(c, src, GL_TEXTURE_2D, 0, &src_cuda) != LSD_OK ||
            lsd_gpu_texture_register_gl(c, dst, GL_TEXTURE_2D, 1, &dst_cuda) != LSD_OK)
            fail("lsd_gpu_texture_register_gl", lsd_last_error());
    }
    size_t bytes = (size_t)w * h * 4;
    unsigned char *expect = malloc(bytes), *got = malloc(bytes);
    double* rtt = calloc(frames ? frames : 1, sizeof *rtt);
    unsigned exact = 0, timed = 0;
    for (unsigned n = 0; n < frames; ++n) {
        render(src_fbo, w, h, n);
        read_texture(src_fbo, w, h, expect); /* what must come back (the check, not the path) */
        double start = lsd_now_ms();
        lsd_cuda_frame f;
        memset(&f, 0, sizeof f);
        f.struct_size = sizeof f;
        f.width = w;
        f.height = h;
        f.format = LSD_FORMAT_RGBA8;
        uint64_t id = 0;
        lsd_status st;
        if (gpu) {
            glFinish(); /* GL's rendering is done before CUDA maps the texture */
            st = lsd_client_submit_texture(c, src_cuda, &f, &id);
        } else {
            lsd_frame_in in;
            memset(&in, 0, sizeof in);
            in.struct_size = sizeof in;
            in.data = expect;
            in.width = w;
            in.height = h;
            in.format = LSD_FORMAT_RGBA8;
            st = lsd_client_submit(c, &in, &id);
        }
        if (st != LSD_OK) fail("submit", lsd_last_error());
        lsd_cuda_frame out;
        memset(&out, 0, sizeof out);
        out.struct_size = sizeof out;
        lsd_frame_out host;
        memset(&host, 0, sizeof host);
        host.struct_size = sizeof host;
        host.data = got;
        host.capacity = bytes;
        uint64_t got_id = 0;
        do {
            st = gpu ? lsd_client_take_texture(c, dst_cuda, &out, 2000) : lsd_client_take(c, &host, 2000);
            if (st != LSD_OK) fail("take", lsd_last_error());
            got_id = gpu ? out.frame_id : host.frame_id;
        } while (got_id != id);
        if (!gpu) {
            glBindTexture(GL_TEXTURE_2D, dst);
            glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
            glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, (GLsizei)w, (GLsizei)h, GL_RGBA, GL_UNSIGNED_BYTE, got);
        }
        read_texture(dst_fbo, w, h, got); /* the second texture, as the game would draw it */
        rtt[timed++] = lsd_now_ms() - start;
        exact += memcmp(got, expect, bytes) == 0;
    }
    printf(
        "{\"frames\": %u, \"exact\": %u, \"width\": %u, \"height\": %u, \"path\": \"%s\", \"transport\": \"%s\", "
        "\"zero_copy\": %d, \"renderer\": \"%s\", \"round_trip_p50_ms\": %.4f, \"round_trip_p99_ms\": %.4f}\n",
        frames, exact, w, h, gpu ? "gpu" : "host", info.transport == LSD_TRANSPORT_CUDA_IPC ? "cuda_ipc" : "shm",
        info.zero_copy, (const char*)glGetString(GL_RENDERER), lsd_percentile(rtt, (int)timed, 50),
        lsd_percentile(rtt, (int)timed, 99));
    if (src_cuda) lsd_gpu_texture_release(src_cuda);
    if (dst_cuda) lsd_gpu_texture_release(dst_cuda);
    lsd_client_close(c);
    free(expect);
    free(got);
    free(rtt);
    return exact == frames ? 0 : 1;
}
