//! The preflight, `OpenOptions::check`, against the fixtures and against the
//! coverage set of Debian libraries.
//!
//! In this process: the verdict and error are those of `Plugin::open` with the
//! same options (every fixture compared), the objects of a load and whether each
//! is new, where each import binds (the names compared with `nm`'s list of the
//! object's undefined symbols), the imports nothing provides (functions trapped
//! and data refused under `trap_unresolved`), descriptors checked without `init`
//! (and the documented blind spot: an `init` that fails), and that a check runs
//! no code and leaves nothing mapped.
//!
//! In static musl hosts: for every object of the coverage set
//! (`tests/coverage-packages.txt`), `check` and a real `Plugin::open`, in a
//! process of its own, give the same verdict and the same error text, and so
//! does the static `staticdl check` (what `staticdl inspect` renders) run over
//! the whole set. `staticdl check` over a folder ranks the missing names as the
//! objects' own `inspect` results (checked against `nm` and `readelf`) add up.
//!
//! The registry is process-wide, so each test here opens its own copies of the
//! fixtures (`private_copies`).

mod common;

#[path = "support/coverage_set.rs"]
mod coverage_set;
#[path = "support/json.rs"]
mod json;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use staticdl::loader::BoundTo;
use staticdl::{DescriptorCheck, NeededBy, OpenError, OpenOptions, Plugin, Report};

extern "C" fn ignore_record(_: i32) {}

