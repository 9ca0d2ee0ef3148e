//! Call traps end to end, in the static musl host `tests/fixtures/intercept_host`
//! (whose C library is musl, and which has no loader of its own):
//!
//! - the ordered list of functions Debian's zlib calls while `compress`ing
//!   4096 'a' equals the list glibc's own loader reports to an LD_AUDIT module
//!   (`la_pltenter`) for the same call in a glibc program;
//! - `time` mocked in a C plugin (attached to the loaded plugin, then
//!   detached), while the host's clock and the plugin's `clock_gettime` stay
//!   real; a process-wide registration and the C entry point a plugin uses
//!   apply to plugins loaded afterwards;
//! - ABI torture under a pass-through pre and post: 8 integer arguments (2 on
//!   the stack), 10 `double` varargs, a `rax:rdx` struct, an sret struct, a
//!   `long double` (x87) result and `errno` after a failing `read`, compared
//!   with direct calls and with values computed here; re-entrancy; 8 threads ×
//!   100,000 calls counted exactly; a per-thread interceptor; a C++ exception
//!   (with the host's unwinder, and with the plugin's own private one) and a
//!   Rust panic crossing an intercepted call;
//! - the C view of a call (`staticdl_intercept.h`) laid out as in Rust;
//! - the manhole example: the unmodified static example server, started with
//!   `STATICDL_PRELOAD=libmanhole.so`, answers `/debug/manhole` with the three
//!   example plugins and per-handler counts that match the requests sent, also
//!   under `chroot` in an empty root.

mod common;
#[path = "fixtures/intercept/support.rs"]
mod support;

use std::process::Command;

use support::{fields, host_lines, intercept_fixtures};

#[test]
fn zlib_calls_equal_glibcs_ld_audit_trace() {
    // The reference: glibc's loader, an LD_AUDIT module, a glibc program.
    let audit = support::shared(
        "zlib_audit",
        "gcc",
        "tests/fixtures/intercept/zlib_audit.c",
        &[],
    );
    let main = support::program(
        "zlib_main",
        "tests/fixtures/intercept/zlib_main.c",
        &["/lib/x86_64-linux-gnu/libz.so.1"],
    );
    let trace = support::out_dir().join(format!("zlib-audit-{}.txt", std::process::id()));
    let out = support::run_ok(
        Command::new(&main)
            .env("LD_AUDIT", &audit)
            .env("AUDIT_OUT", &trace),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "rc=0 len=28");
    let reference: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    std::fs::remove_file(&trace).unwrap();
    // What the reference must contain for the comparison to mean anything.
    assert!(
        reference.len() >= 20,
        "short reference trace: {reference:?}"
    );
    for name in [
        "compress2",
        "deflateInit_",
        "malloc",
        "adler32",
        "memcpy",
        "deflateEnd",
        "free",
    ] {
        assert!(
            reference.iter().any(|r| r == name),
            "{name} not in {reference:?}"
        );
    }

    let lines = host_lines("zlib", &intercept_fixtures());
    let ours: Vec<String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("call ").map(str::to_owned))
        .collect();
    assert_eq!(lines.last().unwrap(), "rc=0 len=28");
    assert_eq!(ours, reference);
}

#[test]
fn time_is_mocked_in_the_plugin_only_and_detaching_restores_it() {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    let start = now();
    let lines = host_lines("mock", &intercept_fixtures());
    let end = now();
    let real = |v: &str| {
        let v: i64 = v.parse().unwrap();
        (start..=end).contains(&v)
    };
    let before = fields(&lines, "before ");
    assert!(
        real(&before["plugin"]) && real(&before["host"]),
        "{lines:?}"
    );
    assert_eq!(fields(&lines, "rewritten")["rewritten"], "1");
    let mocked = fields(&lines, "mocked ");
    assert_eq!(mocked["plugin"], "1234567890");
    assert!(real(&mocked["host"]), "{lines:?}");
    assert!(real(&mocked["libc"]), "{lines:?}");
    assert!(real(&mocked["realtime"]), "{lines:?}");
    assert_eq!(fields(&lines, "detached")["detached"], "1");
    let after = fields(&lines, "after ");
    assert!(real(&after["plugin"]) && real(&after["host"]), "{lines:?}");
}

#[test]
fn registrations_and_the_c_entry_point_apply_to_plugins_loaded_later() {
    let dir = intercept_fixtures();
    let lines = host_lines("register", &dir);
    // Opened before the registration: real; after: mocked; removed: real.
    assert_eq!(lines[0], "before=true after=42");
    assert_eq!(lines[1], "removed after=true");

    let lines = host_lines("c-entry", &dir);
    // Two calls of clock_time: `time` mocked to 99, each call seen by a pre
    // and a post that found the pre's mark in its data slot.
    assert_eq!(lines[0], "mocked=99,99 counts=20202");
    assert_eq!(lines[1], "removed=0 unknown=-1 real=true");
    assert_eq!(lines[2], "counts=30303");
}

