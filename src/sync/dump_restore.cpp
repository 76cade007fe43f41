#include "dump_restore.hpp"

#include <cerrno>

#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "child_process.hpp"
#include "spock/core/error.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/private_dir.hpp"

extern "C" {
#include <miscadmin.h>
#include <storage/ipc.h>
}

namespace spock::sync {
namespace {

// The dump file while it exists, for the exit hook: a FATAL exit runs no destructor.
char active_dump[MAXPGPATH];
bool exit_hook_registered = false;

void remove_dump_at_exit(int, Datum) {
    if (active_dump[0] != '\0') {
        unlink(active_dump);
        active_dump[0] = '\0';
    }
}

// A tool of the running server's own installation: the directory of the postgres
// executable, never PATH. Same major version as the server, so it can dump any provider
// this server can subscribe to (pg_dump itself refuses newer servers, with a clear message).
std::string tool_path(const char* tool) {
    char dir[MAXPGPATH];
    strlcpy(dir, my_exec_path, sizeof dir);
    get_parent_directory(dir);
    std::string path = std::string(dir) + "/" + tool;
    if (access(path.c_str(), X_OK) != 0) {
        throw core::Error("58P01", std::string("could not find ") + tool,
                          "\"" + path + "\": " + strerror(errno) + ".",
                          std::string("Install ") + tool +
                              " of this PostgreSQL version next to the server executable.");
    }
    return path;
}

// spock.temp_directory when set (it must be a directory fit for private files), otherwise
// spock's private directory in the data directory.
std::string temp_directory() {
    const char* dir = gucs::temp_directory;
    if (dir == nullptr || dir[0] == '\0') {
        return pg::spock_private_dir("sync");
    }
    pg::check_directory_safe(dir);
    return dir;
}

// A pg_dump pattern matching exactly `name`: double quotes make it literal.
std::string literal_pattern(const std::string& name) {
    std::string out = "\"";
    for (char c : name) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    return out + "\"";
}

std::string conninfo_quote(const char* value) {
    std::string out = "'";
    for (const char* p = value; *p; p++) {
        if (*p == '\'' || *p == '\\') {
            out += '\\';
        }
        out += *p;
    }
    return out + "'";
}

std::vector<std::string> password_env(const DsnParts& parts) {
    if (parts.password.empty()) {
        return {};
    }
    return {"PGPASSWORD=" + parts.password};
}

// Runs a tool to completion; a failure raises 58000 with `what` as the message and the
// tool's output in the detail.
void run_tool(const std::string& path, const std::vector<std::string>& args,
              const std::vector<std::string>& env, const std::string& what) {
    ChildProcess child(path, args, env);
    int status = child.wait();
    if (status != 0) {
        std::string output = child.output();
        std::string tool = path.substr(path.rfind('/') + 1);
        throw core::Error(
            "58000", what,
            tool + " " + describe_wait_status(status) + (output.empty() ? "." : ":\n" + output));
    }
}

}  // namespace

DsnParts split_password(const std::string& dsn) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
    if (opts == nullptr) {
        PQfreemem(err);
        return {dsn, {}};
    }
    DsnParts parts;
    std::string rebuilt;
    for (PQconninfoOption* o = opts; o->keyword != nullptr; o++) {
        if (o->val == nullptr) {
            continue;
        }
        if (strcmp(o->keyword, "password") == 0) {
            parts.password = o->val;
            continue;
        }
        rebuilt +=
            (rebuilt.empty() ? "" : " ") + std::string(o->keyword) + "=" + conninfo_quote(o->val);
    }
    PQconninfoFree(opts);
    parts.dsn = parts.password.empty() ? dsn : rebuilt;
    return parts;
}

DumpFile::DumpFile() {
    std::string dir = temp_directory();
    if (!exit_hook_registered) {
        pg::pg_call([] { on_proc_exit(remove_dump_at_exit, (Datum)0); });
        exit_hook_registered = true;
    }
    path_ = pg::create_private_file(dir, "spock-" + std::to_string(getpid()) + "-", ".dump");
    strlcpy(active_dump, path_.c_str(), sizeof active_dump);
}

DumpFile::~DumpFile() {
    unlink(path_.c_str());
    active_dump[0] = '\0';
}

void dump_schema(const std::string& provider_dsn, const std::string& snapshot,
                 const std::vector<std::string>& skip_schemas, bool exclude_snowflake,
                 const DumpFile& file) {
    DsnParts dsn = split_password(provider_dsn);
    std::vector<std::string> args = {"--format=custom",        "--schema-only",
                                     "--snapshot=" + snapshot, "--no-subscriptions",
                                     "--no-publications",      "--no-sync",
                                     "--exclude-schema=spock", "--exclude-schema=pgedge_ace"};
    if (exclude_snowflake) {
        args.push_back("--exclude-schema=snowflake");
    }
    for (const std::string& s : skip_schemas) {
        args.push_back("--exclude-schema=" + literal_pattern(s));
    }
    args.push_back("--file=" + file.path());
    args.push_back("--dbname=" + dsn.dsn);
    run_tool(tool_path("pg_dump"), args, password_env(dsn),
             "could not dump the schema of the provider");
}

void restore_section(const std::string& local_dsn, const std::string& section,
                     const DumpFile& file) {
    DsnParts dsn = split_password(local_dsn);
    std::vector<std::string> env = password_env(dsn);
    // Spock's peers recognise a schema restore by this setting; ours accepts it. The restored
    // schema is the provider's: automatic DDL must not queue it again (docs/ddl.md).
    env.push_back(
        "PGOPTIONS=-c spock.subscription_schema_restore=true "
        "-c spock.enable_ddl_replication=off");
    std::vector<std::string> args = {"--section=" + section, "--exit-on-error",
                                     "--single-transaction", "--dbname=" + dsn.dsn, file.path()};
    run_tool(tool_path("pg_restore"), args, env,
             "could not restore the " + section + " section of the provider's schema");
}

}  // namespace spock::sync
