//! The example HTTP server end to end: `run-example.sh --build-only` builds the
//! example plugins and the static musl server (`examples/`), then the server is
//! started on a free loopback port and driven with real HTTP requests: the
//! plugins' routes (headers and body read, JSON, per-plugin state, a plugin
//! error served as a 500), hot reload while requests are flowing (no request
//! fails, new requests reach the new version, the old one is unloaded), a
//! rejected replacement (the old version keeps serving), and a graceful
//! SIGTERM. A second test runs the same executable and plugins alone in an
//! empty root directory (`chroot`), as in a `FROM scratch` container.
//!
//! Every wait is bounded; every connection is to 127.0.0.1.

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// What `run-example.sh` built, plus a second version of the C plugin.
struct Built {
    /// The static server executable.
    server: PathBuf,
    /// The example plugins, as installed by the script.
    plugins: Vec<PathBuf>,
    /// `libgreeter.so` built as version 2.0.0.
    greeter_v2: PathBuf,
    /// Files that look like plugins but are not: a plain library without a
    /// descriptor, and a plugin whose dependency is missing.
    rejects: Vec<PathBuf>,
}

fn tmp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// Builds everything once per test process, through the README's command.
fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = tmp_dir().join("example");
        // The nested build gets none of the outer build's environment (as in
        // `common::nested_cargo`), and the outer build's cargo.
        let cargo = common::nested_cargo();
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
            .env(
                "STATICDL_EXAMPLE_TARGET_DIR",
                tmp_dir().join("example-build"),
            )
            .env("STATICDL_EXAMPLE_PROFILE", "dev");
        let output = cmd.output().expect("running run-example.sh");
        assert!(
            output.status.success(),
            "run-example.sh --build-only failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );

        let greeter_v2 = tmp_dir().join("example-build/greeter/libgreeter-v2.so");
        let output = Command::new("gcc")
            .args([
                "-shared",
                "-fPIC",
                "-nostdlib",
                "-O2",
                "-g0",
                "-fno-stack-protector",
            ])
            .arg(format!("-I{}", root.join("abi/include").display()))
            .arg("-DGREETER_VERSION=\"2.0.0\"")
            .arg("-o")
            .arg(&greeter_v2)
            .arg(root.join("examples/plugins/greeter/greeter.c"))
            .output()
            .expect("running gcc");
        assert!(
            output.status.success(),
            "building greeter 2.0.0 failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let dir = tmp_dir().join("example-build/rejects");
        fs::create_dir_all(&dir).unwrap();
        let gcc = |out: &str, source: &str, extra: &[&str]| {
            let src = dir.join(format!("{out}.c"));
            fs::write(&src, source).unwrap();
            let output = Command::new("gcc")
                .args([
                    "-shared",
                    "-fPIC",
                    "-nostdlib",
                    "-O1",
                    "-fno-stack-protector",
                ])
                .arg(format!("-Wl,-soname,{out}"))
                .arg("-o")
                .arg(dir.join(out))
                .arg(&src)
                .args(extra)
                .output()
                .expect("running gcc");
            assert!(
                output.status.success(),
                "building {out}:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            dir.join(out)
        };
        let plain = gcc("libplain.so", "int plain(void) { return 1; }\n", &[]);
        gcc("libdep.so", "int dep(void) { return 2; }\n", &[]);
        let needs = gcc(
            "libneeds.so",
            "int dep(void);\nint needs(void) { return dep(); }\n",
            &["-L", dir.to_str().unwrap(), "-l:libdep.so"],
        );
        Built {
            rejects: vec![plain, needs],
            server: out.join("staticdl-server"),
            plugins: ["libcounter.so", "libecho.so", "libgreeter.so"]
                .iter()
                .map(|p| out.join("plugins").join(p))
                .collect(),
            greeter_v2,
        }
    })
}

/// An empty directory for one test, under the test target directory.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = tmp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies `from` to `to` through a temporary name and a rename, as a
/// deployment would.
fn install(from: &Path, to: &Path) {
    let tmp = to.with_file_name(format!(
        ".{}.tmp",
        to.file_name().unwrap().to_string_lossy()
    ));
    fs::copy(from, &tmp).unwrap();
    fs::rename(&tmp, to).unwrap();
}

