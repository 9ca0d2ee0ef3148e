//! Building the C-host tests' programs: the installed prefix, musl and glibc
//! compiles, running programs and reading their ELF headers.
//!
//! Owns the prefix `capi/install.sh` installs into (once per test process,
//! under `$CARGO_TARGET_TMPDIR/capi`, with its own cargo target directory so
//! the archive is rebuilt only when the crates change), the compiler lines
//! (`musl-gcc` with the prefix's pkg-config file, static-pie and static; `gcc`
//! and `g++` for glibc references and plugins), and helpers that run a program
//! and check it. Does not own what the programs do (the fixtures under
//! `tests/fixtures/capi`) or what the tests expect.
#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// The tests' own directory under the cargo target's temporary directory.
pub fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("capi")
        .join(name);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// A fixture source in `tests/fixtures/capi`.
pub fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/capi")
        .join(name)
}

/// The plugin ABI header's directory (`abi/include`).
pub fn abi_include() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("abi/include")
}

/// Variables of the outer `cargo test` that must not reach the nested build
/// `install.sh` runs (target directory, flags, jobserver).
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

/// The prefix `capi/install.sh PREFIX` installed into (run once per process).
pub fn prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let prefix = work_dir("prefix");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("capi/install.sh");
        let mut cmd = Command::new("bash");
        for (key, _) in std::env::vars_os() {
            if is_outer_build_variable(&key) {
                cmd.env_remove(&key);
            }
        }
        cmd.arg(&script)
            .arg(&prefix)
            .env("CARGO_TARGET_DIR", work_dir("target"));
        let out = output(&mut cmd);
        assert!(
            out.status.success(),
            "capi/install.sh failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        prefix
    })
}

/// `pkg-config ARGS staticdl` against the installed prefix, split into words.
pub fn pkg_config(args: &[&str]) -> Vec<String> {
    let out = output(
        Command::new("pkg-config")
            .args(args)
            .arg("staticdl")
            .env("PKG_CONFIG_PATH", prefix().join("lib/pkgconfig")),
    );
    assert!(
        out.status.success(),
        "pkg-config {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// How a musl program is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// `-static-pie` with the prefix's start and end files.
    StaticPie,
    /// Plain `-static`.
    Static,
}

/// The compiler line for a musl program linked with `libstaticdl.a`, as the
/// README gives it: `compiler` (`musl-gcc`, or `g++` with musl's specs),
/// `front` before the sources (flags, defines), `sources`, then the archive's
/// libraries, then `back` (anything after them on the line, such as `-lc`).
pub fn musl_command(
    compiler: &[&str],
    link: Link,
    front: &[&str],
    sources: &[&Path],
    libs: &[String],
    out: &Path,
) -> Command {
    let mut cmd = Command::new(compiler[0]);
    cmd.args(&compiler[1..]);
    match link {
        Link::StaticPie => {
            cmd.arg("-static-pie")
                .args(pkg_config(&["--variable=static_pie_start"]));
        }
        Link::Static => {
            cmd.arg("-static");
        }
    }
    cmd.args(front)
        .args(pkg_config(&["--cflags"]))
        .args(sources)
        .args(libs);
    if link == Link::StaticPie {
        cmd.args(pkg_config(&["--variable=static_pie_end"]));
    }
    cmd.arg("-o").arg(out);
    cmd
}

/// `pkg-config --static --libs staticdl`.
pub fn staticdl_libs() -> Vec<String> {
    pkg_config(&["--static", "--libs"])
}

/// Builds `out` once per test process, whichever tests ask for it at the same
/// time: `build` writes the file it is given (a temporary name next to `out`),
/// which is renamed into place, so no test runs a half-written program and
/// another process's build is replaced atomically.
pub fn build_once(out: &Path, build: impl FnOnce(&Path)) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<PathBuf, Arc<OnceLock<()>>>>> = OnceLock::new();
    let once = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(out.to_path_buf())
        .or_default()
        .clone();
    once.get_or_init(|| {
        let name = out.file_name().unwrap().to_string_lossy();
        let tmp = out.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        build(&tmp);
        fs::rename(&tmp, out)
            .unwrap_or_else(|e| panic!("renaming {} to {}: {e}", tmp.display(), out.display()));
    });
    out.to_path_buf()
}

