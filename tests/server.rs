//! The example HTTP server end to end: `run-example.sh --build-only` builds the
//! example plugins and the static musl server (`examples/`), then the server is
//! started on a free loopback port and driven with real HTTP requests.
//!
//! - The threaded mode (`--workers 0`): the plugins' routes (headers and body
//!   read, JSON, per-plugin state, a plugin error served as a 500), hot reload
//!   while requests are flowing (no request fails, new requests reach the new
//!   version, the old one is unloaded), a rejected replacement (the old
//!   version keeps serving), and a graceful SIGTERM.
//! - The same executable and plugins alone in an empty root directory
//!   (`chroot`), as in a `FROM scratch` container, in both modes.
//! - The server crate's own unit tests, built for the musl target.
//!
//! The worker mode's HTTP/1.1 is `tests/server_workers.rs`, what it survives
//! (crashing, aborting and hanging plugins) `tests/server_faults.rs`. Every wait is bounded; every connection is to
//! 127.0.0.1.

mod common;
mod server_harness;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use server_harness::*;

// ---- What every run of the example must serve ----------------------------

/// The responses of the three plugins and the built-in routes, checked
/// exactly.
fn check_routes(server: &Server) {
    let addr = server.addr;
    let ping = server.get("/builtin/ping");
    assert_eq!((ping.status, ping.text().as_str()), (200, "pong\n"));

    // no_std Rust plugin: JSON and a counter kept across requests.
    for n in 1..=3 {
        let r = server.get("/counter");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(
            r.text(),
            format!("{{\"plugin\":\"counter\",\"version\":\"1.0.0\",\"count\":{n}}}\n")
        );
    }
    let r = http(addr, "POST", "/counter", &[], b"5");
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            200,
            "{\"plugin\":\"counter\",\"version\":\"1.0.0\",\"count\":8}\n"
        )
    );
    // A plugin error with its own status and message.
    let r = http(addr, "POST", "/counter", &[], b"lots");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        "counter: step must be a whole number from 0 to 1000000, got \"lots\""
    );

    // C plugin: query, a request header, a counter, a response header.
    let r = http(
        addr,
        "GET",
        "/hello?name=Ada",
        &[("user-agent", "staticdl-test")],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-plugin-version"), Some("1.0.0"));
    assert_eq!(
        r.text(),
        "hello Ada, from greeter 1.0.0 (C) to staticdl-test; call #1\n"
    );
    // A plugin route that fails: a 500 with the plugin's message.
    let r = server.get("/hello/fail");
    assert_eq!(
        (r.status, r.text().as_str()),
        (500, "greeter: the greeting backend is unavailable")
    );

    // The server's own answers.
    let r = server.get("/no/such/route");
    assert_eq!(r.status, 404);
    let r = http(addr, "DELETE", "/counter", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, POST"));

    // The std plugin (built for glibc; the libc provider answers its
    // libc.so.6, libgcc_s.so.1 and ld-linux-x86-64.so.2): every request
    // header and the body, read and echoed as JSON.
    let r = http(
        addr,
        "POST",
        "/echo?x=1",
        &[("user-agent", "staticdl-test"), ("x-test", "yes")],
        b"hi \"there\"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let expected = format!(
        concat!(
            r#"{{"plugin":"echo","method":"POST","path":"/echo","query":"x=1","#,
            r#""headers":{{"connection":"close","content-length":"10","host":"{addr}","#,
            r#""user-agent":"staticdl-test","x-test":"yes"}},"#,
            r#""body":"hi \"there\"","body_bytes":10,"seen_from_this_agent":1}}"#,
            "\n"
        ),
        addr = addr
    );
    assert_eq!(r.text(), expected);
    // A panic in the plugin is caught inside it and served as a 500.
    let r = server.get("/echo/panic");
    assert_eq!(
        (r.status, r.text().as_str()),
        (500, "handler panicked: echo: asked to panic")
    );
    let r = server.get("/echo/stats");
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains(r#""agents":{"staticdl-test":1}"#),
        "{}",
        r.text()
    );

    // Nothing above hurt the server.
    let ping = server.get("/builtin/ping");
    assert_eq!((ping.status, ping.text().as_str()), (200, "pong\n"));
}

// ---- The tests ------------------------------------------------------------

#[test]
fn server_serves_plugins_reloads_them_and_stops_on_sigterm() {
    let built = built();
    let dir = fresh_dir("server-e2e");
    let plugins = dir.join("plugins");
    install_plugins(&plugins);
    // Three files that must be reported and skipped at start-up.
    fs::write(plugins.join("libjunk.so"), b"not an ELF file").unwrap();
    for reject in &built.rejects {
        install(reject, &plugins.join(reject.file_name().unwrap()));
    }

    let help = Command::new(&built.server).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--listen ADDR"));

    let server = start(&["--workers", "0", "--poll-ms", "100"], &plugins);
    for line in [
        "libjunk.so: rejected, not mounted: ",
        "libplain.so: rejected, not mounted: no STATICDL_PLUGIN descriptor",
        "libneeds.so: rejected, not mounted: ",
        "3 of 6 plugin files loaded",
    ] {
        assert!(
            server.log().contains(line),
            "{line:?} not logged:\n{}",
            server.log()
        );
    }
    assert!(
        server.log().contains("libdep.so"),
        "the missing dependency is not named:\n{}",
        server.log()
    );
    check_routes(&server);

    // Hot reload while two clients hammer the plugin: about half a second on
    // version 1.0.0, the switch, then half a second on 2.0.0.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (addr, stop) = (server.addr, stop.clone());
            thread::spawn(move || {
                let mut seen = Vec::new();
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    let r = try_http(addr, "GET", "/hello", &[], b"")
                        .unwrap_or_else(|e| panic!("a request failed during the reload: {e}"));
                    assert_eq!(r.status, 200, "during the reload: {}", r.text());
                    seen.push(r.header("x-plugin-version").unwrap_or("?").to_owned());
                }
                seen
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    install(&built.greeter_v2, &plugins.join("libgreeter.so"));
    server.wait_for_log("libgreeter.so: greeter 2.0.0 replaces greeter 1.0.0", 30);
    thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        let seen = client.join().expect("a client failed");
        assert!(seen.len() > 10, "too few requests: {seen:?}");
        let first_new = seen
            .iter()
            .position(|v| v == "2.0.0")
            .unwrap_or_else(|| panic!("never reached version 2.0.0: {seen:?}"));
        assert!(first_new > 0, "the reload happened before any request");
        assert!(
            seen[..first_new].iter().all(|v| v == "1.0.0")
                && seen[first_new..].iter().all(|v| v == "2.0.0"),
            "versions went back and forth: {seen:?}"
        );
    }
    // The old version's fini ran and it was unmapped once its requests ended.
    server.wait_for_log("greeter 1.0.0: fini", 10);
    server.wait_for_log("libgreeter.so: greeter 1.0.0 unloaded", 10);
    let r = server.get("/hello?name=again");
    assert_eq!(r.header("x-plugin-version"), Some("2.0.0"));
    assert!(r.text().starts_with("hello again, from greeter 2.0.0 (C)"));

    // A request still running in a replaced version keeps that version
    // loaded until it is answered. The same file installed again is a new
    // version (a new inode) of the std plugin.
    let unloads = |server: &Server| {
        server
            .log()
            .matches("libecho.so: echo 1.0.0 unloaded")
            .count()
    };
    let addr = server.addr;
    let slow = thread::spawn(move || http(addr, "GET", "/echo/slow?ms=4000", &[], b""));
    thread::sleep(Duration::from_millis(300));
    install(&built.plugins[1], &plugins.join("libecho.so"));
    server.wait_for_log("libecho.so: echo 1.0.0 replaces echo 1.0.0", 30);
    let r = server.get("/echo/stats");
    assert!(
        r.text().contains(r#""agents":{}"#),
        "not a fresh version: {}",
        r.text()
    );
    assert!(
        !slow.is_finished(),
        "the reload took longer than the slow request"
    );
    assert_eq!(unloads(&server), 0, "unloaded under a running request");
    let r = slow.join().expect("the slow request");
    assert_eq!(r.status, 200);
    assert!(r.text().contains(r#""slept_ms":4000"#), "{}", r.text());
    server.wait_for_log("libecho.so: echo 1.0.0 unloaded", 10);

    // A replacement that does not load: reported, and 2.0.0 keeps serving.
    let junk = dir.join("junk.so");
    fs::write(&junk, b"this is not an ELF file").unwrap();
    install(&junk, &plugins.join("libgreeter.so"));
    server.wait_for_log(
        "libgreeter.so: new version rejected, greeter 2.0.0 keeps serving: ",
        10,
    );
    let r = server.get("/hello");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-plugin-version"), Some("2.0.0"));

    // A removed plugin: its routes go away.
    fs::remove_file(plugins.join("libcounter.so")).unwrap();
    server.wait_for_log("libcounter.so: removed", 10);
    server.wait_for_log("libcounter.so: counter 1.0.0 unloaded", 10);
    assert_eq!(server.get("/counter").status, 404);
    assert_eq!(server.get("/builtin/ping").status, 200);

    let (status, log) = server.terminate();
    assert!(
        status.success(),
        "exit status {status} after SIGTERM:\n{log}"
    );
    for line in [
        "SIGTERM: shutting down",
        "greeter 2.0.0: fini",
        "libgreeter.so: greeter 2.0.0 unloaded",
        "echo 1.0.0: fini after 1 echoes",
        "echo 1.0.0: fini after 0 echoes",
        "stopped",
    ] {
        assert!(log.contains(line), "{line:?} not logged:\n{log}");
    }
    // Shown with `--nocapture`.
    eprintln!("server log:\n{log}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn static_server_serves_from_an_empty_root() {
    let built = built();
    // A static executable: no interpreter, no libraries.
    let headers = common::readelf("-l", &built.server);
    assert!(!headers.contains("INTERP"), "PT_INTERP:\n{headers}");
    let dynamic = common::readelf("-d", &built.server);
    assert!(!dynamic.contains("(NEEDED)"), "DT_NEEDED:\n{dynamic}");

    // Only the executable and the plugins, as in a `FROM scratch` image; in
    // the threaded mode, then with a worker process (forked in the empty
    // root, where there is no /proc).
    for workers in ["0", "1"] {
        let root = fresh_dir(&format!("server-scratch-{workers}"));
        fs::copy(&built.server, root.join("staticdl-server")).unwrap();
        install_plugins(&root.join("plugins"));
        let args = [
            "/staticdl-server",
            "--listen",
            "127.0.0.1:0",
            "--plugins",
            "/plugins",
            "--workers",
            workers,
        ];

        // `chroot` needs CAP_SYS_CHROOT; without it, a user namespace in which
        // we are root (with its own mount namespace) gives it.
        let mut cmd = Command::new("chroot");
        cmd.arg(&root).args(args);
        let server = match Server::start(cmd) {
            Started::Up(server) => server,
            Started::Exited(status, log) => {
                eprintln!("chroot failed ({status}): {log}; trying unshare -rm");
                let mut cmd = Command::new("unshare");
                cmd.args(["--user", "--map-root-user", "--mount", "chroot"])
                    .arg(&root)
                    .args(args);
                match Server::start(cmd) {
                    Started::Up(server) => server,
                    Started::Exited(status, log) => {
                        eprintln!(
                            "skipped: cannot run the server in an empty root here: \
                             chroot and unshare both failed ({status}): {log}"
                        );
                        return;
                    }
                }
            }
        };
        let listing = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect::<Vec<_>>();
        assert_eq!(
            listing.len(),
            2,
            "the root holds more than the server: {listing:?}"
        );
        check_routes(&server);
        let mode = server.get("/builtin/workers").text();
        let expected = if workers == "0" {
            r#"{"mode":"threads","threads":8}"#
        } else {
            r#"{"mode":"workers","workers":1,"running":1,"restarts":0,"#
        };
        assert!(mode.starts_with(expected), "{mode}");
        let (status, log) = server.terminate();
        assert!(
            status.success(),
            "exit status {status} after SIGTERM:\n{log}"
        );
        let _ = fs::remove_dir_all(&root);
    }
}

#[test]
fn server_unit_tests_pass() {
    built(); // The dependencies, built by run-example.sh into the same target directory.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = common::nested_cargo();
    cmd.args([
        "test",
        "--target",
        "x86_64-unknown-linux-musl",
        "--manifest-path",
    ])
    .arg(root.join("examples/server/Cargo.toml"))
    .arg("--target-dir")
    .arg(tmp_dir().join("example-build"));
    let output = cmd.output().expect("running cargo test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the server's unit tests failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("test result: ok."), "{stdout}");
}
