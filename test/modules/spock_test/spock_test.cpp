// Test-only SQL functions that show the error boundary works inside a real server: C++
// exceptions become ERRORs with the intended SQLSTATE, PostgreSQL errors travel through C++
// frames and come back out unchanged, and destructors run on both paths.
#include "spock/core/protocol.hpp"
#include "spock/core/wal_message.hpp"
#include "spock/pg/guard.hpp"

#include <memory>
#include <stdexcept>

extern "C" {
#include <access/xact.h>
#include <executor/spi.h>
#include <utils/builtins.h>
#include <utils/lsyscache.h>
#include <utils/resowner.h>
}

extern "C" {
PG_MODULE_MAGIC;
}

namespace {

// Backend-local: each test checks the difference before and after a call.
int64 destructor_count = 0;

// An object whose destructor the tests can observe.
struct Tracked {
    std::unique_ptr<std::string> payload = std::make_unique<std::string>("tracked");
    ~Tracked() { destructor_count++; }
};

std::string text_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_ARGISNULL(n)) {
        return {};
    }
    char* s = text_to_cstring(PG_GETARG_TEXT_PP(n));
    std::string out(s);
    pfree(s);
    return out;
}

// Runs `query` through SPI and returns the first value, as text, or "" when there is none.
// The SPI calls go through pg_call because the caller owns a Tracked object.
std::string run_spi(const std::string& query) {
    spock::pg::pg_call([] { SPI_connect(); });
    const char* sql = query.c_str();
    int rc = spock::pg::pg_call([sql] { return SPI_execute(sql, false, 1); });
    std::string result;
    if (rc > 0 && SPI_processed > 0 && SPI_tuptable != nullptr) {
        char* v = spock::pg::pg_call(
            [] { return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1); });
        result = v ? v : "";
    }
    spock::pg::pg_call([] { SPI_finish(); });
    return result;
}

}  // namespace

SPOCK_PG_FUNCTION(spock_test_throw_cpp_error) {
    Tracked tracked;
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) {
        throw spock::core::Error(spock::core::sqlstate::kNullValueNotAllowed,
                                 "sqlstate and message must not be NULL");
    }
    throw spock::core::Error(text_arg(fcinfo, 0), text_arg(fcinfo, 1), text_arg(fcinfo, 2),
                             text_arg(fcinfo, 3));
}

SPOCK_PG_FUNCTION(spock_test_throw_std_exception) {
    Tracked tracked;
    std::string kind = text_arg(fcinfo, 0);
    if (kind == "bad_alloc") {
        throw std::bad_alloc();
    }
    if (kind == "runtime_error") {
        throw std::runtime_error("something went wrong in C++");
    }
    if (kind == "int") {
        throw 42;
    }
    throw spock::core::Error(spock::core::sqlstate::kInvalidParameterValue,
                             "unknown exception kind \"" + kind + "\"", {},
                             "Use bad_alloc, runtime_error or int.");
}

SPOCK_PG_FUNCTION(spock_test_run_query_in_cpp) {
    Tracked tracked;
    std::string result = run_spi(text_arg(fcinfo, 0));
    const char* c = result.c_str();
    return spock::pg::pg_call([c] { return CStringGetTextDatum(c); });
}

SPOCK_PG_FUNCTION(spock_test_catch_query_error_in_cpp) {
    Tracked tracked;
    MemoryContext caller_context = CurrentMemoryContext;
    ResourceOwner caller_owner = CurrentResourceOwner;
    spock::pg::pg_call([] { BeginInternalSubTransaction(nullptr); });
    std::string outcome;
    try {
        run_spi(text_arg(fcinfo, 0));
        spock::pg::pg_call([] { ReleaseCurrentSubTransaction(); });
        outcome = "ok";
    } catch (const spock::pg::PgError& e) {
        // SPI_finish was skipped by the error; rolling the subtransaction back cleans it up.
        spock::pg::pg_call([] { RollbackAndReleaseCurrentSubTransaction(); });
        outcome = e.sqlstate() + "|" + e.message() + "|" + e.detail() + "|" + e.hint();
    }
    MemoryContextSwitchTo(caller_context);
    CurrentResourceOwner = caller_owner;
    const char* c = outcome.c_str();
    return spock::pg::pg_call([c] { return CStringGetTextDatum(c); });
}

