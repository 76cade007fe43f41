#include "spock/pg/private_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spock/core/error.hpp"
#include "spock/pg/postgres.hpp"

extern "C" {
#include <miscadmin.h>
}

namespace spock::pg {
namespace {

// The SQLSTATE PostgreSQL's errcode_for_file_access() gives for an errno.
std::string_view file_access_state(int err) {
    switch (err) {
        case EPERM:
        case EACCES:
        case EROFS:
            return "42501";
        case ENOENT:
            return "58P01";
        case EEXIST:
            return "58P02";
        case ENOSPC:
            return "53100";
        default:
            return "58030";
    }
}

[[noreturn]] void unsafe(const std::string& dir, const std::string& why) {
    throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                      "directory \"" + dir + "\" is not safe for spock's private files", why,
                      "Remove it or give it to the server's operating system user with mode "
                      "0700; spock creates a missing directory itself.");
}

// lstat of an existing directory that must be a real one (not a symbolic link).
struct stat stat_real_directory(const std::string& dir) {
    struct stat st;
    if (lstat(dir.c_str(), &st) != 0) {
        int err = errno;
        throw core::Error(file_access_state(err),
                          "could not stat directory \"" + dir + "\": " + strerror(err));
    }
    if (S_ISLNK(st.st_mode)) {
        unsafe(dir, "It is a symbolic link.");
    }
    if (!S_ISDIR(st.st_mode)) {
        unsafe(dir, "It is not a directory.");
    }
    return st;
}

// Creates dir with 0700 unless it exists; then checks what is there.
void ensure_private(const std::string& dir) {
    if (mkdir(dir.c_str(), S_IRWXU) != 0 && errno != EEXIST) {
        int err = errno;
        throw core::Error(file_access_state(err),
                          "could not create directory \"" + dir + "\": " + strerror(err));
    }
    struct stat st = stat_real_directory(dir);
    if (st.st_uid != geteuid()) {
        unsafe(dir, "It is owned by user id " + std::to_string(st.st_uid) +
                        ", not by the server's user id " + std::to_string(geteuid()) + ".");
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        unsafe(dir, "Group or others have access to it.");
    }
}

}  // namespace

std::string spock_private_dir(const char* subdir) {
    if (DataDir == nullptr || DataDir[0] == '\0') {
        throw core::Error(core::sqlstate::kInternalError, "data directory is not known");
    }
    std::string sub = subdir == nullptr ? "" : subdir;
    if (sub.find('/') != std::string::npos || sub == "." || sub == "..") {
        throw core::Error(core::sqlstate::kInternalError,
                          "invalid private subdirectory name \"" + sub + "\"");
    }
    std::string dir = std::string(DataDir) + "/pg_spock";
    ensure_private(dir);
    if (!sub.empty()) {
        dir += "/" + sub;
        ensure_private(dir);
    }
    return dir;
}

void check_directory_safe(const std::string& dir) {
    struct stat st = stat_real_directory(dir);
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        unsafe(dir, "It is owned by user id " + std::to_string(st.st_uid) +
                        ", neither by the server's user nor by root.");
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
        unsafe(dir, "Group or others may write to it and it is not sticky.");
    }
}

std::string private_subdir_of(const std::string& base, const std::string& name) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
        throw core::Error(core::sqlstate::kInternalError,
                          "invalid private subdirectory name \"" + name + "\"");
    }
    check_directory_safe(base);
    std::string dir = base + "/" + name;
    ensure_private(dir);
    return dir;
}

std::string create_private_file(const std::string& dir, const std::string& prefix,
                                const std::string& suffix) {
    std::string path = dir + "/" + prefix + "XXXXXX" + suffix;
    if (path.size() >= MAXPGPATH) {
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          "path of a private file is too long", "\"" + path + "\".");
    }
    std::vector<char> buf(path.begin(), path.end());
    buf.push_back('\0');
    // mkstemps creates the file with O_CREAT | O_EXCL and mode 0600.
    int fd = mkstemps(buf.data(), static_cast<int>(suffix.size()));
    if (fd < 0) {
        int err = errno;
        throw core::Error(file_access_state(err),
                          "could not create file in directory \"" + dir + "\": " + strerror(err));
    }
    (void)fchmod(fd, S_IRUSR | S_IWUSR);
    close(fd);
    return std::string(buf.data());
}

}  // namespace spock::pg
