// Per-table resynchronisation (sub_resync_table, sub_alter_sync; reference §7.3). The apply
// worker calls it between remote transactions for tables whose local_sync_status row says 'i':
//  1. On a replication connection to the provider, CREATE_REPLICATION_SLOT ... TEMPORARY
//     LOGICAL ... EXPORT_SNAPSHOT. Its consistent point L splits the provider's transactions:
//     those whose commit record starts before L (final_lsn < L) are visible in the exported
//     snapshot; the others are not. L is never behind the worker's stream position, since the
//     provider sent that position before the slot existed.
//  2. In one local transaction, under the subscription's replication origin (so the copy is
//     not replicated onward) with the epoch as commit timestamp (so later changes win
//     conflicts): TRUNCATE the table, COPY it from the provider in the snapshot, and set its
//     status to 'y' (synchronized) with sync_statuslsn = L. A crash before this commit leaves
//     'i' and the copy is redone; after it, the status and L survive with the rows.
//  3. The temporary slot goes away with its connection.
//  4. The worker's stream then goes on where it paused. For a table at 'y', changes of
//     transactions with final_lsn < L are already in the copy and are skipped; later ones are
//     applied. Once the stream has passed L between transactions, nothing older can arrive and
//     the worker sets the status to 'r'.
#include "spock/sync/table_resync.hpp"

#include <optional>

#include "spock/core/names.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/remote.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/xact.hpp"

#include "copy_data.hpp"

extern "C" {
#include <access/xact.h>
#include <common/pg_prng.h>
#include <replication/origin.h>
#include <utils/guc.h>
}

namespace spock::sync {

using pg::SqlRow;

core::Lsn resync_table(const TableResyncRequest& req) {
    const std::string qualified = req.nspname + "." + req.relname;
    // A temporary slot name of our own: the subscription's slot and 8 random hex digits.
    char suffix[16];
    snprintf(suffix, sizeof suffix, "_%08x",
             static_cast<unsigned>(pg_prng_uint32(&pg_global_prng_state)));
    std::string slot = req.slot_name.substr(0, 54) + suffix;
    pg::RemoteConnection repl(req.provider_dsn, req.slot_name, "resync", true);
    std::vector<SqlRow> created = repl.query("CREATE_REPLICATION_SLOT \"" + slot +
                                             "\" TEMPORARY LOGICAL spock_output EXPORT_SNAPSHOT");
    if (created.size() != 1 || created[0].size() < 3 || !created[0][1] || !created[0][2]) {
        throw core::Error(core::sqlstate::kProtocolViolation,
                          "unexpected result from CREATE_REPLICATION_SLOT");
    }
    core::Lsn consistent = core::Lsn::parse(*created[0][1]);
    pg::RemoteConnection conn(req.provider_dsn, req.slot_name, "copy", false);
    prepare_copy_session(conn);
    begin_snapshot_transaction(conn, *created[0][2]);
    std::optional<ProviderTable> found;
    for (ProviderTable& t : list_provider_tables(conn, req.replication_sets, req.skip_schemas)) {
        if (t.nspname == req.nspname && t.relname == req.relname) {
            found = std::move(t);
        }
    }
    if (!found) {
        pg::pg_call([&qualified, &req] {
            ereport(WARNING, (errmsg("table %s is no longer published to subscription \"%s\"; "
                                     "its resynchronisation is dropped",
                                     qualified.c_str(), req.subscription_name.c_str())));
        });
        pg::begin_xact();
        pg::spi_connect();
        pg::spi_exec(
            "DELETE FROM spock.local_sync_status WHERE sync_subid = $1::oid "
            "AND sync_nspname = $2::name AND sync_relname = $3::name AND sync_status = 'i'",
            {std::to_string(req.subscription_id), req.nspname, req.relname});
        pg::spi_finish();
        pg::commit_xact();
        return core::kInvalidLsn;
    }
    if (req.before_copy) {
        req.before_copy();
    }
    pg::begin_xact();
    TimestampTz epoch = core::timestamp_from_unix_us(0).value;
    pg::pg_call([epoch] {
        replorigin_session_origin_lsn = InvalidXLogRecPtr;
        replorigin_session_origin_timestamp = epoch;
        (void)set_config_option("DateStyle", "ISO", PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
                                true, 0, false);
        (void)set_config_option("IntervalStyle", "postgres", PGC_SUSET, PGC_S_SESSION,
                                GUC_ACTION_LOCAL, true, 0, false);
    });
    pg::spi_connect();
    std::string truncate =
        "TRUNCATE TABLE " + core::quote_qualified_identifier(req.nspname, req.relname);
    pg::spi_exec(truncate.c_str());
    pg::pg_call([] { CommandCounterIncrement(); });
    std::uint64_t rows = copy_table(conn, *found);
    pg::pg_call([] { CommandCounterIncrement(); });
    pg::spi_exec(
        "UPDATE spock.local_sync_status SET sync_status = 'y', sync_statuslsn = $4::pg_lsn "
        "WHERE sync_subid = $1::oid AND sync_nspname = $2::name AND sync_relname = $3::name",
        {std::to_string(req.subscription_id), req.nspname, req.relname, consistent.to_string()});
    pg::spi_finish();
    pg::commit_xact();
    pg::pg_call([] {
        replorigin_session_origin_lsn = InvalidXLogRecPtr;
        replorigin_session_origin_timestamp = 0;
    });
    std::string at = consistent.to_string();
    pg::pg_call([&] {
        ereport(LOG, (errmsg("subscription \"%s\" copied %llu rows of table %s again, as of "
                             "provider position %s",
                             req.subscription_name.c_str(), static_cast<unsigned long long>(rows),
                             qualified.c_str(), at.c_str())));
    });
    return consistent;
}

}  // namespace spock::sync
