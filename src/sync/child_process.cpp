#include "child_process.hpp"

#include <cerrno>
#include <map>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spock/core/error.hpp"
#include "spock/pg/guard.hpp"

extern "C" {
#include <miscadmin.h>
#include <pgstat.h>
#include <storage/ipc.h>
#include <storage/latch.h>
}

extern char** environ;

namespace spock::sync {
namespace {

constexpr size_t kMaxOutput = 64 * 1024;

// The child being waited for, for the exit hook: a FATAL error or postmaster death ends the
// backend with proc_exit, which unwinds no C++ frame, so no destructor would kill the child.
pid_t active_child = 0;
bool exit_hook_registered = false;

// Asks the child to stop, gives it a second, then kills it; reaps it either way.
void terminate_and_reap(pid_t pid) noexcept {
    if (pid <= 0) {
        return;
    }
    int status;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            return;
        }
        usleep(10000);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

void kill_child_at_exit(int, Datum) {
    pid_t pid = active_child;
    active_child = 0;
    terminate_and_reap(pid);
}

// The backend's environment with `extra` entries added or replacing same-named ones.
std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
    std::map<std::string, std::string> vars;
    std::vector<std::string> order;
    auto put = [&](const std::string& entry) {
        std::string name = entry.substr(0, entry.find('='));
        if (vars.find(name) == vars.end()) {
            order.push_back(name);
        }
        vars[name] = entry;
    };
    for (char** e = environ; e != nullptr && *e != nullptr; e++) {
        put(*e);
    }
    for (const std::string& entry : extra) {
        put(entry);
    }
    std::vector<std::string> out;
    for (const std::string& name : order) {
        out.push_back(vars[name]);
    }
    return out;
}

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnSetup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attr);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
};

}  // namespace

ChildProcess::ChildProcess(const std::string& path, const std::vector<std::string>& args,
                           const std::vector<std::string>& env) {
    if (!exit_hook_registered) {
        pg::pg_call([] { on_proc_exit(kill_child_at_exit, (Datum)0); });
        exit_hook_registered = true;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        throw core::Error("58000", "could not create a pipe for " + path, strerror(errno));
    }
    fcntl(fds[0], F_SETFL, O_NONBLOCK);

    std::vector<std::string> envs = child_environment(env);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(path.c_str()));
    for (const std::string& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const std::string& e : envs) {
        envp.push_back(const_cast<char*>(e.c_str()));
    }
    envp.push_back(nullptr);

    // The child gets /dev/null as input, the pipe as output, none of the backend's other
    // descriptors (client socket, libpq connections, data files), no blocked signals and
    // default handlers (the backend ignores SIGPIPE, for one).
    SpawnSetup setup;
    posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&setup.actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&setup.actions, fds[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
    sigset_t none;
    sigset_t all;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    posix_spawnattr_setsigmask(&setup.attr, &none);
    posix_spawnattr_setsigdefault(&setup.attr, &all);
    posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    pid_t pid;
    int rc = posix_spawn(&pid, path.c_str(), &setup.actions, &setup.attr, argv.data(), envp.data());
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        throw core::Error("58000", "could not start " + path, strerror(rc));
    }
    pid_ = pid;
    out_fd_ = fds[0];
    active_child = pid;
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0) {
        terminate_and_reap(pid_);
        if (active_child == pid_) {
            active_child = 0;
        }
    }
    if (out_fd_ >= 0) {
        close(out_fd_);
    }
}

void ChildProcess::read_output() noexcept {
    char buf[8192];
    while (out_fd_ >= 0) {
        ssize_t n = read(out_fd_, buf, sizeof buf);
        if (n > 0) {
            size_t room = kMaxOutput > output_.size() ? kMaxOutput - output_.size() : 0;
            output_.append(buf, static_cast<size_t>(n) < room ? static_cast<size_t>(n) : room);
        } else if (n == 0) {
            close(out_fd_);
            out_fd_ = -1;
        } else if (errno != EINTR) {
            return;  // EAGAIN: nothing more for now
        }
    }
}

int ChildProcess::wait() {
    for (;;) {
        read_output();
        int status = 0;
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            active_child = 0;
            read_output();
            return status;
        }
        if (r < 0 && errno != EINTR) {
            throw core::Error("58000", "could not wait for a child process", strerror(errno));
        }
        int fd = out_fd_;
        pg::pg_call([fd] {
            int events = WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH;
            int rc = fd >= 0 ? WaitLatchOrSocket(MyLatch, events | WL_SOCKET_READABLE, fd, 100L,
                                                 PG_WAIT_EXTENSION)
                             : WaitLatch(MyLatch, events, 100L, PG_WAIT_EXTENSION);
            if (rc & WL_LATCH_SET) {
                ResetLatch(MyLatch);
            }
            // Stop the child before the cancel or termination is acted on: a FATAL exit
            // unwinds nothing. The destructor or the exit hook reaps it.
            if (InterruptPending && (ProcDiePending || QueryCancelPending) &&
                INTERRUPTS_CAN_BE_PROCESSED() && active_child > 0) {
                kill(active_child, SIGTERM);
            }
            CHECK_FOR_INTERRUPTS();
        });
    }
}

std::string ChildProcess::output() const {
    std::string out = output_;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\r')) {
        out.pop_back();
    }
    return out;
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) {
        return "exited with code " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return "was terminated by signal " + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")";
    }
    return "ended with status " + std::to_string(status);
}

}  // namespace spock::sync
