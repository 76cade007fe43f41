// Pure decisions of the apply worker about positions: what it may confirm to the provider,
// and which remote transactions or changes it skips.
#pragma once

#include <deque>
#include <optional>

#include "spock/core/lsn.hpp"

namespace spock::core {

// Tracks local commits whose WAL may not be flushed yet, so that feedback confirms a remote
// position only once the local commit that applied it is durable.
class FlushTracker {
  public:
    // A remote transaction ending at `remote_end` was committed locally, ending at `local_end`.
    void committed(Lsn local_end, Lsn remote_end);

    // The position to report as flushed, given how far the local WAL is flushed and how far
    // the stream has been received: the newest remote end whose local commit is flushed, or,
    // when nothing is outstanding and no remote transaction is being handled, everything
    // received. kInvalidLsn when nothing new can be confirmed. Forgets what it reported.
    Lsn flushed(Lsn local_flushed, Lsn received, bool in_remote_txn);

    bool empty() const noexcept { return pending_.empty(); }

  private:
    struct Pending {
        Lsn local_end;
        Lsn remote_end;
    };
    std::deque<Pending> pending_;
};

// sub_alter_skiplsn(): the transaction whose commit record is at `skip_lsn` is skipped.
constexpr bool skip_transaction(Lsn skip_lsn, Lsn final_lsn) noexcept {
    return skip_lsn.is_valid() && skip_lsn == final_lsn;
}

// A table copied again at provider position `synced_at` already holds the changes of
// transactions whose commit record is before it.
constexpr bool skip_resynced_change(std::optional<Lsn> synced_at, Lsn final_lsn) noexcept {
    return synced_at.has_value() && final_lsn < *synced_at;
}

}  // namespace spock::core
