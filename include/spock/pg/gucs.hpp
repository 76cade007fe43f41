// spock.* configuration parameters (reference §4, docs/configuration.md).
#pragma once

namespace spock::gucs {

// Values of the enum parameters. The numbers are ours; the names match Spock 5.
enum ConflictResolution {
    kResolveError,
    kResolveApplyRemote,
    kResolveKeepLocal,
    kResolveLastUpdateWins,
    kResolveFirstUpdateWins,
};
enum ExceptionBehaviour { kExceptionDiscard, kExceptionTransdiscard, kExceptionSubDisable };
enum ExceptionLogging { kExceptionLogNone, kExceptionLogDiscard, kExceptionLogAll };
enum LogOriginChange { kOriginChangeNone, kOriginChangeRemoteOnlyDiffers, kOriginChangeSinceSub };
enum ReadOnly { kReadOnlyOff, kReadOnlyUser, kReadOnlyAll };
enum MissingColumnAction { kMissingColumnIgnore, kMissingColumnError };  // ours (docs/ddl.md)

extern bool allow_ddl_from_functions;
extern bool batch_inserts;
extern bool channel_counters;
extern bool check_all_uc_indexes;
extern int conflict_log_level;
extern int conflict_resolution;
extern char* country;
extern bool deny_all_ddl;
extern bool drop_extra_slots;
extern bool enable_ddl_replication;
extern int exception_behaviour;
extern int exception_logging;
extern int exception_replay_queue_size;
// Apply processes per subscription (docs/architecture.md, "Parallel apply"); 1 = serial.
extern int parallel_apply_workers;
extern bool stream_in_progress;
extern bool stream_early_apply;
inline constexpr int kMaxParallelApplyWorkers = 16;
extern int deleted_keys_max;        // entries; 0: no record
extern int deleted_keys_retention;  // seconds
extern char* extra_connection_options;
extern int failover_slots_feedback_naptime;
extern int failover_slots_naptime;
extern int feedback_frequency;
extern bool include_ddl_repset;
extern int log_origin_change;
extern int missing_column_action;
extern int pause_timeout;
extern int add_node_timeout;
extern char* pg_standby_slot_names;
extern char* primary_dsn;
extern int readonly;
extern bool replication_repair_mode;
extern int restart_delay_default;
extern int restart_delay_on_exception;
extern bool save_resolutions;
extern int standby_slots_min_confirmed;
extern int stats_max_entries;
extern char* synchronize_slot_names;
extern bool synchronous_commit;
extern char* temp_directory;
extern bool use_native_failover_slots;
extern bool use_spi;

// Defines every parameter. Called once from _PG_init.
void define_all();

}  // namespace spock::gucs
