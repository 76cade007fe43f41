#!/usr/bin/env bash
# Bulk-load benchmark: one transaction inserting ROWS rows (default 1,000,000) on a provider,
# replicated to a subscriber by spock, by PostgreSQL's native logical replication
# (publication/subscription) and by pglogical, each on a fresh pair of local instances in the
# same run. Prints, for each, the time from the provider's COMMIT until the subscriber has
# every row, the apply rate in rows/s, and the ratios to spock.
#
#   bench/bulk_insert.sh              # 1,000,000 rows
#   ROWS=100000 bench/bulk_insert.sh  # smaller
#
# Needs the Debian packages scripts/test.sh installs (postgresql-15-pglogical among them) and
# spock built and installed (scripts/test.sh or cmake --install). It only measures; it never
# fails on a time.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ROWS=${ROWS:-1000000}
BASE_PORT=${BENCH_PORT_BASE:-5471}
work=$(mktemp -d /tmp/spock-bench.XXXXXX)
chmod 755 "$work"
chown postgres: "$work" 2>/dev/null || true
bindir=$(pg_bindir)
export PATH="$bindir:$PATH"

cleanup() {
    for d in "$work"/*/; do
        [ -f "$d/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1
    done
    rm -rf "$work"
}
trap cleanup EXIT

# start_instance NAME PORT PRELOAD
start_instance() {
    local name=$1 port=$2 preload=$3 dir="$work/$1"
    as_pg "$bindir/initdb" -D "$dir" -A trust -U postgres >/dev/null
    cat >>"$dir/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
shared_preload_libraries = '$preload'
output_plugin_libraries = 'pgoutput, test_decoding, spock_output, pglogical_output'
wal_level = logical
track_commit_timestamp = on
max_replication_slots = 16
max_wal_senders = 16
max_worker_processes = 24
shared_buffers = 512MB
max_wal_size = 8GB
checkpoint_timeout = 30min
synchronous_commit = off
fsync = on
CONF
    as_pg "$bindir/pg_ctl" -D "$dir" -l "$work/$name.log" -w start >/dev/null
}

psql_at() { # port sql
    as_pg "$bindir/psql" -X -q -At -h "$work" -p "$1" -U postgres -d postgres -c "$2"
}

now_ms() { date +%s%3N; }

# wait_rows PORT: until the subscriber's table has ROWS rows; prints the elapsed ms since $2.
wait_rows() {
    local port=$1 since=$2
    while :; do
        n=$(psql_at "$port" "SELECT count(*) FROM bench")
        if [ "$n" -ge "$ROWS" ]; then
            echo $(($(now_ms) - since))
            return
        fi
        sleep 0.05
    done
}

create_table() { # port
    psql_at "$1" "CREATE TABLE bench (id bigint PRIMARY KEY, grp int, payload text, at timestamptz)"
}

load() { # port -> prints commit time in ms since epoch
    psql_at "$1" "INSERT INTO bench SELECT g, g % 100, md5(g::text), now() FROM generate_series(1, $ROWS) g" >/dev/null
    now_ms
}

declare -A elapsed cpu

# measure SYSTEM PROVIDER_PORT SUBSCRIBER_PORT: the load, the apply time and the CPU time the
# apply worker spent meanwhile.
measure() {
    local pid c0 t
    pid=$(apply_worker_pid "$3")
    c0=$(cpu_ms_of "$pid")
    t=$(load "$2")
    elapsed[$1]=$(wait_rows "$3" "$t")
    cpu[$1]=$(($(cpu_ms_of "$pid") - c0))
}

run_native() {
    local p=$BASE_PORT s=$((BASE_PORT + 1))
    start_instance native_p $p "" && start_instance native_s $s ""
    create_table $p && create_table $s
    psql_at $p "CREATE PUBLICATION bench_pub FOR TABLE bench" >/dev/null
    psql_at $s "CREATE SUBSCRIPTION bench_sub CONNECTION 'host=$work port=$p dbname=postgres user=postgres' PUBLICATION bench_pub" >/dev/null
    until [ "$(psql_at $s "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ]; do sleep 0.1; done
    measure native $p $s
}

run_pglogical() {
    local p=$((BASE_PORT + 2)) s=$((BASE_PORT + 3))
    start_instance pgl_p $p pglogical && start_instance pgl_s $s pglogical
    create_table $p && create_table $s
    psql_at $p "CREATE EXTENSION pglogical" >/dev/null
    psql_at $s "CREATE EXTENSION pglogical" >/dev/null
    psql_at $p "SELECT pglogical.create_node('p', 'host=$work port=$p dbname=postgres user=postgres')" >/dev/null
    psql_at $s "SELECT pglogical.create_node('s', 'host=$work port=$s dbname=postgres user=postgres')" >/dev/null
    psql_at $p "SELECT pglogical.replication_set_add_table('default', 'bench')" >/dev/null
    psql_at $s "SELECT pglogical.create_subscription('bench_sub', 'host=$work port=$p dbname=postgres user=postgres')" >/dev/null
    until [ "$(psql_at $s "SELECT status FROM pglogical.show_subscription_status('bench_sub')")" = replicating ]; do sleep 0.1; done
    measure pglogical $p $s
}

run_spock() {
    local p=$((BASE_PORT + 4)) s=$((BASE_PORT + 5))
    start_instance spock_p $p spock && start_instance spock_s $s spock
    create_table $p && create_table $s
    psql_at $p "CREATE EXTENSION spock" >/dev/null
    psql_at $s "CREATE EXTENSION spock" >/dev/null
    psql_at $p "SELECT spock.node_create('p', 'host=$work port=$p dbname=postgres user=postgres')" >/dev/null
    psql_at $s "SELECT spock.node_create('s', 'host=$work port=$s dbname=postgres user=postgres')" >/dev/null
    psql_at $p "SELECT spock.repset_add_table('default', 'bench')" >/dev/null
    psql_at $s "SELECT spock.sub_create('bench_sub', 'host=$work port=$p dbname=postgres user=postgres')" >/dev/null
    until [ "$(psql_at $s "SELECT status FROM spock.sub_show_status('bench_sub')")" = replicating ]; do sleep 0.1; done
    measure spock $p $s
}

log "bulk insert of $ROWS rows in one transaction; instances in $work"
run_spock
run_native
run_pglogical

printf '\n%-10s %12s %14s %10s %14s %10s\n' system "apply ms" "rows/s" "vs spock" "apply CPU ms" "vs spock"
for sys in spock native pglogical; do
    ms=${elapsed[$sys]}
    rate=$(awk -v r="$ROWS" -v ms="$ms" 'BEGIN { printf "%.0f", r / (ms / 1000.0) }')
    ratio=$(awk -v a="${elapsed[spock]}" -v b="$ms" 'BEGIN { printf "%.2fx", b / a }')
    cpu_ratio=$(awk -v a="${cpu[spock]}" -v b="${cpu[$sys]}" 'BEGIN { printf "%.2fx", (a > 0 ? b / a : 0) }')
    printf '%-10s %12s %14s %10s %14s %10s\n' "$sys" "$ms" "$rate" "$ratio" "${cpu[$sys]}" "$cpu_ratio"
done
echo "(vs spock: the system's apply time, or its apply worker's CPU time, divided by spock's;"
echo " above 1 means spock is faster or cheaper)"
