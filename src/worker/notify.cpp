#include "spock/worker/notify.hpp"

#include "spock/worker/shmem.hpp"

extern "C" {
#include <access/xact.h>
#include <miscadmin.h>
}

namespace spock::worker {
namespace {

constexpr int kMaxPending = 64;
bool pending = false;
int npending_subs = 0;
Oid pending_subs[kMaxPending];

void on_xact(XactEvent event, void*) {
    if (!pending) {
        return;
    }
    if (event == XACT_EVENT_COMMIT) {
        wake_managers(MyDatabaseId);
        for (int i = 0; i < npending_subs; i++) {
            wake_apply_worker(MyDatabaseId, pending_subs[i]);
        }
    }
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
        event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT) {
        pending = false;
        npending_subs = 0;
    }
}

}  // namespace

void install_notify_callback() {
    RegisterXactCallback(on_xact, nullptr);
}

void notify_at_commit(Oid subid) {
    pending = true;
    if (OidIsValid(subid) && npending_subs < kMaxPending) {
        pending_subs[npending_subs++] = subid;
    }
}

}  // namespace spock::worker
