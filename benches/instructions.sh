#!/usr/bin/env bash
# Instructions per open+close (callgrind: repeatable on a noisy machine), for
# each loader and object: `syscalls <loader> <case> N` run with N = 20 and 60,
# the difference divided by 40 (start-up and the warm-up cycle cancel out).
# Symbol lookups likewise with `lookups <loader> <hit|miss> N`, N = 1000 and 3000.
#
#   bash benches/instructions.sh        (needs valgrind)
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release -q --bins
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | awk '/Collected/ {print $4}'; }
per() { # per BIN ARGS... LOW HIGH
  local bin=$1; shift
  local hi=${@: -1}; local lo=${@: -2:1}; local args=("${@:1:$#-2}")
  local a b; a=$(count "$bin" "${args[@]}" "$lo"); b=$(count "$bin" "${args[@]}" "$hi")
  echo $(( (b - a) / (hi - lo) ))
}
echo "| case | staticdl | staticdl + staticdl::provider | glibc | elf_loader | staticdl / glibc |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for c in tiny heavy sqlite; do
  s=$(per target/release/syscalls staticdl $c 20 60)
  p=$( [ $c = sqlite ] && per target/release/syscalls staticdl_provider $c 20 60 || echo "" )
  g=$(per target/release/syscalls glibc $c 20 60)
  e=$(per target/release/syscalls elf_loader $c 20 60)
  best=${p:-$s}
  printf "| %s open+close | %'d | %s | %'d | %'d | %s |\n" "$c" "$s" "${p:+$(printf "%'d" "$p")}" "$g" "$e" \
    "$(awk -v a="$best" -v b="$g" 'BEGIN{printf "%.2f", a/b}')"
done
echo
echo "| lookup, 5,000 exports | staticdl symbol(&str) | staticdl lookup_here(const) | glibc dlsym | elf_loader get |"
echo "| --- | ---: | ---: | ---: | ---: |"
for c in hit miss; do
  printf "| %s | %s | %s | %s | %s |\n" "$c" \
    "$(per target/release/lookups staticdl $c 1000 3000)" "$(per target/release/lookups staticdl_const $c 1000 3000)" \
    "$(per target/release/lookups glibc $c 1000 3000)" "$(per target/release/lookups elf_loader $c 1000 3000)"
done
