#!/usr/bin/env bash
# Exception-replay benchmark: how fast a spock subscriber drains a backlog of remote
# transactions that fail on it (Apply-Replay), compared with the same backlog when nothing
# fails. Results and how to read them: docs/performance.md. Each case runs on a fresh
# provider/subscriber pair of local instances:
#
#   a  EXC_XACTS transactions (default 10,000), each inserting one good row and one row that
#      violates CHECK (v >= 0), a constraint only the subscriber has
#   b  the same transactions, the subscriber without the constraint (nothing fails)
#   c  one transaction of EXC_BIG_ROWS good rows (default 200,000) and one bad row at its
#      end: far over spock.exception_replay_queue_size, so it is replayed from the spill file
#   c_baseline  the same transaction, the subscriber without the constraint (nothing fails)
#
# (a) and (c) run under spock.exception_behaviour = discard and = transdiscard, always with
# spock.exception_logging = discard. The subscription is created first and then disabled
# (spock.sub_disable); the provider writes the whole workload; the subscriber gets its
# settings (ALTER SYSTEM + reload) and the clock starts at spock.sub_enable. Two times are
# printed per case:
#   apply      until the subscriber's replication origin is past the provider's last commit
#              (everything applied and committed locally)
#   confirm    until the provider's slot has confirmed_flush_lsn >= the provider's WAL
#              insert position after the workload (the subscriber's flushed feedback; the
#              headline number, xacts/s and rows/s are computed from it)
# and the apply worker's CPU time, its restarts (spock.apply_stats().worker_starts and the pids
# seen) and its peak RSS (/proc/<pid>/status).
#
#   bench/exception_replay.sh
#   EXC_XACTS=2000 EXC_BIG_ROWS=50000 bench/exception_replay.sh
#   EXC_CASES="a_discard b" bench/exception_replay.sh
#
# Environment: EXC_XACTS, EXC_BIG_ROWS, EXC_PORT_BASE (default 58100; case i uses ports
# base+2i and base+2i+1), EXC_CASES (a subset of: a_discard a_transdiscard b c_discard
# c_transdiscard c_baseline), EXC_TIMEOUT (seconds a drain may take before it counts as stuck,
# default 900), EXC_QUEUE_SIZE (sets spock.exception_replay_queue_size on the subscribers),
# EXC_KEEP=1 (keep the instances' directory and logs), PG_CONFIG (the PostgreSQL to run, see
# scripts/private-pg.sh). Needs spock built and installed for that PostgreSQL; run as root
# (servers run as postgres) or as the user that owns them.
#
# It is a benchmark, not a test: not part of CI, and it never fails on a time. It exits
# non-zero only when a subscriber ends up with other rows, spock.exception_log entries or
# spock.apply_stats() counters than the behaviour promises, or a drain never completes.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

N=${EXC_XACTS:-10000}
M=${EXC_BIG_ROWS:-200000}
BASE_PORT=${EXC_PORT_BASE:-58100}
CASES=${EXC_CASES:-"a_discard a_transdiscard b c_discard c_transdiscard c_baseline"}
TIMEOUT=${EXC_TIMEOUT:-900}

bindir=$(pg_bindir)
work=$(mktemp -d /tmp/spock-exc-bench.XXXXXX)
chmod 755 "$work"
chown postgres: "$work" 2>/dev/null || true

