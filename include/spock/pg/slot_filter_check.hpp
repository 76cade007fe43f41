// The check hook of spock.synchronize_slot_names: a value whose entries are not name:,
// name_like: or plugin: filters is refused when it is set (ALTER SYSTEM, a reload), with the
// bad entry named, instead of being found later by the failover slots worker.
#pragma once

#include "spock/pg/postgres.hpp"

extern "C" {
#include <utils/guc.h>
}

namespace spock::pg {

bool check_synchronize_slot_names(char** newval, void** extra, GucSource source);

}  // namespace spock::pg
