# scripts/demo.sh add-node: a fourth node joins the running three-node mesh with
# CALL spock.add_node while n1, n2 and n3 take writes, and then all four are compared.
# Sourced by scripts/demo.sh (it uses its helpers); do not run it on its own.

# The write load. Each node inserts rows of its own id range (node i: i*1000000 + 1 ...) and
# updates the ten shared rows (ids 9000001-9000010) that the other two update at the same time.
# Statements run in one psql session per node until $load_stop exists; psql's errors go to
# load.<node>.err, and the number of rounds to load.<node>.rounds.
shared_lo=9000001
shared_hi=9000010

load_loop() { # index
    local i=$1 name=${nodes[$1]} round=0
    while [ ! -f "$load_stop" ]; do
        round=$((round + 1))
        echo "INSERT INTO demo_items (id, written_on, note)
              SELECT coalesce(max(id), $i * 1000000) + 1, '$name', 'load round $round'
              FROM demo_items WHERE id > $i * 1000000 AND id < ($i + 1) * 1000000;"
        echo "UPDATE demo_items SET note = '$name round $round', written_at = now()
              WHERE id = $((shared_lo + (round * 7 + i) % 10));"
        echo "$round" >"$demo_dir/load.$name.rounds"
        sleep 0.02
    done | "$(bindir)/psql" -X -q -h 127.0.0.1 -p "$(node_port "$i")" -U postgres -d "$db" \
        >/dev/null 2>"$demo_dir/load.$name.err"
}

start_load() {
    local i
    load_stop="$demo_dir/load.stop"
    rm -f "$load_stop" "$demo_dir"/load.n?.err "$demo_dir"/load.n?.rounds
    sql "$(node_port 0)" "$db" "INSERT INTO demo_items (id, written_on, note)
        SELECT g, 'n1', 'shared row' FROM generate_series($shared_lo, $shared_hi) g
        ON CONFLICT (id) DO NOTHING" >/dev/null
    for i in 1 2; do
        wait_for "$(node_port "$i")" "SELECT count(*) = 10 FROM demo_items
            WHERE id BETWEEN $shared_lo AND $shared_hi" "${nodes[$i]}: the shared rows arrived" ||
            die "the shared rows did not reach ${nodes[$i]}; see $(node_log "${nodes[$i]}")"
    done
    load_pids=()
    for i in 0 1 2; do
        load_loop "$i" &
        load_pids+=($!)
    done
    log "write load running on n1, n2 and n3 (inserts of their own rows, updates of shared rows)"
}

# Stops the load and says how much it wrote; fails when a client saw an error.
stop_load() {
    local name rounds errors=0
    [ -n "${load_stop:-}" ] || return 0
    touch "$load_stop"
    wait "${load_pids[@]}" 2>/dev/null || true
    for name in "${nodes[@]}"; do
        rounds=$(cat "$demo_dir/load.$name.rounds" 2>/dev/null || echo 0)
        log "load on $name: $rounds rounds (an insert and an update each)," \
            "$(grep -c ERROR "$demo_dir/load.$name.err" || true) client errors"
        if grep -q ERROR "$demo_dir/load.$name.err"; then
            errors=1
            sed 's/^/    /' "$demo_dir/load.$name.err" | head -5 >&2
        fi
    done
    load_stop=""
    [ "$errors" = 0 ] || die "the write load saw errors during the add (above)"
}

# Every node applies a sync event of every other node: after the load, all caught up.
wait_caught_up() {
    local from to lsn res
    for from in $(demo_nodes); do
        lsn=$(sql "$(node_port "$(node_index "$from")")" "$db" "SELECT spock.sync_event()")
        for to in $(demo_nodes); do
            [ "$from" = "$to" ] && continue
            res=$(sql "$(node_port "$(node_index "$to")")" "$db" \
                "CALL spock.wait_for_sync_event(NULL, '$from'::name, '$lsn'::pg_lsn, 120)") ||
                die "$to could not wait for the changes of $from (error above)"
            [ "$res" = t ] ||
                die "$to did not apply the changes of $from within 120 s; see $(node_log "$to")"
        done
    done
    log "every node has applied every other node's changes"
}

