// Starting spock's dynamic background workers; see bgworker.hpp.
#include "spock/pg/bgworker.hpp"

extern "C" {
#include <miscadmin.h>
}

#include <cstdio>
#include <cstring>

namespace spock::pg {

bool start_dynamic_worker(const char* function, const char* name, const char* type, Datum arg,
                          const void* extra, Size extra_len, BackgroundWorkerHandle** handle) {
    BackgroundWorker bgw;
    memset(&bgw, 0, sizeof bgw);
    bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
    bgw.bgw_restart_time = BGW_NEVER_RESTART;
    snprintf(bgw.bgw_library_name, BGW_MAXLEN, "spock");
    snprintf(bgw.bgw_function_name, BGW_MAXLEN, "%s", function);
    snprintf(bgw.bgw_name, BGW_MAXLEN, "%s", name);
    snprintf(bgw.bgw_type, BGW_MAXLEN, "%s", type);
    bgw.bgw_main_arg = arg;
    if (extra != nullptr && extra_len > 0) {
        memcpy(bgw.bgw_extra, extra, Min(extra_len, static_cast<Size>(BGW_EXTRALEN)));
    }
    bgw.bgw_notify_pid = MyProcPid;
    return RegisterDynamicBackgroundWorker(&bgw, handle);
}

}  // namespace spock::pg
