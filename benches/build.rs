//! Generates and compiles the C objects the benchmarks load, into `OUT_DIR`.
//!
//! Owns the plugin sources (written here, never committed as binaries) and the gcc
//! command lines. Everything lands in `OUT_DIR`, whose path reaches the code as
//! `BENCH_PLUGIN_DIR`; nothing else is written.
//!
//! | file | what it is |
//! | --- | --- |
//! | `libtiny.so` | one function, one constructor, `-nostdlib` (no `DT_NEEDED`) |
//! | `libtiny_libc.so` | the same, built normally: needs `libc.so.6` (`getenv`, crt files) |
//! | `libexports5k.so` | 5,000 exported functions, `DT_GNU_HASH` only |
//! | `libbench_dep1.so`, `libbench_dep2.so` | 1,000 functions each, `-nostdlib` |
//! | `libbench_heavy.so` | needs both deps (`DT_RUNPATH=$ORIGIN`); 2,000 imports from them; over 20,000 relocations |
//! | `variants/libtiny_vNNN.so` | 100 copies of the tiny plugin, each with its own `DT_SONAME` |
//! | `libtls_ie.so`, `libtls_gd.so`, `libtls_desc.so` | one `__thread` counter, `-nostdlib`, built initial-exec, general-dynamic and with TLS descriptors |

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Functions in the lookup library.
const EXPORTS: usize = 5_000;
/// Functions in each dependency of the heavy library.
const DEP_FUNCS: usize = 1_000;
/// Entries of the heavy library's table of pointers to its own exported functions
/// (`R_X86_64_64` against a symbol each).
const OWN_POINTERS: usize = 6_000;
/// Entries of the heavy library's table of string pointers (`R_X86_64_RELATIVE` each).
const STRING_POINTERS: usize = 12_000;
/// Copies of the tiny plugin for the memory measurement.
const VARIANTS: usize = 100;

const TINY_C: &str = r#"/* One function, one constructor, no libc. */
static volatile int tiny_ready;

__attribute__((constructor)) static void tiny_init(void) { tiny_ready = 1; }

int tiny_add(int a, int b) { return a + b + tiny_ready - 1; }
"#;

const TINY_LIBC_C: &str = r#"/* The tiny plugin as an ordinary gcc build: crt files, libc.so.6. */
#include <stdlib.h>

static volatile int tiny_ready;

__attribute__((constructor)) static void tiny_init(void) {
    tiny_ready = getenv("STATICDL_BENCH_UNSET_VARIABLE") == NULL;
}

int tiny_add(int a, int b) { return a + b + tiny_ready - 1; }
"#;

const TLS_C: &str = r#"/* One thread-local counter (a zero image), no libc; built three ways. */
__thread int tls_counter;

int tls_bump(void) { return ++tls_counter; }
"#;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=BENCH_CC");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let src = out.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(out.join("variants")).unwrap();

    // Tiny plugin, freestanding: every loader can load it without a libc.
    let tiny = write(&src, "tiny.c", TINY_C);
    gcc(&[
        "-O2",
        "-fPIC",
        "-fno-stack-protector",
        "-c",
        path(&tiny),
        "-o",
        path(&out.join("tiny.o")),
    ]);
    link_nostdlib(
        &out.join("tiny.o"),
        &out.join("libtiny.so"),
        "libtiny.so",
        &[],
    );
    for i in 0..VARIANTS {
        let name = format!("libtiny_v{i:03}.so");
        link_nostdlib(
            &out.join("tiny.o"),
            &out.join("variants").join(&name),
            &name,
            &[],
        );
    }

    // Tiny plugin, ordinary build against glibc.
    let tiny_libc = write(&src, "tiny_libc.c", TINY_LIBC_C);
    gcc(&[
        "-O2",
        "-fPIC",
        "-shared",
        "-Wl,--hash-style=gnu",
        "-Wl,-soname,libtiny_libc.so",
        path(&tiny_libc),
        "-o",
        path(&out.join("libtiny_libc.so")),
    ]);

    // 5,000 exports.
    let mut c = String::from("/* 5,000 exported functions for lookup benchmarks. */\n");
    for i in 0..EXPORTS {
        writeln!(c, "int bench_fn_{i:04}(int x) {{ return x + {i}; }}").unwrap();
    }
    let exports = write(&src, "exports5k.c", &c);
    compile_nostdlib(
        &exports,
        &out.join("libexports5k.so"),
        "libexports5k.so",
        &[],
    );

    // The relocation-heavy library and its two dependencies.
    for d in 1..=2 {
        let mut c = format!("/* Dependency {d} of the heavy library. */\n");
        for i in 0..DEP_FUNCS {
            writeln!(c, "int d{d}_f{i:04}(int x) {{ return x * {d} + {i}; }}").unwrap();
        }
        let name = format!("libbench_dep{d}.so");
        let file = write(&src, &format!("dep{d}.c"), &c);
        compile_nostdlib(&file, &out.join(&name), &name, &[]);
    }
    let heavy = write(&src, "heavy.c", &heavy_source());
    compile_nostdlib(
        &heavy,
        &out.join("libbench_heavy.so"),
        "libbench_heavy.so",
        &[
            "-Wl,--enable-new-dtags",
            "-Wl,-rpath,$ORIGIN",
            &format!("-L{}", out.display()),
            "-lbench_dep1",
            "-lbench_dep2",
        ],
    );

    // The TLS access bench: the same counter through each TLS model.
    let tls = write(&src, "tls.c", TLS_C);
    for (name, model) in [
        ("libtls_ie.so", "-ftls-model=initial-exec"),
        ("libtls_gd.so", "-ftls-model=global-dynamic"),
        ("libtls_desc.so", "-mtls-dialect=gnu2"),
    ] {
        compile_nostdlib(&tls, &out.join(name), name, &[model]);
    }

    println!("cargo:rustc-env=BENCH_PLUGIN_DIR={}", out.display());
}

