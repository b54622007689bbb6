// One request the API side asks for and the I/O thread completes (bind, set_style): the
// latest wanted value, what was sent, and the answer, with the sequence numbers that let an
// API call wait for the answer to its own request. Guarded by the client's mutex.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "lsd_bridge/lsd_client.h"

namespace lsd {

template <typename T>
class PendingRequest {
public:
    // API side: a new wanted value; returns its sequence number to wait for
    uint64_t want(const T& value) {
        want_ = value;
        want_is_accepted_ = false;
        return ++seq_;
    }
    const std::optional<T>& wanted() const { return want_; }

    // I/O thread: the wanted value goes out under request id `id`
    std::optional<T> send(uint64_t id) {
        if (!want_) return std::nullopt;
        sent_ = want_;
        sent_seq_ = seq_;
        sent_is_accepted_ = want_is_accepted_;
        id_ = id;
        answered_here_ = false;
        return sent_;
    }
    uint64_t id() const { return id_; }
    const std::optional<T>& sent() const { return sent_; }
    const std::optional<T>& accepted() const { return accepted_; }

    // I/O thread: the runtime accepted what was sent
    void accept() {
        finish(LSD_OK, {});
        accepted_ = sent_;
        if (seq_ == sent_seq_) want_is_accepted_ = true;  // what is wanted is what is applied
    }

    // I/O thread: the runtime refused what was sent. Unless the API has asked for something
    // newer meanwhile (that stays wanted and goes out next), the request falls back: to the
    // last accepted value when `fall_back`, else to nothing. A refused resend of the accepted
    // value itself (a new runtime refusing what the old one took) leaves nothing to resend.
    void refuse(lsd_status result, std::string error, bool fall_back) {
        finish(result, std::move(error));
        if (seq_ != sent_seq_) return;  // a newer request is waiting to be sent
        if (!fall_back || sent_is_accepted_) {
            want_.reset();
            if (sent_is_accepted_) accepted_.reset();
            want_is_accepted_ = false;
        } else {
            want_ = accepted_;
            want_is_accepted_ = accepted_.has_value();
        }
    }

    // I/O thread: the request could not be carried out here (slots not mappable): answered,
    // and still wanted, so it goes out again after a reconnect
    void fail(lsd_status result, std::string error) { finish(result, std::move(error)); }

    // the session ended: what was applied there is gone until the next session answers
    void session_lost() { answered_here_ = false; }

    bool answered(uint64_t seq) const { return done_seq_ >= seq; }
    // the latest wanted value has not been answered (on this session) yet
    bool pending() const { return want_.has_value() && (done_seq_ < seq_ || !answered_here_); }
    lsd_status result() const { return result_; }
    const std::string& error() const { return error_; }

    // API side (lock held): waits up to timeout for the answer to `seq`, or until `stop()`
    template <typename Stop>
    bool wait(std::unique_lock<std::mutex>& lk, std::condition_variable& cv, uint64_t seq, uint32_t timeout_ms,
              Stop stop) const {
        cv.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return answered(seq) || stop(); });
        return answered(seq);
    }

private:
    void finish(lsd_status result, std::string error) {
        done_seq_ = sent_seq_;
        result_ = result;
        error_ = std::move(error);
        answered_here_ = true;
    }

    std::optional<T> want_, sent_, accepted_;
    uint64_t seq_ = 0, sent_seq_ = 0, done_seq_ = 0, id_ = 0;
    bool answered_here_ = false;
    bool want_is_accepted_ = false, sent_is_accepted_ = false;  // the value is a resend of what was applied
    lsd_status result_ = LSD_OK;
    std::string error_;
};

}  // namespace lsd
