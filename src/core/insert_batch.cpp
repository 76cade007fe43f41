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

bool defer_key_lookup(bool has_arbiter, bool in_subtransaction, int lookup_runs_left) noexcept {
    return has_arbiter && !in_subtransaction && lookup_runs_left <= 0;
}

int lookup_backoff(bool met_existing_key, int lookup_runs_left) noexcept {
    if (met_existing_key) {
        return kLookupRunsAfterCollision;
    }
    return lookup_runs_left > 0 ? lookup_runs_left - 1 : 0;
}

}  // namespace spock::core
