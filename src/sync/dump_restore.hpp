// Structure synchronisation (reference §7.1 steps 5 and 7, §7.4): the provider's schema is
// dumped once with pg_dump in the exported snapshot, and restored in two parts: pre-data
// (types, tables, functions...) before the data is copied and post-data (indexes,
// constraints, triggers) after, so that indexes are built once over the copied rows.
#pragma once

#include <string>
#include <vector>

namespace spock::sync {

// The dump file of this backend: a new file spock-<pid>-<random>.dump, created with O_EXCL and
// mode 0600 in spock.temp_directory or, by default, in <data directory>/pg_spock/sync (mode
// 0700). Removed by the destructor, or at process exit.
class DumpFile {
  public:
    DumpFile();
    DumpFile(const DumpFile&) = delete;
    DumpFile& operator=(const DumpFile&) = delete;
    ~DumpFile();
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// pg_dump -Fc --schema-only of the provider database in `snapshot`, without the schemas
// spock, pgedge_ace, snowflake (when `exclude_snowflake`) and `skip_schemas`, without
// subscriptions and publications. Raises 58000 with pg_dump's output in the detail.
void dump_schema(const std::string& provider_dsn, const std::string& snapshot,
                 const std::vector<std::string>& skip_schemas, bool exclude_snowflake,
                 const DumpFile& file);

// pg_restore --section=<section> (pre-data or post-data) of the dump into the local
// database, in one transaction, stopping at the first error. Raises 58000 with pg_restore's
// output in the detail.
void restore_section(const std::string& local_dsn, const std::string& section,
                     const DumpFile& file);

// Splits the password out of a libpq connection string, so that it travels to a child
// through the environment (PGPASSWORD) instead of its command line, which `ps` shows. The
// string is returned unchanged when it holds no password or cannot be parsed.
struct DsnParts {
    std::string dsn;
    std::string password;  // empty when there is none
};
DsnParts split_password(const std::string& dsn);

}  // namespace spock::sync
