// Early apply of a streamed transaction: the worker's decisions. See early_apply.hpp.
#include "spock/core/early_apply.hpp"

namespace spock::core {

std::string_view early_fallback_name(EarlyFallback r) noexcept {
    switch (r) {
        case EarlyFallback::None:
            return "none";
        case EarlyFallback::Unsupported:
            return "a change early apply does not take (DELETE, TRUNCATE or a logical message)";
        case EarlyFallback::SpockTable:
            return "a change to one of spock's own tables";
        case EarlyFallback::TooManySubxacts:
            return "too many subtransactions";
        case EarlyFallback::Conflict:
            return "a conflict whose resolution needs the commit";
        case EarlyFallback::ProcessError:
            return "an error in the stream apply process";
        case EarlyFallback::ProcessGone:
            return "the stream apply process is gone";
        case EarlyFallback::CommitFields:
            return "the commit's origin or skip LSN";
        case EarlyFallback::Deadlock:
            return "a deadlock between the apply worker and the stream apply process";
    }
    return "unknown";
}

EarlyFallback early_change_rule(EarlyChange kind, bool spock_table) noexcept {
    switch (kind) {
        case EarlyChange::Relation:
            return EarlyFallback::None;  // a description; a spock table is caught at its change
        case EarlyChange::Insert:
        case EarlyChange::Update:
            return spock_table ? EarlyFallback::SpockTable : EarlyFallback::None;
        case EarlyChange::Delete:
        case EarlyChange::Truncate:
        case EarlyChange::Message:
            return spock_table ? EarlyFallback::SpockTable : EarlyFallback::Unsupported;
    }
    return EarlyFallback::Unsupported;
}

EarlyFallback early_conflict_rule() noexcept {
    return EarlyFallback::Conflict;
}

EarlyFallback early_commit_rule(bool origin_is_provider, bool skip) noexcept {
    return origin_is_provider && !skip ? EarlyFallback::None : EarlyFallback::CommitFields;
}

EarlyApplyPlan::Step EarlyApplyPlan::fall_back(EarlyFallback why) {
    forwarding_ = false;
    last_ = why;
    return Step::FallBack;
}

bool EarlyApplyPlan::fail(EarlyFallback why) {
    if (!active_ || !forwarding_) {
        return false;
    }
    fall_back(why);
    return true;
}

EarlyApplyPlan::Step EarlyApplyPlan::on_stream_start(TransactionId xid, bool first_block,
                                                     bool allowed) {
    in_block_ = false;
    if (active_ && *active_ == xid) {
        if (first_block) {
            // The provider sends the transaction again from its start (the spool starts
            // over too): what was early-applied no longer counts.
            bool was = forwarding_;
            forwarding_ = false;
            last_ = EarlyFallback::ProcessGone;
            active_.reset();
            if (was) {
                return Step::FallBack;
            }
        } else {
            in_block_ = true;
            current_sub_ = xid;
            return forwarding_ ? Step::Resume : Step::None;
        }
    }
    if (active_ || !first_block || !allowed) {
        return Step::None;  // another transaction is early-applied, or none may be: spool only
    }
    active_ = xid;
    forwarding_ = true;
    in_block_ = true;
    subxacts_ = 0;
    current_sub_ = xid;
    last_ = EarlyFallback::None;
    return Step::Begin;
}

EarlyApplyPlan::Step EarlyApplyPlan::on_stream_xid(TransactionId subxid) {
    if (!in_block_ || !forwarding_ || subxid == current_sub_) {
        return Step::None;
    }
    current_sub_ = subxid;
    if (subxid == *active_) {
        // Back to the top-level transaction's own changes: they stay inside the
        // subtransactions opened so far, which the provider has not aborted (an abort would
        // have come as 'A'), so nothing needs closing.
        return Step::None;
    }
    if (++subxacts_ > kMaxEarlySubxacts) {
        return fall_back(EarlyFallback::TooManySubxacts);
    }
    return Step::Subxact;
}

EarlyApplyPlan::Step EarlyApplyPlan::on_change(EarlyChange kind, bool spock_table) {
    if (!in_block_ || !forwarding_) {
        return Step::None;
    }
    EarlyFallback r = early_change_rule(kind, spock_table);
    return r == EarlyFallback::None ? Step::Forward : fall_back(r);
}

EarlyApplyPlan::Step EarlyApplyPlan::on_stream_stop() {
    bool was = in_block_;
    in_block_ = false;
    return was && forwarding_ ? Step::Pause : Step::None;
}

EarlyApplyPlan::Step EarlyApplyPlan::on_stream_abort(TransactionId xid, TransactionId subxid) {
    if (!active_ || *active_ != xid) {
        return Step::None;
    }
    if (subxid != xid) {
        return forwarding_ ? Step::RollbackSubxact : Step::None;
    }
    bool was = forwarding_;
    active_.reset();
    forwarding_ = false;
    return was ? Step::Rollback : Step::None;
}

EarlyApplyPlan::Step EarlyApplyPlan::on_stream_commit(TransactionId xid, bool origin_is_provider,
                                                      bool skip) {
    if (!active_ || *active_ != xid) {
        return Step::None;  // not early-applied: from the spool, as always
    }
    bool was = forwarding_;
    active_.reset();
    forwarding_ = false;
    if (!was) {
        return Step::FromSpool;
    }
    EarlyFallback r = early_commit_rule(origin_is_provider, skip);
    if (r != EarlyFallback::None) {
        last_ = r;
        return Step::FallBack;  // roll back, then from the spool
    }
    return Step::Commit;
}

}  // namespace spock::core
