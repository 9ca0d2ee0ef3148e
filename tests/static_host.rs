//! The full life cycle inside a static musl executable: `tests/fixtures/static_host`
//! is built for `x86_64-unknown-linux-musl` (static-pie, no `PT_INTERP`, no
//! `DT_NEEDED`: there is no libc loader in the process at all), run against the
//! fixtures, and its report compared line by line.

mod common;

use std::process::Command;

#[test]
fn static_musl_host_runs_the_whole_life_cycle() {
    // Build every fixture the host uses first.
    for f in [
        "basic",
        "order",
        "chain_a",
        "nostd",
        "undefined",
        "exeimport",
    ] {
        common::fixture(f);
    }
    let host = common::static_host();
    let headers = common::readelf("-l", &host);
    assert!(
        !headers.contains("INTERP"),
        "static host has PT_INTERP:\n{headers}"
    );
    let dynamic = common::readelf("-d", &host);
    assert!(
        !dynamic.contains("(NEEDED)"),
        "static host has DT_NEEDED:\n{dynamic}"
    );

    let out = Command::new(&host)
        .arg(common::fixture_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "static host failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let undefined = format!(
        "undefined={}: undefined symbols no_such_symbol_anywhere, another_missing_symbol",
        common::fixture("undefined").display()
    );
    let exeimport_without = format!(
        "exeimport_without={}: undefined symbol static_host_export",
        common::fixture("exeimport").display()
    );
    let expected = [
        // The executable's own export (10 * 4), found only with its symbols in
        // scope.
        &exeimport_without,
        "exeimport_call=41",
        "basic_add=5",
        "basic_counter=42",
        "basic_ifunc=21",
        "basic_irelative=35",
        "basic_greeting=hello from basic",
        "basic_mapped=true",
        "basic_fini=99",
        "basic_unmapped=true",
        "order_init=1,2,3",
        "order_fini=10,11,12",
        "chain_init=99,98,97",
        "chain_total=111",
        "chain_versions=1,2,1",
        "chain_fini=65,66,67",
        "nostd=102334155,42",
        &undefined,
        "loaded_at_end=0",
        "done",
    ];
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, expected);
}

/// gdb sees plugins loaded into a static musl host: the loader publishes an
/// `r_debug` list through the executable's `DT_DEBUG` slot.
#[test]
fn gdb_lists_plugins_in_a_static_host() {
    for f in [
        "basic",
        "order",
        "chain_a",
        "nostd",
        "undefined",
        "exeimport",
    ] {
        common::fixture(f);
    }
    let host = common::static_host();
    let out = Command::new("gdb")
        .args([
            "-nx",
            "-batch",
            "-ex",
            "break static_host_checkpoint",
            "-ex",
            "run",
            "-ex",
            "info sharedlibrary",
            "-ex",
            "kill",
            "--args",
        ])
        .arg(&host)
        .arg(common::fixture_dir())
        .output()
        .expect("gdb is installed by .ci/run");
    let text = String::from_utf8_lossy(&out.stdout);
    let basic = common::fixture("basic");
    let line = text
        .lines()
        .find(|l| l.contains("libbasic.so"))
        .unwrap_or_else(|| {
            panic!(
                "gdb did not list libbasic.so:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(line.contains(&*basic.to_string_lossy()), "{line}");
    assert!(
        line.trim_start().starts_with("0x"),
        "gdb shows an address range: {line}"
    );
}

/// A pending breakpoint in a plugin function, set before `run`, fires in a
/// stripped static host: the loader's event function is `_dl_debug_state` and
/// the host exports it and `_r_debug` in `.dynsym`, which `strip` keeps.
#[test]
fn gdb_pending_breakpoint_in_a_plugin_of_a_stripped_static_host() {
    for f in [
        "basic",
        "order",
        "chain_a",
        "nostd",
        "undefined",
        "exeimport",
    ] {
        common::fixture(f);
    }
    let stripped = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("static_host-stripped");
    std::fs::copy(common::static_host(), &stripped).unwrap();
    let st = Command::new("strip").arg(&stripped).status().unwrap();
    assert!(st.success());
    let symbols = common::readelf("-s", &stripped);
    assert!(!symbols.contains(".symtab"), "still has a symbol table");
    let dynsym = common::readelf("--dyn-syms", &stripped);
    assert!(dynsym.contains("_dl_debug_state") && dynsym.contains("_r_debug"));
    let out = Command::new("gdb")
        .args([
            "-nx",
            "-batch",
            "-ex",
            "set breakpoint pending on",
            "-ex",
            "break basic_add",
            "-ex",
            "run",
            "-ex",
            "info registers rdi rsi",
            "-ex",
            "kill",
            "--args",
        ])
        .arg(&stripped)
        .arg(common::fixture_dir())
        .output()
        .expect("gdb is installed by .ci/run");
    let text = String::from_utf8_lossy(&out.stdout);
    let hit = text
        .lines()
        .find(|l| l.starts_with("Breakpoint 1,"))
        .unwrap_or_else(|| {
            panic!(
                "the pending breakpoint did not fire:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(
        hit.contains("basic_add") && hit.contains("libbasic.so"),
        "{hit}"
    );
    // Stopped at the call the host makes: basic_add(2, 3).
    let reg = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_owned)
    };
    assert_eq!(reg("rdi").as_deref(), Some("0x2"), "{text}");
    assert_eq!(reg("rsi").as_deref(), Some("0x3"), "{text}");
}
