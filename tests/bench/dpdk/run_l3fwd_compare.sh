#!/bin/bash
# tests/bench/dpdk/run_l3fwd_compare.sh: the hadron-dpdk packet path beside
# DPDK's l3fwd, on one core and the same vdevs.
#
#   run_l3fwd_compare.sh BENCH_BINARY [SECONDS]
#
# Prints, in one table:
#   path  our dp_process_burst() alone on in-memory frames (1k, 100k flows)
#   vdev  our rx -> dp -> tx loop: net_pcap (infinite_rx) -> net_null
#   l3fwd DPDK's l3fwd (LPM, no NAT) on the same vdevs and frames
# l3fwd comes from Debian's dpdk-doc sources, built in a scratch folder
# with one change: it asks for Rx checksum offload, which pcap/null vdevs
# lack, so that request is removed (l3fwd then checks no IP checksum; ours
# checks it in software).  l3fwd is stateless, so its figure does not
# depend on the number of flows; its pool holds ~8k mbufs, so it replays a
# 4096-frame capture.  Figures from a shared 2-core machine are noisy:
# compare within one run.
set -euo pipefail

BENCH=${1:?usage: $0 BENCH_BINARY [SECONDS]}
SECS=${2:-3}
LCORE=${LCORE:-1}
WORK=$(mktemp -d /tmp/hadron-l3fwd.XXXXXX)
L3PID=
cleanup() {
    [ -n "$L3PID" ] && kill "$L3PID" 2>/dev/null && wait "$L3PID" 2>/dev/null
    rm -rf "$WORK" "/var/run/dpdk/l3fwd-$$"
}
trap cleanup EXIT

"$BENCH" --write-pcap "$WORK/f1k.pcap" --flows 1000 --packets 4096
"$BENCH" --write-pcap "$WORK/f100k.pcap" --flows 100000

"$BENCH" --seconds "$SECS" --lcore "$LCORE" --flows 1000,100000 \
    | tee "$WORK/ours.txt"
"$BENCH" --seconds "$SECS" --lcore "$LCORE" --flows 1000 \
    --vdev "$WORK/f1k.pcap" | tail -1
"$BENCH" --seconds "$SECS" --lcore "$LCORE" --flows 100000 \
    --vdev "$WORK/f100k.pcap" | tail -1

GHZ=$(sed -n 's/.*TSC \([0-9.]*\) GHz.*/\1/p' "$WORK/ours.txt")
EXAMPLES=/usr/share/dpdk/examples
if [ ! -d "$EXAMPLES/l3fwd" ]; then
    echo "l3fwd   (not built: install dpdk-doc for $EXAMPLES/l3fwd)"
    exit 0
fi
cp -r "$EXAMPLES" "$WORK/examples"
sed -i 's/\.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,/.offloads = 0,/' \
    "$WORK/examples/l3fwd/main.c"
if ! make -C "$WORK/examples/l3fwd" -j2 >"$WORK/l3fwd-build.log" 2>&1; then
    echo "l3fwd   (build failed: see $WORK/l3fwd-build.log)"
    exit 0
fi

PREFIX=l3fwd-$$
"$WORK/examples/l3fwd/build/l3fwd" -l "$LCORE" --no-huge -m 1024 --no-pci \
    --file-prefix "$PREFIX" \
    --vdev "net_pcap0,rx_pcap=$WORK/f1k.pcap,infinite_rx=1" \
    --vdev net_null1 -- -p 0x3 --config "(0,0,$LCORE)" --parse-ptype \
    >"$WORK/l3fwd.log" 2>&1 &
L3PID=$!
sleep 2
python3 - "/var/run/dpdk/$PREFIX/dpdk_telemetry.v2" "$SECS" "$GHZ" <<'EOF'
import json, socket, sys, time
path, secs, ghz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def opackets():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    s.recv(1024)
    s.send(b"/ethdev/stats,1")
    r = json.loads(s.recv(65536).decode())
    s.close()
    return r["/ethdev/stats"]["opackets"]
a, t0 = opackets(), time.time()
time.sleep(secs)
b, t1 = opackets(), time.time()
pps = (b - a) / (t1 - t0)
if pps <= 0:
    print("l3fwd   forwarded nothing")
    sys.exit(1)
print("%-7s %8s %9.2f %10.1f   %s" % ("l3fwd", "any", pps / 1e6,
      ghz * 1e9 / pps, "DPDK l3fwd LPM, same vdevs (no NAT)"))
EOF
