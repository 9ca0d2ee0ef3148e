//! The routes compiled into the server: `GET /` (what is mounted, and the
//! workers with their restarts), `GET /builtin/ping` (the baseline for
//! measuring), `GET /builtin/plugins` (every plugin file and its state, as
//! JSON) and `GET /builtin/workers` (the worker processes, as JSON).
//!
//! Owns how those pages look. The worker figures come from the scoreboard
//! (`board.rs`), which every worker process reads, so any worker can report on
//! all of them. It does not route (`routes.rs`) or call plugins
//! (`dispatch.rs`).

use std::fmt::Write as _;

use crate::outcome::Outcome;
use crate::routes::{Builtin, Table};
use crate::shared::{Mode, Shared};

/// Answers built-in route `builtin`.
pub fn answer(builtin: Builtin, table: &Table, shared: &Shared) -> Outcome {
    match builtin {
        Builtin::Ping => Outcome::text(200, "pong"),
        Builtin::Index => Outcome::text(200, index(table, shared)),
        Builtin::Plugins => Outcome::json(plugins(table, shared)),
        Builtin::Workers => Outcome::json(workers(shared)),
    }
}

fn index(table: &Table, shared: &Shared) -> String {
    let mut text = format!(
        "staticdl-server {}: handler plugins loaded at run time into a static executable\n\nroutes:\n",
        env!("CARGO_PKG_VERSION")
    );
    for line in table.listing() {
        let _ = writeln!(text, "  {line}");
    }
    text.push_str("\nplugins:\n");
    for p in &table.plugins {
        let _ = match (&p.serving, &p.error) {
            (Some(v), None) => writeln!(text, "  {}: {} {}", p.file, v.name(), v.version()),
            (Some(v), Some(e)) => writeln!(
                text,
                "  {}: {} {} (a newer file was rejected: {e})",
                p.file,
                v.name(),
                v.version()
            ),
            (None, e) => writeln!(
                text,
                "  {}: not loaded: {}",
                p.file,
                e.as_deref().unwrap_or("?")
            ),
        };
    }
    text.push('\n');
    match shared.mode() {
        Mode::Threads(threads) => {
            let _ = writeln!(
                text,
                "one process, {threads} threads (--workers 0): a crashing plugin stops the server"
            );
        }
        Mode::Worker { board, index } => {
            let t = board.totals();
            let load =
                |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
            let _ = writeln!(
                text,
                "workers: {} of {} running; {} restarts ({} killed by a signal, {} handler \
                 timeouts, {} other exits); this page is from worker {index}",
                board.running(),
                board.workers(),
                load(&t.restarts),
                load(&t.signals),
                load(&t.timeouts),
                load(&t.exits),
            );
            for (i, slot) in board.slots().iter().enumerate() {
                let _ = match slot.pid() {
                    Some(pid) => writeln!(
                        text,
                        "  worker {i}: pid {pid}, up {:.1} s, {} requests, {} restarts",
                        slot.uptime().as_secs_f64(),
                        slot.served(),
                        slot.restarts()
                    ),
                    None => writeln!(text, "  worker {i}: starting, {} restarts", slot.restarts()),
                };
            }
        }
    }
    text
}

fn plugins(table: &Table, shared: &Shared) -> String {
    let plugins: Vec<String> = table
        .plugins
        .iter()
        .map(|p| {
            let mut fields = vec![format!(r#""file":{}"#, quote(&p.file))];
            if let Some(v) = &p.serving {
                let routes: Vec<String> = v
                    .routes()
                    .iter()
                    .map(|r| quote(&format!("{} {}", r.method(), r.path())))
                    .collect();
                fields.push(format!(r#""name":{}"#, quote(v.name())));
                fields.push(format!(r#""version":{}"#, quote(v.version())));
                fields.push(format!(r#""routes":[{}]"#, routes.join(",")));
            }
            if let Some(e) = &p.error {
                fields.push(format!(r#""error":{}"#, quote(e)));
            }
            format!("{{{}}}", fields.join(","))
        })
        .collect();
    format!(
        r#"{{"uptime_ms":{},"requests":{},"plugins":[{}]}}"#,
        shared.started().elapsed().as_millis(),
        shared.served(),
        plugins.join(",")
    )
}

fn workers(shared: &Shared) -> String {
    let (board, index) = match shared.mode() {
        Mode::Threads(threads) => return format!(r#"{{"mode":"threads","threads":{threads}}}"#),
        Mode::Worker { board, index } => (board, index),
    };
    let t = board.totals();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    let slots: Vec<String> = board
        .slots()
        .iter()
        .enumerate()
        .map(|(i, slot)| {
            let pid = slot.pid().map_or("null".to_owned(), |p| p.to_string());
            format!(
                r#"{{"worker":{i},"pid":{pid},"uptime_ms":{},"requests":{},"restarts":{}}}"#,
                slot.uptime().as_millis(),
                slot.served(),
                slot.restarts()
            )
        })
        .collect();
    format!(
        concat!(
            r#"{{"mode":"workers","workers":{},"running":{},"restarts":{},"signals":{},"#,
            r#""timeouts":{},"exits":{},"this_worker":{},"this_pid":{},"slots":[{}]}}"#
        ),
        board.workers(),
        board.running(),
        load(&t.restarts),
        load(&t.signals),
        load(&t.timeouts),
        load(&t.exits),
        index,
        std::process::id(),
        slots.join(",")
    )
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;

    #[test]
    fn quotes_json_strings() {
        assert_eq!(quote("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
    }

    #[test]
    fn reports_workers() {
        let board = Board::new(2).unwrap();
        board.slot(0).set_pid(7);
        board
            .totals()
            .restarts
            .fetch_add(3, std::sync::atomic::Ordering::Relaxed);
        let shared = Shared::new(Table::default(), Mode::Worker { board, index: 0 });
        let json = workers(&shared);
        assert!(
            json.starts_with(r#"{"mode":"workers","workers":2,"running":1,"restarts":3,"#),
            "{json}"
        );
        assert!(json.contains(r#"{"worker":1,"pid":null,"#), "{json}");
        let text = index(&Table::default(), &shared);
        assert!(
            text.contains("workers: 1 of 2 running; 3 restarts"),
            "{text}"
        );
        let threads = Shared::new(Table::default(), Mode::Threads(8));
        assert_eq!(workers(&threads), r#"{"mode":"threads","threads":8}"#);
    }
}
