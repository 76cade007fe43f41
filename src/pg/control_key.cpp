#include "spock/pg/control_key.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spock/core/error.hpp"
#include "spock/pg/postgres.hpp"
#include "spock/pg/private_dir.hpp"

namespace spock::pg {
namespace {

constexpr std::size_t kKeySize = 32;

[[noreturn]] void key_error(std::string_view state, const std::string& message,
                            const std::string& detail = {}) {
    throw core::Error(state, message, detail,
                      detail.empty() ? std::string()
                                     : "Remove the file; spock creates a new key (repair mode "
                                       "messages written with the old key are then ignored).");
}

// Reads the key file into out; false when it does not exist.
bool read_key(const std::string& path, char* out) {
    int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return false;
        }
        int err = errno;
        key_error(err == ELOOP ? "55000" : "58030",
                  "could not open file \"" + path + "\": " + strerror(err));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & (S_IRWXG | S_IRWXO)) != 0 || st.st_size != static_cast<off_t>(kKeySize)) {
        close(fd);
        key_error(core::sqlstate::kObjectNotInPrerequisiteState,
                  "file \"" + path + "\" is not a valid spock key",
                  "It must be a regular file of " + std::to_string(kKeySize) +
                      " bytes owned by the server's user with mode 0600.");
    }
    ssize_t n = read(fd, out, kKeySize);
    int err = errno;
    close(fd);
    if (n != static_cast<ssize_t>(kKeySize)) {
        key_error("58030", "could not read file \"" + path +
                               "\": " + (n < 0 ? strerror(err) : "short read"));
    }
    return true;
}

void create_key(const std::string& dir, const std::string& path) {
    char fresh[kKeySize];
    if (!pg_strong_random(fresh, sizeof fresh)) {
        key_error(core::sqlstate::kInternalError, "could not generate a random spock key");
    }
    std::string tmp = create_private_file(dir, "control_message.key.", ".tmp");
    int fd = open(tmp.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    bool ok = fd >= 0 && write(fd, fresh, sizeof fresh) == static_cast<ssize_t>(sizeof fresh) &&
              fsync(fd) == 0;
    int err = errno;
    if (fd >= 0) {
        close(fd);
    }
    explicit_bzero(fresh, sizeof fresh);
    // link() never replaces an existing file: if another process got there first, its key
    // stands and ours is dropped.
    if (ok && link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
        ok = false;
        err = errno;
    }
    unlink(tmp.c_str());
    if (!ok) {
        key_error("58030", "could not create file \"" + path + "\": " + strerror(err));
    }
}

}  // namespace

std::string_view control_message_key() {
    static char key[kKeySize];
    static bool loaded = false;
    if (!loaded) {
        std::string dir = spock_private_dir("");
        std::string path = dir + "/control_message.key";
        if (!read_key(path, key)) {
            create_key(dir, path);
            if (!read_key(path, key)) {
                key_error("58030", "could not open file \"" + path + "\": " + strerror(ENOENT));
            }
        }
        loaded = true;
    }
    return std::string_view(key, kKeySize);
}

}  // namespace spock::pg
