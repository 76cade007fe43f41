// spock.get_parallel_apply_status(): the processes of each leader, read from its segment.
#include "spock/apply/parallel_status.hpp"

#include "spock/pg/guard.hpp"
#include "spock/worker/shmem.hpp"

#include "parallel_shared.hpp"

extern "C" {
#include <storage/dsm.h>
#include <storage/lwlock.h>
}

namespace spock::apply {
namespace {

const char* state_name(uint32 s) {
    switch (static_cast<ParallelState>(s)) {
        case ParallelState::Starting:
            return "starting";
        case ParallelState::Idle:
            return "idle";
        case ParallelState::Waiting:
            return "waiting";
        case ParallelState::Applying:
            return "applying";
        case ParallelState::Disabled:
            return "disabled";
    }
    return "unknown";
}

struct Leader {
    dsm_handle handle;
    int pid;
    Oid dboid;
    Oid subid;
};

struct Copy {
    int nprocs;
    uint32 pid[kParallelMaxProcesses];
    uint32 state[kParallelMaxProcesses];
    uint64 xacts[kParallelMaxProcesses];
};

}  // namespace

std::vector<ParallelProcessStatus> parallel_apply_status() {
    std::vector<Leader> leaders;
    leaders.reserve(static_cast<std::size_t>(worker::shared()->nslots));
    std::vector<Leader>* lp = &leaders;
    // The lock is PostgreSQL's (LWLockAcquire can raise): taken inside pg_call, as the vector
    // lives in this frame.
    pg::pg_call([lp] {
        LWLockAcquire(worker::shared()->lock, LW_SHARED);
        for (int i = 0; i < worker::shared()->nslots; i++) {
            const worker::WorkerSlot& s = worker::shared()->slots[i];
            if (s.type == worker::WorkerType::Apply && s.proc != nullptr && s.parallel_dsm != 0) {
                lp->push_back({s.parallel_dsm, s.pid, s.dboid, s.subid});  // no allocation
            }
        }
        LWLockRelease(worker::shared()->lock);
        return 0;
    });
    std::vector<ParallelProcessStatus> out;
    for (const Leader& l : leaders) {
        Copy c{};
        dsm_handle h = l.handle;
        Copy* cp = &c;
        pg::pg_call([h, cp] {
            // The leader may have stopped since: its segment is gone and there is nothing to
            // show.
            dsm_segment* seg = dsm_attach(h);
            if (seg == nullptr) {
                return 0;
            }
            auto* sh = static_cast<ParallelShared*>(dsm_segment_address(seg));
            cp->nprocs = sh->nprocs < kParallelMaxProcesses ? sh->nprocs : kParallelMaxProcesses;
            for (int k = 0; k < cp->nprocs; ++k) {
                cp->pid[k] = pg_atomic_read_u32(&sh->procs[k].pid);
                cp->state[k] = pg_atomic_read_u32(&sh->procs[k].state);
                cp->xacts[k] = pg_atomic_read_u64(&sh->procs[k].xacts);
            }
            dsm_detach(seg);
            return 0;
        });
        for (int k = 0; k < c.nprocs; ++k) {
            out.push_back({l.pid, l.dboid, l.subid, k + 1, static_cast<int>(c.pid[k]),
                           state_name(c.state[k]), c.xacts[k]});
        }
    }
    return out;
}

}  // namespace spock::apply