/// The heavy library: 1,000 exported functions that call one function of each
/// dependency (2,000 `R_X86_64_JUMP_SLOT`), a table of the 2,000 imported
/// addresses (`R_X86_64_64` against the dependencies), a table of its own exported
/// functions (`R_X86_64_64` against itself, resolved through the scope as any
/// interposable symbol is), and a table of string pointers (`R_X86_64_RELATIVE`).
fn heavy_source() -> String {
    let mut c = String::from("/* Relocation-heavy library: see build.rs. */\n");
    for d in 1..=2 {
        for i in 0..DEP_FUNCS {
            writeln!(c, "extern int d{d}_f{i:04}(int);").unwrap();
        }
    }
    for i in 0..DEP_FUNCS {
        writeln!(
            c,
            "int h_f{i:04}(int x) {{ return d1_f{i:04}(x) + d2_f{i:04}(x); }}"
        )
        .unwrap();
    }
    c.push_str("void *const heavy_imports[] = {\n");
    for d in 1..=2 {
        for i in 0..DEP_FUNCS {
            writeln!(c, "  (void *)d{d}_f{i:04},").unwrap();
        }
    }
    c.push_str("};\nvoid *const heavy_own[] = {\n");
    for i in 0..OWN_POINTERS {
        writeln!(c, "  (void *)h_f{:04},", (i * 7) % DEP_FUNCS).unwrap();
    }
    c.push_str("};\nconst char *const heavy_strings[] = {\n");
    for i in 0..STRING_POINTERS {
        writeln!(c, "  \"s{i:05}\",").unwrap();
    }
    c.push_str("};\nint heavy_sum(int x) { return h_f0000(x) + h_f0999(x); }\n");
    c
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    // Rewrite only on change, so gcc's inputs keep their times.
    if std::fs::read_to_string(&p).ok().as_deref() != Some(text) {
        std::fs::write(&p, text).unwrap();
    }
    p
}

fn path(p: &Path) -> &str {
    p.to_str().expect("OUT_DIR is UTF-8")
}

fn compile_nostdlib(src: &Path, out: &Path, soname: &str, extra: &[&str]) {
    let mut args = vec![
        "-O2",
        "-fPIC",
        "-fno-stack-protector",
        "-nostdlib",
        "-shared",
        "-Wl,--hash-style=gnu",
    ];
    let so = format!("-Wl,-soname,{soname}");
    args.push(&so);
    args.push(path(src));
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-o", path(out)]);
    gcc(&args);
}

fn link_nostdlib(obj: &Path, out: &Path, soname: &str, extra: &[&str]) {
    let so = format!("-Wl,-soname,{soname}");
    let mut args = vec![
        "-nostdlib",
        "-shared",
        "-Wl,--hash-style=gnu",
        &so,
        path(obj),
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-o", path(out)]);
    gcc(&args);
}

fn gcc(args: &[&str]) {
    let cc = std::env::var("BENCH_CC").unwrap_or_else(|_| "gcc".into());
    let status = Command::new(&cc)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(status.success(), "{cc} {} failed", args.join(" "));
}
