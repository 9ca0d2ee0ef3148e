#!/usr/bin/env bash
# Syscalls and page faults per open (+ lookup) + close, for each loader and object.
#
# Runs `syscalls <loader> <case> N` (and `dlopen_rs_suite cycles <case> N`) under
# `strace -f`, keeps the lines between the two markers the binary writes, and
# divides by N; then `perf stat -e page-faults` over the same runs (N and 10 N
# cycles, the difference divided by 9 N, so start-up faults cancel out). Prints
# markdown tables, then the full one-cycle sequences of the tiny plugin.
#
#   bash benches/syscalls.sh [N]        (default N = 200; needs strace, perf optional)
set -eu
cd "$(dirname "$0")"
N=${1:-200}
cargo build --release --bins -q
BIN=target/release
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

between() { awk '/staticdl-bench:begin/{on=1;next} /staticdl-bench:end/{on=0} on' "$1"; }

run() { # run <label> <command...>: prints "label total per-syscall-breakdown"
    local label=$1; shift
    if ! strace -f -qq -o "$TMP/trace" "$@" >/dev/null 2>"$TMP/err"; then
        echo "| $label | failed: $(tail -1 "$TMP/err") | |"
        return
    fi
    between "$TMP/trace" | sed -E 's/^[0-9]+ +//' >"$TMP/lines"
    local total
    total=$(wc -l <"$TMP/lines")
    local per
    per=$(awk -v n="$N" -v t="$total" 'BEGIN{printf "%.1f", t/n}')
    local breakdown
    breakdown=$(sed -E 's/\(.*//' "$TMP/lines" | sort | uniq -c | sort -rn |
        awk -v n="$N" '{printf "%s %.1f, ", $2, $1/n}' | sed 's/, $//')
    local faults="n/a"
    if command -v perf >/dev/null; then
        local f1 f2
        f1=$(perf stat -x, -e page-faults "$@" 2>&1 >/dev/null | awk -F, '/page-faults/{print $1}')
        local more=("${@:1:$#-1}" $((N * 10)))
        f2=$(perf stat -x, -e page-faults "${more[@]}" 2>&1 >/dev/null | awk -F, '/page-faults/{print $1}')
        faults=$(awk -v a="$f1" -v b="$f2" -v n="$N" 'BEGIN{printf "%.1f", (b-a)/(9*n)}')
    fi
    echo "| $label | $per | $faults | $breakdown |"
}

for case in tiny tiny_libc reopen heavy sqlite; do
    if [ "$case" = sqlite ] && [ ! -e /lib/x86_64-linux-gnu/libsqlite3.so.0 ]; then
        echo "sqlite: not installed"; continue
    fi
    echo
    echo "### $case"
    echo
    echo "| loader | syscalls per open+close | page faults per open+close | by syscall |"
    echo "| --- | ---: | ---: | --- |"
    for loader in staticdl glibc libloading elf_loader; do
        label=$loader
        if [ "$loader" = staticdl ] && { [ "$case" = tiny_libc ] || [ "$case" = sqlite ]; }; then
            label="staticdl + host glibc (bench-local provider)"
        fi
        run "$label" "$BIN/syscalls" "$loader" "$case" "$N"
    done
    if [ "$case" = tiny ] || [ "$case" = reopen ]; then
        run "staticdl facade (Plugin::open)" "$BIN/syscalls" staticdl_facade "$case" "$N"
    fi
    if [ "$case" = tiny_libc ] || [ "$case" = sqlite ]; then
        run "staticdl + staticdl::provider" "$BIN/syscalls" staticdl_provider "$case" "$N"
    fi
    run dlopen-rs "$BIN/dlopen_rs_suite" cycles "$case" "$N"
    if [ "$case" = tiny ]; then
        run "replay of staticdl's sequence" "$BIN/syscalls" replay_staticdl tiny "$N"
        run "replay of glibc's sequence" "$BIN/syscalls" replay_glibc tiny "$N"
    fi
done

for loader in staticdl glibc; do
    echo
    echo "### one open + lookup + close of the tiny plugin: $loader"
    echo
    echo '```'
    strace -qq -o "$TMP/one" "$BIN/syscalls" "$loader" tiny 1 >/dev/null
    between "$TMP/one" | sed -E "s|$PWD/target/[^\"]*/out/||; s/0x7f[0-9a-f]+/0x7f.../g"
    echo '```'
done
