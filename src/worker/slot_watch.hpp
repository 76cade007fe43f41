// The manager's watch over the spock slots of its database (docs/replication.md, "WAL kept for
// subscribers"): a logical slot keeps WAL until its subscriber confirms it, so a subscriber
// that is gone makes the provider's disk fill up. The manager warns about it.
#pragma once

#include <map>
#include <string>

#include "spock/pg/postgres.hpp"

extern "C" {
#include <utils/timestamp.h>
}

namespace spock::worker {

class SlotWatch {
  public:
    // Looks at the slots at most every kIntervalMs; WARNING for a slot whose WAL is lost
    // (its subscriber can never catch up) and for an inactive slot that retains more WAL than
    // max_wal_size, each repeated at most hourly per slot. Opens a transaction of its own.
    void check();

  private:
    static constexpr long kIntervalMs = 10 * 1000L;
    static constexpr long kRepeatMs = 60 * 60 * 1000L;
    TimestampTz last_check_ = 0;
    std::map<std::string, TimestampTz> warned_;  // slot -> when it was last warned about
};

}  // namespace spock::worker
