//! Builds the integration-test fixtures: the shared objects that the loader
//! tests map, compiled from `tests/fixtures` during `cargo test`.
//!
//! Owns: the recipe for every fixture (compiler flags, version scripts,
//! `DT_NEEDED` links between fixtures), the output directory
//! (`$CARGO_TARGET_TMPDIR/fixtures`), and rebuilding a fixture only when it is
//! missing or older than its inputs. Builds are serialised inside one test
//! process and atomic across processes (each output is written under a
//! temporary name and renamed into place), so any number of test binaries
//! can ask for the same fixture at once.
//!
//! Does not own: checking that a fixture has the ELF properties it exists
//! for (`tests/fixtures_build.rs` does that), or loading it.
//!
//! The C fixtures are built with `gcc -shared -fPIC -nostdlib -O1 -g0`: no
//! libc, no start files, so their only imports are the ones each source
//! declares. The Rust fixture `nostd` is a `#![no_std]` cdylib built by a
//! nested `cargo build` with its own target directory.
//!
//! ```ignore
//! mod common;
//!
//! let basic = common::fixture("basic"); // .../fixtures/libbasic.so
//! ```
#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

/// Flags shared by every C fixture.
const CFLAGS: &[&str] = &[
    "-shared",
    "-fPIC",
    "-nostdlib",
    "-O1",
    "-g0",
    // Some distributions turn the stack protector on by default; without
    // libc there is no `__stack_chk_fail` to satisfy it.
    "-fno-stack-protector",
    "-Wall",
    "-Wextra",
];

/// `DT_RUNPATH` (not the legacy `DT_RPATH`) of `$ORIGIN`, for the chain.
const RUNPATH_ORIGIN: &[&str] = &["-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN"];

/// Number of functions in the `manysyms` fixtures.
const MANYSYMS_COUNT: usize = 5000;

/// The Rust target the `nostd` cdylib is built for, whatever the host.
const NOSTD_TARGET: &str = "x86_64-unknown-linux-gnu";

/// Compiler flag for the C plugins built against the plugin ABI header.
const ABI_INCLUDE: &[&str] = &[concat!("-I", env!("CARGO_MANIFEST_DIR"), "/abi/include")];

/// The plugin ABI header, an input of every C plugin fixture.
const ABI_HEADER: &[&str] = &["abi/include/staticdl.h"];

/// How one fixture is made.
enum Recipe {
    /// One C source in `tests/fixtures/c`.
    C(CFixture),
    /// The generated `manysyms.c`, linked with the given `--hash-style`.
    ManySyms { hash_style: &'static str },
    /// The `#![no_std]` cdylib in `tests/fixtures/nostd`.
    Nostd,
    /// The `#![no_std]` plugin built with `staticdl-abi` in
    /// `tests/fixtures/rust_abi`.
    RustAbi,
}

struct CFixture {
    /// Source file name in `tests/fixtures/c`.
    source: &'static str,
    /// Version script in `tests/fixtures/c`, if any.
    version_script: Option<&'static str>,
    /// Fixtures this one links against (each becomes a `DT_NEEDED`).
    needs: &'static [&'static str],
    /// Extra linker arguments.
    link_args: &'static [&'static str],
    /// Further inputs (relative to the package root) whose change rebuilds it.
    inputs: &'static [&'static str],
}

impl CFixture {
    const fn plain(source: &'static str) -> Self {
        CFixture {
            source,
            version_script: None,
            needs: &[],
            link_args: &[],
            inputs: &[],
        }
    }

    /// A C plugin compiled against the plugin ABI header.
    const fn abi(source: &'static str) -> Self {
        CFixture {
            link_args: ABI_INCLUDE,
            inputs: ABI_HEADER,
            ..CFixture::plain(source)
        }
    }

