// Failover slots on a physical standby (docs/high-availability.md): a background worker that
// keeps local copies of the primary's logical slots, so that a promoted standby's subscribers
// continue from their slots without a resynchronisation.
#pragma once

namespace spock::failover {

// Registers the "spock failover slots" static background worker. It starts once the standby
// accepts read-only connections (consistent state), exits for good when the server is not in
// recovery (a primary, or a standby just promoted, where the supervisor's workers take over),
// and is restarted by the postmaster after an error. Called from _PG_init.
void register_slot_sync_worker();

}  // namespace spock::failover
