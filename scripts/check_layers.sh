#!/usr/bin/env bash
# Checks the layering of docs/architecture.md ("Layers") by reading the #include lines:
#
#   core     (src/core, include/spock/core, test/unit)  no PostgreSQL header, only spock/core
#   pg       (src/pg, include/spock/pg)                  spock/core and spock/pg only
#   catalog  (src/catalog, include/spock/catalog)        spock/core, spock/pg, spock/catalog
#   features (every other directory of src/ and include/spock/: apply, output, sql, sync,
#            worker, ...)  core, pg, catalog, their own headers, and of another feature only
#            the public headers listed in PUBLIC_HEADERS below
#   src/module.cpp, the composition root, may include anything.
#
# No include may climb out of its directory with "../". Every violation is printed as
# file:line: what; the exit status is 1 when there is any, 0 otherwise.
#
#   scripts/check_layers.sh [SOURCE_ROOT]
set -uo pipefail

root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}

# The public interface of a feature to other features, and why each one crosses:
PUBLIC_HEADERS=(
    worker/shmem.hpp        # the shared worker table and apply counters (apply, SQL functions)
    worker/status.hpp       # worker status for the SQL functions (sub_show_status, ...)
    worker/notify.hpp       # wake the supervisor/manager at commit (SQL functions, apply)
    worker/deleted_keys.hpp # the shared record of deleted keys (apply, the repset trigger)
    sync/initial_sync.hpp   # the apply worker runs the initial synchronisation
    sync/table_resync.hpp   # the applier copies one table again between transactions
    apply/channel_stats.hpp # the shared channel statistics read by get_channel_stats()
    apply/parallel_status.hpp # parallel apply processes for get_parallel_apply_status()
    apply/stream_apply_status.hpp # stream apply processes for get_stream_apply_status()
)

# PostgreSQL's headers: the top-level files and directories of its include directories.
PG_HEADER='^((postgres|postgres_ext|postgres_fe|c|fmgr|funcapi|miscadmin|pgstat|pgtime|pgtar|port|pg_trace|pg_getopt|getopt_long|getaddrinfo|rusagestub|windowapi|pg_config[a-z_]*|libpq-fe|libpq-events|plpgsql)\.h|(access|bootstrap|catalog|commands|common|datatype|executor|extension|fe_utils|foreign|internal|jit|lib|libpq|mb|nodes|optimizer|parser|partitioning|port|portability|postmaster|regex|replication|rewrite|snowball|statistics|storage|tcop|tsearch|utils)/)'

violations=0
violation() { # file:line what
    echo "$1: $2"
    violations=$((violations + 1))
}

# Prints "file:line:header" for each #include in the given directories (or files).
includes() {
    local paths=()
    local p
    for p in "$@"; do
        [ -e "$root/$p" ] && paths+=("$root/$p")
    done
    [ "${#paths[@]}" = 0 ] && return 0
    grep -rnE --include='*.cpp' --include='*.hpp' --include='*.h' \
        '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "${paths[@]}" |
        sed -E 's#^'"$root"'/##; s#^([^:]+):([0-9]+):[[:space:]]*\#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*#\1:\2:\3#'
}

# check LAYER "ALLOWED-SPOCK-DIRS" NO-PG(yes|no) PATHS...: every spock/X/ include must have X
# in the allowed list (or be a public header of another feature when LAYER is a feature).
check() {
    local layer=$1 allowed=$2 no_pg=$3
    shift 3
    local loc header dir
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        loc=${line%:*}
        header=${line##*:}
        if [[ $header == *../* ]]; then
            violation "$loc" "$layer includes \"$header\" through ../"
            continue
        fi
        if [ "$no_pg" = yes ] && [[ $header =~ $PG_HEADER ]]; then
            violation "$loc" "$layer includes the PostgreSQL header <$header>"
            continue
        fi
        [[ $header == spock/*/* ]] || continue
        dir=${header#spock/}
        dir=${dir%%/*}
        if [[ " $allowed " == *" $dir "* ]]; then
            continue
        fi
        if [ "$layer" != core ] && [ "$layer" != pg ] && [ "$layer" != catalog ] &&
            [[ " ${PUBLIC_HEADERS[*]} " == *" ${header#spock/} "* ]]; then
            continue
        fi
        violation "$loc" "$layer includes \"$header\" (not allowed: docs/architecture.md, Layers)"
    done < <(includes "$@")
}

check core "core" yes src/core include/spock/core test/unit
check pg "core pg" no src/pg include/spock/pg
check catalog "core pg catalog" no src/catalog include/spock/catalog

# Every other directory of src/ or include/spock/ is a feature.
features=$(
    {
        find "$root/src" "$root/include/spock" -mindepth 1 -maxdepth 1 -type d -printf '%f\n'
    } | sort -u | grep -vxE 'core|pg|catalog'
)
for f in $features; do
    check "$f" "core pg catalog $f" no "src/$f" "include/spock/$f"
done

if [ "$violations" != 0 ]; then
    echo "$violations layering violation(s)"
    exit 1
fi
echo "layering ok: core, pg, catalog, features ($(echo $features | tr '\n' ' '))"
