#include "spock/catalog/decoding.hpp"

#include "spock/core/origin_names.hpp"
#include "spock/core/partition_membership.hpp"

extern "C" {
#include <access/genam.h>
#include <access/htup_details.h>
#include <access/table.h>
#include <catalog/namespace.h>
#include <catalog/partition.h>
#include <nodes/nodes.h>
#include <utils/array.h>
#include <utils/builtins.h>
#include <utils/lsyscache.h>
#include <utils/rel.h>
}

namespace spock::catalog {
namespace {

Oid spock_table(const char* name) {
    Oid nsp = get_namespace_oid("spock", true);
    if (!OidIsValid(nsp)) {
        return InvalidOid;
    }
    return get_relname_relid(name, nsp);
}

// Column numbers are looked up by name, so a column order change in a later catalog version
// cannot silently read the wrong column.
AttrNumber column(Relation rel, const char* name) {
    AttrNumber n = get_attnum(RelationGetRelid(rel), name);
    if (n == InvalidAttrNumber) {
        elog(ERROR, "spock catalog table \"%s\" has no column \"%s\"", RelationGetRelationName(rel),
             name);
    }
    return n;
}

Datum get(HeapTuple tuple, Relation rel, AttrNumber attnum, bool* isnull) {
    return heap_getattr(tuple, attnum, RelationGetDescr(rel), isnull);
}

bool name_in_list(const char* name, List* names) {
    ListCell* lc;
    foreach (lc, names) {
        if (strcmp(name, static_cast<const char*>(lfirst(lc))) == 0) {
            return true;
        }
    }
    return false;
}

}  // namespace

Oid queue_relid() {
    return spock_table("queue");
}
Oid replication_set_relid() {
    return spock_table("replication_set");
}
Oid replication_set_table_relid() {
    return spock_table("replication_set_table");
}
Oid partition_exclusion_relid() {
    return spock_table("replication_set_partition_exclusion");
}

Oid read_local_node_id() {
    Oid relid = spock_table("local_node");
    if (!OidIsValid(relid)) {
        return InvalidOid;
    }
    Relation rel = table_open(relid, AccessShareLock);
    AttrNumber node_col = column(rel, "node_id");
    SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
    Oid node = InvalidOid;
    HeapTuple tuple = systable_getnext(scan);
    if (HeapTupleIsValid(tuple)) {
        bool isnull;
        node = DatumGetObjectId(get(tuple, rel, node_col, &isnull));
    }
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return node;
}

SetInfo* read_sets(Oid node_id, List* names, bool warn_missing, int* nsets) {
    *nsets = 0;
    SetInfo* sets = static_cast<SetInfo*>(palloc0(sizeof(SetInfo) * (list_length(names) + 1)));
    Oid relid = replication_set_relid();
    if (!OidIsValid(relid)) {
        return sets;
    }
    Relation rel = table_open(relid, AccessShareLock);
    AttrNumber c_id = column(rel, "set_id");
    AttrNumber c_node = column(rel, "set_nodeid");
    AttrNumber c_name = column(rel, "set_name");
    AttrNumber c_ins = column(rel, "replicate_insert");
    AttrNumber c_upd = column(rel, "replicate_update");
    AttrNumber c_del = column(rel, "replicate_delete");
    AttrNumber c_trunc = column(rel, "replicate_truncate");
    List* found = NIL;
    SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
        bool isnull;
        if (DatumGetObjectId(get(tuple, rel, c_node, &isnull)) != node_id) {
            continue;
        }
        const char* name = NameStr(*DatumGetName(get(tuple, rel, c_name, &isnull)));
        if (!name_in_list(name, names)) {
            continue;
        }
        SetInfo& s = sets[(*nsets)++];
        s.set_id = DatumGetObjectId(get(tuple, rel, c_id, &isnull));
        s.replicate_insert = DatumGetBool(get(tuple, rel, c_ins, &isnull));
        s.replicate_update = DatumGetBool(get(tuple, rel, c_upd, &isnull));
        s.replicate_delete = DatumGetBool(get(tuple, rel, c_del, &isnull));
        s.replicate_truncate = DatumGetBool(get(tuple, rel, c_trunc, &isnull));
        found = lappend(found, pstrdup(name));
    }
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    ListCell* lc;
    foreach (lc, names) {
        const char* name = static_cast<const char*>(lfirst(lc));
        if (warn_missing && !name_in_list(name, found)) {
            ereport(WARNING, (errcode(ERRCODE_UNDEFINED_OBJECT),
                              errmsg("replication set \"%s\" requested by the subscriber does "
                                     "not exist on this node",
                                     name),
                              errdetail("Changes are sent only for the sets that exist.")));
        }
    }
    return sets;
}

