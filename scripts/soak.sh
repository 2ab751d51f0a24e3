#!/usr/bin/env bash
# Soak: the devnet topology as separate processes on loopback (`ixi-link simnode`,
# `ixi-link serve`, `ixi-miner connect`, `ixi-verifier connect`) for SECONDS, the link restarted
# every RESTART seconds (SIGTERM and SIGKILL in turn), each process's RSS and open file
# descriptors sampled every SAMPLE seconds; at the end every solution and batch is accounted for
# from the processes' JSON logs (scripts/link_evidence.py) and the link's findings are compared
# with the simulated node's ledger.
#
#   scripts/soak.sh [SECONDS=3600] [RESTART=300] [SAMPLE=60]
#
# Environment: IXI_BIN (a folder with ixi-link, ixi-miner and ixi-verifier; default: build the
# release binaries), SOAK_DIR (where logs, samples and the report go; default: a new temporary
# folder), SOAK_BLOCK_SECONDS (default 30), SOAK_MIN_DIFFICULTY (default 10000000).
# Exits 0 when nothing was lost, 1 otherwise. Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
duration=${1:-3600}
restart_every=${2:-300}
sample_every=${3:-60}

if [[ -z "${IXI_BIN:-}" ]]; then
    cargo build --release --locked -p ixi-link -p ixi-miner-cli -p ixi-verifier-cli
    IXI_BIN=target/release
fi
bin=$(cd "$IXI_BIN" && pwd)
dir=${SOAK_DIR:-$(mktemp -d /tmp/ixi-soak.XXXXXX)}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
echo "soak: ${duration}s, link restarted every ${restart_every}s, samples every ${sample_every}s, in $dir"

free_port() { # $1: tcp or udp
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}
node_port=$(free_port tcp)
link_port=$(free_port udp)

pin_of() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["pin"])'; }
link_pin=$("$bin/ixi-link" init --data-dir "$dir/link" --json | pin_of)
miner_pin=$("$bin/ixi-miner" init --data-dir "$dir/miner" --json | pin_of)
verifier_pin=$("$bin/ixi-verifier" init --data-dir "$dir/verifier" --json | pin_of)
"$bin/ixi-link" authorize --data-dir "$dir/link" --pin "$miner_pin" >/dev/null
"$bin/ixi-link" authorize --data-dir "$dir/link" --pin "$verifier_pin" >/dev/null

declare -A pids
cleanup() {
    for name in "${!pids[@]}"; do kill -9 "${pids[$name]}" 2>/dev/null || true; done
}
trap cleanup EXIT

"$bin/ixi-link" --log-format json simnode --listen "127.0.0.1:$node_port" \
    --block-seconds "${SOAK_BLOCK_SECONDS:-30}" --min-difficulty "${SOAK_MIN_DIFFICULTY:-10000000}" \
    --ledger "$dir/ledger.jsonl" 2>"$dir/simnode.log" &
pids[simnode]=$!
# The link and the workers wait for the node's warm-up history (keys and signer PoW).
for _ in $(seq 600); do
    grep -q "chain ready" "$dir/simnode.log" 2>/dev/null && break
    sleep 0.2
done

link_life=0
start_link() {
    link_life=$((link_life + 1))
    # Debug level for the per-batch lines the evidence counts.
    IXI_LOG=debug "$bin/ixi-link" --log-format json serve --data-dir "$dir/link" \
        --listen "127.0.0.1:$link_port" --node "http://127.0.0.1:$node_port" \
        --audit-log "$dir/audit.jsonl" 2>"$dir/serve-$(printf %02d "$link_life").log" &
    pids[serve]=$!
}
start_link
sleep 2
"$bin/ixi-miner" --log-format json connect --data-dir "$dir/miner" --link "127.0.0.1:$link_port" \
    --link-pin "$link_pin" --threads 1 --name soak-miner 2>"$dir/miner.log" &
pids[miner]=$!
IXI_LOG=debug "$bin/ixi-verifier" --log-format json connect --data-dir "$dir/verifier" \
    --link "127.0.0.1:$link_port" --link-pin "$link_pin" --threads 1 --name soak-verifier \
    2>"$dir/verifier.log" &
pids[verifier]=$!

echo "elapsed_s,process,pid,rss_kib,fds" >"$dir/samples.csv"
sample() {
    local elapsed=$1 name pid rss fds
    for name in simnode serve miner verifier; do
        pid=${pids[$name]}
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
        echo "$elapsed,$name,$pid,$rss,$fds" >>"$dir/samples.csv"
    done
}

started=$SECONDS
next_sample=0
next_restart=$restart_every
restarts=0
while ((SECONDS - started < duration)); do
    elapsed=$((SECONDS - started))
    if ((elapsed >= next_sample)); then
        sample "$elapsed"
        next_sample=$((next_sample + sample_every))
    fi
    if ((elapsed >= next_restart)); then
        restarts=$((restarts + 1))
        if ((restarts % 2)); then signal=TERM; else signal=KILL; fi
        echo "soak: ${elapsed}s: restarting the link (SIG$signal)"
        kill -s "$signal" "${pids[serve]}"
        wait "${pids[serve]}" 2>/dev/null || true
        start_link
        next_restart=$((next_restart + restart_every))
    fi
    for name in simnode serve miner verifier; do
        if ! kill -0 "${pids[$name]}" 2>/dev/null; then
            echo "soak: $name (pid ${pids[$name]}) died; see $dir" >&2
            exit 1
        fi
    done
    sleep 1
done
sample $((SECONDS - started))

# A graceful end: the miner hands over what it found and hears the verdicts, then the rest.
for name in miner verifier serve simnode; do
    kill -s TERM "${pids[$name]}" 2>/dev/null || true
    wait "${pids[$name]}" 2>/dev/null || true
    unset "pids[$name]"
done

touch "$dir/audit.jsonl"
status=0
# The simulated node writes its ledger only once it corrupted something.
ledger_args=()
[[ -s "$dir/ledger.jsonl" ]] && ledger_args=(--ledger "$dir/ledger.jsonl" --audit-log "$dir/audit.jsonl")
python3 scripts/link_evidence.py --miner "$dir/miner.log" --link "$dir"/serve-*.log \
    --node "$dir/simnode.log" --verifier "$dir/verifier.log" --samples "$dir/samples.csv" \
    ${ledger_args[@]+"${ledger_args[@]}"} >"$dir/report.json" || status=$?
cat "$dir/report.json"
echo "soak: $restarts link restarts; report in $dir/report.json"
exit "$status"
