#include "cuda_slots.hpp"

#include <cstdio>
#include <cstring>

#include "value.hpp"

namespace lsd {

// ---------------------------------------------------------------- context

bool CudaContext::open(int ordinal, std::string& why) {
    const CudaDriver& d = cuda_driver();
    if (!d.usable()) {
        why = d.why;
        return false;
    }
    if (ordinal < 0 || ordinal >= d.device_count) {
        why = "CUDA device " + std::to_string(ordinal) + " does not exist (" + std::to_string(d.device_count) +
              " visible)";
        return false;
    }
    cu::Device dev = 0;
    cu::Result r = d.cuDeviceGet(&dev, ordinal);
    if (r != cu::kSuccess) {
        why = d.describe("cuDeviceGet", r);
        return false;
    }
    cu::Context ctx = nullptr;
    r = d.cuDevicePrimaryCtxRetain(&ctx, dev);
    if (r != cu::kSuccess) {
        why = d.describe("cuDevicePrimaryCtxRetain", r);
        return false;
    }
    d_ = &d;
    dev_ = dev;
    ctx_ = ctx;
    ordinal_ = ordinal;
    return true;
}

CudaContext::~CudaContext() {
    if (ctx_) d_->cuDevicePrimaryCtxRelease(dev_);
}

CudaContext::Scope::Scope(const CudaContext& c) {
    const CudaDriver& d = cuda_driver();
    ok_ = c.get() && d.cuCtxPushCurrent(c.get()) == cu::kSuccess;
}

CudaContext::Scope::~Scope() {
    if (ok_) {
        cu::Context popped = nullptr;
        cuda_driver().cuCtxPopCurrent(&popped);
    }
}

std::string format_gpu_uuid(const unsigned char b[16]) {
    char out[64];
    std::snprintf(out, sizeof out, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                  b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return out;
}

std::string cuda_device_uuid(int ordinal, std::string& why) {
    const CudaDriver& d = cuda_driver();
    if (!d.usable()) {
        why = d.why;
        return "";
    }
    cu::Device dev = 0;
    cu::Result r = d.cuDeviceGet(&dev, ordinal);
    if (r != cu::kSuccess) {
        why = d.describe("cuDeviceGet", r);
        return "";
    }
    cu::Uuid uuid{};
    r = d.cuDeviceGetUuid(&uuid, dev);
    if (r != cu::kSuccess) {
        why = d.describe("cuDeviceGetUuid", r);
        return "";
    }
    unsigned char bytes[16];
    std::memcpy(bytes, uuid.bytes, sizeof bytes);
    return format_gpu_uuid(bytes);
}

namespace {

// issues one 2D copy on `stream` in the context current on this thread
bool issue_copy_2d(const CudaDriver& d, const CopyEnd& src, const CopyEnd& dst, size_t row_bytes, size_t height,
                   cu::Stream stream, std::string& why) {
    cu::Memcpy2D c{};
    c.srcMemoryType = src.type;
    c.srcHost = src.host;
    c.srcDevice = src.device;
    c.srcArray = src.array;
    c.srcPitch = src.type == cu::kMemArray ? 0 : src.pitch;
    c.dstMemoryType = dst.type;
    c.dstHost = const_cast<void*>(dst.host);
    c.dstDevice = dst.device;
    c.dstArray = dst.array;
    c.dstPitch = dst.type == cu::kMemArray ? 0 : dst.pitch;
    c.WidthInBytes = row_bytes;
    c.Height = height;
    cu::Result r = d.cuMemcpy2DAsync(&c, stream);
    if (r != cu::kSuccess) why = d.describe("cuMemcpy2DAsync", r);
    return r == cu::kSuccess;
}

}  // namespace

bool cuda_copy_2d(const CudaContext& ctx, const CopyEnd& src, const CopyEnd& dst, size_t row_bytes, size_t height,
                  cu::Stream stream, bool sync, std::string& why) {
    const CudaDriver& d = cuda_driver();
    CudaContext::Scope scope(ctx);
    if (!scope.ok()) {
        why = "cannot make the CUDA context current (cuCtxPushCurrent)";
        return false;
    }
    if (!issue_copy_2d(d, src, dst, row_bytes, height, stream, why)) return false;
    cu::Result r = sync ? d.cuStreamSynchronize(stream) : cu::kSuccess;
    if (r != cu::kSuccess) why = d.describe("cuStreamSynchronize", r);
    return r == cu::kSuccess;
}

// ---------------------------------------------------------------- device slots

namespace {

// a ring reply's concatenated 64-byte handles, one per slot
bool handles(const Value* reply, const char* key, uint32_t slots, std::vector<std::string>& out, std::string& why) {
    const Value* v = reply ? reply->get(key) : nullptr;
    size_t n = v && v->kind == Value::Bin ? v->s.size() : 0;
    if (n != slots * cu::kIpcHandleBytes) {
        why = std::string("the runtime's 'bound' ") + key + " holds " + std::to_string(n) + " bytes, not " +
              std::to_string(slots) + " x " + std::to_string(cu::kIpcHandleBytes);
        return false;
    }
    for (uint32_t k = 0; k < slots; ++k) out.push_back(v->s.substr(k * cu::kIpcHandleBytes, cu::kIpcHandleBytes));
    return true;
}

}  // namespace

bool CudaSlots::open_ring(const Value* reply, const CudaRingGeometry& g, const char* name, Ring& ring,
                          std::string& why) {
    std::vector<std::string> mem, ready, free;
    if (!handles(reply, "ipc_handles", g.slots, mem, why) || !handles(reply, "ipc_ready", g.slots, ready, why) ||
        !handles(reply, "ipc_free", g.slots, free, why)) {
        why = std::string(name) + ": " + why;
        return false;
    }
    const Value* offsets = reply->get("ipc_offsets");
    if (offsets && offsets->arr.size() != g.slots) {
        why = std::string(name) + ": 'ipc_offsets' has " + std::to_string(offsets->arr.size()) + " entries, not " +
              std::to_string(g.slots);
        return false;
    }
    ring.pitch = g.pitch;
    for (uint32_t k = 0; k < g.slots; ++k) {
        cu::IpcMemHandle h;
        std::memcpy(h.reserved, mem[k].data(), cu::kIpcHandleBytes);
        cu::DevicePtr base = 0;
        cu::Result r = d_->cuIpcOpenMemHandle(&base, h, cu::kIpcLazyEnablePeerAccess);
        if (r != cu::kSuccess) {
            why = std::string(name) + " slot " + std::to_string(k) + ": " + d_->describe("cuIpcOpenMemHandle", r) +
                  " (the runtime's GPU must be this one)";
            return false;
        }
        ring.base.push_back(base);
        ring.ptr.push_back(base + (offsets ? offsets->arr[k].u : 0));
        for (auto [blob, list, what] :
             {std::make_tuple(&ready[k], &ring.ready, "ready"), std::make_tuple(&free[k], &ring.free, "free")}) {
            cu::IpcEventHandle eh;
            std::memcpy(eh.reserved, blob->data(), cu::kIpcHandleBytes);
            cu::Event ev = nullptr;
            r = d_->cuIpcOpenEventHandle(&ev, eh);
            if (r != cu::kSuccess) {
                why = std::string(name) + " slot " + std::to_string(k) + " " + what +
                      " event: " + d_->describe("cuIpcOpenEventHandle", r);
                return false;
            }
            list->push_back(ev);
        }
    }
    return true;
}

std::unique_ptr<CudaSlots> CudaSlots::open(int ordinal, const Value* input, const CudaRingGeometry& in,
                                           const Value* output, const CudaRingGeometry& out, std::string& why) {
    const CudaDriver& d = cuda_driver();
    if (!d.usable() || !d.ipc) {
        why = d.why.empty() ? "the NVIDIA driver cannot open CUDA IPC handles" : d.why;
        return nullptr;
    }
    std::unique_ptr<CudaSlots> s(new CudaSlots());
    s->d_ = &d;
    if (!s->ctx_.open(ordinal, why)) return nullptr;
    CudaContext::Scope scope(s->ctx_);
    if (!scope.ok()) {
        why = "cannot make the CUDA context current (cuCtxPushCurrent)";
        return nullptr;
    }
    cu::Result r = d.cuStreamCreate(&s->stream_, cu::kStreamNonBlocking);
    if (r != cu::kSuccess) {
        why = d.describe("cuStreamCreate", r);
        return nullptr;
    }
    if (!s->open_ring(input, in, "input", s->in_, why) || !s->open_ring(output, out, "output", s->out_, why))
        return nullptr;  // the destructor closes what was opened
    return s;
}

void CudaSlots::close_ring(Ring& ring) {
    for (cu::Event e : ring.ready) d_->cuEventDestroy(e);
    for (cu::Event e : ring.free) d_->cuEventDestroy(e);
    for (cu::DevicePtr p : ring.base) d_->cuIpcCloseMemHandle(p);
    ring = Ring{};
}

CudaSlots::~CudaSlots() {
    if (!d_ || !ctx_.get()) return;
    CudaContext::Scope scope(ctx_);
    if (stream_) {
        d_->cuStreamSynchronize(stream_);  // copies still queued read or write these slots
        d_->cuStreamDestroy(stream_);
    }
    close_ring(in_);
    close_ring(out_);
}

bool CudaSlots::copy(Ring& ring, uint32_t k, bool into, const CopyEnd& other, size_t row_bytes, size_t height,
                     cu::Stream stream, bool sync, std::string& why) {
    cu::Stream s = stream ? stream : stream_;
    CudaContext::Scope scope(ctx_);
    if (!scope.ok()) {
        why = "cannot make the CUDA context current (cuCtxPushCurrent)";
        return false;
    }
    // the writer waits on free[k] and records ready[k]; the reader waits on ready[k], records free[k]
    cu::Event wait_on = into ? ring.free[k] : ring.ready[k];
    cu::Event record = into ? ring.ready[k] : ring.free[k];
    cu::Result r = d_->cuStreamWaitEvent(s, wait_on, 0);
    if (r != cu::kSuccess) {
        why = d_->describe("cuStreamWaitEvent", r);
        return false;
    }
    CopyEnd slot;
    slot.type = cu::kMemDevice;
    slot.device = ring.ptr[k];
    slot.pitch = ring.pitch;
    if (!issue_copy_2d(*d_, into ? other : slot, into ? slot : other, row_bytes, height, s, why)) return false;
    if ((r = d_->cuEventRecord(record, s)) != cu::kSuccess) {
        why = d_->describe("cuEventRecord", r);
        return false;
    }
    if (sync && (r = d_->cuStreamSynchronize(s)) != cu::kSuccess) {
        why = d_->describe("cuStreamSynchronize", r);
        return false;
    }
    return true;
}

bool CudaSlots::write_input(uint32_t k, const CopyEnd& src, size_t row_bytes, size_t height, cu::Stream stream,
                            bool sync, std::string& why) {
    return copy(in_, k, true, src, row_bytes, height, stream, sync, why);
}

bool CudaSlots::read_output(uint32_t j, const CopyEnd& dst, size_t row_bytes, size_t height, cu::Stream stream,
                            bool sync, std::string& why) {
    return copy(out_, j, false, dst, row_bytes, height, stream, sync, why);
}

}  // namespace lsd