namespace {

// One replication_set_table row that may decide a relation's membership: the relation's own
// (level -1) or that of ancestor `level` (0 = the direct parent).
struct CandidateRow {
    int set_index;
    int level;
    Datum atts;  // copied text[]; 0 when NULL (every column)
    char* filter;
};

int ancestor_level(Oid reloid, List* ancestors) {
    int level = 0;
    ListCell* lc;
    foreach (lc, ancestors) {
        if (lfirst_oid(lc) == reloid) {
            return level;
        }
        level++;
    }
    return -2;
}

int set_index_of(Oid set_id, const SetInfo* sets, int nsets) {
    for (int i = 0; i < nsets; i++) {
        if (sets[i].set_id == set_id) {
            return i;
        }
    }
    return -1;
}

// Rows of `relid` and its ancestors in the given sets.
List* read_candidate_rows(Oid relid, List* ancestors, const SetInfo* sets, int nsets) {
    List* rows = NIL;
    Relation rel = table_open(replication_set_table_relid(), AccessShareLock);
    AttrNumber c_set = column(rel, "set_id");
    AttrNumber c_rel = column(rel, "set_reloid");
    AttrNumber c_atts = column(rel, "set_att_list");
    AttrNumber c_filter = column(rel, "set_row_filter");
    SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
        bool isnull;
        Oid reloid = DatumGetObjectId(get(tuple, rel, c_rel, &isnull));
        int level = reloid == relid ? -1 : ancestor_level(reloid, ancestors);
        if (level == -2) {
            continue;
        }
        int set_index =
            set_index_of(DatumGetObjectId(get(tuple, rel, c_set, &isnull)), sets, nsets);
        if (set_index < 0) {
            continue;
        }
        auto* row = static_cast<CandidateRow*>(palloc0(sizeof(CandidateRow)));
        row->set_index = set_index;
        row->level = level;
        Datum atts = get(tuple, rel, c_atts, &isnull);
        row->atts = isnull ? (Datum)0 : PointerGetDatum(DatumGetArrayTypePCopy(atts));
        Datum filter = get(tuple, rel, c_filter, &isnull);
        row->filter = isnull ? nullptr : TextDatumGetCString(filter);
        rows = lappend(rows, row);
    }
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return rows;
}

// Marks the sets from which repset_remove_partition excluded `relid`.
void read_exclusions(Oid relid, const SetInfo* sets, int nsets, bool* excluded) {
    Oid relid_excl = partition_exclusion_relid();
    if (!OidIsValid(relid_excl)) {
        return;
    }
    Relation rel = table_open(relid_excl, AccessShareLock);
    AttrNumber c_set = column(rel, "set_id");
    AttrNumber c_rel = column(rel, "set_reloid");
    SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
        bool isnull;
        if (DatumGetObjectId(get(tuple, rel, c_rel, &isnull)) != relid) {
            continue;
        }
        int i = set_index_of(DatumGetObjectId(get(tuple, rel, c_set, &isnull)), sets, nsets);
        if (i >= 0) {
            excluded[i] = true;
        }
    }
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
}

// The filter of an ancestor's row, with its columns renumbered for the partition (which may
// number them differently: dropped columns, or a table attached with another column order).
Node* filter_for(Oid relid, Oid row_reloid, const char* text) {
    Node* filter = static_cast<Node*>(stringToNode(text));
    if (row_reloid == relid) {
        return filter;
    }
    Relation part = RelationIdGetRelation(relid);
    Relation anc = RelationIdGetRelation(row_reloid);
    if (!RelationIsValid(part) || !RelationIsValid(anc)) {
        elog(ERROR, "could not open relation %u or its ancestor %u", relid, row_reloid);
    }
    List* mapped = map_partition_varattnos(list_make1(filter), 1, part, anc);
    RelationClose(anc);
    RelationClose(part);
    return static_cast<Node*>(linitial(mapped));
}

}  // namespace

