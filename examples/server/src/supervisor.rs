//! The worker mode (`--workers N`): a supervisor process that binds the
//! listening socket, forks N worker processes that share it (`worker.rs`),
//! and replaces every worker that dies.
//!
//! The supervisor stays single-threaded for its whole life, so that `fork` is
//! safe: it loads no plugin, starts no thread, and takes its signals
//! (`SIGCHLD`, `SIGTERM`, `SIGINT`) synchronously with `sigtimedwait` while
//! they are blocked, instead of in handlers. Each worker starts from that one
//! thread's state and restores the signal mask before doing anything else.
//!
//! When a worker dies, the supervisor reaps it and reads its scoreboard slot
//! (`board.rs`), which still says what the worker was doing, to log the cause
//! with the plugin, route and handler involved: killed by a signal while
//! serving a request (the crash handler answered it with a 502), a handler
//! that ran past `--handler-timeout` (the watchdog answered 504 and ended the
//! process), a plugin that crashed while loading (that file version goes into
//! the quarantine, so new workers skip it), or an exit. The worker is then
//! replaced at once, or after a back-off of 50 ms doubling up to 5 s while
//! workers keep dying before answering a single request. As a backstop, a
//! worker whose handler has run past the deadline by a second without its
//! watchdog acting is killed with `SIGKILL`.
//!
//! On SIGTERM or SIGINT it sends SIGTERM to every worker (each finishes the
//! request it is answering and unloads its plugins), reaps them all, and
//! exits 0; a second signal kills them (SIGKILL) and exits at once. Workers ask the kernel for a
//! SIGTERM if the supervisor dies, so none outlives it. The listening socket
//! is the supervisor's for its whole life: a worker's death never closes it.
//!
//! It does not serve requests or load plugins.

#![allow(unsafe_code)] // fork(2), and the signal mask for sigtimedwait(2)

use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::process::{
    kill_process, set_parent_process_death_signal, waitpid, Pid, Signal, WaitOptions, WaitStatus,
};

use crate::args::Config;
use crate::board::{Board, Phase, CRASHED, TIMED_OUT};
use crate::guard::{self, signal_name};
use crate::plugins::clean_cache;
use crate::worker::{self, Setup};

/// The first back-off delay; it doubles with each further quick death.
const FIRST_BACK_OFF: Duration = Duration::from_millis(50);
/// The longest back-off delay.
const MAX_BACK_OFF: Duration = Duration::from_secs(5);
/// How often the supervisor looks at the scoreboard when no signal comes.
const TICK: Duration = Duration::from_millis(100);
/// How long past the deadline the supervisor waits for a watchdog to act.
const BACKSTOP_GRACE: Duration = Duration::from_secs(1);

/// The signals the supervisor takes with `sigtimedwait`, blocked meanwhile.
struct Signals {
    set: libc::sigset_t,
    /// The mask before blocking them, restored in every worker.
    old: libc::sigset_t,
}

impl Signals {
    fn block() -> Result<Signals, String> {
        // SAFETY: both sets are initialised by sigemptyset/sigaddset and
        // pthread_sigmask before being read; the supervisor has one thread.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for signal in [libc::SIGCHLD, libc::SIGTERM, libc::SIGINT] {
                libc::sigaddset(&mut set, signal);
            }
            if libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old) != 0 {
                return Err("cannot block signals".to_owned());
            }
            Ok(Signals { set, old })
        }
    }

    /// The next of the signals, or `None` after `timeout`.
    fn wait(&self, timeout: Duration) -> Option<i32> {
        let ts = libc::timespec {
            tv_sec: timeout.as_secs().min(i32::MAX as u64) as _,
            tv_nsec: timeout.subsec_nanos().into(),
        };
        // SAFETY: `set` is an initialised signal set, `ts` a valid timespec;
        // no siginfo is asked for.
        let signal = unsafe { libc::sigtimedwait(&self.set, std::ptr::null_mut(), &ts) };
        (signal > 0).then_some(signal)
    }

    /// In a new worker: the mask it would have had.
    fn restore(&self) {
        // SAFETY: `old` was filled by pthread_sigmask.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
}

/// The supervisor's view of one slot.
#[derive(Default)]
struct Tenant {
    pid: Option<Pid>,
    /// Deaths in a row before answering any request.
    quick_deaths: u32,
    /// When to start the next worker in this slot.
    restart_at: Option<Instant>,
    /// Killed by the supervisor because its handler ran past the deadline.
    killed_late: bool,
}

struct Supervisor<'a> {
    config: &'a Config,
    listener: &'a TcpListener,
    board: Board,
    signals: Signals,
    tenants: Vec<Tenant>,
    stopping: bool,
}