SPOCK_PG_FUNCTION(spock_test_destructor_runs) {
    (void)fcinfo;
    return Int64GetDatum(destructor_count);
}

namespace {

std::string rel_name(spock::core::RelId relid) {
    char* name = spock::pg::pg_call([relid] { return get_rel_name(relid); });
    return name ? name : "relid " + std::to_string(relid);
}

std::string type_name(spock::core::TypeOid typid, int32 typmod) {
    char* name =
        spock::pg::pg_call([typid, typmod] { return format_type_with_typemod(typid, typmod); });
    return name;
}

std::string hex(const std::string& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::string render(const spock::core::TupleData& t) {
    std::string out = "(";
    for (size_t i = 0; i < t.columns.size(); i++) {
        const auto& c = t.columns[i];
        if (i > 0) {
            out += ", ";
        }
        switch (c.kind) {
            case spock::core::ColumnKind::Null:
                out += "null";
                break;
            case spock::core::ColumnKind::Unchanged:
                out += "unchanged";
                break;
            case spock::core::ColumnKind::Text:
                out += "t:" + c.bytes;
                break;
            case spock::core::ColumnKind::Binary:
                out += "b:" + hex(c.bytes);
                break;
            case spock::core::ColumnKind::Internal:
                out += "i:" + hex(c.bytes);
                break;
        }
    }
    return out + ")";
}

struct Renderer {
    std::string operator()(const spock::core::Startup& m) const {
        std::string out = "STARTUP";
        for (const auto& [k, v] : m.params) {
            if (k == "binary.internal_basetypes" || k == "binary.binary_basetypes" ||
                k == "max_proto_version" || k == "min_proto_version" ||
                k == "forward_changeset_origins" || k == "spock_version") {
                out += " " + k + "=" + v;
            }
        }
        return out;
    }
    std::string operator()(const spock::core::Begin&) const { return "BEGIN"; }
    std::string operator()(const spock::core::Origin& m) const {
        return "ORIGIN " + std::to_string(m.origin_id);
    }
    std::string operator()(const spock::core::CommitOrder& m) const {
        return "COMMIT_ORDER " + std::to_string(m.last_commit_ts.value);
    }
    std::string operator()(const spock::core::Relation& m) const {
        std::string out = "RELATION " + m.nspname + "." + m.relname + " (";
        for (size_t i = 0; i < m.columns.size(); i++) {
            const auto& c = m.columns[i];
            out += (i > 0 ? ", " : "") + c.name + " " + type_name(c.typid, c.typmod) +
                   (c.is_key ? " key" : "");
        }
        return out + ")";
    }
    std::string operator()(const spock::core::Insert& m) const {
        return "INSERT " + rel_name(m.relid) + " " + render(m.new_tuple);
    }
    std::string operator()(const spock::core::Update& m) const {
        std::string out = "UPDATE " + rel_name(m.relid);
        if (m.old_tuple) {
            out += " old " + render(m.old_tuple->tuple);
        }
        return out + " new " + render(m.new_tuple);
    }
    std::string operator()(const spock::core::Delete& m) const {
        return "DELETE " + rel_name(m.relid) + " " + render(m.old_tuple.tuple);
    }
    std::string operator()(const spock::core::Truncate& m) const {
        std::string out = "TRUNCATE";
        out += m.cascade ? " cascade" : "";
        out += m.restart_identity ? " restart_identity" : "";
        for (auto relid : m.relids) {
            out += " " + rel_name(relid);
        }
        return out;
    }
    std::string operator()(const spock::core::LogicalMessage& m) const {
        std::string out = std::string("MESSAGE ") +
                          (m.transactional ? "transactional" : "immediate") + " " + m.prefix;
        if (m.prefix == spock::core::kSpockMessagePrefix) {
            auto wal = spock::core::decode_wal_message(m.payload);
            if (auto* ev = std::get_if<spock::core::SyncEvent>(&wal)) {
                out += " sync_event origin=" + std::to_string(ev->origin);
            }
        }
        return out;
    }
    std::string operator()(const spock::core::Commit&) const { return "COMMIT"; }
    // Streamed transactions: xids vary, so only whether they match is shown.
    std::string operator()(const spock::core::StreamStart& m) const {
        return std::string("STREAM START") + (m.first_segment ? " first" : "");
    }
    std::string operator()(const spock::core::StreamXid&) const { return "STREAM XID"; }
    std::string operator()(const spock::core::StreamStop&) const { return "STREAM STOP"; }
    std::string operator()(const spock::core::StreamCommit&) const { return "STREAM COMMIT"; }
    std::string operator()(const spock::core::StreamAbort& m) const {
        return m.subxid == m.xid ? "STREAM ABORT" : "STREAM ABORT subtransaction";
    }
};

}  // namespace

SPOCK_PG_FUNCTION(spock_test_decode_message) {
    bytea* data = PG_GETARG_BYTEA_PP(0);
    std::string_view bytes(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data));
    std::string out = std::visit(Renderer{}, spock::core::decode_message(bytes));
    const char* c = out.c_str();
    return spock::pg::pg_call([c] { return CStringGetTextDatum(c); });
}

