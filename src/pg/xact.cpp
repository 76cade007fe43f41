// Transactions and subtransactions for C++ frames. See include/spock/pg/xact.hpp.
#include "spock/pg/xact.hpp"

#include "spock/pg/guard.hpp"

extern "C" {
#include <access/xact.h>
#include <miscadmin.h>
#include <utils/memutils.h>
#include <utils/snapmgr.h>
#include <utils/timestamp.h>
}

namespace spock::pg {

void begin_xact() {
    pg_call([] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
    });
}

void commit_xact() {
    pg_call([] {
        PopActiveSnapshot();
        CommitTransactionCommand();
    });
}

void abort_xact() {
    pg_call([] {
        // As PostgreSQL's own error recovery does: no interrupt may cut the cleanup short.
        HOLD_INTERRUPTS();
        AbortOutOfAnyTransaction();
        MemoryContextSwitchTo(TopMemoryContext);
        RESUME_INTERRUPTS();
    });
}

Subxact begin_subxact() {
    Subxact s{CurrentMemoryContext, CurrentResourceOwner};
    MemoryContext cxt = s.cxt;
    pg_call([cxt] {
        BeginInternalSubTransaction(nullptr);
        MemoryContextSwitchTo(cxt);
    });
    return s;
}

void release_subxact(const Subxact& s) {
    pg_call([&s] {
        ReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(s.cxt);
        CurrentResourceOwner = s.owner;
    });
}

void rollback_subxact(const Subxact& s) {
    pg_call([&s] {
        RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(s.cxt);
        CurrentResourceOwner = s.owner;
    });
}

}  // namespace spock::pg
