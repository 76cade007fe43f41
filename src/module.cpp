// The composition root of spock.so: _PG_init, the module's load-time entry point. It is the one
// place that knows every feature: it defines the settings, installs the shared memory and hooks
// of each feature and registers the supervisor, so src/pg stays glue that depends on no feature
// (docs/architecture.md, "Layers").
#include "spock/apply/channel_stats.hpp"
#include "spock/failover/slot_sync.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/read_only.hpp"
#include "spock/pg/seclabel.hpp"
#include "spock/pg/settings_check.hpp"
#include "spock/sql/auto_ddl.hpp"
#include "spock/sql/drop_hook.hpp"
#include "spock/sql/partition_detach.hpp"
#include "spock/sql/truncate_capture.hpp"
#include "spock/worker/deleted_keys.hpp"
#include "spock/worker/notify.hpp"
#include "spock/worker/shmem.hpp"
#include "spock/worker/supervisor.hpp"

extern "C" {
#include <miscadmin.h>
}

extern "C" {
PG_MODULE_MAGIC;
SPOCK_EXPORT void _PG_init(void);
}

void _PG_init(void) {
    // Workers, shared memory and hooks can only be set up from the postmaster. Loading spock
    // any other way (CREATE EXTENSION or LOAD without preloading) is a configuration error.
    if (!process_shared_preload_libraries_in_progress) {
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("spock must be loaded via shared_preload_libraries"),
                        errdetail("The spock library was loaded into a running session."),
                        errhint("Add spock to shared_preload_libraries in postgresql.conf "
                                "(and spock_output to output_plugin_libraries where that setting "
                                "exists), then restart the server.")));
    }
    spock::pg::guarded([] {
        spock::gucs::define_all();
        // Before the binary-upgrade exit: pg_upgrade restores spock labels too.
        spock::pg::register_spock_label_provider();
        if (IsBinaryUpgrade) {
            return;
        }
        spock::pg::warn_about_replication_settings();
        spock::worker::install_shmem_hooks();
        spock::worker::install_deleted_keys_hooks();
        spock::apply::install_channel_stats_shmem();
        spock::worker::install_notify_callback();
        spock::worker::register_supervisor();
        spock::failover::register_slot_sync_worker();
        spock::sql::install_drop_hook();
        spock::sql::install_truncate_capture();
        spock::sql::install_partition_detach_hook();
        spock::pg::install_read_only_hooks();
        spock::sql::install_auto_ddl_hook();
    });
}
