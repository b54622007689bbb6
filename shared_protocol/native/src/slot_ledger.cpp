#include "slot_ledger.hpp"

namespace lsd {

std::shared_ptr<SlotStorage> SlotStorage::shm(std::vector<std::unique_ptr<ShmSegment>> in,
                                              std::vector<std::unique_ptr<ShmSegment>> out, PlaneRing motion,
                                              PlaneRing depth) {
    auto s = std::make_shared<SlotStorage>();
    s->in_shm_ = std::move(in);
    s->out_shm_ = std::move(out);
    s->motion_ = std::move(motion);
    s->depth_ = std::move(depth);
    return s;
}

std::shared_ptr<SlotStorage> SlotStorage::local(const RingGeometry& in, const RingGeometry& out) {
    auto s = std::make_shared<SlotStorage>();
    s->inline_ = true;
    s->in_mem_.assign(in.slots, std::vector<unsigned char>(in.size));
    s->out_mem_.assign(out.slots, std::vector<unsigned char>(out.size));
    return s;
}

std::shared_ptr<SlotStorage> SlotStorage::device(std::unique_ptr<CudaSlots> slots) {
    auto s = std::make_shared<SlotStorage>();
    s->cuda_ = std::move(slots);
    return s;
}

unsigned char* SlotStorage::input(uint32_t k) const {
    if (cuda_) return nullptr;
    return inline_ ? const_cast<unsigned char*>(in_mem_[k].data()) : in_shm_[k]->data();
}

unsigned char* SlotStorage::output(uint32_t k) const {
    if (cuda_) return nullptr;
    return inline_ ? const_cast<unsigned char*>(out_mem_[k].data()) : out_shm_[k]->data();
}

void SlotLedger::bind(std::shared_ptr<SlotStorage> storage, const RingGeometry& in, const RingGeometry& out) {
    unbind();
    storage_ = std::move(storage);
    in_ = in;
    out_ = out;
    for (uint32_t k = 0; k < in.slots; ++k) in_owned_[k] = true;
}

size_t SlotLedger::unbind() {
    size_t lost = inflight_.size();
    storage_.reset();
    ++generation_;
    in_owned_.fill(false);
    out_held_.fill(false);
    inflight_.clear();
    ready_.reset();
    release_queue_.clear();
    return lost;
}

std::optional<uint32_t> SlotLedger::acquire_input() {
    for (uint32_t k = 0; k < in_.slots; ++k) {
        if (in_owned_[k]) {
            in_owned_[k] = false;
            return k;
        }
    }
    return std::nullopt;
}

void SlotLedger::in_flight(uint64_t id, uint32_t slot, Clock::time_point submitted) {
    inflight_[id] = InFlight{submitted, slot, {}};
}

std::vector<uint32_t> SlotLedger::releases_for(uint64_t id) {
    std::vector<uint32_t> rel;
    rel.swap(release_queue_);
    auto it = inflight_.find(id);
    if (it != inflight_.end()) it->second.released = rel;
    return rel;
}

bool SlotLedger::unsent(uint64_t id) {
    auto it = inflight_.find(id);
    if (it == inflight_.end()) return false;
    if (it->second.slot < in_.slots) in_owned_[it->second.slot] = true;
    for (uint32_t s : it->second.released) release_queue_.push_back(s);
    inflight_.erase(it);
    return true;
}

std::optional<InFlight> SlotLedger::finished(uint64_t id) {
    auto it = inflight_.find(id);
    if (it == inflight_.end()) return std::nullopt;
    InFlight f = it->second;
    inflight_.erase(it);
    // the input slot comes back; trust our record of it (in_slot should say the same)
    if (f.slot < in_.slots) in_owned_[f.slot] = true;
    return f;
}

bool SlotLedger::dropped(uint64_t id) { return finished(id).has_value(); }

bool SlotLedger::refused(uint64_t id) { return unsent(id); }  // an error changes nothing on the runtime

void SlotLedger::ready(const ReadyFrame& frame) {
    if (frame.slot >= out_.slots || out_held_[frame.slot]) return;
    if (ready_) release(ready_->slot);  // never taken: newest wins
    out_held_[frame.slot] = true;
    ready_ = frame;
}

std::optional<ReadyFrame> SlotLedger::take_ready() {
    std::optional<ReadyFrame> r;
    r.swap(ready_);
    return r;
}

void SlotLedger::release(uint32_t output_slot) {
    if (!output_held(output_slot)) return;
    out_held_[output_slot] = false;
    release_queue_.push_back(output_slot);
}

void SlotLedger::release_stray(uint32_t output_slot) {
    if (output_slot < out_.slots && !out_held_[output_slot]) release_queue_.push_back(output_slot);
}

std::vector<uint32_t> SlotLedger::drain_releases() {
    std::vector<uint32_t> out;
    out.swap(release_queue_);
    return out;
}

}  // namespace lsd
