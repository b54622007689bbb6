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
#  if defined(__linux__)
#    ifndef F_GET_SEALS  // older C libraries: the kernel's values
#      define F_GET_SEALS 1034
#    endif
#    ifndef F_SEAL_SHRINK
#      define F_SEAL_SHRINK 0x0002
#    endif
#  endif
#endif

namespace lsd {

ShmSegment::~ShmSegment() { close(); }

namespace {

// "/proc/<digits>/fd/<digits>": where a client opens the runtime's memfd (Linux)
bool is_memfd_path(const std::string& name) {
    const std::string proc = "/proc/", fd = "/fd/";
    if (name.compare(0, proc.size(), proc) != 0) return false;
    size_t k = proc.size(), digits = 0;
    while (k < name.size() && name[k] >= '0' && name[k] <= '9') ++k, ++digits;
    if (digits == 0 || digits > 10 || name.compare(k, fd.size(), fd) != 0) return false;
    k += fd.size();
    digits = 0;
    while (k < name.size() && name[k] >= '0' && name[k] <= '9') ++k, ++digits;
    return digits > 0 && digits <= 10 && k == name.size();
}

}  // namespace

bool ShmSegment::open(const std::string& name, size_t size, std::string& why, const std::string& session) {
    close();
    bool memfd = is_memfd_path(name);
    if (!memfd && (name.empty() || name[0] != '/' || name.find('/', 1) != std::string::npos || name.size() > 200)) {
        why = "bad shared-memory name '" + name.substr(0, 64) + "'";
        return false;
    }
    if (size == 0) {
        why = "shared-memory size 0";
        return false;
    }
#ifdef _WIN32
    (void)session;
    if (memfd) {
        why = "'" + name + "' is a Linux memfd path; this is Windows";
        return false;
    }
    std::string tag = "Local\\" + name.substr(1);
    HANDLE h = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, tag.c_str());
    if (!h) {
        why = "OpenFileMappingA(" + tag + ") failed: error " + std::to_string(GetLastError());
        return false;
    }
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
    int fd = -1;
#  if defined(__linux__)
    if (!memfd) {
        why = "the runtime offered a named segment ('" + name.substr(0, 64) +
              "'), which another process could shrink under the game; update the runtime (it uses sealed "
              "memfds on Linux)";
        return false;
    }
    fd = ::open(name.c_str(), O_RDWR | O_CLOEXEC);  // a /proc magic link: no O_NOFOLLOW
    if (fd < 0) {
        why = "open(" + name + ") failed: " + std::strerror(errno);
        return false;
    }
    if (!session.empty()) {
        char target[512];
        ssize_t n = ::readlink(name.c_str(), target, sizeof target - 1);
        std::string t = n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string();
        if (t.find("-" + session + "-") == std::string::npos) {
            why = "slot memory " + name + " is '" + t + "', not session " + session + "'s";
            ::close(fd);
            return false;
        }
    }
    int seals = ::fcntl(fd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
        why = "slot memory " + name + " is not sealed against shrinking; refusing to map it";
        ::close(fd);
        return false;
    }
#  else
    (void)session;
    if (memfd) {
        why = "'" + name + "' is a Linux memfd path; this system has named segments";
        return false;
    }
    fd = ::shm_open(name.c_str(), O_RDWR, 0);
    if (fd < 0) {
        why = "shm_open(" + name + ") failed: " + std::strerror(errno);
        return false;
    }
#  endif
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
    if (p == MAP_FAILED) {
        why = "mmap(" + name + ") failed: " + std::strerror(err);
        return false;
    }
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
