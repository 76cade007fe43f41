// spock.sync_seq(): ships a sequence's value now (the shipping itself is in
// src/catalog/sequences.cpp; docs/sequences.md).
#include "spock/catalog/sequences.hpp"
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"

extern "C" {
#include <storage/lmgr.h>
}

using namespace spock;

// sync_seq(relation regclass) -> boolean: ships the sequence's value now.
SPOCK_PG_FUNCTION(spock_sync_seq) {
    Oid relid = pg::oid_arg(fcinfo, 0, "relation");
    pg::pg_call([relid] { LockRelationOid(relid, AccessShareLock); });
    pg::spi_connect();
    catalog::ship_sequence(relid, catalog::ShipWhen::Always);
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}
