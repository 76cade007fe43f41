// The manager's periodic sequence sync (docs/sequences.md): every kIntervalMs it ships each
// sequence of the local node's replication sets that has gone beyond the value last shipped or
// received for it (spock.sync_seq() without being asked). Idle sequences cost one catalog
// read. Skipped while spock.readonly is `all`.
#pragma once

#include "spock/pg/postgres.hpp"

extern "C" {
#include <utils/timestamp.h>
}

namespace spock::worker {

class SequenceWatch {
  public:
    // Opens a transaction of its own. A failure is reported as a WARNING by the caller's
    // guard; the manager goes on.
    void check();

    // Fixed: Spock 5 has no setting for it (it has no periodic sync at all).
    static constexpr long kIntervalMs = 10 * 1000L;

  private:
    TimestampTz last_check_ = 0;
};

}  // namespace spock::worker
