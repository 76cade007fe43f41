-- Every spock.* setting of Spock 5.0 exists with the same name, type, default and context.
-- The list below is ../shared/spec/spock5-gucs.txt (name|type|default|unit|context).
CREATE TEMP TABLE reference_gucs (line text);
INSERT INTO reference_gucs VALUES
('spock.allow_ddl_from_functions|bool|off||user'),
('spock.batch_inserts|bool|on||postmaster'),
('spock.channel_counters|bool|on||backend'),
('spock.check_all_uc_indexes|bool|off||sighup'),
('spock.conflict_log_level|enum|log||superuser'),
('spock.conflict_resolution|enum|last_update_wins||superuser'),
('spock.country|string|??||sighup'),
('spock.deny_all_ddl|bool|off||superuser'),
('spock.drop_extra_slots|bool|on||sighup'),
('spock.enable_ddl_replication|bool|off||user'),
('spock.exception_behaviour|enum|transdiscard||sighup'),
('spock.exception_logging|enum|all||sighup'),
('spock.exception_replay_queue_size|integer|4194304||sighup'),
('spock.extra_connection_options|string|||sighup'),
('spock.failover_slots_feedback_naptime|integer|10000|ms|sighup'),
('spock.failover_slots_naptime|integer|1000|ms|sighup'),
('spock.feedback_frequency|integer|200||sighup'),
('spock.include_ddl_repset|bool|off||user'),
('spock.log_origin_change|enum|none||superuser'),
('spock.pause_timeout|integer|10|s|user'),
('spock.pg_standby_slot_names|string|||sighup'),
('spock.primary_dsn|string|||sighup'),
('spock.readonly|enum|off||superuser'),
('spock.replication_repair_mode|bool|off||internal'),
('spock.restart_delay_default|integer|5000||postmaster'),
('spock.restart_delay_on_exception|integer|0||postmaster'),
('spock.save_resolutions|bool|off||sighup'),
('spock.standby_slots_min_confirmed|integer|-1||sighup'),
('spock.stats_max_entries|integer|-1||postmaster'),
('spock.synchronize_slot_names|string|name_like:%%||sighup'),
('spock.synchronous_commit|bool|off||postmaster'),
('spock.temp_directory|string|||sighup'),
('spock.use_native_failover_slots|bool|off||postmaster'),
('spock.use_spi|bool|off||postmaster');

CREATE TEMP VIEW ours AS
SELECT name || '|' || vartype || '|' || coalesce(boot_val, '') || '|' || coalesce(unit, '')
       || '|' || context AS line
FROM pg_settings WHERE name LIKE 'spock.%';

SELECT count(*) AS reference_count FROM reference_gucs;

-- Differences in name, type, default or context: none.
SELECT split_part(line, '|', 1) AS name, 'missing or different' AS problem
FROM (SELECT regexp_replace(line, '\|[^|]*\|([^|]*)$', '|\1') AS line FROM reference_gucs
      EXCEPT
      SELECT regexp_replace(line, '\|[^|]*\|([^|]*)$', '|\1') FROM ours) d
UNION ALL
SELECT split_part(line, '|', 1), 'not in the reference'
FROM (SELECT regexp_replace(line, '\|[^|]*\|([^|]*)$', '|\1') AS line FROM ours
      EXCEPT
      SELECT regexp_replace(line, '\|[^|]*\|([^|]*)$', '|\1') FROM reference_gucs) d
WHERE split_part(line, '|', 1) NOT IN ('spock.add_node_timeout')
ORDER BY 1;

-- Settings of our own, beyond Spock's (docs/configuration.md).
SELECT line AS own_setting FROM ours WHERE split_part(line, '|', 1) IN ('spock.add_node_timeout');

-- Units differ only where we add one on purpose: the replay queue size is in bytes.
SELECT r.line AS reference, o.line AS ours
FROM reference_gucs r JOIN ours o ON split_part(r.line, '|', 1) = split_part(o.line, '|', 1)
WHERE r.line <> o.line ORDER BY 1;

SHOW spock.exception_replay_queue_size;
-- Ours: the record of deleted keys (docs/configuration.md).
SHOW spock.deleted_keys_max;
SHOW spock.deleted_keys_retention;
SET spock.deleted_keys_retention = '1h';
-- Ours: parallel apply (docs/configuration.md); read at each apply worker start.
SHOW spock.parallel_apply_workers;
SET spock.parallel_apply_workers = 2;
ALTER SYSTEM SET spock.parallel_apply_workers = 17;
ALTER SYSTEM SET spock.parallel_apply_workers = 0;
-- Ours: streaming of large in-progress transactions (docs/configuration.md).
SHOW spock.stream_in_progress;
SET spock.stream_in_progress = off;
-- Ours: early apply of streamed transactions.
SHOW spock.stream_early_apply;
SET spock.stream_early_apply = off;
SET spock.pause_timeout = '30s';
SHOW spock.pause_timeout;
RESET spock.pause_timeout;

-- All five resolvers can be selected (Spock compiles four of them out).
SET spock.conflict_resolution = 'error';
SET spock.conflict_resolution = 'apply_remote';
SET spock.conflict_resolution = 'keep_local';
SET spock.conflict_resolution = 'first_update_wins';
SET spock.conflict_resolution = 'last_update_wins';
SET spock.conflict_resolution = 'newest_wins';

-- Bad values and names are refused.
ALTER SYSTEM SET spock.exception_behaviour = 'ignore';
SET spock.pause_timeout = 301;
SET spock.readonly = 'maybe';
SET spock.conflict_resolutoin = 'error';
-- Custom spock.* settings are accepted without a word: the prefix is not reserved.
SET spock.my_application_tag = 'blue';
SHOW spock.my_application_tag;
RESET spock.my_application_tag;
SET spock.replication_repair_mode = on;
SET spock.restart_delay_default = 10;

-- Enum choices as Spock names them.
SELECT name, enumvals FROM pg_settings WHERE vartype = 'enum' AND name LIKE 'spock.%'
ORDER BY name;
