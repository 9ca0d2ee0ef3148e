#!/bin/sh
# Fill the fuzz corpora with real objects: the test fixtures (built by the test
# run into target/tmp/fixtures; built here first if missing) and a few Debian
# system libraries when they are installed.
#
#   fuzz/seed.sh            # then: cd fuzz && cargo +nightly fuzz run parse
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
fixtures="$root/target/tmp/fixtures"

if ! ls "$fixtures"/lib*.so >/dev/null 2>&1; then
    echo "building the test fixtures"
    (cd "$root" && cargo test --test fixtures_build >/dev/null)
fi

for target in parse load; do
    corpus="$here/corpus/$target"
    mkdir -p "$corpus"
    for f in "$fixtures"/lib*.so; do
        cp "$f" "$corpus/$(basename "$f")"
    done
    for lib in libz.so.1 liblz4.so.1 libzstd.so.1 libbz2.so.1.0 liblzma.so.5 libffi.so.8; do
        src="/lib/x86_64-linux-gnu/$lib"
        if [ -f "$src" ]; then
            cp -L "$src" "$corpus/$lib"
        else
            echo "skipping $src (not installed)"
        fi
    done
    echo "$target: $(ls "$corpus" | wc -l) seeds in $corpus"
done