/// Copies of fixtures `names` in a directory of their own for test `tag` (so
/// `$ORIGIN` dependencies resolve to the copies); their canonical paths.
fn private_copies(tag: &str, names: &[&str]) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("check")
        .join(format!("{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    names
        .iter()
        .map(|n| {
            let src = common::fixture(n);
            let dst = dir.join(src.file_name().unwrap());
            fs::copy(&src, &dst).unwrap();
            dst.canonicalize().unwrap()
        })
        .collect()
}

/// The undefined dynamic symbols of `path` as `nm -D --undefined-only` lists
/// them (without versions).
fn nm_undefined(path: &Path) -> BTreeSet<String> {
    let out = Command::new("nm")
        .args(["-D", "--undefined-only", "--format=posix"])
        .arg(path)
        .output()
        .expect("running nm");
    assert!(out.status.success(), "nm {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|n| n.split('@').next().unwrap().to_owned())
        .collect()
}

fn verdict(r: &Report) -> Result<(), String> {
    match r.error() {
        None => Ok(()),
        Some(e) => Err(e.to_string()),
    }
}

fn open_verdict(options: &OpenOptions, path: &Path) -> Result<(), String> {
    options.open(path).map(drop).map_err(|e| e.to_string())
}

fn mapped(path: &Path) -> bool {
    let maps = fs::read_to_string("/proc/self/maps").unwrap();
    let p = path.to_string_lossy();
    maps.lines().any(|l| l.ends_with(&*p))
}

#[test]
fn check_gives_the_verdict_and_error_of_open() {
    let names = [
        "basic",
        "chain_c",
        "undefined",
        "undefined_data",
        "execstack",
        "abi_hello",
        "abi_badversion",
        "tls",
        "hostimport",
        "abi_callconv",
        "nostd",
        "rust_abi",
    ];
    let copies = private_copies("agree", &names);
    let not_elf = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let mut paths: Vec<PathBuf> = copies.clone();
    paths.extend([PathBuf::from("/no/such/lib.so"), not_elf]);
    let options = OpenOptions::new().system_dirs(false);
    let mut loads = 0;
    for path in &paths {
        let checked = verdict(&options.check(path));
        let opened = open_verdict(&options, path);
        assert_eq!(checked, opened, "{}", path.display());
        loads += usize::from(opened.is_ok());
    }
    // Both outcomes are covered: the comparison is not all failures.
    assert!(
        loads >= 3 && loads < paths.len(),
        "{loads} of {}",
        paths.len()
    );
    // With host_record offered, the objects that import it load, and agree again.
    let copies = private_copies("agree-record", &["basic", "chain_a", "chain_b", "chain_c"]);
    let options = options.host_symbol("host_record", ignore_record as extern "C" fn(i32) as usize);
    for path in &copies {
        let checked = verdict(&options.check(path));
        assert_eq!(checked, Ok(()), "{}", path.display());
        assert_eq!(checked, open_verdict(&options, path), "{}", path.display());
    }
}

#[test]
fn check_lists_the_objects_their_dependencies_and_imports() {
    let copies = private_copies("objects", &["chain_a", "chain_b", "chain_c"]);
    let (a, b, c) = (&copies[0], &copies[1], &copies[2]);
    let report = OpenOptions::new().system_dirs(false).check(a);
    // chain_c is relocated first (dependencies first) and reports host_record.
    assert_eq!(
        report.error().unwrap().to_string(),
        format!("open({a:?}): {}: undefined symbol host_record", c.display())
    );
    let objects: Vec<(&Path, Option<&str>, bool)> = report
        .objects()
        .iter()
        .map(|o| (o.path(), o.soname(), o.is_new()))
        .collect();
    assert_eq!(
        objects,
        [
            (a.as_path(), Some("libchain_a.so"), true),
            (b.as_path(), Some("libchain_b.so"), true),
            (c.as_path(), Some("libchain_c.so"), true),
        ]
    );
    assert_eq!(
        report.objects()[0].needed(),
        [("libchain_b.so".to_string(), NeededBy::Object(b.clone()))]
    );
    assert_eq!(
        report.objects()[1].needed(),
        [("libchain_c.so".to_string(), NeededBy::Object(c.clone()))]
    );
    for o in report.objects() {
        let imports = o.imports().expect("a new object has its imports");
        let names: BTreeSet<String> = imports.iter().map(|i| i.name.clone()).collect();
        assert_eq!(names, nm_undefined(o.path()), "{}", o.path().display());
        let host_record = imports.iter().find(|i| i.name == "host_record").unwrap();
        assert_eq!(host_record.bound, BoundTo::Missing);
    }
    let bound = |o: usize, name: &str, version: Option<&str>| {
        report.objects()[o]
            .imports()
            .unwrap()
            .iter()
            .find(|i| i.name == name && i.version.as_deref() == version)
            .unwrap_or_else(|| panic!("{name} not imported by object {o}"))
            .bound
            .clone()
    };
    assert_eq!(bound(0, "chain_b_value", None), BoundTo::Object(b.clone()));
    // chain_c defines chain_c_value in VER_1 (readelf shows `chain_c_value@VER_1`).
    assert_eq!(
        bound(1, "chain_c_value", Some("VER_1")),
        BoundTo::Object(c.clone())
    );
    assert_eq!(
        bound(1, "chain_versioned", Some("VER_1")),
        BoundTo::Object(c.clone())
    );
    assert_eq!(
        bound(1, "chain_versioned", Some("VER_2")),
        BoundTo::Object(c.clone())
    );
    // One missing name over the whole load, needed by all three.
    assert_eq!(report.missing().len(), 1);
    let m = &report.missing()[0];
    assert_eq!(m.symbol().to_string(), "host_record");
    assert!(!m.trapped());
    let mut by: Vec<&PathBuf> = m.needed_by().iter().collect();
    by.sort();
    let mut all: Vec<&PathBuf> = copies.iter().collect();
    all.sort();
    assert_eq!(by, all);

    // basic: a weak import nothing defines is bound to 0, not missing.
    let basic = private_copies("objects-basic", &["basic"]).remove(0);
    let report = Plugin::check(&basic);
    let imports = report.objects()[0].imports().unwrap();
    let weak = imports
        .iter()
        .find(|i| i.name == "basic_missing_weak")
        .unwrap();
    assert!(weak.weak);
    assert_eq!(weak.bound, BoundTo::WeakUndefined);
    assert_eq!(report.missing().len(), 1);
    // It has no descriptor, and the check says so although host_record is missing.
    assert!(matches!(report.descriptor(), DescriptorCheck::Absent));
    let execstack = private_copies("objects-execstack", &["execstack"]).remove(0);
    assert!(matches!(
        Plugin::check(execstack).descriptor(),
        DescriptorCheck::NotReached
    ));
}

#[test]
fn objects_loaded_already_are_shared_not_mapped_again() {
    let copies = private_copies("loaded", &["chain_b", "chain_c"]);
    let (b, c) = (&copies[0], &copies[1]);
    let options = OpenOptions::new()
        .system_dirs(false)
        .host_symbol("host_record", ignore_record as extern "C" fn(i32) as usize);
    let plugin_c = options.open(c).unwrap();
    let report = options.check(b);
    assert!(report.loads(), "{:?}", report.error());
    let objects: Vec<(&Path, bool)> = report
        .objects()
        .iter()
        .map(|o| (o.path(), o.is_new()))
        .collect();
    assert_eq!(objects, [(b.as_path(), true), (c.as_path(), false)]);
    assert!(report.objects()[1].imports().is_none());
    let chain_c_value = report.objects()[0]
        .imports()
        .unwrap()
        .iter()
        .find(|i| i.name == "chain_c_value")
        .unwrap();
    assert_eq!(chain_c_value.bound, BoundTo::Object(c.clone()));

    let plugin_b = options.open(b).unwrap();
    let report = options.check(b);
    assert!(report.loads());
    assert!(report.objects().iter().all(|o| !o.is_new()));
    drop((plugin_b, plugin_c));
}

#[test]
fn the_trapping_policy_traps_functions_and_refuses_data() {
    let copies = private_copies("trap", &["undefined", "undefined_data"]);
    let (functions, data) = (&copies[0], &copies[1]);
    let lazy = OpenOptions::new().system_dirs(false).trap_unresolved(true);

    let report = lazy.check(functions);
    assert!(report.loads(), "{:?}", report.error());
    let missing: Vec<(String, bool)> = report
        .missing()
        .iter()
        .map(|m| (m.symbol().to_string(), m.trapped()))
        .collect();
    assert_eq!(
        missing.iter().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            ("another_missing_symbol".to_string(), true),
            ("no_such_symbol_anywhere".to_string(), true),
        ])
    );
    for i in report.objects()[0].imports().unwrap() {
        assert_eq!(i.bound, BoundTo::Trapped, "{i}");
    }
    assert_eq!(open_verdict(&lazy, functions), Ok(()));

    let report = lazy.check(data);
    let error = report.error().expect("missing data is refused").to_string();
    assert!(
        error.ends_with("undefined symbol undefined_data_object"),
        "{error}"
    );
    assert_eq!(Err(error), open_verdict(&lazy, data));
    let by_name = |r: &Report, n: &str| {
        r.missing()
            .iter()
            .find(|m| m.symbol().name == n)
            .unwrap_or_else(|| panic!("{n} not missing"))
            .trapped()
    };
    assert!(by_name(&report, "undefined_data_function"));
    assert!(!by_name(&report, "undefined_data_object"));
    let bound: Vec<(String, BoundTo)> = report.objects()[0]
        .imports()
        .unwrap()
        .iter()
        .map(|i| (i.name.clone(), i.bound.clone()))
        .collect();
    assert!(bound.contains(&("undefined_data_function".into(), BoundTo::Trapped)));
    assert!(bound.contains(&("undefined_data_object".into(), BoundTo::Missing)));

    // Strict, both are missing and none trapped.
    let report = OpenOptions::new().system_dirs(false).check(data);
    assert_eq!(report.missing().len(), 2);
    assert!(report.missing().iter().all(|m| !m.trapped()));
}

