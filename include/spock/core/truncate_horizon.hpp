// What a TRUNCATE means between nodes that all write (docs/conflicts.md, "TRUNCATE in a mesh").
// A TRUNCATE committed at time T on node X removes every row whose last change committed before
// T, wherever that row is and whenever it arrives: a remote change older than the last TRUNCATE
// of its table is not applied, and a remote TRUNCATE keeps the local rows written at or after
// its T. Each node remembers the last TRUNCATE of each table (its "horizon"). Pure decisions on
// plain values; the glue reads commit timestamps and tiebreakers.
#pragma once

#include <cstdint>

#include "spock/core/lsn.hpp"

namespace spock::core {

// The last TRUNCATE of a table: its commit time.
struct TruncateHorizon {
    TimestampUs truncated_at;
};

enum class TruncateOrder {
    Before,        // the change (or row) is older than the TRUNCATE: it goes
    After,         // it was committed after the TRUNCATE: it stays
    NeedTiebreak,  // equal commit times: ask truncate_tiebreak()
};

// Where a change committed at `change_time` stands against the horizon. A row whose commit
// time is unknown (frozen, or committed before track_commit_timestamp was on) is older than any
// TRUNCATE.
TruncateOrder order_against_truncate(const TruncateHorizon& h, bool change_time_known,
                                     TimestampUs change_time) noexcept;

// Equal commit times: as in conflict resolution, the lower tiebreaker wins. When the TRUNCATE's
// node has the lower tiebreaker, the change counts as older than it; equal tiebreakers (the same
// node) keep the change.
TruncateOrder truncate_tiebreak(std::int64_t truncate_tiebreaker,
                                std::int64_t change_tiebreaker) noexcept;

// Whether a TRUNCATE at `incoming` replaces the remembered horizon `current` (a later one does;
// an older TRUNCATE arriving late changes nothing that the later one has not already done).
bool horizon_advances(bool have_current, const TruncateHorizon& current,
                      const TruncateHorizon& incoming) noexcept;

}  // namespace spock::core
