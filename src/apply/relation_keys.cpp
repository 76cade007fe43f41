// The key specs of a remote relation from the local catalog. See relation_keys.hpp.
#include "relation_keys.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "spock/pg/guard.hpp"
#include "spock/pg/xact.hpp"

extern "C" {
#include <access/genam.h>
#include <access/htup_details.h>
#include <access/table.h>
#include <catalog/namespace.h>
#include <catalog/pg_constraint.h>
#include <catalog/pg_index.h>
#include <nodes/pg_list.h>
#include <utils/lsyscache.h>
#include <utils/rel.h>
#include <utils/relcache.h>
#include <utils/syscache.h>
}

namespace spock::apply {
namespace {

// Plain data filled under pg_call (no C++ object may be built where PostgreSQL can longjmp).
constexpr int kMaxSpecs = 64;
struct RawSpec {
    core::KeySpecKind kind;
    Oid space;
    int ncols;  // -1: whole space (no columns)
    int cols[INDEX_MAX_KEYS];
};
struct RawKeys {
    bool keyable;
    bool any_key;  // a unique index or exclusion constraint, valid or not, or a foreign key
    bool plain;    // an ordinary table (not partitioned, not a view or foreign table)
    int nspecs;
    RawSpec specs[kMaxSpecs];
};

// Position of the local column `attnum` of `relid` among the remote columns; -1 when the
// provider does not send it.
int remote_position(const core::Relation& rel, Oid relid, AttrNumber attnum) {
    char* name = get_attname(relid, attnum, false);
    for (std::size_t i = 0; i < rel.columns.size(); ++i) {
        if (strcmp(rel.columns[i].name.c_str(), name) == 0) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

// Adds a spec; false when the table is over kMaxSpecs (then it is not keyable).
RawSpec* new_spec(RawKeys* out, core::KeySpecKind kind, Oid space) {
    if (out->nspecs >= kMaxSpecs) {
        out->keyable = false;
        return nullptr;
    }
    RawSpec* s = &out->specs[out->nspecs++];
    s->kind = kind;
    s->space = space;
    s->ncols = 0;
    return s;
}

void read_unique_indexes(const core::Relation& rel, Relation r, RawKeys* out) {
    Oid lookup = RelationGetReplicaIndex(r);
    if (!OidIsValid(lookup)) {
        lookup = RelationGetPrimaryKeyIndex(r);
    }
    List* indexes = RelationGetIndexList(r);
    ListCell* lc;
    foreach (lc, indexes) {
        Relation ir = index_open(lfirst_oid(lc), AccessShareLock);
        Form_pg_index ix = ir->rd_index;
        out->any_key = out->any_key || ix->indisunique || ix->indisexclusion;
        if (ix->indisexclusion) {
            out->keyable = false;  // conflicts the leader cannot see as equal keys
        } else if (ix->indisunique && ix->indisvalid) {
            RawSpec* s = new_spec(out,
                                  RelationGetRelid(ir) == lookup ? core::KeySpecKind::Identity
                                                                 : core::KeySpecKind::Unique,
                                  RelationGetRelid(ir));
            for (int i = 0; s != nullptr && i < ix->indnkeyatts; ++i) {
                AttrNumber att = ix->indkey.values[i];
                if (att == 0) {
                    out->keyable = false;  // an expression
                    break;
                }
                int pos = remote_position(rel, RelationGetRelid(r), att);
                if (pos < 0) {
                    s->ncols = -1;  // a column the provider does not send: local default
                    break;
                }
                s->cols[s->ncols++] = pos;
            }
        }
        index_close(ir, AccessShareLock);
    }
    list_free(indexes);
}

void read_foreign_keys(const core::Relation& rel, Relation r, RawKeys* out) {
    List* fks = RelationGetFKeyList(r);
    out->any_key = out->any_key || fks != NIL;
    ListCell* lc;
    foreach (lc, fks) {
        auto* fk = static_cast<ForeignKeyCacheInfo*>(lfirst(lc));
        HeapTuple tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(fk->conoid));
        if (!HeapTupleIsValid(tup)) {
            continue;
        }
        Oid conindid = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tup))->conindid;
        ReleaseSysCache(tup);
        if (!OidIsValid(conindid)) {
            out->keyable = false;
            continue;
        }
        RawSpec* s = new_spec(out, core::KeySpecKind::Reference, conindid);
        if (s == nullptr) {
            break;
        }
        Relation ir = index_open(conindid, AccessShareLock);
        Form_pg_index ix = ir->rd_index;
        // The child's columns in the order of the parent index's key columns.
        for (int i = 0; i < ix->indnkeyatts && s->ncols >= 0; ++i) {
            AttrNumber parent_att = ix->indkey.values[i];
            int k = 0;
            while (k < fk->nkeys && fk->confkey[k] != parent_att) {
                ++k;
            }
            if (k == fk->nkeys) {
                s->ncols = -1;
                break;
            }
            AttrNumber child_att = fk->conkey[k];
            if (get_atttype(RelationGetRelid(r), child_att) !=
                get_atttype(fk->confrelid, parent_att)) {
                s->ncols = -1;  // may be sent in another form than the parent's key
                break;
            }
            int pos = remote_position(rel, RelationGetRelid(r), child_att);
            if (pos < 0) {
                s->ncols = -1;
                break;
            }
            s->cols[s->ncols++] = pos;
        }
        index_close(ir, AccessShareLock);
    }
}

void read_keys(const core::Relation& rel, RawKeys* out) {
    out->keyable = false;
    out->any_key = false;
    out->plain = false;
    out->nspecs = 0;
    Oid nsp = get_namespace_oid(rel.nspname.c_str(), true);
    Oid relid = OidIsValid(nsp) ? get_relname_relid(rel.relname.c_str(), nsp) : InvalidOid;
    if (!OidIsValid(relid)) {
        return;
    }
    Relation r = table_open(relid, AccessShareLock);
    out->keyable = true;
    out->plain = r->rd_rel->relkind == RELKIND_RELATION;
    read_unique_indexes(rel, r, out);
    read_foreign_keys(rel, r, out);
    table_close(r, AccessShareLock);
}

}  // namespace