    const fn linked(source: &'static str, link_args: &'static [&'static str]) -> Self {
        CFixture {
            link_args,
            ..CFixture::plain(source)
        }
    }
}

fn recipe(name: &str) -> Recipe {
    let c = match name {
        "basic" => CFixture::plain("basic.c"),
        "order" => CFixture::linked("order.c", &["-Wl,-init=order_init", "-Wl,-fini=order_fini"]),
        "chain_c" => CFixture {
            version_script: Some("chain_c.map"),
            ..CFixture::plain("chain_c.c")
        },
        "chain_b" => CFixture {
            needs: &["chain_c"],
            ..CFixture::linked("chain_b.c", RUNPATH_ORIGIN)
        },
        "chain_a" => CFixture {
            needs: &["chain_b"],
            ..CFixture::linked("chain_a.c", RUNPATH_ORIGIN)
        },
        "hostimport" => CFixture::plain("hostimport.c"),
        "exeimport" => CFixture::plain("exeimport.c"),
        "relr" => CFixture::linked("relr.c", &["-Wl,-z,pack-relative-relocs"]),
        "tls" => CFixture::plain("tls.c"),
        // The same source with TLS descriptors, and with initial-exec TLS.
        "tlsdesc" => CFixture::linked("tls.c", &["-mtls-dialect=gnu2"]),
        "tls_ie" => CFixture::linked("tls.c", &["-ftls-model=initial-exec"]),
        "globaldef" => CFixture::plain("globaldef.c"),
        "execstack" => CFixture::linked("execstack.c", &["-Wl,-z,execstack"]),
        "undefined" => CFixture::plain("undefined.c"),
        // A missing function beside missing data, for the trapping policy.
        "undefined_data" => CFixture::plain("undefined_data.c"),
        // Defines `host_record` for hosts that have none (`staticdl call --preload`).
        "host_record" => CFixture::plain("host_record.c"),
        "manysyms" => return Recipe::ManySyms { hash_style: "gnu" },
        "manysyms_sysv" => return Recipe::ManySyms { hash_style: "sysv" },
        "nostd" => return Recipe::Nostd,
        "abi_hello" => CFixture::abi("abi_hello.c"),
        "abi_badversion" => CFixture::abi("abi_badversion.c"),
        "abi_initfail" => CFixture::abi("abi_initfail.c"),
        "abi_callconv" => CFixture::plain("abi_callconv.c"),
        "rust_abi" => return Recipe::RustAbi,
        _ => panic!("unknown fixture {name:?}"),
    };
    Recipe::C(c)
}

/// Builds (once per process, and atomically across concurrently running test
/// processes: compile to a temp name then rename) and returns the path of
/// fixture `name` (e.g. "basic" -> ".../libbasic.so").
pub fn fixture(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        // A build that panicked left nothing behind in the map; the next
        // caller simply tries again.
        .unwrap_or_else(PoisonError::into_inner);
    build(name, &mut built)
}

/// Directory holding all built fixtures.
pub fn fixture_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/fixtures"));
    fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("creating fixture directory {}: {e}", dir.display()));
    dir
}

/// Builds `name` (and the fixtures it links against) unless this process
/// already did. The caller holds the process-wide build lock.
fn build(name: &str, built: &mut HashMap<String, PathBuf>) -> PathBuf {
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let dir = fixture_dir();
    let out = dir.join(format!("lib{name}.so"));
    match recipe(name) {
        Recipe::C(c) => {
            let deps: Vec<PathBuf> = c.needs.iter().map(|dep| build(dep, built)).collect();
            build_c(name, &c, &deps, &out);
        }
        Recipe::ManySyms { hash_style } => {
            let source = manysyms_source(&dir);
            build_manysyms(name, &source, hash_style, &out);
        }
        Recipe::Nostd => build_nostd(&out),
        Recipe::RustAbi => build_rust_abi(&out),
    }
    built.insert(name.to_owned(), out.clone());
    out
}

fn build_c(name: &str, c: &CFixture, deps: &[PathBuf], out: &Path) {
    let src_dir = c_source_dir();
    let source = src_dir.join(c.source);
    let script = c.version_script.map(|s| src_dir.join(s));
    let mut inputs = vec![source.clone(), builder_source()];
    inputs.extend(script.iter().cloned());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    inputs.extend(c.inputs.iter().map(|p| root.join(p)));
    inputs.extend(deps.iter().cloned());
    if is_fresh(out, &inputs) {
        return;
    }

    let tmp = temp_path(out);
    let mut cmd = Command::new("gcc");
    cmd.args(CFLAGS).arg("-o").arg(&tmp).arg(&source);
    cmd.arg(format!("-Wl,-soname,lib{name}.so"));
    if let Some(script) = &script {
        cmd.arg(format!("-Wl,--version-script={}", script.display()));
    }
    if !c.needs.is_empty() {
        cmd.arg(format!("-L{}", fixture_dir().display()));
        for dep in c.needs {
            cmd.arg(format!("-l{dep}"));
        }
    }
    cmd.args(c.link_args);
    run_gcc(name, &mut cmd, &tmp);
    install(&tmp, out);
}

