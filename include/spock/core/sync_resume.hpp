// Where an interrupted initial synchronisation goes on, from the subscription-level status row
// of spock.local_sync_status (docs/replication.md, "When the apply worker starts").
#pragma once

namespace spock::core {

enum class SyncResume {
    Full,        // start (again) from the beginning: nothing of it committed
    FinishOnly,  // the data is in: only set the origin to the recorded position, then ready
    Refuse,      // a step that committed part of its work was interrupted: not resumable
};

// kind: 'i', 's', 'd' or 'f' (nothing, structure, data, both); status: the step recorded last.
// The data copy is one transaction that also moves the status on ('y' for data only, 'c' when
// post-data is still to come), so 'd' means no copied row was committed. The structure steps
// run in pg_restore's own transactions, which the status cannot follow exactly.
constexpr SyncResume sync_resume(char kind, char status) noexcept {
    if (status == 'i' || status == 'u') {
        return SyncResume::Full;
    }
    if (status == 'd' && kind == 'd') {
        return SyncResume::Full;
    }
    if (status == 'y') {
        return SyncResume::FinishOnly;
    }
    return SyncResume::Refuse;
}

}  // namespace spock::core