// ---------------------------------------------------------------------------------------------
// run_initial_sync: spock's initial synchronisation of a subscription, run the way an apply
// worker runs it (a background worker connected to the database, outside any transaction)
// through spock's C entry point spock_initial_sync_by_name. The calling backend waits for the
// worker and raises the worker's error as its own.

extern "C" {
#include <miscadmin.h>
#include <postmaster/bgworker.h>
#include <storage/dsm.h>
#include <tcop/tcopprot.h>
#include <utils/pg_lsn.h>
}

namespace {

// Shared between the calling backend and the worker, in a DSM segment.
struct InitialSyncTask {
    Oid database;
    Oid user;
    char subscription[NAMEDATALEN];
    bool structure;
    bool data;
    bool done;
    XLogRecPtr lsn;
    int sqlerrcode;
    char message[2048];
    char detail[8192];
    char hint[1024];
};

using InitialSyncFn = XLogRecPtr (*)(const char*, bool, bool);

}  // namespace

extern "C" {
SPOCK_EXPORT void spock_test_initial_sync_main(Datum arg);
SPOCK_EXPORT Datum spock_test_run_initial_sync(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(spock_test_run_initial_sync);
}

// The worker. Plain PostgreSQL code: no C++ object lives in these frames.
void spock_test_initial_sync_main(Datum arg) {
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    dsm_segment* seg = dsm_attach(DatumGetUInt32(arg));
    if (seg == nullptr) {
        ereport(ERROR, (errmsg("could not map the initial synchronisation task")));
    }
    InitialSyncTask* task = static_cast<InitialSyncTask*>(dsm_segment_address(seg));
    BackgroundWorkerInitializeConnectionByOid(task->database, task->user, 0);
    InitialSyncFn run = reinterpret_cast<InitialSyncFn>(
        load_external_function("$libdir/spock", "spock_initial_sync_by_name", true, nullptr));
    MemoryContext context = CurrentMemoryContext;
    PG_TRY();
    {
        task->lsn = run(task->subscription, task->structure, task->data);
        task->done = true;
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(context);
        ErrorData* e = CopyErrorData();
        task->sqlerrcode = e->sqlerrcode;
        strlcpy(task->message, e->message ? e->message : "", sizeof task->message);
        strlcpy(task->detail, e->detail ? e->detail : "", sizeof task->detail);
        strlcpy(task->hint, e->hint ? e->hint : "", sizeof task->hint);
        PG_RE_THROW();
    }
    PG_END_TRY();
}

// The SQL function. Plain PostgreSQL code as well.
Datum spock_test_run_initial_sync(PG_FUNCTION_ARGS) {
    Name sub = PG_GETARG_NAME(0);
    dsm_segment* seg = dsm_create(sizeof(InitialSyncTask), 0);
    InitialSyncTask* task = static_cast<InitialSyncTask*>(dsm_segment_address(seg));
    memset(task, 0, sizeof *task);
    task->database = MyDatabaseId;
    task->user = GetUserId();
    strlcpy(task->subscription, NameStr(*sub), sizeof task->subscription);
    task->structure = PG_GETARG_BOOL(1);
    task->data = PG_GETARG_BOOL(2);

    BackgroundWorker worker;
    memset(&worker, 0, sizeof worker);
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = BGW_NEVER_RESTART;
    snprintf(worker.bgw_library_name, BGW_MAXLEN, "spock_test");
    snprintf(worker.bgw_function_name, BGW_MAXLEN, "spock_test_initial_sync_main");
    snprintf(worker.bgw_name, BGW_MAXLEN, "spock_test initial sync of %s", NameStr(*sub));
    snprintf(worker.bgw_type, BGW_MAXLEN, "spock_test initial sync");
    worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
    worker.bgw_notify_pid = MyProcPid;
    BackgroundWorkerHandle* handle;
    if (!RegisterDynamicBackgroundWorker(&worker, &handle)) {
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_RESOURCES),
                        errmsg("could not start a background worker for initial synchronisation"),
                        errhint("Raise max_worker_processes.")));
    }
    PG_TRY();
    { (void)WaitForBackgroundWorkerShutdown(handle); }
    PG_CATCH();
    {
        TerminateBackgroundWorker(handle);
        PG_RE_THROW();
    }
    PG_END_TRY();
    if (!task->done) {
        int code = task->sqlerrcode != 0 ? task->sqlerrcode : ERRCODE_INTERNAL_ERROR;
        char* message = pstrdup(task->message[0] ? task->message
                                                 : "initial synchronisation worker exited "
                                                   "without a result");
        char* detail = pstrdup(task->detail);
        char* hint = pstrdup(task->hint);
        dsm_detach(seg);
        ereport(ERROR, (errcode(code), errmsg_internal("%s", message),
                        detail[0] ? errdetail_internal("%s", detail) : 0,
                        hint[0] ? errhint("%s", hint) : 0));
    }
    XLogRecPtr lsn = task->lsn;
    dsm_detach(seg);
    PG_RETURN_LSN(lsn);
}

