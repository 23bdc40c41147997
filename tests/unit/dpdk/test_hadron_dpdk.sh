#!/bin/bash
# tests/unit/dpdk/test_hadron_dpdk.sh: the real hadron-dpdk process with
# TAP ports, driven over its control socket.
#
#   test_hadron_dpdk.sh HADRON_DPDK_BINARY [WORKERS]
#
# Starts hadron-dpdk in a private network namespace, creates a router with
# an internal and an external TAP port, moves the TAP interfaces into a
# "host" and an "outside" namespace, and checks with ping and TCP what a
# user would: the router answers ping, a floating IP and SNAT reach the
# outside, TTL 1 gets "time exceeded", counters move, ports and router go
# away, and SIGTERM ends the process with status 0.  With WORKERS > 1
# (default 1) it runs that many worker lcores, and also checks that the
# TAP spread 64 UDP flows over the workers' queues, that every flow got
# its replies from one SNAT port of its own, and that each worker counted
# frames.  Needs root, ip
# netns, ping and python3; exits 77 (skipped) without them.
set -u

BIN=${1:?usage: $0 HADRON_DPDK_BINARY [WORKERS]}
WORKERS=${2:-1}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
for tool in ip ping python3; do
    command -v $tool >/dev/null || { echo "SKIP: needs $tool"; exit 77; }
done

TAG=hd$$
NS_DP=$TAG-dp
NS_HOST=$TAG-host
NS_OUT=$TAG-out
SOCK=/tmp/$TAG.sock
LOG=/tmp/$TAG.log
PID=
FAILED=0

cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    for ns in $NS_DP $NS_HOST $NS_OUT; do ip netns del $ns 2>/dev/null; done
    rm -f "$SOCK" "$LOG"
    rm -rf "/var/run/dpdk/$TAG"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    FAILED=1
}

# Sends one request, prints the reply, fails unless "ok" is 'want'.
ctl() {
    local want=$1 req=$2
    python3 - "$SOCK" "$req" "$want" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
print(buf.decode().strip())
ok = json.loads(buf)["ok"]
sys.exit(0 if str(ok).lower() == sys.argv[3] else 1)
EOF
    [ $? = 0 ] || fail "$req"
}

# With several workers: 64 UDP flows from the host through SNAT.  The
# kernel spreads them over the TAP's queues by flow hash, and the replies
# come back on the external TAP hashed differently; each must reach the
# router's owner lcore and its one session.  The server echoes the source
# it saw: each flow must keep one SNAT port, and no two flows share one.
many_flows() {
    ip netns exec $NS_OUT python3 - <<'EOF' &
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.7", 9998))
s.settimeout(5)
try:
    while True:
        data, addr = s.recvfrom(100)
        s.sendto(("%s:%d" % addr).encode(), addr)
except socket.timeout:
    pass
EOF
    local server=$!
    sleep 0.5
    ip netns exec $NS_HOST python3 - <<'EOF' || fail "64 flows through SNAT with $WORKERS workers"
import socket, sys
socks = []
for i in range(64):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.0.0.10", 20000 + i))
    s.settimeout(2)
    socks.append(s)
seen = {}
for rnd in range(3):
    for i, s in enumerate(socks):
        s.sendto(b"x", ("198.51.100.7", 9998))
        try:
            src = s.recv(100).decode()
        except socket.timeout:
            print("flow %d: no reply in round %d" % (i, rnd))
            sys.exit(1)
        ip, port = src.split(":")
        assert ip == "203.0.113.2", src
        if seen.setdefault(i, port) != port:
            print("flow %d: SNAT port %s, then %s" % (i, seen[i], port))
            sys.exit(1)
if len(set(seen.values())) != 64:
    print("flows share SNAT ports: %s" % seen)
    sys.exit(1)
EOF
    kill $server 2>/dev/null
    wait $server 2>/dev/null
    local counters
    counters=$(ctl true '{"op":"counters"}')
    python3 - "$counters" "$WORKERS" <<'EOF' || fail "per-worker counters: $counters"
import json, sys
c = json.loads(sys.argv[1])
w = c["workers"]
assert len(w) == int(sys.argv[2]), w
for k in w:
    assert k["dev_rx_packets"] > 0, ("a worker received nothing", k)
# r1 is owned by one worker: what the others received went to it.
assert sum(k["handoff_out"] for k in w) > 0, w
assert sum(k["handoff_in"] for k in w) == sum(k["handoff_out"] for k in w)
assert sum(k["handoff_dropped"] for k in w) == 0, w
assert c["global"]["dev_rx_packets"] == sum(k["dev_rx_packets"] for k in w)
assert c["routers"]["r1"]["flows_active"] == 65, c["routers"]["r1"]
EOF
}

