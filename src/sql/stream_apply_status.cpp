// spock.get_stream_apply_status(): early apply of streamed transactions (docs/functions.md).
#include "spock/apply/stream_apply_status.hpp"
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"

using namespace spock;

SPOCK_PG_FUNCTION(spock_get_stream_apply_status) {
    std::vector<pg::SqlRow> rows;
    for (const apply::StreamApplyStatus& s : apply::stream_apply_status()) {
        rows.push_back({std::to_string(s.worker_pid), std::to_string(s.subid),
                        s.pid != 0 ? pg::SqlValue(std::to_string(s.pid)) : std::nullopt, s.state,
                        s.xid != 0 ? pg::SqlValue(std::to_string(s.xid)) : std::nullopt,
                        std::to_string(s.changes), std::to_string(s.committed),
                        std::to_string(s.fallbacks),
                        s.last_fallback.empty() ? std::nullopt : pg::SqlValue(s.last_fallback)});
    }
    return pg::rows_result(fcinfo, rows);
}
