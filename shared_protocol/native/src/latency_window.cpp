#include "latency_window.hpp"

#include <algorithm>
#include <cmath>

namespace lsd {

void LatencyWindow::add(double ms) {
    ++total_;
    if (buf_.size() < cap_) {
        buf_.push_back(ms);
        return;
    }
    buf_[next_] = ms;
    next_ = (next_ + 1) % cap_;
}

double LatencyWindow::percentile(double q) const {
    if (buf_.empty()) return 0.0;
    std::vector<double> v = buf_;
    std::sort(v.begin(), v.end());
    // linear interpolation between closest ranks, like numpy.percentile (the runtime's stats)
    double pos = q / 100.0 * static_cast<double>(v.size() - 1);
    size_t lo = static_cast<size_t>(std::floor(pos));
    size_t hi = std::min(lo + 1, v.size() - 1);
    double frac = pos - static_cast<double>(lo);
    return v[lo] + (v[hi] - v[lo]) * frac;
}

}  // namespace lsd