fn build_manysyms(name: &str, source: &Path, hash_style: &str, out: &Path) {
    if is_fresh(out, &[source.to_path_buf(), builder_source()]) {
        return;
    }
    let tmp = temp_path(out);
    let mut cmd = Command::new("gcc");
    cmd.args(CFLAGS)
        .arg("-o")
        .arg(&tmp)
        .arg(source)
        .arg(format!("-Wl,-soname,lib{name}.so"))
        .arg(format!("-Wl,--hash-style={hash_style}"));
    run_gcc(name, &mut cmd, &tmp);
    install(&tmp, out);
}

/// Writes `<dir>/manysyms.c` (`manysyms_f0` .. `manysyms_f4999`, each
/// returning its index) unless it already holds exactly that text, so its
/// modification time only moves when the generator changes.
fn manysyms_source(dir: &Path) -> PathBuf {
    let mut text = String::from(
        "/* Generated by tests/common/mod.rs: a symbol table large enough that\n   \
         lookups must go through the hash table. Each function returns its index. */\n\n",
    );
    for i in 0..MANYSYMS_COUNT {
        writeln!(text, "int manysyms_f{i}(void) {{ return {i}; }}").expect("writing to a String");
    }
    let path = dir.join("manysyms.c");
    if fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
        let tmp = temp_path(&path);
        fs::write(&tmp, &text).unwrap_or_else(|e| panic!("writing {}: {e}", tmp.display()));
        install(&tmp, &path);
    }
    path
}

fn build_nostd(out: &Path) {
    let crate_dir = fixtures_source_dir().join("nostd");
    build_rust_cdylib("nostd", &crate_dir, &[], "libnostd_plugin.so", out);
}

/// Builds the `staticdl-abi` plugin in `tests/fixtures/rust_abi` (rebuilt
/// when it or the `abi` crate changes), like the `nostd` fixture.
fn build_rust_abi(out: &Path) {
    let crate_dir = fixtures_source_dir().join("rust_abi");
    let abi_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("abi");
    build_rust_cdylib(
        "rust_abi",
        &crate_dir,
        &[abi_dir.join("Cargo.toml"), abi_dir.join("src")],
        "librust_abi_plugin.so",
        out,
    );
}

/// Builds the cdylib crate in `crate_dir` (release, offline, its own target
/// directory) and installs its `lib_file` as `out`, unless `out` is newer than
/// the crate, `extra_inputs` (files or directories) and this builder.
fn build_rust_cdylib(
    name: &str,
    crate_dir: &Path,
    extra_inputs: &[PathBuf],
    lib_file: &str,
    out: &Path,
) {
    let mut inputs = vec![builder_source()];
    for input in std::iter::once(crate_dir).chain(extra_inputs.iter().map(PathBuf::as_path)) {
        if input.is_dir() {
            collect_files(input, &mut inputs)
                .unwrap_or_else(|e| panic!("listing {}: {e}", input.display()));
        } else {
            inputs.push(input.to_path_buf());
        }
    }
    if is_fresh(out, &inputs) {
        return;
    }

    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("fixtures-{}-target", name.replace('_', "-")));
    let mut cmd = nested_cargo();
    cmd.current_dir(crate_dir)
        .arg("build")
        .arg("--release")
        .arg("--offline")
        .arg("--target")
        .arg(NOSTD_TARGET)
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    let output = run(&mut cmd);
    if !output.status.success() {
        panic!(
            "building fixture {name} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let built = target_dir.join(NOSTD_TARGET).join("release").join(lib_file);
    let tmp = temp_path(out);
    fs::copy(&built, &tmp)
        .unwrap_or_else(|e| panic!("copying {} to {}: {e}", built.display(), tmp.display()));
    install(&tmp, out);
}

/// A `cargo` command for a nested build, without the outer build's
/// environment: the outer cargo exports its own configuration (target
/// directory, flags, jobserver) to the tests, and none of it belongs to a
/// nested build.
pub fn nested_cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    for (key, _) in std::env::vars_os() {
        if is_outer_build_variable(&key) {
            cmd.env_remove(&key);
        }
    }
    cmd
}

/// Builds (once per process) the static musl test host in
/// `tests/fixtures/static_host` and returns the executable's path.
pub fn static_host() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| build_musl_host("static_host")).clone()
}

/// Environment variables set for the outer build that must not leak into
/// the nested `cargo build` of the `nostd` fixture.
fn is_outer_build_variable(key: &OsStr) -> bool {
    let Some(key) = key.to_str() else {
        return false;
    };
    (key.starts_with("CARGO_") && key != "CARGO_HOME")
        || matches!(
            key,
            "RUSTFLAGS"
                | "RUSTDOCFLAGS"
                | "RUSTC_WRAPPER"
                | "RUSTC_WORKSPACE_WRAPPER"
                | "MAKEFLAGS"
                | "MFLAGS"
        )
}

