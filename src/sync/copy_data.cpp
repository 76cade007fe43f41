#include "copy_data.hpp"

#include <memory>

#include <libpq-fe.h>

#include "spock/core/error.hpp"
#include "spock/core/names.hpp"
#include "spock/core/text_array.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"

extern "C" {
#include <access/table.h>
#include <commands/copy.h>
#include <mb/pg_wchar.h>
#include <miscadmin.h>
#include <nodes/makefuncs.h>
#include <parser/parse_node.h>
#include <parser/parse_relation.h>
#include <pgstat.h>
#include <storage/latch.h>
#include <utils/memutils.h>
#include <utils/rel.h>
}

namespace spock::sync {
namespace {

// ---------------------------------------------------------------------------------------------
// Plain C-style helpers: they run below PostgreSQL's COPY code (the data source callback) or
// inside pg_call, own nothing with a destructor, and report errors with ereport.

// Waits until the connection's socket is readable (or writable), on the latch, so that
// interrupts are served.
void wait_socket(PGconn* conn, bool write) {
    int events =
        WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (write ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE);
    int rc = WaitLatchOrSocket(MyLatch, events, PQsocket(conn), -1L, PG_WAIT_EXTENSION);
    if (rc & WL_LATCH_SET) {
        ResetLatch(MyLatch);
    }
    CHECK_FOR_INTERRUPTS();
}

// Reads input until a whole result is available.
void wait_result(PGconn* conn) {
    while (PQisBusy(conn)) {
        wait_socket(conn, false);
        if (!PQconsumeInput(conn)) {
            ereport(ERROR, (errcode(ERRCODE_CONNECTION_FAILURE),
                            errmsg("lost the connection to the provider during COPY"),
                            errdetail("libpq: %s", pchomp(PQerrorMessage(conn)))));
        }
    }
}

// What the data source reads from: the provider's COPY OUT stream of one table.
struct CopySource {
    PGconn* conn = nullptr;
    const char* table = nullptr;  // for messages
    char* row = nullptr;          // the current COPY data message, from libpq
    int len = 0;
    int pos = 0;
    bool finished = false;

    ~CopySource() {
        if (row != nullptr) {
            PQfreemem(row);
        }
    }
};

// The source of the COPY in progress: copy_data_source_cb takes no argument of ours.
CopySource* active_source = nullptr;

// Collects the results that end the COPY OUT; a failure on the provider (a row filter that
// raises, a cancelled query) is an error here, so the local COPY never commits a truncated
// table.
void finish_copy_out(CopySource* src) {
    char* failure = nullptr;
    char* detail = nullptr;
    int code = ERRCODE_CONNECTION_EXCEPTION;
    for (;;) {
        wait_result(src->conn);
        PGresult* res = PQgetResult(src->conn);
        if (res == nullptr) {
            break;
        }
        if (PQresultStatus(res) != PGRES_COMMAND_OK && failure == nullptr) {
            const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
            const char* det = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
            const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            failure = pstrdup(primary ? primary : pchomp(PQresultErrorMessage(res)));
            detail = det ? pstrdup(det) : nullptr;
            if (state != nullptr && strlen(state) == 5) {
                code = MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]);
            }
        }
        PQclear(res);
    }
    src->finished = true;
    if (failure != nullptr) {
        ereport(ERROR,
                (errcode(code),
                 errmsg("could not copy table %s from the provider: %s", src->table, failure),
                 detail ? errdetail("Remote detail: %s", detail) : 0));
    }
}

