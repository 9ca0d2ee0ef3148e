//! Serving one HTTP request: from `tiny_http`'s request to the routing table,
//! through a plugin's handler (the ABI's handler contract, via
//! `Plugin::call_handler`) or a built-in route, and back.
//!
//! Owns [`Shared`] (the current routing table and counters, shared by the
//! workers and swapped by the watcher), the request/response translation, the
//! error statuses the server itself produces (404, 405, 413, 500), and the
//! built-in routes. A panic anywhere in here is caught per request and answered
//! with a 500; the worker goes on. It does not load plugins or build tables.

use std::fmt::Write as _;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use staticdl::abi::{Header, Request};

use crate::routes::{Builtin, Lookup, Table, Target};

/// Largest request body accepted; larger ones get a 413.
pub const MAX_BODY: u64 = 1 << 20;

/// State shared by every worker.
pub struct Shared {
    table: RwLock<Arc<Table>>,
    started: Instant,
    served: AtomicU64,
}

impl Shared {
    pub fn new(table: Table) -> Shared {
        Shared {
            table: RwLock::new(Arc::new(table)),
            started: Instant::now(),
            served: AtomicU64::new(0),
        }
    }

    /// The current table.
    pub fn table(&self) -> Arc<Table> {
        self.table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes `table` current for every request that starts from now on, and
    /// returns the old one (requests still running keep what they hold of it).
    pub fn replace_table(&self, table: Table) -> Arc<Table> {
        let mut slot = self.table.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *slot, Arc::new(table))
    }

    /// Requests answered so far.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
}

/// A response before it is written.
struct Outcome {
    status: u16,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
}

impl Outcome {
    fn text(status: u16, body: impl Into<String>) -> Outcome {
        let mut body = body.into();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Outcome {
            status,
            headers: vec![(
                b"content-type".to_vec(),
                b"text/plain; charset=utf-8".to_vec(),
            )],
            body: body.into_bytes(),
        }
    }

    fn json(body: String) -> Outcome {
        Outcome {
            status: 200,
            headers: vec![(b"content-type".to_vec(), b"application/json".to_vec())],
            body: (body + "\n").into_bytes(),
        }
    }
}

/// Headers the server owns: a plugin's are dropped (the HTTP library frames
/// the response itself).
fn is_framing_header(name: &[u8]) -> bool {
    [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
}

/// Answers one request.
pub fn serve(shared: &Shared, mut request: tiny_http::Request) {
    let start = Instant::now();
    let method = request.method().as_str().to_owned();
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));

    let outcome = match read_body(&mut request) {
        Err(outcome) => outcome,
        Ok(body) => {
            let headers: Vec<Header<'_>> = request
                .headers()
                .iter()
                .map(|h| {
                    Header::new(
                        h.field.as_str().as_str().as_bytes(),
                        h.value.as_str().as_bytes(),
                    )
                })
                .collect();
            let call = AssertUnwindSafe(|| route(shared, &method, path, query, &headers, &body));
            catch_unwind(call).unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                log::error!("{method} {path}: the server panicked: {what}");
                Outcome::text(500, "internal server error")
            })
        }
    };

    let status = outcome.status;
    let mut response = tiny_http::Response::from_data(outcome.body).with_status_code(status);
    response.add_header(tiny_http::Header {
        field: "server".parse().expect("a valid header name"),
        value: "staticdl-server".parse().expect("a valid header value"),
    });
    for (name, value) in &outcome.headers {
        if is_framing_header(name) {
            continue;
        }
        match tiny_http::Header::from_bytes(name.as_slice(), value.as_slice()) {
            Ok(header) => response.add_header(header),
            Err(()) => log::warn!(
                "{method} {path}: dropped invalid response header {:?}",
                String::from_utf8_lossy(name)
            ),
        }
    }
    if let Err(e) = request.respond(response) {
        log::debug!("{method} {url}: client went away: {e}");
    }
    shared.served.fetch_add(1, Ordering::Relaxed);
    log::debug!(
        "{method} {url} {status} {:.3}ms",
        start.elapsed().as_secs_f64() * 1e3
    );
}

fn read_body(request: &mut tiny_http::Request) -> Result<Vec<u8>, Outcome> {
    let too_large = || Outcome::text(413, format!("request body larger than {MAX_BODY} bytes"));
    if request
        .body_length()
        .is_some_and(|len| len as u64 > MAX_BODY)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    match request
        .as_reader()
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
    {
        Ok(_) if body.len() as u64 > MAX_BODY => Err(too_large()),
        Ok(_) => Ok(body),
        Err(e) => Err(Outcome::text(400, format!("cannot read request body: {e}"))),
    }
}

