#!/usr/bin/env bash
# Makes a private, relocated copy of the installed PostgreSQL 15 under DIR, so that several
# builds of spock can be installed and tested side by side without touching each other:
#
#   scripts/private-pg.sh /opt/pg-a
#   PG_CONFIG=/opt/pg-a/usr/lib/postgresql/15/bin/pg_config SPOCK_BUILD_DIR=/tmp/build-a \
#       SPOCK_SKIP_APT=1 scripts/test.sh
#
# PostgreSQL finds its lib and share directories relative to its own binaries, so the copy
# uses its own extension directory. Headers are shared through a symlink.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dir=${1:?usage: scripts/private-pg.sh DIR}
src_lib=/usr/lib/postgresql/15
src_share=/usr/share/postgresql/15
[ -d "$src_lib" ] || die "PostgreSQL 15 is not installed under $src_lib"
mkdir -p "$dir/usr/lib/postgresql" "$dir/usr/share/postgresql" "$dir/usr/include"
rm -rf "$dir/usr/lib/postgresql/15" "$dir/usr/share/postgresql/15"
cp -a "$src_lib" "$dir/usr/lib/postgresql/"
cp -a "$src_share" "$dir/usr/share/postgresql/"
ln -sfn /usr/include/postgresql "$dir/usr/include/postgresql"
echo "PG_CONFIG=$dir/usr/lib/postgresql/15/bin/pg_config"