// copy_data_source_cb: fills outbuf with at least minread and at most maxread bytes of the
// COPY stream, waiting for the provider only when it has fewer than minread. Returns fewer
// than minread (0) at the end of the data.
int read_from_provider(void* outbuf, int minread, int maxread) {
    CopySource* src = active_source;
    char* out = static_cast<char*>(outbuf);
    int total = 0;
    while (total < maxread) {
        if (src->pos < src->len) {
            int n = Min(src->len - src->pos, maxread - total);
            memcpy(out + total, src->row + src->pos, n);
            src->pos += n;
            total += n;
            continue;
        }
        if (src->finished) {
            break;
        }
        if (src->row != nullptr) {
            PQfreemem(src->row);
            src->row = nullptr;
            src->len = src->pos = 0;
        }
        char* row = nullptr;
        int n = PQgetCopyData(src->conn, &row, /* async */ 1);
        if (n > 0) {
            src->row = row;
            src->len = n;
            src->pos = 0;
        } else if (n == 0) {
            if (total >= minread) {
                break;
            }
            wait_socket(src->conn, false);
            if (!PQconsumeInput(src->conn)) {
                ereport(ERROR, (errcode(ERRCODE_CONNECTION_FAILURE),
                                errmsg("lost the connection to the provider while copying "
                                       "table %s",
                                       src->table),
                                errdetail("libpq: %s", pchomp(PQerrorMessage(src->conn)))));
            }
        } else if (n == -1) {
            finish_copy_out(src);
        } else {
            ereport(ERROR,
                    (errcode(ERRCODE_CONNECTION_FAILURE),
                     errmsg("could not read the data of table %s from the provider", src->table),
                     errdetail("libpq: %s", pchomp(PQerrorMessage(src->conn)))));
        }
    }
    return total;
}

// COPY <relid> (<columns>) FROM the provider's stream, with PostgreSQL's COPY FROM: input
// functions, defaults for the columns not sent, partition routing, constraints and indexes.
// Runs inside pg_call. The data arrives in the local database encoding (the provider
// session was told so).
uint64 copy_into(Oid relid, const char* const* columns, int ncolumns) {
    MemoryContext work =
        AllocSetContextCreate(CurrentMemoryContext, "spock table copy", ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(work);
    Relation rel = table_open(relid, RowExclusiveLock);
    ParseState* pstate = make_parsestate(nullptr);
    addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, nullptr, false, false);
    List* attnames = NIL;
    for (int i = 0; i < ncolumns; i++) {
        attnames = lappend(attnames, makeString(pstrdup(columns[i])));
    }
    List* options = list_make1(makeDefElem(
        pstrdup("encoding"), (Node*)makeString(pstrdup(GetDatabaseEncodingName())), -1));
    CopyFromState cstate =
        BeginCopyFrom(pstate, rel, nullptr, nullptr, false, read_from_provider, attnames, options);
    uint64 rows = CopyFrom(cstate);
    EndCopyFrom(cstate);
    table_close(rel, NoLock);
    MemoryContextSwitchTo(old);
    MemoryContextDelete(work);
    return rows;
}

// ---------------------------------------------------------------------------------------------
// C++ side.

