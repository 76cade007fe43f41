#!/usr/bin/env bash
# The single test command: installs what is missing, builds, installs, and runs the unit,
# pg_regress and TAP suites. Prints a final "N passed, N failed" line and exits non-zero on any
# failure, including a server that died of a signal during the run.
#
#   scripts/test.sh            everything
#   SPOCK_SKIP_APT=1 ...       skip apt-get (packages already installed)
#   SPOCK_TESTS="unit regress" run only some layers
#   SPOCK_TAP_TESTS="t/001*"   run only some TAP files
set -euo pipefail
source "$(dirname "$0")/lib.sh"

layers=${SPOCK_TESTS:-build unit fuzz regress tap bench}
passed=0
failed=0
summary=()

count() { # layer passed failed
    passed=$((passed + $2))
    failed=$((failed + $3))
    summary+=("$(printf '%-8s %4d passed, %d failed' "$1" "$2" "$3")")
}

ensure_packages
build_and_install test

work=$(mktemp -d /tmp/spock-test.XXXXXX)
chmod 755 "$work"
log "test work directory: $work"
bindir=$(pg_bindir)
pkglibdir=$("$(pg_config_path)" --pkglibdir)

# --- build ------------------------------------------------------------------------------
# The includes must follow the layers; the PGXS route must build the same modules, and neither
# build may export anything but PostgreSQL entry points (no fmt, Boost or standard-library
# symbols).
if [[ " $layers " == *" build "* ]]; then
    log "build checks (layering, PGXS build, exported symbols)"
    pgxs_src="$work/pgxs"
    mkdir -p "$pgxs_src"
    cp -r "$SPOCK_ROOT/Makefile.pgxs" "$SPOCK_ROOT/spock.control" "$SPOCK_ROOT/sql" \
        "$SPOCK_ROOT/src" "$SPOCK_ROOT/include" "$pgxs_src/"
    find "$pgxs_src" -name '*.o' -delete
    ok=0
    bad=0
    check() { # description command...
        local what=$1
        shift
        if "$@" >>"$work/build.log" 2>&1; then
            echo "ok - $what"
            ok=$((ok + 1))
        else
            echo "not ok - $what (see $work/build.log)"
            bad=$((bad + 1))
        fi
    }
    exports() { nm -D --defined-only "$1" | awk '{print $3}' | sort; }
    # The layers of docs/architecture.md: core without PostgreSQL, pg and catalog without
    # features, features through each other's public headers only.
    check "layering: includes follow docs/architecture.md (scripts/check_layers.sh)" \
        "$SPOCK_ROOT/scripts/check_layers.sh" "$SPOCK_ROOT"
    check "make -f Makefile.pgxs builds spock.so and spock_output.so" \
        make -C "$pgxs_src" -f Makefile.pgxs -j"$(nproc)" PG_CONFIG="$(pg_config_path)"
    for mod in spock spock_output; do
        check "$mod.so exports the same symbols from CMake and PGXS" \
            diff <(exports "$SPOCK_BUILD_DIR/$mod.so") <(exports "$pgxs_src/$mod.so")
        check "$mod.so exports no fmt, Boost or C++ library symbols" \
            bash -c "! nm -D --defined-only '$SPOCK_BUILD_DIR/$mod.so' | grep -Ei 'fmt|boost|_Z'"
    done
    for script in "$SPOCK_ROOT"/scripts/*.sh "$SPOCK_ROOT"/bench/*.sh "$SPOCK_ROOT"/bench/*/*.sh; do
        [ -f "$script" ] || continue
        check "${script#"$SPOCK_ROOT"/} parses (bash -n)" bash -n "$script"
    done
    count build "$ok" "$bad"
fi

# --- unit --------------------------------------------------------------------------------
if [[ " $layers " == *" unit "* ]]; then
    log "unit tests (GoogleTest via ctest)"
    set +e
    ctest --test-dir "$SPOCK_BUILD_DIR" --output-on-failure >"$work/unit.log" 2>&1
    rc=$?
    set -e
    cat "$work/unit.log"
    total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$work/unit.log" | tail -1)
    nfail=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$work/unit.log" | tail -1)
    total=${total:-0}
    nfail=${nfail:-0}
    if [ "$rc" != 0 ] && [ "$nfail" = 0 ]; then nfail=1; fi
    count unit $((total - nfail)) "$nfail"
