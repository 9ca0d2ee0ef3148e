//! `staticdl-server`: a static HTTP/1.1 server whose routes are handler plugins
//! loaded at run time.
//!
//! At start-up it loads every `*.so` of the plugins directory with `staticdl`
//! and mounts the routes each declares in its `STATICDL_PLUGIN` descriptor; a
//! file that does not load is reported and skipped. It then watches the
//! directory (polling), loading new and replaced plugins and unmounting
//! removed ones while it serves: new requests go to the new version, and the
//! old one is unloaded once its in-flight requests have finished. SIGINT or
//! SIGTERM stop it gracefully: no new requests, running ones finish, every
//! plugin's `fini` runs, exit status 0.
//!
//! Owns the command line, start-up, the worker threads, the watcher thread and
//! shutdown. Loading is `plugins.rs`, routing `routes.rs`, serving `http.rs`,
//! what plugins get from the host `host.rs`, logging `logger.rs`.

mod host;
mod http;
mod logger;
mod plugins;
mod routes;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use log::LevelFilter;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::http::Shared;
use crate::plugins::Plugins;
use crate::routes::Table;

const USAGE: &str = "\
staticdl-server: serve HTTP routes from handler plugins loaded at run time

Usage: staticdl-server [OPTIONS]

Options:
  --listen ADDR       address to listen on [default: 127.0.0.1:8080]
                      (port 0 picks a free port; the log says which)
  --plugins DIR       directory of handler plugins (*.so) [default: plugins]
  --cache-dir DIR     where private copies of loaded plugins go
                      [default: DIR/.staticdl, DIR being --plugins]
  --lib-path DIR      also search DIR for plugins' dependencies (repeatable)
  --poll-ms N         how often to look for changed plugins [default: 500]
                      (0: load at start-up only)
  --threads N         worker threads [default: 8]
  --log-level LEVEL   error, warn, info, debug (one line per request) or trace
                      [default: info]
  -h, --help          print this help
  -V, --version       print the version

Every *.so in the plugins directory is loaded at start-up and its routes (from
its STATICDL_PLUGIN descriptor) are mounted; one that fails is reported and
skipped. Replacing a file (write a temporary name, then rename) loads the new
version and moves new requests to it; the old one is unloaded when its running
requests are done. A version that fails to load leaves the old one serving.
Built-in routes: GET / (what is mounted), GET /builtin/ping, GET /builtin/plugins.
SIGINT or SIGTERM shut the server down gracefully.
";

struct Config {
    listen: String,
    plugins: PathBuf,
    cache_dir: Option<PathBuf>,
    lib_paths: Vec<PathBuf>,
    poll: Duration,
    threads: usize,
    log_level: LevelFilter,
}

enum Parsed {
    Run(Config),
    Exit(ExitCode),
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut config = Config {
        listen: "127.0.0.1:8080".to_owned(),
        plugins: PathBuf::from("plugins"),
        cache_dir: None,
        lib_paths: Vec::new(),
        poll: Duration::from_millis(500),
        threads: 8,
        log_level: LevelFilter::Info,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // `--name=value` and `--name value` are both accepted.
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(Parsed::Exit(ExitCode::SUCCESS));
            }
            "-V" | "--version" => {
                println!("staticdl-server {}", env!("CARGO_PKG_VERSION"));
                return Ok(Parsed::Exit(ExitCode::SUCCESS));
            }
            "--listen" => config.listen = value()?,
            "--plugins" => config.plugins = PathBuf::from(value()?),
            "--cache-dir" => config.cache_dir = Some(PathBuf::from(value()?)),
            "--lib-path" => config.lib_paths.push(PathBuf::from(value()?)),
            "--poll-ms" => {
                let ms: u64 = value()?.parse().map_err(|e| format!("--poll-ms: {e}"))?;
                config.poll = Duration::from_millis(ms);
            }
            "--threads" => {
                config.threads = value()?
                    .parse()
                    .ok()
                    .filter(|&n| (1..=1024).contains(&n))
                    .ok_or("--threads takes a number from 1 to 1024")?;
            }
            "--log-level" => {
                config.log_level = value()?
                    .parse()
                    .map_err(|_| "--log-level takes error, warn, info, debug or trace")?;
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    Ok(Parsed::Run(config))
}

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(config)) => config,
        Ok(Parsed::Exit(code)) => return code,
        Err(e) => {
            eprintln!("staticdl-server: {e}");
            return ExitCode::from(2);
        }
    };
    logger::init(config.log_level);
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: Config) -> Result<(), String> {
    let cache = config
        .cache_dir
        .clone()
        .unwrap_or_else(|| config.plugins.join(".staticdl"));
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
    let shared = Arc::new(Shared::new(table));

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

/// A worker: answers requests until told to stop.
fn work(server: &tiny_http::Server, shared: &Shared, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match server.recv_timeout(Duration::from_millis(250)) {
            Ok(Some(request)) => http::serve(shared, request),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Parsed, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_options() {
        let Ok(Parsed::Run(c)) = parse(&[
            "--listen=0.0.0.0:9000",
            "--plugins",
            "/srv/plugins",
            "--threads",
            "3",
            "--poll-ms",
            "0",
        ]) else {
            panic!("expected a configuration");
        };
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.plugins, PathBuf::from("/srv/plugins"));
        assert_eq!(c.threads, 3);
        assert!(c.poll.is_zero());
        assert!(parse(&["--threads", "0"]).is_err());
        assert!(parse(&["--listen"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }
}
