#!/usr/bin/env bash
# The apply worker's own cost of draining a backlog, for judging a change to the apply path on a
# shared machine: a provider and a subscriber with spock, a backlog written while the apply
# worker waits on a lock the script holds, then the lock is released and the script measures
# the apply worker's CPU time (user + system from /proc/PID/stat) until the provider's slot has
# confirmed everything. CPU time hardly moves with the load of other work, unlike wall-clock
# time. With PERF=1 the worker is recorded with `perf record -F 2000 --call-graph dwarf` into
# OUT (default /tmp/spock-apply.perf) while it drains; with PERF=stat its system calls and context
# switches are counted (perf stat) into OUT. With PERF=callgrind the subscriber runs under
# valgrind's callgrind (slow: use a few thousand transactions) and the instructions the apply
# worker executes from its wait for the script's lock to its exit are counted, a measure that
# does not move with the machine's load (perf's hardware counters are not available in every
# virtual machine); the worker's profile is saved to OUT (callgrind_annotate OUT). Only the row
# counts can fail it.
#
#   WORKLOAD=small   XACTS single-row INSERT transactions (pgbench, 4 clients)      (default)
#   WORKLOAD=pgbench XACTS pgbench TPC-B-like transactions (8 clients, scale 1), as bench W3
#   WORKLOAD=update  XACTS transactions of UPDATES_PER single-row UPDATEs by key, as bench W5
#   WORKLOAD=toast   XACTS transactions of ROWS_PER rows with a 4 kB text column stored out of
#                    line (STORAGE EXTERNAL), as the insert phase of bench W6
#   WORKLOAD=bulk    XACTS transactions (XACTS=4: one per client) of ROWS_PER rows
#                    (bigint key, int, ~40-character text), as bench W1
#
#   PG_CONFIG=... XACTS=40000 ROUNDS=3 bench/profile_apply.sh
#   PG_CONFIG=... WORKLOAD=pgbench PERF=1 OUT=/tmp/w3.perf bench/profile_apply.sh
#   SYSTEM=native PERF=stat EXTRA_CONF='wal_writer_flush_after = 0' bench/profile_apply.sh
#   PERF=callgrind XACTS=4000 [SYSTEM=native] [WORKLOAD=pgbench] bench/profile_apply.sh
# EXTRA_CONF: more postgresql.conf lines for both instances.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

WORKLOAD=${WORKLOAD:-small}
XACTS=${XACTS:-20000}
ROUNDS=${ROUNDS:-1}
UPDATES_PER=${UPDATES_PER:-100}
ROWS_PER=${ROWS_PER:-1000}
PERF=${PERF:-0}
OUT=${OUT:-/tmp/spock-apply.perf}
BASE_PORT=${BENCH_PORT_BASE:-5491}
SYSTEM=${SYSTEM:-spock}  # or native: PostgreSQL's logical replication, for comparison
bench_init spock-profile

p=$BASE_PORT
s=$((BASE_PORT + 1))
for port in $p $s; do
    name=prov
    [ "$port" = "$s" ] && name=sub
    if [ "$SYSTEM" = spock ]; then
        bench_start_instance "$name" "$port" "shared_preload_libraries = 'spock'
${EXTRA_CONF:-}"
        psql_at "$port" "CREATE EXTENSION spock" >/dev/null
    else
        bench_start_instance "$name" "$port" "${EXTRA_CONF:-}"
    fi
    if [ "$PERF" = callgrind ] && [ "$name" = sub ]; then
        # The subscriber again, under callgrind. Costs are zeroed when a process starts to wait
        # for a heavyweight lock (ProcSleep): for the apply worker, the wait for the script's lock
        # just before each round's drain, so its profile at exit holds the last round's drain.
        mkdir -p "$work/cg"
        chown postgres: "$work/cg"
        cat >"$work/postgres-cg" <<WRAP
