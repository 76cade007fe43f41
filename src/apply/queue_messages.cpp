// See queue_messages.hpp.
#include "queue_messages.hpp"

#include <string>

#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"

#include "apply_internal.hpp"
#include "ddl_apply.hpp"
#include "sequence_apply.hpp"

extern "C" {
#include <access/table.h>
#include <utils/builtins.h>
#include <utils/lsyscache.h>
#include <utils/rel.h>
}

namespace spock::apply {
namespace {

// The two columns of a queue row the hook needs. `message` is palloc'd in the caller's memory
// context (the transaction's), or nullptr when absent.
struct QueueRow {
    char type;
    char* message;
    char* role;
};

// Plain glue, no C++ objects: decodes the remote tuple with the relation mapping the row code
// uses and reads message_type and message.
void read_queue_row(const core::Insert* msg, QueueRow* out) {
    MemoryContext caller = CurrentMemoryContext;
    DecodedQueueRow row = decode_queue_row(msg);
    Relation rel = row.rel;
    Datum* values = row.values;
    bool* nulls = row.nulls;
    AttrNumber type_att = get_attnum(RelationGetRelid(rel), "message_type");
    AttrNumber message_att = get_attnum(RelationGetRelid(rel), "message");
    AttrNumber role_att = get_attnum(RelationGetRelid(rel), "role");
    if (role_att > 0 && !nulls[role_att - 1]) {
        MemoryContext old = MemoryContextSwitchTo(caller);
        out->role = pstrdup(NameStr(*DatumGetName(values[role_att - 1])));
        MemoryContextSwitchTo(old);
    }
    if (type_att > 0 && !nulls[type_att - 1]) {
        out->type = DatumGetChar(values[type_att - 1]);
    }
    if (message_att > 0 && !nulls[message_att - 1]) {
        MemoryContext old = MemoryContextSwitchTo(caller);
        out->message = text_to_cstring(DatumGetTextPP(values[message_att - 1]));
        MemoryContextSwitchTo(old);
    }
    table_close(rel, NoLock);
}

void warn(const std::string& text) {
    pg::pg_call([&text] { ereport(WARNING, (errmsg("%s", text.c_str()))); });
}

// 'A': asks the resync machinery to copy the table, unless a copy is already under way.
bool table_sync(Oid subid, const std::string& message) {
    std::vector<pg::SqlRow> parts =
        pg::spi_query("SELECT $1::json->>'schema_name', $1::json->>'table_name'", {message});
    if (parts.empty() || !parts[0][0] || !parts[0][1]) {
        warn("spock.queue TABLESYNC message without schema_name or table_name ignored: " + message);
        return false;
    }
    const std::string& nspname = *parts[0][0];
    const std::string& relname = *parts[0][1];
    std::string qualified = nspname + "." + relname;
    pg::SqlValue kind = pg::spi_value(
        "SELECT c.relkind::text FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1::name AND c.relname = $2::name",
        {nspname, relname});
    if (!kind || (*kind != "r" && *kind != "p")) {
        warn("table " + qualified +
             " added to a replication set on the provider does not exist here; its data is "
             "not synchronised (create it and use spock.sub_resync_table())");
        return false;
    }
    uint64_t n = pg::spi_exec(
        "INSERT INTO spock.local_sync_status (sync_kind, sync_subid, sync_nspname, "
        "sync_relname, sync_status, sync_statuslsn) "
        "VALUES ('d', $1::oid, $2::name, $3::name, 'i', '0/0') "
        "ON CONFLICT (sync_subid, sync_nspname, sync_relname) DO UPDATE "
        "SET sync_kind = 'd', sync_status = 'i', sync_statuslsn = '0/0' "
        "WHERE spock.local_sync_status.sync_status IN ('r', 'y')",
        {std::to_string(subid), nspname, relname});
    return n > 0;
}

// 'S': moves the local sequence forward to the provider's value.
void sequence_sync(const std::string& message) {
    std::vector<pg::SqlRow> parts = pg::spi_query(
        "SELECT $1::json->>'schema_name', $1::json->>'sequence_name', "
        "       $1::json->>'last_value'",
        {message});
    if (parts.empty() || !parts[0][0] || !parts[0][1] || !parts[0][2]) {
        warn(
            "spock.queue SEQUENCE message without schema_name, sequence_name or last_value "
            "ignored: " +
            message);
        return;
    }
    const std::string& nspname = *parts[0][0];
    const std::string& seqname = *parts[0][1];
    std::string qualified = nspname + "." + seqname;
    pg::SqlValue seqoid = pg::spi_value(
        "SELECT c.oid FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1::name AND c.relname = $2::name AND c.relkind = 'S'",
        {nspname, seqname});
    if (!seqoid) {
        warn("sequence " + qualified +
             " synchronised by the provider does not exist here; its value is not applied");
        return;
    }
    apply_sequence_value(static_cast<Oid>(std::stoul(*seqoid)), *parts[0][2]);
}

bool logged_unsupported = false;

}  // namespace

DecodedQueueRow decode_queue_row(const core::Insert* msg) {
    DecodedQueueRow row;
    detail::RelMapEntry* e =
        detail::open_mapped_relation(msg->relid, AccessShareLock, false, &row.rel);
    TupleDesc desc = RelationGetDescr(row.rel);
    row.values = static_cast<Datum*>(palloc0(sizeof(Datum) * desc->natts));
    row.nulls = static_cast<bool*>(palloc(sizeof(bool) * desc->natts));
    bool* sent = static_cast<bool*>(palloc0(sizeof(bool) * desc->natts));
    memset(row.nulls, true, sizeof(bool) * desc->natts);
    detail::convert_tuple(e, desc, msg->new_tuple, false, row.values, row.nulls, sent);
    return row;
}

bool is_queue_relation(const std::string& nspname, const std::string& relname) {
    return nspname == "spock" && relname == "queue";
}

bool queued_ddl_of(const core::Insert& msg, std::string* statement, std::string* role) {
    const core::Insert* m = &msg;
    QueueRow row{'\0', nullptr, nullptr};
    QueueRow* out = &row;
    pg::pg_call([m, out] { read_queue_row(m, out); });
    if ((row.type != 'Q' && row.type != 'D') || row.message == nullptr) {
        return false;
    }
    std::string message(row.message);
    pg::spi_connect();
    pg::SqlValue text = pg::spi_value("SELECT $1::json #>> '{}'", {message});
    pg::spi_finish();
    *statement = text ? *text : message;
    *role = row.role != nullptr ? row.role : "";
    return true;
}

bool act_on_queue_insert(Oid subid, const core::Insert& msg) {
    const core::Insert* m = &msg;
    QueueRow row{'\0', nullptr, nullptr};
    QueueRow* out = &row;
    pg::pg_call([m, out] { read_queue_row(m, out); });
    if (row.message == nullptr) {
        return false;
    }
    std::string message(row.message);
    bool copy_requested = false;
    pg::spi_connect();
    switch (row.type) {
        case 'A':
            copy_requested = table_sync(subid, message);
            break;
        case 'S':
            sequence_sync(message);
            break;
        case 'Q':  // spock.replicate_ddl()
        case 'D':  // automatic DDL of a Spock node
            apply_queued_ddl(row.role != nullptr ? row.role : "", message);
            break;
        default:
            if (!logged_unsupported) {
                logged_unsupported = true;
                char type = row.type;
                pg::pg_call([type] {
                    ereport(LOG, (errmsg("spock.queue message of unknown type '%c' kept but not "
                                         "acted on",
                                         type)));
                });
            }
            break;
    }
    pg::spi_finish();
    return copy_requested;
}

}  // namespace spock::apply
