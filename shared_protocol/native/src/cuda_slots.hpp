// cuda_ipc on the client's side: the runtime's device slots and their interprocess events,
// opened once per binding (PROTOCOL.md, device slots), and the stream-ordered copies in and
// out of them. Every driver call runs with the device's primary context current (the one the
// CUDA runtime API, and so the engines' CUDA code, uses); streams passed in must belong to it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cuda_loader.hpp"

namespace lsd {

class Value;

// Makes the primary context of one device current for a scope (push / pop).
class CudaContext {
public:
    // retains device `ordinal`'s primary context; false + why on failure
    bool open(int ordinal, std::string& why);
    ~CudaContext();
    cu::Context get() const { return ctx_; }
    int ordinal() const { return ordinal_; }

    class Scope {
    public:
        explicit Scope(const CudaContext& c);
        ~Scope();
        bool ok() const { return ok_; }

    private:
        bool ok_ = false;
    };

private:
    const CudaDriver* d_ = nullptr;
    cu::Device dev_ = 0;
    cu::Context ctx_ = nullptr;
    int ordinal_ = -1;
};

// "GPU-5f3c0a1e-8b2d-4c6f-9e0a-1b2c3d4e5f60": the device's UUID as nvidia-smi -L prints it,
// or "" (why says what failed)
std::string cuda_device_uuid(int ordinal, std::string& why);
std::string format_gpu_uuid(const unsigned char bytes[16]);

// One end of a 2D copy: host memory, device memory (a CUdeviceptr) or a CUDA array (graphics
// interop hands out arrays). pitch is ignored for arrays.
struct CopyEnd {
    cu::MemoryType type = cu::kMemHost;
    const void* host = nullptr;
    cu::DevicePtr device = 0;
    cu::Array array = nullptr;
    size_t pitch = 0;
};

// One 2D copy of `height` rows of `row_bytes` on `stream`, in `ctx`; sync: wait for it.
bool cuda_copy_2d(const CudaContext& ctx, const CopyEnd& src, const CopyEnd& dst, size_t row_bytes, size_t height,
                  cu::Stream stream, bool sync, std::string& why);

struct CudaRingGeometry {
    uint32_t slots = 0;
    uint64_t size = 0, pitch = 0;
};

class CudaSlots {
public:
    // Opens the device slots of a `bound` reply's input and output rings (ipc_handles,
    // ipc_offsets, ipc_ready, ipc_free). nullptr + why when anything fails (what was opened is
    // closed again): the caller binds shm instead.
    static std::unique_ptr<CudaSlots> open(int ordinal, const Value* input, const CudaRingGeometry& in,
                                           const Value* output, const CudaRingGeometry& out, std::string& why);
    ~CudaSlots();
    CudaSlots(const CudaSlots&) = delete;
    CudaSlots& operator=(const CudaSlots&) = delete;

    // input slot k <- src: `stream` (nullptr: this binding's own) waits on free[k], copies, records
    // ready[k]. sync: returns once the copy is done (a host source the caller may reuse at once).
    bool write_input(uint32_t k, const CopyEnd& src, size_t row_bytes, size_t height, cu::Stream stream, bool sync,
                     std::string& why);
    // dst <- output slot j: waits on ready[j], copies, records free[j]
    bool read_output(uint32_t j, const CopyEnd& dst, size_t row_bytes, size_t height, cu::Stream stream, bool sync,
                     std::string& why);

    const CudaContext& context() const { return ctx_; }
    cu::Stream stream() const { return stream_; }
    int ordinal() const { return ctx_.ordinal(); }

private:
    struct Ring {
        std::vector<cu::DevicePtr> base, ptr;
        std::vector<cu::Event> ready, free;
        uint64_t pitch = 0;
    };
    CudaSlots() = default;
    bool open_ring(const Value* reply, const CudaRingGeometry& g, const char* name, Ring& ring, std::string& why);
    bool copy(Ring& ring, uint32_t k, bool into, const CopyEnd& other, size_t row_bytes, size_t height,
              cu::Stream stream, bool sync, std::string& why);
    void close_ring(Ring& ring);

    const CudaDriver* d_ = nullptr;
    CudaContext ctx_;
    cu::Stream stream_ = nullptr;
    Ring in_, out_;
};

}  // namespace lsd