#!/bin/sh
exec valgrind -q --tool=callgrind --zero-before=ProcSleep --callgrind-out-file=$work/cg/cg.%p $bindir/postgres "\$@"
WRAP
        chmod 755 "$work/postgres-cg"
        as_pg "$bindir/pg_ctl" -D "$work/sub" -w stop >/dev/null
        as_pg "$bindir/pg_ctl" -D "$work/sub" -p "$work/postgres-cg" -l "$work/sub.log" -w -t 600 \
            start >/dev/null
    fi
    case $WORKLOAD in
        small) psql_at "$port" "CREATE TABLE t (id bigserial PRIMARY KEY, v int)" >/dev/null ;;
        pgbench)
            as_pg "$bindir/pgbench" -i -q -s 1 -h "$work" -p "$port" -U postgres postgres >/dev/null 2>&1
            psql_at "$port" "ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY" >/dev/null
            ;;
        update)
            psql_at "$port" "CREATE TABLE t (id int PRIMARY KEY, v bigint NOT NULL DEFAULT 0)" >/dev/null
            psql_at "$port" "INSERT INTO t (id) SELECT g FROM generate_series(1, 100000) g" >/dev/null
            ;;
        bulk)
            psql_at "$port" "CREATE TABLE t (id bigserial PRIMARY KEY, n int NOT NULL, body text NOT NULL)" >/dev/null
            ;;
        toast)
            psql_at "$port" "CREATE TABLE t (id bigserial PRIMARY KEY, n int NOT NULL, body text NOT NULL);
                ALTER TABLE t ALTER COLUMN body SET STORAGE EXTERNAL" >/dev/null
            ;;
        *) die "unknown WORKLOAD $WORKLOAD (small, pgbench, update, toast, bulk)" ;;
    esac
done
case $WORKLOAD in
    pgbench) tables="pgbench_accounts pgbench_branches pgbench_tellers pgbench_history" ;;
    *) tables=t ;;
esac
if [ "$SYSTEM" = spock ]; then
    psql_at $p "SELECT spock.node_create('p', 'host=$work port=$p dbname=postgres user=postgres')" >/dev/null
    psql_at $s "SELECT spock.node_create('s', 'host=$work port=$s dbname=postgres user=postgres')" >/dev/null
    for t in $tables; do
        psql_at $p "SELECT spock.repset_add_table('default', '$t')" >/dev/null
    done
    psql_at $s "SELECT spock.sub_create('drain', 'host=$work port=$p dbname=postgres user=postgres')" >/dev/null
    until [ "$(psql_at $s "SELECT status FROM spock.sub_show_status('drain')")" = replicating ]; do
        sleep 0.1
    done
else
    psql_at $p "CREATE PUBLICATION drain FOR TABLE ${tables// /, }" >/dev/null
    psql_at $s "CREATE SUBSCRIPTION drain CONNECTION 'host=$work port=$p dbname=postgres user=postgres'
        PUBLICATION drain WITH (copy_data = false)" >/dev/null
    until [ -n "$(apply_worker_pid $s)" ]; do
        sleep 0.1
    done
fi

case $WORKLOAD in
    small) echo "INSERT INTO t (v) VALUES (1);" >"$work/load.sql" ;;
    bulk)
        echo "INSERT INTO t (n, body) SELECT g, md5(g::text) || 'abcdefgh' FROM generate_series(1, $ROWS_PER) g;" >"$work/load.sql"
        ;;
    toast)
        echo "INSERT INTO t (n, body) SELECT g, repeat(md5(g::text || random()::text), 128)
              FROM generate_series(1, $ROWS_PER) g;" | tr -d '\n' >"$work/load.sql"
        ;;
    update)
        {
            echo "BEGIN;"
            for _ in $(seq 1 "$UPDATES_PER"); do
                echo "UPDATE t SET v = v + 1 WHERE id = (random() * 99999)::int + 1;"
            done
            echo "COMMIT;"
        } >"$work/load.sql"
        ;;
