// Shipping sequence values through spock.queue (reference §3.3, §10.2; docs/sequences.md).
// Used by spock.sync_seq() (src/sql) and by the manager's periodic sync (src/worker).
#pragma once

#include <cstdint>

#include "spock/pg/postgres.hpp"

namespace spock::catalog {

enum class ShipWhen {
    Always,      // sync_seq(): ship now
    IfAdvanced,  // periodic sync: only when the sequence went beyond the value last shipped
                 // or received (core::periodic_sync_due)
};

// Queues a SEQUENCE message ('S') carrying the sequence's last value plus its margin
// (sequence_state.cache_size steps) for every replication set that contains it, and records
// that value in spock.sequence_state. Inside a transaction, with SPI connected. Returns false
// when nothing was shipped (IfAdvanced and not advanced). ERROR (55000) when the sequence is
// in no replication set.
bool ship_sequence(Oid seqoid, ShipWhen when);

}  // namespace spock::catalog
