#include "spock/core/insert_batch.hpp"

namespace spock::core {

BatchWrite choose_batch_write(int rows, bool has_arbiter, bool may_resolve,
                              int speculative_runs_left) noexcept {
    if (!has_arbiter || !may_resolve) {
        return BatchWrite::MultiInsert;
    }
    if (rows < kMinGuardedBatchRows || speculative_runs_left > 0) {
        return BatchWrite::Speculative;
    }
    return BatchWrite::GuardedMultiInsert;
}

int collision_backoff(BatchWrite how, bool collided, int speculative_runs_left) noexcept {
    if (collided) {
        return kSpeculativeRunsAfterCollision;
    }
    if (how == BatchWrite::Speculative && speculative_runs_left > 0) {
        return speculative_runs_left - 1;
    }
    return speculative_runs_left;
}

bool defer_key_lookup(int buffered_rows, bool has_arbiter, bool in_subtransaction) noexcept {
    return has_arbiter && !in_subtransaction && buffered_rows >= 0 &&
           buffered_rows < kMinGuardedBatchRows - 1;
}

}  // namespace spock::core
