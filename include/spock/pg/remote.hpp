// libpq connections from a backend to another node (reference §0, "libpq connection
// parameters"). Waiting happens on the backend's latch, so a query cancel or a shutdown
// interrupts a slow connect or query; the interrupt travels as a C++ exception and the
// connection is closed by the destructor.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "spock/pg/spi.hpp"

struct pg_conn;

namespace spock::pg {

class RemoteConnection {
  public:
    // Connects to `dsn`. application_name is `name` or, with a suffix, the shortened name and
    // the suffix (§0). With `replication`, a logical replication connection
    // (replication=database). spock.extra_connection_options is applied first, so the DSN
    // overrides it. Failure raises 08001 with libpq's message and the DSN (password masked) in
    // the detail.
    RemoteConnection(const std::string& dsn, const std::string& name, const std::string& suffix,
                     bool replication);
    RemoteConnection(const RemoteConnection&) = delete;
    RemoteConnection& operator=(const RemoteConnection&) = delete;

    // Runs a query with text parameters; returns all rows as text. A remote error raises a
    // C++ exception carrying the remote SQLSTATE, message and detail.
    std::vector<SqlRow> query(const std::string& sql, const std::vector<SqlValue>& params = {});

    pg_conn* raw() { return conn_.get(); }

  private:
    // PQfinish only closes a socket and frees memory: safe in a destructor, also when the
    // constructor throws half-way.
    struct Closer {
        void operator()(pg_conn* c) const noexcept;
    };
    // Waits up to timeout_ms for the socket; true when it is ready. Throws when the worker was
    // asked to stop (57P01), or on a query cancel or termination of a backend.
    bool wait_for(bool write, long timeout_ms);
    std::unique_ptr<pg_conn, Closer> conn_;
    std::string masked_dsn_;
};

// Validates a connection string with libpq's parser; raises 22023 naming the problem.
void check_dsn(const std::string& dsn, const char* argname);

}  // namespace spock::pg