for ns in $NS_DP $NS_HOST $NS_OUT; do
    ip netns add $ns || { echo "SKIP: cannot create namespaces"; exit 77; }
done

ip netns exec $NS_DP "$BIN" --socket "$SOCK" --log "$LOG" \
    --workers "$WORKERS" -- -l "0-$((WORKERS - 1))" --no-huge -m 256 --no-pci --file-prefix $TAG --log-level=crit &
PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { fail "no control socket"; cat "$LOG"; exit 1; }

ctl true '{"op":"ping","id":7}'
ctl true '{"op":"router_add","router":"r1"}'
ctl true '{"op":"port_add","router":"r1","port":"qr","device":"net_tap0,iface=qr'$$'","mac":"fa:16:3e:00:00:01","ip":"10.0.0.1/24"}'
ctl true '{"op":"port_add","router":"r1","port":"qg","device":"net_tap1,iface=qg'$$'","mac":"fa:16:3e:00:00:02","ip":"203.0.113.2/24","external":true}'
ctl true '{"op":"port_add","router":"r1","port":"qg","device":"net_tap1,iface=qg'$$'","mac":"fa:16:3e:00:00:02","ip":"203.0.113.2/24","external":true}'
ctl false '{"op":"port_add","router":"r1","port":"bad","device":"net_nosuch0","mac":"fa:16:3e:00:00:03","ip":"10.9.0.1/24"}'
ctl true '{"op":"route_add","router":"r1","destination":"0.0.0.0/0","nexthop":"203.0.113.1"}'
ctl true '{"op":"snat_set","router":"r1"}'
ctl true '{"op":"fip_add","router":"r1","floating_ip":"203.0.113.50","fixed_ip":"10.0.0.10"}'

ip -n $NS_DP link set qr$$ netns $NS_HOST
ip -n $NS_DP link set qg$$ netns $NS_OUT
ip -n $NS_HOST addr add 10.0.0.10/24 dev qr$$
ip -n $NS_HOST link set qr$$ up
ip -n $NS_HOST route add default via 10.0.0.1
ip -n $NS_OUT addr add 203.0.113.1/24 dev qg$$
ip -n $NS_OUT link set qg$$ up
ip -n $NS_OUT link set lo up
ip -n $NS_OUT addr add 198.51.100.7/32 dev lo

ip netns exec $NS_HOST ping -c 2 -W 2 10.0.0.1 >/dev/null \
    || fail "ping the router"

# Seen from outside, the host is its floating IP...
ip netns exec $NS_OUT python3 - <<'EOF' &
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.7", 9999))
s.settimeout(5)
for _ in range(2):
    data, addr = s.recvfrom(100)
    s.sendto(addr[0].encode(), addr)
EOF
SERVER=$!
sleep 0.5
seen() {
    ip netns exec $NS_HOST python3 - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"who", ("198.51.100.7", 9999))
print(s.recvfrom(100)[0].decode())
EOF
}
[ "$(seen)" = 203.0.113.50 ] || fail "floating IP as source"
# ...and without it, the gateway address (SNAT).
ctl true '{"op":"fip_del","router":"r1","floating_ip":"203.0.113.50"}'
ctl true '{"op":"fip_del","router":"r1","floating_ip":"203.0.113.50"}'
[ "$(seen)" = 203.0.113.2 ] || fail "SNAT as source"
wait $SERVER

[ "$WORKERS" -gt 1 ] && many_flows

ip netns exec $NS_HOST ping -c 1 -W 2 -t 1 198.51.100.7 2>&1 \
    | grep -q "Time to live exceeded" || fail "TTL exceeded"

COUNTERS=$(ctl true '{"op":"counters","router":"r1"}')
python3 - "$COUNTERS" "$WORKERS" <<'EOF' || fail "counters: $COUNTERS"
import json, sys
r = json.loads(sys.argv[1])["routers"]["r1"]
assert r["echo_replies"] >= 2 and r["snat_out"] >= 1 and r["fip_out"] >= 1
assert r["icmp_ttl_exceeded"] == 1
assert r["flows_active"] == (1 if int(sys.argv[2]) == 1 else 65), r
EOF

