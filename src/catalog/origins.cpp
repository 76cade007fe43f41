// Replication origins of subscriptions and the nodes they stand for (docs/architecture.md,
// "Crash safety and origin identity").
#include "spock/catalog/origins.hpp"

#include <algorithm>

#include "spock/core/origin_names.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/xact.hpp"

extern "C" {
#include <access/xact.h>
#include <catalog/pg_type.h>
#include <executor/spi.h>
#include <replication/origin.h>
#include <utils/builtins.h>
#include <utils/hsearch.h>
#include <utils/inval.h>
#include <utils/memutils.h>
#include <utils/snapmgr.h>
#include <utils/syscache.h>
}

namespace spock::catalog {
namespace {

struct OriginCacheEntry {
    RepOriginId roident;  // key
    Oid node;
};

HTAB* origin_cache = nullptr;
bool origin_cache_stale = false;
bool origin_callback_registered = false;

// pg_replication_origin changed: origin ids may have been reused. No allocation here.
void invalidate_origins(Datum, int, uint32) {
    origin_cache_stale = true;
}

void ensure_cache() {
    if (origin_cache != nullptr && origin_cache_stale) {
        hash_destroy(origin_cache);
        origin_cache = nullptr;
    }
    origin_cache_stale = false;
    if (origin_cache != nullptr) {
        return;
    }
    HASHCTL ctl;
    memset(&ctl, 0, sizeof ctl);
    ctl.keysize = sizeof(RepOriginId);
    ctl.entrysize = sizeof(OriginCacheEntry);
    ctl.hcxt = CacheMemoryContext;
    origin_cache =
        hash_create("spock origin nodes", 32, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
    if (!origin_callback_registered) {
        CacheRegisterSyscacheCallback(REPLORIGIDENT, invalidate_origins, (Datum)0);
        origin_callback_registered = true;
    }
}

// The subscription whose slot is named `slot`: its provider node, or InvalidOid.
Oid subscription_origin_by_slot(const char* slot) {
    Datum arg = CStringGetTextDatum(slot);
    Oid type = TEXTOID;
    int rc = SPI_execute_with_args(
        "SELECT sub_origin FROM spock.subscription WHERE sub_slot_name = $1::name", 1, &type, &arg,
        nullptr, true, 1);
    if (rc != SPI_OK_SELECT) {
        elog(ERROR, "could not read spock.subscription: %s", SPI_result_code_string(rc));
    }
    Oid node = InvalidOid;
    if (SPI_processed > 0) {
        bool isnull;
        Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
        if (!isnull) {
            node = DatumGetObjectId(d);
        }
    }
    return node;
}

Oid lookup_node(const char* full_name) {
    // "<name>:w<K>" is parallel apply process K's copy of <name>: the same node.
    std::string_view base = core::without_worker_suffix(full_name);
    char* origin_name = pnstrdup(base.data(), base.size());
    bool pushed = false;
    if (!ActiveSnapshotSet()) {
        PushActiveSnapshot(GetTransactionSnapshot());
        pushed = true;
    }
    if (SPI_connect() != SPI_OK_CONNECT) {
        elog(ERROR, "SPI_connect failed");
    }
    Oid node = subscription_origin_by_slot(origin_name);
    if (!OidIsValid(node)) {
        // "<slot>:n<digits>": a forwarded origin of that subscription.
        const char* sep = strrchr(origin_name, ':');
        if (sep != nullptr && sep != origin_name && sep[1] == 'n' && sep[2] != '\0' &&
            sep[2] != '0' && strspn(sep + 2, "0123456789") == strlen(sep + 2) &&
            strlen(sep + 2) <= 10) {
            char* slot = pnstrdup(origin_name, sep - origin_name);
            unsigned long id = strtoul(sep + 2, nullptr, 10);
            if (id > 0 && id <= PG_UINT32_MAX && OidIsValid(subscription_origin_by_slot(slot))) {
                node = static_cast<Oid>(id);
            }
        }
    }
    SPI_finish();
    if (pushed) {
        PopActiveSnapshot();
    }
    pfree(origin_name);
    return node;
}

}  // namespace

std::string origin_name_for(const std::string& slot_name, core::NodeId provider_node,
                            core::NodeId origin_node) {
    return core::origin_name(slot_name, provider_node, origin_node);
}

RepOriginId ensure_origin(const std::string& name) {
    const char* n = name.c_str();
    return pg::pg_call([n] {
        StartTransactionCommand();
        RepOriginId r = replorigin_by_name(n, true);
        if (r == InvalidRepOriginId) {
            r = replorigin_create(n);
        }
        CommitTransactionCommand();
        return r;
    });
}

core::Lsn resume_position(const std::string& slot_name) {
    // The candidates by prefix, then the exact test in core: LIKE would treat '_' in the slot
    // name as a wildcard.
    pg::begin_xact();
    pg::spi_connect();
    std::vector<pg::SqlRow> rows = pg::spi_query(
        "SELECT external_id, remote_lsn::text FROM pg_replication_origin_status "
        "WHERE starts_with(external_id, $1)",
        {slot_name});
    pg::spi_finish();
    pg::commit_xact();
    core::Lsn best = core::kInvalidLsn;
    for (const pg::SqlRow& r : rows) {
        if (r[0] && r[1] && core::is_subscription_origin(slot_name, *r[0])) {
            best = std::max(best, core::Lsn::parse(*r[1]));
        }
    }
    return best;
}

Oid node_for_origin(RepOriginId roident) {
    if (roident == InvalidRepOriginId || roident == DoNotReplicateId) {
        return InvalidOid;
    }
    ensure_cache();
    bool found;
    auto* e =
        static_cast<OriginCacheEntry*>(hash_search(origin_cache, &roident, HASH_FIND, &found));
    if (e != nullptr) {
        return e->node;
    }
    char* name = nullptr;
    Oid node = InvalidOid;
    if (replorigin_by_oid(roident, true, &name)) {
        node = lookup_node(name);
    }
    // The lookup may have processed invalidations; start from a fresh cache if so.
    ensure_cache();
    e = static_cast<OriginCacheEntry*>(hash_search(origin_cache, &roident, HASH_ENTER, &found));
    e->node = node;
    return node;
}

}  // namespace spock::catalog
