//! Preloading in constructor mode, in the static musl host
//! `tests/fixtures/intercept_host` (built with the `preload` feature):
//!
//! - `STATICDL_PRELOAD="./a.so:./missing.so ./b.so ./a.so"`: a and b initialise
//!   once each, in list order (glibc, run here on the same objects, does it in
//!   reverse); exactly one line for `missing.so`, worded as glibc's loader words
//!   its own line for the same entry; `main` runs; exit 0;
//! - a preloaded plugin's initialiser and `main` both see the real
//!   `argc`/`argv`/`envp`, also when an earlier initialiser moved `environ`;
//! - secure mode: the host made set-user-ID root and run as `nobody` maps
//!   nothing (a run that is not set-user-ID maps the plugin, so the check can
//!   fail), says so in one line, and its child's environment lacks the
//!   variable; glibc's rule drops paths and loads no bare name that is not
//!   set-user-ID.

mod common;
#[path = "fixtures/intercept/support.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{host, preload_fixtures};

fn text(b: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(b)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Runs `cmd`; an executable just copied may still be open for writing in a
/// child another test thread is forking (`ETXTBSY`): that is retried.
fn run(cmd: &mut Command) -> Output {
    for _ in 0..50 {
        match cmd.output() {
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            r => return r.unwrap_or_else(|e| panic!("running {:?}: {e}", cmd.get_program())),
        }
    }
    panic!("{:?} stayed busy", cmd.get_program())
}

#[test]
fn the_list_loads_in_order_once_each_with_one_glibc_worded_line_per_failure() {
    let dir = preload_fixtures();
    let out = run(Command::new(host()).arg("preload").current_dir(&dir).env(
        "STATICDL_PRELOAD",
        "./liba.so:./missing.so ./libb.so ./liba.so",
    ));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        &stdout[..3],
        ["init a", "init b", "main ran"],
        "{stdout:#?}"
    );
    assert_eq!(stdout.iter().filter(|l| l.starts_with("init ")).count(), 2);
    assert!(stdout.contains(&"report loaded=2 failed=1 ignored=0 secure=false".to_owned()));
    assert!(stdout.ends_with(&["loaded liba.so".to_owned(), "loaded libb.so".to_owned()]));

    // glibc's loader, on the same missing entry, gives the words.
    let glibc = run(Command::new("/bin/true")
        .current_dir(&dir)
        .env("LD_PRELOAD", "./missing.so"));
    let glibc_line = text(&glibc.stderr)
        .into_iter()
        .find(|l| l.contains("missing.so"))
        .expect("glibc's loader reports the missing entry");
    let expected = glibc_line
        .replace("ERROR: ld.so: ", "staticdl: ")
        .replace("from LD_PRELOAD", "from STATICDL_PRELOAD");
    assert_eq!(stderr, [expected]);
}

#[test]
fn glibc_initialises_in_reverse_and_staticdl_in_list_order() {
    let dir = preload_fixtures();
    let glibc = run(Command::new("/bin/true")
        .current_dir(&dir)
        .env("LD_PRELOAD", "./liba.so ./libb.so"));
    assert_eq!(text(&glibc.stdout), ["init b", "init a"]);
    let ours = run(Command::new(host())
        .arg("preload")
        .current_dir(&dir)
        .env("STATICDL_PRELOAD", "./liba.so ./libb.so"));
    assert_eq!(&text(&ours.stdout)[..2], ["init a", "init b"]);
}

fn check_real_arguments(move_environ: bool) {
    let dir = preload_fixtures();
    let exe = host();
    let mut cmd = Command::new(&exe);
    cmd.args(["preload", "two words", "", "3"])
        .current_dir(&dir)
        .env("STATICDL_PRELOAD", "./libargs.so")
        .env("PRELOAD_PROBE", "seen by the initialiser");
    if move_environ {
        cmd.env("MOVE_ENVIRON", "1");
    }
    let out = run(&mut cmd);
    assert!(out.status.success(), "{out:?}");
    let lines = text(&out.stdout);
    let argv = [exe.to_str().unwrap(), "preload", "two words", "", "3"];
    let mut expected = vec![format!("ctor argc={}", argv.len())];
    expected.extend(
        argv.iter()
            .enumerate()
            .map(|(i, a)| format!("ctor argv[{i}]={a}")),
    );
    expected.push("ctor env PRELOAD_PROBE=seen by the initialiser".into());
    expected.push("main ran".into());
    expected.extend(
        argv.iter()
            .enumerate()
            .map(|(i, a)| format!("main argv[{i}]={a}")),
    );
    assert_eq!(&lines[..expected.len()], &expected[..], "{lines:#?}");
}

