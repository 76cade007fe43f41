#include "spock/pg/standby_slots.hpp"

#include <vector>

#include "spock/core/failover_slots.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"

extern "C" {
#include <access/xlog.h>
#include <nodes/pg_list.h>
#include <replication/slot.h>
#include <storage/lwlock.h>
#include <storage/spin.h>
#include <utils/memutils.h>
#include <utils/varlena.h>
}

namespace spock::pg {

namespace {

// More names than this are not read (the setting names a server's few physical standbys).
constexpr int kMaxStandbySlots = 64;

struct StandbyPositions {
    int count = 0;
    bool found[kMaxStandbySlots];
    XLogRecPtr restart_lsn[kMaxStandbySlots];
};

// Plain glue: splits the setting and reads each named physical slot's restart_lsn (for a
// physical slot, what its standby reported as flushed).
void read_standby_positions(StandbyPositions* out) {
    out->count = 0;
    if (gucs::pg_standby_slot_names == nullptr || gucs::pg_standby_slot_names[0] == '\0') {
        return;
    }
    char* copy = pstrdup(gucs::pg_standby_slot_names);
    List* names = NIL;
    if (!SplitGUCList(copy, ',', &names)) {
        // The setting was accepted by the GUC machinery as a list; a syntax error here means
        // nothing can be confirmed, so everything waits (never sends too early).
        out->count = 1;
        out->found[0] = false;
        return;
    }
    ListCell* lc;
    LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
    foreach (lc, names) {
        if (out->count >= kMaxStandbySlots) {
            break;
        }
        const char* name = static_cast<const char*>(lfirst(lc));
        int i = out->count++;
        out->found[i] = false;
        out->restart_lsn[i] = InvalidXLogRecPtr;
        for (int s = 0; s < max_replication_slots; s++) {
            ReplicationSlot* slot = &ReplicationSlotCtl->replication_slots[s];
            if (!slot->in_use || strcmp(NameStr(slot->data.name), name) != 0) {
                continue;
            }
            SpinLockAcquire(&slot->mutex);
            if (slot->data.database == InvalidOid) {  // physical
                out->found[i] = true;
                out->restart_lsn[i] = slot->data.restart_lsn;
            }
            SpinLockRelease(&slot->mutex);
            break;
        }
    }
    LWLockRelease(ReplicationSlotControlLock);
    list_free(names);
    pfree(copy);
}

}  // namespace

std::optional<core::Lsn> standby_confirmed_lsn() {
    StandbyPositions p;
    pg_call([&p] {
        read_standby_positions(&p);
        return 0;
    });
    if (p.count == 0) {
        return std::nullopt;
    }
    std::vector<std::optional<core::Lsn>> confirmed;
    confirmed.reserve(p.count);
    for (int i = 0; i < p.count; i++) {
        confirmed.push_back(p.found[i] ? std::optional(core::Lsn{p.restart_lsn[i]}) : std::nullopt);
    }
    return core::standby_confirmed_lsn(confirmed, gucs::standby_slots_min_confirmed);
}

core::Lsn flush_confirmed_by_standbys() {
    core::Lsn flushed{GetFlushRecPtr(nullptr)};
    std::optional<core::Lsn> standbys = standby_confirmed_lsn();
    return standbys ? std::min(flushed, *standbys) : flushed;
}

}  // namespace spock::pg
