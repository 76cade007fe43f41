// Reading the primary: this standby's physical slot there, then its logical slots.
#include <cstdlib>

#include "slot_sync_internal.hpp"
#include "spock/core/error.hpp"
#include "spock/core/hex.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/remote.hpp"

extern "C" {
#include <access/xlogrecovery.h>
}

namespace spock::failover {

namespace {

core::Xid xid_of(const pg::SqlValue& v) {
    return core::Xid{v ? static_cast<std::uint32_t>(std::strtoul(v->c_str(), nullptr, 10)) : 0u};
}

core::Lsn lsn_of(const pg::SqlValue& v) {
    return v ? core::Lsn::parse(*v) : core::kInvalidLsn;
}

}  // namespace

std::string primary_dsn() {
    if (gucs::primary_dsn != nullptr && gucs::primary_dsn[0] != '\0') {
        return gucs::primary_dsn;
    }
    if (PrimaryConnInfo == nullptr || PrimaryConnInfo[0] == '\0') {
        return {};
    }
    std::string dsn = PrimaryConnInfo;
    // Slots are listed in every database; postgres is the one a cluster always has. A URI
    // names its database itself.
    if (!dsn.starts_with("postgres://") && !dsn.starts_with("postgresql://")) {
        dsn += " dbname=postgres";
    }
    return dsn;
}

PrimaryView read_primary(const std::string& dsn) {
    pg::RemoteConnection conn(dsn, "spock failover slots", "", false);
    PrimaryView view;
    // The physical slot first: its catalog_xmin protects what the logical slots read after it
    // still hold (see core::copy_catalog_safe).
    if (PrimarySlotName != nullptr && PrimarySlotName[0] != '\0') {
        auto rows = conn.query(
            "SELECT catalog_xmin FROM pg_catalog.pg_replication_slots "
            "WHERE slot_name = $1 AND slot_type = 'physical'",
            {pg::SqlValue(std::string(PrimarySlotName))});
        if (!rows.empty()) {
            view.physical_slot_found = true;
            view.physical_catalog_xmin = xid_of(rows[0][0]);
        }
    }
    auto rows = conn.query(
        "SELECT slot_name, plugin, datoid, two_phase, restart_lsn, confirmed_flush_lsn, "
        "catalog_xmin FROM pg_catalog.pg_replication_slots "
        "WHERE slot_type = 'logical' AND NOT temporary AND wal_status IS DISTINCT FROM 'lost' "
        "ORDER BY slot_name");
    for (const auto& r : rows) {
        PrimarySlot s;
        s.name = r[0].value_or("");
        s.plugin = r[1].value_or("");
        s.database = static_cast<Oid>(r[2] ? std::strtoul(r[2]->c_str(), nullptr, 10) : 0);
        s.two_phase = r[3] && *r[3] == "t";
        s.position.restart_lsn = lsn_of(r[4]);
        s.position.confirmed_flush = lsn_of(r[5]);
        s.position.catalog_xmin = xid_of(r[6]);
        view.slots.push_back(std::move(s));
    }
    return view;
}

std::optional<std::string> fetch_snapshot_file(const std::string& dsn, XLogRecPtr lsn) {
    char path[MAXPGPATH];
    snprintf(path, sizeof path, "pg_logical/snapshots/%X-%X.snap", static_cast<uint32>(lsn >> 32),
             static_cast<uint32>(lsn));
    pg::RemoteConnection conn(dsn, "spock failover slots", "", false);
    // Needs superuser or pg_read_server_files on the primary, as reading any server file does.
    auto rows = conn.query(
        "SELECT pg_catalog.pg_read_binary_file($1, 0, s.size, true) "
        "FROM pg_catalog.pg_stat_file($1, true) s WHERE s.size IS NOT NULL",
        {pg::SqlValue(std::string(path))});
    if (rows.empty() || !rows[0][0]) {
        return std::nullopt;
    }
    std::optional<std::string> bytes = core::decode_bytea_hex(*rows[0][0]);
    if (!bytes) {
        throw core::Error(core::sqlstate::kProtocolViolation,
                          "unexpected bytea text from the primary for " + std::string(path));
    }
    return bytes;
}

}  // namespace spock::failover