#[test]
fn initialisers_and_main_see_the_real_arguments() {
    check_real_arguments(false);
}

#[test]
fn initialisers_see_the_real_arguments_after_environ_moved() {
    // An earlier initialiser adds a variable (musl moves `environ` to the heap):
    // walking back from `environ` finds nothing, and Rust's own arguments are
    // still empty before `main`.
    check_real_arguments(true);
}

/// A directory `nobody` can read (one per test), with the host set-user-ID
/// root in it and a copy of `liba.so`.
fn secure_dir(test: &str) -> (PathBuf, PathBuf) {
    assert_eq!(
        std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .ok(),
        Some(0),
        "the secure-mode tests run as root (as CI does): they make the host set-user-ID root"
    );
    let dir = std::env::temp_dir().join(format!("staticdl-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.join("intercept_host");
    std::fs::copy(host(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let lib = dir.join("liba.so");
    std::fs::copy(preload_fixtures().join("liba.so"), &lib).unwrap();
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o644)).unwrap();
    (dir, exe)
}

fn as_nobody(exe: &Path, args: &[&str], preload: &str) -> Output {
    run(Command::new("runuser")
        .args(["-u", "nobody", "--", "env"])
        .arg(format!("STATICDL_PRELOAD={preload}"))
        .arg("PRELOAD_PROBE=1")
        .arg(exe)
        .args(args))
}

#[test]
fn secure_mode_loads_nothing_says_so_once_and_removes_the_variable() {
    let (dir, exe) = secure_dir("secure");
    let lib = dir.join("liba.so");
    let list = format!("{}:liba.so", lib.display());

    // The control: not set-user-ID, the same list maps the plugin.
    let control = run(Command::new(&exe)
        .arg("preload-secure")
        .env("STATICDL_PRELOAD", &list)
        .env("PRELOAD_PROBE", "1"));
    let lines = text(&control.stdout);
    assert!(lines.contains(&"mapped objects=1".to_owned()), "{lines:#?}");
    assert!(
        lines.contains(&format!("mapped {}", lib.display())),
        "{lines:#?}"
    );
    assert!(lines.contains(&"env STATICDL_PRELOAD".to_owned()));

    let out = as_nobody(&exe, &["preload-secure"], &list);
    let (lines, errors) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{out:?}");
    assert!(
        lines.contains(&"report loaded=0 failed=0 ignored=2 secure=true".to_owned()),
        "{lines:#?}"
    );
    assert!(lines.contains(&"mapped objects=0".to_owned()), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.starts_with("init ")));
    // The child inherits the environment, but not the variable.
    assert!(
        lines.contains(&"env PRELOAD_PROBE".to_owned()),
        "{lines:#?}"
    );
    assert!(!lines.contains(&"env STATICDL_PRELOAD".to_owned()));
    assert_eq!(
        errors,
        ["staticdl: STATICDL_PRELOAD ignored: the process runs in secure mode (set-user-ID, set-group-ID or capabilities)"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn secure_mode_under_glibcs_rule_drops_paths_and_needs_set_user_id_files() {
    let (dir, exe) = secure_dir("secure-glibc");
    let lib = dir.join("liba.so");
    let list = format!("{} libz.so.1 liba.so", lib.display());
    let out = as_nobody(&exe, &["preload-secure-glibc", &list], &list);
    let (lines, errors) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{out:?}");
    // The path is dropped silently; libz.so.1 is in a system directory but
    // not set-user-ID; liba.so is in none.
    assert!(
        lines.contains(&format!(
            "glibc loaded=0 failed=2 ignored={}",
            lib.display()
        )),
        "{lines:#?}"
    );
    assert!(lines.contains(&"mapped objects=0".to_owned()), "{lines:#?}");
    assert!(!lines.contains(&"env STATICDL_PRELOAD".to_owned()));
    for name in ["libz.so.1", "liba.so"] {
        let line = format!(
            "staticdl: object '{name}' from STATICDL_PRELOAD cannot be preloaded (cannot open shared object file): ignored."
        );
        assert!(errors.contains(&line), "{errors:#?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
