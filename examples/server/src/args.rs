//! The command line: what `staticdl-server` accepts, its defaults, and the
//! checks that tie options to the mode they belong to.
//!
//! Owns [`Config`], [`parse_args`] and the `--help` text. It does not start
//! anything (`main.rs` picks the mode, `threaded.rs` and `supervisor.rs` run
//! them).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use log::LevelFilter;

/// Most worker processes `--workers` accepts.
pub const MAX_WORKERS: usize = 256;

/// How long a handler may run in worker mode unless `--handler-timeout` says.
const DEFAULT_HANDLER_TIMEOUT: Duration = Duration::from_secs(10);

/// Threads of the threaded mode unless `--threads` says.
const DEFAULT_THREADS: usize = 8;

const USAGE: &str = "\
staticdl-server: serve HTTP routes from handler plugins loaded at run time

Usage: staticdl-server [OPTIONS]

Options:
  --listen ADDR          address to listen on [default: 127.0.0.1:8080]
                         (port 0 picks a free port; the log says which)
  --plugins DIR          directory of handler plugins (*.so) [default: plugins]
  --cache-dir DIR        where private copies of loaded plugins go
                         [default: DIR/.staticdl, DIR being --plugins]
  --lib-path DIR         also search DIR for plugins' dependencies (repeatable)
  --poll-ms N            how often to look for changed plugins [default: 500]
                         (0: load at start-up only)
  --workers N            worker processes, each loading the plugins itself and
                         serving one request at a time; a worker that crashes
                         is replaced [default: the number of cores]
                         0: one process with --threads threads instead
  --handler-timeout T    with --workers N: a handler still running after T
                         (10s, 250ms, or seconds) gets a 504 and its worker is
                         replaced [default: 10s]
  --threads N            with --workers 0: worker threads [default: 8]
  --log-level LEVEL      error, warn, info, debug (one line per request) or trace
                         [default: info]
  -h, --help             print this help
  -V, --version          print the version

Every *.so in the plugins directory is loaded at start-up and its routes (from
its STATICDL_PLUGIN descriptor) are mounted; one that fails is reported and
skipped. Replacing a file (write a temporary name, then rename) loads the new
version and moves new requests to it; the old one is unloaded when its running
requests are done. A version that fails to load leaves the old one serving.
With --workers N, a plugin that crashes (a bad pointer, abort()) takes down
only the worker serving it: that request gets a 502, the worker is replaced.
Built-in routes: GET / (what is mounted, workers and restarts), GET
/builtin/ping, GET /builtin/plugins, GET /builtin/workers.
SIGINT or SIGTERM shut the server down gracefully.
";

/// How the server was asked to run.
pub struct Config {
    pub listen: String,
    pub plugins: PathBuf,
    pub cache_dir: Option<PathBuf>,
    pub lib_paths: Vec<PathBuf>,
    pub poll: Duration,
    /// Worker processes; 0 is the threaded mode.
    pub workers: usize,
    /// Threads of the threaded mode.
    pub threads: usize,
    /// How long a handler may run in worker mode.
    pub handler_timeout: Duration,
    pub log_level: LevelFilter,
}

impl Config {
    /// Where private copies of plugins go.
    pub fn cache(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(|| self.plugins.join(".staticdl"))
    }
}

/// What the command line asks for.
pub enum Parsed {
    Run(Config),
    /// `--help` or `--version`: answered, exit with this status.
    Exit(ExitCode),
}

/// The number of cores this process may run on, the default `--workers`.
fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(MAX_WORKERS)
}

/// `10`, `10s`, `1500ms`: a positive duration.
fn parse_duration(text: &str) -> Option<Duration> {
    let duration = if let Some(ms) = text.strip_suffix("ms") {
        Duration::from_millis(ms.parse().ok()?)
    } else {
        Duration::from_secs(text.strip_suffix('s').unwrap_or(text).parse().ok()?)
    };
    (!duration.is_zero()).then_some(duration)
}

/// Parses the arguments (without the program name).
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut config = Config {
        listen: "127.0.0.1:8080".to_owned(),
        plugins: PathBuf::from("plugins"),
        cache_dir: None,
        lib_paths: Vec::new(),
        poll: Duration::from_millis(500),
        workers: cores(),
        threads: DEFAULT_THREADS,
        handler_timeout: DEFAULT_HANDLER_TIMEOUT,
        log_level: LevelFilter::Info,
    };
    let (mut threads_given, mut timeout_given) = (false, false);
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
            "--workers" => {
                config.workers = value()?
                    .parse()
                    .ok()
                    .filter(|&n| n <= MAX_WORKERS)
                    .ok_or(format!("--workers takes a number from 0 to {MAX_WORKERS}"))?;
            }
            "--handler-timeout" => {
                config.handler_timeout = parse_duration(&value()?)
                    .ok_or("--handler-timeout takes a positive duration: 10s, 250ms or 10")?;
                timeout_given = true;
            }
            "--threads" => {
                config.threads = value()?
                    .parse()
                    .ok()
                    .filter(|&n| (1..=1024).contains(&n))
                    .ok_or("--threads takes a number from 1 to 1024")?;
                threads_given = true;
            }
            "--log-level" => {
                config.log_level = value()?
                    .parse()
                    .map_err(|_| "--log-level takes error, warn, info, debug or trace")?;
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    if threads_given && config.workers > 0 {
        return Err(
            "--threads applies to --workers 0 (each worker process serves \
                    one request at a time)"
                .to_owned(),
        );
    }
    if timeout_given && config.workers == 0 {
        return Err(
            "--handler-timeout needs --workers N: a thread stuck in a handler \
                    cannot be replaced"
                .to_owned(),
        );
    }
    Ok(Parsed::Run(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Parsed, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    fn config(args: &[&str]) -> Config {
        match parse(args) {
            Ok(Parsed::Run(c)) => c,
            _ => panic!("expected a configuration for {args:?}"),
        }
    }

    #[test]
    fn parses_options() {
        let c = config(&[
            "--listen=0.0.0.0:9000",
            "--plugins",
            "/srv/plugins",
            "--workers",
            "0",
            "--threads",
            "3",
            "--poll-ms",
            "0",
        ]);
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.plugins, PathBuf::from("/srv/plugins"));
        assert_eq!(c.cache(), PathBuf::from("/srv/plugins/.staticdl"));
        assert_eq!((c.workers, c.threads), (0, 3));
        assert!(c.poll.is_zero());
        assert!(parse(&["--workers", "0", "--threads", "0"]).is_err());
        assert!(parse(&["--listen"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }

    #[test]
    fn workers_and_their_timeout() {
        let c = config(&[]);
        assert_eq!(c.workers, cores());
        assert_eq!(c.handler_timeout, Duration::from_secs(10));
        let c = config(&["--workers", "3", "--handler-timeout", "250ms"]);
        assert_eq!(
            (c.workers, c.handler_timeout),
            (3, Duration::from_millis(250))
        );
        let c = config(&["--workers=2", "--handler-timeout=2s"]);
        assert_eq!(c.handler_timeout, Duration::from_secs(2));
        assert_eq!(
            config(&["--handler-timeout", "7"]).handler_timeout,
            Duration::from_secs(7)
        );
        for bad in [
            &["--workers", "257"][..],
            &["--workers", "-1"],
            &["--handler-timeout", "0"],
            &["--handler-timeout", "soon"],
            &["--workers", "2", "--threads", "4"],
            &["--workers", "0", "--handler-timeout", "1s"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
