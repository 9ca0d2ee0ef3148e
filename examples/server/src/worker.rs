//! A worker process: what runs in each process the supervisor forks.
//!
//! A worker loads the plugins itself (from its own cache directory,
//! `<cache>/worker-<N>`), then accepts connections from the listening socket
//! it shares with the other workers, one at a time, and answers their
//! requests one at a time on its main thread: so when a plugin crashes the
//! process, the request it was serving is the only one lost (answered with a
//! 502 by the crash handler); every connection not yet accepted waits in the
//! kernel's backlog for another worker. Before each request, and before each
//! call into a plugin, it writes what it is doing to its scoreboard slot
//! (`board.rs`), which is how the supervisor names the plugin and route of a
//! crash and how the watchdog (`guard.rs`) times handlers.
//!
//! Between requests it rescans the plugins directory every `--poll-ms`, like
//! the threaded mode's watcher: each worker reloads on its own, and a request
//! running in it holds the version it started with (so no version is unloaded
//! under a running request, per worker). A keep-alive connection is kept only
//! while no other connection waits: otherwise the response says
//! `connection: close`, and an idle one is closed if it sends nothing within
//! 50 ms of another connection arriving (and no other worker took that one),
//! so that one client cannot hold a worker while others queue. SIGTERM (from the supervisor, or from a
//! service manager signalling the whole group) or SIGINT (Ctrl-C reaches the
//! whole process group) stop it after the request it is answering; repeating
//! them changes nothing, since one Ctrl-C already sends a worker two signals:
//! stopping at once is the supervisor's decision (SIGKILL at its second signal).
//!
//! It does not fork, restart or report on other workers (`supervisor.rs`).

use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use signal_hook::consts::{SIGINT, SIGTERM};
use staticdl::abi::Header;

use crate::args::Config;
use crate::board::{Board, Phase, Slot};
use crate::conn::{Connection, Next};
use crate::dispatch::{self, CallGuard, Parts};
use crate::guard;
use crate::host;
use crate::logger;
use crate::outcome::Outcome;
use crate::plugins::{Loaded, Plugins};
use crate::routes::Table;
use crate::shared::{Mode, Shared};

/// How long a client has to send a whole request once it has started.
const REQUEST_PATIENCE: Duration = Duration::from_secs(10);
/// How long an idle keep-alive connection is kept when nobody else waits.
const IDLE_KEEP_ALIVE: Duration = Duration::from_secs(5);
/// How long an idle keep-alive connection may still send its next request
/// once another connection waits (a client that sends it at once, as a
/// client under load does, is then answered rather than cut off).
const YIELD_GRACE: Duration = Duration::from_millis(50);

/// What a worker needs from the supervisor.
pub struct Setup<'a> {
    pub index: usize,
    pub board: Board,
    /// The shared listening socket (non-blocking).
    pub listener: &'a TcpListener,
    pub config: &'a Config,
}

/// Records each plugin call on the worker's slot.
struct SlotGuard(&'static Slot);

impl CallGuard for SlotGuard {
    fn enter(&self, request: &Parts<'_>, version: &Loaded, handler: &str) {
        self.0.begin(
            Phase::Calling,
            &[
                request.method.as_bytes(),
                b" ",
                request.path.as_bytes(),
                b": plugin ",
                version.name().as_bytes(),
                b" ",
                version.version().as_bytes(),
                b" (",
                version.file().as_bytes(),
                b"), handler ",
                handler.as_bytes(),
            ],
        );
    }

    fn leave(&self) {
        if !self.0.set_phase(Phase::Serving) {
            // The watchdog answered this request and is ending the process.
            guard::wait_for_the_end();
        }
    }
}

/// Where a waiting worker was woken from.
enum Woken {
    /// The connection has bytes to read.
    Connection,
    /// Another connection waits to be accepted.
    Listener,
    /// A signal (stop).
    Signal,
    /// Nothing before the timeout.
    Timeout,
}

struct Worker<'a> {
    setup: &'a Setup<'a>,
    slot: &'static Slot,
    plugins: Plugins,
    shared: Shared,
    stop: Arc<AtomicBool>,
    wake: UnixStream,
    next_scan: Option<Instant>,
}

/// Runs worker `setup.index` until it is told to stop; returns its exit status.
pub fn run(setup: &Setup<'_>) -> i32 {
    logger::tag_worker(setup.index);
    match Worker::start(setup) {
        Ok(mut worker) => {
            worker.serve();
            worker.finish();
            0
        }
        Err(e) => {
            log::error!("cannot start: {e}");
            1
        }
    }
}

