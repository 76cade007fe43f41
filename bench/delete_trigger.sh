#!/usr/bin/env bash
# Cost of spock's DELETE trigger (spock.deleted_key_trigger, docs/conflicts.md "Update versus
# delete"), which records every local DELETE of a replicated table in the record of deleted
# keys. ROWS rows (default 200,000) are deleted from a table with an int primary key, once in
# single-row transactions (pgbench, one client) and once in one statement, each with and
# without the trigger; ROUNDS rounds, best time kept. Never fails on a time.
#
#   ROWS=200000 ROUNDS=3 bench/delete_trigger.sh
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

ROWS=${ROWS:-200000}
ROUNDS=${ROUNDS:-3}
PORT=${BENCH_PORT_BASE:-5495}
work=$(mktemp -d /tmp/spock-deltrig.XXXXXX)
chmod 755 "$work"
chown postgres: "$work" 2>/dev/null || true
bindir=$(pg_bindir)
dir="$work/db"

cleanup() {
    [ -f "$dir/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

as_pg "$bindir/initdb" -D "$dir" -A trust -U postgres >/dev/null
spock_conf >>"$dir/postgresql.conf"
cat >>"$dir/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$work'
shared_buffers = 256MB
max_wal_size = 4GB
synchronous_commit = off
autovacuum = off
CONF
as_pg "$bindir/pg_ctl" -D "$dir" -l "$work/db.log" -w start >/dev/null
psql_at() { as_pg "$bindir/psql" -X -q -At -h "$work" -p "$PORT" -U postgres -d postgres -c "$1"; }
now_ms() { date +%s%3N; }
psql_at "CREATE EXTENSION spock" >/dev/null
psql_at "CREATE TABLE t (id int PRIMARY KEY, v int)" >/dev/null
psql_at "CREATE SEQUENCE s" >/dev/null
printf 'SELECT nextval(%s) AS k \\gset\nDELETE FROM t WHERE id = :k;\n' "'s'" >"$work/del.sql"
chown postgres: "$work/del.sql"

fill() {
    psql_at "TRUNCATE t" >/dev/null
    psql_at "INSERT INTO t SELECT g, g FROM generate_series(1, $ROWS) g" >/dev/null
    psql_at "VACUUM ANALYZE t" >/dev/null
    psql_at "SELECT setval('s', 1, false)" >/dev/null
    psql_at "CHECKPOINT" >/dev/null
}
trigger() { # on|off
    if [ "$1" = on ]; then
        psql_at "CREATE TRIGGER spock_deleted_keys AFTER DELETE ON t FOR EACH ROW EXECUTE FUNCTION spock.deleted_key_trigger()" >/dev/null
    else
        psql_at "SET client_min_messages = warning; DROP TRIGGER IF EXISTS spock_deleted_keys ON t" >/dev/null
    fi
}

best() { sort -n | head -1; }
declare -A result
for mode in off on; do
    trigger $mode
    single=() stmt=()
    for _ in $(seq "$ROUNDS"); do
        fill
        t0=$(now_ms)
        as_pg "$bindir/pgbench" -n -c 1 -t "$ROWS" -f "$work/del.sql" -h "$work" -p "$PORT" -U postgres postgres >/dev/null
        single+=($(($(now_ms) - t0)))
        left=$(psql_at "SELECT count(*) FROM t")
        [ "$left" = 0 ] || echo "warning: $left rows left after the single-row run" >&2
        fill
        t0=$(now_ms)
        psql_at "DELETE FROM t" >/dev/null
        stmt+=($(($(now_ms) - t0)))
    done
    result[$mode,single]=$(printf '%s\n' "${single[@]}" | best)
    result[$mode,stmt]=$(printf '%s\n' "${stmt[@]}" | best)
done
echo "DELETE of $ROWS rows, best of $ROUNDS (ms):"
printf '%-34s %10s %10s %8s\n' "" "no trigger" "trigger" "cost"
for k in single stmt; do
    label=$([ $k = single ] && echo "single-row transactions (pgbench)" || echo "one statement")
    off=${result[off,$k]} on=${result[on,$k]}
    printf '%-34s %10s %10s %7s%%\n' "$label" "$off" "$on" "$(( (on - off) * 100 / off ))"
done
