// Running pg_dump and pg_restore as children of a backend (reference §7.1, step 5): spawned
// directly (no shell), waited for on the latch so that a cancel or a shutdown request is seen,
// and killed when the waiting backend gives up, whatever the way out.
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

namespace spock::sync {

class ChildProcess {
  public:
    // Starts the program at `path` with `args` (argv[1...]). `env` entries ("NAME=value") are
    // added to, or replace, the backend's environment. stdout and stderr are captured
    // together. Raises 58000 when the program cannot be started.
    ChildProcess(const std::string& path, const std::vector<std::string>& args,
                 const std::vector<std::string>& env);
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    // Kills and reaps a child that is still running.
    ~ChildProcess();

    // Waits until the child exits, collecting its output, and returns its wait status.
    // Interrupts are processed while waiting: a cancel or a shutdown request kills the child
    // before the error or exit they cause.
    int wait();

    // What the child wrote, trimmed (at most the first 64 kB).
    std::string output() const;

  private:
    void read_output() noexcept;
    pid_t pid_ = -1;
    int out_fd_ = -1;
    std::string output_;
};

// "exited with code 1", "was terminated by signal 9" and the like, for error details.
std::string describe_wait_status(int status);

}  // namespace spock::sync