/// Runs a prepared gcc command that writes `tmp`; panics with gcc's stderr
/// if it fails.
fn run_gcc(name: &str, cmd: &mut Command, tmp: &Path) {
    let output = run(cmd);
    if !output.status.success() {
        let _ = fs::remove_file(tmp);
        panic!(
            "building fixture {name} failed ({}):\n{cmd:?}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    if !output.stderr.is_empty() {
        eprintln!(
            "building fixture {name}:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()))
}

/// A name next to `out`, unique to this process and call, that no linker
/// search (`-l<name>`) can pick up.
fn temp_path(out: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let file = out
        .file_name()
        .and_then(OsStr::to_str)
        .expect("fixture outputs have UTF-8 names");
    out.with_file_name(format!(
        ".{file}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Atomically replaces `out` with `tmp`.
fn install(tmp: &Path, out: &Path) {
    fs::rename(tmp, out).unwrap_or_else(|e| {
        let _ = fs::remove_file(tmp);
        panic!("renaming {} to {}: {e}", tmp.display(), out.display())
    });
}

/// True if `out` exists and is at least as new as every input.
fn is_fresh(out: &Path, inputs: &[PathBuf]) -> bool {
    let Ok(built) = modified(out) else {
        return false;
    };
    inputs.iter().all(|input| {
        let time =
            modified(input).unwrap_or_else(|e| panic!("fixture input {}: {e}", input.display()));
        time <= built
    })
}

fn modified(path: &Path) -> io::Result<SystemTime> {
    fs::metadata(path)?.modified()
}

/// Every file under `dir`, skipping build output (`target`).
fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if entry.file_name() != "target" {
                collect_files(&path, files)?;
            }
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn fixtures_source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn c_source_dir() -> PathBuf {
    fixtures_source_dir().join("c")
}

/// This file: a change to a recipe rebuilds every fixture.
fn builder_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/mod.rs")
}

// ---- Plugins built the ordinary way, and the static host that loads them ----
//
// The fixtures below link against the system's C library like any plugin found
// in the wild (no `-nostdlib`): `tests/provider.rs` loads them into the static
// musl host `tests/fixtures/provider_host`, where `staticdl::provider` answers
// their `libc.so.6` imports.

/// Builds (once per process) `tests/fixtures/c/<name>.c` as an ordinary shared
/// object linked against glibc and returns its path (`.../lib<name>.so`).
///
/// `glibc_abi` and `glibc_misc` are built with `-D_FORTIFY_SOURCE=2
/// -fstack-protector-all`, so they import the fortified `__*_chk` entry points
/// and `__stack_chk_fail`.
///
/// `glibc_debian` links Debian's own OpenSSL, GMP, Lua 5.4, libxml2, GLib and
/// libcap by their paths (so no -dev package is needed): its `DT_NEEDED`
/// entries are their sonames, found on disk when it is loaded.
pub fn glibc_fixture(name: &str) -> PathBuf {
    const DEBIAN: &[&str] = &[
        "/lib/x86_64-linux-gnu/libcrypto.so.3",
        "/lib/x86_64-linux-gnu/libgmp.so.10",
        "/lib/x86_64-linux-gnu/liblua5.4.so.0",
        "/lib/x86_64-linux-gnu/libxml2.so.2",
        "/lib/x86_64-linux-gnu/libglib-2.0.so.0",
        "/lib/x86_64-linux-gnu/libcap.so.2",
    ];
    let extra: &[&str] = match name {
        "tls_threads" | "glibc_only" | "glibc_stdio" | "glibc_context" | "glibc_locale"
        | "glibc_fts" | "glibc_affinity" => &[],
        "glibc_abi" | "glibc_misc" => &["-D_FORTIFY_SOURCE=2", "-fstack-protector-all"],
        "glibc_debian" => DEBIAN,
        _ => panic!("unknown glibc fixture {name:?}"),
    };
    let source = c_source_dir().join(format!("{name}.c"));
    build_native(name, "gcc", &source, extra)
}

/// Builds (once per process) `tests/fixtures/cpp/<name>.cpp` the ordinary way
/// (`g++ -shared -fPIC`: `DT_NEEDED libstdc++.so.6`, `libgcc_s.so.1`,
/// `libm.so.6`, `libc.so.6`, libstdc++ found on disk when it is loaded) as
/// `lib<name>_disk.so`, and returns its path.
pub fn cpp_disk_fixture(name: &str) -> PathBuf {
    let source = fixtures_source_dir()
        .join("cpp")
        .join(format!("{name}.cpp"));
    build_native(&format!("{name}_disk"), "g++", &source, &[])
}

/// The same source as [`cpp_disk_fixture`] with `-static-libstdc++
/// -static-libgcc`, as `lib<name>_static.so`.
pub fn cpp_static_fixture(name: &str) -> PathBuf {
    let source = fixtures_source_dir()
        .join("cpp")
        .join(format!("{name}.cpp"));
    build_native(
        &format!("{name}_static"),
        "g++",
        &source,
        &["-static-libstdc++", "-static-libgcc"],
    )
}

/// Builds (once per process) `tests/fixtures/cpp/<name>.cpp` with
/// `-static-libstdc++ -static-libgcc` (so it needs only `libc.so.6`,
/// `libm.so.6` and `ld-linux-x86-64.so.2`) and returns its path.
pub fn cpp_fixture(name: &str) -> PathBuf {
    let source = fixtures_source_dir()
        .join("cpp")
        .join(format!("{name}.cpp"));
    build_native(
        name,
        "g++",
        &source,
        &["-static-libstdc++", "-static-libgcc"],
    )
}

fn build_native(name: &str, compiler: &str, source: &Path, extra: &[&str]) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let out = fixture_dir().join(format!("lib{name}.so"));
    if !is_fresh(&out, &[source.to_path_buf(), builder_source()]) {
        let tmp = temp_path(&out);
        let mut cmd = Command::new(compiler);
        cmd.args(["-shared", "-fPIC", "-O2", "-g", "-Wall", "-Wextra"])
            .args(extra.iter().filter(|a| !a.starts_with('/')))
            .arg(format!("-Wl,-soname,lib{name}.so"))
            .arg("-o")
            .arg(&tmp)
            .arg(source);
        // Libraries named by path are inputs too: after the source.
        cmd.args(extra.iter().filter(|a| a.starts_with('/')));
        run_gcc(name, &mut cmd, &tmp);
        install(&tmp, &out);
    }
    built.insert(name.to_owned(), out.clone());
    out
}

/// Builds (once per process) the Rust `cdylib` with the full standard library in
/// `tests/fixtures/rust_std` for `x86_64-unknown-linux-gnu` and returns its path
/// (`.../librust_std.so`).
pub fn rust_std_fixture() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let crate_dir = fixtures_source_dir().join("rust_std");
            let out = fixture_dir().join("librust_std.so");
            build_rust_cdylib("rust_std", &crate_dir, &[], "librust_std_plugin.so", &out);
            out
        })
        .clone()
}

/// Builds (once per process) the static musl test host in
/// `tests/fixtures/provider_host` (which depends on the `staticdl` crate itself)
/// and returns the executable's path.
pub fn provider_host() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| build_musl_host("provider_host"))
        .clone()
}

