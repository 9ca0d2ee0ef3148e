//! What a worker process does when a plugin handler misbehaves: the crash
//! handler and the watchdog.
//!
//! - **Crash** (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGABRT`, `SIGTRAP`,
//!   `SIGSYS`): a signal handler, on the alternate signal stack, answers the
//!   request being served with a `502` written straight to its connection
//!   (one `write`, of bytes prepared when the worker started: nothing is
//!   allocated or locked in the handler), then lets the signal take its
//!   default action, so the worker dies by it and the supervisor sees which.
//! - **Timeout**: a watchdog thread looks at the worker's scoreboard slot
//!   every few milliseconds; when a handler has been running longer than the
//!   deadline, it answers the request with a `504` the same way and ends the
//!   process (`_exit`, with [`EXIT_RECYCLED`]); the supervisor starts a new
//!   worker. A plugin's code cannot be stopped inside the process, so the
//!   process goes.
//!
//! Who answers is settled on the slot's phase word (`board.rs`): the guard
//! that marks it first writes the response; the worker's own code, finding the
//! mark when the handler returns, writes nothing and waits to be ended.
//!
//! It does not decide what to do with a dead worker (`supervisor.rs`) and does
//! not serve requests (`worker.rs`).

#![allow(unsafe_code)] // signal handlers, write(2) and _exit(2) on raw descriptors

use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use crate::board::{Phase, Slot, CRASHED, TIMED_OUT};

/// The exit status of a worker that the watchdog ended.
pub const EXIT_RECYCLED: i32 = 75;

/// Signals that mean the process is broken.
const CRASH_SIGNALS: [i32; 7] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
];

/// This worker's slot, for the signal handler.
static SLOT: AtomicPtr<Slot> = AtomicPtr::new(std::ptr::null_mut());
/// The connection of the request being served, or -1.
static CONNECTION: AtomicI32 = AtomicI32::new(-1);
/// The 502 response for each crash signal, in `CRASH_SIGNALS` order.
static CRASH_REPLIES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
/// The 504 response.
static TIMEOUT_REPLY: OnceLock<Vec<u8>> = OnceLock::new();

/// The name of signal `signal` (`SIGSEGV`), or its number.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGABRT => "SIGABRT",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGSYS => "SIGSYS",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGXCPU => "SIGXCPU",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}

/// A complete `Connection: close` response.
fn canned(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nserver: staticdl-server\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Installs the crash handler and starts the watchdog for `slot`: a handler
/// running longer than `timeout` gets a 504 and ends the process.
pub fn install(slot: &'static Slot, timeout: Duration) -> std::io::Result<()> {
    SLOT.store(std::ptr::from_ref(slot).cast_mut(), Ordering::Release);
    let _ = CRASH_REPLIES.set(
        CRASH_SIGNALS
            .iter()
            .map(|&s| {
                canned(
                    "502 Bad Gateway",
                    &format!(
                        "the handler crashed its worker process ({}); a new worker is starting\n",
                        signal_name(s)
                    ),
                )
            })
            .collect(),
    );
    let _ = TIMEOUT_REPLY.set(canned(
        "504 Gateway Timeout",
        &format!(
            "the handler did not answer within {}; its worker process is being replaced\n",
            describe(timeout)
        ),
    ));
    for signal in CRASH_SIGNALS {
        // SAFETY: `on_crash` only reads atomics and statics set above, and
        // calls write(2) and raise(3), which are async-signal-safe; the
        // sigaction struct is fully initialised (zeroed, then filled).
        let installed = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_crash as extern "C" fn(i32) as usize;
            action.sa_flags = libc::SA_ONSTACK | libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if installed != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    let tick = (timeout / 20).clamp(Duration::from_millis(2), Duration::from_millis(50));
    thread::Builder::new()
        .name("watchdog".to_owned())
        .spawn(move || watchdog(slot, timeout, tick))?;
    Ok(())
}

/// `250 ms`, `10 s`.
pub fn describe(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// The request being served now arrived on `fd` (or none is: `None`).
pub fn set_connection(fd: Option<RawFd>) {
    CONNECTION.store(fd.unwrap_or(-1), Ordering::Release);
}

/// Writes `bytes` to the current connection, if any, ignoring errors (the
/// client may be gone). Async-signal-safe.
fn answer(bytes: &[u8]) {
    let fd = CONNECTION.load(Ordering::Acquire);
    if fd < 0 {
        return;
    }
    // SAFETY: `fd` is the connection the worker's main thread keeps open for
    // as long as it is published here; it is only written to.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let mut rest = bytes;
    while !rest.is_empty() {
        match rustix::io::write(fd, rest) {
            Ok(0) | Err(_) => break,
            Ok(n) => rest = &rest[n..],
        }
    }
}

/// The crash handler. With `SA_RESETHAND` the signal's action is back to the
/// default on entry and the signal is blocked until this returns; raising it
/// again makes it pending, so the process dies by it on return whether it was
/// a fault (the faulting instruction runs again) or sent (`abort`, `kill`).
extern "C" fn on_crash(signal: i32) {
    let slot = SLOT.load(Ordering::Acquire);
    // SAFETY: `SLOT` is null or the worker's `&'static` slot.
    if let Some(slot) = unsafe { slot.as_ref() } {
        if slot.take(None, CRASHED) {
            if let Some(reply) = CRASH_SIGNALS
                .iter()
                .position(|&s| s == signal)
                .and_then(|i| CRASH_REPLIES.get().map(|r| &r[i]))
            {
                answer(reply);
            }
        }
    }
    // SAFETY: raise(3) is async-signal-safe.
    unsafe {
        libc::raise(signal);
    }
}

/// Watches `slot`: a call running past `timeout` is answered with a 504 and
/// the process ends.
fn watchdog(slot: &'static Slot, timeout: Duration, tick: Duration) -> ! {
    loop {
        thread::sleep(tick);
        let state = slot.state();
        if state.phase() != Phase::Calling || state.taken().is_some() {
            continue;
        }
        if slot.running_for() < timeout {
            continue;
        }
        // Only if the same call is still running: a compare-and-swap on the
        // whole phase word, whose generation changes with every call.
        if slot.take(Some(state), TIMED_OUT) {
            if let Some(reply) = TIMEOUT_REPLY.get() {
                answer(reply);
            }
            // SAFETY: ends the process at once, running nothing of the
            // plugin (no atexit handlers, no `fini`): its code is stuck.
            unsafe { libc::_exit(EXIT_RECYCLED) }
        }
    }
}

/// Called by the worker when a handler returned but a guard had already
/// answered its request: the process is about to end, so wait for that.
pub fn wait_for_the_end() -> ! {
    loop {
        thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_replies() {
        assert_eq!(signal_name(libc::SIGSEGV), "SIGSEGV");
        assert_eq!(signal_name(64), "signal 64");
        assert_eq!(describe(Duration::from_secs(10)), "10 s");
        assert_eq!(describe(Duration::from_millis(250)), "250 ms");
        let reply = String::from_utf8(canned("504 Gateway Timeout", "late\n")).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 504 Gateway Timeout\r\n"));
        assert!(head.contains("content-length: 5\r\n"));
        assert_eq!(body, "late\n");
    }
}
