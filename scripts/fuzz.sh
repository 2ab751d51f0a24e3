#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 600), JOBS at a time
# (default 1), from the committed seeds in fuzz/corpus/<target>/ (the corpus grows in
# fuzz/work/<target>/, which git ignores). Installs cargo-fuzz when it is missing; needs the
# nightly toolchain (`rustup toolchain install nightly`) for the sanitizer build.
#
#   scripts/fuzz.sh [SECONDS=600] [TARGET...]
#
# Environment: FUZZ_JOBS (targets at once, default 1), FUZZ_NICE (niceness, default 15).
# Writes fuzz/logs/<target>.log and prints one line per target: seconds run, executions and
# crashes (a crash leaves its input in fuzz/artifacts/<target>/). Exits 1 when any target
# crashed. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export PATH="$HOME/.cargo/bin:$PATH"
seconds=${1:-600}
shift || true
jobs=${FUZZ_JOBS:-1}
niceness=${FUZZ_NICE:-15}

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    nice -n "$niceness" cargo install cargo-fuzz --locked
fi
if (($# > 0)); then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
# One sanitizer build of every target before any runs: optimized, with debug assertions (so
# that an arithmetic overflow is a crash too).
nice -n "$niceness" cargo +nightly fuzz build -O -a

mkdir -p logs work
run_one() {
    local target=$1 started
    mkdir -p "work/$target" "artifacts/$target"
    started=$(date +%s)
    # -max_total_time ends the run; the seeds are read, new inputs go to work/<target>.
    nice -n "$niceness" cargo +nightly fuzz run -O -a "$target" "work/$target" "corpus/$target" \
        -- -max_total_time="$seconds" -print_final_stats=1 >"logs/$target.log" 2>&1 || true
    local ran=$(($(date +%s) - started))
    local execs crashes
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "logs/$target.log" | tail -n 1)
    crashes=$(find "artifacts/$target" -type f -name 'crash-*' -o -type f -name 'leak-*' -o -type f -name 'timeout-*' -o -type f -name 'oom-*' | wc -l)
    echo "$target: ${ran}s, ${execs:-?} executions, $crashes crashes"
}

summary=logs/summary-$$.txt
: >"$summary"
running=0
for target in "${targets[@]}"; do
    run_one "$target" >>"$summary" &
    running=$((running + 1))
    if ((running >= jobs)); then
        wait -n || true
        running=$((running - 1))
    fi
done
wait
sort "$summary"
! grep -qv ' 0 crashes$' "$summary"
