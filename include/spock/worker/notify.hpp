// Telling workers that the catalog changed (reference §1.9). The wake-ups happen at commit, so
// workers never act on a change that is rolled back.
#pragma once

#include "spock/pg/postgres.hpp"

namespace spock::worker {

// Installs the transaction callback. Called once from _PG_init.
void install_notify_callback();

// At commit of the current transaction: wake the supervisor and this database's manager, and
// the apply worker of `subid` when it is valid, so they re-read the catalog.
void notify_at_commit(Oid subid = InvalidOid);

}  // namespace spock::worker
