# The side-by-side harness of bench/w*.sh and bench/run_all.sh: fresh provider/subscriber
# pairs of local instances for each replication system (spock, native publication/subscription,
# pglogical) with identical server settings, the ways to pause and resume each system, the
# clocks (a marker row), samplers of the apply worker's peak memory and of the lag, the
# correctness check (row counts and md5 digests on both sides), and the report (median and
# min-max per figure, the ratio spock / best peer, CSV and Markdown). Source it; see
# bench/run_all.sh for the environment it reads.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

SB_SYSTEMS=${BENCH_SYSTEMS:-spock native pglogical}
# BENCH_PARALLEL="1 2 4": spock once per number of apply processes (spock.parallel_apply_workers),
# as systems spock (1, serial), spock-p2, spock-p4, next to the others in the same run.
if [ -n "${BENCH_PARALLEL:-}" ]; then
    sb_expanded=
    for sb_s in $SB_SYSTEMS; do
        if [ "$sb_s" = spock ]; then
            for sb_n in $BENCH_PARALLEL; do
                if [ "$sb_n" = 1 ]; then sb_expanded+="spock "; else sb_expanded+="spock-p$sb_n "; fi
            done
        else
            sb_expanded+="$sb_s "
        fi
    done
    SB_SYSTEMS=${sb_expanded% }
fi
ROUNDS=${ROUNDS:-2}
SB_PORT=${BENCH_PORT_BASE:-5501}
SB_TIMEOUT=${BENCH_TIMEOUT:-900}
SB_FULL=0
[ "${BENCH_SIZE:-short}" = full ] && SB_FULL=1
sb_failed=0

# sb_size SHORT FULL: the default size of a workload parameter for BENCH_SIZE.
sb_size() { if [ "$SB_FULL" = 1 ]; then echo "$2"; else echo "$1"; fi; }
SB_PGBENCH_SCALE=${BENCH_PGBENCH_SCALE:-$(sb_size 1 10)}

# The server settings every instance of every system gets. Only shared_preload_libraries
# differs: it names the system's own library (none for native).
sb_settings() {
    cat <<CONF
output_plugin_libraries = 'pgoutput, test_decoding, spock_output, pglogical_output'
wal_level = logical
track_commit_timestamp = on
max_replication_slots = 16
max_wal_senders = 16
max_worker_processes = 24
shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 30min
synchronous_commit = off
fsync = on
listen_addresses = '127.0.0.1'
CONF
    if [ -n "${BENCH_EXTRA_CONF:-}" ]; then printf '%s\n' "$BENCH_EXTRA_CONF"; fi
}

sb_preload() { # SYSTEM
    case $1 in spock | spock-p*) echo spock ;; pglogical) echo pglogical ;; *) echo "" ;; esac
}

# sb_init NAME: work directory (removed at exit, instances stopped first), a template data
# directory every instance is copied from, and the output directory BENCH_OUT (CSV, Markdown).
sb_init() {
    work=$(mktemp -d "/tmp/spock-$1.XXXXXX")
    chmod 755 "$work"
    chown postgres: "$work" 2>/dev/null || true
    bindir=$(pg_bindir)
    trap sb_cleanup EXIT
    if [ -z "${BENCH_OUT:-}" ]; then
        BENCH_OUT=$(mktemp -d "/tmp/spock-bench-results.XXXXXX")
        SB_OWN_OUT=1
    fi
    mkdir -p "$BENCH_OUT" "$work/logs"
    chown postgres: "$work/logs" 2>/dev/null || true
    as_pg "$bindir/initdb" -D "$work/template" -A trust -U postgres >/dev/null
}

