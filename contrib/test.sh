#!/usr/bin/env bash
# Builds Hadron and runs the whole test suite on both database engines.
#
#   contrib/test.sh [CTEST-ARGS...]     e.g. contrib/test.sh -L sqlite
#                                            contrib/test.sh -R test_db
#
# 1. installs missing Debian packages (contrib/install-deps.sh);
# 2. builds build-test/ with clang, ASan and UBSan: the build the tests run;
# 3. builds build-gcc/ with gcc and the tests: compile only, to keep the tree
#    clean under gcc's -Werror (nothing runs from it);
# 4. starts a private MariaDB in build-test/mariadb (stopped again on exit),
#    unless HADRON_TEST_MYSQL_URL is already set to an existing server;
# 5. runs ctest in build-test/ and exits with its status.
#
# The two builds run one after the other, each with ninja on every core.
set -euo pipefail

top=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd -- "$top"

started=$SECONDS
log() { echo "test.sh: $*" >&2; }

contrib/install-deps.sh

# configure BUILD-DIR COMPILER CMAKE-ARGS...
# Configures a Ninja build with the given compiler.  A build directory left by
# another generator or compiler is reconfigured from scratch.
configure() {
    local bdir=$1 cc=$2
    shift 2
    local cache=$bdir/CMakeCache.txt
    if [[ -f $cache ]]; then
        if ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$cache" ||
            ! grep -q "^CMAKE_C_COMPILER:[A-Z]*=.*/$cc\(-[0-9.]*\)\?$" "$cache"; then
            log "$bdir: other generator or compiler, reconfiguring from scratch"
            rm -rf -- "$cache" "$bdir/CMakeFiles"
        fi
    fi
    if [[ -f $cache ]]; then
        cmake -S . -B "$bdir" "$@" >/dev/null
    else
        CC=$cc cmake -S . -B "$bdir" -G Ninja "$@" >/dev/null
    fi
}

build() {
    log "building $1"
    cmake --build "$1"
}

# Sanitizer build: Debug semantics (assertions on) at -O1, so that the suite
# does not crawl under ASan; the fuzz targets run libFuzzer (tests/fuzz).
configure build-test clang \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g" \
    -DHADRON_SANITIZE=ON -DHADRON_TESTS=ON -DHADRON_FUZZ=ON
build build-test

# gcc build: Release as contrib/run.sh builds it (-O3, where gcc warns the
# most, e.g. maybe-uninitialized), plus the tests.
configure build-gcc gcc \
    -DCMAKE_BUILD_TYPE=Release -DHADRON_SANITIZE=OFF -DHADRON_TESTS=ON
build build-gcc

mariadb_dir=build-test/mariadb
if [[ -n ${HADRON_TEST_MYSQL_URL:-} ]]; then
    log "using the MariaDB given in HADRON_TEST_MYSQL_URL"
else
    # Stop the private server however this script ends.
    trap 'contrib/mariadb.sh stop "$mariadb_dir" >/dev/null 2>&1 || true' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    HADRON_TEST_MYSQL_URL=$(contrib/mariadb.sh start "$mariadb_dir")
    export HADRON_TEST_MYSQL_URL
fi
log "HADRON_TEST_MYSQL_URL=$HADRON_TEST_MYSQL_URL"

# ctest runs in its own session and process group, in the background, so that
# a SIGINT or SIGTERM sent to this script reaches ctest and the tests it runs
# at once (a foreground child would delay the traps until it ends, and ctest
# does not pass a SIGTERM on to its tests).  The subshell restores the default
# SIGINT and SIGQUIT that bash ignores in background jobs.
status=0
(
    trap - INT QUIT
    exec setsid ctest --test-dir build-test --output-on-failure \
        --no-tests=error -j2 "$@"
) &
ctest_pid=$!
trap 'kill -INT -- "-$ctest_pid" 2>/dev/null; wait "$ctest_pid"; exit 130' INT
trap 'kill -TERM -- "-$ctest_pid" 2>/dev/null; wait "$ctest_pid"; exit 143' TERM
wait "$ctest_pid" || status=$?

elapsed=$((SECONDS - started))
if ((status == 0)); then
    log "PASSED: build-test (clang, ASan+UBSan) and build-gcc (gcc -Werror) built; ctest passed in ${elapsed}s"
else
    log "FAILED: ctest exited with status $status after ${elapsed}s (logs: build-test/Testing/Temporary/LastTest.log)"
fi
exit "$status"
