#!/usr/bin/env bash
# W8 add node (spock only): the zero-downtime add-node scenario of TAP t/061_add_node.pl at a
# chosen size: three nodes under a pgbench write load on all of them, spock.add_node() adds a
# fourth from one of them, the test checks the four nodes end identical and prints how long
# add_node took. Native logical replication and pglogical have no online add-node to compare.
#   W8_ROWS rows per node (default 20,000; BENCH_SIZE=full 1,000,000, about 80 MB per node);
#   the copy's time limit is raised with the size (spock.add_node_timeout).
# Runs through scripts/test.sh (TAP layer), so it needs what the README's test command
# installs; it builds spock into the PostgreSQL selected by PG_CONFIG if needed.
# Exits non-zero when the scenario's checks fail (nodes differ, a row is lost), never on a time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rows=${W8_ROWS:-$([ "${BENCH_SIZE:-short}" = full ] && echo 1000000 || echo 20000)}
out=${BENCH_OUT:-$(mktemp -d /tmp/spock-bench-results.XXXXXX)}
mkdir -p "$out"
echo "W8 add node (spock only): $rows rows per node" >&2
rc=0
SPOCK_SKIP_APT=${SPOCK_SKIP_APT:-1} SPOCK_TESTS=tap SPOCK_TAP_TESTS="t/061*" \
    SPOCK_ADD_NODE_ROWS=$rows PG_TEST_TIMEOUT_DEFAULT=${PG_TEST_TIMEOUT_DEFAULT:-2400} \
    PGOPTIONS="${PGOPTIONS:-} -c spock.add_node_timeout=1800" \
    "$here/../scripts/test.sh" >"$out/w8_add_node.log" 2>&1 || rc=$?
grep -h "add_node took" "$out/w8_add_node.log" | tail -1 |
    sed 's/^#* *//' | tee "$out/w8_add_node.txt" || true
if [ "$rc" != 0 ]; then
    echo "*** W8: the add-node scenario failed; see $out/w8_add_node.log ***" >&2
    exit 1
fi
