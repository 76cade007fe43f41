// See ddl_apply.hpp.
#include "ddl_apply.hpp"

#include "spock/core/auto_ddl.hpp"
#include "spock/core/ddl_rules.hpp"
#include "spock/core/names.hpp"
#include "spock/core/log_window.hpp"
#include "spock/pg/ddl_exec.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/table_shape.hpp"
#include "spock/worker/shmem.hpp"

#include "apply_internal.hpp"

extern "C" {
#include <miscadmin.h>
#include <utils/timestamp.h>
}

namespace spock::apply {
namespace {

struct SchemaCounts {
    uint64 ddl_applied = 0;
    uint64 relation_changes = 0;
    uint64 missing_nulls = 0;
    uint64 missing_values_dropped = 0;
    uint64 queue_repeats_skipped = 0;
    uint64 schema_mismatches = 0;
    bool any() const {
        return ddl_applied + relation_changes + missing_nulls + missing_values_dropped +
                   queue_repeats_skipped + schema_mismatches >
               0;
    }
};

SchemaCounts pending;

// At most 10 lines per 10 seconds of each kind: dropped values (one per change at worst), and
// schema events (a changed RELATION message, a table matched without some column), so that a
// flood of the first never hides the second.
enum class LineKind { DroppedValue, SchemaEvent };

// Whether a line may be logged now; *left_out says how many the previous window left out.
bool admit_line(LineKind kind, uint64* left_out) {
    static core::LogWindow values(10, 10 * 1000 * 1000);
    static core::LogWindow events(10, 10 * 1000 * 1000);
    std::uint64_t suppressed = 0;
    core::LogWindow& w = kind == LineKind::DroppedValue ? values : events;
    bool ok = w.admit(GetCurrentTimestamp(), &suppressed);
    *left_out = suppressed;
    return ok;
}

// Automatic DDL notes the provider's fingerprint of the table a statement changes
// (core::ddl_target_comment). A different table here means the schemas had diverged before this
// statement: DDL ran on this node meanwhile (concurrently, or by hand). The statement still
// runs; the mismatch is logged and counted (docs/ddl.md, "Concurrent DDL"). The table is locked
// first as the ALTER will lock it, so that an ALTER of this node not yet committed is waited
// for and seen.
void check_target_fingerprint(const std::string& text) {
    std::optional<core::DdlTargetNote> note = core::parse_ddl_target_comment(text);
    if (!note) {
        return;
    }
    std::optional<std::vector<core::ColumnShape>> local =
        pg::table_shape(note->nspname, note->relname, AccessExclusiveLock);
    std::string fp = local ? core::table_fingerprint(*local) : "absent";
    if (fp == note->fingerprint) {
        return;
    }
    pending.schema_mismatches++;
    std::string name = core::quote_qualified_identifier(note->nspname, note->relname);
    std::string here = local ? core::table_shape_text(*local) : "(no such table)";
    pg::pg_call([&] {
        ereport(
            WARNING,
            (errmsg("table %s differs from the provider's before replicated DDL", name.c_str()),
             errdetail("On the provider (fingerprint %s): %s. Here (fingerprint %s): %s. The "
                       "schemas had diverged, by DDL run on this node meanwhile "
                       "(concurrently) or by hand; the statement is run anyway.",
                       note->fingerprint.c_str(), note->shape.c_str(), fp.c_str(), here.c_str()),
             errhint("Compare the table on every node and make them equal; run schema "
                     "changes of a table on one node only (docs/ddl.md).")));
    });
}

}  // namespace

void apply_queued_ddl(const std::string& role, const std::string& message_json) {
    pg::SqlValue text = pg::spi_value("SELECT $1::json #>> '{}'", {message_json});
    if (!text || text->empty()) {
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          "queued DDL message has no statement",
                          "spock.queue message: " + message_json);
    }
    Oid roleid = pg::ddl_role_oid(role, "replicated DDL statement");
    check_target_fingerprint(*text);
    pg::execute_ddl_as(roleid, *text);
    pending.ddl_applied++;
}

