// A native client's counters and latency windows (what lsd_client_get_stats reports).
#pragma once
#include <cstdint>

#include "latency_window.hpp"
#include "lsd_bridge/lsd_client.h"

namespace lsd {

struct ClientStats {
    uint64_t submitted = 0, done = 0, dropped = 0, skipped = 0, lost = 0, taken = 0, reconnects = 0, errors = 0;
    uint64_t inline_sent = 0, inline_received = 0, inline_packed = 0;
    LatencyWindow queue, input, backend, output, total, round_trip;

    void add(const lsd_timings& t) {
        queue.add(t.queue_ms);
        input.add(t.input_ms);
        backend.add(t.backend_ms);
        output.add(t.output_ms);
        total.add(t.total_ms);
        round_trip.add(t.round_trip_ms);
    }

    void fill(lsd_stats& s) const {
        s.frames_submitted = submitted;
        s.frames_done = done;
        s.frames_dropped = dropped;
        s.frames_skipped = skipped;
        s.frames_lost = lost;
        s.frames_taken = taken;
        s.reconnects = reconnects;
        s.errors = errors;
        s.inline_bytes_sent = inline_sent;
        s.inline_bytes_received = inline_received;
        s.inline_frames_packed = inline_packed;
        fill(s.queue, queue);
        fill(s.input, input);
        fill(s.backend, backend);
        fill(s.output, output);
        fill(s.total, total);
        fill(s.round_trip, round_trip);
    }

private:
    static void fill(lsd_latency& l, const LatencyWindow& w) {
        l.p50_ms = w.percentile(50.0);
        l.p99_ms = w.percentile(99.0);
        l.samples = w.size();
    }
};

}  // namespace lsd
