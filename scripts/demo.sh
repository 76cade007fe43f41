#!/usr/bin/env bash
# A local three-node spock demo on loopback.
#
#   scripts/demo.sh [start]   install what is missing, build and install spock when needed,
#                             start three PostgreSQL 15 instances with spock, and say what runs
#   scripts/demo.sh add-node  add a fourth node n4 to the running mesh with CALL spock.add_node
#                             while a write load runs on n1-n3, then compare all four nodes
#                             (exit 1 unless every replicated table is identical everywhere)
#   scripts/demo.sh status    show each node (exit 0 when all of them run, 3 otherwise)
#   scripts/demo.sh stop      stop all nodes (the data stays)
#   scripts/demo.sh clean     stop them and delete the demo directory
#
# Environment:
#   SPOCK_DEMO_DIR=/tmp/spock-demo   where data, logs and sockets live
#   SPOCK_DEMO_PORT_BASE=5441        n1, n2, n3 (and n4) listen on BASE, BASE+1, BASE+2 (BASE+3)
#   PG_CONFIG=...                    the PostgreSQL 15 installation to use (default: Debian's)
#   SPOCK_SKIP_APT=1                 do not run apt-get
#   SPOCK_DEMO_REBUILD=1             build and install even when the installed build looks current
#   SPOCK_BUILD_DIR=...              CMake build directory (default: build/ in the repository)
#
# The directory remembers the port base and the PostgreSQL installation it was created with, so
# status, stop and a second start need no environment. Running start twice is harmless.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

