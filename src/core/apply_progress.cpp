// Flush-position tracking. See include/spock/core/apply_progress.hpp.
#include "spock/core/apply_progress.hpp"

namespace spock::core {

void FlushTracker::committed(Lsn local_end, Lsn remote_end) {
    pending_.push_back({local_end, remote_end});
}

Lsn FlushTracker::flushed(Lsn local_flushed, Lsn received, bool in_remote_txn) {
    Lsn flush = kInvalidLsn;
    while (!pending_.empty() && pending_.front().local_end <= local_flushed) {
        flush = pending_.front().remote_end;
        pending_.pop_front();
    }
    if (pending_.empty() && !in_remote_txn) {
        return received;
    }
    return flush;
}

}  // namespace spock::core
