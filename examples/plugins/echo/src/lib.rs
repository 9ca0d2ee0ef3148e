//! `echo`: an example handler plugin in Rust with the full standard library.
//!
//! Routes:
//! - `POST /echo` (and `GET /echo`) answers the request as JSON: method, path,
//!   query, every header, the body (as text, lossily), its length, and how many
//!   requests this plugin has seen from the same `user-agent`;
//! - `GET /echo/stats` answers those per-agent counts as JSON;
//! - `GET /echo/slow?ms=N` answers after N milliseconds (at most 10 s): a
//!   request that is still running when its plugin is replaced;
//! - `GET /echo/panic` panics: the `plugin!` wrapper catches it (this plugin
//!   unwinds inside itself, with the host's unwinder that the libc provider
//!   hands it as `libgcc_s.so.1`), logs it through the host and answers 500
//!   `handler panicked: ...`.
//!
//! State: a `Mutex<HashMap>` of per-agent counts, kept across requests for as
//! long as this version is loaded.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use staticdl_abi::{HandlerError, HostApi, Request, ResponseBuilder};

const NAME: &str = "echo";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Requests seen per `user-agent`.
static SEEN: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);
/// When `init` ran.
static STARTED: OnceLock<Instant> = OnceLock::new();

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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_response(body: String) -> ResponseBuilder {
    ResponseBuilder::ok()
        .header("content-type", "application/json")
        .header("x-plugin-version", VERSION)
        .body(body + "\n")
}

fn echo(req: &Request<'_>) -> ResponseBuilder {
    let agent = req.header(b"user-agent").map(text).unwrap_or_default();
    let seen = {
        let mut map = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
        let count = map
            .get_or_insert_with(HashMap::new)
            .entry(agent)
            .or_insert(0);
        *count += 1;
        *count
    };
    // Header names compare case-insensitively; a repeated header keeps its
    // values in order.
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for h in req.headers() {
        headers
            .entry(text(h.name()).to_ascii_lowercase())
            .or_default()
            .push(text(h.value()));
    }
    let headers = headers
        .iter()
        .map(|(name, values)| {
            let value = values.join(", ");
            format!("{}:{}", quote(name), quote(&value))
        })
        .collect::<Vec<_>>()
        .join(",");
    let body = format!(
        r#"{{"plugin":"{NAME}","method":{},"path":{},"query":{},"headers":{{{headers}}},"body":{},"body_bytes":{},"seen_from_this_agent":{seen}}}"#,
        quote(&text(req.method())),
        quote(&text(req.path())),
        quote(&text(req.query())),
        quote(&text(req.body())),
        req.body().len(),
    );
    json_response(body)
}

fn stats(_req: &Request<'_>) -> ResponseBuilder {
    let map = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    let sorted: BTreeMap<&String, &u64> = map.iter().flatten().collect();
    let agents = sorted
        .iter()
        .map(|(agent, n)| format!("{}:{n}", quote(agent)))
        .collect::<Vec<_>>()
        .join(",");
    let uptime = STARTED.get().map_or(0, |t| t.elapsed().as_millis());
    json_response(format!(
        r#"{{"plugin":"{NAME}","version":"{VERSION}","loaded_ms":{uptime},"agents":{{{agents}}}}}"#
    ))
}

fn slow(req: &Request<'_>) -> Result<ResponseBuilder, HandlerError> {
    let ms: u64 = std::str::from_utf8(req.query_param(b"ms").unwrap_or(b"1000"))
        .ok()
        .and_then(|ms| ms.parse().ok())
        .filter(|&ms| ms <= 10_000)
        .ok_or(HandlerError::new(
            400,
            "echo: ms must be a number of milliseconds up to 10000",
        ))?;
    std::thread::sleep(Duration::from_millis(ms));
    Ok(json_response(format!(
        r#"{{"plugin":"{NAME}","version":"{VERSION}","slept_ms":{ms}}}"#
    )))
}

fn panic(_req: &Request<'_>) -> ResponseBuilder {
    panic!("{NAME}: asked to panic");
}

fn setup(_host: &HostApi) -> Result<(), i32> {
    STARTED.get_or_init(Instant::now);
    // This plugin links its own copy of `std`, with its own panic hook. The
    // `plugin!` wrappers already catch every panic and log it through the host
    // (`export `echo_panic` panicked: ...`), so the default hook's report on
    // standard error would only say it twice.
    std::panic::set_hook(Box::new(|_| {}));
    staticdl_abi::log::info!("{NAME} {VERSION}: init (std)");
    Ok(())
}

fn teardown() {
    let total: u64 = SEEN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .flatten()
        .map(|(_, n)| n)
        .sum();
    staticdl_abi::log::info!("{NAME} {VERSION}: fini after {total} echoes");
}

staticdl_abi::plugin! {
    name: NAME,
    version: VERSION,
    init: setup,
    fini: teardown,
    exports: {},
    handlers: {
        echo_echo: echo,
        echo_stats: stats,
        echo_slow: slow,
        echo_panic: panic,
    },
    routes: [
        ("POST", "/echo", echo_echo),
        ("GET", "/echo", echo_echo),
        ("GET", "/echo/stats", echo_stats),
        ("GET", "/echo/slow", echo_slow),
        ("GET", "/echo/panic", echo_panic),
    ],
}
