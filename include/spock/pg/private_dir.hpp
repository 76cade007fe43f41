// spock's private directory in the data directory, for files nobody but the server may read
// or replace: schema dumps of a structure sync, spill files.
#pragma once

#include <string>

namespace spock::pg {

// Returns the absolute path of <DataDir>/pg_spock/<subdir>, creating pg_spock and the
// subdirectory with mode 0700 when missing. An existing one must be a real directory (not a
// symbolic link), owned by the server's user, with no access for group or others; otherwise
// a core::Error (55000) is thrown. `subdir` is a single path component ("" for pg_spock
// itself). Makes system calls only: safe to call from C++ frames without pg_call.
std::string spock_private_dir(const char* subdir);

// Checks that an existing directory chosen by the administrator is fit for private files: a
// real directory (not a symbolic link), owned by the server's user or root, and, when group
// or others may write to it, sticky. Throws core::Error (55000 or a file access SQLSTATE).
void check_directory_safe(const std::string& dir);

// Returns <base>/<name>, creating it with mode 0700 when missing, inside a directory chosen by
// the administrator (base is checked with check_directory_safe; the subdirectory must then be
// ours with no access for group or others, as in spock_private_dir). `name` is a single path
// component.
std::string private_subdir_of(const std::string& base, const std::string& name);

// Creates a new, empty file <dir>/<prefix>XXXXXX<suffix> with a random part, O_CREAT|O_EXCL
// and mode 0600, and returns its path. Throws core::Error when it cannot.
std::string create_private_file(const std::string& dir, const std::string& prefix,
                                const std::string& suffix);

}  // namespace spock::pg