#[test]
fn descriptors_are_checked_without_calling_init() {
    let copies = private_copies(
        "descriptor",
        &["abi_hello", "abi_badversion", "abi_initfail"],
    );
    let options = OpenOptions::new()
        .system_dirs(false)
        .host_symbol("host_record", ignore_record as extern "C" fn(i32) as usize);
    match options.check(&copies[0]).descriptor() {
        DescriptorCheck::Accepted(d) => {
            assert_eq!((d.name(), d.version()), ("abi_hello", "1.2.0"));
            assert_eq!(d.exports()[0].signature(), "fn(i32,i32)->i32");
        }
        other => panic!("abi_hello: {other:?}"),
    }
    let report = options.check(&copies[1]);
    match report.descriptor() {
        DescriptorCheck::Refused(cause) => assert!(
            matches!(**cause, OpenError::AbiVersion { found: 2, .. }),
            "{cause}"
        ),
        other => panic!("abi_badversion: {other:?}"),
    }
    assert_eq!(verdict(&report), open_verdict(&options, &copies[1]));
    // Without host_record the open fails on it first; the check still reads the
    // descriptor it would refuse next.
    let report = OpenOptions::new().system_dirs(false).check(&copies[1]);
    assert!(report
        .error()
        .unwrap()
        .to_string()
        .ends_with("undefined symbol host_record"));
    assert!(matches!(
        report.descriptor(),
        DescriptorCheck::Refused(cause) if matches!(**cause, OpenError::AbiVersion { found: 2, .. })
    ));
    // What a dry run cannot know: `init` is not called, so a failing one is not
    // seen (documented on `OpenOptions::check`).
    let report = options.check(&copies[2]);
    assert!(report.loads());
    assert!(matches!(report.descriptor(), DescriptorCheck::Accepted(_)));
    let e = options.open(&copies[2]).unwrap_err();
    assert!(
        matches!(e.open_error(), Some(OpenError::InitFailed { code: 7, .. })),
        "{e}"
    );
}

