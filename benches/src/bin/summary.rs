//! Markdown tables from criterion's results: one table per group, each row with its
//! median, the median's 95% confidence interval, and the ratio to the glibc row of
//! the same group (for lookups, the glibc row of the same hit/miss).
//!
//! Reads `target/criterion/<group>/<function>[/<parameter>]/new/estimates.json`
//! (criterion's own files) under the directory given, by default this package's
//! `target/criterion`.
//!
//! Run: `cargo run --release --manifest-path benches/Cargo.toml --bin summary`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use staticdl_bench::paired::fmt_ns;

/// Median and its confidence interval, in nanoseconds.
#[derive(Clone, Copy)]
struct Est {
    median: f64,
    lo: f64,
    hi: f64,
}

/// The number after `"key":` at or after `from` in `s`.
fn number_after(s: &str, from: usize, key: &str) -> Option<(f64, usize)> {
    let k = format!("\"{key}\":");
    let at = s[from..].find(&k)? + from + k.len();
    let end = s[at..]
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+')))
        .map_or(s.len(), |e| e + at);
    Some((s[at..end].parse().ok()?, end))
}

fn read_estimate(file: &Path) -> Option<Est> {
    let s = std::fs::read_to_string(file).ok()?;
    let m = s.find("\"median\":")?;
    let (lo, p) = number_after(&s, m, "lower_bound")?;
    let (hi, p) = number_after(&s, p, "upper_bound")?;
    let (median, _) = number_after(&s, p, "point_estimate")?;
    Some(Est { median, lo, hi })
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") {
                let f = p.join("estimates.json");
                if f.exists() {
                    out.push(f);
                }
            } else if p.file_name().is_none_or(|n| n != "report") {
                walk(&p, out);
            }
        }
    }
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/criterion"));
    let mut files = Vec::new();
    walk(&root, &mut files);
    // group -> (id -> estimate), in criterion's directory names.
    let mut groups: BTreeMap<String, Vec<(String, Est)>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&root).unwrap();
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        // group / function [/ parameter] / new / estimates.json
        let (group, id) = (parts[0].clone(), parts[1..parts.len() - 2].join("/"));
        if let Some(e) = read_estimate(&f) {
            groups.entry(group).or_default().push((id, e));
        }
    }
    let order = [
        "tiny",
        "tiny_libc",
        "lookup",
        "reopen",
        "heavy",
        "sqlite",
        "call",
        "replay",
    ];
    let mut names: Vec<&String> = groups.keys().collect();
    names.sort_by_key(|g| order.iter().position(|o| o == g).unwrap_or(order.len()));
    for g in names {
        let rows = &groups[g];
        println!("\n#### {g}\n");
        println!("| case | median | 95% CI of the median | ratio to glibc |");
        println!("| --- | ---: | ---: | ---: |");
        let mut rows = rows.clone();
        rows.sort_by(|a, b| {
            let key = |id: &str| {
                (
                    id.rsplit('/').next().unwrap_or("").to_string(),
                    id.to_string(),
                )
            };
            key(&a.0).cmp(&key(&b.0))
        });
        for (id, e) in &rows {
            let suffix = id.rsplit_once('/').map(|(_, s)| s);
            let glibc = rows.iter().find(|(r, _)| {
                r.starts_with("glibc") && r.rsplit_once('/').map(|(_, s)| s) == suffix
            });
            let ratio = glibc.map_or("".into(), |(_, ge)| format!("{:.2}", e.median / ge.median));
            println!(
                "| {id} | {} | {} – {} | {ratio} |",
                fmt_ns(e.median),
                fmt_ns(e.lo),
                fmt_ns(e.hi)
            );
        }
    }
}