fn install_plugins(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    for plugin in &built().plugins {
        install(plugin, &dir.join(plugin.file_name().unwrap()));
    }
}

// ---- The server process ---------------------------------------------------

/// A running server: its stderr is collected on a thread.
struct Server {
    child: Option<Child>,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

/// Outcome of trying to start a server.
enum Started {
    Up(Server),
    /// The process exited before listening, with this log.
    Exited(ExitStatus, String),
}

impl Server {
    /// Starts `cmd` (which must log `listening on http://ADDR`) and waits at
    /// most 60 s for it to listen.
    fn start(mut cmd: Command) -> Started {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().unwrap_or_else(PoisonError::into_inner);
                log.push_str(&line);
                log.push('\n');
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = log.lock().unwrap_or_else(PoisonError::into_inner).clone();
            if let Some(addr) = text
                .lines()
                .find_map(|l| l.split_once("listening on http://").map(|(_, a)| a.trim()))
            {
                return Started::Up(Server {
                    child: Some(child),
                    addr: addr.parse().expect("a socket address"),
                    log,
                });
            }
            if let Some(status) = child.try_wait().unwrap() {
                // Let the reader drain what is left.
                thread::sleep(Duration::from_millis(200));
                let text = log.lock().unwrap_or_else(PoisonError::into_inner).clone();
                return Started::Exited(status, text);
            }
            assert!(
                Instant::now() < deadline,
                "the server did not listen within 60 s:\n{text}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits at most `secs` seconds for `needle` to appear in the log.
    fn wait_for_log(&self, needle: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{needle:?} not logged within {secs} s:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn get(&self, path: &str) -> Response {
        http(self.addr, "GET", path, &[], b"")
    }

    /// Sends SIGTERM and waits at most 30 s for the exit.
    fn terminate(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let pid = rustix::process::Pid::from_child(&child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no exit within 30 s of SIGTERM:\n{}", self.log());
            }
            thread::sleep(Duration::from_millis(20));
        };
        thread::sleep(Duration::from_millis(200));
        (status, self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            if thread::panicking() {
                eprintln!("server log:\n{}", self.log());
            }
        }
    }
}

// ---- A minimal HTTP client --------------------------------------------------

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on its own connection, with 10 s timeouts.
fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let timeout = Duration::from_secs(10);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;

    let mut parsed_headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut parsed_headers);
    let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let head = match parsed.parse(&raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err(invalid("truncated response".into())),
        Err(e) => return Err(invalid(format!("bad response: {e}"))),
    };
    let response = Response {
        status: parsed.code.unwrap_or(0),
        headers: parsed
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body: raw[head..].to_vec(),
    };
    if let Some(len) = response.header("content-length") {
        if len.parse::<usize>().ok() != Some(response.body.len()) {
            return Err(invalid(format!(
                "content-length {len} but {} body bytes",
                response.body.len()
            )));
        }
    }
    Ok(response)
}

fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    try_http(addr, method, path, headers, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

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

    let mut cmd = Command::new(&built.server);
    cmd.args(["--listen", "127.0.0.1:0", "--poll-ms", "100", "--plugins"])
        .arg(&plugins);
    let server = match Server::start(cmd) {
        Started::Up(server) => server,
        Started::Exited(status, log) => panic!("the server exited ({status}):\n{log}"),
    };
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

    // Only the executable and the plugins, as in a `FROM scratch` image.
    let root = fresh_dir("server-scratch");
    fs::copy(&built.server, root.join("staticdl-server")).unwrap();
    install_plugins(&root.join("plugins"));
    let args = [
        "/staticdl-server",
        "--listen",
        "127.0.0.1:0",
        "--plugins",
        "/plugins",
    ];

    // `chroot` needs CAP_SYS_CHROOT; without it, a user namespace in which we
    // are root (with its own mount namespace) gives it.
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
    let (status, log) = server.terminate();
    assert!(
        status.success(),
        "exit status {status} after SIGTERM:\n{log}"
    );
    let _ = fs::remove_dir_all(&root);
}
