//! Answering one request, whatever carried it: from method, path, query,
//! headers and body to the routing table, through a plugin's handler (the
//! ABI's handler contract, via `Plugin::call_handler`) or a built-in route,
//! to an [`Outcome`] (status, headers, body) for the caller to write.
//!
//! Owns the error statuses the server itself produces (404, 405, 500), the
//! request body limit, and the [`CallGuard`] hook around every plugin call
//! (worker processes record the call on their scoreboard slot there). A panic
//! anywhere in here is caught per request and answered with a 500.
//!
//! It does not read or write HTTP (`threaded.rs` with tiny_http, `conn.rs` in
//! worker processes), hold the table (`shared.rs`), build tables
//! (`routes.rs`) or render built-in pages (`builtin.rs`).

use std::panic::{catch_unwind, AssertUnwindSafe};

use staticdl::abi::{Header, Request};

use crate::builtin;
use crate::outcome::Outcome;
use crate::plugins::Loaded;
use crate::routes::{Lookup, Target};
use crate::shared::Shared;

/// Largest request body accepted; larger ones get a 413.
pub const MAX_BODY: u64 = 1 << 20;

/// One request, as read.
pub struct Parts<'a> {
    pub method: &'a str,
    /// The path, not decoded.
    pub path: &'a str,
    /// What follows `?`, or empty.
    pub query: &'a str,
    pub headers: &'a [Header<'a>],
    pub body: &'a [u8],
}

/// What runs around every call into a plugin's handler.
pub trait CallGuard {
    /// `handler` of `version` is about to be called for `request`.
    fn enter(&self, request: &Parts<'_>, version: &Loaded, handler: &str);
    /// It returned. (A worker process whose guard already answered the
    /// request never returns from this: it is being ended.)
    fn leave(&self);
}

/// No guard: the threaded mode.
pub struct Unguarded;

impl CallGuard for Unguarded {
    fn enter(&self, _: &Parts<'_>, _: &Loaded, _: &str) {}
    fn leave(&self) {}
}

/// Answers one request.
pub fn answer(shared: &Shared, guard: &dyn CallGuard, request: &Parts<'_>) -> Outcome {
    let call = AssertUnwindSafe(|| route(shared, guard, request));
    catch_unwind(call).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        log::error!(
            "{} {}: the server panicked: {what}",
            request.method,
            request.path
        );
        Outcome::text(500, "internal server error")
    })
}

fn route(shared: &Shared, guard: &dyn CallGuard, request: &Parts<'_>) -> Outcome {
    let Parts { method, path, .. } = *request;
    let table = shared.table();
    let (version, handler) = match table.lookup(method, path) {
        Lookup::Found(Target::Builtin(b)) => return builtin::answer(*b, &table, shared),
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

    let abi_request = Request::new(
        method.as_bytes(),
        path.as_bytes(),
        request.query.as_bytes(),
        request.headers,
        request.body,
    );
    let plugin = version.plugin();
    let who = || format!("{} {}", version.name(), version.version());
    guard.enter(request, &version, &handler);
    let reply = plugin.call_handler(&handler, &abi_request);
    guard.leave();
    let reply = match reply {
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
        // (The arguments are only evaluated if the line is logged.)
        log::warn!(
            "{}: {method} {path}: handler {handler} failed (code {}, status {status}): {}",
            who(),
            reply.code(),
            String::from_utf8_lossy(reply.body()).trim_end()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::Table;
    use crate::shared::Mode;

    #[test]
    fn builtins_and_errors_without_plugins() {
        let shared = Shared::new(Table::build(Vec::new()), Mode::Threads(1));
        let get = |method, path| {
            answer(
                &shared,
                &Unguarded,
                &Parts {
                    method,
                    path,
                    query: "",
                    headers: &[],
                    body: b"",
                },
            )
        };
        let ping = get("GET", "/builtin/ping");
        assert_eq!((ping.status, ping.body.as_slice()), (200, &b"pong\n"[..]));
        assert_eq!(get("GET", "/nothing").status, 404);
        let wrong = get("POST", "/builtin/ping");
        assert_eq!(wrong.status, 405);
        assert!(wrong
            .headers
            .contains(&(b"allow".to_vec(), b"GET".to_vec())));
    }
}
