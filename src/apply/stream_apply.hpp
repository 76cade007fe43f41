// Early apply of streamed transactions, the apply worker's side (docs/architecture.md, "Early
// apply of streamed transactions"; the process is stream_apply_process.cpp, the decisions
// core/early_apply.hpp). The stream loop shows it every message of a stream before the spool
// (core::StreamedTxns) takes it, and asks it at a STREAM COMMIT whether the transaction was
// committed early; when not, the spool path applies it as before.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "spock/core/early_apply.hpp"
#include "spock/core/protocol.hpp"
#include "spock/worker/shmem.hpp"

#include "applier.hpp"
#include "stream_apply_shared.hpp"
#include "sub_config.hpp"

extern "C" {
#include <postmaster/bgworker.h>
#include <storage/dsm.h>
#include <storage/shm_mq.h>
}

namespace spock::apply {

class StreamApply {
  public:
    StreamApply(const SubConfig& cfg, worker::WorkerSlot* slot, Applier& applier)
        : cfg_(cfg), slot_(slot), applier_(applier) {}

    // A message of the replication stream, before the spool sees it.
    void observe(std::string_view payload, const core::ProtocolMessage& msg);
    // At a STREAM COMMIT: true when the process committed the transaction (the spool is then
    // dropped unapplied); false when the spool path must apply it.
    bool commit(const core::StreamCommit& c);
    // The worker's own apply failed with `e` (a whole transaction between two blocks of the
    // early-applied one): after a deadlock with the process, the process rolls back so the
    // failed transaction's replay does not meet its rows again.
    void worker_failed(const core::Error& e);
    void set_skip_lsn(core::Lsn lsn) { skip_lsn_ = lsn; }
    // Called about every 100 ms while the worker waits for the process (a full queue, a
    // commit), so the provider keeps hearing from it.
    void set_tick(std::function<void()> fn) { tick_ = std::move(fn); }
    // When idle: takes in a failure the process reported (its transaction falls back).
    void poll() { (void)poll_failed(); }
    // Ends the process (and waits for it). Never throws.
    void stop() noexcept;

  private:
    bool commit_early(const core::StreamCommit& c);
    bool allowed() const;
    // The origin the process applies under: the provider's origin "<slot>:w100".
    std::string origin_name() const;
    bool start_process();
    void send(char tag, std::string_view body, bool flush);
    void forward(std::string_view payload);
    void send_u32(char tag, std::uint32_t v, bool flush = false);
    // Rolls the process back and waits for it; the transaction goes to the spool path.
    void fall_back(core::EarlyFallback why);
    // Counts a fallback and says why in the log.
    void note_fallback(core::EarlyFallback why);
    // Rolls the process back and waits for it.
    void roll_back();
    // Waits for the process to finish command `cmd`; false when it is gone.
    bool wait_done(std::uint64_t cmd);
    bool poll_failed();
    // Waits a little for the process (its latch, 100 ms), then ticks; throws at shutdown.
    void pause();
    void hold_lock(bool hold);
    bool spock_table(core::RelId relid) const;

    const SubConfig& cfg_;
    worker::WorkerSlot* slot_;
    Applier& applier_;
    core::EarlyApplyPlan plan_;
    core::Lsn skip_lsn_;
    dsm_segment* seg_ = nullptr;
    StreamApplyShared* sh_ = nullptr;
    shm_mq_handle* mq_ = nullptr;
    BackgroundWorkerHandle* handle_ = nullptr;
    bool gone_ = false;  // the process is gone; a new one starts with the next transaction
    bool holding_ = false;
    std::uint64_t next_cmd_ = 0;
    std::function<void()> tick_;
    bool at_commit_ = false;                           // inside commit(): no tick
    std::unordered_map<core::RelId, bool> spock_rel_;  // relations of the stream: spock's own?
};

}  // namespace spock::apply