/// Builds the static musl executable crate `tests/fixtures/<name>` (debug, its
/// own target directory) and returns the executable's path.
pub fn build_musl_host(name: &str) -> PathBuf {
    let crate_dir = fixtures_source_dir().join(name);
    let target_dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-target", name.replace('_', "-")));
    let mut cmd = nested_cargo();
    cmd.current_dir(&crate_dir)
        .args([
            "build",
            "--target",
            "x86_64-unknown-linux-musl",
            "--manifest-path",
        ])
        .arg(crate_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    let output = run(&mut cmd);
    if !output.status.success() {
        panic!(
            "building {name} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    target_dir
        .join("x86_64-unknown-linux-musl/debug")
        .join(name)
}

/// Builds (once per process) `staticdl` for `x86_64-unknown-linux-musl` in a
/// target directory of its own and returns the executable's path.
pub fn staticdl_command() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-target");
        let mut cmd = nested_cargo();
        cmd.current_dir(root)
            .args([
                "build",
                "--offline",
                "-p",
                "staticdl-cli",
                "--bin",
                "staticdl",
            ])
            .args(["--target", "x86_64-unknown-linux-musl", "--manifest-path"])
            .arg(root.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir);
        let out = cmd.output().expect("running cargo");
        assert!(
            out.status.success(),
            "building the staticdl command failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        target_dir.join("x86_64-unknown-linux-musl/debug/staticdl")
    })
}

/// `readelf FLAG -W PATH`, which must succeed; its output.
pub fn readelf(flag: &str, path: &Path) -> String {
    let out = Command::new("readelf")
        .args([flag, "-W"])
        .arg(path)
        .output()
        .expect("running readelf");
    assert!(
        out.status.success(),
        "readelf {flag} {} failed",
        path.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
