// One mapped shared-memory slot created by the runtime (the client opens, maps, unmaps).
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

    // POSIX: shm_open(name, O_RDWR, 0) + mmap(size). Windows: OpenFileMappingA("Local\\" + name).
    bool open(const std::string& name, size_t size, std::string& why);
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