/// Runs the server as a supervisor of `config.workers` worker processes until
/// SIGINT or SIGTERM.
pub fn run(config: Config) -> Result<(), String> {
    if !config.plugins.is_dir() {
        return Err(format!(
            "plugins directory {}: not a directory",
            config.plugins.display()
        ));
    }
    let cache = config.cache();
    prepare_cache(&cache, config.workers)
        .map_err(|e| format!("cache directory {}: {e}", cache.display()))?;
    let listener = TcpListener::bind(&config.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let board = Board::new(config.workers).map_err(|e| format!("shared memory: {e}"))?;
    let signals = Signals::block()?;
    match listener.local_addr() {
        Ok(addr) => log::info!("listening on http://{addr}"),
        Err(_) => log::info!("listening on {}", config.listen),
    }
    log::info!(
        "supervisor pid {}: starting {} workers (a handler may run {})",
        std::process::id(),
        config.workers,
        guard::describe(config.handler_timeout)
    );
    let mut supervisor = Supervisor {
        config: &config,
        listener: &listener,
        board,
        signals,
        tenants: (0..config.workers).map(|_| Tenant::default()).collect(),
        stopping: false,
    };
    for index in 0..config.workers {
        supervisor.spawn(index);
    }
    supervisor.supervise();
    for index in 0..config.workers {
        let _ = fs::remove_dir(cache.join(format!("worker-{index}")));
    }
    log::info!("stopped");
    Ok(())
}

/// Creates the cache directory and empties what an earlier run left there
/// (worker directories included, so a run with fewer workers leaves none).
fn prepare_cache(cache: &Path, workers: usize) -> std::io::Result<()> {
    fs::create_dir_all(cache)?;
    clean_cache(cache)?;
    for entry in fs::read_dir(cache)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(index) = name
            .to_str()
            .and_then(|n| n.strip_prefix("worker-"))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        if entry.file_type()?.is_dir() {
            clean_cache(&entry.path())?;
            if index >= workers {
                let _ = fs::remove_dir(entry.path());
            }
        }
    }
    Ok(())
}

