#!/usr/bin/env bash
# Faults: miners, the link and an HTTP stand-in node (ixi-standin-node, which keeps its chain
# across restarts) as separate processes, on an impaired network, through:
#   - `kill -9` of the link just after a block begins and a restart 2/5 of a block later,
#     twice, while the miners keep finding solutions for that block;
#   - a stand-in node restart (`kill -9`; it comes back with the same chain);
#   - a flapping network: the miners' side, then the node's side, taken down and up.
# At the end every solution a miner found is accounted for (scripts/link_evidence.py): each
# one the link accepted was stored by the node, each one forwarded was judged by the node
# against the block it was mined for, none went unanswered; the solutions found while the link
# was away are counted apart.
#
#   scripts/faults.sh [SECONDS=300]
#
# Network: as root, with `ip netns` working, the miners run in namespace ixf-miners and the
# stand-in node in ixf-node, each joined to the link's (root) namespace by a veth pair. The
# impairment (5% loss, 100 ms delay with jitter, reordering) is `tc netem` on the veths where
# the kernel has it; without netem (or without namespaces: then everything is on loopback)
# the ixi-impair relay carries the miners' UDP (loss, delay, jitter: reordering) and the node's
# HTTP (delay), and the script says so. Flapping is `ip link set down/up` of a veth, or, on
# loopback, stopping and restarting the relay.
#
# Environment: IXI_BIN (a folder with ixi-link, ixi-miner, ixi-standin-node and ixi-impair;
# default: build the release binaries), FAULTS_DIR (logs and report; default a new temporary
# folder), FAULTS_MINERS (default 2), FAULTS_BLOCK_SECONDS (default 60), FAULTS_MIN_DIFFICULTY
# (default 10000000). Exits 0 when nothing was lost, 1 otherwise, 0 with a printed reason when
# it cannot run here (python3 or the binaries missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:/usr/sbin:/sbin:$PATH"
duration=${1:-300}
miners=${FAULTS_MINERS:-2}
block_seconds=${FAULTS_BLOCK_SECONDS:-60}

if ! command -v python3 >/dev/null; then
    echo "faults: skipped: python3 is needed for the accounting"
    exit 0
fi
if [[ -z "${IXI_BIN:-}" ]]; then
    cargo build --release --locked -p ixi-link -p ixi-miner-cli -p ixi-test-support
    IXI_BIN=target/release
fi
bin=$(cd "$IXI_BIN" && pwd)
for b in ixi-link ixi-miner ixi-standin-node ixi-impair; do
    if [[ ! -x "$bin/$b" ]]; then
        echo "faults: skipped: $bin/$b is missing"
        exit 0
    fi
done
dir=${FAULTS_DIR:-$(mktemp -d /tmp/ixi-faults.XXXXXX)}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# --- the network ----------------------------------------------------------------------------
mode=loopback
reason=""
if [[ $(id -u) -ne 0 ]]; then
    reason="not root"
elif ! command -v ip >/dev/null; then
    reason="no ip command"
elif ! ip netns add ixf-probe 2>/dev/null; then
    reason="ip netns add fails here"
else
    ip netns del ixf-probe
    mode=netns
fi

declare -A pids
teardown() {
    for name in "${!pids[@]}"; do kill -9 "${pids[$name]}" 2>/dev/null || true; done
    if [[ $mode == netns ]]; then
        ip link del ixf-m0 2>/dev/null || true
        ip link del ixf-n0 2>/dev/null || true
        ip netns del ixf-miners 2>/dev/null || true
        ip netns del ixf-node 2>/dev/null || true
    fi
}
trap teardown EXIT

free_port() { # $1: tcp or udp
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}
link_port=$(free_port udp)
relay_port=$(free_port udp)
node_port=$(free_port tcp)
node_relay_port=$(free_port tcp)

