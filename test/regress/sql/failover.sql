-- Failover slots (docs/high-availability.md). spock.synchronize_slot_names is checked when it
-- is set: each entry is a name:, name_like: or plugin: filter.
ALTER SYSTEM SET spock.synchronize_slot_names = 'name:a, name_like:spk_%, plugin:spock_output';
ALTER SYSTEM SET spock.synchronize_slot_names = 'slot:a';
ALTER SYSTEM SET spock.synchronize_slot_names = 'name:a, name_like:';
ALTER SYSTEM SET spock.synchronize_slot_names = 'plugin:';
ALTER SYSTEM RESET spock.synchronize_slot_names;
SET spock.synchronize_slot_names = 'name:a';
SHOW spock.synchronize_slot_names;
