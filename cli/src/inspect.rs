//! `staticdl inspect FILE [--json]`: what an object needs and whether it would
//! load, without running any of its code.
//!
//! Owns the static facts read from the file's headers with `object` (`DT_NEEDED`,
//! imports, `PT_TLS`, `PT_GNU_STACK`, init and fini counts — available even when
//! the object would not load), two loads with `LoadOptions::run_code(false)` (one
//! strict, for the verdict; one whose last-resort symbol source records every
//! import nothing else provides, for the resolution table), the plugin descriptor,
//! and the text and JSON renderings. It maps and relocates the object but calls
//! nothing in it: no initialiser, no IFUNC resolver, no `init`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use object::elf;
use object::read::elf::{ElfFile64, ProgramHeader, Sym};
use object::read::SymbolIndex;
use object::Endianness;
use staticdl::loader::{Library, LoadOptions, Namespace, SymbolName};
use staticdl::{Descriptor, OpenError};

use crate::host;
use crate::json::Json;

/// One undefined symbol of the object.
struct Import {
    name: String,
    version: Option<String>,
    weak: bool,
}

/// What the headers say, without loading.
struct Facts {
    soname: Option<String>,
    needed: Vec<String>,
    /// `None` when the object has no section headers to find `.dynsym` by.
    imports: Option<Vec<Import>>,
    tls: bool,
    exec_stack: bool,
    init_count: u64,
    fini_count: u64,
}

/// Where an import binds in this host.
enum Binding {
    /// Defined by this loaded object (soname, or path).
    Object(String),
    /// Offered by this host (`host.rs`).
    Host,
    /// Nothing provides it.
    Unresolved,
    /// Not known (the object could not be loaded at all).
    Unknown,
}

enum PluginMeta {
    /// No `STATICDL_PLUGIN` symbol.
    None,
    Ok(Descriptor),
    /// A descriptor the host refuses (wrong ABI version, malformed).
    Refused {
        message: String,
        abi_version: Option<u32>,
    },
    /// Not known: the object could not be loaded.
    Unknown,
}

struct Report {
    file: PathBuf,
    facts: Result<Facts, String>,
    bindings: Vec<Binding>,
    needed_paths: Vec<Option<PathBuf>>,
    plugin: PluginMeta,
    /// `Ok` if `Plugin::open` would load it.
    verdict: Result<(), String>,
}

/// Runs the command; returns the exit status.
pub fn run(file: &Path, json: bool) -> i32 {
    let report = inspect(file);
    if json {
        println!("{}", to_json(&report));
    } else {
        print!("{}", to_text(&report));
    }
    if report.verdict.is_ok() {
        0
    } else {
        1
    }
}

fn inspect(file: &Path) -> Report {
    let facts = std::fs::read(file)
        .map_err(|e| format!("{}: {e}", file.display()))
        .and_then(|data| read_facts(&data));
    let ns = Namespace::new();
    let strict = LoadOptions::new()
        .run_code(false)
        .host_symbols(host::symbols);
    let mut verdict = ns.load(file, &strict).map(drop).map_err(|e| e.to_string());

    // The second load binds whatever nothing provides to a dummy address (no
    // code runs, so it is never used) and records the names.
    let missing: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = missing.clone();
    static DUMMY: u64 = 0;
    let lenient = LoadOptions::new()
        .run_code(false)
        .host_symbols(host::symbols)
        .host_symbols(move |name: &[u8], _: Option<&[u8]>| {
            let mut m = record.lock().unwrap_or_else(|e| e.into_inner());
            m.push(String::from_utf8_lossy(name).into_owned());
            Some(&DUMMY as *const u64 as usize)
        });
    let loaded = ns.load(file, &lenient);
    let (bindings, needed_paths, plugin) = match &loaded {
        Ok(lib) => {
            let missing = missing.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let all = ns.loaded();
            let bindings = match &facts {
                Ok(Facts {
                    imports: Some(imports),
                    ..
                }) => imports
                    .iter()
                    .map(|i| bind(lib, &all, i, &missing))
                    .collect(),
                _ => Vec::new(),
            };
            let needed_paths = lib.needed().iter().map(|n| find_loaded(&all, n)).collect();
            let plugin = match Descriptor::from_library(lib) {
                Ok(None) => PluginMeta::None,
                Ok(Some(d)) => PluginMeta::Ok(d),
                Err(e) => PluginMeta::Refused {
                    abi_version: match &e {
                        OpenError::AbiVersion { found, .. } => Some(*found),
                        _ => None,
                    },
                    message: e.to_string(),
                },
            };
            (bindings, needed_paths, plugin)
        }
        Err(_) => (Vec::new(), Vec::new(), PluginMeta::Unknown),
    };
    drop(loaded);
    if let (Ok(()), PluginMeta::Refused { message, .. }) = (&verdict, &plugin) {
        verdict = Err(format!("{}: {message}", file.display()));
    }
    Report {
        file: file.to_path_buf(),
        facts,
        bindings,
        needed_paths,
        plugin,
        verdict,
    }
}

