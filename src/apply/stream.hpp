// The replication stream of an apply worker: START_REPLICATION, the CopyData loop, feedback,
// keepalives and timeouts, spock.progress, pause/resume and per-table resync between
// transactions. Messages go to the Applier (applier.hpp), which knows how they are applied.
#pragma once

#include <memory>

#include "spock/core/streamed_txns.hpp"
#include "spock/pg/remote.hpp"
#include "spock/worker/shmem.hpp"

#include "applier.hpp"
#include "parallel_leader.hpp"
#include "stream_apply.hpp"
#include "sub_config.hpp"

namespace spock::apply {

class Stream {
  public:
    Stream(const SubConfig& cfg, worker::WorkerSlot* slot)
        : cfg_(cfg),
          slot_(slot),
          applier_(cfg, slot),
          early_(cfg, slot, applier_),
          streams_("stream_sub_" + std::to_string(cfg.id)) {
        applier_.set_idle_callback([this] { send_feedback(true); });
        // Early apply of streamed transactions (stream_apply.hpp).
        applier_.set_failure_callback([this](const core::Error& e) { early_.worker_failed(e); });
        early_.set_tick([this] { send_feedback(false); });
        streams_.set_committed_elsewhere(
            [this](const core::StreamCommit& c) { return early_.commit(c); });
    }

    // Runs until the subscription changes or is disabled (returns), or an error that ends
    // the worker (throws).
    void run();

  private:
    void stream();
    // Parallel apply (parallel_leader.hpp) or the Applier itself.
    bool in_txn() const { return par_ ? par_->in_remote_txn() : applier_.in_remote_txn(); }
    bool disabled() const {
        return par_ ? par_->subscription_disabled() : applier_.subscription_disabled();
    }
    core::Lsn flush_position(core::Lsn received) {
        return par_ ? par_->flush_position(received) : applier_.flush_position(received);
    }
    void start(core::Lsn from);
    void process(const char* buf, int len);
    // A message of a streamed transaction (streamed_txns.hpp): true when it was taken.
    bool process_streamed(std::string_view payload, const core::ProtocolMessage& msg);
    void send_feedback(bool force, bool request_reply = false);
    void update_progress();
    bool config_changed();
    void wait_while_paused();
    void check_resync(bool now);

    const SubConfig& cfg_;
    worker::WorkerSlot* slot_;
    Applier applier_;
    StreamApply early_;                    // spock.stream_early_apply
    core::StreamedTxns streams_;           // spock.stream_in_progress
    std::unique_ptr<ParallelLeader> par_;  // spock.parallel_apply_workers > 1
    int processes_ = 1;                    // spock.parallel_apply_workers at the start
    bool streaming_asked_ = false;         // spock.stream_in_progress at the start
    std::unique_ptr<pg::RemoteConnection> conn_;
    XLogRecPtr received_ = InvalidXLogRecPtr;
    XLogRecPtr sent_write_ = InvalidXLogRecPtr;
    XLogRecPtr sent_flush_ = InvalidXLogRecPtr;
    XLogRecPtr remote_insert_ = InvalidXLogRecPtr;
    TimestampTz last_feedback_ = 0;
    TimestampTz last_recv_time_ = 0;
    TimestampTz last_ping_ = 0;
    TimestampTz last_progress_ = 0;
    XLogRecPtr progress_written_ = InvalidXLogRecPtr;
    bool progress_idle_ = false;  // the last write was an idle one (not after a commit)
    XLogRecPtr caught_up_at_ = InvalidXLogRecPtr;  // provider position we are caught up with
    int since_feedback_ = 0;
    TimestampTz last_sync_check_ = 0;
    TimestampTz last_idle_pass_ = 0;  // the last pass through the no-data path
    bool stop_ = false;               // the applier disabled the subscription
    bool wake_pending_ = false;       // woken while a remote transaction was open
};

}  // namespace spock::apply
