//! `staticdl inspect FILE [--json]`: what an object needs and whether it would
//! load, without running any of its code.
//!
//! Owns the rendering, as text and JSON, of two answers it does not compute: the
//! facade's [`Report`] (`OpenOptions::check` with the command's own options,
//! [`host::options`]: the very open `call --strict` makes, as a dry run in the
//! namespace `Plugin::open` uses) and the header facts of `facts.rs` (known even
//! for an object that would not load). The verdict, the objects, the bindings,
//! the missing names and the descriptor all come from the report; this file has
//! no namespace and no loader options of its own.

use std::fmt::Write;
use std::path::Path;

use staticdl::loader::{BoundTo, Import};
use staticdl::{DescriptorCheck, NeededBy, OpenError, Report};

use crate::facts::{self, Facts};
use crate::host;
use crate::json::Json;

/// Runs the command; returns the exit status.
pub fn run(file: &Path, json: bool) -> i32 {
    let report = host::options().check(file);
    let facts = std::fs::read(file)
        .map_err(|e| format!("{}: {e}", file.display()))
        .and_then(|data| facts::read(&data));
    if json {
        println!("{}", to_json(&report, &facts));
    } else {
        print!("{}", to_text(&report, &facts));
    }
    if report.loads() {
        0
    } else {
        1
    }
}

/// The root object's imports as the check bound them, if it got that far.
fn bound_imports(r: &Report) -> Option<&[Import]> {
    r.objects().first().and_then(|o| o.imports())
}

/// How `b` reads in a report: the object's soname when it is one of the load.
fn target(r: &Report, b: &BoundTo) -> Option<String> {
    Some(match b {
        BoundTo::Object(p) => r
            .objects()
            .iter()
            .find(|o| o.path() == p)
            .and_then(|o| o.soname())
            .map_or_else(|| p.display().to_string(), str::to_owned),
        BoundTo::Provided(lib) => lib.clone(),
        BoundTo::Host => "host".into(),
        BoundTo::Executable => "executable".into(),
        BoundTo::Loader => "loader".into(),
        _ => return None,
    })
}

/// The kind of binding, as the JSON spells it.
fn kind(b: &BoundTo) -> &'static str {
    match b {
        BoundTo::Object(_) => "object",
        BoundTo::Provided(_) => "provided",
        BoundTo::Host => "host",
        BoundTo::Executable => "executable",
        BoundTo::Loader => "loader",
        BoundTo::Trapped => "trapped",
        BoundTo::WeakUndefined => "weak-undefined",
        BoundTo::Missing => "missing",
        _ => "unknown",
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn import_name(name: &str, version: Option<&str>, weak: bool) -> String {
    let mut out = name.to_owned();
    if let Some(v) = version {
        out = format!("{out}@{v}");
    }
    if weak {
        out.push_str(" (weak)");
    }
    out
}

fn to_text(r: &Report, facts: &Result<Facts, String>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "file: {}", r.path().display());
    match facts {
        Err(e) => {
            let _ = writeln!(out, "headers: {e}");
        }
        Ok(f) => text_facts(&mut out, r, f),
    }
    if r.objects().len() > 1 {
        let _ = writeln!(out, "objects:");
        for o in r.objects() {
            let how = if o.is_new() { "new" } else { "loaded already" };
            let _ = writeln!(out, "  {} ({how})", o.path().display());
        }
    }
    if !r.missing().is_empty() {
        let _ = writeln!(out, "missing:");
        for m in r.missing() {
            let trap = if m.trapped() { " (calls trap)" } else { "" };
            let by: Vec<String> = m
                .needed_by()
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            let _ = writeln!(out, "  {}{trap}, needed by {}", m.symbol(), by.join(", "));
        }
    }
    text_plugin(&mut out, r.descriptor());
    match r.error() {
        None => {
            let _ = writeln!(out, "verdict: loads");
        }
        Some(e) => {
            let _ = writeln!(out, "verdict: would not load: {e}");
        }
    }
    out
}

