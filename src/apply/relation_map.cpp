// Remote relations (RELATION messages) and their local counterparts (reference §6.2 'R').
//
// A RELATION message describes a provider relid: schema, name, and columns with types. The
// local table is found by schema-qualified name and the columns by name on first use, so the
// subscriber may order its columns differently and have more of them. The local side is cached
// per remote relid until a relcache invalidation of that table (or of all tables) arrives.
#include "apply_internal.hpp"
#include "ddl_apply.hpp"

#include <string>
#include <vector>

extern "C" {
#include <access/table.h>
#include <catalog/pg_class.h>
#include <catalog/pg_index.h>
#include <nodes/makefuncs.h>
#include <optimizer/optimizer.h>
#include <rewrite/rewriteHandler.h>
#include <utils/hsearch.h>
#include <utils/inval.h>
#include <utils/lsyscache.h>
#include <utils/memutils.h>
#include <utils/rel.h>
#include <utils/syscache.h>
}

namespace spock::apply {
namespace {

HTAB* relmap = nullptr;
MemoryContext relmap_cxt = nullptr;
bool relcache_callback_registered = false;
uint64 next_generation = 1;

// Relcache invalidation: the local side of entries for that table (or all) must be resolved
// again. Runs inside invalidation processing: no allocation, no errors.
void invalidate_local_side(Datum, Oid relid) {
    if (relmap == nullptr) {
        return;
    }
    HASH_SEQ_STATUS seq;
    hash_seq_init(&seq, relmap);
    detail::RelMapEntry* e;
    while ((e = static_cast<detail::RelMapEntry*>(hash_seq_search(&seq))) != nullptr) {
        if (relid == InvalidOid || e->local_relid == relid) {
            e->local_valid = false;
        }
    }
}

void ensure_relmap() {
    if (relmap != nullptr) {
        return;
    }
    if (relmap_cxt == nullptr) {
        relmap_cxt = AllocSetContextCreate(CacheMemoryContext, "spock apply relations",
                                           ALLOCSET_DEFAULT_SIZES);
    }
    HASHCTL ctl;
    memset(&ctl, 0, sizeof ctl);
    ctl.keysize = sizeof(uint32);
    ctl.entrysize = sizeof(detail::RelMapEntry);
    ctl.hcxt = relmap_cxt;
    relmap =
        hash_create("spock apply relation map", 128, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
    if (!relcache_callback_registered) {
        CacheRegisterRelcacheCallback(invalidate_local_side, (Datum)0);
        relcache_callback_registered = true;
    }
}

// Whether every key column of the index is a plain column the provider sends, so that a
// search tuple built from what arrives can find rows through it.
bool index_usable(Oid indexoid, const detail::RelMapEntry* e) {
    HeapTuple tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
    if (!HeapTupleIsValid(tup)) {
        elog(ERROR, "cache lookup failed for index %u", indexoid);
    }
    auto* ix = reinterpret_cast<Form_pg_index>(GETSTRUCT(tup));
    bool usable = ix->indisvalid && ix->indisunique;
    for (int k = 0; usable && k < ix->indnkeyatts; k++) {
        AttrNumber att = ix->indkey.values[k];
        usable = att > 0 && att <= e->local_natts && e->remote_of_local[att - 1] >= 0;
    }
    if (usable && !heap_attisnull(tup, Anum_pg_index_indexprs, nullptr)) {
        usable = false;
    }
    ReleaseSysCache(tup);
    return usable;
}

void resolve_local_side(detail::RelMapEntry* e, Relation rel) {
    e->local_valid = false;  // until the end: an ERROR below leaves it unresolved
    MemoryContextReset(e->local_cxt);
    MemoryContext old = MemoryContextSwitchTo(e->local_cxt);
    TupleDesc desc = RelationGetDescr(rel);
    e->local_natts = desc->natts;
    e->remote_of_local = static_cast<int*>(palloc(sizeof(int) * Max(desc->natts, 1)));
    for (int k = 0; k < desc->natts; k++) {
        e->remote_of_local[k] = -1;
    }
    for (int i = 0; i < e->nremote; i++) {
        detail::RemoteColumn* c = &e->columns[i];
        c->input_fn.fn_oid = InvalidOid;
        c->recv_fn.fn_oid = InvalidOid;
        int found = -1;
        for (int k = 0; k < desc->natts; k++) {
            Form_pg_attribute att = TupleDescAttr(desc, k);
            if (!att->attisdropped && strcmp(NameStr(att->attname), c->name) == 0) {
                found = k;
                break;
            }
        }
        c->missing = found < 0;
        if (c->missing) {
            // Dropped here, or not added yet: values are dealt with by ddl_apply.cpp.
            c->local_att = 0;
            detail::note_missing_column_resolved(e, c);
            continue;
        }
        // A generated column is computed locally; the provider's value is not used.
        if (TupleDescAttr(desc, found)->attgenerated) {
            c->local_att = 0;
        } else {
            c->local_att = static_cast<AttrNumber>(found + 1);
            e->remote_of_local[found] = i;
        }
    }

    // Defaults for the local columns INSERT does not receive.
    e->ndefaults = 0;
    e->default_atts = static_cast<AttrNumber*>(palloc(sizeof(AttrNumber) * Max(desc->natts, 1)));
    e->default_exprs = static_cast<Expr**>(palloc(sizeof(Expr*) * Max(desc->natts, 1)));
    e->volatile_defaults = false;
    for (int k = 0; k < desc->natts; k++) {
        Form_pg_attribute att = TupleDescAttr(desc, k);
        if (att->attisdropped || att->attgenerated || e->remote_of_local[k] >= 0) {
            continue;
        }
        Node* def = build_column_default(rel, k + 1);
        if (def == nullptr) {
            continue;  // NULL
        }
        Expr* planned = expression_planner(reinterpret_cast<Expr*>(def));
        e->volatile_defaults |=
            contain_volatile_functions_not_nextval(reinterpret_cast<Node*>(planned));
        e->default_atts[e->ndefaults] = static_cast<AttrNumber>(k + 1);
        e->default_exprs[e->ndefaults] = planned;
        e->ndefaults++;
    }

    // Rows are looked up by the replica identity index, else the primary key (also when the
    // replica identity is FULL: architecture "Conflicts"), else by a sequential scan.
    Oid key = RelationGetReplicaIndex(rel);
    if (!OidIsValid(key)) {
        key = RelationGetPrimaryKeyIndex(rel);
    }
    e->key_index = OidIsValid(key) && index_usable(key, e) ? key : InvalidOid;
    e->delta = detail::load_delta_columns(rel, e);

    e->local_relid = RelationGetRelid(rel);
    e->generation = next_generation++;
    e->batch_checked = false;
    e->local_valid = true;
    MemoryContextSwitchTo(old);
}

const char* relkind_noun(char relkind) {
    switch (relkind) {
        case RELKIND_VIEW:
            return "a view";
        case RELKIND_MATVIEW:
            return "a materialized view";
        case RELKIND_FOREIGN_TABLE:
            return "a foreign table";
        case RELKIND_SEQUENCE:
            return "a sequence";
        case RELKIND_PARTITIONED_TABLE:
            return "a partitioned table";
        default:
            return "not a table";
    }
}

}  // namespace

void remember_relation(const core::Relation& msg) {
    // Rows already buffered were converted with the old description; write them first.
    flush_pending();
    ensure_relmap();
    uint32 key = msg.relid;
    bool found;
    auto* e = static_cast<detail::RelMapEntry*>(hash_search(relmap, &key, HASH_ENTER, &found));
    if (found) {
        {
            // Only pg_call below: these vectors never see a longjmp.
            std::vector<std::string> before, after;
            for (int i = 0; i < e->nremote; i++) {
                before.emplace_back(e->columns[i].name);
            }
            for (const core::RelationColumn& c : msg.columns) {
                after.push_back(c.name);
            }
            note_relation_columns(e->nspname, e->relname, before, after);
        }
        e->local_valid = false;
        e->nremote = 0;
        MemoryContextDelete(e->cxt);
    }
    e->cxt = AllocSetContextCreate(relmap_cxt, "spock remote relation", ALLOCSET_SMALL_SIZES);
    e->local_cxt = AllocSetContextCreate(e->cxt, "spock local relation", ALLOCSET_SMALL_SIZES);
    e->local_valid = false;
    e->local_relid = InvalidOid;
    e->batch_checked = false;
    e->delta = nullptr;
    MemoryContext old = MemoryContextSwitchTo(e->cxt);
    e->nspname = pstrdup(msg.nspname.c_str());
    e->relname = pstrdup(msg.relname.c_str());
    int n = static_cast<int>(msg.columns.size());
    e->columns =
        static_cast<detail::RemoteColumn*>(palloc0(sizeof(detail::RemoteColumn) * Max(n, 1)));
    e->remote_has_key = false;
    for (int i = 0; i < n; i++) {
        const core::RelationColumn& src = msg.columns[i];
        detail::RemoteColumn* c = &e->columns[i];
        c->name = pstrdup(src.name.c_str());
        c->remote_typid = src.typid;
        c->remote_typmod = src.typmod;
        c->is_key = src.is_key;
        e->remote_has_key |= src.is_key;
    }
    e->nremote = n;
    MemoryContextSwitchTo(old);
}

void forget_relations() {
    flush_pending();
    if (relmap != nullptr) {
        hash_destroy(relmap);
        relmap = nullptr;
        MemoryContextReset(relmap_cxt);
    }
}

namespace detail {

RelMapEntry* find_mapped_relation(core::RelId remoteid) {
    if (relmap == nullptr) {
        return nullptr;
    }
    uint32 key = remoteid;
    return static_cast<RelMapEntry*>(hash_search(relmap, &key, HASH_FIND, nullptr));
}

RelMapEntry* open_mapped_relation(core::RelId remoteid, LOCKMODE lockmode, bool allow_partitioned,
                                  Relation* rel_out) {
    RelMapEntry* e = find_mapped_relation(remoteid);
    if (e == nullptr) {
        ereport(ERROR, (errcode(ERRCODE_PROTOCOL_VIOLATION),
                        errmsg("change for remote relation %u arrived before its RELATION message",
                               remoteid)));
    }
    Relation rel = nullptr;
    if (e->local_valid) {
        // Locking processes pending invalidations, which may reset the mapping.
        rel = try_table_open(e->local_relid, lockmode);
        if (rel != nullptr && !e->local_valid) {
            table_close(rel, lockmode);
            rel = nullptr;
        }
    }
    if (rel == nullptr) {
        RangeVar* rv = makeRangeVar(e->nspname, e->relname, -1);
        rel = table_openrv_extended(rv, lockmode, true);
        if (rel == nullptr) {
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                            errmsg("target relation \"%s.%s\" does not exist on the subscriber",
                                   e->nspname, e->relname),
                            errhint("Create the table on the subscriber with the same schema and "
                                    "name as on the provider.")));
        }
        resolve_local_side(e, rel);
    }
    char relkind = rel->rd_rel->relkind;
    if (relkind != RELKIND_RELATION &&
        !(allow_partitioned && relkind == RELKIND_PARTITIONED_TABLE)) {
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("target relation \"%s.%s\" is %s", e->nspname, e->relname,
                               relkind_noun(relkind)),
                        errdetail("Rows can only be applied to tables; rows of a partitioned table "
                                  "arrive for its partitions.")));
    }
    *rel_out = rel;
    return e;
}

const char* remote_display_name(const RelMapEntry* e) {
    return psprintf("%s.%s", e->nspname, e->relname);
}

}  // namespace detail
}  // namespace spock::apply