#[test]
fn abi_results_through_a_pre_and_a_post_equal_direct_calls() {
    let lines = host_lines("abi", &intercept_fixtures());
    assert_eq!(fields(&lines, "distinct")["distinct"], "true");
    let pair = |prefix: &str| {
        let f = fields(&lines, prefix);
        assert_eq!(f["trapped"], f["direct"], "{prefix}: {lines:?}");
        f["trapped"].clone()
    };
    // Expected values computed here, independently of both calls.
    let args = [1i64, -2, 3, -4, 5, -6, 7, 100];
    let sum8: i64 = args
        .iter()
        .enumerate()
        .map(|(i, a)| (i as i64 + 1) * a)
        .sum();
    assert_eq!(pair("sum8 "), sum8.to_string());
    let sumd: f64 = (0..10).map(|i| (1.5 + i as f64) * (i as f64 + 1.0)).sum();
    assert_eq!(pair("sumd ").parse::<f64>().unwrap(), sumd);
    assert_eq!(pair("pair "), "15,2");
    assert_eq!(pair("big "), "11,22,33,44,55");
    // 1.25L * 3.0L = 3.75: x87 extended precision, mantissa 1.111 in binary.
    assert_eq!(pair("ld "), "0xf000000000000000");
    // read(-1, ...) fails with EBADF (9 on Linux) although both hooks set errno.
    assert_eq!(pair("read "), "-1/9");
    // Six exports called through their traps, and the `read` import of both
    // read_fail calls (trapped and direct), each with its pre and its post.
    assert_eq!(lines.last().unwrap(), "pres=8 posts=8");
}

#[test]
fn eight_threads_make_exactly_counted_calls() {
    let lines = host_lines("threads", &intercept_fixtures());
    assert_eq!(lines, ["pres=800000 posts=800000 wrong=0"]);
}

#[test]
fn a_per_thread_interceptor_sees_only_its_own_thread() {
    let lines = host_lines("locals", &intercept_fixtures());
    let sum = |n: i64| (0..n).map(|x| 2 * x).sum::<i64>();
    assert_eq!(
        lines[0],
        format!("here={} there={} mine=10", sum(10), sum(1000))
    );
    assert_eq!(lines[1], "suspended mine=10");
    assert_eq!(lines[2], "dropped mine=10");
}

#[test]
fn a_hook_calling_what_it_hooks_does_not_recurse() {
    let lines = host_lines("reenter", &intercept_fixtures());
    // Two calls: each runs both pres once; the first pre's own call of the
    // target (21 -> 42) and the second pre's call of the trapped address go
    // straight through.
    assert_eq!(lines, ["results=10,12 pres=2 inner=42 second=2"]);
}

#[test]
fn a_cpp_exception_crosses_an_intercepted_call() {
    let dir = intercept_fixtures();
    // libstdc++ and libgcc_s as the plugin gets them (the host's unwinder):
    // the posts see the two calls that threw as unwinding.
    let lines = host_lines("cpp", &dir);
    assert_eq!(
        lines,
        ["quiet=7 thrown=-1 again=-1 distinct=true posts=1 unwinding=2"]
    );
    // -static-libgcc: the plugin's own unwinder, whose API is hidden; the
    // exception still passes (through the thunk's CFI), without the posts.
    let lines = host_lines("cpp-static", &dir);
    assert_eq!(
        lines,
        ["quiet=7 thrown=-1 again=-1 distinct=true posts=1 unwinding=0"]
    );
}

#[test]
fn a_rust_panic_crosses_an_intercepted_call() {
    let lines = host_lines("panic", &intercept_fixtures());
    assert_eq!(lines, ["quiet=1 caught=Err(5) unwinding=1"]);
}

#[test]
fn the_c_view_of_a_call_is_laid_out_as_the_header_says() {
    use staticdl::intercept::CCall;
    use std::mem::offset_of;
    let layout = support::program("layout", "tests/fixtures/intercept/layout.c", &[]);
    let out = support::run_ok(&mut Command::new(layout));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rust = [
        ("size", std::mem::size_of::<CCall>()),
        ("kind", offset_of!(CCall, kind)),
        ("symbol", offset_of!(CCall, symbol)),
        ("version", offset_of!(CCall, version)),
        ("object", offset_of!(CCall, object)),
        ("target", offset_of!(CCall, target)),
        ("return_address", offset_of!(CCall, return_address)),
        ("int_args", offset_of!(CCall, int_args)),
        ("vec_args", offset_of!(CCall, vec_args)),
        ("stack_args", offset_of!(CCall, stack_args)),
        ("stack_words", offset_of!(CCall, stack_words)),
        ("depth", offset_of!(CCall, depth)),
        ("errno_value", offset_of!(CCall, errno_value)),
        ("phase", offset_of!(CCall, phase)),
        ("unwinding", offset_of!(CCall, unwinding)),
        ("returned", offset_of!(CCall, returned)),
        ("ret", offset_of!(CCall, ret)),
        ("ret_vec", offset_of!(CCall, ret_vec)),
        ("data", offset_of!(CCall, data)),
    ];
    let expected: String = rust.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    assert_eq!(text, expected);
}
