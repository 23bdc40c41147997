#!/bin/bash
# tests/unit/dpdk/test_driver_kit_dpdk.sh: the driver kit (tests/driver-kit)
# on the `dpdk` flavor driver against a real hadron-dpdk process.
#
#   test_driver_kit_dpdk.sh HADRON_DPDK_BINARY DRIVER_KIT_RUN_BINARY
#
# Starts hadron-dpdk in a private network namespace and runs the kit in the
# same namespace (the driver makes the bridges there and hadron-dpdk
# attaches its TAP ports to them), so the host is left alone.  The kit's
# "restart" step re-creates the driver instance; the dataplane keeps its
# state and sync_all() must make it hold exactly the routers the kit
# knows.  Needs root; exits 77 (skipped) without it.
set -u

DP=${1:?usage: $0 HADRON_DPDK_BINARY DRIVER_KIT_RUN}
KIT=${2:?usage: $0 HADRON_DPDK_BINARY DRIVER_KIT_RUN}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: needs ip"; exit 77; }

TAG=hk$$
NS=$TAG
SOCK=/tmp/$TAG.sock
DPLOG=/tmp/$TAG-dp.log
KITLOG=/tmp/$TAG-kit.log
PID=
FAILED=0

cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    ip netns del $NS 2>/dev/null
    rm -f "$SOCK" "$DPLOG" "$KITLOG"
    rm -rf "/var/run/dpdk/$TAG"
}
trap cleanup EXIT

ip netns add $NS || { echo "SKIP: cannot create a namespace"; exit 77; }
ip -n $NS link set lo up

ip netns exec $NS "$DP" --socket "$SOCK" --log "$DPLOG" -- \
    -l 0 --no-huge -m 256 --no-pci --file-prefix $TAG --log-level=crit &
PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { echo "FAIL: no control socket"; cat "$DPLOG"; exit 1; }

ip netns exec $NS "$KIT" --driver dpdk --log "$KITLOG" \
    --option "control_socket = $SOCK" \
    --option "create_missing_bridges = true" \
    --option "timeout_ms = 10000"
STATUS=$?
[ $STATUS = 0 ] || { FAILED=1; echo "FAIL: the kit failed ($STATUS)"; }
if grep -E " (ERR|WARN) " "$KITLOG" | grep -v "injected" | grep -q .; then
    echo "# kit log warnings and errors:"
    grep -E " (ERR|WARN) " "$KITLOG" | grep -v "injected" | head -20
fi
grep -q " ERR " "$DPLOG" && { FAILED=1; echo "FAIL: $(grep ' ERR ' "$DPLOG")"; }

kill -TERM $PID
wait $PID
STATUS=$?
PID=
[ $STATUS = 0 ] || { FAILED=1; echo "FAIL: hadron-dpdk exit status $STATUS"; }
[ $FAILED = 0 ] || { echo "# hadron-dpdk log:"; tail -30 "$DPLOG"; }
exit $FAILED
