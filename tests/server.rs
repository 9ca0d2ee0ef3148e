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
//! - The worker mode's own HTTP/1.1 framing (keep-alive, pipelining, chunked
//!   bodies, `expect: 100-continue`, `HEAD`, limits) and its report of workers.
//! - The server crate's own unit tests, built for the musl target.
//!
//! What the worker mode survives (crashing, aborting and hanging plugins) is
//! `tests/server_faults.rs`. Every wait is bounded; every connection is to
//! 127.0.0.1.

mod common;
mod server_harness;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
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

/// Reads one response from a connection that stays open: the head, then
/// `content-length` bytes (none if `head_only`).
fn read_response(stream: &mut TcpStream, head_only: bool) -> (Response, Vec<u8>) {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("reading a response head");
        assert_eq!(
            n,
            1,
            "connection closed after {:?}",
            String::from_utf8_lossy(&raw)
        );
        raw.push(byte[0]);
    }
    let length = String::from_utf8_lossy(&raw)
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let head = raw.clone();
    if !head_only {
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).expect("reading a body");
        raw.extend_from_slice(&body);
    }
    let parsed = if head_only {
        parse_head(&raw)
    } else {
        parse_response(&raw)
    };
    let (response, _) = parsed.unwrap_or_else(|e| {
        panic!("{e}: {:?}", String::from_utf8_lossy(&raw));
    });
    (response, head)
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

