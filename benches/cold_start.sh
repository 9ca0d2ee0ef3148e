#!/usr/bin/env bash
# Cold start: a fresh static musl process that opens the three example plugins
# (Plugin::open: libc provider, descriptor check, init) and exits, against a
# dynamic glibc process doing dlopen + dlsym of each, whole-process medians of
# N runs each (alternating) and the median of the paired ratios.
#
#   bash benches/cold_start.sh [N]     (default N = 30)
set -euo pipefail
cd "$(dirname "$0")"
N=${1:-30}
../run-example.sh --build-only >/dev/null
cargo build --release -q --bin cold_start
cargo build --release -q --bin cold_start --target x86_64-unknown-linux-musl
static=target/x86_64-unknown-linux-musl/release/cold_start
file "$static" | grep -q "static" || { echo "cold_start.sh: $static is not static" >&2; exit 1; }
target/release/cold_start compare "$static" ../target/example/plugins "$N"
