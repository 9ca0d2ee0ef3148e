//! The example server's worker mode survives its plugins: driven under a
//! steady load (four client threads, at least five seconds, every route of the
//! three example plugins, the built-in ping and a working route of the fault
//! plugin), a route of `tests/fixtures/server/fault.c` that segfaults, calls
//! `abort()` or never returns is hit 20 times. Every other request must
//! succeed, every crashing one must get a 502 (naming the signal) or, for the
//! hang, a 504 after the deadline; afterwards the server still serves, the
//! scoreboard counts exactly 20 restarts of the right kind with both workers
//! back, the log names plugin, route and handler of every death, and the
//! supervisor has no zombie child. The same with a hot reload in the middle.
//! Also: a plugin whose `init` crashes is quarantined, restarts back off while
//! workers die before answering anything, and shutdown (SIGTERM, or the
//! supervisor killed) leaves no worker behind.
//!
//! Every wait is bounded; every connection is to 127.0.0.1.

mod common;
mod server_harness;

use std::fs;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use server_harness::*;

/// What the load's clients saw.
#[derive(Default)]
struct Seen {
    ok: usize,
    failures: Vec<String>,
    /// `x-plugin-version` of every `/hello` answer, in order.
    greeter_versions: Vec<String>,
}

/// Client threads requesting every route but the crashing ones until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    clients: Vec<JoinHandle<Seen>>,
    started: Instant,
}

