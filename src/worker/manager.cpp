// The per-database manager (reference §1.3): starts one apply worker per enabled subscription
// of the local node, restarts a failed one after spock.restart_delay_default, and stops workers
// whose subscription was disabled or dropped.
#include <vector>

#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/waits.hpp"
#include "spock/worker/shmem.hpp"

#include "extension_update.hpp"
#include "sequence_watch.hpp"
#include "slot_watch.hpp"

extern "C" {
#include <access/xact.h>
#include <commands/extension.h>
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/bgworker.h>
#include <postmaster/interrupt.h>
#include <storage/ipc.h>
#include <storage/latch.h>
#include <utils/guc.h>
#include <utils/memutils.h>
#include <utils/snapmgr.h>
}

namespace spock::worker {
namespace {

// Longest sleep between looks at the catalog when nothing wakes the manager.
constexpr long kManagerNaptimeMs = 10 * 1000L;

// Handles of the apply workers this manager started, by slot, to notice one that dies before
// it attaches to its slot. The postmaster tells us (bgw_notify_pid) when they stop.
BackgroundWorkerHandle** handles = nullptr;

void reap_handles() {
    for (int i = 0; i < shared()->nslots; i++) {
        if (handles[i] != nullptr && reap_unattached(i, handles[i])) {
            pfree(handles[i]);
            handles[i] = nullptr;
        }
    }
}

struct EnabledSub {
    Oid id;
    std::string name;
};

// The enabled subscriptions of the local node; nullopt when spock or the node is gone.
std::optional<std::vector<EnabledSub>> read_subscriptions() {
    std::optional<std::vector<EnabledSub>> out;
    pg::pg_call([] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
    });
    bool has_spock = pg::pg_call([] { return OidIsValid(get_extension_oid("spock", true)); });
    if (has_spock) {
        pg::spi_connect();
        if (pg::spi_value("SELECT node_id FROM spock.local_node")) {
            out.emplace();
            for (const pg::SqlRow& r :
                 pg::spi_query("SELECT s.sub_id, s.sub_name FROM spock.subscription s "
                               "JOIN spock.local_node l ON l.node_id = s.sub_target "
                               "WHERE s.sub_enabled ORDER BY s.sub_id")) {
                out->push_back({static_cast<Oid>(std::stoul(*r[0])), *r[1]});
            }
        }
        pg::spi_finish();
    }
    pg::pg_call([] {
        PopActiveSnapshot();
        CommitTransactionCommand();
    });
    return out;
}

// One pass: start, restart or stop apply workers. Returns how long to sleep.
long manage_apply_workers(const std::vector<EnabledSub>& subs) {
    long sleep_ms = kManagerNaptimeMs;
    SpockShared* sh = shared();
    TimestampTz now = GetCurrentTimestamp();
    for (const EnabledSub& sub : subs) {
        bool start = false;
        LWLockAcquire(sh->lock, LW_SHARED);
        if (find_slot(WorkerType::Apply, MyDatabaseId, sub.id) < 0) {
            start = true;
            for (int i = 0; i < sh->nslots; i++) {
                WorkerSlot& s = sh->slots[i];
                if (s.type == WorkerType::Apply && s.dboid == MyDatabaseId && s.subid == sub.id &&
                    s.status == WorkerStatus::Stopped && s.terminated_at != 0) {
                    TimestampTz due =
                        TimestampTzPlusMilliseconds(s.terminated_at, restart_delay_ms(s));
                    if (due > now) {
                        start = false;
                        long wait = TimestampDifferenceMilliseconds(now, due);
                        sleep_ms = std::min(sleep_ms, std::max(wait, 1L));
                    }
                }
            }
        }
        LWLockRelease(sh->lock);
        if (start) {
            std::string name =
                "spock apply " + std::to_string(MyDatabaseId) + ":" + std::to_string(sub.id);
            const char* n = name.c_str();
            Oid subid = sub.id;
            pg::pg_call([n, subid] {
                BackgroundWorkerHandle* handle = nullptr;
                int index = start_worker(WorkerType::Apply, MyDatabaseId, subid, n, &handle);
                if (index >= 0) {
                    if (handles[index] != nullptr) {
                        pfree(handles[index]);
                    }
                    handles[index] = handle;
                }
            });
        }
    }
    // Workers whose subscription is no longer enabled here stop; their slots are freed.
    LWLockAcquire(sh->lock, LW_EXCLUSIVE);
    for (int i = 0; i < sh->nslots; i++) {
        WorkerSlot& s = sh->slots[i];
        if (s.type != WorkerType::Apply || s.dboid != MyDatabaseId) {
            continue;
        }
        bool wanted = false;
        for (const EnabledSub& sub : subs) {
            wanted = wanted || sub.id == s.subid;
        }
        if (wanted) {
            continue;
        }
        if (s.status == WorkerStatus::Running && s.pid != 0) {
            kill(s.pid, SIGTERM);
        } else if (s.status == WorkerStatus::Stopped) {
            s.type = WorkerType::None;
            s.status = WorkerStatus::None;
        }
    }
    LWLockRelease(sh->lock);
    return sleep_ms;
}

void manager_loop() {
    handles = static_cast<BackgroundWorkerHandle**>(pg::pg_call([] {
        return MemoryContextAllocZero(TopMemoryContext,
                                      sizeof(BackgroundWorkerHandle*) * shared()->nslots);
    }));
    SlotWatch slots;
    SequenceWatch sequences;
    ExtensionUpdate extension;
    for (;;) {
        if (pg::interrupts_say_stop()) {
            return;
        }
        // A catalog left at Spock 5.0.x is updated first; one this library cannot run with
        // gets no workers (docs/upgrading.md).
        if (!extension.ready()) {
            pg::pg_call([] {
                WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                          kManagerNaptimeMs, PG_WAIT_EXTENSION);
                ResetLatch(MyLatch);
            });
            continue;
        }
        auto subs = read_subscriptions();
        if (!subs) {
            return;  // no spock or no local node in this database: nothing to manage
        }
        pg::pg_call([] { reap_handles(); });
        long sleep_ms = manage_apply_workers(*subs);
        slots.check();
        sequences.check();
        pg::pg_call([sleep_ms] {
            WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, sleep_ms,
                      PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
        });
    }
}

}  // namespace
}  // namespace spock::worker

extern "C" SPOCK_EXPORT void spock_manager_main(Datum main_arg);

void spock_manager_main(Datum main_arg) {
    spock::worker::attach_worker(main_arg, spock::worker::WorkerType::Manager);
    spock::pg::guarded([] { spock::worker::manager_loop(); });
    proc_exit(0);
}