netem=no
in_miners=()
in_node=()
if [[ $mode == netns ]]; then
    teardown
    ip netns add ixf-miners
    ip netns add ixf-node
    for ns in ixf-miners ixf-node; do ip -n "$ns" link set lo up; done
    ip link add ixf-m0 type veth peer name ixf-m1 netns ixf-miners
    ip link add ixf-n0 type veth peer name ixf-n1 netns ixf-node
    ip addr add 10.78.1.1/24 dev ixf-m0
    ip addr add 10.78.2.1/24 dev ixf-n0
    ip -n ixf-miners addr add 10.78.1.2/24 dev ixf-m1
    ip -n ixf-node addr add 10.78.2.2/24 dev ixf-n1
    ip link set ixf-m0 up
    ip link set ixf-n0 up
    ip -n ixf-miners link set ixf-m1 up
    ip -n ixf-node link set ixf-n1 up
    in_miners=(ip netns exec ixf-miners)
    in_node=(ip netns exec ixf-node)
    link_host=10.78.1.1
    node_host=10.78.2.2
    impair="tc netem loss 5% delay 100ms 20ms reorder 25% 50%"
    if tc qdisc add dev ixf-m0 root netem loss 5% delay 100ms 20ms reorder 25% 50% 2>/dev/null; then
        netem=yes
        tc -n ixf-miners qdisc add dev ixf-m1 root netem loss 5% delay 100ms 20ms reorder 25% 50%
        tc qdisc add dev ixf-n0 root netem loss 5% delay 100ms 20ms reorder 25% 50%
        tc -n ixf-node qdisc add dev ixf-n1 root netem loss 5% delay 100ms 20ms reorder 25% 50%
    else
        impair="ixi-impair relays (this kernel has no netem qdisc): UDP 5% loss each way, 100 ms + 0..40 ms jitter (reordering); HTTP 100 ms each way"
    fi
    network="network namespaces with veth pairs; impairment: $impair; flapping: ip link set down/up"
else
    link_host=127.0.0.1
    node_host=127.0.0.1
    network="loopback ($reason, so no namespaces); impairment: ixi-impair relays: UDP 5% loss each way, 100 ms + 0..40 ms jitter (reordering); HTTP 100 ms each way; flapping: the relays stopped and restarted"
fi
echo "faults: ${duration}s, $miners miners, blocks of ${block_seconds}s, in $dir"
echo "faults: $network"

# Where the miners and the link dial: straight, or through a relay.
if [[ $netem == yes ]]; then
    miners_dial="$link_host:$link_port"
    link_dials="http://$node_host:$node_port"
else
    miners_dial="$link_host:$relay_port"
    link_dials="http://127.0.0.1:$node_relay_port"
fi
start_relays() {
    [[ $netem == yes ]] && return
    "$bin/ixi-impair" udp --listen "$link_host:$relay_port" --to "$link_host:$link_port" \
        --loss 0.05 --delay-ms 100 --jitter-ms 40 2>>"$dir/impair.log" &
    pids[udp_relay]=$!
    "$bin/ixi-impair" tcp --listen "127.0.0.1:$node_relay_port" --to "$node_host:$node_port" \
        --delay-ms 100 2>>"$dir/impair.log" &
    pids[tcp_relay]=$!
}

# --- the processes --------------------------------------------------------------------------
pin_of() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["pin"])'; }
link_pin=$("$bin/ixi-link" init --data-dir "$dir/link" --json | pin_of)
for i in $(seq "$miners"); do
    pin=$("$bin/ixi-miner" init --data-dir "$dir/miner-$i" --json | pin_of)
    "$bin/ixi-link" authorize --data-dir "$dir/link" --pin "$pin" >/dev/null
done

node_life=0
start_node() {
    node_life=$((node_life + 1))
    "${in_node[@]}" "$bin/ixi-standin-node" --listen "$node_host:$node_port" \
        --state "$dir/node-state.json" --judgments "$dir/judgments.jsonl" \
        --block-seconds "$block_seconds" \
        --min-difficulty "${FAULTS_MIN_DIFFICULTY:-10000000}" 2>>"$dir/node.log" &
    pids[node]=$!
}
link_life=0
start_link() {
    link_life=$((link_life + 1))
    "$bin/ixi-link" --log-format json serve --data-dir "$dir/link" \
        --listen "$link_host:$link_port" --node "$link_dials" --no-shadow \
        2>"$dir/serve-$(printf %02d "$link_life").log" &
    pids[link]=$!
}
log() { echo "faults: $((SECONDS - started))s: $*"; }

