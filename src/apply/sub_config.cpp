// Reading the apply worker's subscription. See sub_config.hpp.
#include "sub_config.hpp"

#include "spock/catalog/values.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/xact.hpp"

namespace spock::apply {

std::optional<SubConfig> load_config(Oid subid) {
    pg::begin_xact();
    pg::spi_connect();
    auto rows = pg::spi_query(
        "SELECT s.sub_name, s.sub_enabled, s.sub_slot_name, s.sub_origin, s.sub_target, "
        "       oi.if_dsn, ti.if_dsn, s.sub_replication_sets, s.sub_forward_origins, "
        "       s.sub_skip_schema, "
        "       (extract(epoch FROM s.sub_apply_delay) * 1000)::bigint, "
        "       s.sub_force_text_transfer, s.sub_skip_lsn, ss.sync_kind, ss.sync_status, "
        "       ss.sync_statuslsn "
        "FROM spock.subscription s "
        "JOIN spock.node_interface oi ON oi.if_id = s.sub_origin_if "
        "JOIN spock.node_interface ti ON ti.if_id = s.sub_target_if "
        "LEFT JOIN spock.local_sync_status ss ON ss.sync_subid = s.sub_id "
        "     AND ss.sync_nspname IS NULL AND ss.sync_relname IS NULL "
        "WHERE s.sub_id = $1::oid",
        {std::to_string(subid)});
    pg::spi_finish();
    pg::commit_xact();
    if (rows.empty()) {
        return std::nullopt;
    }
    const pg::SqlRow& r = rows[0];
    SubConfig c;
    c.id = subid;
    c.name = *r[0];
    c.enabled = catalog::to_bool(r[1]);
    c.slot_name = *r[2];
    c.provider = catalog::to_u32(r[3]);
    c.local = catalog::to_u32(r[4]);
    c.provider_dsn = *r[5];
    c.local_dsn = *r[6];
    c.sets = catalog::array_values(r[7]);
    c.forward_origins = catalog::array_values(r[8]);
    c.skip_schema = catalog::array_values(r[9]);
    c.apply_delay_ms = r[10] ? std::stol(*r[10]) : 0;
    c.force_text = catalog::to_bool(r[11]);
    c.skip_lsn = core::Lsn::parse(*r[12]);
    c.sync_kind = r[13] ? (*r[13])[0] : 'i';
    c.sync_status = r[14] ? (*r[14])[0] : 'r';
    c.sync_lsn = r[15] ? core::Lsn::parse(*r[15]) : core::kInvalidLsn;
    return c;
}

}  // namespace spock::apply