/// Constructors that would call a trapped import (and abort this process) do
/// not run during a check, and nothing of the check stays mapped.
#[test]
fn a_check_runs_no_code_and_leaves_nothing_mapped() {
    let copies = private_copies("no-code", &["chain_a", "chain_b", "chain_c", "basic"]);
    let lazy = OpenOptions::new().system_dirs(false).trap_unresolved(true);
    for path in &copies {
        let report = lazy.check(path);
        assert!(report.loads(), "{}: {:?}", path.display(), report.error());
        assert!(report.missing().iter().all(|m| m.trapped()));
        for o in report.objects() {
            assert!(!mapped(o.path()), "{} still mapped", o.path().display());
        }
    }
    let loaded = staticdl::provider::namespace().loaded();
    assert!(
        !loaded.iter().any(|l| copies.iter().any(|c| l.path() == c)),
        "a checked object is still in the namespace"
    );
}

/// Checks on several threads of files with the same names (copies of the
/// chain in folders of their own): each report lists its own copies.
#[test]
fn concurrent_checks_of_same_named_objects_keep_their_own() {
    let dirs: Vec<Vec<PathBuf>> = (0..4)
        .map(|i| {
            private_copies(
                &format!("concurrent-{i}"),
                &["chain_a", "chain_b", "chain_c"],
            )
        })
        .collect();
    std::thread::scope(|s| {
        for copies in &dirs {
            s.spawn(move || {
                let dir = copies[0].parent().unwrap();
                for _ in 0..25 {
                    let report = OpenOptions::new().system_dirs(false).check(&copies[0]);
                    let paths: Vec<&Path> = report.objects().iter().map(|o| o.path()).collect();
                    assert_eq!(paths.len(), 3, "{paths:?}");
                    for p in paths {
                        assert_eq!(
                            p.parent(),
                            Some(dir),
                            "{} in a check of {}",
                            p.display(),
                            dir.display()
                        );
                    }
                    for o in report.objects() {
                        for (_, by) in o.needed() {
                            match by {
                                NeededBy::Object(p) => assert_eq!(p.parent(), Some(dir)),
                                other => panic!("{other:?}"),
                            }
                        }
                    }
                }
            });
        }
    });
}

// ---- the coverage set in static musl hosts ----

/// `provider_host check PATH` in a fresh process: its `check:` and `open:`
/// lines (the verdicts of `OpenOptions::check` and then of `Plugin::open`, with
/// default options), or why the process failed.
fn check_and_open(host: &Path, path: &Path) -> (String, String) {
    let out = Command::new(host)
        .arg("check")
        .arg(path)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("running the provider host");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::to_owned)
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ended = || {
        let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
        format!("(host process ended with {}: {tail})", out.status)
    };
    (
        line("check: ").unwrap_or_else(ended),
        line("open: ").unwrap_or_else(ended),
    )
}

