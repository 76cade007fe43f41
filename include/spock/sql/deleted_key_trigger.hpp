// Placement of spock's row trigger that records local DELETEs in the record of deleted keys
// (src/sql/deleted_key_trigger.cpp). Both run SPI; call them inside an SPI connection.
#pragma once

#include "spock/pg/postgres.hpp"

namespace spock::sql {

// Creates the trigger on the table unless it has it already (directly or from its parent).
void place_deleted_key_trigger(Oid relid);

// Drops it when no replication set contains the table any more.
void drop_deleted_key_trigger(Oid relid);

}  // namespace spock::sql
