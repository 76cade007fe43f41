// See include/spock/pg/internal_write.hpp.
#include "spock/pg/internal_write.hpp"

extern "C" {
#include <catalog/pg_authid.h>
#include <executor/spi.h>
#include <miscadmin.h>
#include <utils/guc.h>
}

namespace spock::pg {

void begin_internal_write(InternalWrite* w) {
    GetUserIdAndSecContext(&w->saved_user, &w->saved_sec_context);
    SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID, w->saved_sec_context |
                                                      SECURITY_LOCAL_USERID_CHANGE |
                                                      SECURITY_RESTRICTED_OPERATION);
    w->guc_nest_level = NewGUCNestLevel();
    (void)set_config_option("search_path", "pg_catalog", PGC_USERSET, PGC_S_SESSION,
                            GUC_ACTION_SAVE, true, 0, false);
    if (SPI_connect() != SPI_OK_CONNECT) {
        elog(ERROR, "SPI_connect failed");
    }
}

void end_internal_write(const InternalWrite* w) {
    SPI_finish();
    AtEOXact_GUC(true, w->guc_nest_level);
    SetUserIdAndSecContext(w->saved_user, w->saved_sec_context);
}

}  // namespace spock::pg
