#!/usr/bin/env bash
# Runs the load driver over every target, queue size, client count and
# durability that BENCHMARKS.md reports, and appends the driver's output
# lines to the file given as the first argument (default load-results.txt).
#
# Usage: benches/load-matrix.sh [RESULTS_FILE]
# Needs a release build: cargo build --release -p video-delete-host --bins --examples
# and wasmtime 48 on PATH (or WASMTIME=/path/to/wasmtime).
# BENCH_SMOKE=1 shrinks every run to 100 jobs and 20 lookups.
set -euo pipefail
cd "$(dirname "$0")/.."

results=${1:-load-results.txt}
target_dir=${CARGO_TARGET_DIR:-target}
load="$target_dir/release/examples/load"
programs=(--host-bin "$target_dir/release/video-delete-host" --wasmtime-bin "${WASMTIME:-wasmtime}")

# Deletes: every job of the 100- and 10,000-job queues, 50 random jobs of
# the 1,000,000-job queue. Lookups: fewer on larger queues, because each one
# reads the whole file.
sample_for() { if [ "$1" -ge 1000000 ]; then echo "--sample 50"; fi; }
lookups_for() {
    case "$1" in
        100) echo 1000 ;;
        10000) echo 500 ;;
        *) echo 20 ;;
    esac
}

run() {
    echo "# $(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg) $*" | tee -a "$results"
    "$load" run "$@" "${programs[@]}" | tee -a "$results"
}

for jobs in 100 10000 1000000; do
    # shellcheck disable=SC2046 # the helpers print flags to split
    for clients in 1 16; do
        for target in native typed host wasmtime-serve; do
            run --target "$target" --jobs "$jobs" --clients "$clients" \
                --lookups "$(lookups_for "$jobs")" $(sample_for "$jobs")
        done
    done
    for target in native typed host wasmtime-serve tail-copy; do
        run --target "$target" --jobs "$jobs" --clients 1 --durability none \
            --lookups "$(lookups_for "$jobs")" $(sample_for "$jobs")
    done
    run --target tail-copy --jobs "$jobs" --clients 1 $(sample_for "$jobs")
    run --target native --jobs "$jobs" --clients 16 --flock \
        --lookups "$(lookups_for "$jobs")" $(sample_for "$jobs")
done

for target in host wasmtime-serve; do
    echo "# $(date -u +%FT%TZ) startup $target" | tee -a "$results"
    "$load" startup --target "$target" --runs 11 "${programs[@]}" | tee -a "$results"
done
