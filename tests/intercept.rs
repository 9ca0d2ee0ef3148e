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
    // 1.5L and -2.25L in st(0) and st(1): mantissas 1.1 and 1.001 in binary.
    assert_eq!(
        pair("cld "),
        format!(
            "{:#x}",
            0xc000_0000_0000_0000u64 ^ (0x9000_0000_0000_0000u64 >> 1)
        )
    );
    // read(-1, ...) fails with EBADF (9 on Linux) although both hooks set errno.
    assert_eq!(pair("read "), "-1/9");
    // Seven exports called through their traps, and the `read` import of
    // both read_fail calls (trapped and direct), each with its pre and its post.
    assert_eq!(lines.last().unwrap(), "pres=9 posts=9");
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

// ---- The manhole example ----

mod manhole {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    /// What `run-example.sh --build-only` installs (built once per process,
    /// into the same place `tests/server.rs` builds it).
    pub fn built() -> PathBuf {
        static OUT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        OUT.get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
            let out = tmp.join("example");
            let cargo = crate::common::nested_cargo();
            let mut cmd = Command::new("bash");
            for (key, value) in cargo.get_envs() {
                match value {
                    Some(value) => cmd.env(key, value),
                    None => cmd.env_remove(key),
                };
            }
            cmd.arg(root.join("run-example.sh"))
                .arg("--build-only")
                .current_dir(root)
                .env("CARGO", cargo.get_program())
                .env("STATICDL_EXAMPLE_OUT", &out)
                .env("STATICDL_EXAMPLE_TARGET_DIR", tmp.join("example-build"))
                .env("STATICDL_EXAMPLE_PROFILE", "dev");
            crate::support::run_ok(&mut cmd);
            out
        })
        .clone()
    }

    /// A fresh directory holding the server, its plugins and the manhole, laid
    /// out as an empty root would be.
    pub fn root(name: &str) -> PathBuf {
        let out = built();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("plugins")).unwrap();
        std::fs::create_dir_all(dir.join("preload")).unwrap();
        std::fs::copy(out.join("staticdl-server"), dir.join("staticdl-server")).unwrap();
        for p in ["libcounter.so", "libecho.so", "libgreeter.so"] {
            std::fs::copy(out.join("plugins").join(p), dir.join("plugins").join(p)).unwrap();
        }
        std::fs::copy(
            out.join("preload/libmanhole.so"),
            dir.join("preload/libmanhole.so"),
        )
        .unwrap();
        dir
    }

    pub struct Server {
        child: Child,
        pub http: String,
        pub manhole: String,
        log: mpsc::Receiver<String>,
    }

    impl Server {
        /// Starts `cmd` and waits (60 s at most) until both the server and the
        /// manhole say where they listen.
        pub fn start(mut cmd: Command) -> Server {
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("starting the server");
            let (tx, rx) = mpsc::channel();
            let stderr = child.stderr.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            let (mut http, mut manhole, mut seen) = (None, None, Vec::new());
            let deadline = Instant::now() + Duration::from_secs(60);
            while http.is_none() || manhole.is_none() {
                let left = deadline.saturating_duration_since(Instant::now());
                let Ok(line) = rx.recv_timeout(left) else {
                    let _ = child.kill();
                    panic!(
                        "the server did not listen within 60 s:\n{}",
                        seen.join("\n")
                    );
                };
                if let Some((_, a)) = line.split_once("listening on http://") {
                    http = Some(a.trim().to_owned());
                }
                if let Some((_, a)) = line.split_once("manhole: serving http://") {
                    manhole = Some(a.trim().trim_end_matches("/debug/manhole").to_owned());
                }
                seen.push(line);
            }
            Server {
                child,
                http: http.unwrap(),
                manhole: manhole.unwrap(),
                log: rx,
            }
        }

        /// SIGTERM, then the exit status (within 30 s) and the rest of the log.
        pub fn stop(mut self) -> (std::process::ExitStatus, String) {
            let pid = rustix::process::Pid::from_child(&self.child);
            rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            let status = loop {
                if let Some(s) = self.child.try_wait().unwrap() {
                    break s;
                }
                assert!(Instant::now() < deadline, "the server did not stop");
                std::thread::sleep(Duration::from_millis(20));
            };
            let rest: Vec<String> = self.log.try_iter().collect();
            (status, rest.join("\n"))
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// One request on its own connection: the status and the body.
    pub fn request(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut s = TcpStream::connect(addr).expect("connecting");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status in {text:?}"));
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_owned();
        (status, body)
    }

    /// The requests the manhole must count: `(method, path, body, status)`.
    pub const REQUESTS: &[(&str, &str, &str, u16, usize)] = &[
        ("GET", "/hello?name=manhole", "", 200, 3),
        ("GET", "/hello/fail", "", 500, 2),
        ("POST", "/echo", "ping", 200, 4),
        ("GET", "/echo/panic", "", 500, 1),
        ("GET", "/counter", "", 200, 2),
        ("POST", "/counter", "5", 200, 1),
        ("POST", "/counter", "not a number", 400, 1),
    ];

    /// `handler calls errors` per handler and `plugin version` per plugin
    /// object, read from the manhole's JSON with Python's `json` module.
    pub fn summary(json: &str) -> Vec<String> {
        let script = "import json,sys\n\
            d=json.load(sys.stdin)\n\
            for o in d['objects']:\n\
            \x20   if o['plugin']: print('plugin', o['plugin'], o['version'], int(o['end'],16) > int(o['start'],16))\n\
            for h in d['handlers']:\n\
            \x20   print('handler', h['plugin'], h['handler'], h['calls'], h['errors'], h['loaded'], 0 < h['p50_us'] <= h['p99_us'])\n";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("running python3");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(json.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "python3 could not read {json}");
        let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    }

    /// Sends `REQUESTS`, reads the manhole, and checks it against them.
    pub fn check(server: &Server) {
        for &(method, path, body, status, times) in REQUESTS {
            for _ in 0..times {
                let (got, text) = request(&server.http, method, path, body);
                assert_eq!(got, status, "{method} {path}: {text}");
            }
        }
        let (status, json) = request(&server.manhole, "GET", "/debug/manhole", "");
        assert_eq!(status, 200, "{json}");
        let expected: Vec<&str> = vec![
            "handler counter counter_get 2 0 True True",
            "handler counter counter_post 2 1 True True",
            "handler echo echo_echo 4 0 True True",
            "handler echo echo_panic 1 1 True True",
            "handler greeter greeter_fail 2 2 True True",
            "handler greeter greeter_hello 3 0 True True",
            "plugin counter 1.0.0 True",
            "plugin echo 1.0.0 True",
            "plugin greeter 1.0.0 True",
        ];
        assert_eq!(summary(&json), expected, "{json}");
        assert_eq!(request(&server.manhole, "GET", "/other", "").0, 404);
    }
}

#[test]
fn the_manhole_counts_the_requests_of_the_unmodified_server() {
    let root = manhole::root("manhole-run");
    let mut cmd = Command::new(root.join("staticdl-server"));
    // One process: the manhole's traps and listener live where the plugins are
    // loaded (in worker mode each worker loads its own, after the fork).
    cmd.args(["--workers", "0", "--listen", "127.0.0.1:0", "--plugins"])
        .arg(root.join("plugins"))
        .env("STATICDL_PRELOAD", root.join("preload/libmanhole.so"))
        .env("STATICDL_MANHOLE_ADDR", "127.0.0.1:0");
    let server = manhole::Server::start(cmd);
    manhole::check(&server);
    let (status, log) = server.stop();
    assert!(status.success(), "{status}: {log}");
}

#[test]
fn the_manhole_works_under_chroot_in_an_empty_root() {
    let root = manhole::root("manhole-scratch");
    let listing: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut sorted = listing.clone();
    sorted.sort();
    assert_eq!(sorted, ["plugins", "preload", "staticdl-server"]);
    let server_args = [
        "/staticdl-server",
        "--workers",
        "0",
        "--listen",
        "127.0.0.1:0",
        "--plugins",
        "/plugins",
    ];
    let mut cmd = Command::new("chroot");
    cmd.arg(&root)
        .args(server_args)
        .env("STATICDL_PRELOAD", "/preload/libmanhole.so")
        .env("STATICDL_MANHOLE_ADDR", "127.0.0.1:0");
    let server = manhole::Server::start(cmd);
    manhole::check(&server);
    let (status, log) = server.stop();
    assert!(status.success(), "{status}: {log}");
}

#[test]
fn selections_trap_the_slots_they_name_and_exports_wherever_they_are_handed_out() {
    let lines = host_lines("slots", &intercept_fixtures());
    assert_eq!(
        &lines[..4],
        [
            // PLT slots only, by default: the pointer in data stays real...
            "slots call=11 table=real",
            // ... and a -fno-plt call goes through a GOT entry, not selected.
            "slots_noplt call=real table=real",
            "slots2 call=11 table=11",
            "slots_noplt2 call=11 table=real",
        ]
    );
    // The trapped export counts a call through the address `Plugin::symbol`
    // hands out, none through the real address, one through the binding of an
    // object loaded later, one through `dlsym`.
    assert_eq!(lines[4], "export lookup=1 direct=1 binding=2 dlsym=3");
}
