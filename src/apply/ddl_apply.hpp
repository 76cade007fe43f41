// Schema changes on the apply side (docs/ddl.md):
//  - queued DDL ('Q' from spock.replicate_ddl, 'D' from a Spock node's automatic DDL) runs in
//    the transaction that carries it, as the role it names, with the queued search_path;
//  - a remote column the local table does not have: NULL values are ignored, non-NULL values
//    are dropped with a rate-limited LOG or fail under spock.missing_column_action = error;
//  - a RELATION message whose columns differ from the previous one for the same relation is
//    logged and counted.
// Counts are kept per process and added to the subscription's shared counters after each
// local commit (spock.schema_change_stats()).
#pragma once

#include <string>
#include <vector>

#include "spock/pg/postgres.hpp"

namespace spock::apply {

// Runs a queued DDL message: `message_json` is the queue row's message (a JSON string),
// `role` its role. SPI must be connected. Raises (PgError / core::Error) when the role does
// not exist or the DDL fails; the caller's exception handling takes it from there.
void apply_queued_ddl(const std::string& role, const std::string& message_json);

// The provider sent a RELATION message for a relation it had described before: logs and counts
// a change of its columns.
void note_relation_columns(const char* nspname, const char* relname,
                           const std::vector<std::string>& before,
                           const std::vector<std::string>& after);

// Counts a spock.queue message skipped because it was applied here already (queue_dedup.hpp).
void note_repeated_queue_message();

// Adds this process's schema-change counts to the subscription's counters.
void count_schema_changes(Oid subid);

}  // namespace spock::apply

namespace spock::apply::detail {

struct RelMapEntry;
struct RemoteColumn;

// Plain glue, may raise ERROR. The local side of `e` was resolved and `c` has no local column.
void note_missing_column_resolved(const RelMapEntry* e, const RemoteColumn* c);
// A value for such a column arrived: ignored when NULL, else dropped with a LOG or an ERROR.
void note_missing_column_value(const RelMapEntry* e, const RemoteColumn* c, bool is_null);

}  // namespace spock::apply::detail