fn route(
    shared: &Shared,
    method: &str,
    path: &str,
    query: &str,
    headers: &[Header<'_>],
    body: &[u8],
) -> Outcome {
    let table = shared.table();
    let (version, handler) = match table.lookup(method, path) {
        Lookup::Found(Target::Builtin(builtin)) => return builtin_route(*builtin, &table, shared),
        Lookup::Found(Target::Plugin { version, handler }) => (version.clone(), handler.clone()),
        Lookup::WrongMethod(allowed) => {
            let mut outcome = Outcome::text(405, format!("{method} is not served at {path}"));
            outcome
                .headers
                .push((b"allow".to_vec(), allowed.join(", ").into_bytes()));
            return outcome;
        }
        Lookup::NotFound => return Outcome::text(404, format!("nothing is served at {path}")),
    };
    // This request holds its plugin version (not the whole table) until the
    // reply is copied out: a version replaced meanwhile stays loaded until then.
    drop(table);

    let request = Request::new(
        method.as_bytes(),
        path.as_bytes(),
        query.as_bytes(),
        headers,
        body,
    );
    let plugin = version.plugin();
    let who = || format!("{} {}", version.name(), version.version());
    let reply = match plugin.call_handler(&handler, &request) {
        Ok(reply) => reply,
        Err(e) => {
            log::error!("{}: {method} {path}: cannot call {handler}: {e}", who());
            return Outcome::text(500, format!("cannot call the handler: {e}"));
        }
    };
    let status = reply.status();
    let status = if reply.is_ok() {
        if (100..=999).contains(&status) {
            status
        } else {
            log::error!(
                "{}: {method} {path}: handler {handler} set no valid status ({status})",
                who()
            );
            return Outcome::text(500, format!("handler {handler} set no valid status"));
        }
    } else {
        let message = String::from_utf8_lossy(reply.body());
        log::warn!(
            "{}: {method} {path}: handler {handler} failed (code {}, status {status}): {}",
            who(),
            reply.code(),
            message.trim_end()
        );
        if (400..=599).contains(&status) {
            status
        } else {
            500
        }
    };
    Outcome {
        status,
        headers: reply
            .headers()
            .iter()
            .map(|h| (h.name().to_vec(), h.value().to_vec()))
            .collect(),
        body: reply.body().to_vec(),
    }
    // `reply` is dropped here, releasing the plugin's memory, then `version`.
}

fn builtin_route(builtin: Builtin, table: &Table, shared: &Shared) -> Outcome {
    match builtin {
        Builtin::Ping => Outcome::text(200, "pong"),
        Builtin::Index => {
            let mut text = format!(
                "staticdl-server {}: handler plugins loaded at run time into a static executable\n\nroutes:\n",
                env!("CARGO_PKG_VERSION")
            );
            for line in table.listing() {
                let _ = writeln!(text, "  {line}");
            }
            text.push_str("\nplugins:\n");
            for p in &table.plugins {
                let _ = match (&p.serving, &p.error) {
                    (Some(v), None) => writeln!(text, "  {}: {} {}", p.file, v.name(), v.version()),
                    (Some(v), Some(e)) => writeln!(
                        text,
                        "  {}: {} {} (a newer file was rejected: {e})",
                        p.file,
                        v.name(),
                        v.version()
                    ),
                    (None, e) => writeln!(
                        text,
                        "  {}: not loaded: {}",
                        p.file,
                        e.as_deref().unwrap_or("?")
                    ),
                };
            }
            Outcome::text(200, text)
        }
        Builtin::Plugins => {
            let plugins: Vec<String> = table
                .plugins
                .iter()
                .map(|p| {
                    let mut fields = vec![format!(r#""file":{}"#, quote(&p.file))];
                    if let Some(v) = &p.serving {
                        let routes: Vec<String> = v
                            .routes()
                            .iter()
                            .map(|r| quote(&format!("{} {}", r.method(), r.path())))
                            .collect();
                        fields.push(format!(r#""name":{}"#, quote(v.name())));
                        fields.push(format!(r#""version":{}"#, quote(v.version())));
                        fields.push(format!(r#""routes":[{}]"#, routes.join(",")));
                    }
                    if let Some(e) = &p.error {
                        fields.push(format!(r#""error":{}"#, quote(e)));
                    }
                    format!("{{{}}}", fields.join(","))
                })
                .collect();
            Outcome::json(format!(
                r#"{{"uptime_ms":{},"requests":{},"plugins":[{}]}}"#,
                shared.started.elapsed().as_millis(),
                shared.served(),
                plugins.join(",")
            ))
        }
    }
}

/// `s` as a JSON string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_json_strings() {
        assert_eq!(quote("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
    }

    #[test]
    fn framing_headers_are_the_servers() {
        assert!(is_framing_header(b"Content-Length"));
        assert!(!is_framing_header(b"content-type"));
    }
}
