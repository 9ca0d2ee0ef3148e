//! The `staticdl` command, built as a static musl executable (no `PT_INTERP`, no
//! `DT_NEEDED`) and run against the fixtures: `inspect` on objects that load and
//! objects that do not (exit status, text, JSON shape), `call` with integers,
//! strings, floating point and versions, and every usage error (exit status 2).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Builds (once per process) `staticdl` for `x86_64-unknown-linux-musl` in a
/// target directory of its own and returns the executable's path.
fn cli() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-target");
        let mut cmd = common::nested_cargo();
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
    assert_eq!(v["plugin"], json::Value::Null);

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
    assert_eq!(
        call_ok(&[&basic, "basic_add", "i32:2", "i32:3", "--ret", "i32"]),
        "5"
    );
    assert_eq!(
        call_ok(&[&basic, "basic_add", "i32:-9", "i32:2", "--ret", "i32"]),
        "-7"
    );
    // The constructor ran before the call; the IFUNC was resolved.
    assert_eq!(
        call_ok(&[&basic, "basic_ifunc", "i32:7", "--ret=i32"]),
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
    // name@VERSION; chain_c imports host_record, which is stubbed with a warning.
    let chain_c = fixture("chain_c");
    let o = run(&["call", &chain_c, "chain_versioned@VER_1", "--ret", "i32"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "1\n");
    assert!(
        stderr(&o).contains("imports host_record, which nothing provides"),
        "{}",
        stderr(&o)
    );
    assert_eq!(call_ok(&[&chain_c, "chain_versioned", "--ret", "i32"]), "2");
    // Through DT_NEEDED: chain_a -> chain_b -> chain_c.
    assert_eq!(
        call_ok(&[&fixture("chain_a"), "chain_a_total", "--ret", "i32"]),
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

/// Just enough JSON to check the shape of `inspect --json`.
mod json {
    use super::BTreeMap;

    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        Null,
        Bool(bool),
        Num(f64),
        Str(String),
        Array(Vec<Value>),
        Object(BTreeMap<String, Value>),
    }

    static NULL: Value = Value::Null;

    impl Value {
        pub fn as_str(&self) -> Option<&str> {
            match self {
                Value::Str(s) => Some(s),
                _ => None,
            }
        }

        pub fn as_array(&self) -> &[Value] {
            match self {
                Value::Array(a) => a,
                other => panic!("not an array: {other:?}"),
            }
        }
    }

    impl std::ops::Index<&str> for Value {
        type Output = Value;
        fn index(&self, key: &str) -> &Value {
            match self {
                Value::Object(m) => m.get(key).unwrap_or(&NULL),
                _ => &NULL,
            }
        }
    }

    impl std::ops::Index<usize> for Value {
        type Output = Value;
        fn index(&self, i: usize) -> &Value {
            match self {
                Value::Array(a) => a.get(i).unwrap_or(&NULL),
                _ => &NULL,
            }
        }
    }

    pub fn parse(text: &str) -> Result<Value, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing input at {}", p.i));
        }
        Ok(v)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }

        fn eat(&mut self, lit: &str) -> bool {
            if self.s[self.i..].starts_with(lit.as_bytes()) {
                self.i += lit.len();
                true
            } else {
                false
            }
        }

        fn value(&mut self) -> Result<Value, String> {
            self.ws();
            let c = *self.s.get(self.i).ok_or("unexpected end")?;
            match c {
                b'n' if self.eat("null") => Ok(Value::Null),
                b't' if self.eat("true") => Ok(Value::Bool(true)),
                b'f' if self.eat("false") => Ok(Value::Bool(false)),
                b'"' => self.string().map(Value::Str),
                b'[' => {
                    self.i += 1;
                    let mut items = Vec::new();
                    self.ws();
                    if self.eat("]") {
                        return Ok(Value::Array(items));
                    }
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        if self.eat("]") {
                            return Ok(Value::Array(items));
                        }
                        if !self.eat(",") {
                            return Err(format!("expected , at {}", self.i));
                        }
                    }
                }
                b'{' => {
                    self.i += 1;
                    let mut map = BTreeMap::new();
                    self.ws();
                    if self.eat("}") {
                        return Ok(Value::Object(map));
                    }
                    loop {
                        self.ws();
                        let k = self.string()?;
                        self.ws();
                        if !self.eat(":") {
                            return Err(format!("expected : at {}", self.i));
                        }
                        let v = self.value()?;
                        if map.insert(k.clone(), v).is_some() {
                            return Err(format!("duplicate key {k}"));
                        }
                        self.ws();
                        if self.eat("}") {
                            return Ok(Value::Object(map));
                        }
                        if !self.eat(",") {
                            return Err(format!("expected , at {}", self.i));
                        }
                    }
                }
                b'-' | b'0'..=b'9' => {
                    let start = self.i;
                    while self.i < self.s.len()
                        && matches!(
                            self.s[self.i],
                            b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                        )
                    {
                        self.i += 1;
                    }
                    let t = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                    t.parse().map(Value::Num).map_err(|e| format!("{t}: {e}"))
                }
                _ => Err(format!("unexpected {:?} at {}", c as char, self.i)),
            }
        }

        fn string(&mut self) -> Result<String, String> {
            if !self.eat("\"") {
                return Err(format!("expected string at {}", self.i));
            }
            let mut out = Vec::new();
            loop {
                let c = *self.s.get(self.i).ok_or("unterminated string")?;
                self.i += 1;
                match c {
                    b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                    b'\\' => {
                        let e = *self.s.get(self.i).ok_or("bad escape")?;
                        self.i += 1;
                        match e {
                            b'"' | b'\\' | b'/' => out.push(e),
                            b'n' => out.push(b'\n'),
                            b't' => out.push(b'\t'),
                            b'r' => out.push(b'\r'),
                            b'u' => {
                                let hex = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                                let ch = char::from_u32(u32::from_str_radix(hex, 16).unwrap())
                                    .ok_or("bad \\u")?;
                                self.i += 4;
                                out.extend(ch.to_string().as_bytes());
                            }
                            _ => return Err(format!("bad escape at {}", self.i)),
                        }
                    }
                    c if c < 0x20 => return Err("control character in string".into()),
                    c => out.push(c),
                }
            }
        }
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
