#include "spock/output/delta_columns.hpp"

#include "spock/pg/seclabel.hpp"

extern "C" {
#include <catalog/pg_class.h>
#include <utils/lsyscache.h>
#include <utils/rel.h>
}

namespace spock::output {

void warn_unlogged_delta_columns(Relation rel) {
    if (rel->rd_rel->relreplident == REPLICA_IDENTITY_FULL) {
        return;
    }
    int natts = RelationGetDescr(rel)->natts;
    auto* delta = static_cast<bool*>(palloc0(sizeof(bool) * (natts + 1)));
    bool any = pg::read_delta_columns(rel, delta);
    pfree(delta);
    if (!any) {
        return;
    }
    ereport(WARNING,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("delta-apply columns of relation \"%s.%s\" are sent without their old value",
                    get_namespace_name(RelationGetNamespace(rel)), RelationGetRelationName(rel)),
             errdetail("The relation's replica identity is not FULL, so the WAL does not hold "
                       "the old values; subscribers apply the new values as for plain columns."),
             errhint("Run ALTER TABLE %s REPLICA IDENTITY FULL to restore delta apply for later "
                     "changes.",
                     RelationGetRelationName(rel))));
}

}  // namespace spock::output