/// Runs a compiler command that must succeed.
pub fn compile(what: &str, cmd: &mut Command) {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "building {what} failed ({}):\n{cmd:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds a static-pie musl C program from `sources`, linked with
/// `libstaticdl.a`.
pub fn musl_program(name: &str, sources: &[&Path], front: &[&str]) -> PathBuf {
    build_once(&work_dir("bin").join(name), |tmp| {
        compile(
            name,
            &mut musl_command(
                &["musl-gcc"],
                Link::StaticPie,
                front,
                sources,
                &staticdl_libs(),
                tmp,
            ),
        )
    })
}

/// Builds an ordinary (dynamic, glibc) program with `compiler`.
pub fn glibc_program(name: &str, compiler: &str, sources: &[&Path], extra: &[&str]) -> PathBuf {
    let out = work_dir("bin").join(format!("{name}.glibc"));
    let mut cmd = Command::new(compiler);
    cmd.args(["-O2", "-Wall"])
        .args(sources)
        .args(extra)
        .arg("-o")
        .arg(&out);
    compile(name, &mut cmd);
    out
}

/// Builds an ordinary shared object (linked against glibc, as plugins in the
/// wild are) with `compiler` (`gcc` or `g++`) and `extra` flags.
pub fn shared_object(name: &str, compiler: &str, source: &Path, extra: &[&str]) -> PathBuf {
    build_once(&work_dir("lib").join(format!("lib{name}.so")), |tmp| {
        let mut cmd = Command::new(compiler);
        cmd.args(["-shared", "-fPIC", "-O2", "-Wall", "-Wextra"])
            .args(extra)
            .arg(format!("-Wl,-soname,lib{name}.so"))
            .arg("-o")
            .arg(tmp)
            .arg(source);
        compile(name, &mut cmd);
    })
}

/// Runs `cmd`, returning its output (a program that cannot start panics).
pub fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()))
}

/// Runs `cmd`, which must exit 0, and returns its standard output.
pub fn stdout_of(what: &str, cmd: &mut Command) -> String {
    let out = output(cmd);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{text}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// `readelf FLAG -W PATH`.
pub fn readelf(flag: &str, path: &Path) -> String {
    stdout_of(
        "readelf",
        Command::new("readelf").args([flag, "-W"]).arg(path),
    )
}

/// Asserts that `exe` is a static executable: no `PT_INTERP`, no
/// `DT_NEEDED`; `pie` says whether it must be position-independent.
pub fn assert_static(exe: &Path, pie: bool) {
    let headers = readelf("-lh", exe);
    assert!(
        !headers.contains("INTERP"),
        "{} has PT_INTERP",
        exe.display()
    );
    let dynamic = readelf("-d", exe);
    assert!(
        !dynamic.contains("(NEEDED)"),
        "{} has DT_NEEDED:\n{dynamic}",
        exe.display()
    );
    let kind = if pie { "DYN" } else { "EXEC" };
    assert!(
        headers.contains(&format!("Type:                              {kind}")),
        "{} is not of type {kind}",
        exe.display()
    );
}

/// Lines that differ between two outputs, for assertion messages.
pub fn diff(expected: &str, got: &str) -> String {
    let (e, g): (Vec<_>, Vec<_>) = (expected.lines().collect(), got.lines().collect());
    let mut out = String::new();
    for i in 0..e.len().max(g.len()) {
        let (a, b) = (e.get(i).copied(), g.get(i).copied());
        if a != b {
            out.push_str(&format!(
                "line {}:\n  glibc:    {a:?}\n  staticdl: {b:?}\n",
                i + 1
            ));
        }
    }
    out
}

/// Runs `exe args` inside a root directory holding only what `files` lists
/// (source, path inside the root), as in a `FROM scratch` container: `chroot`
/// (root), else a user namespace in which we are root (`unshare -rm`).
/// `argv0` is the path of the program inside the root.
pub fn run_in_empty_root(
    name: &str,
    files: &[(&Path, &str)],
    argv0: &str,
    args: &[&str],
) -> Output {
    let root = work_dir("roots").join(name);
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    for (from, to) in files {
        let at = root.join(to.trim_start_matches('/'));
        fs::create_dir_all(at.parent().unwrap()).unwrap();
        fs::copy(from, &at)
            .unwrap_or_else(|e| panic!("copying {} to {}: {e}", from.display(), at.display()));
    }
    let out = output(Command::new("chroot").arg(&root).arg(argv0).args(args));
    if out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("chroot:") {
        return out;
    }
    let unshared = output(
        Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "chroot"])
            .arg(&root)
            .arg(argv0)
            .args(args),
    );
    assert!(
        unshared.status.success()
            || !String::from_utf8_lossy(&unshared.stderr).contains("unshare:"),
        "cannot run in an empty root here (chroot needs root, unshare a user namespace): {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&unshared.stderr)
    );
    unshared
}