// ---------------------------------------------------------------------------------------------
// apply_messages: feeds native-protocol messages (as pg_logical_slot_get_binary_changes returns
// them from a spock_output slot) to spock's row apply in the current transaction, with
// session_replication_role = replica for the duration of the call, like an apply worker
// would. R/I/U/D/T are applied; B and O provide the transaction's xid, commit LSN, commit time
// and origin unless the arguments override them; other messages are ignored. Rows buffered
// for multi-insert are flushed before returning. spock.so cannot be linked into this module,
// so the apply functions are looked up through spock_row_apply_functions.

#include "spock/apply/row_apply.hpp"

extern "C" {
#include <catalog/pg_type.h>
#include <utils/array.h>
#include <utils/guc.h>
#include <utils/timestamp.h>
}

namespace {

struct ApplyVisitor {
    const spock::apply::RowApplyFunctions* api;
    spock::apply::RemoteTxn* txn;
    bool origin_fixed;
    bool time_fixed;

    void operator()(const spock::core::Begin& m) const {
        txn->xid = m.xid;
        txn->commit_lsn = m.final_lsn;
        if (!time_fixed) {
            txn->commit_time = m.commit_time;
        }
    }
    void operator()(const spock::core::Origin& m) const {
        if (!origin_fixed) {
            txn->origin_node = m.origin_id;
            txn->provider_node = m.origin_id;
        }
    }
    void operator()(const spock::core::Relation& m) const {
        spock::pg::pg_call([&] { api->remember_relation(m); });
    }
    void operator()(const spock::core::Insert& m) const {
        spock::pg::pg_call([&] { api->apply_insert(*txn, m); });
    }
    void operator()(const spock::core::Update& m) const {
        spock::pg::pg_call([&] { api->apply_update(*txn, m); });
    }
    void operator()(const spock::core::Delete& m) const {
        spock::pg::pg_call([&] { api->apply_delete(*txn, m); });
    }
    void operator()(const spock::core::Truncate& m) const {
        spock::pg::pg_call([&] { api->apply_truncate(*txn, m); });
    }
    template <typename Other>
    void operator()(const Other&) const {}
};

}  // namespace

