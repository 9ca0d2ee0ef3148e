//! The house rules of the source layout, checked: no import circle between the
//! files of any crate, and no source file over 600 lines.
//!
//! A file's imports are the module paths it names through `crate::` and
//! `super::` (in paths and `use` groups), each mapped to the file that defines
//! that module; the crate root (`lib.rs`, `main.rs`) is where modules are
//! declared and composed, so references to it do not count. A circle is a
//! strongly connected group of more than one file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates whose sources are checked (their `src/` folders).
const CRATES: &[&str] = &[
    "src",
    "loader/src",
    "libc/src",
    "abi/src",
    "cli/src",
    "capi/src",
];

/// The longest a source file may be.
const MAX_LINES: usize = 600;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file relative to its crate's `src/`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The paths a file names through `crate::` and `super::`, as module paths.
fn references(text: &str, own: &[String], is_mod_file: bool) -> Vec<Vec<String>> {
    let text: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    // `super` is relative to the module: for a `mod.rs` that is its own module's
    // parent, as for any other file.
    let _ = is_mod_file;
    let parent: Vec<String> = own[..own.len().saturating_sub(1)].to_vec();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    for (prefix, base) in [("crate::", Vec::new()), ("super::", parent.clone())] {
        let mut rest = text.as_str();
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a, b::c}`: each item's first segment.
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let first = item.trim().split("::").next().unwrap_or("").trim();
                    if !first.is_empty() && first != "self" {
                        let mut p = base.clone();
                        p.push(first.to_string());
                        out.push(p);
                    }
                }
                continue;
            }
            let path: String = rest.chars().take_while(|&c| ident(c)).collect();
            let mut p = base.clone();
            p.extend(
                path.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            out.push(p);
        }
    }
    out
}

/// Strongly connected groups of more than one node (Tarjan).
fn circles(graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'g PathBuf, usize>,
        low: BTreeMap<&'g PathBuf, usize>,
        stack: Vec<&'g PathBuf>,
        on: BTreeSet<&'g PathBuf>,
        next: usize,
        out: Vec<Vec<PathBuf>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g PathBuf) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on.insert(v);
            for w in &self.graph[v] {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.on.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                loop {
                    let w = self.stack.pop().unwrap();
                    self.on.remove(w);
                    group.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.out.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.out
}

#[test]
fn no_import_circles_between_the_files_of_a_crate() {
    let mut found = Vec::new();
    for krate in CRATES {
        let src = root().join(krate);
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules: BTreeMap<Vec<String>, PathBuf> = files
            .iter()
            .map(|f| (module_of(&src, f), f.clone()))
            .collect();
        let owner = |path: &[String]| {
            (1..=path.len())
                .rev()
                .find_map(|n| modules.get(&path[..n]))
                .cloned()
        };
        let mut graph: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
        for f in &files {
            let own = module_of(&src, f);
            let text = std::fs::read_to_string(f).unwrap();
            let is_mod = f.file_name().is_some_and(|n| n == "mod.rs");
            let edges = graph.entry(f.clone()).or_default();
            for r in references(&text, &own, is_mod) {
                if let Some(o) = owner(&r) {
                    let root_file = o
                        .file_name()
                        .is_some_and(|n| n == "lib.rs" || n == "main.rs");
                    if o != *f && !root_file {
                        edges.insert(o);
                    }
                }
            }
        }
        found.extend(circles(&graph));
    }
    assert!(found.is_empty(), "import circles: {found:#?}");
}

#[test]
fn no_source_file_is_over_600_lines() {
    let mut long = Vec::new();
    for krate in CRATES {
        let mut files = Vec::new();
        rust_files(&root().join(krate), &mut files);
        for f in files {
            let n = std::fs::read_to_string(&f).unwrap().lines().count();
            if n > MAX_LINES {
                long.push((f, n));
            }
        }
    }
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:#?}");
}

#[test]
fn the_circle_finder_finds_a_circle() {
    // a -> b -> c -> a, and d alone: one circle of three.
    let p = |s: &str| PathBuf::from(s);
    let mut g: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    g.insert(p("a"), [p("b")].into());
    g.insert(p("b"), [p("c")].into());
    g.insert(p("c"), [p("a")].into());
    g.insert(p("d"), [p("a")].into());
    assert_eq!(circles(&g), vec![vec![p("a"), p("b"), p("c")]]);
    // References are read from paths and use groups, comments ignored.
    let own = vec!["x".to_string(), "y".to_string()];
    let refs = references(
        "use crate::{a::b, c};\nlet v = super::z::w; // crate::ignored\n",
        &own,
        false,
    );
    assert!(refs.contains(&vec!["a".to_string()]));
    assert!(refs.contains(&vec!["c".to_string()]));
    assert!(refs.contains(&vec!["x".to_string(), "z".to_string(), "w".to_string()]));
    assert!(!refs.iter().any(|r| r.contains(&"ignored".to_string())));
}
