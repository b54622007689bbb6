#include "runtime_process.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace lsdtest {
namespace fs = std::filesystem;

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

static pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
    pid_t pid = ::fork();
    if (pid != 0) return pid;
    if (!log_path.empty()) {
        int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) { ::dup2(fd, 1); ::dup2(fd, 2); ::close(fd); }
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
    for (const auto& e : extra) cmd.push_back(e);
    log_ = state_dir + "/runtime.log";
    pid_ = spawn(cmd, log_);
    if (pid_ < 0) { why = "fork failed"; return false; }
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
        if (::waitpid(pid_, &status, WNOHANG) == pid_) { pid_ = -1; return; }
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

}  // namespace lsdtest