cleanup() {
    local d
    for d in "$work"/*/; do
        [ -f "$d/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1
    done
    if [ "${EXC_KEEP:-0}" = 1 ]; then
        log "EXC_KEEP=1: leaving $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The settings every instance gets, printed with the results.
instance_conf() {
    spock_conf
    cat <<'CONF'
shared_buffers = 256MB
max_wal_size = 8GB
checkpoint_timeout = 30min
synchronous_commit = off
fsync = on
log_min_messages = info
CONF
}

# One initdb; every instance is a copy of it.
template_ready=0
queue_size=unknown
make_template() {
    as_pg "$bindir/initdb" -D "$work/template" -A trust -U postgres >/dev/null
    instance_conf >>"$work/template/postgresql.conf"
    template_ready=1
}

start_instance() { # NAME PORT
    local name=$1 port=$2 dir="$work/$1"
    [ "$template_ready" = 1 ] || make_template
    as_pg cp -a "$work/template" "$dir"
    cat >>"$dir/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
CONF
    as_pg "$bindir/pg_ctl" -D "$dir" -l "$work/$name.log" -w start >/dev/null
}

stop_instance() { # NAME
    as_pg "$bindir/pg_ctl" -D "$work/$1" -m fast -w stop >/dev/null 2>&1 || true
}

q() { # PORT SQL...: each SQL is a separate -c (so ALTER SYSTEM works)
    local port=$1
    shift
    local args=()
    local stmt
    for stmt in "$@"; do args+=(-c "$stmt"); done
    as_pg "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres \
        -d postgres "${args[@]}"
}

qs() { # PORT, SQL script on stdin
    as_pg "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$work" -p "$1" -U postgres -d postgres
}

now_ms() { date +%s%3N; }

# sample_anon PID FILE: keeps the largest RssAnon (kB) of PID seen in FILE, every ~10 ms,
# parsing /proc with builtins so that it takes little CPU from the instances.
sample_anon() {
    local pid=$1 out=$2 max=0 k v _
    echo 0 >"$out"
    while [ -r "/proc/$pid/status" ]; do
        while read -r k v _; do
            if [ "$k" = RssAnon: ]; then
                if [ "$v" -gt "$max" ]; then
                    max=$v
                    echo "$max" >"$out"
                fi
                break
            fi
        done <"/proc/$pid/status"
        sleep 0.01
    done
}

log_ms() { # a server log line -> its timestamp in ms since the epoch, or nothing
    local ts
    ts=$(printf '%s' "$1" | awk '{ print $1 " " $2 " " $3 }')
    if [ -n "$1" ]; then date -d "$ts" +%s%3N; fi
}

failures=()
check() { # LABEL ACTUAL EXPECTED
    if [ "$2" != "$3" ]; then
        failures+=("$1: got '$2', expected '$3'")
        printf '  FAIL %s: got %s, expected %s\n' "$1" "$2" "$3" >&2
    fi
}

worker_pid_of() { # PORT -> pid of the running apply worker, or nothing
    q "$1" "SELECT worker_pid FROM spock.get_apply_worker_status() WHERE worker_status = 'running' LIMIT 1"
}

# Results, one entry per case.
declare -A R_CONF R_APPL R_START R_XACTS R_ROWS R_RESTARTS R_PIDS R_HWM R_ANON R_SHM R_CPU R_STATS R_LOG R_TIMES

# run_case NAME KIND BEHAVIOUR CONSTRAINT(yes|no) INDEX
run_case() {
    local name=$1 kind=$2 behaviour=$3 constraint=$4 idx=$5
    local p=$((BASE_PORT + 2 * idx)) s=$((BASE_PORT + 2 * idx + 1))
    local pn="${name}_p" sn="${name}_s"
    log "case $name: provider port $p, subscriber port $s"
    start_instance "$pn" "$p"
    start_instance "$sn" "$s"
    local dsn_p="host=$work port=$p dbname=postgres user=postgres"
    local dsn_s="host=$work port=$s dbname=postgres user=postgres"
    local ddl="CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, pad text)"
    q "$p" "CREATE EXTENSION spock" "$ddl" >/dev/null
    q "$s" "CREATE EXTENSION spock" "$ddl" >/dev/null
    q "$p" "SELECT spock.node_create('p', '$dsn_p')" \
        "SELECT spock.repset_add_table('default', 't')" >/dev/null
    q "$s" "SELECT spock.node_create('s', '$dsn_s')" >/dev/null
    if [ "$constraint" = yes ]; then
        q "$s" "ALTER TABLE t ADD CONSTRAINT t_v_check CHECK (v >= 0)"
    fi
    q "$s" "SELECT spock.sub_create('bench_sub', '$dsn_p')" >/dev/null
    local deadline=$(($(date +%s) + 120))
    until [ "$(q "$s" "SELECT status FROM spock.sub_show_status('bench_sub')")" = replicating ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "case $name: subscription never replicating (see $work/$sn.log)"
        sleep 0.1
    done

    # Disable, and wait until the worker is gone.
    q "$s" "SELECT spock.sub_disable('bench_sub')" >/dev/null
    deadline=$(($(date +%s) + 60))
    while [ -n "$(worker_pid_of "$s")" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "case $name: apply worker did not stop after sub_disable"
        sleep 0.1
    done

    # The workload. mark = the provider's WAL insert position inside the last transaction,
    # before its first change: the last commit ends after it, every earlier one before it.
    local mark wl_start wl_ms xacts rows
    wl_start=$(now_ms)
    if [ "$kind" = small ]; then
        q "$p" "DO \$\$
            BEGIN
                FOR i IN 1..$N - 1 LOOP
                    INSERT INTO t VALUES (i, 1, 'good');
                    INSERT INTO t VALUES (-i, -1, 'bad');
                    COMMIT;
                END LOOP;
            END \$\$" >/dev/null
        mark=$(qs "$p" <<SQL
BEGIN;
SELECT pg_current_wal_insert_lsn() AS mark \\gset
INSERT INTO t VALUES ($N, 1, 'good');
INSERT INTO t VALUES (-$N, -1, 'bad');
COMMIT;
\\echo :mark
SQL
        )
        xacts=$N
        rows=$((2 * N))
    else
        mark=$(qs "$p" <<SQL
BEGIN;
SELECT pg_current_wal_insert_lsn() AS mark \\gset
INSERT INTO t SELECT g, 1, md5(g::text) FROM generate_series(1, $M) g;
INSERT INTO t VALUES (-1, -1, 'bad');
COMMIT;
\\echo :mark
SQL
        )
        xacts=1
        rows=$((M + 1))
    fi
    wl_ms=$(($(now_ms) - wl_start))
    local target
    # The end of the provider's WAL: the insert position, not pg_current_wal_lsn(), which is
    # the write position and lags behind it under synchronous_commit = off (it can be before
    # the last commit). The walsender reports the end of what it decoded in its keepalives,
    # so a caught-up subscriber confirms up to here.
    target=$(q "$p" "SELECT pg_current_wal_insert_lsn()")
    log "case $name: workload written in ${wl_ms} ms; last transaction after $mark, provider at $target"

    q "$s" "ALTER SYSTEM SET spock.exception_behaviour = '$behaviour'" \
        "ALTER SYSTEM SET spock.exception_logging = 'discard'" >/dev/null
    if [ -n "${EXC_QUEUE_SIZE:-}" ]; then
        q "$s" "ALTER SYSTEM SET spock.exception_replay_queue_size = '$EXC_QUEUE_SIZE'" >/dev/null
    fi
    q "$s" "SELECT pg_reload_conf()" >/dev/null
    queue_size=$(q "$s" "SHOW spock.exception_replay_queue_size")
    local starts_before
    starts_before=$(q "$s" "SELECT worker_starts FROM spock.apply_stats() WHERE sub_name = 'bench_sub'")

    # Drain.
    local t0 t_start="" t_appl="" t_conf="" pid="" pids="" hwm=0 anon=0 v line sampler=""
    t0=$(now_ms)
    q "$s" "SELECT spock.sub_enable('bench_sub')" >/dev/null
    deadline=$(($(date +%s) + TIMEOUT))
    while :; do
        line=$(q "$s" "SELECT coalesce((SELECT max(remote_lsn) > '$mark' FROM pg_replication_origin_status), false)
                       || '|' || coalesce((SELECT worker_pid::text FROM spock.get_apply_worker_status()
                                           WHERE worker_status = 'running' LIMIT 1), '')")
        local now applied=${line%%|*}
        pid=${line#*|}
        now=$(now_ms)
        if [ -n "$pid" ]; then
            [ -n "$t_start" ] || t_start=$((now - t0))
            case " $pids " in *" $pid "*) ;; *) pids="${pids:+$pids }$pid" ;; esac
            if [ -z "$sampler" ]; then
                sample_anon "$pid" "$work/$name.anon" &
                sampler=$!
            fi
        fi
        [ -z "$t_appl" ] && [ "$applied" = true ] && t_appl=$((now - t0))
        if [ -n "$t_appl" ] &&
            [ "$(q "$p" "SELECT coalesce(bool_and(confirmed_flush_lsn >= '$target'), false) FROM pg_replication_slots")" = t ]; then
            t_conf=$(($(now_ms) - t0))
            break
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            failures+=("$name: not drained after ${TIMEOUT}s (see $work/$sn.log)")
            log "case $name: NOT drained after ${TIMEOUT}s"
            EXC_KEEP=1
            break
        fi
        sleep 0.02
    done
    # Peak RSS at the end (the worker keeps running): VmHWM counts the shared buffers it
    # touched too, RssAnon (sampled while draining) only its private memory.
    if [ -n "$sampler" ]; then
        kill "$sampler" 2>/dev/null || true
        wait "$sampler" 2>/dev/null || true
        anon=$(cat "$work/$name.anon" 2>/dev/null || echo 0)
    fi
    pid=$(worker_pid_of "$s")
    local shm=0 cpu_ticks=NA
    if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
        v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
        [ "$v" -gt "$hwm" ] && hwm=$v
        shm=$(awk '/^RssShmem:/ {print $2}' "/proc/$pid/status")
        # CPU time of the worker (user + system; it started at sub_enable): unlike the
        # elapsed times, hardly affected by other load on the machine.
        cpu_ticks=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
        case " $pids " in *" $pid "*) ;; *) pids="${pids:+$pids }$pid" ;; esac
    fi

    # Counters and correctness.
    local st
    st=$(q "$s" "SELECT worker_starts || ' ' || xacts_replayed || ' ' || xacts_applied_on_replay || ' '
                        || xacts_partly_applied || ' ' || xacts_discarded || ' ' || xacts_disabled || ' '
                        || changes_discarded || ' ' || xacts_spilled || ' ' || bytes_spilled
                 FROM spock.apply_stats() WHERE sub_name = 'bench_sub'")
    local ws replayed aor partly discarded disabled chdisc spilled spbytes
    read -r ws replayed aor partly discarded disabled chdisc spilled spbytes <<<"$st"
    local restarts=$((ws - starts_before - 1))

    local cnt log_failed log_total
    cnt=$(q "$s" "SELECT count(*) FROM t")
    log_failed=$(q "$s" "SELECT count(*) FROM spock.exception_log WHERE error_message LIKE '[23514]%'")
    log_total=$(q "$s" "SELECT count(*) FROM spock.exception_log")

    local exp_rows exp_failed exp_total
    case "$kind/$behaviour/$constraint" in
        small/discard/yes) exp_rows=$N exp_failed=$N exp_total=$N ;;
        small/transdiscard/yes) exp_rows=0 exp_failed=$N exp_total=$((2 * N)) ;;
        small/*/no) exp_rows=$((2 * N)) exp_failed=0 exp_total=0 ;;
        big/discard/yes) exp_rows=$M exp_failed=1 exp_total=1 ;;
        big/transdiscard/yes) exp_rows=0 exp_failed=1 exp_total=$((M + 1)) ;;
        big/*/no) exp_rows=$((M + 1)) exp_failed=0 exp_total=0 ;;
        *) die "no expectations for $kind/$behaviour/$constraint" ;;
    esac
    check "$name: subscriber rows" "$cnt" "$exp_rows"
    check "$name: exception_log rows for failed changes" "$log_failed" "$exp_failed"
    check "$name: exception_log rows in all (failed + discarded with them)" "$log_total" "$exp_total"
    if [ "$kind" = small ] && [ "$constraint" = yes ]; then
        check "$name: provider rows" "$(q "$p" "SELECT count(*) FROM t")" "$((2 * N))"
        check "$name: apply_stats xacts_replayed" "$replayed" "$N"
        if [ "$behaviour" = discard ]; then
            check "$name: apply_stats xacts_partly_applied" "$partly" "$N"
            check "$name: apply_stats changes_discarded" "$chdisc" "$N"
        else
            check "$name: apply_stats xacts_discarded" "$discarded" "$N"
            check "$name: apply_stats changes_discarded" "$chdisc" "$((2 * N))"
        fi
    fi
    if [ "$kind" = big ] && [ "$constraint" = yes ]; then
        check "$name: apply_stats xacts_replayed" "$replayed" 1
        # Only a transaction well over the 4MB default queue is sure to spill (a row's
        # record is some 60-70 bytes): smaller EXC_BIG_ROWS runs do not check it.
        if [ "$M" -ge 100000 ]; then
            check "$name: apply_stats xacts_spilled" "$spilled" 1
        fi
        local left
        left=$(find "$work/$sn/pg_spock/replay" -mindepth 1 2>/dev/null | wc -l)
        check "$name: files left in pg_spock/replay" "$left" 0
    fi
    if [ "$constraint" = no ]; then
        check "$name: apply_stats xacts_replayed" "$replayed" 0
    fi

    R_CONF[$name]=${t_conf:-NA}
    R_APPL[$name]=${t_appl:-NA}
    R_START[$name]=${t_start:-NA}
    R_XACTS[$name]=$xacts
    R_ROWS[$name]=$rows
    R_RESTARTS[$name]=$restarts
    R_PIDS[$name]=$pids
    R_HWM[$name]=$hwm
    R_ANON[$name]=$anon
    R_SHM[$name]=$shm
    R_CPU[$name]=$(awk -v t="$cpu_ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (t == "NA") print "NA"; else printf "%.2f", t / hz }')
    R_STATS[$name]="replayed=$replayed applied_on_replay=$aor partly=$partly discarded=$discarded disabled=$disabled changes_discarded=$chdisc spilled=$spilled bytes_spilled=$spbytes"
    R_LOG[$name]="rows=$cnt exception_log=$log_total (failed $log_failed)"
    log "case $name: confirmed after ${t_conf:-NA} ms (applied ${t_appl:-NA} ms); $cnt rows"

    # From the subscriber's log: when the first first-pass failure and the last replay were
    # logged, relative to sub_enable (for c: how long the first pass and the replay took).
    local first_fail last_replay nfail
    nfail=$(grep -c 'failed; it is replayed' "$work/$sn.log" || true)
    first_fail=$(log_ms "$(grep -m1 'failed; it is replayed' "$work/$sn.log" || true)")
    last_replay=$(log_ms "$(grep 'LOG:  replayed remote transaction' "$work/$sn.log" | tail -1 || true)")
    R_TIMES[$name]="subscriber log: $nfail first-pass failures"
    if [ -n "$first_fail" ]; then
        R_TIMES[$name]+=", first at +$(secs $((first_fail - t0))) s, last replay done at +$(secs $((last_replay - t0))) s"
    fi
    stop_instance "$sn"
    stop_instance "$pn"
}

rate() { # COUNT MS
    awk -v n="$1" -v ms="$2" 'BEGIN { if (ms == "NA" || ms <= 0 || n <= 1) print "-"; else printf "%.0f", n / (ms / 1000.0) }'
}
secs() {
    awk -v ms="$1" 'BEGIN { if (ms == "NA") print "NA"; else printf "%.2f", ms / 1000.0 }'
}
ratio() { # A B -> A/B as "1.23x"
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b <= 0) print "NA"; else printf "%.2fx", a / b }'
}
mb() {
    awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024.0 }'
}

log "exception replay benchmark: EXC_XACTS=$N EXC_BIG_ROWS=$M; PostgreSQL $("$bindir/postgres" --version); instances in $work"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
i=0
declare -a ran=()
for c in $CASES; do
    case $c in
        a_discard) run_case a_discard small discard yes $i ;;
        a_transdiscard) run_case a_transdiscard small transdiscard yes $i ;;
        b) run_case b small transdiscard no $i ;;
        c_discard) run_case c_discard big discard yes $i ;;
        c_transdiscard) run_case c_transdiscard big transdiscard yes $i ;;
        c_baseline) run_case c_baseline big transdiscard no $i ;;
        *) die "unknown case $c" ;;
    esac
    ran+=("$c")
    i=$((i + 1))
done

echo
echo "Exception replay benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $("$bindir/postgres" --version)"
echo "EXC_XACTS=$N EXC_BIG_ROWS=$M"
echo "instance settings (provider and subscriber):"
instance_conf | sed 's/^/    /'
echo "subscriber, per case: spock.exception_behaviour = <case>, spock.exception_logging = discard,"
if [ -n "${EXC_QUEUE_SIZE:-}" ]; then
    echo "    spock.exception_replay_queue_size = $queue_size (EXC_QUEUE_SIZE=$EXC_QUEUE_SIZE)"
else
    echo "    spock.exception_replay_queue_size = $queue_size (not set: the default)"
fi
echo "load average before/after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-15s %6s %7s %7s %7s %9s %7s %8s %7s %8s %9s %10s %11s\n' \
    case xacts rows "start s" "apply s" "confirm s" "cpu s" xacts/s rows/s restarts "VmHWM MB" "RssAnon MB" "RssShmem MB"
for c in "${ran[@]}"; do
    printf '%-15s %6s %7s %7s %7s %9s %7s %8s %7s %8s %9s %10s %11s\n' "$c" "${R_XACTS[$c]}" "${R_ROWS[$c]}" \
        "$(secs "${R_START[$c]}")" "$(secs "${R_APPL[$c]}")" "$(secs "${R_CONF[$c]}")" "${R_CPU[$c]}" \
        "$(rate "${R_XACTS[$c]}" "${R_CONF[$c]}")" "$(rate "${R_ROWS[$c]}" "${R_CONF[$c]}")" \
        "${R_RESTARTS[$c]}" "$(mb "${R_HWM[$c]}")" "$(mb "${R_ANON[$c]}")" "$(mb "${R_SHM[$c]}")"
done
echo
for c in "${ran[@]}"; do
    echo "$c: ${R_LOG[$c]}; apply_stats ${R_STATS[$c]}; worker pid(s) ${R_PIDS[$c]}; ${R_TIMES[$c]}"
done
echo
if [ -n "${R_CONF[b]:-}" ]; then
    for c in a_discard a_transdiscard; do
        [ -n "${R_CONF[$c]:-}" ] || continue
        echo "$c / b: confirm $(ratio "${R_CONF[$c]}" "${R_CONF[b]}"), apply $(ratio "${R_APPL[$c]}" "${R_APPL[b]}")," \
            "worker cpu $(ratio "${R_CPU[$c]}" "${R_CPU[b]}")"
    done
fi
if [ -n "${R_CONF[c_baseline]:-}" ]; then
    for c in c_discard c_transdiscard; do
        [ -n "${R_CONF[$c]:-}" ] || continue
        echo "$c / c_baseline: confirm $(ratio "${R_CONF[$c]}" "${R_CONF[c_baseline]}")," \
            "apply $(ratio "${R_APPL[$c]}" "${R_APPL[c_baseline]}"), worker cpu $(ratio "${R_CPU[$c]}" "${R_CPU[c_baseline]}")"
    done
fi
echo "start s: sub_enable until the apply worker shows as running; apply s: until the subscriber's"
echo "origin passed the provider's last commit; confirm s: until the provider's slot confirmed the"
echo "provider's WAL insert position (rates use it). All from sub_enable, including worker"
echo "start. cpu s: user + system CPU time of the apply worker (it starts at sub_enable)."
echo "VmHWM: the worker's peak RSS at the end (includes shared buffers it touched); RssAnon: its"
echo "largest private (anonymous) RSS sampled every ~10 ms while draining; RssShmem: its"
echo "shared memory RSS at the end (shared buffers touched, part of VmHWM)."

if [ ${#failures[@]} -gt 0 ]; then
    echo
    echo "CORRECTNESS FAILURES:"
    printf '  %s\n' "${failures[@]}"
    exit 1
fi
echo "all correctness checks passed"
