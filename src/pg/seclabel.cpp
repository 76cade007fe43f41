#include "spock/pg/seclabel.hpp"

#include "spock/core/delta_rule.hpp"
#include "spock/pg/guard.hpp"

extern "C" {
#include <access/genam.h>
#include <access/htup_details.h>
#include <access/relation.h>
#include <access/table.h>
#include <catalog/indexing.h>
#include <catalog/objectaddress.h>
#include <catalog/partition.h>
#include <catalog/pg_inherits.h>
#include <catalog/pg_class.h>
#include <catalog/pg_namespace.h>
#include <catalog/pg_seclabel.h>
#include <catalog/pg_type.h>
#include <commands/seclabel.h>
#include <nodes/pg_list.h>
#include <utils/builtins.h>
#include <utils/fmgroids.h>
#include <utils/inval.h>
#include <utils/lsyscache.h>
#include <utils/rel.h>
#include <utils/syscache.h>
}

namespace spock::pg {
namespace {

constexpr const char* kProvider = "spock";

const char* object_noun(const ObjectAddress* object) {
    return getObjectDescription(object, true) != nullptr ? getObjectDescription(object, true)
                                                         : "this object";
}

void check_column(const ObjectAddress* object) {
    Relation rel = relation_open(object->objectId, AccessShareLock);
    char relkind = rel->rd_rel->relkind;
    const char* relname = RelationGetRelationName(rel);
    if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE) {
        ereport(ERROR,
                (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                 errmsg("security label \"%s\" cannot be set on a column of \"%s\"",
                        core::kDeltaApplyLabel.data(), relname),
                 errdetail("\"%s\" is not a table.", relname),
                 errhint("Delta-apply columns must belong to an ordinary or partitioned table.")));
    }
    AttrNumber attnum = static_cast<AttrNumber>(object->objectSubId);
    TupleDesc desc = RelationGetDescr(rel);
    if (attnum <= 0 || attnum > desc->natts || TupleDescAttr(desc, attnum - 1)->attisdropped) {
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                        errmsg("column %d of relation \"%s\" does not exist", attnum, relname)));
    }
    Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
    if (!is_delta_column_type(att->atttypid)) {
        ereport(ERROR,
                (errcode(ERRCODE_DATATYPE_MISMATCH),
                 errmsg("column \"%s\" of relation \"%s\" cannot be a delta-apply column",
                        NameStr(att->attname), relname),
                 errdetail("Its type is %s.", format_type_be(att->atttypid)),
                 errhint("Delta apply works on columns of type %s.", core::delta_type_list())));
    }
    if (rel->rd_rel->relreplident != REPLICA_IDENTITY_FULL) {
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("relation \"%s\" needs REPLICA IDENTITY FULL for delta-apply column \"%s\"",
                        relname, NameStr(att->attname)),
                 errdetail("Delta apply computes local + (new - old) and takes the old value "
                           "from the old row that REPLICA IDENTITY FULL writes to the WAL."),
                 errhint("Run ALTER TABLE %s REPLICA IDENTITY FULL on every node first.",
                         quote_identifier(relname))));
    }
    relation_close(rel, AccessShareLock);
}

// check_object_label hook: runs before pg_seclabel is changed, in the same transaction.
void check_label(const ObjectAddress* object, const char* seclabel) {
    guarded([&] {
        if (object->classId != RelationRelationId || object->objectSubId == 0) {
            ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                            errmsg("security label provider \"spock\" labels only table columns"),
                            errdetail("%s cannot carry a spock label.", object_noun(object)),
                            errhint("Use SECURITY LABEL FOR spock ON COLUMN table.column IS '%s'.",
                                    core::kDeltaApplyLabel.data())));
        }
        if (seclabel == nullptr) {
            // Removing the label is always allowed.
        } else if (!core::is_delta_apply_label(seclabel)) {
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("invalid security label \"%s\" for provider \"spock\"", seclabel),
                     errdetail("The only label provider spock knows is '%s'.",
                               core::kDeltaApplyLabel.data()),
                     errhint("Use IS '%s' to make the column a delta-apply column, or IS NULL "
                             "to remove the label.",
                             core::kDeltaApplyLabel.data())));
        } else {
            check_column(object);
        }
        // pg_seclabel changes invalidate no relcache entry by themselves; the output plugin and
        // the apply worker cache delta columns per relation (partitions included: they inherit
        // their parent's labels) and must see the change.
        List* rels = find_all_inheritors(object->objectId, NoLock, nullptr);
        ListCell* lc;
        foreach (lc, rels) {
            CacheInvalidateRelcacheByRelid(lfirst_oid(lc));
        }
        list_free(rels);
    });
}