started=$SECONDS
start_node
start_relays
sleep 1
start_link
sleep 2
for i in $(seq "$miners"); do
    "${in_miners[@]}" "$bin/ixi-miner" --log-format json connect --data-dir "$dir/miner-$i" \
        --link "$miners_dial" --link-pin "$link_pin" --threads 1 --name "faults-miner-$i" \
        2>"$dir/miner-$i.log" &
    pids[miner$i]=$!
done

# Waits until `at` seconds after the start, checking that nothing died.
until_t() {
    while ((SECONDS - started < $1)); do
        for name in "${!pids[@]}"; do
            if ! kill -0 "${pids[$name]}" 2>/dev/null; then
                log "$name (pid ${pids[$name]}) died; see $dir" >&2
                exit 1
            fi
        done
        sleep 1
    done
}
kill_link() {
    log "kill -9 of the link"
    kill -9 "${pids[link]}"
    wait "${pids[link]}" 2>/dev/null || true
    unset "pids[link]"
}
flap() { # $1: miners or node; $2: times
    local i
    for i in $(seq "$2"); do
        if [[ $mode == netns ]]; then
            local dev=ixf-m0
            [[ $1 == node ]] && dev=ixf-n0
            ip link set "$dev" down
            sleep 3
            ip link set "$dev" up
        else
            local relay=udp_relay
            [[ $1 == node ]] && relay=tcp_relay
            kill -9 "${pids[$relay]}"
            wait "${pids[$relay]}" 2>/dev/null || true
            sleep 3
            if [[ $relay == udp_relay ]]; then
                "$bin/ixi-impair" udp --listen "$link_host:$relay_port" --to "$link_host:$link_port" \
                    --loss 0.05 --delay-ms 100 --jitter-ms 40 2>>"$dir/impair.log" &
            else
                "$bin/ixi-impair" tcp --listen "127.0.0.1:$node_relay_port" \
                    --to "$node_host:$node_port" --delay-ms 100 2>>"$dir/impair.log" &
            fi
            pids[$relay]=$!
        fi
        sleep 4
    done
}

# The schedule, in blocks of the stand-in chain (block k begins k blocks after the node's
# first start): the link killed just after a block begins (the miners hold a fresh job, so
# they find solutions while it is away) and back before the block ends, twice; the node killed
# and restarted 10 s later; each side's network flapping; a last block to settle.
b=$block_seconds
away=$((b * 2 / 5))
if ((duration < 5 * b || away < 10)); then
    echo "faults: SECONDS must be at least 5 blocks and a block at least 25 s" >&2
    exit 2
fi
until_t $((b + 2))
kill_link
sleep "$away"
start_link
log "link back"
until_t $((2 * b - 15))
log "kill -9 of the stand-in node"
kill -9 "${pids[node]}"
wait "${pids[node]}" 2>/dev/null || true
unset "pids[node]"
sleep 10
start_node
log "stand-in node back"
until_t $((2 * b + 5))
log "flapping the miners' side (5 x 3 s down)"
flap miners 5
log "flapping the node's side (4 x 3 s down)"
flap node 4
until_t $((4 * b + 2))
kill_link
sleep "$away"
start_link
log "link back"
until_t "$duration"

# A graceful end: the miners hand over what they found and hear the verdicts, then the rest.
for name in $(seq "$miners"); do kill -s TERM "${pids[miner$name]}" 2>/dev/null || true; done
for name in $(seq "$miners"); do
    wait "${pids[miner$name]}" 2>/dev/null || true
    unset "pids[miner$name]"
done
for name in link node udp_relay tcp_relay; do
    [[ -n "${pids[$name]:-}" ]] || continue
    kill -s TERM "${pids[$name]}" 2>/dev/null || true
    wait "${pids[$name]}" 2>/dev/null || true
    unset "pids[$name]"
done

status=0
python3 scripts/link_evidence.py --miner "$dir"/miner-*.log --link "$dir"/serve-*.log \
    --node "$dir/judgments.jsonl" >"$dir/report.json" || status=$?
cat "$dir/report.json"
echo "faults: $network"
echo "faults: $link_life link lives, $node_life node lives; report in $dir/report.json"
exit "$status"
