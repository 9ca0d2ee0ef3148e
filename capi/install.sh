#!/usr/bin/env bash
# capi/install.sh PREFIX: builds libstaticdl.a for x86_64-unknown-linux-musl and
# installs what a static C, C++ or Go host needs to link it:
#
#   PREFIX/lib/libstaticdl.a             the archive (host API + <dlfcn.h>)
#   PREFIX/lib/staticdl/libunwind.a      the Rust musl toolchain's unwinder
#                                        (Debian's libgcc_eh.a does not work
#                                        against musl: it needs glibc's
#                                        _dl_find_object)
#   PREFIX/include/staticdl.h            the host API header
#   PREFIX/lib/pkgconfig/staticdl.pc     `pkg-config --static --libs staticdl`
#                                        is every library a link needs (and
#                                        keeps the archive's own symbols out
#                                        of an --export-dynamic executable's
#                                        .dynsym: exported, its thread-local
#                                        variables would need TPOFF64
#                                        relocations musl's static-pie
#                                        start-up does not apply);
#                                        `--variable=static_pie_start` and
#                                        `static_pie_end` complete musl-gcc's
#                                        link of a static-pie executable
#
# Environment: CARGO_TARGET_DIR (where cargo builds; default the workspace's
# target/), STATICDL_PROFILE (cargo profile, default release), MUSL_LIBDIR
# (musl's start files; default: read from musl-gcc's specs).
set -euo pipefail

if [ "$#" -ne 1 ]; then
  echo "usage: $0 PREFIX" >&2
  exit 2
fi
mkdir -p "$1"
prefix=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target=x86_64-unknown-linux-musl
profile=${STATICDL_PROFILE:-release}
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$profile" in
  dev) out=debug ;;
  *) out=$profile ;;
esac

cargo build --manifest-path "$root/Cargo.toml" -p staticdl-capi \
  --target "$target" --profile "$profile" --target-dir "$target_dir"

unwind="$(rustc --print sysroot)/lib/rustlib/$target/lib/self-contained/libunwind.a"
if [ ! -f "$unwind" ]; then
  echo "$0: $unwind missing (rustup target add $target)" >&2
  exit 1
fi

# musl-gcc's start files: the directory its specs name for Scrt1.o.
musl_libdir=${MUSL_LIBDIR:-}
if [ -z "$musl_libdir" ] && command -v musl-gcc >/dev/null; then
  musl_libdir=$(musl-gcc -dumpspecs | sed -n 's|.*[[:space:]]\(/[^[:space:]]*\)/Scrt1\.o.*|\1|p' | head -n1)
fi
musl_libdir=${musl_libdir:-/usr/lib/x86_64-linux-musl}
crtbegin=$(gcc -print-file-name=crtbeginS.o)
crtend=$(gcc -print-file-name=crtendS.o)

# Each file through a temporary name (a concurrent link never sees half an
# archive), and only when it changed (what was linked against stays older).
put() {
  if ! cmp -s "$1" "$2"; then
    install -m 644 "$1" "$2.tmp.$$"
    mv -f "$2.tmp.$$" "$2"
  fi
}
install -d "$prefix/lib/pkgconfig" "$prefix/lib/staticdl" "$prefix/include"
put "$target_dir/$target/$out/libstaticdl_capi.a" "$prefix/lib/libstaticdl.a"
put "$unwind" "$prefix/lib/staticdl/libunwind.a"
put "$here/include/staticdl.h" "$prefix/include/staticdl.h"

cat >"$prefix/lib/pkgconfig/.staticdl.pc.tmp" <<EOF
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include
musl_libdir=$musl_libdir
# Debian's musl-gcc specs know no -static-pie (they link Scrt1.o and musl's
# libc.so): a static-pie link puts static_pie_start first and static_pie_end
# last, around the program's objects and libraries.
static_pie_start=-nostartfiles \${musl_libdir}/rcrt1.o \${musl_libdir}/crti.o $crtbegin
static_pie_end=-Wl,-static -Wl,--no-dynamic-linker -lc $crtend \${musl_libdir}/crtn.o

Name: staticdl
Description: dlopen for static binaries: the staticdl host API and <dlfcn.h>
Version: 0.1.0
Cflags: -I\${includedir}
Libs: -L\${libdir} -lstaticdl
Libs.private: \${libdir}/staticdl/libunwind.a -Wl,--eh-frame-hdr -Wl,--exclude-libs,libstaticdl.a
EOF
put "$prefix/lib/pkgconfig/.staticdl.pc.tmp" "$prefix/lib/pkgconfig/staticdl.pc"
rm -f "$prefix/lib/pkgconfig/.staticdl.pc.tmp"
echo "installed libstaticdl.a, staticdl.h and staticdl.pc under $prefix"
