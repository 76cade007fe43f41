// What the output plugin reads from spock's own catalog while decoding. The tables are user
// catalog tables, so these reads see the catalog as of the change being decoded (the historic
// snapshot), which is what makes a set change apply from exactly the right transaction on.
//
// Plain PostgreSQL code: these functions own no C++ objects and may raise ERROR directly;
// callers run them under the callback's guard.
#pragma once

#include "spock/pg/postgres.hpp"

extern "C" {
#include <nodes/bitmapset.h>
#include <nodes/pg_list.h>
}

namespace spock::catalog {

// One of the subscriber's replication sets, resolved on this node.
struct SetInfo {
    Oid set_id;
    bool replicate_insert;
    bool replicate_update;
    bool replicate_delete;
    bool replicate_truncate;
};

// How a relation is published to this subscriber.
struct Publication {
    bool member;            // in at least one of the subscriber's sets
    bool replicate_insert;  // ORed over those sets
    bool replicate_update;
    bool replicate_delete;
    bool replicate_truncate;
    Bitmapset* columns;  // attnums; nullptr means every column
    List* row_filters;   // Node* expressions, all of which must pass
};

// The local node's id, or InvalidOid when this database has no spock node.
Oid read_local_node_id();

// Resolves the subscriber's set names (List of char*) to sets of node `node_id`. Names that do
// not exist are skipped, and reported with a WARNING when `warn_missing` is set. Returns a
// palloc'd array of *nsets.
SetInfo* read_sets(Oid node_id, List* names, bool warn_missing, int* nsets);

// Fills `pub` for relation `relid` from replication_set_table, for the given sets. A partition
// without a row of its own in a set takes its nearest ancestor's row, unless
// replication_set_partition_exclusion excludes it from that set (core/partition_membership.hpp).
void read_publication(Oid relid, const SetInfo* sets, int nsets, Publication* pub);

// The provider node id of the subscription whose origin (slot) is named `origin_name`, or
// InvalidOid when no subscription uses that name.
Oid origin_node_for(const char* origin_name);

// OIDs of spock's queue, replication_set, replication_set_table and partition exclusion tables
// (InvalidOid without the extension).
Oid queue_relid();
Oid replication_set_relid();
Oid replication_set_table_relid();
Oid partition_exclusion_relid();

}  // namespace spock::catalog
