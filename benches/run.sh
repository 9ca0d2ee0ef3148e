#!/usr/bin/env bash
# Every measurement of BENCHMARKS.md, in order, each one's output in its own file
# under benches/target/report/ (and echoed). About 10 minutes on 2 cores.
#
#   bash benches/run.sh
# Needs gcc, strace and perf (apt-get install -y strace linux-perf), and the
# x86_64-unknown-linux-musl target (rust-toolchain.toml installs it) for the
# static suite. Pass FEATURES=--no-default-features to leave the facade out.
set -eu
cd "$(dirname "$0")"
OUT=target/report
mkdir -p "$OUT"
FEATURES=${FEATURES:-}

step() { # step <name> <command...>
    local name=$1; shift
    echo "== $name: $*" | tee "$OUT/$name.txt"
    "$@" 2>&1 | tee -a "$OUT/$name.txt"
    [ "${PIPESTATUS[0]}" = 0 ] || { echo "$name failed" >&2; exit 1; }
}

{
    echo "nproc: $(nproc)"
    lscpu | head -20
    uname -a
    ldd --version | head -1
    gcc --version | head -1
    cargo --version
    uptime
} >"$OUT/machine.txt"
cat "$OUT/machine.txt"

cargo build --release --bins $FEATURES
step capabilities target/release/capabilities
step capabilities_dlopen_rs target/release/dlopen_rs_suite capabilities
step criterion cargo bench $FEATURES --bench load --bench load_dlopen_rs -- --noplot
step summary target/release/summary
step ratios target/release/ratios
step ratios_dlopen_rs target/release/dlopen_rs_suite ratios
step memory target/release/memory
step syscalls bash syscalls.sh 200
step profile bash profile.sh 4000
cargo build --release $FEATURES --target x86_64-unknown-linux-musl --bin static_suite
step static_musl target/x86_64-unknown-linux-musl/release/static_suite
step static_suite_dynamic target/release/static_suite
uptime | tee -a "$OUT/machine.txt"