// Marks the delta-apply columns labelled on `labelled` into the flags of `rel` (which is
// `labelled` itself or one of its partitions), by column name.
bool mark_labels_of(Oid labelled, Relation rel, bool* delta) {
    bool any = false;
    Relation seclabel = table_open(SecLabelRelationId, AccessShareLock);
    ScanKeyData keys[2];
    ScanKeyInit(&keys[0], Anum_pg_seclabel_objoid, BTEqualStrategyNumber, F_OIDEQ,
                ObjectIdGetDatum(labelled));
    ScanKeyInit(&keys[1], Anum_pg_seclabel_classoid, BTEqualStrategyNumber, F_OIDEQ,
                ObjectIdGetDatum(RelationRelationId));
    SysScanDesc scan = systable_beginscan(seclabel, SecLabelObjectIndexId, true, nullptr, 2, keys);
    HeapTuple tup;
    TupleDesc desc = RelationGetDescr(seclabel);
    while (HeapTupleIsValid(tup = systable_getnext(scan))) {
        auto* form = reinterpret_cast<FormData_pg_seclabel*>(GETSTRUCT(tup));
        if (form->objsubid <= 0) {
            continue;
        }
        bool isnull;
        Datum provider = heap_getattr(tup, Anum_pg_seclabel_provider, desc, &isnull);
        if (isnull || strcmp(TextDatumGetCString(provider), kProvider) != 0) {
            continue;
        }
        Datum label = heap_getattr(tup, Anum_pg_seclabel_label, desc, &isnull);
        if (isnull || !core::is_delta_apply_label(TextDatumGetCString(label))) {
            continue;
        }
        AttrNumber attnum = static_cast<AttrNumber>(form->objsubid);
        if (labelled != RelationGetRelid(rel)) {
            char* name = get_attname(labelled, attnum, true);
            attnum = name != nullptr ? get_attnum(RelationGetRelid(rel), name) : InvalidAttrNumber;
        }
        if (attnum > 0 && attnum <= RelationGetDescr(rel)->natts &&
            !TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attisdropped) {
            delta[attnum - 1] = true;
            any = true;
        }
    }
    systable_endscan(scan);
    table_close(seclabel, AccessShareLock);
    return any;
}

}  // namespace

bool is_delta_column_type(Oid typid) {
    HeapTuple tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
    if (!HeapTupleIsValid(tup)) {
        return false;
    }
    auto* t = reinterpret_cast<Form_pg_type>(GETSTRUCT(tup));
    bool ok = t->typnamespace == PG_CATALOG_NAMESPACE && t->typtype == TYPTYPE_BASE &&
              core::is_delta_type_name(NameStr(t->typname));
    ReleaseSysCache(tup);
    return ok;
}

void register_spock_label_provider() {
    register_label_provider(kProvider, check_label);
}

bool read_delta_columns(Relation rel, bool* delta) {
    memset(delta, 0, sizeof(bool) * RelationGetDescr(rel)->natts);
    bool any = mark_labels_of(RelationGetRelid(rel), rel, delta);
    if (rel->rd_rel->relispartition) {
        List* ancestors = get_partition_ancestors(RelationGetRelid(rel));
        ListCell* lc;
        foreach (lc, ancestors) {
            any |= mark_labels_of(lfirst_oid(lc), rel, delta);
        }
        list_free(ancestors);
    }
    return any;
}

}  // namespace spock::pg
