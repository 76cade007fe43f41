#!/usr/bin/env bash
# Cost of delta apply on the subscriber: XACTS single-row UPDATE transactions (default 20,000)
# on random rows of a 1,000-row REPLICA IDENTITY FULL table are written on a provider while the
# subscription is disabled; then the subscription is enabled and the time until the provider's
# slot confirms everything is measured. Each round runs twice: with the two number columns as
# plain columns, and labelled 'spock.delta_apply' on both nodes (docs/conflicts.md). The
# subscriber's rows have their own values, so every delta changes something. Never fails on a
# time; it fails when the delta round's sums are not the expected ones.
#
#   XACTS=20000 ROUNDS=2 bench/delta_apply_drain.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"

XACTS=${XACTS:-20000}
ROUNDS=${ROUNDS:-2}
BASE_PORT=${BENCH_PORT_BASE:-5493}
bench_init spock-delta

p=$BASE_PORT
s=$((BASE_PORT + 1))
bench_start_instance prov $p
bench_start_instance sub $s
for port in $p $s; do
    psql_at $port "CREATE EXTENSION spock" >/dev/null
    psql_at $port "CREATE TABLE acct (id int PRIMARY KEY, bal numeric(14,2) NOT NULL,
                   ops bigint NOT NULL, note text);
                   ALTER TABLE acct REPLICA IDENTITY FULL;
                   INSERT INTO acct SELECT g, 1000, 0, 'x' FROM generate_series(1, 1000) g" >/dev/null
done
psql_at $p "SELECT spock.node_create('p', 'host=$work port=$p dbname=postgres user=postgres')" >/dev/null
psql_at $s "SELECT spock.node_create('s', 'host=$work port=$s dbname=postgres user=postgres')" >/dev/null
psql_at $p "SELECT spock.repset_add_table('default', 'acct')" >/dev/null
psql_at $s "SELECT spock.sub_create('drain', 'host=$work port=$p dbname=postgres user=postgres')" >/dev/null
until [ "$(psql_at $s "SELECT status FROM spock.sub_show_status('drain')")" = replicating ]; do sleep 0.1; done
printf '%s\n' '\set k random(1, 1000)' \
    'UPDATE acct SET bal = bal + 1.25, ops = ops + 1 WHERE id = :k;' >"$work/update.sql"
chown postgres: "$work/update.sql"

label() { # port value
    psql_at "$1" "SECURITY LABEL FOR spock ON COLUMN acct.bal IS $2;
                  SECURITY LABEL FOR spock ON COLUMN acct.ops IS $2" >/dev/null
}
drain() { # mode
    psql_at $s "SELECT spock.sub_disable('drain', true)" >/dev/null
    # The subscriber's own balances differ from the provider's by 1000.00 per row.
    psql_at $s "UPDATE acct SET bal = bal + 1000" >/dev/null
    local before_s before_p
    before_s=$(psql_at $s "SELECT sum(bal) FROM acct")
    before_p=$(psql_at $p "SELECT sum(bal) FROM acct")
    as_pg "$bindir/pgbench" -n -h "$work" -p $p -U postgres -c 4 -t $((XACTS / 4)) \
        -f "$work/update.sql" postgres >/dev/null
    local lsn start ms
    # The insert position: pg_current_wal_lsn() is the write position, which lags
    # behind it under synchronous_commit = off (it can be before the last commit).
    lsn=$(psql_at $p "SELECT pg_current_wal_insert_lsn()")
    start=$(now_ms)
    psql_at $s "SELECT spock.sub_enable('drain', true)" >/dev/null
    until [ "$(psql_at $p "SELECT bool_and(confirmed_flush_lsn >= '$lsn') FROM pg_replication_slots")" = t ]; do
        sleep 0.02
    done
    ms=$(($(now_ms) - start))
    echo "$1: $XACTS updates drained in $ms ms: $((XACTS * 1000 / (ms > 0 ? ms : 1))) transactions/s"
    if [ "$1" = delta ]; then
        local want
        want=$(psql_at $s "SELECT $before_s + ($(psql_at $p 'SELECT sum(bal) FROM acct') - $before_p)")
        [ "$(psql_at $s 'SELECT sum(bal) FROM acct')" = "$want" ] ||
            die "delta round: subscriber sum $(psql_at $s 'SELECT sum(bal) FROM acct'), expected $want"
    fi
    # Start the next round from equal tables; the provider's reset is not replicated.
    psql_at $s "UPDATE acct SET bal = 1000, ops = 0" >/dev/null
    psql_at $p "BEGIN; SELECT spock.repair_mode(true); UPDATE acct SET bal = 1000, ops = 0;
                SELECT spock.repair_mode(false); COMMIT" >/dev/null
}

log "spock $(psql_at $s 'SELECT spock.spock_version()') from $(pg_config_path); $XACTS updates x $ROUNDS rounds"
for round in $(seq 1 "$ROUNDS"); do
    label $p NULL
    label $s NULL
    drain plain
    label $p "'spock.delta_apply'"
    label $s "'spock.delta_apply'"
    drain delta
done
