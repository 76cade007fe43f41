# Shared by the bench scripts that run two private instances on loopback: a work directory
# removed at exit (every instance in it stopped first), instances with spock's settings,
# psql against them, a millisecond clock. Source it, then
#   bench_init spock-drain          work directory /tmp/spock-drain.XXXXXX, trap set
#   bench_start_instance prov 5491  initdb, spock's settings, the port, then starts it
#   psql_at 5491 "SELECT 1"
# BENCH_KEEP=1 leaves the work directory (logs, data directories) for a look afterwards.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

bench_init() { # PREFIX
    work=$(mktemp -d "/tmp/$1.XXXXXX")
    chmod 755 "$work"
    chown postgres: "$work" 2>/dev/null || true
    bindir=$(pg_bindir)
    trap bench_cleanup EXIT
}

bench_cleanup() {
    local d
    for d in "$work"/*/; do
        [ -f "$d/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        log "BENCH_KEEP=1: leaving $work"
    else
        rm -rf "$work"
    fi
}

# A new instance NAME on PORT (sockets in the work directory, loopback only) with spock's
# settings and the benches' usual sizes, then EXTRA (more postgresql.conf lines) if given.
bench_start_instance() { # NAME PORT [EXTRA]
    local dir="$work/$1"
    as_pg "$bindir/initdb" -D "$dir" -A trust -U postgres >/dev/null
    spock_conf >>"$dir/postgresql.conf"
    cat >>"$dir/postgresql.conf" <<CONF
port = $2
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
shared_buffers = 256MB
max_wal_size = 4GB
synchronous_commit = off
CONF
    if [ -n "${3:-}" ]; then printf '%s\n' "$3" >>"$dir/postgresql.conf"; fi
    as_pg "$bindir/pg_ctl" -D "$dir" -l "$work/$1.log" -w start >/dev/null
}

psql_at() { as_pg "$bindir/psql" -X -q -At -h "$work" -p "$1" -U postgres -d postgres -c "$2"; }
now_ms() { date +%s%3N; }

# The CPU time (user + system, in ms) the apply worker on the subscriber at PORT has used since
# it started: spock's, native logical replication's or pglogical's, whichever runs there. Unlike
# wall-clock times it hardly moves with the load other work puts on a shared machine.
apply_worker_pid() { # PORT
    psql_at "$1" "SELECT pid FROM pg_stat_activity WHERE backend_type IN ('spock apply',
        'logical replication worker') OR backend_type LIKE 'pglogical apply%' ORDER BY pid LIMIT 1"
}
cpu_ms_of() { # PID
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null ||
        echo 0
}
