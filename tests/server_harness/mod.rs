//! What the example server's tests (`tests/server.rs`, `tests/server_faults.rs`)
//! share: building the server and the plugins through `run-example.sh
//! --build-only` (plus a second version of the C plugin, files that must be
//! rejected, and the fault plugin of `tests/fixtures/server/fault.c`),
//! starting a server and reading its log, a minimal HTTP client, and a look at
//! a process's children in `/proc`.
//!
//! Every wait is bounded; every connection is to 127.0.0.1.
//!
//! ```ignore
//! mod common;
//! mod server_harness;
//! use server_harness::*;
//!
//! let server = start(&["--workers", "2"], &plugins_dir);
//! assert_eq!(server.get("/builtin/ping").status, 200);
//! ```
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::common;

/// What `run-example.sh` built, plus test plugins.
pub struct Built {
    /// The static server executable.
    pub server: PathBuf,
    /// The example plugins, as installed by the script.
    pub plugins: Vec<PathBuf>,
    /// `libgreeter.so` built as version 2.0.0.
    pub greeter_v2: PathBuf,
    /// Files that look like plugins but are not: a plain library without a
    /// descriptor, and a plugin whose dependency is missing.
    pub rejects: Vec<PathBuf>,
    /// `libfault.so`: routes that crash, abort and hang.
    pub fault: PathBuf,
    /// `libinitcrash.so`: a plugin whose `init` crashes.
    pub initcrash: PathBuf,
}

pub fn tmp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs gcc with `args`, `source`, then `libs`, writing `out` through a
/// temporary name.
fn gcc(what: &str, out: &Path, args: &[&str], source: &Path, libs: &[&str]) {
    let tmp = out.with_extension(format!("{}.tmp", std::process::id()));
    let output = Command::new("gcc")
        .args(args)
        .arg(format!("-I{}", root().join("abi/include").display()))
        .arg("-o")
        .arg(&tmp)
        .arg(source)
        .args(libs)
        .output()
        .expect("running gcc");
    assert!(
        output.status.success(),
        "building {what} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    fs::rename(&tmp, out).unwrap();
}

/// Builds everything once per test process, through the README's command.
pub fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = root();
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

        let plain_c = [
            "-shared",
            "-fPIC",
            "-nostdlib",
            "-O2",
            "-g0",
            "-fno-stack-protector",
        ];
        let greeter_v2 = tmp_dir().join("example-build/greeter/libgreeter-v2.so");
        let mut args = plain_c.to_vec();
        args.push("-DGREETER_VERSION=\"2.0.0\"");
        gcc(
            "greeter 2.0.0",
            &greeter_v2,
            &args,
            &root.join("examples/plugins/greeter/greeter.c"),
            &[],
        );

        let dir = tmp_dir().join("example-build/rejects");
        fs::create_dir_all(&dir).unwrap();
        let reject = |out: &str, source: &str, extra: &[&str]| {
            let src = dir.join(format!("{out}.c"));
            fs::write(&src, source).unwrap();
            let soname = format!("-Wl,-soname,{out}");
            let mut args = plain_c.to_vec();
            args.push(&soname);
            gcc(out, &dir.join(out), &args, &src, extra);
            dir.join(out)
        };
        let plain = reject("libplain.so", "int plain(void) { return 1; }\n", &[]);
        reject("libdep.so", "int dep(void) { return 2; }\n", &[]);
        let libs = format!("-L{}", dir.display());
        let needs = reject(
            "libneeds.so",
            "int dep(void);\nint needs(void) { return dep(); }\n",
            &[&libs, "-l:libdep.so"],
        );

        // The fault plugin links the C library (for abort(3)): the server's
        // libc provider answers it.
        let faults = tmp_dir().join("example-build/fault");
        fs::create_dir_all(&faults).unwrap();
        let source = root.join("tests/fixtures/server/fault.c");
        let fault = faults.join("libfault.so");
        let c = ["-shared", "-fPIC", "-O1", "-g0", "-Wall", "-Wextra"];
        gcc("libfault.so", &fault, &c, &source, &[]);
        let initcrash = faults.join("libinitcrash.so");
        let mut args = c.to_vec();
        args.push("-DFAULT_CRASH_IN_INIT");
        gcc("libinitcrash.so", &initcrash, &args, &source, &[]);

        Built {
            rejects: vec![plain, needs],
            server: out.join("staticdl-server"),
            plugins: ["libcounter.so", "libecho.so", "libgreeter.so"]
                .iter()
                .map(|p| out.join("plugins").join(p))
                .collect(),
            greeter_v2,
            fault,
            initcrash,
        }
    })
}