esac
[ -f "$work/load.sql" ] && chown postgres: "$work/load.sql"
locktables=${tables// /, }
log "$SYSTEM, $WORKLOAD: $XACTS transactions x $ROUNDS rounds, PostgreSQL (and spock) from $(pg_config_path)"
total_cpu=0
total_ms=0
for round in $(seq 1 "$ROUNDS"); do
    pid=$(apply_worker_pid $s)
    # The worker stops at its first change while this session holds the tables.
    PGAPPNAME=locker as_pg "$bindir/psql" -X -q -h "$work" -p $s -U postgres -d postgres \
        -c "BEGIN; LOCK TABLE $locktables; SELECT pg_sleep(3600)" >/dev/null 2>&1 &
    until [ "$(psql_at $s "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE a.application_name = 'locker' AND l.mode = 'AccessExclusiveLock' AND l.granted
            AND l.locktype = 'relation'")" -ge 1 ]; do
        sleep 0.05
    done
    case $WORKLOAD in
        pgbench) as_pg "$bindir/pgbench" -n -h "$work" -p $p -U postgres -c 8 -j 2 -t $((XACTS / 8)) postgres >/dev/null ;;
        update) as_pg "$bindir/pgbench" -n -h "$work" -p $p -U postgres -c 4 -t $((XACTS / 4)) -f "$work/load.sql" postgres >/dev/null ;;
        *) as_pg "$bindir/pgbench" -n -h "$work" -p $p -U postgres -c 4 -t $((XACTS / 4)) -f "$work/load.sql" postgres >/dev/null ;;
    esac
    # The insert position: pg_current_wal_lsn() is the write position, which lags
    # behind it under synchronous_commit = off (it can be before the last commit).
    lsn=$(psql_at $p "SELECT pg_current_wal_insert_lsn()")
    # The worker is now waiting for the lock; give it a moment to have received a backlog.
    until [ "$(psql_at $s "SELECT count(*) FROM pg_locks WHERE pid = $pid AND NOT granted")" -ge 1 ]; do
        sleep 0.05
    done
    perf_pid=
    if [ "$PERF" = 1 ]; then
        perf record -F 2000 --call-graph dwarf,16384 -p "$pid" -o "$OUT" >/dev/null 2>&1 &
        perf_pid=$!
        sleep 1
    elif [ "$PERF" = callgrind ]; then
        :
    elif [ "$PERF" = stat ]; then
        # System calls and context switches of the worker (kill: latch wake-ups of others).
        perf stat -x, -o "$OUT" -e "syscalls:sys_enter_kill,syscalls:sys_enter_recvfrom,\
syscalls:sys_enter_sendto,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_write,context-switches" \
            -p "$pid" >/dev/null 2>&1 &
        perf_pid=$!
        sleep 1
    fi
    cpu0=$(cpu_ms_of "$pid")
    # The provider's walsender: while the worker waited it decoded until the connection's
    # buffers were full; most of its work for the backlog falls into the drain.
    wpid=$(psql_at $p "SELECT pid FROM pg_stat_replication ORDER BY pid LIMIT 1")
    wcpu0=$(cpu_ms_of "$wpid")
    wal0=$(psql_at $s "SELECT pg_current_wal_lsn()")
    start=$(now_ms)
    psql_at $s "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'locker'" >/dev/null
    until [ "$(psql_at $p "SELECT bool_and(confirmed_flush_lsn >= '$lsn') FROM pg_replication_slots")" = t ]; do
        sleep 0.02
    done
    ms=$(($(now_ms) - start))
    cpu=$(($(cpu_ms_of "$pid") - cpu0))
    wcpu=$(($(cpu_ms_of "$wpid") - wcpu0))
    wal=$(psql_at $s "SELECT pg_current_wal_lsn() - '$wal0'")
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid"
        wait "$perf_pid" || true
    fi
    wait || true
    total_cpu=$((total_cpu + cpu))
    total_ms=$((total_ms + ms))
    printf 'round %d: %d transactions drained in %6d ms (%6d tx/s), apply CPU %5d ms = %5d ms per 100,000 transactions, subscriber WAL %d bytes per transaction; provider walsender CPU %d ms\n' \
        "$round" "$XACTS" "$ms" "$((XACTS * 1000 / (ms > 0 ? ms : 1)))" "$cpu" "$((cpu * 100000 / XACTS))" "$((${wal%.*} / XACTS))" "$wcpu"
done

for t in $tables; do
    n_p=$(psql_at $p "SELECT count(*) FROM $t")
    n_s=$(psql_at $s "SELECT count(*) FROM $t")
    [ "$n_p" = "$n_s" ] || die "$t: provider has $n_p rows, subscriber $n_s"
done
printf 'mean: apply CPU %d ms per 100,000 transactions, %d tx/s (rows equal on both sides)\n' \
    "$((total_cpu * 100000 / (XACTS * ROUNDS)))" "$((XACTS * ROUNDS * 1000 / (total_ms > 0 ? total_ms : 1)))"
[ "$PERF" = 1 ] && echo "perf data: $OUT (perf report -i $OUT --no-children)"
if [ "$PERF" = callgrind ]; then
    pid=$(apply_worker_pid $s)
    as_pg "$bindir/pg_ctl" -D "$work/sub" -m fast -w -t 600 stop >/dev/null
    [ -f "$work/cg/cg.$pid" ] || die "no callgrind profile of the apply worker ($work/cg/cg.$pid)"
    cp "$work/cg/cg.$pid" "$OUT"
    ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$OUT" | head -1)
    [ -n "$ir" ] || ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$OUT" | head -1)
    printf 'apply worker instructions (last round, lock wait to exit): %d = %d per transaction; profile: %s (callgrind_annotate --inclusive=yes %s)\n' \
        "$ir" "$((ir / XACTS))" "$OUT" "$OUT"
fi
[ "$PERF" = stat ] && grep -v '^#' "$OUT" | awk -F, 'NF > 2 { printf "  %12s %s\n", $1, $3 }'
exit 0
