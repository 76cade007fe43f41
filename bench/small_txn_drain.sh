#!/usr/bin/env bash
# Small-transaction apply ceiling of spock alone: XACTS single-row INSERT transactions
# (default 20,000) are written on a provider while the subscription is disabled, then the
# subscription is enabled and the time until the provider's slot confirms everything is
# measured. Used to compare two builds of spock (give each its own PG_CONFIG, e.g. from
# scripts/private-pg.sh); the side-by-side comparison with native logical replication and
# pglogical is bench/bulk_insert.sh's job. Never fails on a time.
#
#   XACTS=20000 ROUNDS=3 bench/small_txn_drain.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"

XACTS=${XACTS:-20000}
ROUNDS=${ROUNDS:-3}
BASE_PORT=${BENCH_PORT_BASE:-5491}
bench_init spock-drain

p=$BASE_PORT
s=$((BASE_PORT + 1))
bench_start_instance prov $p
bench_start_instance sub $s
for port in $p $s; do
    psql_at $port "CREATE EXTENSION spock" >/dev/null
    psql_at $port "CREATE TABLE t (id bigserial PRIMARY KEY, v int)" >/dev/null
done
psql_at $p "SELECT spock.node_create('p', 'host=$work port=$p dbname=postgres user=postgres')" >/dev/null
psql_at $s "SELECT spock.node_create('s', 'host=$work port=$s dbname=postgres user=postgres')" >/dev/null
psql_at $p "SELECT spock.repset_add_table('default', 't')" >/dev/null
psql_at $s "SELECT spock.sub_create('drain', 'host=$work port=$p dbname=postgres user=postgres')" >/dev/null
until [ "$(psql_at $s "SELECT status FROM spock.sub_show_status('drain')")" = replicating ]; do sleep 0.1; done
echo "INSERT INTO t (v) VALUES (1);" >"$work/insert.sql"
chown postgres: "$work/insert.sql"
log "spock $(psql_at $s 'SELECT spock.spock_version()') from $(pg_config_path); $XACTS transactions x $ROUNDS rounds"
for round in $(seq 1 "$ROUNDS"); do
    psql_at $s "SELECT spock.sub_disable('drain', true)" >/dev/null
    as_pg "$bindir/pgbench" -n -h "$work" -p $p -U postgres -c 4 -t $((XACTS / 4)) \
        -f "$work/insert.sql" postgres >/dev/null
    lsn=$(psql_at $p "SELECT pg_current_wal_lsn()")
    start=$(now_ms)
    psql_at $s "SELECT spock.sub_enable('drain', true)" >/dev/null
    until [ "$(psql_at $p "SELECT bool_and(confirmed_flush_lsn >= '$lsn') FROM pg_replication_slots")" = t ]; do
        sleep 0.02
    done
    ms=$(($(now_ms) - start))
    echo "round $round: $XACTS transactions drained in $ms ms: $((XACTS * 1000 / (ms > 0 ? ms : 1))) transactions/s"
done
[ "$(psql_at $p 'SELECT count(*) FROM t')" = "$(psql_at $s 'SELECT count(*) FROM t')" ] ||
    die "provider and subscriber differ"
echo "rows on both sides: $(psql_at $s 'SELECT count(*) FROM t')"
