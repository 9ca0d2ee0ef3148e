//! `staticdl check PATH... [--json]`: the preflight over a set of objects.
//!
//! Owns the report over many objects: one line per object (`loads`, or the
//! reason the open would fail), then every name nothing provides ranked by how
//! many of the checked objects need it (an object needs a name when the load it
//! starts misses it, in itself or in a dependency), most first, ties by name;
//! and the same as JSON. The verdicts are the facade's (`OpenOptions::check`
//! with the command's own options, one object at a time); which files a folder
//! stands for is `files.rs`'s.

use std::collections::BTreeMap;
use std::path::PathBuf;

use staticdl::Report;

use crate::files;
use crate::host;
use crate::inspect;
use crate::json::Json;

/// Runs the command; returns the exit status (0 if every object would load).
pub fn run(paths: &[PathBuf], json: bool) -> i32 {
    let options = host::options();
    let reports: Vec<Report> = files::expand(paths)
        .iter()
        .map(|f| options.check(f))
        .collect();
    let ranking = rank(&reports);
    if json {
        println!("{}", to_json(&reports, &ranking));
    } else {
        print!("{}", to_text(&reports, &ranking));
    }
    if reports.iter().all(Report::loads) {
        0
    } else {
        1
    }
}

/// Why the open would fail, without the `open("path"): ` the line starts with.
fn reason(r: &Report) -> Option<String> {
    let e = r.error()?;
    Some(match e.open_error() {
        Some(cause) => cause.to_string(),
        None => e.to_string(),
    })
}

/// Each missing name (`name` or `name@VERSION`) with the objects that need it,
/// most needed first, ties by name.
fn rank(reports: &[Report]) -> Vec<(String, Vec<PathBuf>)> {
    let mut by_name: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for r in reports {
        for m in r.missing() {
            let needers = by_name.entry(m.symbol().to_string()).or_default();
            if !needers.iter().any(|p| p == r.path()) {
                needers.push(r.path().to_path_buf());
            }
        }
    }
    let mut ranked: Vec<(String, Vec<PathBuf>)> = by_name.into_iter().collect();
    // Stable: names with the same count stay in name order.
    ranked.sort_by_key(|(_, needers)| std::cmp::Reverse(needers.len()));
    ranked
}

fn to_text(reports: &[Report], ranking: &[(String, Vec<PathBuf>)]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for r in reports {
        let verdict = reason(r).unwrap_or_else(|| "loads".into());
        let _ = writeln!(out, "{}: {verdict}", r.path().display());
    }
    if !ranking.is_empty() {
        let _ = writeln!(out, "missing names, by how many objects need them:");
        let width = ranking[0].1.len().to_string().len();
        for (name, needers) in ranking {
            let _ = writeln!(out, "  {:>width$}  {name}", needers.len());
        }
    }
    let loads = reports.iter().filter(|r| r.loads()).count();
    let _ = writeln!(out, "{loads} of {} objects load", reports.len());
    out
}

fn to_json(reports: &[Report], ranking: &[(String, Vec<PathBuf>)]) -> Json {
    let objects = reports
        .iter()
        .map(|r| {
            Json::Object(vec![
                ("file", Json::str(r.path().display().to_string())),
                ("loads", Json::Bool(r.loads())),
                ("error", Json::opt_str(r.error().map(|e| e.to_string()))),
                ("reason", Json::opt_str(reason(r))),
                ("missing", inspect::json_missing(r)),
            ])
        })
        .collect();
    let missing = ranking
        .iter()
        .map(|(name, needers)| {
            Json::Object(vec![
                ("name", Json::str(name.clone())),
                ("objects", Json::Int(needers.len() as i64)),
                (
                    "needed_by",
                    Json::Array(
                        needers
                            .iter()
                            .map(|p| Json::str(p.display().to_string()))
                            .collect(),
                    ),
                ),
            ])
        })
        .collect();
    let loads = reports.iter().filter(|r| r.loads()).count();
    Json::Object(vec![
        ("objects", Json::Array(objects)),
        ("missing", Json::Array(missing)),
        ("loaded", Json::Int(loads as i64)),
        ("total", Json::Int(reports.len() as i64)),
    ])
}
