// Early apply of a streamed transaction (docs/architecture.md, "Early apply of streamed
// transactions"): the decisions of the apply worker's side, as a pure state machine.
//
// The apply worker spools every streamed transaction (streamed_txns.hpp) and, for at most one
// transaction at a time, also hands its changes to a stream apply process that applies them in
// one open local transaction while the stream goes on. The spool stays the safety net: when
// early apply cannot be trusted, the process rolls back and the transaction is applied from the
// spool at its STREAM COMMIT exactly as without early apply. This class says, for each stream
// message, what the worker does with the process; it never says to drop a change, only to
// forward it, to stop forwarding (fall back), to commit or to roll back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "spock/core/protocol.hpp"

namespace spock::core {

// Why an early-applied transaction went back to the spool path.
enum class EarlyFallback : std::uint8_t {
    None = 0,
    Unsupported,      // TRUNCATE, a logical message (queued DDL, sequences) or a DELETE
    SpockTable,       // a change to one of spock's own tables (spock.queue, ...)
    TooManySubxacts,  // more subtransactions than kMaxEarlySubxacts
    Conflict,         // row apply met a conflict: its resolution needs the commit's fields
    ProcessError,     // the process raised an error (a deadlock among them)
    ProcessGone,      // the process exited or could not be reached
    CommitFields,     // the commit says what early apply could not assume (origin, skip LSN)
    Deadlock,         // the worker's own apply deadlocked with the process and lost
};

std::string_view early_fallback_name(EarlyFallback r) noexcept;

// The kinds of message inside a stream block.
enum class EarlyChange : std::uint8_t { Relation, Insert, Update, Delete, Truncate, Message };

// What a change of the early-applied transaction does to it. Deletes fall back because apply
// records a deleted key in shared memory with the transaction's commit time, which is not
// known before the commit and which a rollback would not take back; TRUNCATE and logical
// messages (queued DDL, sequences) act outside the row path.
EarlyFallback early_change_rule(EarlyChange kind, bool spock_table) noexcept;

// Every conflict falls back: resolution compares the remote commit time (last_update_wins,
// first_update_wins), logs it in spock.resolutions, or depends on the origin decided at the
// commit. Kept a function so that the rule has one place and a test.
EarlyFallback early_conflict_rule() noexcept;

// What the worker does at a STREAM COMMIT of the early-applied transaction: commit it early
// only when nothing fell back and the commit is what early apply assumed: the provider's own
// transaction (origin the provider, so origin checks during apply were right) and not the
// transaction spock.sub_alter_skiplsn() names.
EarlyFallback early_commit_rule(bool origin_is_provider, bool skip) noexcept;

inline constexpr std::size_t kMaxEarlySubxacts = 1000;

// The worker's side: one transaction at most is early-applied.
class EarlyApplyPlan {
  public:
    enum class Step : std::uint8_t {
        None,             // nothing to do with the process
        Begin,            // start early apply of the block's transaction (first block)
        Resume,           // a later block of the early-applied transaction: forward again
        Forward,          // send the message to the process
        Subxact,          // the following changes are a new subtransaction's
        Pause,            // the block ended: the process waits for the next one
        FallBack,         // roll the process back; the transaction goes to the spool path
        RollbackSubxact,  // a subtransaction of the early-applied transaction aborted
        Rollback,         // the early-applied transaction aborted
        Commit,           // commit it in the process; the spool is dropped unapplied
        FromSpool,        // its commit: applied from the spool, as without early apply
    };

    // allowed: early apply may start (a process can be had, no apply delay, no resync).
    Step on_stream_start(TransactionId xid, bool first_block, bool allowed);
    Step on_stream_xid(TransactionId subxid);
    Step on_change(EarlyChange kind, bool spock_table);
    Step on_stream_stop();
    Step on_stream_abort(TransactionId xid, TransactionId subxid);
    Step on_stream_commit(TransactionId xid, bool origin_is_provider, bool skip);
    // The process failed (error, deadlock, exit) or a conflict was reported: the
    // transaction falls back; returns whether one was early-applied.
    bool fail(EarlyFallback why);

    std::optional<TransactionId> active() const noexcept { return active_; }
    bool in_active_block() const noexcept { return in_block_ && active_ && forwarding_; }
    bool forwarding() const noexcept { return active_.has_value() && forwarding_; }
    EarlyFallback last_fallback() const noexcept { return last_; }

  private:
    Step fall_back(EarlyFallback why);

    std::optional<TransactionId> active_;  // the early-applied (or fallen back) transaction
    bool forwarding_ = false;              // false once it fell back
    bool in_block_ = false;                // a block of active_ is open
    std::size_t subxacts_ = 0;
    TransactionId current_sub_ = 0;
    EarlyFallback last_ = EarlyFallback::None;
};

}  // namespace spock::core
