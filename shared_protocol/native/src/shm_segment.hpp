// One mapped shared-memory slot created by the runtime (the client opens, maps, unmaps).
//
// The game maps it, so it must never be able to fault: on Linux only a memfd the runtime sealed
// against shrinking (F_SEAL_SHRINK) is mapped, opened as /proc/<runtime pid>/fd/<n>; a named
// /dev/shm segment, which any process of the user could shrink under the mapping, is refused.
// macOS: a named segment (it cannot be resized once sized). Windows: a named file mapping.
#pragma once
#include <cstddef>
#include <string>

namespace lsd {

class ShmSegment {
public:
    ShmSegment() = default;
    ~ShmSegment();
    ShmSegment(const ShmSegment&) = delete;
    ShmSegment& operator=(const ShmSegment&) = delete;

    // Linux: open("/proc/<pid>/fd/<n>") of a sealed memfd + mmap(size). Other POSIX:
    // shm_open(name, O_RDWR, 0) + mmap(size). Windows: OpenFileMappingA("Local\\" + name).
    // `session` (welcome.session), when given: a Linux memfd must carry it in its name, so a
    // descriptor the runtime closed and reused for another session's slot is never mapped.
    bool open(const std::string& name, size_t size, std::string& why, const std::string& session = "");
    void close();
    unsigned char* data() const { return data_; }
    size_t size() const { return size_; }

private:
    unsigned char* data_ = nullptr;
    size_t size_ = 0;
#ifdef _WIN32
    void* mapping_ = nullptr;
#endif
};

}  // namespace lsd