void note_relation_columns(const char* nspname, const char* relname,
                           const std::vector<std::string>& before,
                           const std::vector<std::string>& after) {
    core::ColumnDiff d = core::diff_columns(before, after);
    if (!d.changed()) {
        return;
    }
    pending.relation_changes++;
    uint64 left_out = 0;
    if (!admit_line(LineKind::SchemaEvent, &left_out)) {
        return;
    }
    std::string added = core::column_list_text(d.added);
    std::string removed = core::column_list_text(d.removed);
    pg::pg_call([&] {
        ereport(LOG, (errmsg("columns of remote relation \"%s.%s\" changed on the provider",
                             nspname, relname),
                      errdetail("Added: %s. Removed: %s. The local table is matched again by "
                                "column name.%s",
                                added.c_str(), removed.c_str(),
                                left_out > 0 ? psprintf(" %llu similar lines were left out.",
                                                        static_cast<unsigned long long>(left_out))
                                             : "")));
    });
}

void note_repeated_queue_message() {
    pending.queue_repeats_skipped++;
}

void count_schema_changes(Oid subid) {
    if (!pending.any()) {
        return;
    }
    worker::SpockShared* sh = worker::shared();
    SchemaCounts add = pending;
    pending = SchemaCounts{};
    pg::pg_call([sh, subid, &add] {
        LWLockAcquire(sh->lock, LW_EXCLUSIVE);
        worker::ApplyStats* e = worker::find_apply_stats(MyDatabaseId, subid, true);
        if (e != nullptr) {
            e->ddl_applied += add.ddl_applied;
            e->relation_changes += add.relation_changes;
            e->missing_column_nulls += add.missing_nulls;
            e->missing_column_values_dropped += add.missing_values_dropped;
            e->queue_repeats_skipped += add.queue_repeats_skipped;
            e->ddl_schema_mismatches += add.schema_mismatches;
        }
        LWLockRelease(sh->lock);
    });
}

}  // namespace spock::apply

namespace spock::apply::detail {

void note_missing_column_resolved(const RelMapEntry* e, const RemoteColumn* c) {
    uint64 left_out = 0;
    if (!admit_line(LineKind::SchemaEvent, &left_out)) {
        return;
    }
    const bool error = gucs::missing_column_action == gucs::kMissingColumnError;
    ereport(LOG,
            (errmsg("table \"%s.%s\" has no column \"%s\" that the provider sends", e->nspname,
                    e->relname, c->name),
             errdetail("NULL values for it are ignored; other values %s.%s",
                       error ? "make the change fail (spock.missing_column_action = error)"
                             : "are dropped and logged (spock.missing_column_action = ignore)",
                       left_out > 0 ? psprintf(" %llu similar lines were left out.",
                                               static_cast<unsigned long long>(left_out))
                                    : ""),
             errhint("Add or drop the column on every node; docs/ddl.md gives a safe order.")));
}

void note_missing_column_value(const RelMapEntry* e, const RemoteColumn* c, bool is_null) {
    core::MissingColumnPolicy policy = gucs::missing_column_action == gucs::kMissingColumnError
                                           ? core::MissingColumnPolicy::Error
                                           : core::MissingColumnPolicy::Ignore;
    switch (core::missing_column_action(is_null, policy)) {
        case core::MissingColumnAction::IgnoreNull:
            pending.missing_nulls++;
            return;
        case core::MissingColumnAction::Error:
            ereport(ERROR,
                    (errcode(ERRCODE_UNDEFINED_COLUMN),
                     errmsg("target relation \"%s.%s\" is missing replicated column \"%s\"",
                            e->nspname, e->relname, c->name),
                     errdetail("The provider sent a non-NULL value for it, and "
                               "spock.missing_column_action is error."),
                     errhint("Add the column on this node, or set spock.missing_column_action "
                             "to ignore to drop such values with a log line.")));
            return;
        case core::MissingColumnAction::DropValueLogged:
            break;
    }
    pending.missing_values_dropped++;
    uint64 left_out = 0;
    if (!admit_line(LineKind::DroppedValue, &left_out)) {
        return;
    }
    ereport(LOG,
            (errmsg("value of remote column \"%s\" dropped: table \"%s.%s\" has no such column",
                    c->name, e->nspname, e->relname),
             errdetail("The rest of the change is applied.%s",
                       left_out > 0 ? psprintf(" %llu similar lines were left out.",
                                               static_cast<unsigned long long>(left_out))
                                    : ""),
             errhint("spock.schema_change_stats() counts dropped values. Add the column here "
                     "before writing it elsewhere (docs/ddl.md), or set "
                     "spock.missing_column_action = error to send such changes to exception "
                     "handling.")));
}

}  // namespace spock::apply::detail