impl<'a> Worker<'a> {
    fn start(setup: &'a Setup<'a>) -> Result<Worker<'a>, String> {
        let slot = setup.board.slot(setup.index);
        slot.set_pid(std::process::id() as i32);
        let stop = Arc::new(AtomicBool::new(false));
        let (wake, wake_writer) = UnixStream::pair().map_err(|e| format!("a socket pair: {e}"))?;
        wake.set_nonblocking(true)
            .map_err(|e| format!("a socket pair: {e}"))?;
        for signal in [SIGTERM, SIGINT] {
            signal_hook::flag::register(signal, stop.clone())
                .and_then(|_| {
                    signal_hook::low_level::pipe::register(signal, wake_writer.try_clone()?)
                })
                .map_err(|e| format!("cannot handle signals: {e}"))?;
        }
        guard::install(slot, setup.config.handler_timeout)
            .map_err(|e| format!("cannot install the crash handler and watchdog: {e}"))?;

        let config = setup.config;
        let cache = config.cache().join(format!("worker-{}", setup.index));
        let options = host::open_options(&config.lib_paths);
        let plugins = Plugins::new(&config.plugins, &cache, options).map_err(|e| {
            format!(
                "plugins directory {} (private copies in {}): {e}",
                config.plugins.display(),
                cache.display()
            )
        })?;
        let mode = Mode::Worker {
            board: setup.board,
            index: setup.index,
        };
        let mut worker = Worker {
            setup,
            slot,
            plugins,
            shared: Shared::new(Table::default(), mode),
            stop,
            wake,
            next_scan: None,
        };
        // A replacement's routine loading lines (one per plugin, and what
        // plugins log in `init`) would repeat with every restart: warnings
        // and errors only, then one line.
        let replacement = slot.restarts() > 0;
        if replacement {
            log::set_max_level(config.log_level.min(log::LevelFilter::Warn));
        }
        worker.reload();
        log::set_max_level(config.log_level);
        let (serving, files) = worker.plugins.counts();
        log::info!(
            "ready (pid {}{}): {serving} of {files} plugin files loaded from {}, {} plugin routes mounted",
            std::process::id(),
            if replacement { ", a replacement" } else { "" },
            config.plugins.display(),
            worker.shared.table().plugin_routes()
        );
        Ok(worker)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Rescans the plugins directory, and swaps the routing table if
    /// anything changed. The slot says which file is loading meanwhile.
    fn reload(&mut self) {
        let (slot, board) = (self.slot, self.setup.board);
        let changed = self.plugins.scan_with(&mut |name, stamp| {
            let version = [stamp.dev, stamp.ino, stamp.size, stamp.mtime_ns as u64];
            if let Some(signal) = board.quarantined(version) {
                return Err(format!(
                    "this version crashed a worker ({}) while loading; \
                     not loaded again until the file changes",
                    guard::signal_name(signal)
                ));
            }
            slot.begin_load(&[b"loading ", name.as_bytes()], version);
            Ok(())
        });
        if changed {
            self.slot
                .begin(Phase::Loading, &[b"unloading replaced plugins"]);
            let table = Table::build(self.plugins.statuses());
            let routes = table.plugin_routes();
            // No request runs in this worker now: versions only the old table
            // held are unloaded here.
            drop(self.shared.replace_table(table));
            if self.next_scan.is_some() {
                let (serving, files) = self.plugins.counts();
                log::info!(
                    "{serving} of {files} plugin files loaded, {routes} plugin routes mounted"
                );
            }
        }
        self.slot.set_phase(Phase::Idle);
        let poll = self.setup.config.poll;
        self.next_scan = (!poll.is_zero()).then(|| Instant::now() + poll);
    }

    fn reload_if_due(&mut self) {
        if self.next_scan.is_some_and(|at| Instant::now() >= at) {
            self.reload();
        }
    }