fn text_facts(out: &mut String, r: &Report, f: &Facts) {
    let _ = writeln!(out, "soname: {}", f.soname.as_deref().unwrap_or("(none)"));
    let needed = r.objects().first().map(|o| o.needed());
    if f.needed.is_empty() {
        let _ = writeln!(out, "needed: (none)");
    } else {
        let _ = writeln!(out, "needed:");
        for (i, n) in f.needed.iter().enumerate() {
            let to = match needed.and_then(|list| list.get(i)).map(|(_, by)| by) {
                Some(NeededBy::Provided) => "provided".to_owned(),
                Some(NeededBy::Object(p)) => p.display().to_string(),
                _ => "?".to_owned(),
            };
            let _ = writeln!(out, "  {n} => {to}");
        }
    }
    let _ = writeln!(out, "tls: {}", yes_no(f.tls));
    let _ = writeln!(out, "executable stack: {}", yes_no(f.exec_stack));
    let _ = writeln!(
        out,
        "init functions: {}, fini functions: {}",
        f.init_count, f.fini_count
    );
    let lines: Vec<String> = match (bound_imports(r), &f.imports) {
        (Some(bound), _) => bound
            .iter()
            .map(|i| {
                let to = match &i.bound {
                    BoundTo::Trapped => "UNRESOLVED, calls trap".to_owned(),
                    BoundTo::WeakUndefined => "unresolved, bound to 0".to_owned(),
                    BoundTo::Missing => "UNRESOLVED".to_owned(),
                    BoundTo::Provided(lib) => format!("{lib} (provided)"),
                    b => target(r, b).unwrap_or_else(|| "?".into()),
                };
                format!(
                    "{} => {to}",
                    import_name(&i.name, i.version.as_deref(), i.weak)
                )
            })
            .collect(),
        (None, Some(listed)) => listed
            .iter()
            .map(|i| {
                format!(
                    "{} => ?",
                    import_name(&i.name, i.version.as_deref(), i.weak)
                )
            })
            .collect(),
        (None, None) => {
            let _ = writeln!(out, "imports: unknown (no section headers)");
            return;
        }
    };
    if lines.is_empty() {
        let _ = writeln!(out, "imports: (none)");
    } else {
        let _ = writeln!(out, "imports:");
        for l in lines {
            let _ = writeln!(out, "  {l}");
        }
    }
}

fn text_plugin(out: &mut String, d: &DescriptorCheck) {
    match d {
        DescriptorCheck::Absent => {
            let _ = writeln!(out, "plugin: none (a plain library)");
        }
        DescriptorCheck::Refused(cause) => {
            let _ = writeln!(out, "plugin: refused: {cause}");
        }
        DescriptorCheck::Accepted(d) => {
            let _ = writeln!(
                out,
                "plugin: {} {} (ABI version {})",
                d.name(),
                d.version(),
                d.abi_version()
            );
            for e in d.exports() {
                let _ = writeln!(out, "  export {}: {}", e.name(), e.signature());
            }
            for rt in d.routes() {
                let _ = writeln!(
                    out,
                    "  route {} {} -> {}",
                    rt.method(),
                    rt.path(),
                    rt.handler()
                );
            }
        }
        _ => {
            let _ = writeln!(out, "plugin: unknown");
        }
    }
}

fn to_json(r: &Report, facts: &Result<Facts, String>) -> Json {
    let mut fields: Vec<(&'static str, Json)> = vec![
        ("file", Json::str(r.path().display().to_string())),
        ("loads", Json::Bool(r.loads())),
        ("error", Json::opt_str(r.error().map(|e| e.to_string()))),
    ];
    match facts {
        Err(e) => fields.push(("headers_error", Json::str(e.clone()))),
        Ok(f) => {
            fields.push(("soname", Json::opt_str(f.soname.clone())));
            let resolved = r.objects().first().map(|o| o.needed());
            let needed = f
                .needed
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let by = resolved.and_then(|list| list.get(i)).map(|(_, by)| by);
                    let path = match by {
                        Some(NeededBy::Object(p)) => Json::str(p.display().to_string()),
                        _ => Json::Null,
                    };
                    Json::Object(vec![
                        ("name", Json::str(n.clone())),
                        ("path", path),
                        ("provided", Json::Bool(by == Some(&NeededBy::Provided))),
                    ])
                })
                .collect();
            fields.push(("needed", Json::Array(needed)));
            fields.push(("tls", Json::Bool(f.tls)));
            fields.push(("executable_stack", Json::Bool(f.exec_stack)));
            fields.push(("init_count", Json::Int(f.init_count as i64)));
            fields.push(("fini_count", Json::Int(f.fini_count as i64)));
            fields.push(("imports", json_imports(r, f)));
        }
    }
    fields.push(("objects", json_objects(r)));
    fields.push(("missing", json_missing(r)));
    fields.push(("plugin", json_plugin(r.descriptor())));
    Json::Object(fields)
}

