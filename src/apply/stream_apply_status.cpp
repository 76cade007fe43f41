// spock.get_stream_apply_status(): each worker's stream apply process, from its segment.
#include "spock/apply/stream_apply_status.hpp"

#include "spock/core/early_apply.hpp"
#include "spock/pg/guard.hpp"
#include "spock/worker/shmem.hpp"

#include "stream_apply_shared.hpp"

extern "C" {
#include <storage/dsm.h>
#include <storage/lwlock.h>
}

namespace spock::apply {
namespace {

const char* state_name(uint32 s) {
    switch (static_cast<StreamApplyState>(s)) {
        case StreamApplyState::Starting:
            return "starting";
        case StreamApplyState::Idle:
            return "idle";
        case StreamApplyState::Applying:
            return "applying";
        case StreamApplyState::Waiting:
            return "waiting";
        case StreamApplyState::Failed:
            return "failed";
    }
    return "unknown";
}

struct Worker {
    dsm_handle handle;
    int pid;
    Oid dboid;
    Oid subid;
};

struct Copy {
    bool found;
    uint32 pid, state, xid, last;
    uint64 changes, committed, fallbacks;
};

}  // namespace

std::vector<StreamApplyStatus> stream_apply_status() {
    std::vector<Worker> workers;
    workers.reserve(static_cast<std::size_t>(worker::shared()->nslots));
    std::vector<Worker>* wp = &workers;
    pg::pg_call([wp] {
        LWLockAcquire(worker::shared()->lock, LW_SHARED);
        for (int i = 0; i < worker::shared()->nslots; i++) {
            const worker::WorkerSlot& s = worker::shared()->slots[i];
            if (s.type == worker::WorkerType::Apply && s.proc != nullptr && s.stream_dsm != 0) {
                wp->push_back({s.stream_dsm, s.pid, s.dboid, s.subid});  // no allocation
            }
        }
        LWLockRelease(worker::shared()->lock);
        return 0;
    });
    std::vector<StreamApplyStatus> out;
    for (const Worker& w : workers) {
        Copy c{};
        dsm_handle h = w.handle;
        Copy* cp = &c;
        pg::pg_call([h, cp] {
            dsm_segment* seg = dsm_attach(h);
            if (seg == nullptr) {
                return 0;  // the worker stopped since
            }
            auto* sh = static_cast<StreamApplyShared*>(dsm_segment_address(seg));
            cp->found = true;
            cp->pid = pg_atomic_read_u32(&sh->pid);
            cp->state = pg_atomic_read_u32(&sh->state);
            cp->xid = pg_atomic_read_u32(&sh->xid);
            cp->last = pg_atomic_read_u32(&sh->last_fallback);
            cp->changes = pg_atomic_read_u64(&sh->changes);
            cp->committed = pg_atomic_read_u64(&sh->committed);
            cp->fallbacks = pg_atomic_read_u64(&sh->fallbacks);
            dsm_detach(seg);
            return 0;
        });
        if (!c.found) {
            continue;
        }
        auto last = static_cast<core::EarlyFallback>(c.last);
        out.push_back({w.pid, w.dboid, w.subid, static_cast<int>(c.pid), state_name(c.state), c.xid,
                       c.changes, c.committed, c.fallbacks,
                       last == core::EarlyFallback::None
                           ? std::string()
                           : std::string(core::early_fallback_name(last))});
    }
    return out;
}

}  // namespace spock::apply
