// terminate_active_transactions() (reference §3.8), the companion of spock.readonly: after
// the mode is raised, it ends the transactions other sessions still have open, so that no
// write begun before the switch commits after it.
#include <string>
#include <vector>

#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"

extern "C" {
#include <storage/lock.h>
#include <storage/proc.h>
#include <storage/procarray.h>
#include <storage/procsignal.h>
}

using namespace spock;

namespace {

// Sends the "snapshot conflict" signal to the virtual transaction of `pid`, as the startup
// process of a standby does: a running statement is cancelled, a session idle in its
// transaction is ended. Plain glue.
void cancel_transaction_of(int pid) {
    PGPROC* proc = BackendPidGetProc(pid);
    if (proc == nullptr) {
        return;  // gone meanwhile
    }
    VirtualTransactionId vxid;
    GET_VXID_FROM_PGPROC(vxid, *proc);
    if (VirtualTransactionIdIsValid(vxid)) {
        CancelVirtualTransaction(vxid, PROCSIG_RECOVERY_CONFLICT_SNAPSHOT);
    }
}

}  // namespace

// terminate_active_transactions() -> boolean: every other client session of the server (all
// databases) that has a transaction open loses it. Background workers, spock's among them,
// and autovacuum are left alone. Returns true.
SPOCK_PG_FUNCTION(spock_terminate_active_transactions) {
    (void)fcinfo;
    pg::spi_connect();
    std::vector<pg::SqlRow> rows = pg::spi_query(
        "SELECT pid FROM pg_catalog.pg_stat_activity "
        "WHERE backend_type = 'client backend' AND xact_start IS NOT NULL "
        "  AND pid <> pg_catalog.pg_backend_pid()");
    pg::spi_finish();
    std::vector<int> pids;
    for (const pg::SqlRow& r : rows) {
        pids.push_back(std::stoi(*r[0]));
    }
    for (int pid : pids) {
        pg::pg_call([pid] { cancel_transaction_of(pid); });
    }
    PG_RETURN_BOOL(true);
}
