// spock.schema_change_stats(): the apply workers' schema-change counters of this database, one
// row per subscription (docs/ddl.md).
#include <string>
#include <vector>

#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"
#include "spock/worker/shmem.hpp"

extern "C" {
#include <miscadmin.h>
}

using namespace spock;

SPOCK_PG_FUNCTION(spock_schema_change_stats) {
    pg::spi_connect();
    std::vector<pg::SqlRow> subs =
        pg::spi_query("SELECT sub_id::text, sub_name::text FROM spock.subscription ORDER BY 2");
    pg::spi_finish();
    std::vector<pg::SqlRow> rows;
    for (const pg::SqlRow& s : subs) {
        Oid subid = static_cast<Oid>(std::stoul(*s[0]));
        worker::ApplyStats copy{};
        worker::ApplyStats* out = &copy;
        pg::pg_call([subid, out] {
            LWLockAcquire(worker::shared()->lock, LW_SHARED);
            worker::ApplyStats* e = worker::find_apply_stats(MyDatabaseId, subid, false);
            if (e != nullptr) {
                *out = *e;
            }
            LWLockRelease(worker::shared()->lock);
        });
        rows.push_back({s[0], s[1], std::to_string(copy.ddl_applied),
                        std::to_string(copy.relation_changes),
                        std::to_string(copy.missing_column_nulls),
                        std::to_string(copy.missing_column_values_dropped),
                        std::to_string(copy.queue_repeats_skipped),

                        std::to_string(copy.ddl_schema_mismatches)});
    }
    return pg::rows_result(fcinfo, rows);
}
