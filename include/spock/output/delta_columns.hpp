// Delta-apply columns as the output plugin sees them (docs/conflicts.md, "Delta-apply
// columns"). With REPLICA IDENTITY FULL the WAL holds the whole old row and the UPDATE message
// carries it ('K' + old tuple) as for any such table: the wire needs nothing more. When the
// table's replica identity was changed away from FULL after its columns were labelled, the
// old values are not in the WAL: the UPDATE goes out as for any table (no old tuple, or the
// old key only, with the key columns flagged in the RELATION message, which is how the
// subscriber tells that no old value came), and the walsender warns.
#pragma once

#include "spock/pg/postgres.hpp"

extern "C" {
#include <utils/relcache.h>
}

namespace spock::output {

// Logs a WARNING when rel has delta-apply columns but its replica identity is not FULL.
// Called when the plugin loads its cache entry for rel (reads pg_seclabel under the historic
// snapshot, so the answer is the one of the change being decoded).
void warn_unlogged_delta_columns(Relation rel);

}  // namespace spock::output
