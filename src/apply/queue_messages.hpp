// Acting on spock.queue messages received from a provider (reference §10.5, §10.2, §3.3).
//
// The apply worker applies an INSERT into spock.queue like any other row; this hook then acts
// on the message in the same local transaction:
//  'A' (TABLESYNC)  the named table gets a copy request (local_sync_status kind 'd', status
//                   'i'), which the worker's per-table resync carries out between remote
//                   transactions. A table missing here is reported and ignored.
//  'S' (SEQUENCE)   the local sequence is moved forward to the provider's last_value, never
//                   backwards. A missing sequence is reported and ignored.
//  'Q', 'D' (DDL)   the statement runs as the row's role (ddl_apply.hpp, docs/ddl.md).
//  others           are kept in the table and otherwise not acted on.
#pragma once

#include <string>

#include "spock/core/protocol.hpp"
#include "spock/pg/postgres.hpp"

extern "C" {
#include <utils/relcache.h>
}

namespace spock::apply {

// True for the provider's spock.queue.
bool is_queue_relation(const std::string& nspname, const std::string& relname);

// Acts on the queue row `msg` just applied, inside the current transaction (inserts buffered
// for multi-insert must have been written). Returns true when a table copy was requested, so
// the caller should look at the status rows right after the commit. Calls PostgreSQL only
// through pg_call and the SPI helpers.
bool act_on_queue_insert(Oid subid, const core::Insert& msg);

// For the exception log: when `msg` is a queued DDL row ('Q' or 'D'), its statement text and
// role. Needs a transaction.
bool queued_ddl_of(const core::Insert& msg, std::string* statement, std::string* role);

// A remote spock.queue row decoded with the relation mapping the row code uses: the local
// relation, open with AccessShareLock (close it with table_close(rel, NoLock)), and the values
// and nulls in its attribute order, palloc'd in the current memory context. Plain glue that
// may raise a PostgreSQL error: call it under pg_call.
struct DecodedQueueRow {
    Relation rel;
    Datum* values;
    bool* nulls;
};
DecodedQueueRow decode_queue_row(const core::Insert* msg);

}  // namespace spock::apply
