// The physical standbys of spock.pg_standby_slot_names, read from this server's replication
// slots (docs/high-availability.md, "Standby-gated sending"). Used by the output plugin, which
// holds a transaction back until they have it, and by the apply worker, which confirms a remote
// transaction to its provider only once they have its local commit.
#pragma once

#include <optional>

#include "spock/core/lsn.hpp"

namespace spock::pg {

// How far the standbys named in spock.pg_standby_slot_names have confirmed this server's WAL
// (the restart_lsn of their physical slots, as spock.standby_slots_min_confirmed counts them).
// std::nullopt when the setting is empty: nothing is gated.
std::optional<core::Lsn> standby_confirmed_lsn();

// This server's flushed WAL position, capped at what the standbys have confirmed.
core::Lsn flush_confirmed_by_standbys();

}  // namespace spock::pg