void read_publication(Oid relid, const SetInfo* sets, int nsets, Publication* pub) {
    memset(pub, 0, sizeof *pub);
    if (!OidIsValid(replication_set_table_relid()) || nsets == 0) {
        return;
    }
    // Read under the historic snapshot: an ATTACH or DETACH counts from the point of the
    // stream where it committed.
    List* ancestors = get_rel_relispartition(relid) ? get_partition_ancestors(relid) : NIL;
    int nanc = list_length(ancestors);
    List* rows = read_candidate_rows(relid, ancestors, sets, nsets);
    bool* excluded = static_cast<bool*>(palloc0(sizeof(bool) * nsets));
    if (nanc > 0) {
        read_exclusions(relid, sets, nsets, excluded);
    }
    bool* has_row = static_cast<bool*>(palloc0(sizeof(bool) * (nanc + 1)));
    bool all_columns = false;
    for (int s = 0; s < nsets; s++) {
        bool own = false;
        memset(has_row, 0, sizeof(bool) * (nanc + 1));
        ListCell* lc;
        foreach (lc, rows) {
            auto* row = static_cast<CandidateRow*>(lfirst(lc));
            if (row->set_index != s) {
                continue;
            }
            if (row->level < 0) {
                own = true;
            } else {
                has_row[row->level] = true;
            }
        }
        core::MembershipChoice choice =
            core::choose_membership(own, excluded[s], has_row, static_cast<std::size_t>(nanc));
        if (choice.source == core::MemberSource::None) {
            continue;
        }
        int level =
            choice.source == core::MemberSource::Own ? -1 : static_cast<int>(choice.ancestor);
        Oid row_reloid = level < 0 ? relid : list_nth_oid(ancestors, level);
        const CandidateRow* chosen = nullptr;
        foreach (lc, rows) {
            auto* row = static_cast<CandidateRow*>(lfirst(lc));
            if (row->set_index == s && row->level == level) {
                chosen = row;
            }
        }
        const SetInfo* set = &sets[s];
        pub->member = true;
        pub->replicate_insert |= set->replicate_insert;
        pub->replicate_update |= set->replicate_update;
        pub->replicate_delete |= set->replicate_delete;
        pub->replicate_truncate |= set->replicate_truncate;

        // A set without a column list publishes every column, so it wins over any list
        // (Spock keeps only the union of the lists, reference §14 item 11). Lists hold names,
        // so an ancestor's list applies to the partition as it is.
        if (chosen->atts == (Datum)0) {
            all_columns = true;
        } else {
            Datum* elems;
            bool* nulls;
            int n;
            deconstruct_array(DatumGetArrayTypeP(chosen->atts), TEXTOID, -1, false, TYPALIGN_INT,
                              &elems, &nulls, &n);
            for (int i = 0; i < n; i++) {
                if (nulls[i]) {
                    continue;
                }
                char* name = TextDatumGetCString(elems[i]);
                AttrNumber attnum = get_attnum(relid, name);
                if (attnum != InvalidAttrNumber) {
                    pub->columns = bms_add_member(pub->columns, attnum);
                }
            }
        }
        if (chosen->filter != nullptr) {
            pub->row_filters =
                lappend(pub->row_filters, filter_for(relid, row_reloid, chosen->filter));
        }
    }
    if (all_columns) {
        bms_free(pub->columns);
        pub->columns = nullptr;
    }
}

Oid origin_node_for(const char* origin_name) {
    Oid relid = spock_table("subscription");
    if (!OidIsValid(relid)) {
        return InvalidOid;
    }
    // "<slot>" stands for the subscription's provider; "<slot>:n<id>" for node <id>, whose
    // changes the provider forwarded (include/spock/catalog/origins.hpp); a ":w<K>" suffix
    // (parallel apply process K) names the same node.
    Relation rel = table_open(relid, AccessShareLock);
    AttrNumber c_slot = column(rel, "sub_slot_name");
    AttrNumber c_origin = column(rel, "sub_origin");
    Oid node = InvalidOid;
    SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
        bool isnull;
        const char* slot = NameStr(*DatumGetName(get(tuple, rel, c_slot, &isnull)));
        if (core::without_worker_suffix(origin_name) == slot) {
            node = DatumGetObjectId(get(tuple, rel, c_origin, &isnull));
            break;
        }
        auto id = core::forwarded_origin_node(slot, origin_name);
        if (id && *id <= PG_UINT16_MAX) {
            node = static_cast<Oid>(*id);
            break;
        }
    }
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return node;
}

}  // namespace spock::catalog