fi

# --- fuzz ------------------------------------------------------------------------------
# The protocol decoder and the replay buffer's spill file reader under libFuzzer (with ASan and
# UBSan), when clang is there to build them. SPOCK_FUZZ_SECONDS (default 60) is shared: two
# thirds for the decoder, the rest for the spill reader. A crash, a sanitizer report or an
# unexpected exception fails the layer.
if [[ " $layers " == *" fuzz "* ]]; then
    if command -v clang++ >/dev/null 2>&1; then
        fuzz_total=${SPOCK_FUZZ_SECONDS:-60}
        fuzz_decode=$((fuzz_total * 2 / 3))
        fuzz_spill=$((fuzz_total - fuzz_decode))
        log "fuzzing the protocol decoder for $fuzz_decode s and the spill reader for $fuzz_spill s"
        fuzz_build="${SPOCK_FUZZ_BUILD_DIR:-$SPOCK_BUILD_DIR-fuzz}"
        mkdir -p "$work/fuzz-corpus" "$work/spill-corpus"
        cp "$SPOCK_ROOT"/test/fuzz/corpus/* "$work/fuzz-corpus/"
        cp "$SPOCK_ROOT"/test/fuzz/spill_corpus/* "$work/spill-corpus/"
        set +e
        (CXX=clang++ cmake -S "$SPOCK_ROOT" -B "$fuzz_build" -DSPOCK_BUILD_FUZZ=ON \
            -DSPOCK_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DPG_CONFIG="$(pg_config_path)" &&
            cmake --build "$fuzz_build" --target spock_decode_fuzz spock_spill_fuzz \
                -j"$(nproc)") >"$work/fuzz-build.log" 2>&1
        rc=$?
        set -e
        if [ "$rc" != 0 ]; then
            tail -n 20 "$work/fuzz-build.log"
            echo "not ok - fuzz targets failed to build (see $work/fuzz-build.log)"
            count fuzz 0 1
        else
            fuzz_ok=0
            fuzz_bad=0
            for target in decode spill; do
                if [ "$target" = decode ]; then
                    secs=$fuzz_decode corpus="$work/fuzz-corpus" what="decoder"
                else
                    secs=$fuzz_spill corpus="$work/spill-corpus" what="spill file reader"
                fi
                set +e
                (cd "$work" && "$fuzz_build/spock_${target}_fuzz" -max_total_time="$secs" \
                    -rss_limit_mb=2048 "$corpus") >"$work/fuzz-$target.log" 2>&1
                rc=$?
                set -e
                tail -n 3 "$work/fuzz-$target.log"
                if [ "$rc" = 0 ]; then
                    echo "ok - $what fuzzed for $secs s without a crash"
                    fuzz_ok=$((fuzz_ok + 1))
                else
                    echo "not ok - $what fuzzing failed (see $work/fuzz-$target.log)"
                    fuzz_bad=$((fuzz_bad + 1))
                fi
            done
            count fuzz "$fuzz_ok" "$fuzz_bad"
        fi
    else
        log "clang++ not found: fuzzing skipped"
    fi
fi

# --- regress -----------------------------------------------------------------------------
if [[ " $layers " == *" regress "* ]]; then
    log "SQL tests (pg_regress on a temporary instance)"
    cp -r "$SPOCK_ROOT/test/regress" "$work/regress"
    chown -R postgres: "$work/regress" 2>/dev/null || true
    set +e
    (cd "$work/regress" && as_pg "$pkglibdir/pgxs/src/test/regress/pg_regress" \
        --bindir="$bindir" --temp-instance="$work/regress/tmp_check" \
        --temp-config="$work/regress/regress.conf" --inputdir="$work/regress" \
        --outputdir="$work/regress" --schedule="$work/regress/schedule" \
        --port="${SPOCK_REGRESS_PORT:-57432}") >"$work/regress.log" 2>&1
    rc=$?
    set -e
    cat "$work/regress.log"
    if grep -q 'All [0-9]* tests passed' "$work/regress.log"; then
        n=$(sed -n 's/.*All \([0-9]*\) tests passed.*/\1/p' "$work/regress.log")
        count regress "$n" 0
    else
        nf=$(sed -n 's/.* \([0-9]*\) of \([0-9]*\) tests failed.*/\1/p' "$work/regress.log")
        nt=$(sed -n 's/.* \([0-9]*\) of \([0-9]*\) tests failed.*/\2/p' "$work/regress.log")
        nf=${nf:-1}
        nt=${nt:-$nf}
        count regress $((nt - nf)) "$nf"
        [ -f "$work/regress/regression.diffs" ] && cat "$work/regress/regression.diffs"
    fi
    [ "$rc" = 0 ] || log "pg_regress exited with $rc"