fn json_imports(r: &Report, f: &Facts) -> Json {
    if let Some(bound) = bound_imports(r) {
        return Json::Array(
            bound
                .iter()
                .map(|i| {
                    let by = target(r, &i.bound);
                    Json::Object(vec![
                        ("name", Json::str(i.name.clone())),
                        ("version", Json::opt_str(i.version.clone())),
                        ("weak", Json::Bool(i.weak)),
                        ("resolved", Json::Bool(by.is_some())),
                        ("resolved_by", Json::opt_str(by)),
                        ("bound", Json::str(kind(&i.bound))),
                    ])
                })
                .collect(),
        );
    }
    match &f.imports {
        None => Json::Null,
        Some(list) => Json::Array(
            list.iter()
                .map(|i| {
                    Json::Object(vec![
                        ("name", Json::str(i.name.clone())),
                        ("version", Json::opt_str(i.version.clone())),
                        ("weak", Json::Bool(i.weak)),
                        ("resolved", Json::Null),
                        ("resolved_by", Json::Null),
                        ("bound", Json::Null),
                    ])
                })
                .collect(),
        ),
    }
}

fn json_objects(r: &Report) -> Json {
    Json::Array(
        r.objects()
            .iter()
            .map(|o| {
                Json::Object(vec![
                    ("path", Json::str(o.path().display().to_string())),
                    ("soname", Json::opt_str(o.soname())),
                    ("new", Json::Bool(o.is_new())),
                ])
            })
            .collect(),
    )
}

/// The report's missing names (also `staticdl check`'s per-object list).
pub fn json_missing(r: &Report) -> Json {
    Json::Array(
        r.missing()
            .iter()
            .map(|m| {
                Json::Object(vec![
                    ("name", Json::str(m.symbol().name.clone())),
                    ("version", Json::opt_str(m.symbol().version.clone())),
                    ("trapped", Json::Bool(m.trapped())),
                    (
                        "needed_by",
                        Json::Array(
                            m.needed_by()
                                .iter()
                                .map(|p| Json::str(p.display().to_string()))
                                .collect(),
                        ),
                    ),
                ])
            })
            .collect(),
    )
}

fn json_plugin(d: &DescriptorCheck) -> Json {
    match d {
        DescriptorCheck::Refused(cause) => Json::Object(vec![
            ("error", Json::str(cause.to_string())),
            (
                "abi_version",
                match **cause {
                    OpenError::AbiVersion { found, .. } => Json::Int(found.into()),
                    _ => Json::Null,
                },
            ),
        ]),
        DescriptorCheck::Accepted(d) => Json::Object(vec![
            ("name", Json::str(d.name())),
            ("version", Json::str(d.version())),
            ("abi_version", Json::Int(d.abi_version().into())),
            (
                "exports",
                Json::Array(
                    d.exports()
                        .iter()
                        .map(|e| {
                            Json::Object(vec![
                                ("name", Json::str(e.name())),
                                ("signature", Json::str(e.signature())),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "routes",
                Json::Array(
                    d.routes()
                        .iter()
                        .map(|rt| {
                            Json::Object(vec![
                                ("method", Json::str(rt.method())),
                                ("path", Json::str(rt.path())),
                                ("handler", Json::str(rt.handler())),
                            ])
                        })
                        .collect(),
                ),
            ),
        ]),
        _ => Json::Null,
    }
}