const spock::apply::RowApplyFunctions* row_apply_functions() {
    using GetFunctions = const spock::apply::RowApplyFunctions* (*)();
    auto get = reinterpret_cast<GetFunctions>(spock::pg::pg_call([] {
        return load_external_function("$libdir/spock", "spock_row_apply_functions", true, nullptr);
    }));
    return get();
}

SPOCK_PG_FUNCTION(spock_test_apply_messages) {
    if (PG_ARGISNULL(0)) {
        return (Datum)0;
    }
    ArrayType* array = PG_GETARG_ARRAYTYPE_P(0);
    Datum* elems;
    bool* elem_nulls;
    int n;
    spock::pg::pg_call([&] {
        deconstruct_array(array, BYTEAOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &n);
    });
    spock::apply::RemoteTxn txn;
    ApplyVisitor visitor{row_apply_functions(), &txn, !PG_ARGISNULL(1), !PG_ARGISNULL(2)};
    if (visitor.origin_fixed) {
        txn.origin_node = PG_GETARG_OID(1);
        txn.provider_node = txn.origin_node;
    }
    if (visitor.time_fixed) {
        txn.commit_time = spock::core::TimestampUs{PG_GETARG_TIMESTAMPTZ(2)};
    }
    int nest = spock::pg::pg_call([] { return NewGUCNestLevel(); });
    spock::pg::pg_call([] {
        (void)set_config_option("session_replication_role", "replica", PGC_SUSET, PGC_S_SESSION,
                                GUC_ACTION_SAVE, true, 0, false);
    });
    for (int i = 0; i < n; i++) {
        if (elem_nulls[i]) {
            continue;
        }
        Datum d = elems[i];
        bytea* b = spock::pg::pg_call([d] { return DatumGetByteaPP(d); });
        std::string_view bytes(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
        std::visit(visitor, spock::core::decode_message(bytes));
    }
    spock::pg::pg_call([&] { visitor.api->flush_pending(); });
    spock::pg::pg_call([nest] { AtEOXact_GUC(true, nest); });
    return (Datum)0;
}

// take_conflict_counts: the conflicts row apply counted in this backend since the last call,
// as "type=n" for each type met (in the order of spock.sub_conflict_stats), and clears them.
// An apply worker adds these to shared memory at each commit; here nothing does.
SPOCK_PG_FUNCTION(spock_test_take_conflict_counts) {
    (void)fcinfo;
    spock::core::ConflictCounts& counts = row_apply_functions()->pending_conflicts();
    std::string out;
    for (int i = 0; i < spock::core::kConflictTypeCount; i++) {
        if (counts.n[i] == 0) {
            continue;
        }
        out += out.empty() ? "" : " ";
        out += spock::core::conflict_type_name(static_cast<spock::core::ConflictType>(i));
        out += "=" + std::to_string(counts.n[i]);
    }
    counts.clear();
    const char* c = out.empty() ? "none" : out.c_str();
    text* result = spock::pg::pg_call([c] { return cstring_to_text(c); });
    PG_RETURN_TEXT_P(result);
}

SPOCK_PG_FUNCTION(spock_test_throw_inside_pg_call) {
    Tracked tracked;
    std::string message = text_arg(fcinfo, 0);
    const char* m = message.c_str();
    spock::pg::pg_call([m] {
        // An inner pg_call that fails turns the PostgreSQL error into a C++ exception, which
        // then travels through the outer pg_call.
        spock::pg::pg_call(
            [m] { ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("%s", m))); });
    });
    PG_RETURN_VOID();
}