std::string one_line(const char* s) {
    std::string out;
    for (const char* p = s ? s : ""; *p; p++) {
        if (*p == '\n' || *p == '\t') {
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

std::string sql_literal(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        out += c;
        if (c == '\'') {
            out += '\'';
        }
    }
    return out + "'";
}

std::string array_literal(const std::vector<std::string>& values) {
    return core::to_array_literal(std::vector<core::OptionalText>(values.begin(), values.end()));
}

std::vector<std::string> array_items(const pg::SqlValue& literal) {
    std::vector<std::string> out;
    if (literal) {
        for (auto& v : core::from_array_literal(*literal)) {
            if (v) {
                out.push_back(*v);
            }
        }
    }
    return out;
}

// Sends `sql` (a COPY ... TO STDOUT) and waits until the provider starts sending data.
void start_copy_out(PGconn* conn, const std::string& sql, const std::string& table) {
    if (!PQsendQuery(conn, sql.c_str())) {
        throw core::Error(core::sqlstate::kConnectionFailure,
                          "could not start copying table " + table + " from the provider",
                          "libpq: " + one_line(PQerrorMessage(conn)));
    }
    for (;;) {
        int rc = PQflush(conn);
        if (rc == 0) {
            break;
        }
        if (rc < 0) {
            throw core::Error(core::sqlstate::kConnectionFailure,
                              "could not start copying table " + table + " from the provider",
                              "libpq: " + one_line(PQerrorMessage(conn)));
        }
        pg::pg_call([conn] { wait_socket(conn, true); });
    }
    pg::pg_call([conn] { wait_result(conn); });
    std::unique_ptr<PGresult, decltype(&PQclear)> res(PQgetResult(conn), &PQclear);
    if (res && PQresultStatus(res.get()) == PGRES_COPY_OUT) {
        return;
    }
    std::string state = "08000";
    std::string message = "no result";
    std::string detail;
    if (res) {
        const char* s = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
        const char* m = PQresultErrorField(res.get(), PG_DIAG_MESSAGE_PRIMARY);
        const char* d = PQresultErrorField(res.get(), PG_DIAG_MESSAGE_DETAIL);
        state = s ? s : state;
        message = m ? m : one_line(PQresultErrorMessage(res.get()));
        detail = d ? d : "";
    }
    res.reset();
    // Let the connection become idle again, so the caller's error path can still use it.
    for (;;) {
        pg::pg_call([conn] { wait_result(conn); });
        PGresult* more = PQgetResult(conn);
        if (more == nullptr) {
            break;
        }
        PQclear(more);
    }
    throw core::Error(state, "could not copy table " + table + " from the provider: " + message,
                      detail.empty() ? std::string() : "Remote detail: " + detail);
}

// The local table a provider table is copied into: its oid and the columns COPY can fill.
struct LocalTable {
    Oid relid = InvalidOid;
    char relkind = 'r';
    std::vector<std::string> columns;
};

LocalTable find_local_table(const ProviderTable& t) {
    auto rows = pg::spi_query(
        "SELECT c.oid, c.relkind, ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a "
        "    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "      AND a.attgenerated = '' ORDER BY a.attnum) "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1::name AND c.relname = $2::name",
        {t.nspname, t.relname});
    std::string name = core::quote_qualified_identifier(t.nspname, t.relname);
    if (rows.empty()) {
        throw core::Error("42P01", "table " + name + " does not exist on the subscriber",
                          "It is in a replication set of the subscription on the provider.",
                          "Create the table, or synchronise the structure as well.");
    }
    LocalTable local;
    local.relid = static_cast<Oid>(std::stoul(*rows[0][0]));
    local.relkind = rows[0][1] && !rows[0][1]->empty() ? (*rows[0][1])[0] : '?';
    local.columns = array_items(rows[0][2]);
    if (local.relkind != 'r' && local.relkind != 'p') {
        throw core::Error("42809", "cannot copy into " + name + " on the subscriber",
                          "It is not a table.");
    }
    return local;
}

}  // namespace

void prepare_copy_session(pg::RemoteConnection& conn) {
    const char* encoding = pg::pg_call([] { return GetDatabaseEncodingName(); });
    conn.query(
        "SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3; "
        "SET statement_timeout = 0; SET lock_timeout = 0; "
        "SET idle_in_transaction_session_timeout = 0; SET client_encoding = " +
        sql_literal(encoding));
}

void begin_snapshot_transaction(pg::RemoteConnection& conn, const std::string& snapshot) {
    conn.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    conn.query("SET TRANSACTION SNAPSHOT " + sql_literal(snapshot));
}