nodes=(n1 n2 n3)  # the mesh that start makes; add-node adds n4
db=demo
demo_dir=${SPOCK_DEMO_DIR:-/tmp/spock-demo}
case $demo_dir in
/*) ;;
*) demo_dir="$PWD/$demo_dir" ;;
esac
demo_dir=${demo_dir%/}
state_file="$demo_dir/demo.env"

# --- where things are --------------------------------------------------------------------

# Reads the settings the demo directory was created with, and checks that explicit overrides
# agree with them: a running demo cannot move to other ports or another PostgreSQL.
load_state() {
    port_base=${SPOCK_DEMO_PORT_BASE:-5441}
    if [ -f "$state_file" ]; then
        local saved_base saved_pg_config
        saved_base=$(sed -n 's/^PORT_BASE=//p' "$state_file")
        saved_pg_config=$(sed -n 's/^PG_CONFIG=//p' "$state_file")
        if [ -n "${SPOCK_DEMO_PORT_BASE:-}" ] && [ "$SPOCK_DEMO_PORT_BASE" != "$saved_base" ]; then
            die "$demo_dir was created with SPOCK_DEMO_PORT_BASE=$saved_base; use that, or run
       'scripts/demo.sh clean' first (or pick another SPOCK_DEMO_DIR)"
        fi
        if [ -n "${PG_CONFIG:-}" ] && [ "$PG_CONFIG" != "$saved_pg_config" ]; then
            die "$demo_dir was created with PG_CONFIG=$saved_pg_config; use that, or run
       'scripts/demo.sh clean' first (or pick another SPOCK_DEMO_DIR)"
        fi
        port_base=$saved_base
        export PG_CONFIG=$saved_pg_config
    fi
    case $port_base in
    '' | *[!0-9]*) die "SPOCK_DEMO_PORT_BASE must be a number, not '$port_base'" ;;
    esac
}

pg_config_bin() { pg_config_path; }
bindir() { "$(pg_config_bin)" --bindir; }
node_port() { echo $((port_base + $1)); }     # index 0, 1, 2 (3 for n4)
node_data() { echo "$demo_dir/$1"; }
node_log() { echo "$demo_dir/$1.log"; }
node_dsn() { echo "host=127.0.0.1 port=$(node_port "$2") dbname=$db user=postgres"; }
psql_cmd() { echo "$(bindir)/psql -h 127.0.0.1 -p $1 -U postgres $db"; }

# Runs one SQL command on a node and prints the unaligned result. Extra args go to psql.
sql() { # port dbname sql [psql args...]
    local port=$1 dbn=$2 query=$3
    shift 3
    "$(bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$dbn" \
        -tA "$@" -c "$query"
}

# The demo's instances: n1-n3, and n4 once add-node has created it.
demo_nodes() {
    printf '%s\n' n1 n2 n3
    if [ -f "$(node_data n4)/PG_VERSION" ]; then echo n4; fi
}
node_index() { echo $((${1#n} - 1)); }

is_running() { # name
    [ -f "$(node_data "$1")/PG_VERSION" ] &&
        as_pg "$(bindir)/pg_ctl" status -D "$(node_data "$1")" >/dev/null 2>&1
}

# --- start ---------------------------------------------------------------------------------

# True when spock must be built and installed: the build directory has no spock.so, a source
# file is newer than it, or the installed spock.so (or a file beside it) is missing or differs
# from the build. The build itself is incremental, so a rebuild of unchanged sources is quick.
needs_build() {
    [ "${SPOCK_DEMO_REBUILD:-0}" = 1 ] && return 0
    local pkglibdir sharedir built=$SPOCK_BUILD_DIR/spock.so
    pkglibdir=$("$(pg_config_bin)" --pkglibdir)
    sharedir=$("$(pg_config_bin)" --sharedir)
    [ -f "$built" ] && [ -f "$pkglibdir/spock_output.so" ] &&
        [ -f "$sharedir/extension/spock.control" ] &&
        cmp -s "$built" "$pkglibdir/spock.so" || return 0
    [ -n "$(find "$SPOCK_ROOT/src" "$SPOCK_ROOT/include" "$SPOCK_ROOT/sql" \
        "$SPOCK_ROOT/CMakeLists.txt" "$SPOCK_ROOT/spock.control" \
        -newer "$built" -type f -print -quit)" ]
}

# The demo directory: ours (it has demo.env) or new. Owned by postgres when we are root.
prepare_dir() {
    if [ -d "$demo_dir" ] && [ ! -f "$state_file" ] &&
        [ -n "$(ls -A "$demo_dir" 2>/dev/null)" ]; then
        die "$demo_dir exists, is not empty and is not a spock demo directory; set SPOCK_DEMO_DIR"
    fi
    mkdir -p "$demo_dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$demo_dir"
    fi
    as_pg test -w "$demo_dir" -a -x "$demo_dir" ||
        die "$demo_dir is not writable by the user that runs PostgreSQL ($(as_pg id -un));" \
            "choose another SPOCK_DEMO_DIR"
    if [ ! -f "$state_file" ]; then
        printf 'PORT_BASE=%s\nPG_CONFIG=%s\n' "$port_base" "$(pg_config_bin)" >"$state_file"
    fi
}

# The settings file each node includes from postgresql.conf. Rewritten on every start, so it
# follows spock_conf in scripts/lib.sh.
write_settings() { # name index
    local data
    data=$(node_data "$1")
    {
        echo "# Written by scripts/demo.sh on every start; change spock_conf in scripts/lib.sh."
        spock_conf
        echo "port = $(node_port "$2")"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$demo_dir'"
        echo "cluster_name = 'spock-demo-$1'"
    } | as_pg tee "$data/spock_demo.conf" >/dev/null
}

init_node() { # name index
    local name=$1 data
    data=$(node_data "$name")
    if [ ! -f "$data/PG_VERSION" ]; then
        log "$name: initdb in $data"
        as_pg "$(bindir)/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C \
            >"$demo_dir/$name.initdb.log" 2>&1 ||
            die "initdb for $name failed; see $demo_dir/$name.initdb.log"
        echo "include_if_exists = 'spock_demo.conf'" | as_pg tee -a "$data/postgresql.conf" \
            >/dev/null
    fi
    write_settings "$name" "$2"
}

start_node() { # name index restart
    local name=$1 port data logf
    port=$(node_port "$2")
    data=$(node_data "$name")
    logf=$(node_log "$name")
    if is_running "$name"; then
        if [ "$3" = restart ]; then
            log "$name: restarting to load the newly installed spock"
            as_pg "$(bindir)/pg_ctl" restart -D "$data" -l "$logf" -w -m fast >/dev/null ||
                fail_start "$name"
        else
            log "$name: already running on port $port"
        fi
        return
    fi
    if "$(bindir)/pg_isready" -q -h 127.0.0.1 -p "$port"; then
        die "port $port is taken by another server; set SPOCK_DEMO_PORT_BASE (with a new" \
            "SPOCK_DEMO_DIR) or stop that server"
    fi
    log "$name: starting on port $port"
    as_pg "$(bindir)/pg_ctl" start -D "$data" -l "$logf" -w >/dev/null || fail_start "$name"
}

fail_start() { # name
    printf 'error: %s did not start; the end of its log (%s):\n' "$1" "$(node_log "$1")" >&2
    tail -n 20 "$(node_log "$1")" >&2 || true
    exit 1
}

# Creates database demo and the extension. When the installed extension script changed since
# the extension was created here (development builds keep the version number), the extension is
# created afresh so that the demo has the current catalog and functions.
setup_database() { # name index
    local name=$1 port sum saved
    port=$(node_port "$2")
    if [ -z "$(sql "$port" postgres "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
        sql "$port" postgres "CREATE DATABASE $db"
    fi
    sum=$(cat "$("$(pg_config_bin)" --sharedir)"/extension/spock--*.sql | cksum | cut -d' ' -f1)
    saved=$(sed -n "s/^SQL_CKSUM_$name=//p" "$state_file")
    if [ -n "$(sql "$port" "$db" "SELECT 1 FROM pg_extension WHERE extname = 'spock'")" ]; then
        if [ "$sum" != "$saved" ]; then
            log "$name: spock's SQL script changed since the demo created the extension;" \
                "creating it again (the demo's spock nodes are dropped with it)"
            sql "$port" "$db" "DROP EXTENSION spock CASCADE" >/dev/null
            create_extension "$name" "$port"
        fi
    else
        create_extension "$name" "$port"
    fi
    sed -i "/^SQL_CKSUM_$name=/d" "$state_file"
    echo "SQL_CKSUM_$name=$sum" >>"$state_file"
}

create_extension() { # name port
    sql "$2" "$db" "CREATE EXTENSION spock" ||
        die "CREATE EXTENSION spock failed in database $db of $1 (error above). The server runs;" \
            "the installed spock build does not match its SQL script, or the sources are" \
            "mid-change. Fix the build and run scripts/demo.sh again."
}

have_function() { # port name
    [ "$(sql "$1" "$db" "SELECT count(*) FROM pg_proc p JOIN pg_namespace n
        ON n.oid = p.pronamespace WHERE n.nspname = 'spock' AND p.proname = '$2'")" != 0 ]
}

# ============================================================================================
# REPLICATION SETUP: a spock node per instance, a full mesh of subscriptions (each node
# subscribes to the other two), a demo table in the default replication set, and one row
# written on every node, shown arriving everywhere.
# ============================================================================================
setup_replication() {
    local i j name port failed=0
    if ! have_function "$(node_port 0)" sub_create; then
        replication_note="This build has no subscriptions (spock.sub_create is missing): the three
servers run spock, but do not replicate."
        return
    fi
    for i in 0 1 2; do
        name=${nodes[$i]}
        port=$(node_port "$i")
        if [ "$(sql "$port" "$db" "SELECT count(*) FROM spock.local_node")" != 0 ]; then
            log "$name: spock node already exists"
        else
            log "$name: creating spock node $name"
            if ! sql "$port" "$db" "SELECT spock.node_create(node_name := '$name',
                    dsn := '$(node_dsn "$name" "$i")')" >/dev/null 2>"$demo_dir/$name.err"; then
                log "$name: spock.node_create failed:"
                cat "$demo_dir/$name.err" >&2
                failed=$((failed + 1))
                continue
            fi
        fi
        # The demo table, in the default replication set (which replicates every change).
        sql "$port" "$db" "CREATE TABLE IF NOT EXISTS demo_items (
                id int PRIMARY KEY, written_on text NOT NULL, note text,
                written_at timestamptz NOT NULL DEFAULT now())" >/dev/null
        if [ "$(sql "$port" "$db" "SELECT count(*) FROM spock.tables
                WHERE relname = 'demo_items' AND set_name = 'default'")" = 0 ]; then
            sql "$port" "$db" "SELECT spock.repset_add_table('default', 'demo_items')" >/dev/null
        fi
    done
    if [ "$failed" != 0 ]; then
        replication_note="spock.node_create failed on $failed instance(s) (see above)."
        return
    fi
    # Every node subscribes to the other two.
    for i in 0 1 2; do
        for j in 0 1 2; do
            [ "$i" = "$j" ] && continue
            local sub="sub_${nodes[$j]}_${nodes[$i]}"
            port=$(node_port "$i")
            if [ "$(sql "$port" "$db" "SELECT count(*) FROM spock.subscription
                    WHERE sub_name = '$sub'")" = 0 ]; then
                log "${nodes[$i]}: subscribing to ${nodes[$j]} ($sub)"
                sql "$port" "$db" "SELECT spock.sub_create('$sub',
                        '$(node_dsn "${nodes[$j]}" "$j")')" >/dev/null
            fi
        done
    done
    for i in 0 1 2; do
        wait_for "$(node_port "$i")" "SELECT count(*) >= 2 FROM spock.sub_show_status()
            WHERE status = 'replicating'" "${nodes[$i]}: subscriptions replicating" ||
            { replication_note="Subscriptions did not reach 'replicating'; see the logs."; return; }
    done
    # One row written on each node ...
    local stamp
    stamp=$(date +%H:%M:%S)
    for i in 0 1 2; do
        sql "$(node_port "$i")" "$db" "INSERT INTO demo_items (id, written_on, note)
            SELECT coalesce(max(id) + 1, $i * 1000000 + 1), '${nodes[$i]}', 'demo run at $stamp'
            FROM demo_items WHERE id / 1000000 = $i" >/dev/null
    done
    # ... arrives on every node.
    for i in 0 1 2; do
        wait_for "$(node_port "$i")" "SELECT count(*) >= 3 AND count(*) FILTER
            (WHERE note = 'demo run at $stamp') = 3 FROM demo_items" \
            "${nodes[$i]}: rows from all three nodes arrived" ||
            { replication_note="Rows did not arrive everywhere; see the logs."; return; }
    done
    replication_note="Replication: each node subscribes to every other (a full mesh). This run
wrote one row on each node; every node now has all three:
$(for i in 0 1 2; do
    echo "  on ${nodes[$i]}:"
    sql "$(node_port "$i")" "$db" "SELECT '    id ' || id || ' written on ' || written_on
        FROM demo_items WHERE note = 'demo run at $stamp' ORDER BY written_on"
done)
Try it: insert into demo_items on any node and select it on the others."
}

# wait_for PORT SQL WHAT: polls SQL (which returns t/f) every 0.2 s for up to 60 s.
wait_for() {
    local port=$1 query=$2 what=$3 n
    for n in $(seq 1 300); do
        if [ "$(sql "$port" "$db" "$query" 2>/dev/null)" = t ]; then
            log "$what"
            return 0
        fi
        sleep 0.2
    done
    log "timed out waiting: $what"
    return 1
}

print_nodes() {
    local name port
    echo
    echo "spock nodes:"
    for name in $(demo_nodes); do
        port=$(node_port "$(node_index "$name")")
        if [ -n "$(sql "$port" "$db" "SELECT 1 FROM pg_class c JOIN pg_namespace n
                ON n.oid = c.relnamespace WHERE n.nspname = 'spock' AND c.relname = 'node'")" ]; then
            sql "$port" "$db" "SELECT node_name || ' (node_id ' || node_id || ')'
                FROM spock.node ORDER BY node_name" | sed "s/^/  known on $name: /"
        fi
    done
}

print_summary() {
    local name port version
    echo
    echo "spock demo: $(demo_nodes | wc -l) PostgreSQL 15 instances on 127.0.0.1 (database '$db', user postgres)"
    echo
    printf '  %-4s %-6s %-6s %-28s %s\n' node port spock "data directory" "log file"
    for name in $(demo_nodes); do
        port=$(node_port "$(node_index "$name")")
        version=$(sql "$port" "$db" "SELECT spock.spock_version()" 2>/dev/null || echo '?')
        printf '  %-4s %-6s %-6s %-28s %s\n' "$name" "$port" "$version" "$(node_data "$name")" \
            "$(node_log "$name")"
    done
    echo
    echo "Connect:"
    for name in $(demo_nodes); do
        printf '  %s:  %s\n' "$name" "$(psql_cmd "$(node_port "$(node_index "$name")")")"
    done
    if [ -n "${show_nodes:-}" ]; then
        print_nodes
    fi
    echo
    echo "$replication_note"
    echo
    if [ ! -f "$(node_data n4)/PG_VERSION" ]; then
        echo "Next: add a fourth node live, under a write load:  scripts/demo.sh add-node"
    fi
    echo "Status: scripts/demo.sh status    Stop: scripts/demo.sh stop    Remove: scripts/demo.sh clean"
}

cmd_start() {
    ensure_packages
    load_state
    [ -x "$(pg_config_bin)" ] || die "pg_config not found ($(pg_config_bin)); install" \
        "postgresql-server-dev-15 or set PG_CONFIG"
    local restart=no i
    if needs_build; then
        build_and_install
        restart=restart
    else
        log "spock in $("$(pg_config_bin)" --pkglibdir) is the current build of the sources"
    fi
    prepare_dir
    local name
    for name in $(demo_nodes); do
        init_node "$name" "$(node_index "$name")"
        start_node "$name" "$(node_index "$name")" "$restart"
    done
    for name in $(demo_nodes); do
        setup_database "$name" "$(node_index "$name")"
    done
    replication_note=""
    show_nodes=""
    setup_replication
    if have_function "$(node_port 0)" node_create; then show_nodes=1; fi
    print_summary
}

source "$(dirname "$0")/demo-add-node.sh"

# --- status, stop, clean -------------------------------------------------------------------

no_demo() {
    if [ ! -f "$state_file" ]; then
        echo "No spock demo in $demo_dir (start one with scripts/demo.sh)."
        return 0
    fi
    return 1
}

cmd_status() {
    no_demo && return 3
    load_state
    local name port running=0 total=0 pid extra
    echo "spock demo in $demo_dir (PostgreSQL from $(bindir))"
    printf '  %-4s %-6s %-8s %-8s %s\n' node port state pid "connect with"
    for name in $(demo_nodes); do
        port=$(node_port "$(node_index "$name")")
        total=$((total + 1))
        if is_running "$name"; then
            running=$((running + 1))
            pid=$(head -1 "$(node_data "$name")/postmaster.pid")
            extra=$(sql "$port" "$db" "SELECT 'spock ' || spock.spock_version()" 2>/dev/null ||
                echo 'spock not installed in database demo')
            printf '  %-4s %-6s %-8s %-8s %s   (%s)\n' "$name" "$port" running "$pid" \
                "$(psql_cmd "$port")" "$extra"
        else
            printf '  %-4s %-6s %-8s %-8s %s\n' "$name" "$port" stopped - "log: $(node_log "$name")"
        fi
    done
    echo "$running of $total nodes running."
    [ "$running" = "$total" ] || return 3
}

cmd_stop() {
    if no_demo; then
        echo "Nothing to stop."
        return 0
    fi
    load_state
    local name stopped=0
    for name in $(demo_nodes); do
        if is_running "$name"; then
            as_pg "$(bindir)/pg_ctl" stop -D "$(node_data "$name")" -m fast -w >/dev/null
            echo "stopped $name"
            stopped=$((stopped + 1))
        fi
    done
    if [ "$stopped" = 0 ]; then
        echo "Nothing to stop: no demo node is running in $demo_dir."
    else
        echo "Stopped $stopped demo node(s). The data stays in $demo_dir:" \
            "scripts/demo.sh starts them again, scripts/demo.sh clean removes it."
    fi
}

cmd_clean() {
    if no_demo; then return 0; fi
    cmd_stop
    rm -rf -- "$demo_dir"
    echo "Removed $demo_dir."
}

case ${1:-start} in
start) cmd_start ;;
add-node) cmd_add_node ;;
status) cmd_status ;;
stop) cmd_stop ;;
clean) cmd_clean ;;
-h | --help | help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' ;;
*) die "unknown command '$1' (try: start, add-node, status, stop, clean)" ;;
esac