/// An empty directory for one test, under the test target directory.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = tmp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies `from` to `to` through a temporary name and a rename, as a
/// deployment would.
pub fn install(from: &Path, to: &Path) {
    let tmp = to.with_file_name(format!(
        ".{}.tmp",
        to.file_name().unwrap().to_string_lossy()
    ));
    fs::copy(from, &tmp).unwrap();
    fs::rename(&tmp, to).unwrap();
}

/// Installs the example plugins into `dir`.
pub fn install_plugins(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    for plugin in &built().plugins {
        install(plugin, &dir.join(plugin.file_name().unwrap()));
    }
}

// ---- The server process ---------------------------------------------------

/// A running server: its stderr is collected on a thread.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

/// Outcome of trying to start a server.
pub enum Started {
    Up(Server),
    /// The process exited before listening, with this log.
    Exited(ExitStatus, String),
}

/// Starts the built server on a free loopback port with `args`, serving
/// `plugins`, and waits for it to listen.
pub fn start(args: &[&str], plugins: &Path) -> Server {
    let mut cmd = Command::new(&built().server);
    cmd.args(["--listen", "127.0.0.1:0"])
        .args(args)
        .arg("--plugins")
        .arg(plugins);
    match Server::start(cmd) {
        Started::Up(server) => server,
        Started::Exited(status, log) => panic!("the server exited ({status}):\n{log}"),
    }
}

impl Server {
    /// Starts `cmd` (which must log `listening on http://ADDR`) and waits at
    /// most 60 s for it to listen.
    pub fn start(mut cmd: Command) -> Started {
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

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits at most `secs` seconds for `needle` to appear in the log.
    pub fn wait_for_log(&self, needle: &str, secs: u64) {
        self.wait_for_logged(needle, 1, secs);
    }

    /// Waits at most `secs` seconds for `needle` to appear `times` times in
    /// the log.
    pub fn wait_for_logged(&self, needle: &str, times: usize, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.log().matches(needle).count() < times {
            assert!(
                Instant::now() < deadline,
                "{needle:?} not logged {times} times within {secs} s:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get(&self, path: &str) -> Response {
        http(self.addr, "GET", path, &[], b"")
    }

    /// Sends SIGTERM and waits at most 30 s for the exit.
    pub fn terminate(self) -> (ExitStatus, String) {
        let pid = rustix::process::Pid::from_child(self.child.as_ref().unwrap());
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        self.wait()
    }

    /// Waits at most 30 s for the server to exit (once it has been told to).
    pub fn wait(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no exit within 30 s:\n{}", self.log());
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

// ---- Processes ------------------------------------------------------------

/// The children of process `parent`, with their state letter from
/// `/proc/PID/stat` (`R`, `S`, `Z` for a zombie...).
pub fn children_of(parent: u32) -> Vec<(u32, char)> {
    let mut children = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let Some((_, after)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        if fields.next().and_then(|p| p.parse::<u32>().ok()) == Some(parent) {
            children.push((pid, state));
        }
    }
    children
}

/// Whether process `pid` has ended (gone, or a zombie nobody reaped yet).
pub fn has_ended(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, after)| after.trim_start().starts_with(['Z', 'X'])),
    }
}

// ---- A minimal HTTP client --------------------------------------------------

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The number after `"key":` in a JSON text (its first occurrence).
pub fn json_number(text: &str, key: &str) -> Option<u64> {
    let (_, after) = text.split_once(&format!("\"{key}\":"))?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Parses one response from `raw`, checking `content-length` if present;
/// returns it and how many bytes of `raw` it took.
pub fn parse_response(raw: &[u8]) -> std::io::Result<(Response, usize)> {
    let (mut response, head) = parse_head(raw)?;
    let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let length = response
        .header("content-length")
        .map(|v| v.parse::<usize>())
        .transpose()
        .map_err(|e| invalid(format!("content-length: {e}")))?;
    let end = match length {
        Some(len) if head + len > raw.len() => {
            return Err(invalid(format!(
                "content-length {len} but {} body bytes",
                raw.len() - head
            )))
        }
        Some(len) => head + len,
        None => raw.len(),
    };
    response.body = raw[head..end].to_vec();
    Ok((response, end))
}

/// Parses the head of a response (status and headers; no body), and returns
/// its length.
pub fn parse_head(raw: &[u8]) -> std::io::Result<(Response, usize)> {
    let mut parsed_headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut parsed_headers);
    let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let head = match parsed.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err(invalid("truncated response".into())),
        Err(e) => return Err(invalid(format!("bad response: {e}"))),
    };
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let response = Response {
        status: parsed.code.unwrap_or(0),
        headers,
        body: Vec::new(),
    };
    Ok((response, head))
}

/// One request on its own connection, with 10 s timeouts.
pub fn try_http(
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
    let (response, end) = parse_response(&raw)?;
    if end != raw.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} bytes after the response", raw.len() - end),
        ));
    }
    Ok(response)
}

pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    try_http(addr, method, path, headers, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}
