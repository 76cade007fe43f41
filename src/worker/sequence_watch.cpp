// See sequence_watch.hpp.
#include "sequence_watch.hpp"

#include <vector>

#include "spock/core/read_only.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/read_only.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/xact.hpp"
#include "spock/catalog/sequences.hpp"

namespace spock::worker {

void SequenceWatch::check() {
    TimestampTz now = GetCurrentTimestamp();
    if (last_check_ != 0 && !TimestampDifferenceExceeds(last_check_, now, kIntervalMs)) {
        return;
    }
    last_check_ = now;
    if (!core::read_only_allows(pg::read_only_mode(), core::Writer::Manager)) {
        return;
    }
    pg::begin_xact();
    pg::spi_connect();
    std::vector<pg::SqlRow> seqs = pg::spi_query(
        "SELECT DISTINCT q.set_seqoid::oid FROM spock.replication_set_seq q "
        "JOIN spock.replication_set rs USING (set_id) "
        "JOIN spock.local_node l ON l.node_id = rs.set_nodeid "
        "JOIN pg_catalog.pg_class c ON c.oid = q.set_seqoid::oid "
        "ORDER BY 1");
    int shipped = 0;
    for (const pg::SqlRow& r : seqs) {
        if (catalog::ship_sequence(static_cast<Oid>(std::stoul(*r[0])),
                                   catalog::ShipWhen::IfAdvanced)) {
            shipped++;
        }
    }
    pg::spi_finish();
    pg::commit_xact();
    if (shipped > 0) {
        pg::pg_call([shipped] {
            ereport(DEBUG1, (errmsg("spock manager shipped the values of %d sequences", shipped)));
        });
    }
}

}  // namespace spock::worker
