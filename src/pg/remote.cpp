#include "spock/pg/remote.hpp"

#include "spock/core/names.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"

#include <libpq-fe.h>

extern "C" {
#include <miscadmin.h>
#include <pgstat.h>
#include <storage/latch.h>
}

namespace spock::pg {
namespace {

// libpq messages end in a newline and may span lines; error details want one line.
std::string trimmed(const char* s) {
    std::string out;
    for (const char* p = s ? s : ""; *p; p++) {
        bool space = *p == '\n' || *p == '\t' || *p == ' ';
        if (space) {
            if (!out.empty() && out.back() != ' ') {
                out += ' ';
            }
        } else {
            out += *p;
        }
    }
    while (!out.empty() && out.back() == ' ') {
        out.pop_back();
    }
    return out;
}

// One keyword/value pair for PQconnectStartParams.
struct Param {
    std::string key;
    std::string value;
};

// Settings from spock.extra_connection_options, parsed with libpq's own parser.
std::vector<Param> extra_options() {
    std::vector<Param> out;
    const char* extra = gucs::extra_connection_options;
    if (extra == nullptr || extra[0] == '\0') {
        return out;
    }
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(extra, &err);
    if (opts == nullptr) {
        std::string msg = trimmed(err);
        PQfreemem(err);
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          "invalid spock.extra_connection_options", msg,
                          "Use keyword=value pairs as in a libpq connection string.");
    }
    for (PQconninfoOption* o = opts; o->keyword != nullptr; o++) {
        if (o->val != nullptr) {
            out.push_back({o->keyword, o->val});
        }
    }
    PQconninfoFree(opts);
    return out;
}

}  // namespace

void check_dsn(const std::string& dsn, const char* argname) {
    if (dsn.find_first_not_of(" \t\r\n") == std::string::npos) {
        // libpq would take it as "all defaults": a local socket other nodes cannot reach.
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          std::string("connection string in ") + argname + " is empty",
                          "Other nodes connect with it, so it must say where this node is.",
                          "Use a libpq connection string such as "
                          "'host=127.0.0.1 port=5432 dbname=postgres'.");
    }
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
    if (opts == nullptr) {
        std::string msg = trimmed(err);
        PQfreemem(err);
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          std::string("invalid connection string in ") + argname, msg,
                          "Use a libpq connection string such as "
                          "'host=127.0.0.1 port=5432 dbname=postgres'.");
    }
    PQconninfoFree(opts);
}

RemoteConnection::RemoteConnection(const std::string& dsn, const std::string& name,
                                   const std::string& suffix, bool replication)
    : masked_dsn_(core::mask_password(dsn)) {
    // Order matters: later entries override earlier ones, and the expanded dbname (the DSN)
    // overrides what precedes it. Our defaults come first, then spock.extra_connection_options
    // (which may change them), then the DSN (which may change both); application_name and
    // replication come last because they are ours.
    std::vector<Param> params = {{"connect_timeout", "30"},
                                 {"keepalives", "1"},
                                 {"keepalives_idle", "20"},
                                 {"keepalives_interval", "20"},
                                 {"keepalives_count", "5"}};
    for (Param& p : extra_options()) {
        params.push_back(std::move(p));
    }
    params.push_back({"dbname", dsn});
    params.push_back({"application_name", core::application_name(name, suffix)});
    if (replication) {
        params.push_back({"replication", "database"});
    }
    std::vector<const char*> keys;
    std::vector<const char*> values;
    for (const Param& p : params) {
        keys.push_back(p.key.c_str());
        values.push_back(p.value.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);

    conn_.reset(PQconnectStartParams(keys.data(), values.data(), /* expand_dbname */ 1));
    if (!conn_) {
        throw std::bad_alloc();
    }
    for (;;) {
        PostgresPollingStatusType st = PQconnectPoll(conn_.get());
        if (st == PGRES_POLLING_OK) {
            break;
        }
        if (st == PGRES_POLLING_FAILED) {
            throw core::Error("08001", "could not connect to the node",
                              "libpq: " + trimmed(PQerrorMessage(conn_.get())) +
                                  " (connection string: " + masked_dsn_ + ")",
                              "Check that the node is running and that the connection string "
                              "is correct.");
        }
        wait_for(st == PGRES_POLLING_WRITING);
    }
}

void RemoteConnection::Closer::operator()(pg_conn* c) const noexcept {
    PQfinish(c);
}

void RemoteConnection::wait_for(bool write) {
    int socket = PQsocket(conn_.get());
    int events =
        WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (write ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE);
    pg_call([events, socket] {
        int rc = WaitLatchOrSocket(MyLatch, events, socket, -1L, PG_WAIT_EXTENSION);
        if (rc & WL_LATCH_SET) {
            ResetLatch(MyLatch);
        }
        CHECK_FOR_INTERRUPTS();
    });
}

std::vector<SqlRow> RemoteConnection::query(const std::string& sql,
                                            const std::vector<SqlValue>& params) {
    std::vector<const char*> values;
    for (const SqlValue& p : params) {
        values.push_back(p ? p->c_str() : nullptr);
    }
    // Replication connections speak only the simple query protocol.
    int sent = params.empty()
                   ? PQsendQuery(conn_.get(), sql.c_str())
                   : PQsendQueryParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()),
                                       nullptr, values.data(), nullptr, nullptr, 0);
    if (!sent) {
        throw core::Error("08006", "could not send a query to the node",
                          "libpq: " + trimmed(PQerrorMessage(conn_.get())));
    }
    while (PQflush(conn_.get()) == 1) {
        wait_for(true);
    }
    std::vector<SqlRow> rows;
    std::optional<core::Error> failure;
    for (;;) {
        while (PQisBusy(conn_.get())) {
            wait_for(false);
            if (!PQconsumeInput(conn_.get())) {
                throw core::Error("08006", "lost the connection to the node",
                                  "libpq: " + trimmed(PQerrorMessage(conn_.get())));
            }
        }
        std::unique_ptr<PGresult, decltype(&PQclear)> owned(PQgetResult(conn_.get()), &PQclear);
        PGresult* res = owned.get();
        if (res == nullptr) {
            break;
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_TUPLES_OK) {
            int nrows = PQntuples(res);
            int ncols = PQnfields(res);
            for (int r = 0; r < nrows; r++) {
                SqlRow row;
                for (int c = 0; c < ncols; c++) {
                    if (PQgetisnull(res, r, c)) {
                        row.emplace_back(std::nullopt);
                    } else {
                        row.emplace_back(std::string(PQgetvalue(res, r, c)));
                    }
                }
                rows.push_back(std::move(row));
            }
        } else if (st != PGRES_COMMAND_OK && !failure) {
            const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
            failure.emplace(
                state ? state : "08000",
                "remote query failed: " + trimmed(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)),
                detail ? detail : "");
        }
    }
    if (failure) {
        throw *failure;
    }
    return rows;
}

}  // namespace spock::pg
