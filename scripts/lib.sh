# Helpers shared by scripts/test.sh, scripts/demo.sh and bench/*.sh. Source it; do not run it.

SPOCK_ROOT=${SPOCK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
SPOCK_BUILD_DIR=${SPOCK_BUILD_DIR:-$SPOCK_ROOT/build}
SPOCK_PACKAGES="build-essential cmake pkg-config postgresql-15 postgresql-server-dev-15 \
postgresql-contrib-15 postgresql-15-pglogical libpq-dev libkrb5-dev libboost-dev libfmt-dev \
libgtest-dev libipc-run-perl clang clang-format"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Runs a command as the unprivileged user that owns PostgreSQL servers. PostgreSQL refuses to
# run as root, so root hands over to "postgres"; anyone else runs servers as themselves.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Installs the Debian packages the build and the tests need. PostgreSQL 15 must be at least
# 15.20, whose output_plugin_libraries setting our configurations use; apt-get install brings
# an older installation up to date.
ensure_packages() {
    if [ "${SPOCK_SKIP_APT:-0}" = 1 ]; then
        log "SPOCK_SKIP_APT=1: not touching Debian packages"
        return
    fi
    log "installing Debian packages"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $SPOCK_PACKAGES >/dev/null
}

pg_bindir() { "$(pg_config_path)" --bindir; }
# The pg_config to build and test with: $PG_CONFIG when set (for example a private copy made by
# scripts/private-pg.sh), else Debian's PostgreSQL 15, else the first on PATH.
pg_config_path() {
    if [ -n "${PG_CONFIG:-}" ]; then
        echo "$PG_CONFIG"
    elif [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
        echo /usr/lib/postgresql/15/bin/pg_config
    else
        command -v pg_config
    fi
}

# Configures, builds and installs spock (and, with "test", the test-only module).
build_and_install() {
    local with_test=${1:-}
    log "building in $SPOCK_BUILD_DIR"
    cmake -S "$SPOCK_ROOT" -B "$SPOCK_BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DPG_CONFIG="$(pg_config_path)" >/dev/null
    cmake --build "$SPOCK_BUILD_DIR" -j"$(nproc)" >/dev/null
    log "installing into $("$(pg_config_path)" --pkglibdir)"
    as_root cmake --install "$SPOCK_BUILD_DIR" >/dev/null
    if [ "$with_test" = test ]; then
        as_root cmake --install "$SPOCK_BUILD_DIR" --component spock_test >/dev/null
    fi
}

# Appends the settings every spock instance needs to a postgresql.conf.
spock_conf() {
    cat <<'CONF'
shared_preload_libraries = 'spock'
output_plugin_libraries = 'pgoutput, test_decoding, spock_output'
wal_level = logical
track_commit_timestamp = on
max_replication_slots = 16
max_wal_senders = 16
max_worker_processes = 24
CONF
}
