// The last N samples of one latency; p50/p99 on demand.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lsd {

class LatencyWindow {
public:
    explicit LatencyWindow(size_t capacity = 1024) : cap_(capacity) {}
    void add(double ms);
    // percentile, numpy-style linear interpolation, (q in 0..100) over the window; 0 when empty
    double percentile(double q) const;
    uint64_t count() const { return total_; }
    size_t size() const { return buf_.size(); }
    void clear() {
        buf_.clear();
        next_ = 0;
        total_ = 0;
    }

private:
    size_t cap_;
    std::vector<double> buf_;
    size_t next_ = 0;
    uint64_t total_ = 0;
};

}  // namespace lsd
