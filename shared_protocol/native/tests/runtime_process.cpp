#include "runtime_process.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#ifdef _WIN32
#  define WIN32_LEAN_AND_MEAN
#  include <winsock2.h>
#  include <ws2tcpip.h>
#  include <windows.h>

#  include <nlohmann/json.hpp>
#else
#  include <arpa/inet.h>
#  include <csignal>
#  include <fcntl.h>
#  include <netinet/in.h>
#  include <sys/socket.h>
#  include <sys/wait.h>
#  include <unistd.h>
#endif

namespace lsdtest {
namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

bool write_file(const std::string& path, const void* data, size_t n) {
    std::ofstream f(path, std::ios::binary);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    return static_cast<bool>(f);
}

bool shm_available() {
    const char* t = std::getenv("LSD_TEST_TRANSPORT");
    return !(t && std::string(t) == "inline");
}

#ifndef _WIN32
std::string native_path(const std::string& posix_path) { return posix_path; }

std::vector<std::string> runtime_command() {
    std::vector<std::string> cmd;
    if (const char* env = std::getenv("LSD_RUNTIME_CMD"); env && *env) {
        std::istringstream ss(env);
        std::string w;
        while (ss >> w) cmd.push_back(w);
        return cmd;
    }
    if (const char* path = std::getenv("PATH")) {
        std::istringstream ss(path);
        std::string dir;
        while (std::getline(ss, dir, ':'))
            if (!dir.empty() && ::access((dir + "/lsd-runtime").c_str(), X_OK) == 0) return {dir + "/lsd-runtime"};
    }
    return {"python3", "-m", "lsd_runtime"};
}

std::string make_temp_dir(const std::string& prefix) {
    std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char* d = ::mkdtemp(buf.data());
    return d ? std::string(d) : std::string();
}

void remove_tree(const std::string& dir) {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
}

static pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
    pid_t pid = ::fork();
    if (pid != 0) return pid;
    if (!log_path.empty()) {
        int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            ::close(fd);
        }
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
}

int run_command(const std::vector<std::string>& argv, const std::string& log_path) {
    pid_t pid = spawn(argv, log_path);
    if (pid < 0) return -1;
    int status = 0;
    if (::waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int free_tcp_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) ::close(fd);
    return port;
}

bool RuntimeProcess::start(const std::string& state_dir, std::string& why, int wait_s,
                           const std::vector<std::string>& extra, const std::string& endpoint) {
    stop();
    std::vector<std::string> cmd = runtime_command();
    for (const char* a : {"serve", "--endpoint"}) cmd.push_back(a);
    cmd.push_back(endpoint);
    cmd.push_back("--state-dir");
    cmd.push_back(state_dir);
    cmd.push_back("--inline");  // the tests stream over both transports
    for (const auto& e : extra) cmd.push_back(e);
    log_ = state_dir + "/runtime.log";
    pid_ = spawn(cmd, log_);
    if (pid_ < 0) {
        why = "fork failed";
        return false;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
    std::string want = "\"pid\": " + std::to_string(pid_);
    while (std::chrono::steady_clock::now() < deadline) {
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            why = "the runtime exited at start; log:\n" + read_file(log_);
            return false;
        }
        std::string state = read_file(state_dir + "/runtime.json");
        if (state.find(want) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    why = "the runtime did not write runtime.json within " + std::to_string(wait_s) + " s; log:\n" + read_file(log_);
    stop();
    return false;
}

void RuntimeProcess::kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    // a killed runtime cannot unlink its segments (named lsd-<pid>-...); the test that killed it does
    std::error_code ec;
    std::string prefix = "lsd-" + std::to_string(pid_) + "-";
    if (fs::is_directory("/dev/shm", ec))
        for (const auto& e : fs::directory_iterator("/dev/shm", ec))
            if (e.path().filename().string().rfind(prefix, 0) == 0) fs::remove(e.path(), ec);
    pid_ = -1;
}

void RuntimeProcess::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int k = 0; k < 100; ++k) {
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill9();
}

bool apply_style(const std::string& style, unsigned w, unsigned h, const std::string& format,
                 const std::string& input_path, const std::string& output_path) {
    std::vector<std::string> cmd = runtime_command();
    for (const std::string& a : {std::string("apply"), std::string("--style"), style, std::string("--width"),
                                 std::to_string(w), std::string("--height"), std::to_string(h), std::string("--format"),
                                 format, std::string("--input"), input_path, std::string("--output"), output_path})
        cmd.push_back(a);
    return run_command(cmd, output_path + ".log") == 0;
}

#else
// ---- Windows: the runtime is started by tests/runtime_launcher.py --------------------------------

