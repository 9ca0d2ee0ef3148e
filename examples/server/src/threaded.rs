//! The threaded mode (`--workers 0`): one process, `--threads` worker threads
//! taking requests from tiny_http, a watcher thread reloading plugins, and a
//! signal thread for graceful shutdown.
//!
//! Owns that start-up, the threads, shutdown in this mode, and the translation
//! between tiny_http's requests and responses and `dispatch.rs`. Every thread
//! shares one address space with the plugins, so a plugin that crashes stops
//! the server, and a handler that never returns keeps its thread for good: the
//! worker mode (`supervisor.rs`) is what survives those.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use staticdl::abi::Header;

use crate::args::Config;
use crate::dispatch::{self, Parts, Unguarded, MAX_BODY};
use crate::host;
use crate::outcome::{is_framing_header, Outcome};
use crate::plugins::Plugins;
use crate::routes::Table;
use crate::shared::{Mode, Shared};

/// Runs the server in one process until SIGINT or SIGTERM.
pub fn run(config: Config) -> Result<(), String> {
    let cache = config.cache();
    let options = host::open_options(&config.lib_paths);
    let mut plugins = Plugins::new(&config.plugins, &cache, options).map_err(|e| {
        format!(
            "plugins directory {} (private copies in {}): {e}",
            config.plugins.display(),
            cache.display()
        )
    })?;

    plugins.scan();
    let table = Table::build(plugins.statuses());
    let (serving, files) = plugins.counts();
    log::info!(
        "{serving} of {files} plugin files loaded from {}, {} plugin routes mounted",
        config.plugins.display(),
        table.plugin_routes()
    );
    let shared = Arc::new(Shared::new(table, Mode::Threads(config.threads)));

    let server = tiny_http::Server::http(&config.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let server = Arc::new(server);
    match server.server_addr().to_ip() {
        Some(addr) => log::info!("listening on http://{addr}"),
        None => log::info!("listening on {}", config.listen),
    }

    let stop = Arc::new(AtomicBool::new(false));
    let signals = watch_signals(stop.clone(), server.clone(), config.threads)?;

    // The watcher owns the plugins' state while it runs, and hands it back.
    let watcher = if config.poll.is_zero() {
        Err(plugins)
    } else {
        let (shared, stop) = (shared.clone(), stop.clone());
        Ok(thread::Builder::new()
            .name("watcher".to_owned())
            .spawn(move || {
                let mut plugins = plugins;
                watch(&mut plugins, &shared, &stop, config.poll);
                plugins
            })
            .expect("spawning the watcher thread"))
    };

    let workers: Vec<_> = (0..config.threads)
        .map(|i| {
            let (server, shared, stop) = (server.clone(), shared.clone(), stop.clone());
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || work(&server, &shared, &stop))
                .expect("spawning a worker thread")
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    // Every worker has finished its last request: nothing calls a plugin now.
    signals.close();
    stop.store(true, Ordering::SeqCst);
    let plugins = watcher.map(|watcher| watcher.join());
    drop(server);
    log::info!("served {} requests; unloading plugins", shared.served());
    // The table's routes and the watcher's entries are the last holders of
    // the plugin versions: each one's `fini` runs as it is dropped.
    shared.replace_table(Table::default());
    drop(shared);
    drop(plugins);
    log::info!("stopped");
    Ok(())
}

/// A worker thread: answers requests until told to stop.
fn work(server: &tiny_http::Server, shared: &Shared, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match server.recv_timeout(Duration::from_millis(250)) {
            Ok(Some(request)) => serve(shared, request),
            Ok(None) => {}
            Err(e) => {
                if !stop.load(Ordering::SeqCst) {
                    log::warn!("accepting a request failed: {e}");
                    thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}

/// The watcher: rescans the plugins directory every `poll` and swaps in a new
/// routing table when anything changed.
fn watch(plugins: &mut Plugins, shared: &Shared, stop: &AtomicBool, poll: Duration) {
    let tick = Duration::from_millis(50).min(poll);
    'outer: loop {
        // Sleep `poll` in short ticks, so that shutdown is not delayed.
        let mut slept = Duration::ZERO;
        while slept < poll {
            if stop.load(Ordering::SeqCst) {
                break 'outer;
            }
            thread::sleep(tick);
            slept += tick;
        }
        if plugins.scan() {
            let table = Table::build(plugins.statuses());
            let routes = table.plugin_routes();
            // The old table is dropped here; versions it alone held unload now,
            // those held by running requests when the last of them finishes.
            drop(shared.replace_table(table));
            let (serving, files) = plugins.counts();
            log::info!("{serving} of {files} plugin files loaded, {routes} plugin routes mounted");
        }
    }
}

/// Starts the thread that turns the first SIGINT/SIGTERM into a graceful stop
/// (and a second one into an immediate exit).
fn watch_signals(
    stop: Arc<AtomicBool>,
    server: Arc<tiny_http::Server>,
    workers: usize,
) -> Result<signal_hook::iterator::Handle, String> {
    let mut signals =
        Signals::new([SIGINT, SIGTERM]).map_err(|e| format!("cannot handle signals: {e}"))?;
    let handle = signals.handle();
    thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            for signal in signals.forever() {
                let name = if signal == SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                if stop.swap(true, Ordering::SeqCst) {
                    log::warn!("{name} again: exiting without waiting");
                    std::process::exit(128 + signal);
                }
                log::info!("{name}: shutting down (running requests finish first)");
                for _ in 0..workers {
                    server.unblock();
                }
            }
        })
        .map_err(|e| format!("cannot start the signal thread: {e}"))?;
    Ok(handle)
}

/// Answers one request taken from tiny_http.
fn serve(shared: &Shared, mut request: tiny_http::Request) {
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
            let parts = Parts {
                method: &method,
                path,
                query,
                headers: &headers,
                body: &body,
            };
            dispatch::answer(shared, &Unguarded, &parts)
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
    shared.finish(&method, &url, status, start);
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
