// The C ABI of frames on the GPU: lsd_client_submit_cuda / take_cuda, graphics textures
// registered with CUDA (OpenGL, Direct3D 11) or imported as external memory (Direct3D 12,
// Vulkan), and lsd_client_get_transport.
#include <memory>
#include <string>

#include "c_api_internal.hpp"
#include "cuda_loader.hpp"
#include "cuda_slots.hpp"

using lsd::set_last_error;
using namespace lsd::capi;
namespace cu = lsd::cu;

struct lsd_gpu_texture {
    enum class Kind { Graphics, External } kind = Kind::Graphics;
    lsd_client* owner = nullptr;
    // its own reference to the device's primary context: the texture may be released after its client
    // is closed (a render-thread event that runs late)
    std::unique_ptr<lsd::CudaContext> ctx;
    cu::GraphicsResource resource = nullptr;  // Graphics: registered once, mapped per copy
    cu::ExternalMemory memory = nullptr;      // External: imported once
    cu::MipmappedArray mipmap = nullptr;
    cu::Array array = nullptr;  // External: level 0 of the mipmapped array
};

namespace {

bool read_frame(const lsd_cuda_frame* in, lsd_cuda_frame& f, bool need_memory) {
    if (!read_struct(in, f, "frame")) return false;
    if (!valid_format(f.format)) {
        set_last_error("frame.format is not an lsd_format");
        return false;
    }
    if (f.flags & ~static_cast<uint32_t>(LSD_FRAME_RESET)) {
        set_last_error("frame.flags: only LSD_FRAME_RESET here (motion and depth planes go with lsd_client_submit)");
        return false;
    }
    if (need_memory && (f.device_ptr != 0) == (f.array != nullptr)) {
        set_last_error("give frame.device_ptr or frame.array (one of them)");
        return false;
    }
    return true;
}

lsd::CopyEnd end_of(const lsd_cuda_frame& f) {
    lsd::CopyEnd e;
    if (f.array) {
        e.type = cu::kMemArray;
        e.array = static_cast<cu::Array>(f.array);
    } else {
        e.type = cu::kMemDevice;
        e.device = f.device_ptr;
        e.pitch = f.pitch;
    }
    return e;
}

// a texture's CUDA array for one copy: mapped on `stream` (graphics) or the imported one
bool map_texture(lsd_gpu_texture* t, cu::Stream stream, cu::Array& array) {
    if (t->kind == lsd_gpu_texture::Kind::External) {
        array = t->array;
        return true;
    }
    const lsd::CudaDriver& d = lsd::cuda_driver();
    lsd::CudaContext::Scope scope(*t->ctx);
    cu::Result r = d.cuGraphicsMapResources(1, &t->resource, stream);
    if (r != cu::kSuccess) {
        set_last_error(d.describe("cuGraphicsMapResources", r));
        return false;
    }
    r = d.cuGraphicsSubResourceGetMappedArray(&array, t->resource, 0, 0);
    if (r != cu::kSuccess) {
        d.cuGraphicsUnmapResources(1, &t->resource, stream);
        set_last_error(d.describe("cuGraphicsSubResourceGetMappedArray", r));
        return false;
    }
    return true;
}

void unmap_texture(lsd_gpu_texture* t, cu::Stream stream) {
    if (t->kind != lsd_gpu_texture::Kind::Graphics) return;
    lsd::CudaContext::Scope scope(*t->ctx);
    lsd::cuda_driver().cuGraphicsUnmapResources(1, &t->resource, stream);
}

// the context a texture call runs in (its own reference), or LSD_E_UNSUPPORTED naming what is missing
lsd_status texture_context(lsd_client* c, bool have_group, const char* what, std::unique_ptr<lsd::CudaContext>& ctx) {
    const lsd::CudaDriver& d = lsd::cuda_driver();
    if (!d.usable()) {
        set_last_error(std::string(what) + " needs a usable NVIDIA driver: " + d.why);
        return LSD_E_UNSUPPORTED;
    }
    if (!have_group) {
        set_last_error(std::string("the NVIDIA driver has no ") + what + " interop entry points");
        return LSD_E_UNSUPPORTED;
    }
    std::string why;
    const lsd::CudaContext* client_ctx = c->impl.gpu_context(why);
    ctx = std::make_unique<lsd::CudaContext>();
    if (!client_ctx || !ctx->open(client_ctx->ordinal(), why)) {
        set_last_error(why);
        return LSD_E_UNSUPPORTED;
    }
    return LSD_OK;
}

lsd_status register_graphics(lsd_client* c, const char* what, bool have_group, lsd_gpu_texture** out,
                             cu::Result (*call)(const lsd::CudaDriver&, cu::GraphicsResource*, const void*, unsigned),
                             const void* object, int32_t write) {
    if (!c || !out) {
        set_last_error("client or out is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
    *out = nullptr;
    std::unique_ptr<lsd::CudaContext> ctx;
    lsd_status st = texture_context(c, have_group, what, ctx);
    if (st != LSD_OK) return st;
    const lsd::CudaDriver& d = lsd::cuda_driver();
    lsd::CudaContext::Scope scope(*ctx);
    cu::GraphicsResource res = nullptr;
    unsigned flags = write ? cu::kGraphicsRegisterWriteDiscard : cu::kGraphicsRegisterReadOnly;
    cu::Result r = call(d, &res, object, flags);
    if (r != cu::kSuccess) {
        set_last_error(d.describe(what, r));
        return LSD_E_IO;
    }
    auto* t = new lsd_gpu_texture();
    t->owner = c;
    t->ctx = std::move(ctx);
    t->resource = res;
    *out = t;
    return LSD_OK;
}

// a texture registered with this client (else the error is set)
bool texture_of(const lsd_client* c, const lsd_gpu_texture* t) {
    if (c && t && t->owner == c) return true;
    set_last_error(!c || !t ? "client or texture is NULL" : "the texture was registered with another client");
    return false;
}

}  // namespace

extern "C" {

LSD_API lsd_status lsd_client_submit_cuda(lsd_client* c, const lsd_cuda_frame* frame, uint64_t* frame_id) {
    LSD_GUARD_BEGIN
    if (!c) {
        set_last_error("client is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
    lsd_cuda_frame f;
    if (!read_frame(frame, f, true)) return LSD_E_INVALID_ARGUMENT;
    return c->impl.submit_gpu(end_of(f), f, frame_id);
    LSD_GUARD_END
}

LSD_API lsd_status lsd_client_take_cuda(lsd_client* c, lsd_cuda_frame* frame, uint32_t timeout_ms) {
    LSD_GUARD_BEGIN
    if (!c) {
        set_last_error("client is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
    lsd_cuda_frame f;
    if (!read_struct(frame, f, "frame")) return LSD_E_INVALID_ARGUMENT;
    if ((f.device_ptr != 0) == (f.array != nullptr)) {
        set_last_error("give frame.device_ptr or frame.array (one of them)");
        return LSD_E_INVALID_ARGUMENT;
    }
    lsd_status s = c->impl.take_gpu(end_of(f), f, timeout_ms);
    if (s == LSD_OK || s == LSD_E_IO) write_struct(frame, f);
    return s;
    LSD_GUARD_END
}

LSD_API lsd_status lsd_gpu_texture_register_gl(lsd_client* c, uint32_t texture, uint32_t target, int32_t write,
                                               lsd_gpu_texture** out) {
    LSD_GUARD_BEGIN
    struct Gl {
        uint32_t texture, target;
    } gl{texture, target};
    return register_graphics(
        c, "cuGraphicsGLRegisterImage", lsd::cuda_driver().gl, out,
        [](const lsd::CudaDriver& d, cu::GraphicsResource* res, const void* o, unsigned flags) {
            const Gl* g = static_cast<const Gl*>(o);
            return d.cuGraphicsGLRegisterImage(res, g->texture, g->target, flags);
        },
        &gl, write);
    LSD_GUARD_END
}

LSD_API lsd_status lsd_gpu_texture_register_d3d11(lsd_client* c, void* resource, int32_t write, lsd_gpu_texture** out) {
    LSD_GUARD_BEGIN
    if (!resource) {
        set_last_error("resource is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
    return register_graphics(
        c, "cuGraphicsD3D11RegisterResource", lsd::cuda_driver().d3d11, out,
        [](const lsd::CudaDriver& d, cu::GraphicsResource* res, const void* o, unsigned flags) {
            return d.cuGraphicsD3D11RegisterResource(res, const_cast<void*>(o), flags);
        },
        resource, write);
    LSD_GUARD_END
}

LSD_API lsd_status lsd_gpu_texture_import(lsd_client* c, const lsd_external_image_desc* desc, lsd_gpu_texture** out) {
    LSD_GUARD_BEGIN
    if (!c || !out) {
        set_last_error("client or out is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
    *out = nullptr;
    lsd_external_image_desc e;
    if (!read_struct(desc, e, "desc")) return LSD_E_INVALID_ARGUMENT;
    int type = enum_value(e.handle_type);
    if (type != LSD_EXTERNAL_OPAQUE_FD && type != LSD_EXTERNAL_OPAQUE_WIN32 && type != LSD_EXTERNAL_D3D12_HEAP &&
        type != LSD_EXTERNAL_D3D12_RESOURCE) {
        set_last_error("desc.handle_type is not an lsd_external_handle");
        return LSD_E_INVALID_ARGUMENT;
    }
    if (!valid_format(e.format) || e.width < LSD_MIN_DIMENSION || e.height < LSD_MIN_DIMENSION ||
        e.width > LSD_MAX_DIMENSION || e.height > LSD_MAX_DIMENSION || e.size == 0 || e.offset >= e.size) {
        set_last_error("desc: format, width, height, size or offset is out of range");
        return LSD_E_INVALID_ARGUMENT;
    }
    if (type == LSD_EXTERNAL_OPAQUE_FD ? e.fd < 0 : e.win32_handle == nullptr) {
        set_last_error(type == LSD_EXTERNAL_OPAQUE_FD ? "desc.fd is negative" : "desc.win32_handle is NULL");
        return LSD_E_INVALID_ARGUMENT;
    }
    std::unique_ptr<lsd::CudaContext> ctx;
    lsd_status st = texture_context(c, lsd::cuda_driver().external_memory, "external memory", ctx);
    if (st != LSD_OK) return st;
    const lsd::CudaDriver& d = lsd::cuda_driver();
    lsd::CudaContext::Scope scope(*ctx);
    cu::ExternalMemoryHandleDesc h{};
    h.type = static_cast<cu::ExternalMemoryHandleType>(type);
    if (type == LSD_EXTERNAL_OPAQUE_FD) h.handle.fd = e.fd;
    else h.handle.win32.handle = e.win32_handle;
    h.size = e.size;
    h.flags = e.dedicated || type == LSD_EXTERNAL_D3D12_RESOURCE ? cu::kExtMemDedicated : 0;
    cu::ExternalMemory mem = nullptr;
    cu::Result r = d.cuImportExternalMemory(&mem, &h);
    if (r != cu::kSuccess) {
        set_last_error(d.describe("cuImportExternalMemory", r));
        return LSD_E_IO;
    }
    cu::ExternalMemoryMipmappedArrayDesc a{};
    a.offset = e.offset;
    a.arrayDesc.Width = e.width;
    a.arrayDesc.Height = e.height;
    a.arrayDesc.Depth = 0;
    a.arrayDesc.Format = e.format == LSD_FORMAT_RGBA16F ? cu::kArrayHalf : cu::kArrayUint8;
    a.arrayDesc.NumChannels = 4;
    a.arrayDesc.Flags = cu::kArray3DColorAttachment;
    a.numLevels = 1;
    cu::MipmappedArray mip = nullptr;
    cu::Array level = nullptr;
    r = d.cuExternalMemoryGetMappedMipmappedArray(&mip, mem, &a);
    if (r == cu::kSuccess) {
        r = d.cuMipmappedArrayGetLevel(&level, mip, 0);
        if (r != cu::kSuccess) {
            d.cuMipmappedArrayDestroy(mip);
            d.cuDestroyExternalMemory(mem);
            set_last_error(d.describe("cuMipmappedArrayGetLevel", r));
            return LSD_E_IO;
        }
    } else {
        d.cuDestroyExternalMemory(mem);
        set_last_error(d.describe("cuExternalMemoryGetMappedMipmappedArray", r));
        return LSD_E_IO;
    }
    auto* t = new lsd_gpu_texture();
    t->kind = lsd_gpu_texture::Kind::External;
    t->owner = c;
    t->ctx = std::move(ctx);
    t->memory = mem;
    t->mipmap = mip;
    t->array = level;
    *out = t;
    return LSD_OK;
    LSD_GUARD_END
}

LSD_API lsd_status lsd_client_submit_texture(lsd_client* c, lsd_gpu_texture* t, const lsd_cuda_frame* frame,
                                             uint64_t* frame_id) {
    LSD_GUARD_BEGIN
    if (!texture_of(c, t)) return LSD_E_INVALID_ARGUMENT;
    lsd_cuda_frame f;
    if (!read_frame(frame, f, false)) return LSD_E_INVALID_ARGUMENT;
    auto stream = static_cast<cu::Stream>(f.stream);
    cu::Array array = nullptr;
    if (!map_texture(t, stream, array)) return LSD_E_IO;
    lsd::CopyEnd src;
    src.type = cu::kMemArray;
    src.array = array;
    // imported memory has no map/unmap to order it: its API may reuse it as soon as this returns
    lsd_status s = c->impl.submit_gpu(src, f, frame_id, t->kind == lsd_gpu_texture::Kind::External);
    unmap_texture(t, stream);
    return s;
    LSD_GUARD_END
}

LSD_API lsd_status lsd_client_take_texture(lsd_client* c, lsd_gpu_texture* t, lsd_cuda_frame* frame,
                                           uint32_t timeout_ms) {
    LSD_GUARD_BEGIN
    if (!texture_of(c, t)) return LSD_E_INVALID_ARGUMENT;
    lsd_cuda_frame f;
    if (!read_struct(frame, f, "frame")) return LSD_E_INVALID_ARGUMENT;
    auto stream = static_cast<cu::Stream>(f.stream);
    cu::Array array = nullptr;
    if (!map_texture(t, stream, array)) return LSD_E_IO;
    lsd::CopyEnd dst;
    dst.type = cu::kMemArray;
    dst.array = array;
    lsd_status s = c->impl.take_gpu(dst, f, timeout_ms, t->kind == lsd_gpu_texture::Kind::External);
    unmap_texture(t, stream);
    if (s == LSD_OK || s == LSD_E_IO) write_struct(frame, f);
    return s;
    LSD_GUARD_END
}

LSD_API void lsd_gpu_texture_release(lsd_gpu_texture* t) {
    if (!t) return;
    const lsd::CudaDriver& d = lsd::cuda_driver();
    {
        lsd::CudaContext::Scope scope(*t->ctx);
        if (t->resource) d.cuGraphicsUnregisterResource(t->resource);
        if (t->mipmap) d.cuMipmappedArrayDestroy(t->mipmap);
        if (t->memory) d.cuDestroyExternalMemory(t->memory);
    }
    delete t;
}

LSD_API lsd_status lsd_client_get_transport(lsd_client* c, lsd_transport_info* out) {
    LSD_GUARD_BEGIN
    if (!c || !out || out->struct_size < sizeof(uint32_t) * 2) {
        set_last_error("client or info is NULL, or info.struct_size is not set");
        return LSD_E_INVALID_ARGUMENT;
    }
    lsd_transport_info info{};
    info.struct_size = sizeof info;
    c->impl.transport_info(info);
    write_struct(out, info);
    return LSD_OK;
    LSD_GUARD_END
}

}  // extern "C"
