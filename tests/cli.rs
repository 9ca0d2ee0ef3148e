//! The `staticdl` command, built as a static musl executable (no `PT_INTERP`, no
//! `DT_NEEDED`) and run against the fixtures: `inspect` on objects that load and
//! objects that do not (exit status, text, JSON shape), `inspect` and `call`
//! agreeing (Debian's zlib; a refused object), `call` with integers, strings,
//! floating point and versions, functions nothing provides bound to traps (a
//! constructor that calls one aborts, naming it), `--preload` supplying them
//! (compared with glibc running the same objects), and every usage error (exit
//! status 2). `staticdl check` is tested in `tests/check.rs`.

mod common;

#[path = "support/json.rs"]
mod json;

use std::path::Path;
use std::process::{Command, Output};

fn cli() -> &'static Path {
    common::staticdl_command()
}

fn run(args: &[&str]) -> Output {
    Command::new(cli())
        .args(args)
        .output()
        .expect("running staticdl")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fixture(name: &str) -> String {
    common::fixture(name).to_string_lossy().into_owned()
}

/// `--preload` of the fixture that defines `host_record`, which the fixtures'
/// constructors and destructors call.
fn preload_record() -> [String; 2] {
    ["--preload".into(), fixture("host_record")]
}

/// Runs `staticdl call ...` and returns its one line of output; fails on a
/// non-zero exit.
fn call_ok(args: &[&str]) -> String {
    let mut all = vec!["call"];
    all.extend_from_slice(args);
    let o = run(&all);
    assert!(
        o.status.success(),
        "staticdl {all:?} failed ({}):\n{}{}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    stdout(&o).trim_end_matches('\n').to_owned()
}

#[test]
fn the_command_is_a_static_executable() {
    let exe = cli();
    let headers = common::readelf("-l", exe);
    assert!(
        !headers.contains("INTERP"),
        "staticdl has PT_INTERP:\n{headers}"
    );
    let dynamic = common::readelf("-d", exe);
    assert!(
        !dynamic.contains("(NEEDED)"),
        "staticdl has DT_NEEDED:\n{dynamic}"
    );
    // The debugger interface survives `strip`: gdb finds plugins it loads.
    let dynsym = common::readelf("--dyn-syms", exe);
    assert!(
        dynsym.contains(" _dl_debug_state") && dynsym.contains(" _r_debug"),
        "staticdl does not export the debugger interface:\n{dynsym}"
    );
    let help = run(&["--help"]);
    assert!(help.status.success());
    assert!(stdout(&help).contains("staticdl call FILE SYMBOL"));
}

#[test]
fn inspect_a_plugin_that_loads() {
    let o = run(&["inspect", &fixture("abi_hello")]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    for line in [
        "plugin: abi_hello 1.2.0 (ABI version 1)",
        "  export add: fn(i32,i32)->i32",
        "  route GET /hello -> abi_hello_handler",
        "imports: (none)",
        "executable stack: no",
        "verdict: loads",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing from:\n{text}"
        );
    }

    let o = run(&["inspect", &fixture("abi_hello"), "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v = json::parse(stdout(&o).trim()).unwrap();
    assert_eq!(v["loads"], json::Value::Bool(true));
    assert_eq!(v["error"], json::Value::Null);
    assert_eq!(v["tls"], json::Value::Bool(false));
    assert_eq!(v["plugin"]["name"].as_str(), Some("abi_hello"));
    assert_eq!(v["plugin"]["abi_version"], json::Value::Num(1.0));
    let exports = v["plugin"]["exports"].as_array();
    assert_eq!(exports.len(), 4);
    assert_eq!(exports[1]["name"].as_str(), Some("scale"));
    assert_eq!(exports[1]["signature"].as_str(), Some("fn(f64,f64)->f64"));
    assert_eq!(v["plugin"]["routes"][0]["path"].as_str(), Some("/hello"));

    // The Rust plugin imports the memory functions, which this host offers.
    let o = run(&["inspect", &fixture("rust_abi"), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = json::parse(stdout(&o).trim()).unwrap();
    let imports = v["imports"].as_array();
    assert!(!imports.is_empty());
    for i in imports {
        assert_eq!(i["resolved_by"].as_str(), Some("host"), "{i:?}");
    }
    assert_eq!(
        v["plugin"]["routes"][0]["handler"].as_str(),
        Some("rabi_hello")
    );
}

#[test]
fn inspect_shows_dependencies_and_how_imports_resolve() {
    let o = run(&["inspect", &fixture("chain_a"), "--json"]);
    let v = json::parse(stdout(&o).trim()).unwrap();
    // chain_c imports host_record, which this host does not provide.
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(v["loads"], json::Value::Bool(false));
    assert!(v["error"]
        .as_str()
        .unwrap()
        .contains("undefined symbol host_record"));
    let needed = v["needed"].as_array();
    assert_eq!(needed[0]["name"].as_str(), Some("libchain_b.so"));
    assert_eq!(
        needed[0]["path"].as_str(),
        Some(fixture("chain_b").as_str())
    );
    let imports = v["imports"].as_array();
    let by_name = |n: &str| {
        imports
            .iter()
            .find(|i| i["name"].as_str() == Some(n))
            .unwrap_or_else(|| panic!("{n} not among {imports:?}"))
            .clone()
    };
    let b = by_name("chain_b_value");
    assert_eq!(b["resolved"], json::Value::Bool(true));
    assert_eq!(b["resolved_by"].as_str(), Some("libchain_b.so"));
    assert_eq!(b["bound"].as_str(), Some("object"));
    assert_eq!(by_name("host_record")["bound"].as_str(), Some("missing"));
    assert_eq!(v["plugin"], json::Value::Null);
    // The whole load: three new objects, and host_record missing in each.
    let objects: Vec<(&str, bool)> = v["objects"]
        .as_array()
        .iter()
        .map(|o| {
            (
                o["soname"].as_str().unwrap(),
                o["new"] == json::Value::Bool(true),
            )
        })
        .collect();
    assert_eq!(
        objects,
        [
            ("libchain_a.so", true),
            ("libchain_b.so", true),
            ("libchain_c.so", true)
        ]
    );
    let missing = v["missing"].as_array();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["name"].as_str(), Some("host_record"));
    assert_eq!(missing[0]["trapped"], json::Value::Bool(false));
    assert_eq!(missing[0]["needed_by"].as_array().len(), 3);

    // basic: a weak import bound to 0, and a strong one nothing provides.
    let o = run(&["inspect", &fixture("basic")]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(
        text.contains("  basic_missing_weak (weak) => unresolved, bound to 0"),
        "{text}"
    );
    assert!(text.contains("  host_record => UNRESOLVED"), "{text}");
    assert!(
        text.contains("init functions: 1, fini functions: 1"),
        "{text}"
    );
    assert!(
        text.contains("verdict: would not load: ") && text.contains("undefined symbol host_record")
    );
}

#[test]
fn inspect_objects_that_would_not_load() {
    let o = run(&["inspect", &fixture("undefined"), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json::parse(stdout(&o).trim()).unwrap();
    assert_eq!(v["loads"], json::Value::Bool(false));
    let err = v["error"].as_str().unwrap();
    assert!(
        err.contains("no_such_symbol_anywhere") && err.contains("another_missing_symbol"),
        "{err}"
    );
    let imports = v["imports"].as_array();
    assert_eq!(imports.len(), 2);
    assert!(imports
        .iter()
        .all(|i| i["resolved"] == json::Value::Bool(false)));

    let o = run(&["inspect", &fixture("execstack")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("executable stack: yes"));
    assert!(stdout(&o).contains("requires an executable stack"));

    let o = run(&["inspect", &fixture("abi_badversion"), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json::parse(stdout(&o).trim()).unwrap();
    assert_eq!(v["plugin"]["abi_version"], json::Value::Num(2.0));
    assert!(v["plugin"]["error"]
        .as_str()
        .unwrap()
        .contains("ABI version 2"));

    // Not an ELF file at all, and no file.
    let not_elf = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let o = run(&["inspect", not_elf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("not an ELF file"), "{}", stdout(&o));
    let o = run(&["inspect", "/no/such/file.so", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json::parse(stdout(&o).trim()).unwrap();
    assert_eq!(v["loads"], json::Value::Bool(false));
}

#[test]
fn call_integers_strings_and_floating_point() {
    let basic = fixture("basic");
    // basic's destructor calls host_record: the preload supplies it.
    let [p, record] = preload_record();
    assert_eq!(
        call_ok(&[
            &basic,
            "basic_add",
            "i32:2",
            "i32:3",
            "--ret",
            "i32",
            &p,
            &record
        ]),
        "5"
    );
    assert_eq!(
        call_ok(&[
            &p,
            &record,
            &basic,
            "basic_add",
            "i32:-9",
            "i32:2",
            "--ret",
            "i32"
        ]),
        "-7"
    );
    // The constructor ran before the call; the IFUNC was resolved.
    assert_eq!(
        call_ok(&[&basic, "basic_ifunc", "i32:7", "--ret=i32", &p, &record]),
        "21"
    );

    let cc = fixture("abi_callconv");
    assert_eq!(
        call_ok(&[&cc, "callconv_greeting", "--ret", "str"]),
        "hello from callconv"
    );
    assert_eq!(
        call_ok(&[&cc, "callconv_strlen", "str:hello world", "--ret", "u64"]),
        "11"
    );
    assert_eq!(
        call_ok(&[&cc, "callconv_echo", "str:a:b c", "--ret", "str"]),
        "a:b c"
    );
    assert_eq!(call_ok(&[&cc, "callconv_null", "--ret", "str"]), "(null)");
    assert_eq!(
        call_ok(&[&cc, "callconv_is_null", "null", "--ret", "i64"]),
        "1"
    );
    assert_eq!(
        call_ok(&[&cc, "callconv_negate", "i32:-2147483647", "--ret", "i32"]),
        "2147483647"
    );
    assert_eq!(
        call_ok(&[&cc, "callconv_u64max", "--ret", "u64"]),
        "18446744073709551615"
    );
    assert_eq!(call_ok(&[&cc, "callconv_u64max", "--ret", "i64"]), "-1");
    assert_eq!(
        call_ok(&[&cc, "callconv_greeting", "--ret", "ptr"]).get(..2),
        Some("0x")
    );
    let six = ["i64:1", "i64:2", "i64:3", "i64:4", "i64:5", "i64:6"];
    let mut args = vec![cc.as_str(), "callconv_sum6"];
    args.extend(six);
    args.extend(["--ret", "i64"]);
    assert_eq!(call_ok(&args), "654321");
    let eight = [
        "f64:1", "f64:1", "f64:1", "f64:1", "f64:1", "f64:1", "f64:1", "f64:0.5",
    ];
    let mut args = vec![cc.as_str(), "callconv_fsum8"];
    args.extend(eight);
    args.extend(["--ret", "f64"]);
    assert_eq!(call_ok(&args), "191");
    // Integer and floating-point arguments interleaved: each class in its own
    // registers.
    assert_eq!(
        call_ok(&[
            &cc,
            "callconv_mixed",
            "i32:1",
            "f64:0.5",
            "i64:3",
            "f64:2",
            "--ret",
            "f64"
        ]),
        "2306"
    );
    // void prints nothing.
    assert_eq!(call_ok(&[&cc, "callconv_touch"]), "");
}

#[test]
fn call_plugins_versions_and_missing_imports() {
    // A plugin: its init runs (with the host table) before the call.
    assert_eq!(
        call_ok(&[
            &fixture("abi_hello"),
            "abi_hello_add",
            "i32:40",
            "i32:2",
            "--ret",
            "i32"
        ]),
        "42"
    );
    assert_eq!(
        call_ok(&[
            &fixture("abi_hello"),
            "abi_hello_scale",
            "f64:1.5",
            "f64:3",
            "--ret",
            "f64"
        ]),
        "4.5"
    );
    assert_eq!(
        call_ok(&[&fixture("rust_abi"), "rabi_fib", "u64:50", "--ret", "u64"]),
        "12586269025"
    );
    // name@VERSION; chain_c's constructor calls host_record, which the preload
    // supplies: nothing is missing, so nothing is warned about.
    let chain_c = fixture("chain_c");
    let [p, record] = preload_record();
    let o = run(&[
        "call",
        &chain_c,
        "chain_versioned@VER_1",
        "--ret",
        "i32",
        &p,
        &record,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "1\n");
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    assert_eq!(
        call_ok(&[&chain_c, "chain_versioned", "--ret", "i32", &p, &record]),
        "2"
    );
    // Through DT_NEEDED: chain_a -> chain_b -> chain_c.
    assert_eq!(
        call_ok(&[
            &fixture("chain_a"),
            "chain_a_total",
            "--ret",
            "i32",
            &p,
            &record
        ]),
        "111"
    );

    // --strict refuses instead.
    let o = run(&[
        "call",
        &fixture("basic"),
        "basic_add",
        "i32:1",
        "i32:1",
        "--strict",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("undefined symbol host_record"),
        "{}",
        stderr(&o)
    );
    // A symbol the object does not have, and an object that is not there.
    let o = run(&["call", &fixture("abi_callconv"), "no_such_function"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("\"no_such_function\" not found"),
        "{}",
        stderr(&o)
    );
    let o = run(&["call", "/no/such/lib.so", "f"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot resolve path"), "{}", stderr(&o));
}

#[test]
fn every_usage_error_exits_with_2() {
    let cc = fixture("abi_callconv");
    let cases: &[(&[&str], &str)] = &[
        (&[], "no command given"),
        (&["frobnicate"], "unknown command \"frobnicate\""),
        (&["inspect"], "inspect: missing FILE"),
        (&["inspect", "a.so", "b.so"], "unexpected argument \"b.so\""),
        (&["inspect", "a.so", "--yaml"], "unknown option \"--yaml\""),
        (&["call"], "call: missing FILE"),
        (&["call", &cc], "call: missing SYMBOL"),
        (&["call", &cc, "f", "i8:1"], "unknown type \"i8\""),
        (&["call", &cc, "f", "5"], "unknown type"),
        (&["call", &cc, "f", "i32:five"], "not a valid i32"),
        (&["call", &cc, "f", "i32:4294967296"], "not a valid i32"),
        (&["call", &cc, "f", "u64:-1"], "not a valid u64"),
        (&["call", &cc, "f", "f64:x"], "not a valid f64"),
        (
            &[
                "call", &cc, "f", "i32:1", "i32:1", "i32:1", "i32:1", "i32:1", "i32:1", "null",
            ],
            "7 integer/pointer arguments: at most 6",
        ),
        (
            &[
                "call", &cc, "f", "f64:1", "f64:1", "f64:1", "f64:1", "f64:1", "f64:1", "f64:1",
                "f64:1", "f64:1",
            ],
            "9 floating-point arguments: at most 8",
        ),
        (&["call", &cc, "f", "--ret"], "--ret needs a TYPE"),
        (
            &["call", &cc, "f", "--ret", "char"],
            "unknown return type \"char\"",
        ),
        (&["call", &cc, "f", "--lazy"], "unknown option \"--lazy\""),
        (&["call", &cc, "f", "--preload"], "--preload needs a LIB"),
        (&["check"], "check: missing PATH"),
        (&["check", "--json"], "check: missing PATH"),
        (&["check", &cc, "--strict"], "unknown option \"--strict\""),
    ];
    for (args, message) in cases {
        let o = run(args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "staticdl {args:?}: {}",
            stderr(&o)
        );
        let err = stderr(&o);
        assert!(
            err.contains(message),
            "staticdl {args:?}: {message:?} not in {err}"
        );
        assert!(err.contains("usage: staticdl"), "{err}");
        assert!(stdout(&o).is_empty());
    }
}

/// A `-nostdlib` object with general-dynamic TLS and no `DT_NEEDED`: its
/// `__tls_get_addr` is the loader's own, bound by `call` like any import (it used
/// to be a missing import, answered by a function returning 0).
#[test]
fn call_a_general_dynamic_tls_object_without_dt_needed() {
    let tls = fixture("tls");
    assert_eq!(call_ok(&[&tls, "tls_get", "--ret", "i32"]), "7");
    assert_eq!(call_ok(&[&tls, "tls_zero_get", "--ret", "i32"]), "0");
    let o = run(&["call", &tls, "tls_get", "--ret", "i32"]);
    assert!(
        !stderr(&o).contains("nothing provides"),
        "__tls_get_addr reported missing: {}",
        stderr(&o)
    );
}

/// Without a preload, chain_c's constructor calls host_record, which nothing
/// provides: `call` names it in a warning, binds it to a trap, and the trap
/// aborts the process with the object and the function named, before the call.
#[test]
fn a_constructor_calling_an_unresolved_function_aborts_naming_it() {
    use std::os::unix::process::ExitStatusExt;
    let chain_c = fixture("chain_c");
    let o = run(&["call", &chain_c, "chain_c_value", "--ret", "i32"]);
    let err = stderr(&o);
    assert_eq!(
        o.status.signal(),
        Some(6),
        "not SIGABRT: {}\n{err}",
        o.status
    );
    assert!(
        err.contains(&format!(
            "staticdl: warning: {chain_c} imports host_record, which nothing provides"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "staticdl: {chain_c}: call of unresolved function host_record"
        )),
        "{err}"
    );
    assert_eq!(stdout(&o), "", "the call must not have happened");
    // --strict refuses to load instead, naming the same import.
    let o = run(&["call", &chain_c, "chain_c_value", "--strict"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("undefined symbol host_record"),
        "{}",
        stderr(&o)
    );
}

/// The records the preloaded host_record writes, in order.
fn records(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("host_record(")?.strip_suffix(')'))
        .map(str::to_owned)
        .collect()
}

/// `--preload` as glibc's loader does it: the same two objects run under glibc
/// (Python's ctypes opens libhost_record.so with RTLD_GLOBAL, then chain_a, calls
/// chain_a_total and exits, which runs the finalisers) give the result and the
/// order of the constructors' and destructors' records that `staticdl` must give.
#[test]
fn preload_supplies_imports_as_glibc_does() {
    let record = fixture("host_record");
    let chain_a = fixture("chain_a");
    let script = "import ctypes, sys\n\
        ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)\n\
        a = ctypes.CDLL(sys.argv[2])\n\
        print(a.chain_a_total(), flush=True)\n";
    let glibc = Command::new("python3")
        .args(["-c", script, &record, &chain_a])
        .output()
        .expect("running python3");
    assert!(glibc.status.success(), "{}", stderr(&glibc));
    let o = run(&[
        "call",
        "--preload",
        &record,
        &chain_a,
        "chain_a_total",
        "--ret",
        "i32",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), stdout(&glibc));
    let expected = records(&stderr(&glibc));
    assert_eq!(expected.len(), 6, "glibc ran: {expected:?}");
    assert_eq!(records(&stderr(&o)), expected);
}

/// `inspect` and `call` answer from the same open: Debian's zlib loads in both
/// (it used to be "would not load" in `inspect` while `call` loaded it), with
/// the version Python's zlib module reports for the same library; an object
/// `inspect` refuses is refused by `call --strict` with the same error.
#[test]
fn inspect_and_call_agree() {
    let zlib = "/lib/x86_64-linux-gnu/libz.so.1";
    let o = run(&["inspect", zlib, "--json"]);
    let v = json::parse(stdout(&o).trim()).unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(v["loads"], json::Value::Bool(true));
    let libc = v["needed"]
        .as_array()
        .iter()
        .find(|n| n["name"].as_str() == Some("libc.so.6"))
        .cloned()
        .expect("libz needs libc.so.6");
    assert_eq!(libc["provided"], json::Value::Bool(true));
    let python = Command::new("python3")
        .args(["-c", "import zlib; print(zlib.ZLIB_RUNTIME_VERSION)"])
        .output()
        .expect("running python3");
    assert!(python.status.success());
    for strict in [true, false] {
        let mut args = vec!["call", zlib, "zlibVersion", "--ret", "str"];
        if strict {
            args.push("--strict");
        }
        let o = run(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), stdout(&python));
    }
    let check = run(&["check", zlib]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    assert!(stdout(&check).starts_with(&format!("{zlib}: loads\n")));

    let refused = fixture("undefined_data");
    let o = run(&["inspect", &refused, "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json::parse(stdout(&o).trim()).unwrap();
    let error = v["error"].as_str().unwrap().to_owned();
    let o = run(&["call", &refused, "undefined_data_use", "--strict"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), format!("staticdl: {error}\n"));
}
