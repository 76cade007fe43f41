// The apply worker's entry point (include/spock/apply/apply_worker.hpp): session settings,
// the subscription, its initial synchronisation when it is new, then the stream.
//
//   sub_config.cpp   the subscription as the worker sees it
//   stream.cpp       START_REPLICATION, the CopyData loop, feedback, progress, pause, resync
//   applier.cpp      remote transactions to local ones (the first pass)
//   replay.cpp       a failed transaction replayed from its record (exception handling)
//   exception_log.cpp, apply_stats.cpp   what replay records
//   origins.cpp      replication origins: names, creation, resume position
//   row_apply.cpp and neighbours   one change through the executor
#include "spock/apply/apply_worker.hpp"
#include "spock/apply/channel_stats.hpp"
#include "spock/apply/delta_apply.hpp"

#include "spock/catalog/origins.hpp"
#include "spock/core/names.hpp"
#include "spock/core/sync_resume.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/process_memory.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/xact.hpp"
#include "spock/sync/initial_sync.hpp"
#include "spock/worker/shmem.hpp"

#include "apply_stats.hpp"
#include "stream.hpp"
#include "sub_config.hpp"

extern "C" {
#include <access/xact.h>
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/interrupt.h>
#include <replication/origin.h>
#include <storage/ipc.h>
#include <utils/guc.h>
}

namespace spock::apply {
namespace {

// ----- initial synchronisation ----------------------------------------------------------------

// The origin starts at the slot's consistent point, and the subscription is ready, in one
// transaction: a crash before it commits comes back here.
void finish_synchronization(const SubConfig& cfg, core::Lsn start) {
    RepOriginId origin = catalog::ensure_origin(cfg.slot_name);
    pg::begin_xact();
    XLogRecPtr at = start.value;
    pg::pg_call([origin, at] {
        replorigin_advance(origin, at, InvalidXLogRecPtr, true /* go_backward */,
                           true /* WAL log */);
    });
    pg::spi_connect();
    pg::spi_exec(
        "UPDATE spock.local_sync_status SET sync_status = 'r', sync_statuslsn = $2::pg_lsn "
        "WHERE sync_subid = $1::oid AND sync_nspname IS NULL AND sync_relname IS NULL",
        {std::to_string(cfg.id), start.to_string()});
    pg::spi_finish();
    pg::commit_xact();
    std::string at_text = start.to_string();
    pg::pg_call([&cfg, &at_text] {
        ereport(LOG, (errmsg("subscription \"%s\" is synchronised; streaming starts at %s",
                             cfg.name.c_str(), at_text.c_str())));
    });
}

void synchronize(const SubConfig& cfg) {
    switch (core::sync_resume(cfg.sync_kind, cfg.sync_status)) {
        case core::SyncResume::Full:
            break;
        case core::SyncResume::FinishOnly:
            if (!cfg.sync_lsn.is_valid()) {
                break;  // no position recorded: copy again
            }
            finish_synchronization(cfg, cfg.sync_lsn);
            return;
        case core::SyncResume::Refuse:
            throw core::Error(
                core::sqlstate::kObjectNotInPrerequisiteState,
                "initial synchronisation of subscription \"" + cfg.name +
                    "\" failed during a step that cannot be resumed",
                std::string("The synchronisation status is '") + cfg.sync_status + "'.",
                "Drop the subscription and create it again.");
    }
    sync::SyncRequest req;
    req.subscription_id = cfg.id;
    req.subscription_name = cfg.name;
    req.slot_name = cfg.slot_name;
    req.provider_dsn = cfg.provider_dsn;
    req.local_dsn = cfg.local_dsn;
    req.replication_sets = cfg.sets;
    req.skip_schemas = cfg.skip_schema;
    req.structure = cfg.sync_kind == 's' || cfg.sync_kind == 'f';
    req.data = cfg.sync_kind == 'd' || cfg.sync_kind == 'f';
    req.provider_node_id = cfg.provider;
    req.local_node_id = cfg.local;
    // Each step is recorded as it starts: a step that fails after something committed (the
    // data copy, say) cannot simply be redone, and the next start says so instead of failing
    // in a confusing way.
    Oid subid = cfg.id;
    req.on_status = [subid](char status) {
        pg::begin_xact();
        pg::spi_connect();
        pg::spi_exec(
            "UPDATE spock.local_sync_status SET sync_status = $2::\"char\" "
            "WHERE sync_subid = $1::oid AND sync_nspname IS NULL AND sync_relname IS NULL",
            {std::to_string(subid), std::string(1, status)});
        pg::spi_finish();
        pg::commit_xact();
    };
    finish_synchronization(cfg, sync::synchronize_subscription(req));
}

void run(worker::WorkerSlot* slot) {
    Oid subid = slot->subid;
    pg::pg_call([] {
        SetConfigOption("session_replication_role", "replica", PGC_SUSET, PGC_S_OVERRIDE);
        SetConfigOption("synchronous_commit", gucs::synchronous_commit ? "local" : "off", PGC_SUSET,
                        PGC_S_OVERRIDE);
        SetConfigOption("check_function_bodies", "off", PGC_SUSET, PGC_S_OVERRIDE);
    });
    auto cfg = load_config(subid);
    if (!cfg || !cfg->enabled) {
        return;  // dropped or disabled meanwhile
    }
    count_worker_start(subid);
    core::ReplayBuffer::remove_stale(spill_directory(), "sub_" + std::to_string(subid));
    std::string app = cfg->slot_name;
    pg::pg_call([&app] { pgstat_report_appname(app.c_str()); });
    if (cfg->sync_status != 'r') {
        synchronize(*cfg);
    }
    Stream stream(*cfg, slot);
    stream.run();
}

}  // namespace
}  // namespace spock::apply

extern "C" SPOCK_EXPORT void spock_apply_main(Datum main_arg);

void spock_apply_main(Datum main_arg) {
    spock::worker::WorkerSlot* slot =
        spock::worker::attach_worker(main_arg, spock::worker::WorkerType::Apply);
    spock::pg::keep_freed_memory();
    // Delta applies count in the channel statistics (n_dca), per column computed that way.
    spock::apply::set_delta_apply_observer([](Oid relid, int ncolumns, bool) {
        spock::apply::channel_stats_count_delta(relid, static_cast<std::uint64_t>(ncolumns));
    });
    spock::pg::guarded([slot] { spock::apply::run(slot); });
    // Asked to stop (SIGTERM): restart later (after spock.restart_delay_default, not the delay
    // for a failure while streaming) unless the subscription is gone or disabled by then; a
    // configuration change restarts at once.
    if (ShutdownRequestPending) {
        LWLockAcquire(spock::worker::shared()->lock, LW_EXCLUSIVE);
        slot->streamed = false;
        LWLockRelease(spock::worker::shared()->lock);
        proc_exit(1);
    }
    proc_exit(spock::apply::kExitRestart);
}
