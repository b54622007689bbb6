// The client's side of slot ownership for one binding (PROTOCOL.md section 4): which input
// slots it owns, the frames in flight, the newest finished output, and the output slots to
// hand back. Guarded by the client's mutex; the pixel copies happen outside it, on slots the
// ledger has handed to the caller.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cuda_slots.hpp"
#include "lsd_bridge/lsd_client.h"
#include "shm_segment.hpp"

namespace lsd {

using Clock = std::chrono::steady_clock;

struct RingGeometry {
    uint32_t width = 0, height = 0, pitch = 0, slots = 0;
    lsd_format format = LSD_FORMAT_RGBA8;
    size_t size = 0;  // bytes per slot (pitch x height)
};

// Where one binding's slot bytes live: the runtime's shared-memory segments (shm), or this
// process's own buffers whose bytes travel inside the frame messages (inline). API threads
// hold a reference while they copy, so a re-bind cannot pull the memory away mid-copy.
// An auxiliary plane beside the input ring (the engine's motion vectors or depth): one
// shared-memory segment per input slot, same width, height and row order.
struct PlaneRing {
    uint32_t pitch = 0, bytes_per_pixel = 0;
    std::vector<std::unique_ptr<ShmSegment>> segments;
    bool present() const { return !segments.empty(); }
};

class SlotStorage {
public:
    static std::shared_ptr<SlotStorage> shm(std::vector<std::unique_ptr<ShmSegment>> in,
                                            std::vector<std::unique_ptr<ShmSegment>> out, PlaneRing motion = {},
                                            PlaneRing depth = {});
    static std::shared_ptr<SlotStorage> local(const RingGeometry& in, const RingGeometry& out);
    // cuda_ipc: the runtime's device slots (input()/output() have no host bytes: nullptr)
    static std::shared_ptr<SlotStorage> device(std::unique_ptr<CudaSlots> slots);

    bool is_inline() const { return inline_; }
    CudaSlots* cuda() const { return cuda_.get(); }
    unsigned char* input(uint32_t k) const;
    unsigned char* output(uint32_t k) const;
    const PlaneRing& motion() const { return motion_; }
    const PlaneRing& depth() const { return depth_; }

private:
    bool inline_ = false;
    std::vector<std::unique_ptr<ShmSegment>> in_shm_, out_shm_;
    PlaneRing motion_, depth_;
    std::vector<std::vector<unsigned char>> in_mem_, out_mem_;
    std::unique_ptr<CudaSlots> cuda_;
};

struct InFlight {
    Clock::time_point submitted;
    uint32_t slot = 0;
    std::vector<uint32_t> released;  // output slots handed back with this frame
};

struct ReadyFrame {
    uint32_t slot = 0;
    uint64_t id = 0;
    double time = 0.0;
    lsd_timings timings{};
};

class SlotLedger {
public:
    // a new binding: every input slot is the client's, every output slot the runtime's
    void bind(std::shared_ptr<SlotStorage> storage, const RingGeometry& in, const RingGeometry& out);
    // no binding any more; returns how many frames were in flight (lost)
    size_t unbind();

    bool bound() const { return storage_ != nullptr; }
    uint64_t generation() const { return generation_; }
    const RingGeometry& input() const { return in_; }
    const RingGeometry& output() const { return out_; }
    const std::shared_ptr<SlotStorage>& storage() const { return storage_; }

    // submit: a free input slot, now the caller's to fill
    std::optional<uint32_t> acquire_input();
    // an acquired input slot that could not be filled: the client's again
    void give_back_input(uint32_t slot) {
        if (slot < in_.slots) in_owned_[slot] = true;
    }
    void in_flight(uint64_t id, uint32_t slot, Clock::time_point submitted);
    // the frame message is about to go out carrying these releases
    std::vector<uint32_t> releases_for(uint64_t id);
    // the frame could not be sent: its slot and releases are the client's again; false if unknown
    bool unsent(uint64_t id);

    // frame_done: the input slot comes back; nullopt for an id not in flight (stale, stray)
    std::optional<InFlight> finished(uint64_t id);
    // dropped, or an error about the frame: the slot (and, for an error, its releases) come back
    bool dropped(uint64_t id);
    bool refused(uint64_t id);

    // whether the client holds output slot j (ready, or being taken): a frame_done naming it
    // again is a broken runtime's, and its bytes must not land where take() may be reading
    bool output_held(uint32_t j) const { return j < out_.slots && out_held_[j]; }
    // the newest finished frame (its slot now the client's): the previous one, never taken,
    // goes back to the runtime
    void ready(const ReadyFrame& frame);
    std::optional<ReadyFrame> take_ready();
    bool has_ready() const { return ready_.has_value(); }

    // hands a held output slot back (a slot the client does not hold is ignored)
    void release(uint32_t output_slot);
    // an answer for a frame not in flight named slot j: the runtime thinks it is ours; give it back
    void release_stray(uint32_t output_slot);
    std::vector<uint32_t> drain_releases();

private:
    std::shared_ptr<SlotStorage> storage_;
    RingGeometry in_, out_;
    uint64_t generation_ = 0;
    std::array<bool, LSD_MAX_SLOTS> in_owned_{};
    std::array<bool, LSD_MAX_SLOTS> out_held_{};
    std::map<uint64_t, InFlight> inflight_;
    std::optional<ReadyFrame> ready_;
    std::vector<uint32_t> release_queue_;
};

}  // namespace lsd
