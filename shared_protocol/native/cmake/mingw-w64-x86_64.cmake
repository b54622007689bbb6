# Cross-compiling for Windows x86_64 with Debian's mingw-w64 (posix threads variant, for
# std::thread / std::mutex). Used by scripts/build_windows.sh; works with any CMake project.
set(CMAKE_SYSTEM_NAME Windows)
# without a version CMake leaves _WIN32_WINNT unset and libzmq's Windows code does not build
set(CMAKE_SYSTEM_VERSION 10.0)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
# LSD_WIN_PREFIX: the prefix holding the cross-built / header-only dependencies
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32 $ENV{LSD_WIN_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
