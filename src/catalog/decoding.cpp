#include "spock/catalog/decoding.hpp"

#include "spock/core/origin_names.hpp"

extern "C" {
#include <access/genam.h>
#include <access/htup_details.h>
#include <access/table.h>
#include <catalog/namespace.h>
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

void read_publication(Oid relid, const SetInfo* sets, int nsets, Publication* pub) {
    memset(pub, 0, sizeof *pub);
    Oid rst = replication_set_table_relid();
    if (!OidIsValid(rst) || nsets == 0) {
        return;
    }
    Relation rel = table_open(rst, AccessShareLock);
    AttrNumber c_set = column(rel, "set_id");
    AttrNumber c_rel = column(rel, "set_reloid");
    AttrNumber c_atts = column(rel, "set_att_list");
    AttrNumber c_filter = column(rel, "set_row_filter");
    bool all_columns = false;
    SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
        bool isnull;
        if (DatumGetObjectId(get(tuple, rel, c_rel, &isnull)) != relid) {
            continue;
        }
        Oid set_id = DatumGetObjectId(get(tuple, rel, c_set, &isnull));
        const SetInfo* set = nullptr;
        for (int i = 0; i < nsets; i++) {
            if (sets[i].set_id == set_id) {
                set = &sets[i];
            }
        }
        if (set == nullptr) {
            continue;
        }
        pub->member = true;
        pub->replicate_insert |= set->replicate_insert;
        pub->replicate_update |= set->replicate_update;
        pub->replicate_delete |= set->replicate_delete;
        pub->replicate_truncate |= set->replicate_truncate;

        // A set without a column list publishes every column, so it wins over any list
        // (Spock keeps only the union of the lists, reference §14 item 11).
        Datum atts = get(tuple, rel, c_atts, &isnull);
        if (isnull) {
            all_columns = true;
        } else {
            Datum* elems;
            bool* nulls;
            int n;
            deconstruct_array(DatumGetArrayTypeP(atts), TEXTOID, -1, false, TYPALIGN_INT, &elems,
                              &nulls, &n);
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

        Datum filter = get(tuple, rel, c_filter, &isnull);
        if (!isnull) {
            pub->row_filters = lappend(pub->row_filters, stringToNode(TextDatumGetCString(filter)));
        }
    }
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
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
    // changes the provider forwarded (include/spock/catalog/origins.hpp).
    Relation rel = table_open(relid, AccessShareLock);
    AttrNumber c_slot = column(rel, "sub_slot_name");
    AttrNumber c_origin = column(rel, "sub_origin");
    Oid node = InvalidOid;
    SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
        bool isnull;
        const char* slot = NameStr(*DatumGetName(get(tuple, rel, c_slot, &isnull)));
        if (strcmp(slot, origin_name) == 0) {
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
