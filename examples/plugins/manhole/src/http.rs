//! The endpoint: a listener thread of its own that answers
//! `GET /debug/manhole` with JSON (every other request: 404), one request per
//! connection.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use crate::{objects, stats};

/// `s` as a JSON string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map_or_else(|| "null".to_owned(), quote)
}

/// The report: loaded objects and per-handler statistics.
pub fn report() -> String {
    let objects = objects::loaded();
    let mut out = String::from("{\"objects\":[");
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let tls = match o.tls {
            Some((module, size)) => format!("{{\"module\":{module},\"size\":{size}}}"),
            None => "null".to_owned(),
        };
        let (name, version) = match &o.plugin {
            Some((n, v)) => (quote(n), quote(v)),
            None => ("null".to_owned(), "null".to_owned()),
        };
        let _ = write!(
            out,
            "{{\"path\":{},\"soname\":{},\"start\":\"{:#x}\",\"end\":\"{:#x}\",\"tls\":{tls},\"plugin\":{name},\"version\":{version}}}",
            quote(&o.path),
            opt(&o.soname),
            o.start,
            o.end
        );
    }
    out.push_str("],\"handlers\":[");
    for (i, s) in stats::snapshot().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let object = objects.iter().find(|o| o.path == s.object);
        let soname = object.and_then(|o| o.soname.clone());
        let plugin = object.and_then(|o| o.plugin.as_ref().map(|p| p.0.clone()));
        let _ = write!(
            out,
            "{{\"object\":{},\"soname\":{},\"plugin\":{},\"loaded\":{},\"handler\":{},\"calls\":{},\"errors\":{},\"p50_us\":{:.1},\"p99_us\":{:.1}}}",
            quote(&s.object),
            opt(&soname),
            opt(&plugin),
            object.is_some(),
            quote(&s.handler),
            s.calls,
            s.errors,
            s.p50_us,
            s.p99_us
        );
    }
    out.push_str("]}\n");
    out
}

fn answer(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (status, body) = if method == "GET" && path == "/debug/manhole" {
        ("200 OK", report())
    } else {
        ("404 Not Found", "{\"error\":\"not found\"}\n".to_owned())
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Listens on `addr` and answers from a thread of its own; a failure to
/// listen is said once on standard error.
pub fn serve_in_background(addr: &str) {
    let listener = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("manhole: cannot listen on {addr}: {e}");
            return;
        }
    };
    if let Ok(a) = listener.local_addr() {
        eprintln!("manhole: serving http://{a}/debug/manhole");
    }
    let spawned = std::thread::Builder::new()
        .name("manhole".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                answer(stream);
            }
        });
    if let Err(e) = spawned {
        eprintln!("manhole: cannot start its thread: {e}");
    }
}
