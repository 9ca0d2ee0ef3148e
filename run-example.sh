#!/usr/bin/env bash
# Builds the example handler plugins (examples/plugins) and the static musl
# HTTP server (examples/server), then starts the server on 127.0.0.1:8080
# serving them. Ctrl-C stops it.
#
#   ./run-example.sh [SERVER OPTIONS...]   e.g. --listen 127.0.0.1:9000
#   ./run-example.sh --workers 0           one process with threads, instead of
#                                          a worker process per core
#   ./run-example.sh --build-only          build and install, then exit
#
# Everything lands in target/example: the server executable, plugins/, and
# preload/libmanhole.so (the debug endpoint preloaded with STATICDL_PRELOAD,
# kept outside the folder the server mounts).
# Plugins are installed by writing a temporary file and renaming it, so
# running `./run-example.sh --build-only` again while the server runs makes it
# reload the plugins that changed.
#
# Environment:
#   STATICDL_EXAMPLE_OUT         where the server and plugins/ go [target/example]
#   STATICDL_EXAMPLE_TARGET_DIR  cargo's target directory [target/example-build]
#   STATICDL_EXAMPLE_PROFILE     release or dev [release]
#   CARGO, CC                    the cargo and C compiler to use [cargo, gcc]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${STATICDL_EXAMPLE_OUT:-$root/target/example}"
target_dir="${STATICDL_EXAMPLE_TARGET_DIR:-$root/target/example-build}"
profile="${STATICDL_EXAMPLE_PROFILE:-release}"
cargo="${CARGO:-cargo}"
cc="${CC:-gcc}"

build_only=false
if [ "${1:-}" = "--build-only" ]; then
  build_only=true
  shift
fi

case "$profile" in
  release) profile_dir=release ;;
  dev) profile_dir=debug ;;
  *) echo "run-example.sh: STATICDL_EXAMPLE_PROFILE must be release or dev" >&2; exit 2 ;;
esac

# Plugins are built for glibc targets (that is what the libc provider
# answers); the server is a static musl executable.
plugin_target=x86_64-unknown-linux-gnu
server_target=x86_64-unknown-linux-musl

step() { printf '==> %s\n' "$*" >&2; }

build_crate() { # manifest target [cargo options...]
  "$cargo" build --profile "$profile" --manifest-path "$root/$1" \
    --target "$2" --target-dir "$target_dir" "${@:3}"
}

# Copies $1 to $2 through a temporary name and a rename (atomic for a reader).
install_file() {
  local tmp
  tmp="$(dirname "$2")/.$(basename "$2").$$.tmp"
  cp "$1" "$tmp"
  mv -f "$tmp" "$2"
}

mkdir -p "$out/plugins"

step "plugin counter: #![no_std] Rust, heap from the host"
build_crate examples/plugins/counter/Cargo.toml "$plugin_target"
step "plugin echo: Rust with std"
build_crate examples/plugins/echo/Cargo.toml "$plugin_target"
step "plugin greeter: C, gcc against abi/include/staticdl.h"
mkdir -p "$target_dir/greeter"
"$cc" -shared -fPIC -nostdlib -O2 -g0 -fno-stack-protector -Wall -Wextra \
  -I"$root/abi/include" -Wl,-soname,libgreeter.so \
  -o "$target_dir/greeter/libgreeter.so" "$root/examples/plugins/greeter/greeter.c"
step "preload plugin manhole: Rust with std, traps the handlers, serves /debug/manhole"
build_crate examples/plugins/manhole/Cargo.toml "$plugin_target"
step "server: static x86_64-unknown-linux-musl executable (STATICDL_PRELOAD read before main)"
build_crate examples/server/Cargo.toml "$server_target" --features staticdl/preload

built="$target_dir/$plugin_target/$profile_dir"
install_file "$built/libcounter.so" "$out/plugins/libcounter.so"
install_file "$built/libecho.so" "$out/plugins/libecho.so"
install_file "$target_dir/greeter/libgreeter.so" "$out/plugins/libgreeter.so"
mkdir -p "$out/preload"
install_file "$built/libmanhole.so" "$out/preload/libmanhole.so"
install_file "$target_dir/$server_target/$profile_dir/staticdl-server" "$out/staticdl-server"
step "installed $out/staticdl-server and $out/plugins/"

if "$build_only"; then
  exit 0
fi
step "starting: $out/staticdl-server --plugins $out/plugins $*"
exec "$out/staticdl-server" --plugins "$out/plugins" "$@"