# Per node and replicated table: the row count and md5 of the rows in order. Exit 1 when any
# node differs from n1.
compare_nodes() {
    local t name port line ref bad=0
    local tables
    tables=$(sql "$(node_port 0)" "$db" "SELECT DISTINCT format('%I.%I', nspname, relname)
        FROM spock.tables WHERE set_name IS NOT NULL ORDER BY 1")
    echo
    echo "Every replicated table on every node (rows, md5 of the rows in order):"
    for t in $tables; do
        ref=""
        for name in $(demo_nodes); do
            port=$(node_port "$(node_index "$name")")
            line=$(sql "$port" "$db" "SELECT count(*) || ' rows, md5 ' ||
                coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '-') FROM $t x")
            printf '  %-4s %-24s %s\n' "$name" "$t" "$line"
            if [ -z "$ref" ]; then
                ref=$line
            elif [ "$line" != "$ref" ]; then
                bad=1
            fi
        done
    done
    echo
    if [ "$bad" != 0 ]; then
        echo "NOT IDENTICAL: the nodes differ (above). Logs: $demo_dir/n?.log" >&2
        exit 1
    fi
    echo "identical: every replicated table has the same rows on all $(demo_nodes | wc -l) nodes."
}

show_subscriptions() {
    local name
    echo
    echo "Subscriptions (each node subscribes to every other):"
    for name in $(demo_nodes); do
        sql "$(node_port "$(node_index "$name")")" "$db" "SELECT '  on $name: ' ||
            string_agg(subscription_name || ' ' || status, ', ' ORDER BY subscription_name)
            FROM spock.sub_show_status()"
    done
}

cmd_add_node() {
    no_demo && die "no demo in $demo_dir: run scripts/demo.sh start first"
    load_state
    local name dsn1 dsn4 state
    for name in "${nodes[@]}"; do
        is_running "$name" || die "$name is not running: run scripts/demo.sh start first"
    done
    have_function "$(node_port 0)" add_node ||
        die "this spock build has no spock.add_node; rebuild (scripts/demo.sh start)"
    [ "$(sql "$(node_port 0)" "$db" "SELECT count(*) FROM spock.local_node")" = 1 ] ||
        die "n1 is not a spock node: scripts/demo.sh start did not finish; run it again"
    init_node n4 3
    start_node n4 3 no
    setup_database n4 3
    dsn1=$(node_dsn n1 0)
    dsn4=$(node_dsn n4 3)
    state=$(sql "$(node_port 3)" "$db" "SELECT CASE
        WHEN NOT EXISTS (SELECT 1 FROM spock.local_node) THEN 'new'
        WHEN EXISTS (SELECT 1 FROM spock.add_node_status WHERE state <> 'done') THEN 'unfinished'
        ELSE 'node' END")
    trap stop_load EXIT
    case $state in
    node)
        log "n4 is already a node of the mesh (added by an earlier run); showing the comparison"
        ;;
    new | unfinished)
        if [ "$state" = new ]; then
            log "n4: checking add_node's prerequisites (CALL spock.health_check ... 'pre')"
            sql "$(node_port 3)" "$db" "CALL spock.health_check('n1', '$dsn1', 'n4', '$dsn4',
                'pre', true)" || die "n4 cannot be added (above); nothing was changed"
        else
            log "n4: an earlier add did not finish; calling add_node again resumes it"
        fi
        start_load
        log "n4: CALL spock.add_node('n1', '$dsn1', 'n4', '$dsn4', verb := true)"
        local started=$SECONDS
        if ! sql "$(node_port 3)" "$db" "CALL spock.add_node('n1', '$dsn1', 'n4', '$dsn4',
                verb := true)"; then
            stop_load || true
            die "add_node failed (above). Run scripts/demo.sh add-node again to resume, or" \
                "CALL spock.remove_node('n4') on n4 to undo; see spock.add_node_status on n4."
        fi
        log "n4 joined in $((SECONDS - started)) s while the load ran"
        stop_load
        ;;
    esac
    trap - EXIT
    wait_caught_up
    sql "$(node_port 3)" "$db" "CALL spock.health_check('n1', '$dsn1', 'n4', '$dsn4', 'post')" ||
        die "health_check 'post' failed (above)"
    show_subscriptions
    compare_nodes
}
