// Standby-gated sending (docs/high-availability.md): a spock walsender holds a transaction back
// until the physical standbys of spock.pg_standby_slot_names have flushed it.
#pragma once

#include "spock/pg/postgres.hpp"

extern "C" {
#include <access/xlogdefs.h>
}

struct LogicalDecodingContext;

namespace spock::output {

// Waits until the standbys have confirmed WAL up to end_lsn (the end of the transaction's
// commit record). Returns at once when spock.pg_standby_slot_names is empty or outside a
// walsender. While waiting it answers the subscriber's keepalives through
// OutputPluginUpdateProgress, reloads the configuration on SIGHUP (so emptying the setting
// releases the wait) and honours interrupts and postmaster death.
void wait_for_standbys(LogicalDecodingContext* ctx, XLogRecPtr end_lsn);

}  // namespace spock::output
