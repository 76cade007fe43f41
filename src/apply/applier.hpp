// The transaction applier: turns the decoded messages of the replication stream into local
// transactions (applier.cpp), and handles a remote transaction that fails by replaying it from
// its record in the same process (replay.cpp, docs/exceptions.md). The stream loop
// (stream.cpp) only hands it messages and asks it how far it has durably applied.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "spock/apply/row_apply.hpp"
#include "spock/core/apply_progress.hpp"
#include "spock/core/error.hpp"
#include "spock/core/exception_policy.hpp"
#include "spock/core/log_window.hpp"
#include "spock/core/protocol.hpp"
#include "spock/core/replay_buffer.hpp"
#include "spock/worker/shmem.hpp"

#include "sub_config.hpp"

#include "spock/pg/guard.hpp"

extern "C" {
#include <utils/memutils.h>
#include <utils/palloc.h>
}

namespace spock::apply {

class Applier {
  public:
    // `process` 0: the apply worker itself; K > 0: parallel apply process K, which applies
    // under origins "<origin>:w<K>" and spills to files of its own.
    Applier(const SubConfig& cfg, worker::WorkerSlot* slot, std::uint32_t process = 0);

    // A new skip LSN takes effect from the next remote transaction, without a restart.
    void set_skip_lsn(core::Lsn lsn) { skip_lsn_ = lsn; }
    // Called while apply_delay holds a transaction back, so the provider keeps hearing from us.
    void set_idle_callback(std::function<void()> cb) { idle_ = std::move(cb); }
    // Called before a failed remote transaction is replayed, with no local transaction open
    // (a parallel apply process waits there for every earlier transaction to commit).
    void set_before_replay(std::function<void()> cb) { before_replay_ = std::move(cb); }

    // One message of the stream: `payload` is its wire form, `msg` the decoded one. The
    // message is recorded and applied. An error while applying a remote transaction is handled
    // here (the transaction is replayed under spock.exception_behaviour); only errors that end
    // the worker (connection, shutdown, resources) leave as exceptions.
    void handle(std::string_view payload, const core::ProtocolMessage& msg);

    bool in_remote_txn() const { return in_remote_txn_; }
    // Between transactions: says how many replays a finished log window left out, if any.
    void log_replay_summary();
    // Local commits whose WAL may not be flushed yet (the stream then looks again sooner).
    bool has_unflushed() const { return !flush_.empty(); }
    // Adds the conflicts counted since the last call to the subscription's shared counters and
    // logs the summaries of conflict-log windows that are over. After each local commit, and
    // by the stream when it is idle between transactions.
    void report_conflicts();
    // sub_disable has disabled the subscription: the worker must stop without confirming
    // anything more to the provider.
    bool subscription_disabled() const { return disabled_; }
    core::Lsn flush_position(core::Lsn received);
    core::Lsn last_commit_end() const { return last_commit_end_; }
    core::TimestampUs last_commit_time() const { return last_commit_time_; }

    // Tables resynchronised at a provider position (status 'y'), by qualified name.
    using TableKey = std::pair<std::string, std::string>;
    std::map<TableKey, core::Lsn>& synced() { return synced_; }
    // Copies one table again (src/sync/table_resync.cpp). Between remote transactions only.
    // Returns kInvalidLsn when the provider no longer publishes it.
    core::Lsn resync_table(const TableKey& table);
    // A streamed transaction was committed by the stream apply process (stream_apply.hpp):
    // its local commit end (flushed) and remote commit, for the flush position and progress.
    void committed_elsewhere(core::Lsn local_end, const core::Commit& m);
    // Told of every error the first pass of a remote transaction meets, before it is handled.
    void set_failure_callback(std::function<void(const core::Error&)> cb) {
        on_failure_ = std::move(cb);
    }
    // A queue message asked for a table copy since the last call.
    bool take_copy_request() { return std::exchange(copy_requested_, false); }

  private:
    // ----- applier.cpp: the first pass, as messages arrive
    void dispatch(const core::ProtocolMessage& msg);
    // ORIGIN, RELATION and the row changes: shared by the first pass and replay.
    void apply_change(const core::ProtocolMessage& msg);
    bool skip_change(core::RelId relid) const;
    template <typename F>
    void per_change(F&& fn);
    void on_begin(const core::Begin& m);
    void on_commit(const core::Commit& m);
    void ensure_local_txn();
    void use_origin(core::NodeId origin_node);
    // ----- sync_events.cpp: "Spock" logical messages (sync events)
    void on_logical_message(const core::LogicalMessage& m);
    void advance_to_sync_event(core::Lsn lsn);
    void clear_skip_lsn();
    void wait_for_apply_delay();
    // Local commit of the remote transaction at `end`: origin position and timestamp, commit,
    // flush tracking.
    void commit_local(const core::Commit& m);
    void finish_remote_txn(const core::Commit& m);
    static void error_context(void* arg);