core::RelationKeys relation_keys(const core::Relation& rel) {
    core::RelationKeys keys;
    keys.identity = core::identity_columns(rel);
    keys.old_tuple_full =
        !keys.identity.empty() &&
        std::all_of(keys.identity.begin(), keys.identity.end(), [](bool b) { return b; });
    if (rel.nspname == "spock") {
        return keys;  // spock.queue and the like: applied by the leader
    }
    auto owned = std::make_unique<RawKeys>();
    RawKeys* raw = owned.get();
    pg::begin_xact();
    try {
        pg::pg_call([&rel, raw] { read_keys(rel, raw); });
    } catch (...) {
        pg::abort_xact();
        throw;
    }
    pg::commit_xact();
    bool identity_found = false;
    for (int i = 0; i < raw->nspecs; ++i) {
        const RawSpec& s = raw->specs[i];
        core::KeySpec spec;
        spec.kind = s.kind;
        spec.space = s.space;
        for (int c = 0; c < s.ncols; ++c) {
            spec.columns.push_back(static_cast<std::uint16_t>(s.cols[c]));
        }
        identity_found = identity_found || s.kind == core::KeySpecKind::Identity;
        keys.specs.push_back(std::move(spec));
    }
    // Without an index to find rows by, apply scans for them: nothing to key on.
    keys.keyable = raw->keyable && identity_found;
    // No key at all: inserts commute with each other (updates and deletes stay barriers).
    keys.inserts_commute = raw->plain && raw->keyable && !raw->any_key && raw->nspecs == 0;
    return keys;
}

}  // namespace spock::apply