/// One request of the load, checked; `Err` says what went wrong.
fn one(addr: SocketAddr, client: usize, n: usize, seen: &mut Seen) -> Result<(), String> {
    let body = format!("load {client}.{n}");
    let (method, path, body) = match n % 5 {
        0 => ("GET", "/builtin/ping", ""),
        1 => ("GET", "/hello?name=load", ""),
        2 => ("POST", "/echo", body.as_str()),
        3 => ("GET", "/counter", ""),
        _ => ("GET", "/fault/ok", ""),
    };
    let r = try_http(addr, method, path, &[], body.as_bytes())
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let text = r.text();
    let good = r.status == 200
        && match n % 5 {
            0 => text == "pong\n",
            1 => text.starts_with("hello load, from greeter "),
            2 => text.contains(&format!(r#""body":"{body}""#)),
            3 => text.starts_with(r#"{"plugin":"counter","version":"1.0.0","count":"#),
            _ => text == "fault 1.0.0: ok\n",
        };
    if !good {
        return Err(format!("{method} {path}: {} {text:?}", r.status));
    }
    if n % 5 == 1 {
        let version = r.header("x-plugin-version").unwrap_or("?");
        seen.greeter_versions.push(version.to_owned());
    }
    Ok(())
}

impl Load {
    fn start(addr: SocketAddr) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let clients = (0..4)
            .map(|client| {
                let stop = stop.clone();
                thread::spawn(move || {
                    let mut seen = Seen::default();
                    let deadline = Instant::now() + Duration::from_secs(90);
                    let mut n = client;
                    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                        match one(addr, client, n, &mut seen) {
                            Ok(()) => seen.ok += 1,
                            Err(e) => seen.failures.push(e),
                        }
                        n += 1;
                    }
                    seen
                })
            })
            .collect();
        Load {
            stop,
            clients,
            started: Instant::now(),
        }
    }

    /// Stops the clients once the load has run at least five seconds, and
    /// checks that none of their requests failed.
    fn finish(self) -> Vec<Seen> {
        let at_least = self.started + Duration::from_secs(5);
        thread::sleep(at_least.saturating_duration_since(Instant::now()));
        self.stop.store(true, Ordering::SeqCst);
        let seen: Vec<Seen> = self
            .clients
            .into_iter()
            .map(|c| c.join().expect("a load client panicked"))
            .collect();
        let failures: Vec<&String> = seen.iter().flat_map(|s| &s.failures).collect();
        let ok: usize = seen.iter().map(|s| s.ok).sum();
        assert!(
            failures.is_empty(),
            "{} of {} requests outside the crashing route failed: {failures:#?}",
            failures.len(),
            ok + failures.len()
        );
        assert!(ok >= 100, "only {ok} requests in five seconds");
        eprintln!("load: {ok} requests, none failed");
        seen
    }
}

/// A plugins directory with the example plugins and the fault plugin.
fn plugins_dir(name: &str) -> (PathBuf, PathBuf) {
    let dir = fresh_dir(name);
    let plugins = dir.join("plugins");
    install_plugins(&plugins);
    install(&built().fault, &plugins.join("libfault.so"));
    (dir, plugins)
}

/// How a crashing request must be answered.
enum Expect {
    /// 502, naming this signal.
    Crash(&'static str),
    /// 504, no sooner than this deadline.
    Timeout(Duration),
}

/// Hits `route` once and checks the answer.
fn hit(addr: SocketAddr, route: &str, expect: &Expect) {
    let started = Instant::now();
    let r = try_http(addr, "GET", route, &[], b"");
    let took = started.elapsed();
    match (expect, r) {
        (Expect::Crash(signal), Ok(r)) => {
            assert_eq!(r.status, 502, "{route}: {}", r.text());
            assert_eq!(
                r.text(),
                format!(
                    "the handler crashed its worker process ({signal}); a new worker is starting\n"
                )
            );
        }
        (Expect::Timeout(deadline), Ok(r)) => {
            assert_eq!(r.status, 504, "{route}: {}", r.text());
            assert!(
                took >= *deadline && took < *deadline + Duration::from_secs(3),
                "{route}: 504 after {took:?}, the deadline being {deadline:?}"
            );
        }
        // A closed connection is an acceptable answer to a crash too; this
        // server promises a 502, so it is checked for.
        (_, Err(e)) => panic!("{route}: no answer ({e}) after {took:?}"),
    }
}

/// Waits until the scoreboard shows both workers running after `restarts`
/// restarts; returns `/builtin/workers`.
fn wait_for_workers(server: &Server, restarts: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let json = server.get("/builtin/workers").text();
        if json_number(&json, "running") == Some(2)
            && json_number(&json, "restarts") == Some(restarts)
        {
            return json;
        }
        assert!(
            Instant::now() < deadline,
            "workers not back to 2 after {restarts} restarts: {json}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// The supervisor's children are its two workers, none a zombie.
fn check_children(server: &Server) -> Vec<u32> {
    let children = children_of(server.pid());
    assert_eq!(children.len(), 2, "children: {children:?}");
    assert!(
        children.iter().all(|&(_, state)| state != 'Z'),
        "a zombie: {children:?}"
    );
    children.iter().map(|c| c.0).collect()
}

/// Stops the server with SIGTERM: exit 0, and no worker left.
fn stop(server: Server, workers: &[u32]) -> String {
    ended(server.terminate(), workers)
}

/// The server exited with status 0, and left no worker.
fn ended((status, log): (std::process::ExitStatus, String), workers: &[u32]) -> String {
    assert!(status.success(), "exit status {status}:\n{log}");
    assert!(log.contains("supervisor: stopped"), "{log}");
    for &pid in workers {
        assert!(has_ended(pid), "worker {pid} outlived the server:\n{log}");
    }
    log
}

/// The scenario every fault gets: load, 20 hits of `route`, checks.
fn survive(name: &str, route: &str, expect: Expect, args: &[&str], death: &str, counter: &str) {
    let (dir, plugins) = plugins_dir(name);
    let mut all = vec!["--workers", "2", "--poll-ms", "100"];
    all.extend_from_slice(args);
    let server = start(&all, &plugins);
    server.wait_for_logged("worker: ready (pid ", 2, 30);
    let load = Load::start(server.addr);
    thread::sleep(Duration::from_millis(300));
    for _ in 0..20 {
        hit(server.addr, route, &expect);
        thread::sleep(Duration::from_millis(100));
    }
    load.finish();

    let json = wait_for_workers(&server, 20);
    assert_eq!(json_number(&json, counter), Some(20), "{json}");
    server.wait_for_logged(death, 20, 10);
    assert_eq!(server.log().matches(death).count(), 20, "{}", server.log());
    let workers = check_children(&server);
    // Still serving, on every route.
    for n in 0..5 {
        one(server.addr, 0, n, &mut Seen::default()).unwrap();
    }
    let index = server.get("/").text();
    assert!(
        index.contains("workers: 2 of 2 running; 20 restarts"),
        "{index}"
    );
    stop(server, &workers);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn workers_survive_a_segfaulting_plugin() {
    survive(
        "faults-segv",
        "/fault/segv",
        Expect::Crash("SIGSEGV"),
        &[],
        "killed by SIGSEGV while serving GET /fault/segv: plugin fault 1.0.0 (libfault.so), \
         handler fault_segv; the request got a 502; starting a new worker",
        "signals",
    );
}

#[test]
fn workers_survive_a_plugin_that_aborts() {
    survive(
        "faults-abort",
        "/fault/abort",
        Expect::Crash("SIGABRT"),
        &[],
        "killed by SIGABRT while serving GET /fault/abort: plugin fault 1.0.0 (libfault.so), \
         handler fault_abort; the request got a 502; starting a new worker",
        "signals",
    );
}

#[test]
fn a_handler_that_never_returns_gets_a_504_and_its_worker_recycled() {
    survive(
        "faults-hang",
        "/fault/hang",
        Expect::Timeout(Duration::from_millis(300)),
        &["--handler-timeout", "300ms"],
        "recycled: GET /fault/hang: plugin fault 1.0.0 (libfault.so), handler fault_hang ran past \
         the 300 ms handler deadline (exited with status 75); the request got a 504; starting",
        "timeouts",
    );
}

#[test]
fn a_hot_reload_under_load_with_crashes_loses_nothing() {
    let (dir, plugins) = plugins_dir("faults-reload");
    let server = start(&["--workers", "2", "--poll-ms", "100"], &plugins);
    server.wait_for_logged("worker: ready (pid ", 2, 30);
    let load = Load::start(server.addr);
    let crash = Expect::Crash("SIGSEGV");
    thread::sleep(Duration::from_millis(300));
    for _ in 0..10 {
        hit(server.addr, "/fault/segv", &crash);
        thread::sleep(Duration::from_millis(100));
    }
    // Both workers running version 1.0.0 then replace it, each draining its
    // own requests before unloading it.
    wait_for_workers(&server, 10);
    thread::sleep(Duration::from_millis(300));
    install(&built().greeter_v2, &plugins.join("libgreeter.so"));
    server.wait_for_logged(
        "plugins: libgreeter.so: greeter 2.0.0 replaces greeter 1.0.0",
        2,
        30,
    );
    server.wait_for_logged("plugins: libgreeter.so: greeter 1.0.0 unloaded", 2, 10);
    for _ in 0..10 {
        hit(server.addr, "/fault/segv", &crash);
        thread::sleep(Duration::from_millis(100));
    }
    let seen = load.finish();
    for (client, s) in seen.iter().enumerate() {
        let v = &s.greeter_versions;
        assert!(
            v.first().map(String::as_str) == Some("1.0.0")
                && v.last().map(String::as_str) == Some("2.0.0"),
            "client {client} did not see the reload: {v:?}"
        );
    }
    wait_for_workers(&server, 20);
    // Every worker serves the new version now.
    for _ in 0..10 {
        let r = server.get("/hello");
        assert_eq!(r.header("x-plugin-version"), Some("2.0.0"), "{}", r.text());
    }
    let workers = check_children(&server);
    let log = stop(server, &workers);
    assert_eq!(
        log.matches("killed by SIGSEGV while serving GET /fault/segv")
            .count(),
        20
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_plugin_crashing_in_init_is_quarantined_and_restarts_back_off() {
    let (dir, plugins) = plugins_dir("faults-init");
    install(&built().initcrash, &plugins.join("libinitcrash.so"));
    let server = start(&["--workers", "1", "--poll-ms", "0"], &plugins);
    server.wait_for_log(
        "killed by SIGSEGV while loading libinitcrash.so; that version will not be loaded \
         again until its file changes; starting a new worker in 50 ms (it died before \
         answering a request)",
        30,
    );
    // The replacement skips that version and serves the rest.
    server.wait_for_log("worker: ready (pid ", 30);
    let status = server.get("/builtin/plugins").text();
    assert!(
        status.contains(
            r#"{"file":"libinitcrash.so","error":"this version crashed a worker (SIGSEGV) while loading; not loaded again until the file changes"}"#
        ),
        "{status}"
    );
    assert_eq!(server.get("/initcrash").status, 404);
    assert_eq!(server.get("/fault/ok").text(), "fault 1.0.0: ok\n");

    // Workers that die before answering anything are restarted later and
    // later; one that answered something, at once.
    let crash = Expect::Crash("SIGSEGV");
    for _ in 0..4 {
        hit(server.addr, "/fault/segv", &crash);
    }
    assert_eq!(server.get("/builtin/ping").status, 200);
    hit(server.addr, "/fault/segv", &crash);
    server.wait_for_logged("while serving GET /fault/segv", 5, 10);
    let deaths: Vec<String> = server
        .log()
        .lines()
        .filter(|l| l.contains("while serving GET /fault/segv"))
        .map(|l| {
            l.split_once("; the request got a 502")
                .unwrap()
                .1
                .to_owned()
        })
        .collect();
    assert_eq!(
        deaths,
        [
            "; starting a new worker",
            "; starting a new worker in 50 ms (it died before answering a request)",
            "; starting a new worker in 100 ms (2 workers in a row died before answering a request)",
            "; starting a new worker in 200 ms (3 workers in a row died before answering a request)",
            "; starting a new worker",
        ]
    );
    let json = server.get("/builtin/workers").text();
    assert_eq!(json_number(&json, "restarts"), Some(6), "{json}");
    let workers: Vec<u32> = children_of(server.pid()).iter().map(|c| c.0).collect();
    stop(server, &workers);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_waits_for_running_requests_and_leaves_no_worker() {
    let (dir, plugins) = plugins_dir("faults-stop");
    let server = start(&["--workers", "2", "--poll-ms", "0"], &plugins);
    server.wait_for_logged("worker: ready (pid ", 2, 30);
    let workers = check_children(&server);
    let addr = server.addr;
    let slow = thread::spawn(move || try_http(addr, "GET", "/echo/slow?ms=1500", &[], b""));
    thread::sleep(Duration::from_millis(300));
    let log = stop(server, &workers);
    let r = slow.join().unwrap().expect("the running request");
    assert_eq!(r.status, 200);
    assert!(r.text().contains(r#""slept_ms":1500"#), "{}", r.text());
    assert!(log.contains("SIGTERM: stopping 2 workers (running requests finish first)"));
    assert_eq!(log.matches("worker: stopped").count(), 2, "{log}");
    assert_eq!(log.matches("plugin: echo 1.0.0: fini").count(), 2, "{log}");

    // Ctrl-C in a terminal signals the whole process group: each worker gets
    // SIGINT, then SIGTERM from the supervisor, and still finishes its request.
    let mut cmd = std::process::Command::new(&built().server);
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--workers",
        "2",
        "--poll-ms",
        "0",
        "--plugins",
    ])
    .arg(&plugins)
    .process_group(0);
    let Started::Up(server) = Server::start(cmd) else {
        panic!("the server did not start");
    };
    server.wait_for_logged("worker: ready (pid ", 2, 30);
    let workers = check_children(&server);
    let addr = server.addr;
    let slow = thread::spawn(move || try_http(addr, "GET", "/echo/slow?ms=1500", &[], b""));
    thread::sleep(Duration::from_millis(300));
    rustix::process::kill_process_group(
        rustix::process::Pid::from_raw(server.pid() as i32).unwrap(),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let r = slow.join().unwrap().expect("the running request");
    assert!(r.text().contains(r#""slept_ms":1500"#), "{}", r.text());
    let log = ended(server.wait(), &workers);
    assert!(log.contains("SIGINT: stopping 2 workers"), "{log}");
    assert_eq!(log.matches("worker: stopped").count(), 2, "{log}");

    // A supervisor that is killed takes its workers with it.
    let server = start(&["--workers", "2", "--poll-ms", "0"], &plugins);
    server.wait_for_logged("worker: ready (pid ", 2, 30);
    let workers = check_children(&server);
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(server.pid() as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !workers.iter().all(|&pid| has_ended(pid)) {
        assert!(
            Instant::now() < deadline,
            "workers outlived their supervisor"
        );
        thread::sleep(Duration::from_millis(20));
    }
    drop(server);
    let _ = fs::remove_dir_all(&dir);
}
