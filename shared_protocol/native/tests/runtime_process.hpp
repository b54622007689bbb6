// Starts and stops a real `lsd-runtime serve` process for the integration tests. POSIX: fork
// and exec. Windows: through tests/runtime_launcher.py (LSD_TEST_LAUNCHER=host:port), which runs
// beside the tests (under Wine: a Linux process; the tests then reach the runtime over TCP with
// the inline transport, see shm_available()).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lsdtest {

using ProcessId = long long;

// The command that runs the runtime: $LSD_RUNTIME_CMD (space separated), else
// `lsd-runtime` when on PATH, else `python3 -m lsd_runtime`.
std::vector<std::string> runtime_command();

std::string make_temp_dir(const std::string& prefix);
void remove_tree(const std::string& dir);

class RuntimeProcess {
public:
    ~RuntimeProcess() { stop(); }
    // Starts `serve` on a free loopback port; waits (up to wait_s) until it wrote a
    // runtime.json naming its own pid. Returns false with `why` otherwise.
    bool start(const std::string& state_dir, std::string& why, int wait_s = 60,
               const std::vector<std::string>& extra = {}, const std::string& endpoint = "tcp://127.0.0.1:0");
    void kill9();  // SIGKILL, no clean-up (runtime.json and shm segments stay)
    void stop();   // SIGTERM, then SIGKILL after 5 s
    ProcessId pid() const { return pid_; }
    std::string log_path() const { return log_; }

private:
    ProcessId pid_ = -1;
    std::string log_;
};

// A loopback TCP port that was free a moment ago.
int free_tcp_port();

// Runs a command to completion; returns its exit status (or -1).
int run_command(const std::vector<std::string>& argv, const std::string& log_path = "");

// `lsd-runtime apply`: the expected output of the runtime's pipeline for one frame.
bool apply_style(const std::string& style, unsigned w, unsigned h, const std::string& format,
                 const std::string& input_path, const std::string& output_path);

std::string read_file(const std::string& path);
bool write_file(const std::string& path, const void* data, size_t n);

// Whether the tests may use the shm transport: not with LSD_TEST_TRANSPORT=inline (Windows
// under Wine, where the Linux runtime's shared memory is out of reach).
bool shm_available();
// The path of this machine for a file the build knows by its POSIX path (under Wine: Z:\...).
std::string native_path(const std::string& posix_path);

}  // namespace lsdtest
