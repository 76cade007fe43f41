// The leader side of parallel apply (docs/architecture.md, "Parallel apply"): with
// spock.parallel_apply_workers = N > 1 the apply worker reads the stream, buffers each remote
// transaction whole, works out which earlier transaction it must wait for
// (core::DependencyTracker) and hands it to an idle apply process (parallel_process.cpp) over
// an shm_mq: at once, or, while every process is busy or it would only wait for one being
// applied, in a batch of consecutive transactions sent in one message (core::PendingBatch).
// The processes apply through the usual Applier and commit in the provider's order.
// Barriers (TRUNCATE, messages, tables without a key), transactions larger than the buffer
// and those to skip are applied by the leader itself once every process is idle.
//
// Any process that exits or fails ends the set: the leader stops every process, waits for
// them to be gone and fails, and the next apply worker resumes from the replication origins
// (exact, because commits happen in order).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "spock/core/apply_batch.hpp"
#include "spock/core/apply_deps.hpp"
#include "spock/core/apply_failures.hpp"
#include "spock/core/apply_keys.hpp"
#include "spock/core/apply_pool.hpp"
#include "spock/core/apply_progress.hpp"
#include "spock/core/protocol.hpp"
#include "spock/worker/shmem.hpp"

#include "applier.hpp"
#include "parallel_shared.hpp"
#include "sub_config.hpp"

struct dsm_segment;
struct shm_mq_handle;

namespace spock::apply {

class ParallelLeader {
  public:
    ParallelLeader(const SubConfig& cfg, worker::WorkerSlot* slot, Applier& applier, int nprocs);

    // Creates the segment and starts the processes.
    void start();
    // Stops every process and waits until each has exited. Never throws; safe to repeat.
    void stop() noexcept;

    // One message of the stream (the same as Applier::handle).
    void handle(std::string_view payload, const core::ProtocolMessage& msg);
    // Takes the reports of finished transactions, hands out a pending batch when it may go;
    // throws when a process is gone.
    void poll();
    // Hands out what is pending and waits until every process is idle.
    void drain();

    bool in_remote_txn() const { return buffering_; }
    bool subscription_disabled() const { return disabled_; }
    core::Lsn flush_position(core::Lsn received);
    bool has_unflushed() const { return !flush_.empty() || !batch_.empty(); }
    core::Lsn last_commit_end() const { return last_end_; }
    core::TimestampUs last_commit_time() const { return last_time_; }
    void set_skip_lsn(core::Lsn lsn) { skip_lsn_ = lsn; }
    // Tables being resynchronised: apply in the leader, which knows what to skip.
    void set_serial(bool serial) { serial_ = serial; }
    // Called while the leader waits for its processes, so the provider keeps hearing from us.
    void set_idle_callback(std::function<void()> cb) { idle_ = std::move(cb); }

  private:
    void note_relation(core::RelId relid);
    void append(std::string_view payload);
    void dispatch(const core::Commit& commit);
    void go_direct();
    void apply_txn_here();
    void finish_in_leader(core::ApplySeq seq, const core::Commit& commit);
    void wait_a_little();
    void take_reports();
    void check_alive();
    void forget_failure(core::Lsn end_lsn);
    void refresh_keys();
    // How many processes a batch could go to now (0 while a message sent still has its
    // locks to take).
    std::size_t idle_to_send();
    // Sends the pending batch when it may go (wait: until it has gone; force: even if its
    // first transaction would only wait).
    void flush_batch(bool wait, bool force);
    void send_batch();

    const SubConfig& cfg_;
    worker::WorkerSlot* slot_;
    Applier& applier_;
    int nprocs_;
    dsm_segment* seg_ = nullptr;
    ParallelShared* sh_ = nullptr;
    std::vector<shm_mq_handle*> mq_;  // index k - 1

    core::DependencyTracker tracker_;
    core::ApplyPool pool_;
    core::FlushTracker flush_;
    struct InFlight {
        core::ApplySeq seq;
        int k;
        core::Lsn end_lsn;
    };
    std::deque<InFlight> in_flight_;
    // Messages sent; a new batch goes out only once every one has its locks taken (acks).
    std::uint64_t sent_msgs_ = 0;
    std::vector<std::size_t> txn_at_;  // where each transaction of the batch starts in out_

    // The latest RELATION message and keys per remote relation.
    std::unordered_map<core::RelId, std::string> rel_msg_;
    std::unordered_map<core::RelId, core::RelationKeys> rel_keys_;
    std::int64_t keys_checked_ = 0;  // TimestampTz of the last look at invalidations

    // What goes to the processes, without copies: the pending batch (out_[0, batch_end_)),
    // then the transaction being read. Each transaction is a ParallelTxnHeader and its
    // messages, each as u32 length + bytes: BEGIN, then every change, with the RELATION
    // message a change needs (as it was when the transaction first used it) right before it.
    std::string out_;
    std::size_t batch_end_ = 0;
    core::PendingBatch batch_;
    std::vector<core::Lsn> batch_ends_;  // the provider end of each transaction in the batch

    bool buffering_ = false;
    bool direct_ = false;  // too large: applied by the leader as it arrives
    core::Lsn final_lsn_;
    std::unordered_set<core::RelId> rels_used_;
    core::TxnKeys keys_;

    // The transaction the set last ended on (kept in shared memory across restarts).
    core::SetFailure failure_;
    bool streak_logged_ = false;

    bool serial_ = false;
    bool disabled_ = false;
    core::Lsn skip_lsn_;
    core::Lsn last_end_;
    core::TimestampUs last_time_;
    std::function<void()> idle_;
};

}  // namespace spock::apply