#[test]
fn check_and_open_agree_on_every_object_of_the_coverage_set() {
    let host = common::provider_host();
    let objects = coverage_set::objects();
    assert!(objects.len() >= 100, "{} objects", objects.len());
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<(usize, String, String)>> = Mutex::new(Vec::new());
    let cli = common::staticdl_command();
    let cli_run = {
        let paths: Vec<PathBuf> = objects.iter().map(|(_, p)| p.clone()).collect();
        std::thread::spawn(move || {
            Command::new(cli)
                .arg("check")
                .arg("--json")
                .args(paths)
                .output()
                .expect("running staticdl check")
        })
    };
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    *n += 1;
                    *n - 1
                };
                let Some((_, path)) = objects.get(i) else {
                    break;
                };
                let (check, open) = check_and_open(&host, path);
                results.lock().unwrap().push((i, check, open));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);
    let disagree: Vec<String> = results
        .iter()
        .filter(|(_, check, open)| check != open)
        .map(|(i, check, open)| {
            format!(
                "{}:\n    check: {check}\n    open:  {open}",
                objects[*i].1.display()
            )
        })
        .collect();
    let loads = results.iter().filter(|r| r.2 == "loaded").count();
    println!(
        "{} objects: {loads} load, {} refused, {} disagreements",
        results.len(),
        results.len() - loads,
        disagree.len()
    );
    assert!(
        disagree.is_empty(),
        "check and Plugin::open disagree on {} objects:\n{}",
        disagree.len(),
        disagree.join("\n")
    );
    // The comparison covers both outcomes (the set has objects that fail).
    assert!(loads > 0 && loads < results.len());

    // `staticdl check` (what `inspect` renders, one object at a time) over the
    // whole set in one process: the same verdicts and errors as those opens.
    let out = cli_run.join().unwrap();
    let v = json::parse(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    let listed = v["objects"].as_array();
    assert_eq!(listed.len(), objects.len());
    let mut differ = Vec::new();
    for ((i, _, open), c) in results.iter().zip(listed) {
        assert_eq!(c["file"].as_str(), objects[*i].1.to_str());
        let said = match c["error"].as_str() {
            None => "loaded".to_owned(),
            Some(e) => format!("error: {e}"),
        };
        if &said != open {
            differ.push(format!(
                "{}: staticdl check: {said}; open: {open}",
                objects[*i].1.display()
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    assert_eq!(out.status.code(), Some(1), "one object or more is refused");
}

// ---- `staticdl check` over a folder ----

/// Compiles `source` into `out` with gcc (`-nostdlib`, so the only imports are
/// the ones the source declares) and `extra` arguments.
fn gcc(source: &str, out: &Path, extra: &[&str]) {
    let c = out.with_extension("c");
    fs::write(&c, source).unwrap();
    let o = Command::new("gcc")
        .args(["-fPIC", "-nostdlib", "-O1", "-fno-stack-protector", "-o"])
        .arg(out)
        .arg(&c)
        .args(extra)
        .output()
        .expect("running gcc");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    fs::remove_file(c).unwrap();
}

/// `DT_NEEDED` names of `path`, as readelf lists them.
fn readelf_needed(path: &Path) -> Vec<String> {
    common::readelf("-d", path)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split('[').nth(1)?.split(']').next()?.to_owned()))
        .collect()
}

/// A folder of objects whose imports nothing provides, in known amounts, with
/// things `check` must pass over: a symbolic link to an object, a text file and
/// a position-independent executable. Returns the folder and its objects.
fn rank_folder() -> (PathBuf, Vec<PathBuf>) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("check")
        .join(format!("rank-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    let lib = |name: &str, calls: &[&str], extra: &[&str], at: &str| {
        let mut src = String::new();
        for c in calls {
            src.push_str(&format!("extern int {c}(void);\n"));
        }
        let body: Vec<String> = calls.iter().map(|c| format!("{c}()")).collect();
        let body = if body.is_empty() {
            "0".to_owned()
        } else {
            body.join(" + ")
        };
        src.push_str(&format!("int {name}_use(void) {{ return {body}; }}\n"));
        let out = dir.join(at).join(format!("lib{name}.so"));
        let mut args = vec!["-shared".to_owned(), format!("-Wl,-soname,lib{name}.so")];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        gcc(&src, &out, &args);
        out
    };
    let one = lib("rank_one", &["rank_a", "rank_b", "rank_c"], &[], "");
    let two = lib("rank_two", &["rank_a", "rank_b"], &[], "");
    let three = lib("rank_three", &["rank_a"], &[], "");
    let ok = lib("rank_ok", &[], &[], "");
    let four = lib("rank_four", &["rank_a", "rank_d"], &[], "sub");
    // Needs librank_three.so (found through its RUNPATH), imports nothing
    // missing itself: its load misses rank_a all the same.
    let link_three = format!("-L{}", dir.display());
    let five = lib(
        "rank_five",
        &["rank_three_use"],
        &[
            &link_three,
            "-lrank_three",
            "-Wl,--enable-new-dtags",
            "-Wl,-rpath,$ORIGIN/../..",
        ],
        "sub/deeper",
    );
    std::os::unix::fs::symlink(&one, dir.join("librank_one.so.1")).unwrap();
    fs::write(dir.join("notes.txt"), "not an object\n").unwrap();
    gcc(
        "void _start(void) { for (;;) {} }\n",
        &dir.join("sub/program"),
        &["-fPIE", "-pie"],
    );
    assert!(common::readelf("-d", &dir.join("sub/program")).contains("PIE"));
    let mut objects = vec![one, two, three, ok, four, five];
    objects.sort();
    (dir, objects)
}

#[test]
fn staticdl_check_ranks_missing_names_over_a_folder() {
    let cli = common::staticdl_command();
    let (dir, objects) = rank_folder();
    let run = |args: &[&str]| Command::new(cli).args(args).output().unwrap();
    let dir_arg = dir.to_str().unwrap();
    let o = run(&["check", dir_arg, "--json"]);
    assert_eq!(o.status.code(), Some(1), "some objects do not load");
    let v = json::parse(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    let listed: Vec<PathBuf> = v["objects"]
        .as_array()
        .iter()
        .map(|o| PathBuf::from(o["file"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, objects, "the regular shared objects, sorted");
    assert_eq!(v["total"], json::Value::Num(6.0));
    assert_eq!(v["loaded"], json::Value::Num(1.0));

    // Per object, `inspect` alone: its missing names are the undefined symbols
    // nm lists for it and its DT_NEEDED (readelf) in the folder.
    let mut expected: std::collections::BTreeMap<String, usize> = Default::default();
    for object in &objects {
        let o = run(&["inspect", object.to_str().unwrap(), "--json"]);
        let v = json::parse(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
        let missing: BTreeSet<String> = v["missing"]
            .as_array()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect();
        let mut load = vec![object.clone()];
        for n in readelf_needed(object) {
            load.push(dir.join(n));
        }
        let defined: BTreeSet<String> = load
            .iter()
            .flat_map(|p| {
                let out = Command::new("nm")
                    .args(["-D", "--defined-only", "--format=posix"])
                    .arg(p)
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .collect();
        let undefined: BTreeSet<String> = load
            .iter()
            .flat_map(|p| nm_undefined(p))
            .filter(|n| !defined.contains(n))
            .collect();
        assert_eq!(missing, undefined, "{}", object.display());
        assert_eq!(
            v["loads"],
            json::Value::Bool(missing.is_empty()),
            "{}",
            object.display()
        );
        for name in missing {
            *expected.entry(name).or_default() += 1;
        }
    }
    let mut expected: Vec<(String, usize)> = expected.into_iter().collect();
    expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    // The folder's construction makes it: rank_a 5, rank_b 2, rank_c 1, rank_d 1.
    assert_eq!(expected[0], ("rank_a".to_string(), 5));
    let ranked: Vec<(String, usize)> = v["missing"]
        .as_array()
        .iter()
        .map(|m| {
            let n = match m["objects"] {
                json::Value::Num(n) => n as usize,
                ref other => panic!("objects: {other:?}"),
            };
            (m["name"].as_str().unwrap().to_owned(), n)
        })
        .collect();
    assert_eq!(ranked, expected);

    // The text form: one line per object, then the same ranking.
    let o = run(&["check", dir_arg]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    for (line, object) in lines.iter().zip(&objects) {
        let verdict = line
            .strip_prefix(&format!("{}: ", object.display()))
            .unwrap_or_else(|| panic!("{line:?} is not about {}", object.display()));
        if object.ends_with("librank_ok.so") {
            assert_eq!(verdict, "loads");
        } else {
            assert!(verdict.contains("undefined symbol"), "{line}");
        }
    }
    let at = lines
        .iter()
        .position(|l| *l == "missing names, by how many objects need them:")
        .expect("a ranking");
    assert_eq!(at, objects.len());
    let shown: Vec<(String, usize)> = lines[at + 1..at + 1 + expected.len()]
        .iter()
        .map(|l| {
            let mut w = l.split_whitespace();
            let n = w.next().unwrap().parse().unwrap();
            (w.next().unwrap().to_owned(), n)
        })
        .collect();
    assert_eq!(shown, expected);
    assert_eq!(lines.last(), Some(&"1 of 6 objects load"));

    // A file given by name is checked whatever it is; all loading means exit 0.
    let ok = objects
        .iter()
        .find(|p| p.ends_with("librank_ok.so"))
        .unwrap();
    let o = run(&["check", ok.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(&["check", dir.join("notes.txt").to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json::parse(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    assert_eq!(
        v["objects"][0]["reason"].as_str(),
        Some("not an ELF file"),
        "{v:?}"
    );
}
