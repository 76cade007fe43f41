// See queue_dedup.hpp.
#include "queue_dedup.hpp"

#include <string>

#include "spock/core/queue_dedup.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"

#include "apply_internal.hpp"
#include "ddl_apply.hpp"
#include "queue_messages.hpp"

extern "C" {
#include <access/table.h>
#include <utils/lsyscache.h>
#include <utils/rel.h>
}

namespace spock::apply {
namespace {

// The identity columns of a queue row, in their text form; nullptr for NULL or a column the
// local spock.queue lacks.
constexpr int kColumns = 5;
constexpr const char* kColumnNames[kColumns] = {"queued_at", "role", "message_type",
                                                "replication_sets", "message"};

// Plain glue, no C++ objects: decodes the remote tuple with the relation mapping the row code
// uses; the texts are palloc'd in the caller's memory context.
void read_identity(const core::Insert* msg, char** out) {
    MemoryContext caller = CurrentMemoryContext;
    DecodedQueueRow row = decode_queue_row(msg);
    Relation rel = row.rel;
    TupleDesc desc = RelationGetDescr(rel);
    Datum* values = row.values;
    bool* nulls = row.nulls;
    for (int i = 0; i < kColumns; i++) {
        out[i] = nullptr;
        AttrNumber att = get_attnum(RelationGetRelid(rel), kColumnNames[i]);
        if (att <= 0 || nulls[att - 1]) {
            continue;
        }
        Oid typoutput;
        bool varlena;
        getTypeOutputInfo(TupleDescAttr(desc, att - 1)->atttypid, &typoutput, &varlena);
        char* text = OidOutputFunctionCall(typoutput, values[att - 1]);
        MemoryContext old = MemoryContextSwitchTo(caller);
        out[i] = pstrdup(text);
        MemoryContextSwitchTo(old);
    }
    table_close(rel, NoLock);
}

pg::SqlValue opt(const char* s) {
    return s != nullptr ? pg::SqlValue(s) : pg::SqlValue();
}

}  // namespace

bool skip_repeated_queue_message(uint32 origin_node, const core::Insert& msg) {
    const core::Insert* m = &msg;
    char* identity[kColumns];
    char** out = identity;
    pg::pg_call([m, out] { read_identity(m, out); });
    if (identity[0] == nullptr || identity[2] == nullptr || identity[4] == nullptr) {
        return false;  // not a queue row as spock writes them: nothing to compare
    }
    // Rows of the current local transaction are this remote transaction's own messages (one
    // transaction may queue the same text twice); only earlier transactions count.
    pg::spi_connect();
    pg::SqlValue earlier = pg::spi_value(
        "SELECT count(*) FROM spock.queue q "
        "WHERE q.queued_at = $1::timestamptz AND q.role IS NOT DISTINCT FROM $2::name "
        "  AND q.message_type = $3::\"char\" "
        "  AND q.replication_sets IS NOT DISTINCT FROM $4::text[] "
        "  AND q.message::text = $5 AND q.xmin <> pg_catalog.pg_current_xact_id()::xid",
        {opt(identity[0]), opt(identity[1]), opt(identity[2]), opt(identity[3]), opt(identity[4])});
    pg::spi_finish();
    if (!earlier || *earlier == "0") {
        return false;
    }
    std::string line = core::repeated_queue_message_line(identity[2][0], origin_node, identity[0]);
    pg::pg_call([&line] { ereport(LOG, (errmsg("%s", line.c_str()))); });
    note_repeated_queue_message();
    return true;
}

}  // namespace spock::apply