/// Where import `i` of the root object binds: the breadth-first search the
/// loader's lookup does from the root, or nowhere if the last-resort source was
/// asked for it.
fn bind(lib: &Library, all: &[Library], i: &Import, missing: &[String]) -> Binding {
    if missing.contains(&i.name) {
        return Binding::Unresolved;
    }
    let name = SymbolName::with_version(i.name.as_bytes(), i.version.as_deref().map(str::as_bytes));
    match lib.lookup(&name) {
        Some(addr) => {
            let addr = addr.as_ptr() as usize;
            match all.iter().find(|l| l.contains(addr)) {
                Some(l) => Binding::Object(describe(l)),
                None => Binding::Object("a provided library".into()),
            }
        }
        // The host is consulted after every loaded object, as the loader does.
        None if host::provides(i.name.as_bytes()).is_some() => Binding::Host,
        // Weak, or an IFUNC (not resolved without running code).
        None => Binding::Unresolved,
    }
}

fn describe(lib: &Library) -> String {
    lib.soname()
        .map(str::to_owned)
        .unwrap_or_else(|| lib.path().display().to_string())
}

fn find_loaded(all: &[Library], needed: &str) -> Option<PathBuf> {
    all.iter()
        .find(|l| {
            l.soname() == Some(needed)
                || l.path().file_name().and_then(|f| f.to_str()) == Some(needed)
        })
        .map(|l| l.path().to_path_buf())
}

fn read_facts(data: &[u8]) -> Result<Facts, String> {
    let file = ElfFile64::<Endianness>::parse(data)
        .map_err(|e| format!("not a 64-bit ELF object: {e}"))?;
    let endian = file.endian();
    let mut tls = false;
    let mut stack = None;
    for ph in file.elf_program_headers() {
        let kind = ph.p_type(endian);
        if kind == elf::PT_TLS {
            tls = true;
        } else if kind == elf::PT_GNU_STACK {
            stack = Some(ph.p_flags(endian).0 & elf::PF_X.0 != 0);
        }
    }
    let dynamic = file
        .elf_dynamic_table()
        .map_err(|e| format!("bad dynamic section: {e}"))?;
    let mut soname = None;
    let mut needed = Vec::new();
    let (mut init_count, mut fini_count) = (0, 0);
    for d in dynamic.iter() {
        let text = || {
            dynamic
                .string(d)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_else(|_| "<bad string>".into())
        };
        if d.tag == elf::DT_NEEDED {
            needed.push(text());
        } else if d.tag == elf::DT_SONAME {
            soname = Some(text());
        } else if d.tag == elf::DT_INIT && d.val != 0 {
            init_count += 1;
        } else if d.tag == elf::DT_FINI && d.val != 0 {
            fini_count += 1;
        } else if d.tag == elf::DT_INIT_ARRAYSZ {
            init_count += d.val / 8;
        } else if d.tag == elf::DT_FINI_ARRAYSZ {
            fini_count += d.val / 8;
        }
    }
    Ok(Facts {
        soname,
        needed,
        imports: read_imports(&file),
        tls,
        // No PT_GNU_STACK at all means an executable stack, as for the kernel.
        exec_stack: stack.unwrap_or(true),
        init_count,
        fini_count,
    })
}

