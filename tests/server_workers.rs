//! The example server's worker mode speaks HTTP/1.1 itself (its workers do
//! not use tiny_http): pipelined requests answered in order, chunked request
//! bodies, `expect: 100-continue`, `HEAD`, HTTP/1.0, the limits (413, 400), a
//! keep-alive connection kept across an idle pause and given up for a waiting
//! client; and its report of the workers (`/builtin/workers`, `GET /`, the
//! supervisor's children).
//!
//! Every wait is bounded; every connection is to 127.0.0.1.

mod common;
mod server_harness;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use server_harness::*;

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
