// Small helpers of the SQL API: slot names and commit timestamps (reference §3.5, §3.8).
#include "spock/catalog/origins.hpp"
#include "spock/core/names.hpp"
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"

extern "C" {
#include <access/commit_ts.h>
#include <access/htup_details.h>
#include <funcapi.h>
#include <utils/builtins.h>
#include <utils/timestamp.h>
}

using namespace spock;

SPOCK_PG_FUNCTION(spock_gen_slot_name) {
    std::string db = pg::name_arg(fcinfo, 0, "database name");
    std::string node = pg::name_arg(fcinfo, 1, "provider node name");
    std::string sub = pg::name_arg(fcinfo, 2, "subscription name");
    std::string slot = core::gen_slot_name(db, node, sub);
    const char* s = slot.c_str();
    return pg::pg_call([s] {
        Name result = static_cast<Name>(palloc0(NAMEDATALEN));
        namestrcpy(result, s);
        return NameGetDatum(result);
    });
}

// The commit timestamp and origin of a transaction, NULLs when none is recorded (an aborted,
// running, frozen or too old xid). For rows spock applied, the origin is the node id of the node
// the change came from. The tuple is built from Datums: a text round trip of the timestamp
// would depend on DateStyle and TimeZone.
SPOCK_PG_FUNCTION(spock_xact_commit_timestamp_origin) {
    pg::require_arg(fcinfo, 0, "xid");
    TransactionId xid = DatumGetTransactionId(PG_GETARG_DATUM(0));
    return pg::pg_call([fcinfo, xid] {
        TimestampTz ts = 0;
        RepOriginId origin = InvalidRepOriginId;
        bool found = TransactionIdGetCommitTsData(xid, &ts, &origin);
        TupleDesc desc;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
            elog(ERROR, "function returning a record called in a context that cannot take one");
        }
        desc = BlessTupleDesc(desc);
        // As Spock: for an applied row, the spock node id of the node the change came from
        // (our commits carry the subscription's local origin id); an origin that is not
        // spock's is returned as it is.
        Oid roident = origin;
        if (found && origin != InvalidRepOriginId) {
            Oid node = spock::catalog::node_for_origin(origin);
            if (OidIsValid(node)) {
                roident = node;
            }
        }
        Datum values[2] = {TimestampTzGetDatum(ts), ObjectIdGetDatum(roident)};
        bool nulls[2] = {!found, !found};
        return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
    });
}
