#include "spock/catalog/progress.hpp"

#include "spock/catalog/values.hpp"

namespace spock::catalog {

void create_progress(core::NodeId local, core::NodeId provider) {
    pg::spi_exec(
        "INSERT INTO spock.progress (node_id, remote_node_id, remote_commit_ts, remote_lsn, "
        "remote_insert_lsn, last_updated_ts, updated_by_decode) "
        "VALUES ($1::oid, $2::oid, now(), '0/0', '0/0', now(), false) "
        "ON CONFLICT (node_id, remote_node_id) DO NOTHING",
        {to_text(local), to_text(provider)});
}

void advance_progress(core::NodeId local, core::NodeId provider, const std::string& commit_ts,
                      core::Lsn lsn, core::Lsn insert_lsn, bool by_decode) {
    pg::spi_exec(
        "UPDATE spock.progress SET "
        "remote_commit_ts = coalesce(nullif($3, '')::timestamptz, remote_commit_ts), "
        "remote_lsn = greatest(remote_lsn, $4::pg_lsn), "
        "remote_insert_lsn = greatest($5::pg_lsn, $4::pg_lsn, remote_lsn), "
        "last_updated_ts = now(), "
        "updated_by_decode = $6::bool WHERE node_id = $1::oid AND remote_node_id = $2::oid",
        {to_text(local), to_text(provider), commit_ts, lsn.to_string(), insert_lsn.to_string(),
         std::string(by_decode ? "t" : "f")});
}

std::vector<pg::SqlRow> read_progress_of_others(pg::RemoteConnection& conn, core::NodeId provider,
                                                core::NodeId local) {
    return conn.query(
        "SELECT remote_node_id, remote_commit_ts, remote_lsn, remote_insert_lsn, "
        "last_updated_ts, updated_by_decode FROM spock.progress "
        "WHERE node_id = $1::oid AND remote_node_id <> $2::oid",
        {to_text(provider), to_text(local)});
}

void store_progress(core::NodeId local, const pg::SqlRow& p) {
    pg::spi_exec(
        "INSERT INTO spock.progress (node_id, remote_node_id, remote_commit_ts, "
        "remote_lsn, remote_insert_lsn, last_updated_ts, updated_by_decode) "
        "VALUES ($1::oid, $2::oid, $3::timestamptz, $4::pg_lsn, $5::pg_lsn, "
        "$6::timestamptz, $7::boolean) "
        "ON CONFLICT (node_id, remote_node_id) DO UPDATE "
        "SET remote_commit_ts = EXCLUDED.remote_commit_ts, "
        "remote_lsn = EXCLUDED.remote_lsn, remote_insert_lsn = EXCLUDED.remote_insert_lsn, "
        "last_updated_ts = EXCLUDED.last_updated_ts, "
        "updated_by_decode = EXCLUDED.updated_by_decode",
        {to_text(local), p[0], p[1], p[2], p[3], p[4], p[5]});
}

}  // namespace spock::catalog
