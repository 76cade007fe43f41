/* spock--5.0.3--5.0.4.sql: Spock 5.0.3 to 5.0.4 (docs/upgrading.md). */

\echo Use "ALTER EXTENSION spock UPDATE" to load this file. \quit

-- No change to the catalog or the function signatures in this version.
