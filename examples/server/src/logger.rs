//! A small `log` backend: one line per record on standard error, as
//! `2026-11-23T09:30:00.123Z INFO  target: message`, or in a worker process
//! `2026-11-23T09:30:00.123Z INFO  [worker 1] target: message`.
//!
//! Owns the line format, the level filter, the process tag of worker
//! processes and the bridge that sends what plugins log through their host
//! table (`staticdl::set_log_handler`) into the same stream under the `plugin`
//! target. It does not decide what is logged.

use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use log::{Level, LevelFilter, Log, Metadata, Record};

struct StderrLogger {
    level: LevelFilter,
}

/// `[worker N] ` in a worker process, set once after it is forked.
static TAG: OnceLock<String> = OnceLock::new();

/// Marks every line this process logs from now on as worker `index`'s.
pub fn tag_worker(index: usize) {
    let _ = TAG.set(format!("[worker {index}] "));
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format!(
            "{} {:<5} {}{}: {}\n",
            timestamp(SystemTime::now()),
            record.level(),
            TAG.get().map_or("", String::as_str),
            short_target(record.target()),
            record.args()
        );
        // One write per line, so lines of concurrent threads do not interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// Installs the logger at `level`, and routes plugin log messages to it.
pub fn init(level: LevelFilter) {
    // Only fails if a logger is already set, which `main` never does twice.
    let _ = log::set_boxed_logger(Box::new(StderrLogger { level }));
    log::set_max_level(level);
    staticdl::set_log_handler(|level, message| {
        let level = match level {
            staticdl::LogLevel::Error => Level::Error,
            staticdl::LogLevel::Warn => Level::Warn,
            staticdl::LogLevel::Info => Level::Info,
            staticdl::LogLevel::Debug => Level::Debug,
            staticdl::LogLevel::Trace => Level::Trace,
        };
        log::log!(target: "plugin", level, "{message}");
    });
}

/// The module path of a record, without the crate's name: `plugins`, `http`,
/// and `server` for the crate root.
fn short_target(target: &str) -> &str {
    match target.strip_prefix(env!("CARGO_CRATE_NAME")) {
        Some("") => "server",
        Some(rest) => rest.trim_start_matches("::"),
        None => target,
    }
}

/// `time` as an RFC 3339 UTC timestamp with milliseconds.
fn timestamp(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc_timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_709_164_800_250); // leap day
        assert_eq!(timestamp(t), "2024-02-29T00:00:00.250Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_868_799); // 2000-02-29 23:59:59
        assert_eq!(timestamp(t), "2000-02-29T23:59:59.000Z");
    }
}
