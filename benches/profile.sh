#!/usr/bin/env bash
# Where the time goes: a cpu-clock profile (perf record; hardware counters are not
# needed) of N open + close cycles, staticdl and glibc, tiny and heavy objects.
# Prints, per run, the time per cycle split into loader code / libc / kernel, the
# share of the kernel paths that matter (each syscall, page faults, populate, VMA
# splits; "children" view: a path's share includes what it calls), and the
# hottest symbols. `perf_event_mmap` is perf's own cost of recording each mmap.
#
#   bash benches/profile.sh [N]      (default N = 2000 for tiny, N / 5 for heavy)
set -eu
cd "$(dirname "$0")"
N=${1:-2000}
cargo build --release --bins -q
BIN=target/release
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

for case in tiny heavy; do
    n=$N
    [ "$case" = heavy ] && n=$((N / 5))
    for loader in staticdl glibc; do
        perf record -q -o "$TMP/perf.data" -e cpu-clock -F 4000 -g \
            "$BIN/syscalls" "$loader" "$case" "$n" >/dev/null 2>&1
        samples=$(perf report -i "$TMP/perf.data" --stdio -n --no-children -g none --sort dso 2>/dev/null |
            awk '/^ +[0-9.]+%/{s+=$2} END{print s}')
        echo
        echo "### $loader, $case: $n cycles, $samples samples at 4 kHz ($(awk -v s="$samples" -v n="$n" 'BEGIN{printf "%.1f", s*250/n}') µs per cycle, start-up included)"
        echo
        echo '```'
        perf report -i "$TMP/perf.data" --stdio --no-children -g none --sort dso 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -6
        echo '--- kernel paths (children view)'
        perf report -i "$TMP/perf.data" --stdio --children -g none --sort symbol 2>/dev/null |
            grep -E '\] (vm_mmap_pgoff|__x64_sys_munmap|__x64_sys_mprotect|__x64_sys_open|__x64_sys_openat|__x64_sys_close|__x64_sys_read|__x64_sys_pread64|__x64_sys_newfstatat|__x64_sys_fstat|asm_exc_page_fault|__mm_populate|__split_vma|perf_event_mmap) ' |
            awk '{printf "  %7s  %s\n", $1, $4}'
        echo '--- hottest symbols (self)'
        perf report -i "$TMP/perf.data" --stdio --no-children -g none --sort dso,symbol 2>/dev/null |
            grep -E '^ +[0-9.]+%' | sed -E 's/ +- +- *$//; s/ +$//' | head -14
        echo '```'
    done
done