std::vector<ProviderTable> list_provider_tables(pg::RemoteConnection& conn,
                                                const std::vector<std::string>& sets,
                                                const std::vector<std::string>& skip_schemas) {
    std::vector<std::string> skipped = skip_schemas;
    skipped.push_back("pgedge_ace");
    // Row filters come back deparsed by the provider itself (pg_get_expr), so they read the
    // same whatever the provider's column numbering. repset_show_table() refuses unknown set
    // names, so only the subscribed sets that exist on the provider are passed to it.
    auto rows = conn.query(
        "SELECT t.nspname, t.relname, t.att_list, t.relkind, "
        "       ARRAY(SELECT pg_catalog.pg_get_expr(rst.set_row_filter, rst.set_reloid) "
        "             FROM spock.replication_set_table rst "
        "             JOIN spock.replication_set rs ON rs.set_id = rst.set_id "
        "             JOIN spock.local_node ln ON ln.node_id = rs.set_nodeid "
        "             WHERE rst.set_reloid::oid = s.relid AND rs.set_name = ANY ($1::text[]) "
        "               AND rst.set_row_filter IS NOT NULL ORDER BY rs.set_name) "
        "FROM (SELECT DISTINCT relid FROM spock.tables WHERE set_name = ANY ($1::text[])) s, "
        "     LATERAL spock.repset_show_table(s.relid, ARRAY("
        "         SELECT rs.set_name::text FROM spock.replication_set rs "
        "         JOIN spock.local_node ln ON ln.node_id = rs.set_nodeid "
        "         WHERE rs.set_name = ANY ($1::text[]))) t "
        "WHERE t.nspname <> ALL ($2::text[]) "
        "  AND NOT (t.relispartition AND EXISTS ("
        "      SELECT 1 FROM pg_catalog.pg_partition_ancestors(s.relid) a "
        "      JOIN spock.tables x ON x.relid = a.relid "
        "      WHERE a.relid <> s.relid AND x.set_name = ANY ($1::text[]))) "
        "ORDER BY t.nspname, t.relname",
        {array_literal(sets), array_literal(skipped)});
    std::vector<ProviderTable> tables;
    for (const pg::SqlRow& r : rows) {
        ProviderTable t;
        t.nspname = r[0].value_or("");
        t.relname = r[1].value_or("");
        t.columns = array_items(r[2]);
        t.relkind = r[3] && !r[3]->empty() ? (*r[3])[0] : 'r';
        t.row_filters = array_items(r[4]);
        tables.push_back(std::move(t));
    }
    return tables;
}

std::uint64_t copy_table(pg::RemoteConnection& conn, const ProviderTable& table) {
    std::string name = core::quote_qualified_identifier(table.nspname, table.relname);
    LocalTable local = find_local_table(table);

    // The published columns the local table has, in the provider's order. Others are left
    // to their local defaults, as streaming does.
    std::vector<std::string> columns;
    for (const std::string& c : table.columns) {
        for (const std::string& l : local.columns) {
            if (l == c) {
                columns.push_back(c);
                break;
            }
        }
    }
    if (columns.empty()) {
        throw core::Error("42703",
                          "table " + name +
                              " on the subscriber has none of the columns the "
                              "provider publishes",
                          "Published columns: " + core::join_quoted(table.columns) + ".");
    }

    // A partitioned table is read with its partitions, so the rows are routed locally; a
    // plain table without its inheritance children, which are tables of their own.
    std::string select;
    for (const std::string& c : columns) {
        select += (select.empty() ? "" : ", ") + core::quote_identifier(c);
    }
    std::string sql =
        "COPY (SELECT " + select + " FROM " + (table.relkind == 'p' ? "" : "ONLY ") + name;
    for (size_t i = 0; i < table.row_filters.size(); i++) {
        sql += (i == 0 ? " WHERE (" : " AND (") + table.row_filters[i] + ")";
    }
    sql += ") TO STDOUT";

    start_copy_out(conn.raw(), sql, name);

    CopySource source;
    source.conn = conn.raw();
    source.table = name.c_str();
    std::vector<const char*> names;
    for (const std::string& c : columns) {
        names.push_back(c.c_str());
    }
    active_source = &source;
    uint64 rows;
    try {
        Oid relid = local.relid;
        const char* const* cols = names.data();
        int ncols = static_cast<int>(names.size());
        rows = pg::pg_call([relid, cols, ncols] { return copy_into(relid, cols, ncols); });
    } catch (...) {
        active_source = nullptr;
        throw;
    }
    active_source = nullptr;
    if (!source.finished) {
        throw core::Error(core::sqlstate::kInternalError,
                          "the copy of table " + name + " ended before the provider's data");
    }
    return rows;
}

}  // namespace spock::sync
