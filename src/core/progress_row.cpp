// The apply worker's spock.progress row (see progress_row.hpp).
#include "spock/core/progress_row.hpp"

namespace spock::core {

ProgressWrite progress_write(std::uint64_t last_commit_end, std::uint64_t remote_insert,
                             std::uint64_t caught_up_at, std::uint64_t written, bool written_idle,
                             std::int64_t ms_since_written) noexcept {
    ProgressWrite w;
    if (last_commit_end != 0 && last_commit_end > written) {
        w.write = true;
        w.by_decode = true;
        w.lsn = last_commit_end;
        w.insert_lsn = remote_insert > last_commit_end ? remote_insert : last_commit_end;
    } else if (caught_up_at != 0 && caught_up_at > written &&
               (!written_idle || written == 0 || ms_since_written >= kIdleProgressIntervalMs)) {
        w.write = true;
        w.by_decode = false;
        w.lsn = caught_up_at;
        w.insert_lsn = caught_up_at;
    }
    return w;
}

}  // namespace spock::core
