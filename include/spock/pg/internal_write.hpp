// Writing spock's own tables on behalf of a user statement (a TRUNCATE, a DETACH PARTITION):
// the user need not be able to write them, and nothing of the user's (search_path, functions
// of their schemas) may run with the raised rights. Plain glue for hooks that are already
// inside PostgreSQL's error handling: on an error, transaction abort restores the user and
// the settings.
#pragma once

#include "spock/pg/postgres.hpp"

namespace spock::pg {

struct InternalWrite {
    Oid saved_user;
    int saved_sec_context;
    int guc_nest_level;
};

// Becomes the bootstrap superuser under SECURITY_RESTRICTED_OPERATION with search_path
// pg_catalog, and connects SPI.
void begin_internal_write(InternalWrite* w);

// Finishes SPI, and restores the settings and the user.
void end_internal_write(const InternalWrite* w);

}  // namespace spock::pg
