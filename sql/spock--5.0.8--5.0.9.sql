/* spock--5.0.8--5.0.9.sql: Spock 5.0.8 to 5.0.9 (docs/upgrading.md). */

\echo Use "ALTER EXTENSION spock UPDATE" to load this file. \quit

-- No change to the catalog or the function signatures in this version.