fn read_imports(file: &ElfFile64<'_, Endianness>) -> Option<Vec<Import>> {
    let endian = file.endian();
    let table = file.elf_dynamic_symbol_table();
    if table.is_empty() {
        return if file.elf_section_table().is_empty() {
            None
        } else {
            Some(Vec::new())
        };
    }
    let versions = file
        .elf_section_table()
        .versions(endian, file.data())
        .ok()
        .flatten();
    let mut out = Vec::new();
    for (i, sym) in table.iter().enumerate().skip(1) {
        if !sym.is_undefined(endian) || sym.st_bind() == elf::STB_LOCAL {
            continue;
        }
        let Ok(name) = sym.name(endian, table.strings()) else {
            continue;
        };
        let version = versions.as_ref().and_then(|v| {
            let index = v.version_index(endian, SymbolIndex(i)).index();
            v.version(index)
                .ok()
                .flatten()
                .map(|ver| String::from_utf8_lossy(ver.name()).into_owned())
        });
        out.push(Import {
            name: String::from_utf8_lossy(name).into_owned(),
            version,
            weak: sym.st_bind() == elf::STB_WEAK,
        });
    }
    Some(out)
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn to_text(r: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "file: {}", r.file.display());
    match &r.facts {
        Err(e) => {
            let _ = writeln!(out, "headers: {e}");
        }
        Ok(f) => {
            let _ = writeln!(out, "soname: {}", f.soname.as_deref().unwrap_or("(none)"));
            if f.needed.is_empty() {
                let _ = writeln!(out, "needed: (none)");
            } else {
                let _ = writeln!(out, "needed:");
                for (i, n) in f.needed.iter().enumerate() {
                    match r.needed_paths.get(i).cloned().flatten() {
                        Some(p) => writeln!(out, "  {n} => {}", p.display()),
                        None => writeln!(out, "  {n} => (not found)"),
                    }
                    .ok();
                }
            }
            let _ = writeln!(out, "tls: {}", yes_no(f.tls));
            let _ = writeln!(out, "executable stack: {}", yes_no(f.exec_stack));
            let _ = writeln!(
                out,
                "init functions: {}, fini functions: {}",
                f.init_count, f.fini_count
            );
            match &f.imports {
                None => {
                    let _ = writeln!(out, "imports: unknown (no section headers)");
                }
                Some(imports) if imports.is_empty() => {
                    let _ = writeln!(out, "imports: (none)");
                }
                Some(imports) => {
                    let _ = writeln!(out, "imports:");
                    for (k, i) in imports.iter().enumerate() {
                        let mut name = i.name.clone();
                        if let Some(v) = &i.version {
                            name = format!("{name}@{v}");
                        }
                        if i.weak {
                            name.push_str(" (weak)");
                        }
                        let to = match r.bindings.get(k).unwrap_or(&Binding::Unknown) {
                            Binding::Object(o) => o.clone(),
                            Binding::Host => "host".into(),
                            Binding::Unresolved if i.weak => "unresolved, bound to 0".into(),
                            Binding::Unresolved => "UNRESOLVED".into(),
                            Binding::Unknown => "?".into(),
                        };
                        let _ = writeln!(out, "  {name} => {to}");
                    }
                }
            }
        }
    }
    match &r.plugin {
        PluginMeta::None => {
            let _ = writeln!(out, "plugin: none (a plain library)");
        }
        PluginMeta::Unknown => {
            let _ = writeln!(out, "plugin: unknown");
        }
        PluginMeta::Refused { message, .. } => {
            let _ = writeln!(out, "plugin: refused: {message}");
        }
        PluginMeta::Ok(d) => {
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
    }
    match &r.verdict {
        Ok(()) => {
            let _ = writeln!(out, "verdict: loads");
        }
        Err(e) => {
            let _ = writeln!(out, "verdict: would not load: {e}");
        }
    }
    out
}

fn to_json(r: &Report) -> Json {
    let mut fields: Vec<(&'static str, Json)> = vec![
        ("file", Json::str(r.file.display().to_string())),
        ("loads", Json::Bool(r.verdict.is_ok())),
        ("error", Json::opt_str(r.verdict.as_ref().err().cloned())),
    ];
    match &r.facts {
        Err(e) => fields.push(("headers_error", Json::str(e.clone()))),
        Ok(f) => {
            fields.push(("soname", Json::opt_str(f.soname.clone())));
            let needed = f
                .needed
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    Json::Object(vec![
                        ("name", Json::str(n.clone())),
                        (
                            "path",
                            Json::opt_str(
                                r.needed_paths
                                    .get(i)
                                    .cloned()
                                    .flatten()
                                    .map(|p| p.display().to_string()),
                            ),
                        ),
                    ])
                })
                .collect();
            fields.push(("needed", Json::Array(needed)));
            fields.push(("tls", Json::Bool(f.tls)));
            fields.push(("executable_stack", Json::Bool(f.exec_stack)));
            fields.push(("init_count", Json::Int(f.init_count as i64)));
            fields.push(("fini_count", Json::Int(f.fini_count as i64)));
            let imports = match &f.imports {
                None => Json::Null,
                Some(list) => Json::Array(
                    list.iter()
                        .enumerate()
                        .map(|(k, i)| {
                            let (resolved, by) = match r.bindings.get(k) {
                                Some(Binding::Object(o)) => {
                                    (Json::Bool(true), Json::str(o.clone()))
                                }
                                Some(Binding::Host) => (Json::Bool(true), Json::str("host")),
                                Some(Binding::Unresolved) => (Json::Bool(false), Json::Null),
                                _ => (Json::Null, Json::Null),
                            };
                            Json::Object(vec![
                                ("name", Json::str(i.name.clone())),
                                ("version", Json::opt_str(i.version.clone())),
                                ("weak", Json::Bool(i.weak)),
                                ("resolved", resolved),
                                ("resolved_by", by),
                            ])
                        })
                        .collect(),
                ),
            };
            fields.push(("imports", imports));
        }
    }
    let plugin = match &r.plugin {
        PluginMeta::None | PluginMeta::Unknown => Json::Null,
        PluginMeta::Refused {
            message,
            abi_version,
        } => Json::Object(vec![
            ("error", Json::str(message.clone())),
            (
                "abi_version",
                abi_version.map_or(Json::Null, |v| Json::Int(v.into())),
            ),
        ]),
        PluginMeta::Ok(d) => Json::Object(vec![
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
    };
    fields.push(("plugin", plugin));
    Json::Object(fields)
}
