/* spock--5.0.5--5.0.6.sql: Spock 5.0.5 to 5.0.6 (docs/upgrading.md). */

\echo Use "ALTER EXTENSION spock UPDATE" to load this file. \quit

-- Subscriptions record when they were created.
ALTER TABLE subscription ADD COLUMN sub_created_at timestamptz;
