/* spock--5.0.10--5.0.11.sql: Spock 5.0.10 to 5.0.11 (docs/upgrading.md). */

\echo Use "ALTER EXTENSION spock UPDATE" to load this file. \quit

-- No change to the catalog or the function signatures in this version.
