#include "spock/output/plugin_state.hpp"
#include "spock/output/delta_columns.hpp"

#include <new>

extern "C" {
#include <catalog/pg_type.h>
#include <replication/logical.h>
#include <utils/inval.h>
#include <utils/lsyscache.h>
#include <utils/memutils.h>
#include <utils/rel.h>
#include <utils/syscache.h>
}

namespace spock::output {
namespace {

PluginState* active = nullptr;
bool callback_registered = false;

void destroy_state(void* arg) {
    auto* st = static_cast<PluginState*>(arg);
    if (active == st) {
        active = nullptr;
    }
    delete st;  // noexcept: frees the buffer only
}

// Relcache invalidation: forget what we know about the relation (or all of them), so that
// publication and columns are re-read and a RELATION message is sent again before its next
// change. Must not allocate or raise errors.
void invalidate_relation(Datum, Oid relid) {
    PluginState* st = active;
    if (st == nullptr || st->rels == nullptr) {
        return;
    }
    if (relid == InvalidOid) {
        HASH_SEQ_STATUS seq;
        hash_seq_init(&seq, st->rels);
        RelEntry* e;
        while ((e = static_cast<RelEntry*>(hash_seq_search(&seq))) != nullptr) {
            e->valid = false;
            e->meta_sent = false;
            list_free(e->streamed_xids);  // frees only
            e->streamed_xids = NIL;
        }
        st->sets_valid = false;
        return;
    }
    auto* e = static_cast<RelEntry*>(hash_search(st->rels, &relid, HASH_FIND, nullptr));
    if (e != nullptr) {
        e->valid = false;
        e->meta_sent = false;
        list_free(e->streamed_xids);
        e->streamed_xids = NIL;
        if (e->is_set_catalog) {
            st->sets_valid = false;
        }
    }
}

bool is_array_type(Form_pg_type t) {
    return t->typcategory == TYPCATEGORY_ARRAY;
}

// The column format of reference §5.3: internal for built-in scalar base types when the
// subscriber can take our binary layout, send/receive when both sides share the type, text
// otherwise.
char choose_format(PluginState* st, Oid typid, FmgrInfo* out, MemoryContext cxt) {
    HeapTuple tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
    if (!HeapTupleIsValid(tup)) {
        elog(ERROR, "cache lookup failed for type %u", typid);
    }
    auto* t = reinterpret_cast<Form_pg_type>(GETSTRUCT(tup));
    bool builtin = typid < FirstNormalObjectId;
    char format;
    if (st->allow_internal && builtin && t->typtype == TYPTYPE_BASE && t->typelem == InvalidOid) {
        format = 'i';
    } else if (st->allow_binary && OidIsValid(t->typreceive) && OidIsValid(t->typsend) &&
               (builtin || (t->typtype != TYPTYPE_COMPOSITE && !is_array_type(t)))) {
        format = 'b';
        fmgr_info_cxt(t->typsend, out, cxt);
    } else {
        format = 't';
        fmgr_info_cxt(t->typoutput, out, cxt);
    }
    ReleaseSysCache(tup);
    return format;
}

void load_entry(PluginState* st, RelEntry* e, Relation rel) {
    // Everything an entry owns (formats, functions, the publication with its filter trees)
    // lives in the entry's own context, so a reload frees all of it.
    if (e->cxt == nullptr) {
        e->cxt = AllocSetContextCreate(st->cxt, "spock output relation", ALLOCSET_SMALL_SIZES);
    } else {
        MemoryContextReset(e->cxt);
    }
    MemoryContext old = MemoryContextSwitchTo(e->cxt);
    e->formats = nullptr;
    e->out_funcs = nullptr;
    memset(&e->pub, 0, sizeof e->pub);

    Oid relid = RelationGetRelid(rel);
    e->is_queue = relid == catalog::queue_relid();
    e->is_set_catalog = relid == catalog::replication_set_relid() ||
                        relid == catalog::replication_set_table_relid() ||
                        relid == catalog::partition_exclusion_relid();
    if (st->only_relname != nullptr) {
        // Catch-up of one table during sync: repsets do not apply (reference §5.4 item 3).
        bool match = strcmp(RelationGetRelationName(rel), st->only_relname) == 0 &&
                     strcmp(get_namespace_name(RelationGetNamespace(rel)), st->only_nspname) == 0;
        e->pub.member = match;
        e->pub.replicate_insert = e->pub.replicate_update = e->pub.replicate_delete =
            e->pub.replicate_truncate = match;
    } else if (e->is_queue) {
        e->pub.member = true;
        e->pub.replicate_insert = true;
    } else if (!e->is_set_catalog) {
        catalog::read_publication(relid, st->sets, st->nsets, &e->pub);
    }

    TupleDesc desc = RelationGetDescr(rel);
    e->natts = desc->natts;
    e->formats = static_cast<char*>(palloc0(desc->natts + 1));
    e->out_funcs = static_cast<FmgrInfo*>(palloc0(sizeof(FmgrInfo) * (desc->natts + 1)));
    if (e->pub.member) {
        for (int i = 0; i < desc->natts; i++) {
            Form_pg_attribute att = TupleDescAttr(desc, i);
            if (att->attisdropped ||
                (e->pub.columns != nullptr && !bms_is_member(att->attnum, e->pub.columns))) {
                continue;
            }
            e->formats[i] = choose_format(st, att->atttypid, &e->out_funcs[i], e->cxt);
        }
        warn_unlogged_delta_columns(rel);
    }
    e->valid = true;
    MemoryContextSwitchTo(old);
}

}  // namespace

PluginState* current_state() {
    return active;
}

PluginState* create_state(LogicalDecodingContext* ctx) {
    auto* st = new PluginState();
    st->cxt = ctx->context;
    st->change_cxt =
        AllocSetContextCreate(ctx->context, "spock output change", ALLOCSET_DEFAULT_SIZES);
    MemoryContextCallback* cb = static_cast<MemoryContextCallback*>(
        MemoryContextAllocZero(ctx->context, sizeof(MemoryContextCallback)));
    cb->func = destroy_state;
    cb->arg = st;
    MemoryContextRegisterResetCallback(ctx->context, cb);

    HASHCTL info;
    memset(&info, 0, sizeof info);
    info.keysize = sizeof(Oid);
    info.entrysize = sizeof(RelEntry);
    info.hcxt = ctx->context;
    st->rels =
        hash_create("spock output relations", 128, &info, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
    active = st;
    ctx->output_plugin_private = st;
    return st;
}

void register_invalidation_callback() {
    if (!callback_registered) {
        CacheRegisterRelcacheCallback(invalidate_relation, (Datum)0);
        callback_registered = true;
    }
}

RelEntry* get_rel_entry(PluginState* st, Relation rel) {
    if (!st->sets_valid) {
        MemoryContext old = MemoryContextSwitchTo(st->cxt);
        if (st->sets != nullptr) {
            pfree(st->sets);
        }
        // Under the historic snapshot a set may not exist yet; startup reported the names
        // that do not exist at all.
        st->sets = catalog::read_sets(st->local_node, st->set_names, false, &st->nsets);
        st->sets_valid = true;
        MemoryContextSwitchTo(old);
        // Every publication depends on the sets.
        HASH_SEQ_STATUS seq;
        hash_seq_init(&seq, st->rels);
        RelEntry* e;
        while ((e = static_cast<RelEntry*>(hash_seq_search(&seq))) != nullptr) {
            e->valid = false;
            e->meta_sent = false;
            list_free(e->streamed_xids);
            e->streamed_xids = NIL;
        }
    }
    Oid relid = RelationGetRelid(rel);
    bool found;
    auto* e = static_cast<RelEntry*>(hash_search(st->rels, &relid, HASH_ENTER, &found));
    if (!found) {
        memset(reinterpret_cast<char*>(e) + sizeof(Oid), 0, sizeof(RelEntry) - sizeof(Oid));
    }
    if (!e->valid) {
        load_entry(st, e, rel);
    }
    return e;
}

}  // namespace spock::output
