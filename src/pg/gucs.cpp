// Definitions of the spock.* parameters. Names, types, defaults, units and contexts follow
// Spock 5.0 (reference §4, ../shared/spec/spock5-gucs.txt) so existing postgresql.conf files
// keep working. Differences are deliberate and listed in docs/configuration.md.
#include "spock/pg/gucs.hpp"

#include "spock/pg/postgres.hpp"
#include "spock/pg/setting_typos.hpp"
#include "spock/pg/slot_filter_check.hpp"

#include <climits>

extern "C" {
#include <utils/guc.h>
}

namespace spock::gucs {

bool allow_ddl_from_functions = false;
bool batch_inserts = true;
bool channel_counters = true;
bool check_all_uc_indexes = false;
int conflict_log_level = LOG;
int conflict_resolution = kResolveLastUpdateWins;
char* country = nullptr;
bool deny_all_ddl = false;
bool drop_extra_slots = true;
bool enable_ddl_replication = false;
int exception_behaviour = kExceptionTransdiscard;
int exception_logging = kExceptionLogAll;
int deleted_keys_max = 65536;
int deleted_keys_retention = 3600;
int exception_replay_queue_size = 4 * 1024 * 1024;
int parallel_apply_workers = 1;
bool stream_in_progress = true;
bool stream_early_apply = true;
char* extra_connection_options = nullptr;
int failover_slots_feedback_naptime = 10000;
int failover_slots_naptime = 1000;
int feedback_frequency = 200;
bool include_ddl_repset = false;
int log_origin_change = kOriginChangeNone;
int missing_column_action = kMissingColumnIgnore;
int pause_timeout = 10;
int add_node_timeout = 180;
char* pg_standby_slot_names = nullptr;
char* primary_dsn = nullptr;
int readonly = kReadOnlyOff;
bool replication_repair_mode = false;
int restart_delay_default = 5000;
int restart_delay_on_exception = 0;
bool save_resolutions = false;
int standby_slots_min_confirmed = -1;
int stats_max_entries = -1;
char* synchronize_slot_names = nullptr;
bool synchronous_commit = false;
char* temp_directory = nullptr;
bool use_native_failover_slots = false;
bool use_spi = false;

namespace {

// Accepted while a Spock 5 subscriber restores a schema dump from us: its pg_restore connects
// with "-c spock.subscription_schema_restore=true". Hidden, and read by nobody.
bool subscription_schema_restore = false;

const config_enum_entry kConflictResolutionOptions[] = {
    {"error", kResolveError, false},
    {"apply_remote", kResolveApplyRemote, false},
    {"keep_local", kResolveKeepLocal, false},
    {"last_update_wins", kResolveLastUpdateWins, false},
    {"first_update_wins", kResolveFirstUpdateWins, false},
    {nullptr, 0, false},
};

const config_enum_entry kMessageLevelOptions[] = {
    {"debug5", DEBUG5, false}, {"debug4", DEBUG4, false}, {"debug3", DEBUG3, false},
    {"debug2", DEBUG2, false}, {"debug1", DEBUG1, false}, {"debug", DEBUG2, true},
    {"info", INFO, false},     {"notice", NOTICE, false}, {"warning", WARNING, false},
    {"error", ERROR, false},   {"log", LOG, false},       {"fatal", FATAL, false},
    {"panic", PANIC, false},   {nullptr, 0, false},
};

const config_enum_entry kExceptionBehaviourOptions[] = {
    {"discard", kExceptionDiscard, false},
    {"transdiscard", kExceptionTransdiscard, false},
    {"sub_disable", kExceptionSubDisable, false},
    {nullptr, 0, false},
};

const config_enum_entry kExceptionLoggingOptions[] = {
    {"none", kExceptionLogNone, false},
    {"discard", kExceptionLogDiscard, false},
    {"all", kExceptionLogAll, false},
    {nullptr, 0, false},
};

const config_enum_entry kLogOriginChangeOptions[] = {
    {"none", kOriginChangeNone, false},
    {"remote_only_differs", kOriginChangeRemoteOnlyDiffers, false},
    {"since_sub_creation", kOriginChangeSinceSub, false},
    {nullptr, 0, false},
};

const config_enum_entry kMissingColumnOptions[] = {
    {"ignore", kMissingColumnIgnore, false},
    {"error", kMissingColumnError, false},
    {nullptr, 0, false},
};

const config_enum_entry kReadOnlyOptions[] = {
    {"off", kReadOnlyOff, false},   {"user", kReadOnlyUser, false},
    {"local", kReadOnlyUser, true},  // the same as user: sessions stop, replication applies
    {"all", kReadOnlyAll, false},   {nullptr, 0, false},
};

void define_bool(const char* name, const char* desc, bool* var, bool boot, GucContext ctx,
                 int flags = 0) {
    DefineCustomBoolVariable(name, desc, nullptr, var, boot, ctx, flags, nullptr, nullptr, nullptr);
}

void define_int(const char* name, const char* desc, int* var, int boot, int min, int max,
                GucContext ctx, int flags = 0) {
    DefineCustomIntVariable(name, desc, nullptr, var, boot, min, max, ctx, flags, nullptr, nullptr,
                            nullptr);
}

void define_enum(const char* name, const char* desc, int* var, int boot,
                 const config_enum_entry* options, GucContext ctx) {
    DefineCustomEnumVariable(name, desc, nullptr, var, boot, options, ctx, 0, nullptr, nullptr,
                             nullptr);
}

void define_string(const char* name, const char* desc, char** var, const char* boot, GucContext ctx,
                   int flags = 0) {
    DefineCustomStringVariable(name, desc, nullptr, var, boot, ctx, flags, nullptr, nullptr,
                               nullptr);
}

}  // namespace

void define_all() {
    // Conflicts and exceptions.
    define_enum("spock.conflict_resolution", "Sets the method used to resolve conflicts.",
                &conflict_resolution, kResolveLastUpdateWins, kConflictResolutionOptions,
                PGC_SUSET);
    define_enum("spock.conflict_log_level", "Sets the log level of conflict messages.",
                &conflict_log_level, LOG, kMessageLevelOptions, PGC_SUSET);
    define_bool("spock.save_resolutions", "Records resolved conflicts in spock.resolutions.",
                &save_resolutions, false, PGC_SIGHUP);
    define_enum("spock.log_origin_change",
                "Logs updates that change a row last written by another origin.",
                &log_origin_change, kOriginChangeNone, kLogOriginChangeOptions, PGC_SUSET);
    define_bool("spock.check_all_uc_indexes",
                "Checks every unique index, not only the key, for INSERT conflicts.",
                &check_all_uc_indexes, false, PGC_SIGHUP);
    define_enum("spock.exception_behaviour",
                "Sets what the apply worker does with a change that fails.", &exception_behaviour,
                kExceptionTransdiscard, kExceptionBehaviourOptions, PGC_SIGHUP);
    define_enum("spock.exception_logging",
                "Sets which failed changes are written to spock.exception_log.", &exception_logging,
                kExceptionLogAll, kExceptionLoggingOptions, PGC_SIGHUP);
    // Ours (docs/ddl.md): a non-NULL remote value for a column the local table lacks.
    define_enum("spock.missing_column_action",
                "Sets what apply does with a value for a column the local table does not have.",
                &missing_column_action, kMissingColumnIgnore, kMissingColumnOptions, PGC_SUSET);
    // Spock declares this without a unit; we give it a byte unit so that SHOW says 4MB and
    // values such as '64MB' are accepted. The stored number is bytes either way.
    define_int("spock.exception_replay_queue_size",
               "Memory an apply worker keeps a remote transaction in before spilling to disk.",
               &exception_replay_queue_size, 4 * 1024 * 1024, 0, INT_MAX, PGC_SIGHUP,
               GUC_UNIT_BYTE);

    // The record of deleted keys (docs/conflicts.md, "Update versus delete"): ours.
    define_int("spock.deleted_keys_max",
               "Number of recently deleted keys remembered for update-versus-delete conflicts.",
               &deleted_keys_max, 65536, 0, 64 * 1024 * 1024, PGC_POSTMASTER);
    define_int("spock.deleted_keys_retention",
               "How long a deleted key is remembered for update-versus-delete conflicts.",
               &deleted_keys_retention, 3600, 1, INT_MAX / 1000, PGC_SIGHUP, GUC_UNIT_S);

    // Workers.
    define_int("spock.restart_delay_default",
               "Delay in milliseconds before a failed apply worker is restarted.",
               &restart_delay_default, 5000, 1, INT_MAX, PGC_POSTMASTER);
    define_int("spock.restart_delay_on_exception",
               "Delay in milliseconds before restarting an apply worker that failed while "
               "streaming.",
               &restart_delay_on_exception, 0, 0, INT_MAX, PGC_POSTMASTER);
    define_int("spock.parallel_apply_workers",
               "Apply processes per subscription; 1 applies serially in the apply worker.",
               &parallel_apply_workers, 1, 1, kMaxParallelApplyWorkers, PGC_SIGHUP);
    define_int("spock.feedback_frequency",
               "Sends feedback to the provider at least every this many messages.",
               &feedback_frequency, 200, 1, INT_MAX, PGC_SIGHUP);
    define_int("spock.pause_timeout",
               "Longest time pause_apply_workers() waits for apply workers to pause.",
               &pause_timeout, 10, 1, 300, PGC_USERSET, GUC_UNIT_S);
    define_int("spock.add_node_timeout",
               "Longest time each wait of spock.add_node() and spock.remove_node() may take.",
               &add_node_timeout, 180, 1, 86400, PGC_USERSET, GUC_UNIT_S);
    define_bool("spock.stream_in_progress",
                "Asks providers to stream transactions larger than their "
                "logical_decoding_work_mem while they are in progress.",
                &stream_in_progress, true, PGC_SIGHUP);
    define_bool("spock.stream_early_apply",
                "Applies a streamed transaction's changes as they arrive, in a stream apply "
                "process, and commits them at the provider's commit.",
                &stream_early_apply, true, PGC_SIGHUP);
    define_bool("spock.batch_inserts", "Applies runs of inserts with multi-insert.", &batch_inserts,
                true, PGC_POSTMASTER);
    define_bool("spock.use_spi", "Applies changes through SPI instead of the executor.", &use_spi,
                false, PGC_POSTMASTER);
    define_bool("spock.synchronous_commit",
                "Apply and sync workers commit with synchronous_commit = local.",
                &synchronous_commit, false, PGC_POSTMASTER);
    define_string("spock.temp_directory",
                  "Directory for spock's temporary files: schema dumps and spilled transactions.",
                  &temp_directory, "", PGC_SIGHUP);
    define_string("spock.extra_connection_options",
                  "Connection options added to every connection spock opens.",
                  &extra_connection_options, "", PGC_SIGHUP);
    define_bool("spock.channel_counters", "Collects per-table apply statistics.", &channel_counters,
                true, PGC_BACKEND);
    define_int("spock.stats_max_entries",
               "Capacity of the statistics table (-1 means 1000 per worker process).",
               &stats_max_entries, -1, -1, INT_MAX, PGC_POSTMASTER);
    define_string("spock.country", "Country code returned by spock.get_country().", &country, "??",
                  PGC_SIGHUP);

    // DDL and read-only mode.
    define_bool("spock.deny_all_ddl", "Rejects every DDL statement.", &deny_all_ddl, false,
                PGC_SUSET);
    define_bool("spock.enable_ddl_replication", "Replicates DDL statements automatically.",
                &enable_ddl_replication, false, PGC_USERSET);
    define_bool("spock.include_ddl_repset",
                "Adds tables created or altered by DDL to replication sets.", &include_ddl_repset,
                false, PGC_USERSET);
    define_bool("spock.allow_ddl_from_functions",
                "Replicates DDL executed inside functions as well.", &allow_ddl_from_functions,
                false, PGC_USERSET);
    define_enum("spock.readonly", "Makes the node read-only for users or for everything.",
                &readonly, kReadOnlyOff, kReadOnlyOptions, PGC_SUSET);
    define_bool("spock.replication_repair_mode",
                "Keeps this transaction's changes out of replication.", &replication_repair_mode,
                false, PGC_INTERNAL);

    // Failover slots.
    define_bool("spock.use_native_failover_slots",
                "Uses PostgreSQL's own failover slots where the server has them.",
                &use_native_failover_slots, false, PGC_POSTMASTER);
    define_string("spock.pg_standby_slot_names",
                  "Physical slots that must confirm WAL before it is sent to logical peers.",
                  &pg_standby_slot_names, "", PGC_SIGHUP, GUC_LIST_INPUT);
    define_int("spock.standby_slots_min_confirmed",
               "How many of spock.pg_standby_slot_names must confirm (-1 means all).",
               &standby_slots_min_confirmed, -1, -1, 100, PGC_SIGHUP);
    DefineCustomStringVariable("spock.synchronize_slot_names",
                               "Logical slots a standby keeps in step with its primary.", nullptr,
                               &synchronize_slot_names, "name_like:%%", PGC_SIGHUP, GUC_LIST_INPUT,
                               pg::check_synchronize_slot_names, nullptr, nullptr);
    define_bool("spock.drop_extra_slots",
                "Drops logical slots on a standby that match no synchronisation filter.",
                &drop_extra_slots, true, PGC_SIGHUP);
    define_string("spock.primary_dsn", "Connection string to the primary for slot sync.",
                  &primary_dsn, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY);
    define_int("spock.failover_slots_naptime", "Time between slot synchronisation passes.",
               &failover_slots_naptime, 1000, 1, 3600000, PGC_SIGHUP, GUC_UNIT_MS);
    define_int("spock.failover_slots_feedback_naptime",
               "Time between retries while waiting for standby feedback.",
               &failover_slots_feedback_naptime, 10000, 1, 3600000, PGC_SIGHUP, GUC_UNIT_MS);

    define_bool("spock.subscription_schema_restore", "Accepted for Spock 5 peers; unused.",
                &subscription_schema_restore, false, PGC_USERSET,
                GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE);

    // The spock. prefix is not reserved (Spock does not reserve it and installations keep
    // custom variables there); placeholders close to a real name get a WARNING instead.
    pg::warn_about_mistyped_placeholders();
}

}  // namespace spock::gucs