    // ----- replay.cpp: a failed transaction
    // Aborts the local transaction after `error` and switches to collecting the rest of the
    // remote transaction; the replay runs when its COMMIT is in the record.
    void fail(const core::Error& error);
    void replay(const core::Commit& commit);
    // What replay found, kept small per change (a transaction may have millions): the
    // details only for changes that failed.
    struct FailedChange {
        std::string error;  // "[SQLSTATE] message"
        // The local row the change found (exception_log's local_* columns).
        std::string local_json;
        bool local_origin_known = false;
        Oid local_origin = InvalidOid;
        TimestampTz local_commit_ts = 0;
    };
    struct ChangeResult {
        int32 counter = 0;   // command_counter in spock.exception_log
        int32 failure = -1;  // index into ReplayResults::failures, -1 when it succeeded
        bool failed() const { return failure >= 0; }
    };
    struct ReplayResults {
        std::vector<ChangeResult> changes;
        std::vector<FailedChange> failures;
        void clear() {
            changes.clear();
            failures.clear();
        }
    };
    // Runs the recorded changes each in a subtransaction (execute) or not at all (a second
    // attempt after the replay itself failed: every change is reported with `forced_error`).
    core::ReplayOutcome replay_pass(core::ExceptionBehaviour behaviour, bool execute,
                                    const std::string& forced_error, ReplayResults& results);
    void log_replayed_changes(core::ReplayOutcome outcome, core::ExceptionBehaviour behaviour,
                              const ReplayResults& results);
    void disable_subscription(const core::Commit& commit);
    void keep_provider_informed();
    void log_left_out(std::uint64_t left_out);
    void lose_record(const core::Error& e);

    const SubConfig& cfg_;
    worker::WorkerSlot* slot_;
    RemoteTxn txn_;
    bool in_remote_txn_ = false;
    bool local_txn_ = false;
    bool skipping_ = false;
    bool failed_ = false;     // the first pass failed; collecting the rest of the transaction
    bool replaying_ = false;  // inside replay(): errors are the replay's own
    bool disabled_ = false;
    bool committed_ = false;   // the local commit of the current remote transaction is done
    std::string first_error_;  // "[SQLSTATE] message" of the first pass
    // The transaction record: the wire form of every message of the remote transaction in
    // progress, in memory up to spock.exception_replay_queue_size, then in a spill file.
    core::ReplayBuffer record_;
    bool record_lost_ = false;     // recording failed: this transaction cannot be replayed
    std::string record_lost_why_;  // "[SQLSTATE] message: detail" of that failure
    std::string session_origin_name_;
    core::NodeId session_origin_node_ = 0;  // the node session_origin_name_ was made for
    std::uint32_t process_ = 0;
    MemoryContext change_cxt_ = nullptr;
    core::Lsn skip_lsn_;
    std::function<void()> idle_;
    std::function<void()> before_replay_;
    std::function<void(const core::Error&)> on_failure_;
    std::unordered_map<core::RelId, TableKey> relnames_;
    std::map<TableKey, core::Lsn> synced_;
    core::Truncate truncate_kept_;  // a TRUNCATE without the tables the copy already holds
    core::FlushTracker flush_;
    core::Lsn last_commit_end_;
    core::TimestampUs last_commit_time_;
    bool copy_requested_ = false;
    TimestampTz last_informed_ = 0;
    core::LogWindow replay_log_{10, 10 * 1000 * 1000};  // replays logged at LOG per window
    bool replay_loud_ = true;
};

// Runs one change with its allocations in a context that is emptied afterwards, so a large
// remote transaction does not accumulate per-row garbage in the transaction's memory.
template <typename F>
void Applier::per_change(F&& fn) {
    if (change_cxt_ == nullptr) {
        change_cxt_ = pg::pg_call([] {
            return AllocSetContextCreate(TopMemoryContext, "spock apply change",
                                         ALLOCSET_DEFAULT_SIZES);
        });
    }
    // The row code is plain glue that raises PostgreSQL errors; pg_call turns them into C++
    // exceptions so that the frames above (which own the decoded message and the transaction
    // record) unwind normally. One guard per change, not per row operation.
    MemoryContext cxt = change_cxt_;
    pg::pg_call([cxt, &fn] {
        MemoryContext old = MemoryContextSwitchTo(cxt);
        fn();
        MemoryContextSwitchTo(old);
        MemoryContextReset(cxt);
    });
}

// The directory of the apply workers' spill files (created 0700 on first use).
std::string spill_directory();

}  // namespace spock::apply
