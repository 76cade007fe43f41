// The slot synchronisation worker on a physical standby (docs/high-availability.md). Each pass
// reads the primary's logical slots, keeps a local copy of those spock.synchronize_slot_names
// matches, moves each copy as far as core::advance_copy allows (never beyond what this standby
// has replayed, never backwards) and drops local logical slots the primary no longer has when
// spock.drop_extra_slots is on. A new copy is kept only once its catalog_xmin is held on the
// primary (core::copy_catalog_safe). An unreachable primary is logged and retried every
// spock.failover_slots_naptime; the worker ends for good once the server is promoted.
#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "slot_sync_internal.hpp"
#include "spock/core/names.hpp"
#include "spock/failover/slot_sync.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"

extern "C" {
#include <access/xlog.h>
#include <access/xlogrecovery.h>
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/bgworker.h>
#include <postmaster/interrupt.h>
#include <replication/slot.h>
#include <replication/walreceiver.h>
#include <storage/ipc.h>
#include <storage/latch.h>
#include <utils/guc.h>
#include <utils/timestamp.h>
#include <utils/varlena.h>
}

namespace spock::failover {

namespace {

// How long the postmaster waits before starting the worker again after an error.
constexpr int kRestartSeconds = 10;
// Local logical slots looked at for spock.drop_extra_slots at most.
constexpr int kMaxLocalSlots = 256;

core::Lsn replayed() {
    return core::Lsn{pg::pg_call([] { return GetXLogReplayRecPtr(nullptr); })};
}

// Sleeps up to ms on the latch; true when the pass should stop (shutdown, promotion).
bool nap(long ms) {
    return pg::pg_call([ms] {
        int rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms,
                           PG_WAIT_EXTENSION);
        if (rc & WL_LATCH_SET) {
            ResetLatch(MyLatch);
        }
        CHECK_FOR_INTERRUPTS();
        return ShutdownRequestPending || !RecoveryInProgress();
    });
}

std::vector<core::SlotFilter> filters() {
    std::vector<std::string> items;
    const char* raw = gucs::synchronize_slot_names ? gucs::synchronize_slot_names : "";
    std::string copy = raw;
    // SplitGUCList works in place on a palloc'd string; the list of pointers is read at once.
    pg::pg_call([&items, &copy]() {
        char* buf = pstrdup(copy.c_str());
        List* list = NIL;
        bool ok = SplitGUCList(buf, ',', &list);
        ListCell* lc;
        if (ok) {
            foreach (lc, list) {
                items.emplace_back(static_cast<const char*>(lfirst(lc)));
            }
        }
        return ok;
    });
    return core::parse_slot_filters(items);
}

void log_primary_error(const std::exception& e, const std::string& dsn) {
    std::string msg = e.what();
    pg::pg_call([&] {
        ereport(LOG,
                (errmsg("spock failover slots cannot read the primary's slots: %s", msg.c_str()),
                 errdetail("Connection string: \"%s\".", core::mask_password(dsn).c_str()),
                 errhint("Retrying every %d ms (spock.failover_slots_naptime).",
                         gucs::failover_slots_naptime)));
    });
}

// Copies the primary's serialized decoding snapshot at a copy's restart_lsn. Logical decoding
// starts from a slot's restart_lsn by restoring the snapshot saved there; the files are not in
// the WAL, and without one the promoted standby would have to build a snapshot from scratch and
// could reach consistency only after the subscriber's confirmed position, skipping what lies in
// between. False (logged) when the primary could not be asked; a primary without a file there
// is not an error (it would build from scratch too).
bool copy_snapshot(const std::string& dsn, core::Lsn restart) {
    std::optional<std::string> snap;
    try {
        snap = fetch_snapshot_file(dsn, restart.value);
    } catch (const std::exception& e) {
        log_primary_error(e, dsn);
        return false;
    }
    if (snap) {
        const std::string& bytes = *snap;
        pg::pg_call([&] { write_snapshot_file(restart.value, bytes.data(), bytes.size()); });
    }
    return true;
}

const PrimarySlot* find_slot(const PrimaryView& view, const std::string& name) {
    for (const PrimarySlot& s : view.slots) {
        if (s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

// A new copy: created ephemeral at the primary's position, kept once the primary's physical
// slot for this standby holds its catalog_xmin, then moved to the primary's position read
// after that and made persistent. Gives up (dropping the copy) after the feedback wait; the
// next pass tries again.
void create_copy(const std::string& dsn, const PrimarySlot& remote) {
    core::Lsn now_replayed = replayed();
    if (!core::may_create_copy(remote.position, now_replayed)) {
        pg::pg_call([&] {
            ereport(DEBUG1,
                    (errmsg("spock failover slots: waiting for the standby to replay "
                            "%s before copying slot \"%s\"",
                            remote.position.restart_lsn.to_string().c_str(), remote.name.c_str())));
        });
        return;
    }
    core::SlotPosition start = core::initial_copy(remote.position, now_replayed);
    bool created = pg::pg_call([&] {
        return create_ephemeral_copy(remote.name.c_str(), remote.plugin.c_str(), remote.database,
                                     remote.two_phase, start.restart_lsn.value,
                                     start.confirmed_flush.value, start.catalog_xmin.value);
    });
    if (!created) {
        return;
    }
    // The standby sends its slots' catalog_xmin at most every wal_receiver_status_interval.
    long wait_ms = std::max<long>(gucs::failover_slots_feedback_naptime,
                                  2000L * std::max(wal_receiver_status_interval, 1));
    TimestampTz deadline = pg::pg_call(
        [wait_ms] { return TimestampTzPlusMilliseconds(GetCurrentTimestamp(), wait_ms); });
    for (;;) {
        if (nap(std::min(gucs::failover_slots_naptime, 1000))) {
            pg::pg_call([] { release_copy(); });
            return;
        }
        PrimaryView view;
        try {
            view = read_primary(dsn);
        } catch (const std::exception& e) {
            pg::pg_call([] { release_copy(); });
            log_primary_error(e, dsn);
            return;
        }
        const PrimarySlot* now = find_slot(view, remote.name);
        if (now == nullptr) {
            pg::pg_call([] { release_copy(); });
            return;
        }
        now_replayed = replayed();
        if (core::copy_catalog_safe(start.catalog_xmin, view.physical_catalog_xmin) &&
            core::may_create_copy(now->position, now_replayed)) {
            core::SlotPosition pos = core::initial_copy(now->position, now_replayed);
            if (!copy_snapshot(dsn, pos.restart_lsn)) {
                pg::pg_call([] { release_copy(); });
                return;
            }
            pg::pg_call([&] {
                persist_copy(pos.restart_lsn.value, pos.confirmed_flush.value,
                             pos.catalog_xmin.value);
                ereport(LOG, (errmsg("spock failover slots created replication slot \"%s\" at "
                                     "restart_lsn %X/%X, confirmed_flush %X/%X",
                                     remote.name.c_str(),
                                     static_cast<uint32>((pos.restart_lsn.value) >> 32),
                                     static_cast<uint32>(pos.restart_lsn.value),
                                     static_cast<uint32>((pos.confirmed_flush.value) >> 32),
                                     static_cast<uint32>(pos.confirmed_flush.value))));
            });
            return;
        }
        bool late = pg::pg_call([deadline] { return GetCurrentTimestamp() >= deadline; });
        if (late) {
            pg::pg_call([&] {
                release_copy();
                ereport(LOG,
                        (errmsg("spock failover slots: the primary does not yet hold the "
                                "catalog_xmin of a copy of slot \"%s\"; retrying",
                                remote.name.c_str()),
                         errdetail("The physical slot \"%s\" on the primary shows catalog_xmin "
                                   "%u, the copy needs %u or older.",
                                   PrimarySlotName ? PrimarySlotName : "",
                                   view.physical_catalog_xmin.value, start.catalog_xmin.value),
                         errhint("The standby needs hot_standby_feedback = on and a "
                                 "primary_slot_name.")));
            });
            return;
        }
    }
}

void sync_pass(const std::string& dsn, const std::vector<core::SlotFilter>& wanted) {
    PrimaryView view;
    try {
        view = read_primary(dsn);
    } catch (const std::exception& e) {
        log_primary_error(e, dsn);
        return;
    }
    // Said once, until it changes: the pass runs every naptime.
    static bool said_no_physical_slot = false;
    if (!view.physical_slot_found && !said_no_physical_slot) {
        pg::pg_call([] {
            ereport(LOG, (errmsg("spock failover slots: this standby has no physical slot on "
                                 "the primary, so new slot copies cannot be made safe"),
                          errhint("Create a physical slot on the primary and set "
                                  "primary_slot_name and hot_standby_feedback = on here.")));
        });
    }
    said_no_physical_slot = !view.physical_slot_found;
    std::set<std::string> matched;
    for (const PrimarySlot& remote : view.slots) {
        if (!core::slot_matches(wanted, remote.name, remote.plugin)) {
            continue;
        }
        matched.insert(remote.name);
        LocalSlot local;
        pg::pg_call([&] { local = read_local_slot(remote.name.c_str()); });
        if (local.found && !local.logical) {
            pg::pg_call([&] {
                ereport(WARNING, (errmsg("spock failover slots cannot copy slot \"%s\": a "
                                         "physical slot of that name exists here",
                                         remote.name.c_str())));
            });
            continue;
        }
        if (!local.found) {
            if (view.physical_slot_found) {
                create_copy(dsn, remote);
            }
            if (pg::pg_call([] { return ShutdownRequestPending || !RecoveryInProgress(); })) {
                return;
            }
            continue;
        }
        core::SlotPosition mine{core::Lsn{local.restart_lsn}, core::Lsn{local.confirmed_flush},
                                core::Xid{local.catalog_xmin}};
        auto next = core::advance_copy(mine, remote.position, replayed());
        if (next && next->restart_lsn != mine.restart_lsn &&
            !copy_snapshot(dsn, next->restart_lsn)) {
            // Without the snapshot at the new restart_lsn only confirmed_flush may move.
            next->restart_lsn = mine.restart_lsn;
            next->catalog_xmin = mine.catalog_xmin;
        }
        if (next) {
            pg::pg_call([&] {
                advance_local_slot(remote.name.c_str(), next->restart_lsn.value,
                                   next->confirmed_flush.value, next->catalog_xmin.value);
            });
        }
    }
    if (!gucs::drop_extra_slots) {
        return;
    }
    auto* names = static_cast<char(*)[NAMEDATALEN]>(
        pg::pg_call([] { return palloc(sizeof(char[NAMEDATALEN]) * kMaxLocalSlots); }));
    int n = pg::pg_call([names] { return local_logical_slot_names(names, kMaxLocalSlots); });
    for (int i = 0; i < n; i++) {
        if (matched.count(names[i]) != 0) {
            continue;
        }
        const char* name = names[i];
        pg::pg_call([name] {
            if (drop_local_slot(name)) {
                ereport(LOG, (errmsg("spock failover slots dropped replication slot \"%s\"", name),
                              errdetail("The primary has no slot of that name that "
                                        "spock.synchronize_slot_names matches "
                                        "(spock.drop_extra_slots is on).")));
            }
        });
    }
    pg::pg_call([names] { pfree(names); });
}

// One pass with its C++ objects; returns before the caller decides to exit.
void run_pass() {
    std::vector<core::SlotFilter> wanted;
    try {
        wanted = filters();
    } catch (const core::Error& e) {
        std::string msg = e.message(), detail = e.detail();
        pg::pg_call([&] {
            ereport(WARNING, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s", msg.c_str()),
                              errdetail("%s", detail.c_str()),
                              errhint("No slot is synchronised until the setting is fixed.")));
        });
        return;
    }
    std::string dsn = primary_dsn();
    if (dsn.empty()) {
        pg::pg_call([] {
            ereport(LOG, (errmsg("spock failover slots: no connection string to the primary"),
                          errhint("Set spock.primary_dsn or primary_conninfo.")));
        });
        return;
    }
    sync_pass(dsn, wanted);
}

[[noreturn]] void worker_loop() {
    BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
    if (!RecoveryInProgress()) {
        proc_exit(0);  // not a standby: nothing to do, and no restart
    }
    ereport(LOG, (errmsg("spock failover slots worker started")));
    bool said_no_feedback = false;
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        if (ShutdownRequestPending) {
            proc_exit(1);
        }
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
        if (!RecoveryInProgress()) {
            // Promoted: the copies are ordinary slots now and the supervisor's workers run.
            ereport(LOG, (errmsg("spock failover slots worker exiting: the server was promoted")));
            proc_exit(0);
        }
        if (!hot_standby_feedback) {
            if (!said_no_feedback) {
                ereport(LOG, (errmsg("spock failover slots: hot_standby_feedback is off, no slot "
                                     "is synchronised"),
                              errhint("Set hot_standby_feedback = on on this standby.")));
            }
            said_no_feedback = true;
        } else {
            said_no_feedback = false;
            run_pass();
        }
        if (ShutdownRequestPending || !RecoveryInProgress()) {
            continue;
        }
        int rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                           gucs::failover_slots_naptime, PG_WAIT_EXTENSION);
        if (rc & WL_LATCH_SET) {
            ResetLatch(MyLatch);
        }
    }
}

}  // namespace

void register_slot_sync_worker() {
    BackgroundWorker bgw;
    std::memset(&bgw, 0, sizeof bgw);
    bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    bgw.bgw_start_time = BgWorkerStart_ConsistentState;
    bgw.bgw_restart_time = kRestartSeconds;
    snprintf(bgw.bgw_library_name, BGW_MAXLEN, "spock");
    snprintf(bgw.bgw_function_name, BGW_MAXLEN, "spock_failover_slots_main");
    snprintf(bgw.bgw_name, BGW_MAXLEN, "spock failover slots");
    snprintf(bgw.bgw_type, BGW_MAXLEN, "spock failover slots");
    RegisterBackgroundWorker(&bgw);
}

}  // namespace spock::failover

extern "C" SPOCK_EXPORT void spock_failover_slots_main(Datum main_arg);

void spock_failover_slots_main(Datum /*main_arg*/) {
    pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    BackgroundWorkerUnblockSignals();
    spock::pg::guarded([] { spock::failover::worker_loop(); });
}
