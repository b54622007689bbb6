#include "shm_segment.hpp"

#include <cerrno>
#include <cstring>

#ifdef _WIN32
#  define WIN32_LEAN_AND_MEAN
#  include <windows.h>
#else
#  include <fcntl.h>
#  include <sys/mman.h>
#  include <sys/stat.h>
#  include <unistd.h>
#endif

namespace lsd {

ShmSegment::~ShmSegment() { close(); }

bool ShmSegment::open(const std::string& name, size_t size, std::string& why) {
    close();
    if (name.empty() || name[0] != '/' || name.find('/', 1) != std::string::npos || name.size() > 200) {
        why = "bad shared-memory name '" + name.substr(0, 64) + "'";
        return false;
    }
    if (size == 0) { why = "shared-memory size 0"; return false; }
#ifdef _WIN32
    std::string tag = "Local\\" + name.substr(1);
    HANDLE h = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, tag.c_str());
    if (!h) { why = "OpenFileMappingA(" + tag + ") failed: error " + std::to_string(GetLastError()); return false; }
    void* p = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, size);
    if (!p) {
        why = "MapViewOfFile(" + tag + ") failed: error " + std::to_string(GetLastError());
        CloseHandle(h);
        return false;
    }
    mapping_ = h;
    data_ = static_cast<unsigned char*>(p);
    size_ = size;
    return true;
#else
    int fd = ::shm_open(name.c_str(), O_RDWR, 0);
    if (fd < 0) { why = "shm_open(" + name + ") failed: " + std::strerror(errno); return false; }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) < size) {
        why = "shared memory '" + name + "' is " + std::to_string(static_cast<long long>(st.st_size)) +
              " bytes, expected " + std::to_string(size);
        ::close(fd);
        return false;
    }
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) { why = "mmap(" + name + ") failed: " + std::strerror(err); return false; }
    data_ = static_cast<unsigned char*>(p);
    size_ = size;
    return true;
#endif
}

void ShmSegment::close() {
    if (!data_) return;
#ifdef _WIN32
    UnmapViewOfFile(data_);
    CloseHandle(static_cast<HANDLE>(mapping_));
    mapping_ = nullptr;
#else
    ::munmap(data_, size_);
#endif
    data_ = nullptr;
    size_ = 0;
}

}  // namespace lsd
