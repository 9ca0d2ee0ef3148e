//! Logging through the host: plain functions and `format!`-style macros that work
//! in `#![no_std]` plugins without an allocator.
//!
//! Owns: [`log`], [`log_fmt`], the per-level functions ([`error()`] .. [`trace()`]) and
//! the macros [`error!`](crate::log::error!) .. [`trace!`](crate::log::trace!).
//! Does not own: where messages go — that is the host's `log` entry.
//!
//! Formatted messages are rendered into a stack buffer of [`MESSAGE_MAX`] bytes;
//! longer ones are cut at a character boundary and end in `...`. Before `init` has
//! run, or when the host has no log sink, messages are dropped.
//!
//! Unsafe code is allowed in this module: log messages are handed to the host table's C
//! function.
#![allow(unsafe_code)]

use core::fmt::{self, Write};

use crate::host::{host, LogLevel};

/// The longest formatted message, in bytes, including the `...` marking a cut.
pub const MESSAGE_MAX: usize = 1024;

/// Sends `message` to the host at `level`.
///
/// ```
/// use staticdl_abi::{log, LogLevel};
///
/// log::log(LogLevel::Info, "plugin ready");
/// ```
pub fn log(level: LogLevel, message: &str) {
    if let Some(sink) = host().and_then(|h| h.log_fn()) {
        // SAFETY: the host's `log` takes a pointer and length of UTF-8 that it only
        // reads during the call; `message` outlives the call.
        unsafe { sink(level as u32, message.as_ptr(), message.len()) }
    }
}

/// Formats `args` (up to [`MESSAGE_MAX`] bytes) and sends it to the host at `level`.
/// The macros expand to this.
///
/// ```
/// use staticdl_abi::{log, LogLevel};
///
/// log::log_fmt(LogLevel::Debug, format_args!("{} routes", 3));
/// ```
pub fn log_fmt(level: LogLevel, args: fmt::Arguments<'_>) {
    if host().and_then(|h| h.log_fn()).is_none() {
        return;
    }
    if let Some(text) = args.as_str() {
        return log(level, text);
    }
    let mut buf = Buffer {
        bytes: [0; MESSAGE_MAX],
        len: 0,
        cut: false,
    };
    // `Buffer` never fails; a failing `Display` impl leaves what it wrote so far.
    let _ = buf.write_fmt(args);
    log(level, buf.finish());
}

/// Sends `message` at [`LogLevel::Error`].
///
/// ```
/// staticdl_abi::log::error("database unreachable");
/// ```
pub fn error(message: &str) {
    log(LogLevel::Error, message);
}

/// Sends `message` at [`LogLevel::Warn`].
///
/// ```
/// staticdl_abi::log::warn("slow request");
/// ```
pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}

/// Sends `message` at [`LogLevel::Info`].
///
/// ```
/// staticdl_abi::log::info("started");
/// ```
pub fn info(message: &str) {
    log(LogLevel::Info, message);
}

/// Sends `message` at [`LogLevel::Debug`].
///
/// ```
/// staticdl_abi::log::debug("cache warm");
/// ```
pub fn debug(message: &str) {
    log(LogLevel::Debug, message);
}

/// Sends `message` at [`LogLevel::Trace`].
///
/// ```
/// staticdl_abi::log::trace("entering handler");
/// ```
pub fn trace(message: &str) {
    log(LogLevel::Trace, message);
}

/// A fixed-size `fmt::Write` target that cuts instead of failing.
struct Buffer {
    bytes: [u8; MESSAGE_MAX],
    len: usize,
    cut: bool,
}

const ELLIPSIS: &str = "...";

impl Buffer {
    fn finish(&mut self) -> &str {
        if self.cut {
            let mut end = self.len.min(MESSAGE_MAX - ELLIPSIS.len());
            while core::str::from_utf8(&self.bytes[..end]).is_err() {
                end -= 1;
            }
            self.bytes[end..end + ELLIPSIS.len()].copy_from_slice(ELLIPSIS.as_bytes());
            self.len = end + ELLIPSIS.len();
        }
        // Only whole `&str`s and the ASCII ellipsis are ever written, and a cut lands
        // on a character boundary, so this never fails.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl Write for Buffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = MESSAGE_MAX - self.len;
        if s.len() > room {
            self.cut = true;
        }
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

/// Logs a `format!`-style message at [`LogLevel::Error`].
///
/// ```
/// staticdl_abi::log::error!("lost {} connections", 3);
/// ```
#[doc(inline)]
pub use crate::__staticdl_log_error as error;

/// Logs a `format!`-style message at [`LogLevel::Warn`].
///
/// ```
/// staticdl_abi::log::warn!("retrying in {}s", 5);
/// ```
#[doc(inline)]
pub use crate::__staticdl_log_warn as warn;

/// Logs a `format!`-style message at [`LogLevel::Info`].
///
/// ```
/// staticdl_abi::log::info!("mounted {} routes", 2);
/// ```
#[doc(inline)]
pub use crate::__staticdl_log_info as info;

/// Logs a `format!`-style message at [`LogLevel::Debug`].
///
/// ```
/// staticdl_abi::log::debug!("state = {:?}", (1, 2));
/// ```
#[doc(inline)]
pub use crate::__staticdl_log_debug as debug;

/// Logs a `format!`-style message at [`LogLevel::Trace`].
///
/// ```
/// staticdl_abi::log::trace!("tick {}", 7);
/// ```
#[doc(inline)]
pub use crate::__staticdl_log_trace as trace;

#[doc(hidden)]
#[macro_export]
macro_rules! __staticdl_log_error {
    ($($arg:tt)+) => {
        $crate::log::log_fmt($crate::LogLevel::Error, ::core::format_args!($($arg)+))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __staticdl_log_warn {
    ($($arg:tt)+) => {
        $crate::log::log_fmt($crate::LogLevel::Warn, ::core::format_args!($($arg)+))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __staticdl_log_info {
    ($($arg:tt)+) => {
        $crate::log::log_fmt($crate::LogLevel::Info, ::core::format_args!($($arg)+))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __staticdl_log_debug {
    ($($arg:tt)+) => {
        $crate::log::log_fmt($crate::LogLevel::Debug, ::core::format_args!($($arg)+))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __staticdl_log_trace {
    ($($arg:tt)+) => {
        $crate::log::log_fmt($crate::LogLevel::Trace, ::core::format_args!($($arg)+))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use std::string::String;

    #[test]
    fn messages_reach_the_host_with_their_level() {
        let _host = testing::FakeHost::install();
        info("plain");
        crate::log::warn!("formatted {}", 42);
        crate::log::error!("static");
        let logs = testing::take_logs();
        assert_eq!(
            logs,
            [
                (3, String::from("plain")),
                (2, String::from("formatted 42")),
                (1, String::from("static")),
            ]
        );
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let _host = testing::FakeHost::install();
        let long = "é".repeat(MESSAGE_MAX);
        crate::log::debug!("{long}");
        let logs = testing::take_logs();
        let (level, text) = &logs[0];
        assert_eq!(*level, 4);
        assert!(text.len() <= MESSAGE_MAX);
        assert!(text.ends_with("é..."), "{text}");
    }
}