sb_cleanup() {
    sb_stop_samplers
    local d
    for d in "$work"/*/; do
        if [ -f "$d/postmaster.pid" ]; then
            as_pg "$bindir/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
        fi
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then log "BENCH_KEEP=1: leaving $work"; else rm -rf "$work"; fi
}

sb_sql() { # PORT SQL: one statement, unaligned output, stops on error
    as_pg env PGOPTIONS='-c client_min_messages=warning' "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$work" -p "$1" -U postgres -d postgres -c "$2"
}
now_ms() { date +%s%3N; }
sb_dsn() { echo "host=$work port=$1 dbname=postgres user=postgres"; }

# sb_pair_start SYSTEM TAG: a fresh provider ($P) and subscriber ($S) for SYSTEM, copied from the
# template, with the settings above; each gets the marker table bench_mark (one row, v = 0).
sb_pair_start() {
    SB_SYS=$1
    SB_TAG=$2
    P=$SB_PORT
    S=$((SB_PORT + 1))
    local name port
    for name in prov sub; do
        port=$P
        [ $name = sub ] && port=$S
        rm -rf "${work:?}/$name"
        cp -a "$work/template" "$work/$name"
        {
            sb_settings
            echo "shared_preload_libraries = '$(sb_preload "$SB_SYS")'"
            case $SB_SYS in spock-p*) echo "spock.parallel_apply_workers = ${SB_SYS#spock-p}" ;; esac
            echo "port = $port"
            echo "unix_socket_directories = '$work'"
        } >>"$work/$name/postgresql.conf"
        as_pg "$bindir/pg_ctl" -D "$work/$name" -l "$work/logs/$SB_TAG-$name.log" -w start >/dev/null ||
            die "$SB_TAG: $name did not start (see $work/logs/$SB_TAG-$name.log)"
        sb_sql $port "CREATE TABLE bench_mark (id int PRIMARY KEY, v bigint NOT NULL);
                      INSERT INTO bench_mark VALUES (1, 0)"
    done
}

sb_pair_stop() {
    sb_stop_samplers
    local name
    for name in prov sub; do
        as_pg "$bindir/pg_ctl" -D "$work/$name" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "${work:?}/$name"
    done
    if grep -h 'terminated by signal' "$work/logs/$SB_TAG-"*.log 2>/dev/null | grep -v 'signal 9:'; then
        sb_fail "$SB_TAG: a server process died of a signal"
    fi
}

sb_fail() {
    printf '\n*** FAILED: %s ***\n\n' "$*" >&2
    echo "$*" >>"$BENCH_OUT/failures.txt"
    mkdir -p "$BENCH_OUT/logs"
    cp "$work/logs/$SB_TAG-"*.log "$BENCH_OUT/logs/" 2>/dev/null || true
    sb_failed=1
}

sb_both() { sb_sql $P "$1" && sb_sql $S "$1"; }

# sb_wait WHAT SQL PORT EXPECTED: polls until SQL on PORT prints EXPECTED; dies after
# BENCH_TIMEOUT seconds (a system that never catches up has lost something).
sb_wait() {
    local what=$1 sql=$2 port=$3 want=$4 deadline=$(($(date +%s) + SB_TIMEOUT)) got
    while :; do
        got=$(sb_sql "$port" "$sql" 2>/dev/null || true)
        [ "$got" = "$want" ] && return 0
        if [ "$(date +%s)" -ge "$deadline" ]; then
            sb_fail "$SB_TAG: timed out after ${SB_TIMEOUT}s waiting for $what (last: '$got')"
            exit 1
        fi
        sleep 0.02
    done
}

# sb_subscribe TABLE...: replicates bench_mark and the TABLEs from $P to $S with the system
# of the pair, without an initial copy (both sides hold the same rows already), and waits until
# a marker written on the provider is visible on the subscriber.
sb_subscribe() {
    local t tables=("bench_mark" "$@") list dsn
    dsn=$(sb_dsn $P)
    list=$(
        IFS=,
        echo "${tables[*]}"
    )
    case $SB_SYS in
    spock | spock-p*)
        sb_both "CREATE EXTENSION spock" >/dev/null
        sb_sql $P "SELECT spock.node_create('p', '$dsn')" >/dev/null
        sb_sql $S "SELECT spock.node_create('s', '$(sb_dsn $S)')" >/dev/null
        for t in "${tables[@]}"; do sb_sql $P "SELECT spock.repset_add_table('default', '$t')" >/dev/null; done
        sb_sql $S "SELECT spock.sub_create('bench_sub', '$dsn', synchronize_data := false)" >/dev/null
        # the slot is made by the apply worker: changes count from when it replicates
        sb_wait "the subscription to replicate" \
            "SELECT status FROM spock.sub_show_status('bench_sub')" $S replicating
        ;;
    native)
        sb_sql $P "CREATE PUBLICATION bench_pub FOR TABLE $list"
        sb_sql $S "CREATE SUBSCRIPTION bench_sub CONNECTION '$dsn' PUBLICATION bench_pub WITH (copy_data = false)"
        ;;
    pglogical)
        sb_both "CREATE EXTENSION pglogical" >/dev/null
        sb_sql $P "SELECT pglogical.create_node('p', '$dsn')" >/dev/null
        sb_sql $S "SELECT pglogical.create_node('s', '$(sb_dsn $S)')" >/dev/null
        for t in "${tables[@]}"; do sb_sql $P "SELECT pglogical.replication_set_add_table('default', '$t')" >/dev/null; done
        sb_sql $S "SELECT pglogical.create_subscription('bench_sub', '$dsn', synchronize_data := false, forward_origins := '{}')" >/dev/null
        sb_wait "the subscription to replicate" \
            "SELECT status FROM pglogical.show_subscription_status('bench_sub')" $S replicating
        ;;
    *) die "unknown system $SB_SYS" ;;
    esac
    SB_MARK=0
    sb_mark
    sb_mark_wait >/dev/null
}

# The apply worker of the subscriber (empty when none runs).
sb_apply_pid() {
    sb_sql $S "SELECT pid FROM pg_stat_activity WHERE backend_type IN
               ('spock apply', 'logical replication worker')
                  OR backend_type LIKE 'pglogical apply %' ORDER BY pid LIMIT 1" 2>/dev/null || true
}

# CPU time (user + system, ms) used so far by the subscriber's apply processes: the apply
# worker and, with spock.parallel_apply_workers > 1, its parallel apply processes.
sb_apply_cpu_ms() {
    local pids pid total=0 hz
    hz=$(getconf CLK_TCK)
    pids=$(sb_sql $S "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE backend_type IN
                      ('spock apply', 'spock parallel apply', 'logical replication worker')
                         OR backend_type LIKE 'pglogical apply %'" 2>/dev/null || true)
    for pid in $pids; do
        total=$((total + $(awk -v hz="$hz" '{ printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

# Pause: the subscription disabled and its apply worker gone. Resume: enabled again, and
# returns once its apply worker runs (drains are timed from there: native logical replication's
# launcher may wait up to wal_retrieve_retry_interval before it starts a worker again).
sb_pause() {
    case $SB_SYS in
    spock | spock-p*) sb_sql $S "SELECT spock.sub_disable('bench_sub', true)" >/dev/null ;;
    native) sb_sql $S "ALTER SUBSCRIPTION bench_sub DISABLE" ;;
    pglogical) sb_sql $S "SELECT pglogical.alter_subscription_disable('bench_sub', true)" >/dev/null ;;
    esac
    sb_wait "the apply worker to stop" "SELECT count(*) FROM pg_stat_activity WHERE backend_type IN
             ('spock apply', 'logical replication worker') OR backend_type LIKE 'pglogical apply %'" $S 0
}
sb_resume() {
    case $SB_SYS in
    spock | spock-p*) sb_sql $S "SELECT spock.sub_enable('bench_sub', true)" >/dev/null ;;
    native) sb_sql $S "ALTER SUBSCRIPTION bench_sub ENABLE" ;;
    pglogical) sb_sql $S "SELECT pglogical.alter_subscription_enable('bench_sub', true)" >/dev/null ;;
    esac
    local deadline=$(($(date +%s) + SB_TIMEOUT))
    until [ -n "$(sb_apply_pid)" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || { sb_fail "$SB_TAG: no apply worker after resume"; exit 1; }
        sleep 0.01
    done
}

# sb_mark: commits the next marker value on the provider (after the workload, so it is the
# last transaction to apply). sb_mark_wait [SINCE_MS]: waits until the subscriber shows it and
# prints the milliseconds since SINCE_MS (default: now).
sb_mark() {
    SB_MARK=$((SB_MARK + 1))
    sb_sql $P "UPDATE bench_mark SET v = $SB_MARK"
}
sb_mark_wait() {
    local since=${1:-$(now_ms)}
    sb_wait "marker $SB_MARK on the subscriber" "SELECT v FROM bench_mark" $S $SB_MARK
    echo $(($(now_ms) - since))
}

# Peak memory of the apply worker, sampled every 0.2 s from /proc while a workload runs:
# VmHWM (the kernel's high-water mark of its RSS, shared buffers it touched included) and the
# largest RssAnon (private memory) seen. sb_rss_stop prints "VmHWM_MB RssAnon_MB".
sb_rss_start() {
    SB_RSS_FILE="$work/rss.$SB_TAG"
    echo "0 0" >"$SB_RSS_FILE"
    (
        trap - EXIT
        pid="" hwm=0 anon=0
        while :; do
            if [ -z "$pid" ] || [ ! -r "/proc/$pid/status" ]; then pid=$(sb_apply_pid); fi
            if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
                while read -r k v _; do
                    case $k in
                    VmHWM:) [ "$v" -gt "$hwm" ] && hwm=$v ;;
                    RssAnon:) [ "$v" -gt "$anon" ] && anon=$v ;;
                    esac
                done <"/proc/$pid/status" 2>/dev/null || true
                echo "$hwm $anon" >"$SB_RSS_FILE.tmp" && mv "$SB_RSS_FILE.tmp" "$SB_RSS_FILE"
            fi
            sleep 0.2
        done
    ) &
    SB_RSS_PID=$!
}
sb_rss_stop() {
    if [ -n "${SB_RSS_PID:-}" ]; then
        kill "$SB_RSS_PID" 2>/dev/null || true
        wait "$SB_RSS_PID" 2>/dev/null || true
    fi
    SB_RSS_PID=""
    awk '{ printf "%.1f %.1f\n", $1 / 1024, $2 / 1024 }' "$SB_RSS_FILE"
}

# Lag while a load runs, sampled each second: the provider's WAL position against the
# subscriber's replication origin (every system keeps one per subscription). sb_lag_stop
# prints "max_bytes max_seconds"; the seconds are how long ago the provider wrote the
# position the subscriber had applied (interpolated between samples).
sb_lag_start() {
    SB_LAG_FILE="$work/lag.$SB_TAG"
    : >"$SB_LAG_FILE"
    (
        trap - EXIT
        while :; do
            t=$(now_ms)
            p=$(sb_sql $P "SELECT pg_current_wal_insert_lsn() - '0/0'" 2>/dev/null || true)
            s=$(sb_sql $S "SELECT coalesce(max(remote_lsn - '0/0'), 0) FROM pg_replication_origin_status" 2>/dev/null || true)
            [ -n "$p" ] && [ -n "$s" ] && echo "$t $p $s" >>"$SB_LAG_FILE"
            sleep 1
        done
    ) &
    SB_LAG_PID=$!
}
sb_lag_stop() {
    if [ -n "${SB_LAG_PID:-}" ]; then
        kill "$SB_LAG_PID" 2>/dev/null || true
        wait "$SB_LAG_PID" 2>/dev/null || true
    fi
    SB_LAG_PID=""
    awk '{ t[NR] = $1; p[NR] = $2; s[NR] = $3 }
         END {
            mb = 0; ms = 0
            for (i = 1; i <= NR; i++) {
                b = p[i] - s[i]; if (b < 0) b = 0; if (b > mb) mb = b
                if (b == 0) continue
                # first sample at which the provider had reached what the subscriber applied
                for (j = 1; j <= i && p[j] < s[i]; j++) ;
                if (j == 1) at = t[1]
                else at = t[j-1] + (s[i] - p[j-1]) * (t[j] - t[j-1]) / (p[j] - p[j-1])
                lag = t[i] - at; if (lag > ms) ms = lag
            }
            printf "%d %.2f\n", mb, ms / 1000
         }' "$SB_LAG_FILE"
}

sb_stop_samplers() {
    if [ -n "${SB_RSS_PID:-}" ]; then kill "$SB_RSS_PID" 2>/dev/null || true; fi
    if [ -n "${SB_LAG_PID:-}" ]; then kill "$SB_LAG_PID" 2>/dev/null || true; fi
    SB_RSS_PID=""
    SB_LAG_PID=""
    wait 2>/dev/null || true
}

# sb_check TABLE...: row count and md5 digest of each TABLE equal on both sides; prints them.
# A difference is recorded as a failure (the run then exits non-zero).
sb_check() {
    local t a b q
    # BENCH_DIVERGE_TEST=1 deletes a row on the subscriber first, to see the check fail
    if [ "${BENCH_DIVERGE_TEST:-0}" = 1 ] && [ $# -gt 0 ]; then
        sb_sql $S "DELETE FROM $1 WHERE ctid = (SELECT min(ctid) FROM $1)"
    fi
    for t in bench_mark "$@"; do
        q="SELECT count(*) || ' ' || coalesce(md5(string_agg(h, '' ORDER BY h)), '-')
           FROM (SELECT md5(x::text) h FROM $t x) d"
        a=$(sb_sql $P "$q")
        b=$(sb_sql $S "$q")
        if [ "$a" = "$b" ]; then
            log "$SB_TAG: $t identical: ${a% *} rows, md5 ${a#* }"
        else
            sb_fail "$SB_TAG: $t DIVERGED: provider ${a% *} rows md5 ${a#* }, subscriber ${b% *} rows md5 ${b#* }"
        fi
    done
}

# sb_record WORKLOAD FIGURE UNIT BETTER(higher|lower) VALUE, for the current pair and round.
sb_record() {
    [ -f "$BENCH_OUT/results.csv" ] ||
        echo "workload,figure,unit,better,system,round,value" >"$BENCH_OUT/results.csv"
    echo "$1,$2,$3,$4,$SB_SYS,$SB_ROUND,$5" >>"$BENCH_OUT/results.csv"
    printf '    %-4s %-9s round %s: %-28s %12s %s\n' "$1" "$SB_SYS" "$SB_ROUND" "$2" "$5" "$3" >&2
}
sb_rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", n * 1000 / (ms > 0 ? ms : 1) }'; }
sb_secs() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }

# The systems in the order of round R: rotated by one each round.
sb_order() {
    local -a s
    read -r -a s <<<"$SB_SYSTEMS"
    local n=${#s[@]} i
    for ((i = 0; i < n; i++)); do printf '%s ' "${s[$(((i + $1 - 1) % n))]}"; done
}

# sb_main WORKLOAD FUNCTION: ROUNDS rounds; in each, every system in the round's order gets a
# fresh pair, FUNCTION runs the workload on it (and records its figures), the pair goes.
sb_main() {
    local wl=$1 fn=$2 sys
    for SB_ROUND in $(seq 1 "$ROUNDS"); do
        for sys in $(sb_order "$SB_ROUND"); do
            log "$(date +%T) $wl round $SB_ROUND/$ROUNDS: $sys"
            sb_pair_start "$sys" "$wl-$sys-r$SB_ROUND"
            sb_rss_start
            "$fn"
            read -r hwm anon < <(sb_rss_stop)
            sb_record "$wl" "apply peak VmHWM" MB lower "$hwm"
            sb_record "$wl" "apply peak RssAnon" MB lower "$anon"
            sb_pair_stop
        done
    done
    sb_report "$wl"
    if [ "${SB_OWN_OUT:-0}" = 1 ]; then log "results in $BENCH_OUT"; fi
    if [ "$sb_failed" != 0 ]; then
        printf '\n*** %s: CORRECTNESS CHECK FAILED (see %s/failures.txt) ***\n' "$wl" "$BENCH_OUT" >&2
        exit 1
    fi
}

# sb_report [WORKLOAD]: median (min-max) of every figure per system, and spock / best peer
# (best = highest median for rates, lowest for times, lag and memory), from results.csv into
# summary.csv and results.md (all workloads when WORKLOAD is not given). Prints the table.
sb_report() {
    local only=${1:-}
    awk -F, -v only="$only" -v systems="$SB_SYSTEMS" '
        NR == 1 { next }
        only != "" && $1 != only { next }
        {
            k = $1 SUBSEP $2
            if (!(k in seen)) { seen[k] = 1; keys[++nk] = k; unit[k] = $3; better[k] = $4 }
            g = k SUBSEP $5
            v[g, ++n[g]] = $7 + 0
        }
        function fmt(x) { return (x >= 100) ? sprintf("%.0f", x) : sprintf("%.2f", x) }
        END {
            ns = split(systems, sys, " ")
            hdr = "| workload | figure | unit |"
            sep = "|---|---|---|"
            for (i = 1; i <= ns; i++) { hdr = hdr " " sys[i] " |"; sep = sep "---|" }
            print hdr " spock / best peer |" > md
            print sep "---|" > md
            print "workload,figure,unit,better,system,rounds,median,min,max" > csv
            for (q = 1; q <= nk; q++) {
                k = keys[q]; split(k, kk, SUBSEP)
                line = "| " kk[1] " | " kk[2] " | " unit[k] " |"
                best = ""; sp = ""
                for (i = 1; i <= ns; i++) {
                    g = k SUBSEP sys[i]; m = n[g]
                    if (m == 0) { line = line " - |"; continue }
                    for (a = 1; a <= m; a++) w[a] = v[g, a]
                    for (a = 2; a <= m; a++) { x = w[a]; for (b = a - 1; b >= 1 && w[b] > x; b--) w[b+1] = w[b]; w[b+1] = x }
                    med = (m % 2) ? w[(m + 1) / 2] : (w[m / 2] + w[m / 2 + 1]) / 2
                    line = line " " fmt(med) " (" fmt(w[1]) "-" fmt(w[m]) ") |"
                    print kk[1] "," kk[2] "," unit[k] "," better[k] "," sys[i] "," m "," med "," w[1] "," w[m] > csv
                    if (sys[i] == "spock") sp = med
                    else if (sys[i] ~ /^spock-p/) continue  # spock itself, not a peer
                    else if (best == "" || (better[k] == "higher" ? med > best : med < best)) best = med
                }
                r = (sp == "" || best == "" || best == 0) ? "-" : sprintf("%.2f (%s better)", sp / best, better[k])
                print line " " r " |" > md
            }
        }' md="$BENCH_OUT/results${only:+-$only}.md" csv="$BENCH_OUT/summary${only:+-$only}.csv" \
        "$BENCH_OUT/results.csv"
    echo
    cat "$BENCH_OUT/results${only:+-$only}.md"
}

# What the figures were measured on: machine, versions, sizes, settings.
sb_header() {
    echo "Side-by-side replication benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)), $(free -m | awk '/^Mem:/ { printf "%.1f GiB", $2 / 1024 }') memory, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "PostgreSQL: $("$bindir/postgres" --version); pglogical $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$("$(pg_config_path)" --sharedir)/extension/pglogical.control")"
    echo "spock: $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$SPOCK_ROOT/spock.control") built from $(git -C "$SPOCK_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') (PG_CONFIG=$(pg_config_path))"
    echo "systems: $SB_SYSTEMS; rounds: $ROUNDS (order rotated each round); BENCH_SIZE=${BENCH_SIZE:-short}"
    echo "settings of every instance (provider and subscriber, all systems):"
    sb_settings | sed 's/^/    /'
    echo "    shared_preload_libraries = 'spock' | '' (native) | 'pglogical'"
    echo "    spock-pN: spock with spock.parallel_apply_workers = N on the subscriber (BENCH_PARALLEL)"
}

# pgbench's tables at BENCH_PGBENCH_SCALE on both sides (the same rows: pgbench -i is
# deterministic), pgbench_history with a key so that every system can replicate it.
SB_PGBENCH_TABLES="pgbench_accounts pgbench_branches pgbench_tellers pgbench_history"
sb_pgbench_init() {
    local port
    for port in $P $S; do
        as_pg "$bindir/pgbench" -i -q -s "$SB_PGBENCH_SCALE" -h "$work" -p "$port" -U postgres postgres \
            >>"$work/logs/$SB_TAG-pgbench-init.log" 2>&1 || die "$SB_TAG: pgbench -i failed"
        sb_sql "$port" "ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY"
    done
}

# sb_pgbench OUTFILE ARGS...: pgbench against the provider; prints its tps.
sb_pgbench() {
    local out=$1
    shift
    as_pg "$bindir/pgbench" -n -h "$work" -p "$P" -U postgres "$@" postgres >"$out" 2>&1 ||
        { cat "$out" >&2; die "$SB_TAG: pgbench failed"; }
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | head -1
}

# sb_file NAME TEXT: a file in the work directory the postgres user can read (pgbench -f).
sb_file() {
    printf '%s\n' "$2" >"$work/$1"
    chown postgres: "$work/$1" 2>/dev/null || true
    echo "$work/$1"
}
