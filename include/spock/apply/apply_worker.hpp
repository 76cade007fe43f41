// The apply worker (reference §1.4, §6): one per enabled subscription. It synchronises the
// subscription if it is new, streams from the provider's slot, applies each remote transaction
// as one local transaction committed under the subscription's replication origin, and reports
// how far it has durably applied.
#pragma once

namespace spock::apply {

// Exit codes of the worker. kExitRestart: the subscription changed (or the worker was asked to
// stop); the manager starts it again without delay if it is still enabled. Errors exit with 1
// and are restarted after spock.restart_delay_default.
inline constexpr int kExitRestart = 0;

}  // namespace spock::apply