# A hundred routers, each with a gateway port on an external bridge and an
# interface port on an internal one, fit in one process (-m 256: a FIB
# takes ~260 KiB) although DPDK allows 32 ports: router ports on one bridge
# share one TAP, and the dataplane tells their frames apart by MAC (and
# broadcast ARP by target address).
ip -n $NS_DP link add bx$$ type bridge
ip -n $NS_DP link add bi$$ type bridge
ip -n $NS_DP link set bx$$ up
ip -n $NS_DP link set bi$$ up
ip -n $NS_DP addr add 172.24.0.1/16 dev bx$$
python3 - "$SOCK" "$$" <<'EOF' || fail "100 routers with gateways and interfaces"
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
f = s.makefile("rw")
tag = sys.argv[2]
def call(req):
    f.write(json.dumps(req) + "\n")
    f.flush()
    r = json.loads(f.readline())
    assert r["ok"], (req, r)
    return r
for i in range(100):
    r = "many%d" % i
    call({"op": "router_add", "router": r})
    call({"op": "port_add", "router": r, "port": "g%d" % i,
          "device": "net_tap_x,iface=hx" + tag, "bridge": "bx" + tag,
          "mac": "fa:16:3e:01:00:%02x" % i,
          "ip": "172.24.1.%d/16" % (i + 1), "external": True})
    call({"op": "port_add", "router": r, "port": "i%d" % i,
          "device": "net_tap_i,iface=hi" + tag, "bridge": "bi" + tag,
          "mac": "fa:16:3e:02:00:%02x" % i, "ip": "10.0.0.1/24"})
    call({"op": "route_add", "router": r, "destination": "0.0.0.0/0",
          "nexthop": "172.24.0.1"})
    call({"op": "snat_set", "router": r})
routers = call({"op": "dump"})["routers"]
assert len(routers) == 101, len(routers)
devs = {p["dpdk_port"] for name, rt in routers.items() if name != "r1"
        for p in rt["ports"].values()}
assert len(devs) == 2, devs
EOF
# Each router answers for its own gateway address through the shared TAP.
for i in 0 41 99; do
    ip netns exec $NS_DP ping -c 1 -W 2 172.24.1.$((i + 1)) >/dev/null \
        || fail "ping router many$i through the shared TAP"
    ip -n $NS_DP neigh show 172.24.1.$((i + 1)) \
        | grep -qi "fa:16:3e:01:00:$(printf %02x $i)" \
        || fail "ARP for many$i: $(ip -n $NS_DP neigh show 172.24.1.$((i + 1)))"
done
ip -n $NS_DP -o link show hx$$ | grep -q "master bx$$" \
    || fail "shared TAP not in the bridge"
python3 - "$SOCK" <<'EOF' || fail "deleting 100 routers"
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
f = s.makefile("rw")
for i in range(100):
    f.write(json.dumps({"op": "router_del", "router": "many%d" % i}) + "\n")
    f.flush()
    assert json.loads(f.readline())["ok"]
EOF
ip -n $NS_DP link show hx$$ >/dev/null 2>&1 \
    && fail "shared TAP left after its last port"

# A port attached to a Linux bridge, as the flavor driver asks.
ip -n $NS_DP link add br$$ type bridge
ctl true '{"op":"port_add","router":"r1","port":"qb","device":"net_tap2,iface=qb'$$'","mac":"fa:16:3e:00:00:04","ip":"10.0.4.1/24","bridge":"br'$$'"}'
ip -n $NS_DP -o link show qb$$ | grep -q "master br$$" \
    || fail "TAP not in the bridge: $(ip -n $NS_DP -o link show qb$$)"
ip -n $NS_DP -o link show qb$$ | grep -q "<.*UP.*>" || fail "TAP not up"
ctl false '{"op":"port_add","router":"r1","port":"qb2","device":"net_tap3,iface=qc'$$'","mac":"fa:16:3e:00:00:05","ip":"10.0.5.1/24","bridge":"nosuch'$$'"}'
ip -n $NS_DP link show qc$$ >/dev/null 2>&1 && fail "TAP of a failed port_add left"
ctl true '{"op":"port_del","port":"qb"}'

ctl true '{"op":"port_del","port":"qr"}'
ip -n $NS_HOST link show qr$$ >/dev/null 2>&1 && fail "TAP still there"
ctl true '{"op":"router_del","router":"r1"}'
ctl true '{"op":"router_del","router":"r1"}'
ip -n $NS_OUT link show qg$$ >/dev/null 2>&1 && fail "TAP still there"

kill -TERM $PID
wait $PID
STATUS=$?
PID=
[ $STATUS = 0 ] || fail "exit status $STATUS"
[ -S "$SOCK" ] && fail "socket left behind"
grep -q " ERR " "$LOG" && fail "error in log: $(grep ' ERR ' "$LOG")"

if [ $FAILED = 0 ]; then
    echo "1 passed, 0 failed"
else
    cat "$LOG"
    echo "0 passed, 1 failed"
fi
exit $FAILED
