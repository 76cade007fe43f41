// Apply and output statistics functions (reference §3.6; views channel_table_stats and
// channel_summary_stats in §2).
#include "spock/pg/guard.hpp"

// The counters live in shared memory filled by the apply worker and the output plugin. Neither
// exists in this build yet, so the function exists only so that the views built on it can be
// created; calling it says plainly why there is nothing to show.
SPOCK_PG_FUNCTION(spock_get_channel_stats) {
    (void)fcinfo;
    throw spock::core::Error(spock::core::sqlstate::kFeatureNotSupported,
                             "spock.get_channel_stats() is not available yet",
                             "This build of spock does not collect per-table apply statistics yet.",
                             "");
}