namespace {

using json = nlohmann::json;

struct WinsockOnce {
    WinsockOnce() {
        WSADATA d;
        WSAStartup(MAKEWORD(2, 2), &d);
    }
};

// One request, one reply (a JSON line each way); {"error": ...} when the launcher is unreachable.
json ask_launcher(const json& request) {
    static WinsockOnce winsock;
    const char* where = std::getenv("LSD_TEST_LAUNCHER");
    if (!where || !*where)
        return {{"error",
                 "LSD_TEST_LAUNCHER is not set: run shared_protocol/native/tests/runtime_launcher.py "
                 "and set LSD_TEST_LAUNCHER=127.0.0.1:<its port>"}};
    std::string addr(where);
    size_t colon = addr.rfind(':');
    std::string host = addr.substr(0, colon), port = colon == std::string::npos ? "" : addr.substr(colon + 1);
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
        return {{"error", "cannot resolve the launcher address " + addr}};
    SOCKET s = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    bool connected = s != INVALID_SOCKET && connect(s, res->ai_addr, static_cast<int>(res->ai_addrlen)) == 0;
    freeaddrinfo(res);
    if (!connected) {
        if (s != INVALID_SOCKET) closesocket(s);
        return {{"error", "cannot reach the runtime launcher at " + addr}};
    }
    std::string line = request.dump() + "\n";
    send(s, line.data(), static_cast<int>(line.size()), 0);
    std::string reply;
    char buf[4096];  // a read chunk: not a protocol limit
    int n;
    while ((n = recv(s, buf, sizeof buf, 0)) > 0) {
        reply.append(buf, static_cast<size_t>(n));
        if (!reply.empty() && reply.back() == '\n') break;
    }
    closesocket(s);
    json out = json::parse(reply, nullptr, false);
    if (out.is_discarded()) return {{"error", "the launcher answered: " + reply}};
    return out;
}

// Under Wine the launcher is a Linux process: its paths are Unix paths, which Wine maps to Z:.
bool launcher_is_posix() {
    static const bool posix = ask_launcher({{"op", "hello"}}).value("os", "") == "posix";
    return posix;
}

std::string to_launcher(const std::string& path) {
    if (!launcher_is_posix()) return path;
    std::string p = path;
    for (char& ch : p)
        if (ch == '\\') ch = '/';
    if (p.size() >= 2 && (p[0] == 'Z' || p[0] == 'z') && p[1] == ':') p = p.substr(2);
    return p;
}

std::string from_launcher(const std::string& path) { return launcher_is_posix() ? native_path(path) : path; }

}  // namespace

std::string native_path(const std::string& posix_path) {
    if (posix_path.empty() || posix_path[0] != '/') return posix_path;
    std::string p = "Z:" + posix_path;
    for (char& ch : p)
        if (ch == '/') ch = '\\';
    return p;
}

std::vector<std::string> runtime_command() { return {"(started by runtime_launcher.py)"}; }

std::string make_temp_dir(const std::string& prefix) {
    json r = ask_launcher({{"op", "mkdtemp"}, {"prefix", prefix}});
    if (r.contains("path")) return from_launcher(r["path"].get<std::string>());
    // no launcher: a local folder still serves the tests that need no runtime
    namespace fs = std::filesystem;
    fs::path d = fs::temp_directory_path() /
                 (prefix + "-" + std::to_string(GetCurrentProcessId()) + "-" + std::to_string(GetTickCount64()));
    std::error_code ec;
    fs::create_directories(d, ec);
    return ec ? std::string() : d.string();
}

void remove_tree(const std::string& dir) {
    if (dir.empty()) return;
    json r = ask_launcher({{"op", "rmtree"}, {"path", to_launcher(dir)}});
    if (r.contains("error")) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
}

int free_tcp_port() {
    json r = ask_launcher({{"op", "free_port"}});
    return r.value("port", -1);
}

bool RuntimeProcess::start(const std::string& state_dir, std::string& why, int wait_s,
                           const std::vector<std::string>& extra, const std::string& endpoint) {
    stop();
    json r = ask_launcher({{"op", "start"},
                           {"state_dir", to_launcher(state_dir)},
                           {"endpoint", endpoint},
                           {"extra", extra},
                           {"wait_s", wait_s}});
    log_ = state_dir + "\\runtime.log";
    if (r.value("ok", false)) {
        pid_ = r["pid"].get<long long>();
        return true;
    }
    why = r.value("why", r.value("error", std::string("the launcher gave no reason")));
    return false;
}

void RuntimeProcess::kill9() {
    if (pid_ <= 0) return;
    ask_launcher({{"op", "kill9"}, {"pid", pid_}});
    pid_ = -1;
}

void RuntimeProcess::stop() {
    if (pid_ <= 0) return;
    ask_launcher({{"op", "stop"}, {"pid", pid_}});
    pid_ = -1;
}

// A Windows program of this machine (the example host): CreateProcess, output to log_path.
int run_command(const std::vector<std::string>& argv, const std::string& log_path) {
    std::string cmdline;
    for (const auto& a : argv) {
        if (!cmdline.empty()) cmdline += ' ';
        cmdline += '"' + a + '"';  // the tests pass no argument with a quote in it
    }
    SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, TRUE};
    HANDLE log = INVALID_HANDLE_VALUE;
    if (!log_path.empty())
        log = CreateFileA(log_path.c_str(), FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_ALWAYS,
                          FILE_ATTRIBUTE_NORMAL, nullptr);
    STARTUPINFOA si{};
    si.cb = sizeof si;
    if (log != INVALID_HANDLE_VALUE) {
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdOutput = si.hStdError = log;
        si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    }
    PROCESS_INFORMATION pi{};
    std::vector<char> buf(cmdline.begin(), cmdline.end());
    buf.push_back('\0');
    BOOL ok = CreateProcessA(nullptr, buf.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr, &si, &pi);
    if (log != INVALID_HANDLE_VALUE) CloseHandle(log);
    if (!ok) return -1;
    WaitForSingleObject(pi.hProcess, INFINITE);
    DWORD code = 0;
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    return static_cast<int>(code);
}

bool apply_style(const std::string& style, unsigned w, unsigned h, const std::string& format,
                 const std::string& input_path, const std::string& output_path) {
    json r =
        ask_launcher({{"op", "run"},
                      {"args",
                       {"apply", "--style", style, "--width", std::to_string(w), "--height", std::to_string(h),
                        "--format", format, "--input", to_launcher(input_path), "--output", to_launcher(output_path)}},
                      {"log", to_launcher(output_path + ".log")}});
    return r.value("status", -1) == 0;
}

#endif

}  // namespace lsdtest