fi

# --- TAP ---------------------------------------------------------------------------------
if [[ " $layers " == *" tap "* ]]; then
    log "cluster tests (prove with PostgreSQL::Test::Cluster)"
    mkdir -p "$work/tap"
    cp -r "$SPOCK_ROOT/test/tap/." "$work/tap/"
    chown -R postgres: "$work/tap" 2>/dev/null || true
    # A small filesystem for the full-disk test (t/054): a 16 MB tmpfs, when this runs as root
    # and the machine allows mounting; the test says it is skipped otherwise.
    small_fs=""
    if [ "$(id -u)" = 0 ] && mkdir -p "$work/smallfs" &&
        mount -t tmpfs -o size=16m,mode=0700 spock-test-tmpfs "$work/smallfs" 2>>"$work/mount.log"; then
        chown postgres: "$work/smallfs"
        small_fs="$work/smallfs"
    else
        log "no small filesystem for t/054 (not root, or mount refused: see $work/mount.log)"
    fi
    set +e
    # shellcheck disable=SC2086
    (cd "$work/tap" && as_pg env PATH="$bindir:$PATH" \
        PERL5LIB="$pkglibdir/pgxs/src/test/perl:$work/tap" \
        PG_REGRESS="$pkglibdir/pgxs/src/test/regress/pg_regress" \
        TESTDIR="$work/tap" SPOCK_SOURCE_DIR="$SPOCK_ROOT" SPOCK_SMALL_FS="$small_fs" \
        prove --timer -v ${SPOCK_TAP_TESTS:-t/*.pl}) >"$work/tap.log" 2>&1
    rc=$?
    [ -n "$small_fs" ] && { umount "$small_fs" || log "could not unmount $small_fs"; }
    set -e
    cat "$work/tap.log"
    ok=$(grep -cE '^ok [0-9]+' "$work/tap.log" || true)
    notok=$(grep -cE '^not ok [0-9]+' "$work/tap.log" || true)
    if [ "$rc" != 0 ] && [ "$notok" = 0 ]; then notok=1; fi
    count tap "$ok" "$notok"
fi

# --- bench -------------------------------------------------------------------------------
# The side-by-side benchmark's correctness checks, small: W1 (one 20,000-row transaction) and
# W4 (2,000 single-row transactions), one round, spock, native and pglogical. It fails only when
# a system's tables differ between provider and subscriber (or a server crashes, or a
# subscriber never catches up); the figures are printed, never judged.
if [[ " $layers " == *" bench "* ]]; then
    log "benchmark correctness checks (bench/run_all.sh, small sizes)"
    set +e
    BENCH_WORKLOADS="w1 w4" ROUNDS=1 W1_ROWS=20000 W4_XACTS=2000 BENCH_OUT="$work/bench" \
        BENCH_PORT_BASE=${SPOCK_BENCH_PORT:-57480} BENCH_TIMEOUT=300 \
        "$SPOCK_ROOT/bench/run_all.sh" >"$work/bench.log" 2>&1
    rc=$?
    set -e
    tail -n 20 "$work/bench.log"
    if [ "$rc" = 0 ]; then
        echo "ok - bench/run_all.sh W1 and W4: every system identical on both sides"
        count bench 1 0
    else
        echo "not ok - bench/run_all.sh W1 and W4 failed (see $work/bench.log)"
        count bench 0 1
    fi
fi

# --- server logs -------------------------------------------------------------------------
# A process that died of a signal is a crash (SIGSEGV, SIGABRT, ...). Signal 9 is the one
# exception: TAP tests send it on purpose to simulate a killed worker.
crashes=$(grep -r 'terminated by signal' "$work" --include='*.log' 2>/dev/null \
    | grep -v 'terminated by signal 9:' || true)
if [ -n "$crashes" ]; then
    log "a server process died of a signal during the run:"
    printf '%s\n' "$crashes" >&2
    count crashes 0 1
fi

echo
echo "Summary (work directory $work):"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
