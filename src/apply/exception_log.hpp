// Rows of spock.exception_log (reference §2, §6.7; docs/exceptions.md). Plain glue: raises
// ERROR; call inside the local transaction of a replay.
#pragma once

#include "spock/core/protocol.hpp"
#include "spock/pg/postgres.hpp"

extern "C" {
#include <utils/timestamp.h>
}

namespace spock::apply {

struct ExceptionLogEntry {
    Oid remote_origin;
    TimestampTz remote_commit_ts;
    int32 command_counter;
    int64 remote_xid;
    const char* table_schema;  // nullptr: NULL
    const char* table_name;
    const char* operation;  // INSERT, UPDATE, DELETE, TRUNCATE, SUB_DISABLE
    const char* remote_old_json;
    const char* remote_new_json;
    const char* ddl_statement;
    const char* ddl_user;
    const char* error_message;  // never nullptr
    // The local row the change found, when it found one.
    const char* local_tup_json;  // nullptr: NULL
    bool local_origin_known;
    Oid local_origin;
    TimestampTz local_commit_ts;
};

void insert_exception_log(const ExceptionLogEntry& e);

// The next command_counter: grows for the life of the process (and starts from the time the
// process started, so a restarted worker does not reuse the values of the previous one).
int32 next_command_counter();

// A tuple of a remote relation as exception_log stores it: a JSON array of
// {"attname", "atttype", "value"}, values in their text form (null for NULL, for an unchanged
// TOAST value, and for a binary value of a type this node cannot read). nullptr for a relation
// without RELATION message. Allocates in the current memory context.
char* remote_tuple_json(core::RelId relid, const core::TupleData& tuple);

}  // namespace spock::apply