impl Supervisor<'_> {
    /// Starts a worker in slot `index`.
    fn spawn(&mut self, index: usize) {
        let slot = self.board.slot(index);
        slot.reset();
        let supervisor = rustix::process::getpid();
        // SAFETY: this process has a single thread (nothing here starts one),
        // so the child starts from a consistent copy of all of its state.
        match unsafe { libc::fork() } {
            -1 => {
                let e = std::io::Error::last_os_error();
                log::error!("cannot start worker {index}: fork: {e}; trying again in 1 s");
                self.tenants[index].restart_at = Some(Instant::now() + Duration::from_secs(1));
            }
            0 => {
                self.signals.restore();
                // Die with the supervisor; and if it is already gone, now.
                let orphan = set_parent_process_death_signal(Some(Signal::TERM)).is_err()
                    || rustix::process::getppid() != Some(supervisor);
                let status = if orphan {
                    1
                } else {
                    worker::run(&Setup {
                        index,
                        board: self.board,
                        listener: self.listener,
                        config: self.config,
                    })
                };
                std::process::exit(status);
            }
            pid => {
                slot.set_pid(pid);
                let tenant = &mut self.tenants[index];
                tenant.pid = Pid::from_raw(pid);
                tenant.restart_at = None;
                tenant.killed_late = false;
            }
        }
    }

    /// The supervisor's loop, until every worker has stopped.
    fn supervise(&mut self) {
        loop {
            let timeout = self
                .tenants
                .iter()
                .filter_map(|t| t.restart_at)
                .min()
                .map_or(TICK, |at| {
                    at.saturating_duration_since(Instant::now()).min(TICK)
                });
            match self.signals.wait(timeout) {
                Some(signal) if signal == libc::SIGTERM || signal == libc::SIGINT => {
                    self.stop(signal)
                }
                _ => {}
            }
            self.reap();
            if self.stopping {
                if self.tenants.iter().all(|t| t.pid.is_none()) {
                    return;
                }
                continue;
            }
            let now = Instant::now();
            for index in 0..self.tenants.len() {
                if self.tenants[index].restart_at.is_some_and(|at| at <= now) {
                    self.spawn(index);
                }
            }
            self.backstop();
        }
    }

    /// SIGTERM or SIGINT: stop every worker, or at the second, kill them.
    fn stop(&mut self, signal: i32) {
        let name = signal_name(signal);
        let live: Vec<Pid> = self.tenants.iter().filter_map(|t| t.pid).collect();
        if self.stopping {
            log::warn!("{name} again: killing {} workers and exiting", live.len());
            for &pid in &live {
                let _ = kill_process(pid, Signal::KILL);
            }
            for &pid in &live {
                let _ = waitpid(Some(pid), WaitOptions::empty());
            }
            std::process::exit(128 + signal);
        }
        self.stopping = true;
        log::info!(
            "{name}: stopping {} workers (running requests finish first)",
            live.len()
        );
        for tenant in &mut self.tenants {
            tenant.restart_at = None;
        }
        for &pid in &live {
            let _ = kill_process(pid, Signal::TERM);
        }
    }

    /// Reaps every worker that has died, and decides what follows.
    fn reap(&mut self) {
        while let Ok(Some((pid, status))) = waitpid(None, WaitOptions::NOHANG) {
            if let Some(index) = self.tenants.iter().position(|t| t.pid == Some(pid)) {
                self.died(index, pid, status);
            }
        }
    }

    fn died(&mut self, index: usize, pid: Pid, status: WaitStatus) {
        let slot = self.board.slot(index);
        let (state, what, served) = (slot.state(), slot.what(), slot.served());
        slot.set_pid(0);
        let tenant = &mut self.tenants[index];
        tenant.pid = None;
        let who = format!("worker {index} (pid {})", pid.as_raw_nonzero());
        let how = match (status.terminating_signal(), status.exit_status()) {
            (Some(signal), _) => format!("killed by {}", signal_name(signal)),
            (None, Some(code)) => format!("exited with status {code}"),
            _ => "ended".to_owned(),
        };
        if self.stopping {
            match status.exit_status() {
                Some(0) => log::info!("{who} stopped"),
                _ => log::warn!("{who} {how} while stopping"),
            }
            return;
        }

        let totals = self.board.totals();
        let count = |c: &std::sync::atomic::AtomicU64| {
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        };
        let timeout = guard::describe(self.config.handler_timeout);
        let cause = if state.taken() == Some(TIMED_OUT) || tenant.killed_late {
            count(&totals.timeouts);
            let by = if tenant.killed_late {
                "its watchdog did not act, so the supervisor killed it; the connection was closed"
            } else {
                "the request got a 504"
            };
            format!("{who} recycled: {what} ran past the {timeout} handler deadline ({how}); {by}")
        } else {
            let doing = match state.phase() {
                Phase::Calling | Phase::Serving => format!("while serving {what}"),
                Phase::Loading => format!("while {what}"),
                Phase::Idle => {
                    "while idle (outside any request: a plugin's own thread?)".to_owned()
                }
            };
            let answered = match (state.phase(), state.taken()) {
                (_, Some(CRASHED)) => "; the request got a 502",
                (Phase::Calling | Phase::Serving, _) => "; the connection was closed",
                _ => "",
            };
            match status.terminating_signal() {
                Some(signal) => {
                    count(&totals.signals);
                    let mut cause = format!("{who} {how} {doing}{answered}");
                    if state.phase() == Phase::Loading
                        && what.starts_with("loading ")
                        && self.board.quarantine(slot.loading(), signal)
                    {
                        cause.push_str(
                            "; that version will not be loaded again until its file changes",
                        );
                    }
                    cause
                }
                None => {
                    count(&totals.exits);
                    format!("{who} {how} {doing}{answered}")
                }
            }
        };
        count(&totals.restarts);
        slot.count_restart();

        // Back-off while workers die before answering anything.
        let delay = if served == 0 {
            tenant.quick_deaths += 1;
            let doublings = (tenant.quick_deaths - 1).min(16);
            (FIRST_BACK_OFF * 2u32.pow(doublings)).min(MAX_BACK_OFF)
        } else {
            tenant.quick_deaths = 0;
            Duration::ZERO
        };
        tenant.restart_at = Some(Instant::now() + delay);
        if delay.is_zero() {
            log::error!("{cause}; starting a new worker");
        } else {
            let deaths = match tenant.quick_deaths {
                1 => "it died".to_owned(),
                n => format!("{n} workers in a row died"),
            };
            log::error!(
                "{cause}; starting a new worker in {} ({deaths} before answering a request)",
                guard::describe(delay),
            );
        }
    }

    /// Kills a worker whose handler ran well past the deadline while its
    /// watchdog did nothing.
    fn backstop(&mut self) {
        let limit = self.config.handler_timeout + BACKSTOP_GRACE;
        for (index, tenant) in self.tenants.iter_mut().enumerate() {
            let (Some(pid), false) = (tenant.pid, tenant.killed_late) else {
                continue;
            };
            let slot = self.board.slot(index);
            let state = slot.state();
            let late = match state.taken() {
                None => state.phase() == Phase::Calling && slot.running_for() > limit,
                // Answered by a guard but still alive: it should be gone.
                Some(_) => slot.running_for() > limit + BACKSTOP_GRACE,
            };
            if late {
                log::warn!(
                    "worker {index} (pid {}): {} has run {:.1} s; killing it",
                    pid.as_raw_nonzero(),
                    slot.what(),
                    slot.running_for().as_secs_f64()
                );
                tenant.killed_late = true;
                let _ = kill_process(pid, Signal::KILL);
            }
        }
    }
}
