/* spock--5.0.4--5.0.5.sql: Spock 5.0.4 to 5.0.5 (docs/upgrading.md). */

\echo Use "ALTER EXTENSION spock UPDATE" to load this file. \quit

-- No change to the catalog or the function signatures in this version.
