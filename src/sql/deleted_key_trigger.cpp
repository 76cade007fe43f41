// spock.deleted_key_trigger(): the row-level AFTER DELETE trigger spock puts on every table of
// a replication set, so that local DELETEs land in the record of deleted keys
// (spock/worker/deleted_keys.hpp, docs/conflicts.md). It is an ordinary (ENABLE ORIGIN)
// trigger: it fires in user sessions, and not in the apply worker, which runs with
// session_replication_role = replica and records the deletes it applies itself.
//
// It records the key and the current transaction id; the commit time is read from the commit
// timestamp record when the entry is looked up, and an aborted transaction's entry does not
// count. Placement: repset.cpp calls place_deleted_key_trigger / drop_deleted_key_trigger.
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"
#include "spock/sql/deleted_key_trigger.hpp"
#include "spock/worker/deleted_keys.hpp"

extern "C" {
#include <access/xact.h>
#include <commands/trigger.h>
#include <utils/memutils.h>
#include <utils/rel.h>
}

using namespace spock;

namespace spock::sql {

namespace {

constexpr const char* kTriggerName = "spock_deleted_keys";

std::string qualified(Oid relid) {
    return *pg::spi_value(
        "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::oid",
        {std::to_string(relid)});
}

}  // namespace

void place_deleted_key_trigger(Oid relid) {
    // A trigger on a partitioned table is cloned onto its partitions: a partition that has
    // one already (its own or its parent's) is left alone.
    if (pg::spi_value("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1::oid AND "
                      "tgname = $2::name",
                      {std::to_string(relid), std::string(kTriggerName)})) {
        return;
    }
    pg::spi_exec(("CREATE TRIGGER " + std::string(kTriggerName) + " AFTER DELETE ON " +
                  qualified(relid) + " FOR EACH ROW EXECUTE FUNCTION spock.deleted_key_trigger()")
                     .c_str());
}

void drop_deleted_key_trigger(Oid relid) {
    // Only once no set contains the table, and only spock's own trigger, not a clone of the
    // parent's (which goes with the parent's).
    if (pg::spi_value("SELECT 1 FROM spock.replication_set_table WHERE set_reloid::oid = $1::oid",
                      {std::to_string(relid)}) ||
        !pg::spi_value("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1::oid AND "
                       "tgname = $2::name AND tgparentid = 0",
                       {std::to_string(relid), std::string(kTriggerName)})) {
        return;
    }
    pg::spi_exec(("DROP TRIGGER " + std::string(kTriggerName) + " ON " + qualified(relid)).c_str());
}

}  // namespace spock::sql

SPOCK_PG_FUNCTION(spock_deleted_key_trigger) {
    if (!CALLED_AS_TRIGGER(fcinfo)) {
        throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                          "spock.deleted_key_trigger() was not called by a trigger", {},
                          "It is placed on replicated tables by spock.repset_add_table().");
    }
    auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_BY_DELETE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
        !TRIGGER_FIRED_AFTER(td->tg_event)) {
        throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                          "spock.deleted_key_trigger() must be an AFTER DELETE FOR EACH ROW "
                          "trigger",
                          {}, "It is placed on replicated tables by spock.repset_add_table().");
    }
    // Plain PostgreSQL calls from here on: nothing with a destructor is alive. The key's shape
    // is kept for the statement in fn_extra (the trigger's FmgrInfo lives as long as the
    // query's executor state); a table without identity is remembered as such.
    struct Cache {
        Oid relid;
        worker::DeletedKeyShape* shape;
    };
    auto* cache = static_cast<Cache*>(fcinfo->flinfo->fn_extra);
    if (cache == nullptr || cache->relid != RelationGetRelid(td->tg_relation)) {
        cache = static_cast<Cache*>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(Cache)));
        cache->relid = RelationGetRelid(td->tg_relation);
        cache->shape = worker::deleted_key_shape(td->tg_relation, fcinfo->flinfo->fn_mcxt);
        fcinfo->flinfo->fn_extra = cache;
    }
    core::DeletedKeyId id;
    if (cache->shape != nullptr &&
        worker::deleted_key_from_shape(cache->shape, td->tg_trigslot, &id)) {
        // The statement's start time is close enough for a retention counted in seconds.
        worker::record_deleted_key(id, InvalidOid, 0, GetCurrentStatementStartTimestamp());
    }
    return PointerGetDatum(td->tg_trigtuple);
}