#[test]
fn worker_mode_speaks_http11_and_reports_workers() {
    let dir = fresh_dir("server-workers-http");
    let plugins = dir.join("plugins");
    install_plugins(&plugins);
    let server = start(&["--workers", "2", "--poll-ms", "0"], &plugins);
    server.wait_for_logged("worker: ready (pid ", 2, 30);

    // Two worker processes, the supervisor's only children.
    let workers = server.get("/builtin/workers").text();
    assert!(
        workers.starts_with(
            r#"{"mode":"workers","workers":2,"running":2,"restarts":0,"signals":0,"timeouts":0,"exits":0,"#
        ),
        "{workers}"
    );
    let pids: Vec<u32> = workers
        .split("\"pid\":")
        .skip(1)
        .map(|s| s.split(',').next().unwrap().parse().unwrap())
        .collect();
    let mut children: Vec<u32> = children_of(server.pid()).iter().map(|c| c.0).collect();
    children.sort_unstable();
    let mut sorted = pids.clone();
    sorted.sort_unstable();
    assert_eq!(children, sorted, "{workers}");
    let index = server.get("/").text();
    assert!(
        index.contains("workers: 2 of 2 running; 0 restarts"),
        "{index}"
    );

    // Pipelined requests on one connection, answered in order; the last one
    // closes it.
    let mut stream = connect(&server);
    stream
        .write_all(
            b"GET /builtin/ping HTTP/1.1\r\nhost: t\r\n\r\n\
              POST /echo HTTP/1.1\r\nhost: t\r\nuser-agent: pipelined\r\ncontent-length: 5\r\n\r\nhello\
              GET /hello?name=pipe HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
        )
        .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let (ping, used) = parse_response(&raw).unwrap();
    assert_eq!((ping.status, ping.text().as_str()), (200, "pong\n"));
    assert_eq!(ping.header("connection"), None);
    let (echo, more) = parse_response(&raw[used..]).unwrap();
    assert_eq!(echo.status, 200);
    assert!(
        echo.text().contains(r#""body":"hello","body_bytes":5"#),
        "{}",
        echo.text()
    );
    let (hello, rest) = parse_response(&raw[used + more..]).unwrap();
    assert!(hello
        .text()
        .starts_with("hello pipe, from greeter 1.0.0 (C)"));
    assert_eq!(hello.header("connection"), Some("close"));
    assert_eq!(used + more + rest, raw.len());

    // A chunked body; `expect: 100-continue`; a connection kept open across
    // an idle pause.
    let mut stream = connect(&server);
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n\
              4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\n",
        )
        .unwrap();
    let (echo, _) = read_response(&mut stream, false);
    assert!(
        echo.text().contains(r#""body":"abcdefg","body_bytes":7"#),
        "{}",
        echo.text()
    );
    thread::sleep(Duration::from_millis(300));
    stream
        .write_all(b"POST /counter HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 1\r\n\r\n")
        .unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"7").unwrap();
    let (counter, _) = read_response(&mut stream, false);
    assert_eq!(counter.status, 200);
    assert!(
        counter.text().contains(r#""count":7"#),
        "{}",
        counter.text()
    );
    // HEAD gets the head only.
    stream
        .write_all(b"HEAD /builtin/ping HTTP/1.1\r\nhost: t\r\n\r\n")
        .unwrap();
    let (head, _) = read_response(&mut stream, true);
    assert_eq!((head.status, head.header("allow")), (405, Some("GET")));
    // HTTP/1.0: closed after the answer unless asked otherwise.
    let mut stream = connect(&server);
    stream
        .write_all(b"GET /builtin/ping HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    assert_eq!(parse_response(&raw).unwrap().0.text(), "pong\n");

    // Refusals, each closing the connection.
    for (request, status) in [
        (
            &b"POST /echo HTTP/1.1\r\ncontent-length: 2000000\r\n\r\n"[..],
            413,
        ),
        (
            b"GET / HTTP/1.1\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n",
            400,
        ),
        (b"\x01 / HTTP/1.1\r\n\r\n", 400),
    ] {
        let mut stream = connect(&server);
        stream.write_all(request).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        assert_eq!(parse_response(&raw).unwrap().0.status, status);
    }
    let (status, log) = server.terminate();
    assert!(status.success(), "exit status {status}:\n{log}");
    for pid in pids {
        assert!(has_ended(pid), "worker {pid} outlived the server");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn keep_alive_connections_yield_to_waiting_clients() {
    let dir = fresh_dir("server-workers-yield");
    let plugins = dir.join("plugins");
    install_plugins(&plugins);
    let server = start(&["--workers", "1", "--poll-ms", "0"], &plugins);
    // A keep-alive client that sends its next request just after another
    // client connects is answered, told to close, and closed; then the other
    // client is served.
    let mut busy = connect(&server);
    busy.write_all(b"GET /builtin/ping HTTP/1.1\r\nhost: t\r\n\r\n")
        .unwrap();
    let (ping, _) = read_response(&mut busy, false);
    assert_eq!((ping.status, ping.header("connection")), (200, None));
    let mut waiting = connect(&server);
    // (Sent a little later than the worker notices the waiting client: within
    // the 50 ms it allows an idle connection.)
    thread::sleep(Duration::from_millis(10));
    busy.write_all(b"GET /builtin/ping HTTP/1.1\r\nhost: t\r\n\r\n")
        .unwrap();
    let (ping, _) = read_response(&mut busy, false);
    assert_eq!(
        (ping.status, ping.header("connection")),
        (200, Some("close"))
    );
    let mut rest = Vec::new();
    assert_eq!(busy.read_to_end(&mut rest).unwrap(), 0, "{rest:?}");
    waiting
        .write_all(b"GET /builtin/ping HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    waiting.read_to_end(&mut raw).unwrap();
    assert_eq!(parse_response(&raw).unwrap().0.text(), "pong\n");

    // The only worker answers a keep-alive request, then waits on that
    // connection...
    let mut idle = connect(&server);
    idle.write_all(b"GET /builtin/ping HTTP/1.1\r\nhost: t\r\n\r\n")
        .unwrap();
    let (ping, _) = read_response(&mut idle, false);
    assert_eq!((ping.status, ping.header("connection")), (200, None));
    // ...until another client comes: it is answered at once (not after the
    // 5 s idle time), and the idle connection is closed.
    let started = Instant::now();
    let r = server.get("/builtin/ping");
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered after {:?}",
        started.elapsed()
    );
    let mut rest = Vec::new();
    assert_eq!(idle.read_to_end(&mut rest).unwrap(), 0, "{rest:?}");
    let (status, log) = server.terminate();
    assert!(status.success(), "exit status {status}:\n{log}");
    let _ = fs::remove_dir_all(&dir);
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