    /// Waits until `conn` (if any) or, if `listen`, the listener is
    /// readable, a signal arrives, or `timeout` passes.
    fn wait(&self, conn: Option<&Connection>, listen: bool, timeout: Duration) -> Woken {
        let listener = self.setup.listener.as_fd();
        let conn_fd = conn.map(Connection::as_fd);
        let listening = if listen {
            PollFlags::IN
        } else {
            PollFlags::empty()
        };
        let mut fds = vec![
            PollFd::new(&self.wake, PollFlags::IN),
            PollFd::new(&listener, listening),
        ];
        if let Some(fd) = &conn_fd {
            fds.push(PollFd::new(fd, PollFlags::IN));
        }
        let timeout = Timespec::try_from(timeout).unwrap_or(Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        });
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) | Err(_) => return Woken::Timeout,
            Ok(_) => {}
        }
        let ready = |fd: &PollFd<'_>| !fd.revents().is_empty();
        if ready(&fds[0]) {
            let mut sink = [0u8; 64];
            while io::Read::read(&mut &self.wake, &mut sink).is_ok_and(|n| n > 0) {}
            if self.stopping() {
                return Woken::Signal;
            }
        }
        if fds.get(2).is_some_and(ready) {
            Woken::Connection
        } else if ready(&fds[1]) {
            Woken::Listener
        } else {
            Woken::Timeout
        }
    }

    /// Whether another connection waits to be accepted.
    fn others_waiting(&self) -> bool {
        let mut fds = [PollFd::new(&self.setup.listener, PollFlags::IN)];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        poll(&mut fds, Some(&zero)).is_ok_and(|n| n > 0)
    }

    /// Accepts and serves connections until told to stop.
    fn serve(&mut self) {
        while !self.stopping() {
            self.reload_if_due();
            let timeout = self.next_scan.map_or(Duration::from_secs(1), |at| {
                at.saturating_duration_since(Instant::now())
            });
            if !matches!(self.wait(None, true, timeout), Woken::Listener) {
                continue;
            }
            match self.setup.listener.accept() {
                Ok((stream, _)) => self.connection(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    log::warn!("accepting a connection failed: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    /// Serves the requests of one connection.
    fn connection(&mut self, stream: TcpStream) {
        let mut conn = Connection::new(stream);
        guard::set_connection(Some(conn.fd()));
        loop {
            let request = match conn.next_request(REQUEST_PATIENCE) {
                Next::Request(request) => request,
                Next::Closed => break,
                Next::Refuse(outcome) => {
                    let _ = conn.respond(&outcome, false, false, false);
                    break;
                }
                Next::Broken(e) => {
                    log::debug!("connection dropped mid-request: {e}");
                    break;
                }
            };
            let start = Instant::now();
            let keep_alive = request.keep_alive && !self.stopping() && !self.others_waiting();
            // The path only: a query string may carry secrets, and this text
            // goes to the log if the worker dies.
            let path = request.target.split('?').next().unwrap_or_default();
            self.slot.begin(
                Phase::Serving,
                &[request.method.as_bytes(), b" ", path.as_bytes()],
            );
            let outcome = self.answer(&request);
            let head = request.method == "HEAD";
            let written = conn.respond(&outcome, head, keep_alive, request.http10);
            self.slot.set_phase(Phase::Idle);
            self.slot.count_served();
            self.shared
                .finish(&request.method, &request.target, outcome.status, start);
            if let Err(e) = written {
                log::debug!(
                    "{} {}: client went away: {e}",
                    request.method,
                    request.target
                );
                break;
            }
            if !keep_alive || !self.idle_until_next(&conn) {
                break;
            }
        }
        guard::set_connection(None);
    }

    /// Between two requests of a keep-alive connection: reloads if due, and
    /// waits for the next request. False if the connection should be closed:
    /// idle too long, stopping, or another connection still waiting after
    /// this one has had `YIELD_GRACE` to send its next request.
    fn idle_until_next(&mut self, conn: &Connection) -> bool {
        self.reload_if_due();
        if conn.buffered() {
            return true;
        }
        let until = Instant::now() + IDLE_KEEP_ALIVE;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stopping() {
                return false;
            }
            let timeout = self.next_scan.map_or(left, |at| {
                left.min(at.saturating_duration_since(Instant::now()))
            });
            match self.wait(Some(conn), true, timeout) {
                Woken::Connection => return true,
                Woken::Signal => return false,
                Woken::Timeout => self.reload_if_due(),
                Woken::Listener => match self.wait(Some(conn), false, YIELD_GRACE) {
                    Woken::Connection => return true,
                    Woken::Signal => return false,
                    // Still waiting (no other worker took it): yield.
                    _ if self.others_waiting() => return false,
                    _ => {}
                },
            }
        }
    }

    fn answer(&self, request: &crate::conn::Incoming) -> Outcome {
        let (path, query) = request
            .target
            .split_once('?')
            .unwrap_or((&request.target, ""));
        let headers: Vec<Header<'_>> = request
            .headers
            .iter()
            .map(|(n, v)| Header::new(n, v))
            .collect();
        let parts = Parts {
            method: &request.method,
            path,
            query,
            headers: &headers,
            body: &request.body,
        };
        dispatch::answer(&self.shared, &SlotGuard(self.slot), &parts)
    }

    /// Unloads every plugin (their `fini` runs) before the process exits.
    fn finish(self) {
        log::info!(
            "stopping after {} requests; unloading plugins",
            self.shared.served()
        );
        self.slot
            .begin(Phase::Loading, &[b"unloading plugins to stop"]);
        self.shared.replace_table(Table::default());
        drop(self.shared);
        drop(self.plugins);
        self.slot.set_phase(Phase::Idle);
        log::info!("stopped");
    }
}
