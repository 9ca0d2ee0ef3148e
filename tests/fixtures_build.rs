//! Builds every fixture and checks that it has the ELF properties it exists
//! for, so a loader test that fails points at the loader, not at a fixture
//! that quietly lost its `DT_RELR` or its `STT_GNU_IFUNC`.
//!
//! Owns: the structural checks (through `readelf --wide`) and the behaviour
//! checks against glibc: `tests/fixtures/c/glibc_host.c` loads a fixture
//! with glibc's `dlopen`, and its output pins what a correct loader must
//! produce (values, initialiser and finaliser order).
//!
//! Does not own: building the fixtures (`tests/common/mod.rs`) or testing
//! the loader.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{fixture, fixture_dir};

/// Every C fixture.
const C_FIXTURES: &[&str] = &[
    "basic",
    "order",
    "chain_c",
    "chain_b",
    "chain_a",
    "hostimport",
    "relr",
    "tls",
    "execstack",
    "undefined",
    "manysyms",
    "manysyms_sysv",
];

// ---------------------------------------------------------------------------
// readelf, parsed
// ---------------------------------------------------------------------------

/// The parts of `readelf -d -r --dyn-syms -l -V --wide` the checks use.
#[derive(Debug)]
struct Elf {
    path: PathBuf,
    /// `(tag, value)`, e.g. `("NEEDED", "Shared library: [libchain_b.so]")`.
    dynamic: Vec<(String, String)>,
    relocs: Vec<Reloc>,
    /// Addresses listed in `.relr.dyn`.
    relr_offsets: usize,
    syms: Vec<Sym>,
    phdrs: Vec<Phdr>,
    /// Version names defined (`.gnu.version_d`), including the base entry.
    verdefs: Vec<String>,
    /// `(file, version)` pairs required (`.gnu.version_r`).
    verneeds: Vec<(String, String)>,
}

#[derive(Debug)]
struct Reloc {
    /// e.g. `R_X86_64_RELATIVE`.
    kind: String,
    /// Symbol name as readelf prints it (with `@VERSION` if versioned).
    symbol: Option<String>,
}

#[derive(Debug)]
struct Sym {
    kind: String,
    bind: String,
    size: u64,
    undefined: bool,
    /// As readelf prints it: `name`, `name@VER` or `name@@VER`.
    name: String,
}

impl Sym {
    /// The name without its version.
    fn base(&self) -> &str {
        self.name.split('@').next().unwrap_or(&self.name)
    }
}

#[derive(Debug)]
struct Phdr {
    kind: String,
    /// `R`, `W`, `E` letters, e.g. `RWE`.
    flags: String,
}

impl Elf {
    fn read(path: &Path) -> Elf {
        let text = |args: &[&str]| {
            let out = Command::new("readelf")
                .args(args)
                .arg("--wide")
                .arg(path)
                .output()
                .expect("running readelf (binutils)");
            assert!(
                out.status.success(),
                "readelf {args:?} {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).expect("readelf prints UTF-8")
        };
        let (relocs, relr_offsets) = parse_relocs(&text(&["-r"]));
        let (verdefs, verneeds) = parse_versions(&text(&["-V"]));
        Elf {
            path: path.to_path_buf(),
            dynamic: parse_dynamic(&text(&["-d"])),
            relocs,
            relr_offsets,
            syms: parse_dyn_syms(&text(&["--dyn-syms"])),
            phdrs: parse_phdrs(&text(&["-l"])),
            verdefs,
            verneeds,
        }
    }

    fn has_dynamic(&self, tag: &str) -> bool {
        self.dynamic.iter().any(|(t, _)| t == tag)
    }

    fn dynamic_values(&self, tag: &str) -> Vec<&str> {
        self.dynamic
            .iter()
            .filter(|(t, _)| t == tag)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn needed(&self) -> Vec<&str> {
        self.dynamic_values("NEEDED")
            .into_iter()
            .map(bracketed)
            .collect()
    }

    fn reloc_kinds(&self) -> BTreeSet<&str> {
        self.relocs.iter().map(|r| r.kind.as_str()).collect()
    }

    fn has_reloc(&self, kind: &str, symbol: Option<&str>) -> bool {
        self.relocs
            .iter()
            .any(|r| r.kind == kind && (symbol.is_none() || r.symbol.as_deref() == symbol))
    }

    fn sym(&self, name: &str) -> &Sym {
        self.syms
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{}: no dynamic symbol {name}", self.path.display()))
    }

    fn defined(&self, name: &str) -> &Sym {
        let sym = self.sym(name);
        assert!(
            !sym.undefined,
            "{}: {name} is undefined",
            self.path.display()
        );
        assert_eq!(sym.bind, "GLOBAL", "{}: {name}", self.path.display());
        sym
    }

    /// Undefined dynamic symbols as `(name, bind)`.
    fn undefined(&self) -> BTreeSet<(&str, &str)> {
        self.syms
            .iter()
            .filter(|s| s.undefined)
            .map(|s| (s.name.as_str(), s.bind.as_str()))
            .collect()
    }

    fn phdr(&self, kind: &str) -> Option<&Phdr> {
        self.phdrs.iter().find(|p| p.kind == kind)
    }
}

/// `Shared library: [libx.so]` -> `libx.so`.
fn bracketed(value: &str) -> &str {
    value
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map_or(value, |(inside, _)| inside)
}

/// ` 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]`
fn parse_dynamic(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|line| line.trim_start().starts_with("0x"))
        .filter_map(|line| {
            let (_, rest) = line.split_once('(')?;
            let (tag, value) = rest.split_once(')')?;
            Some((tag.to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// Relocation lines look like
/// `0000000000004030  0000000800000001 R_X86_64_64  0000000000001040 basic_add + 0`
/// or `... R_X86_64_RELATIVE   1052`; `.relr.dyn` lists one address per line.
fn parse_relocs(text: &str) -> (Vec<Reloc>, usize) {
    let mut relocs = Vec::new();
    let mut relr = 0;
    let mut in_relr = false;
    for line in text.lines() {
        if line.starts_with("Relocation section") {
            in_relr = line.contains(".relr");
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let is_hex = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_hexdigit());
        if in_relr {
            if tokens.len() == 1 && is_hex(tokens[0]) {
                relr += 1;
            }
            continue;
        }
        let Some(type_at) = tokens.iter().position(|t| t.starts_with("R_")) else {
            continue;
        };
        if type_at != 2 || !is_hex(tokens[0]) {
            continue;
        }
        // A symbol is named when a value column sits between the type and
        // the name: `TYPE value name + addend`.
        let symbol = tokens
            .iter()
            .position(|t| *t == "+" || *t == "-")
            .filter(|&sign| sign >= type_at + 3)
            .map(|sign| tokens[sign - 1].to_owned());
        relocs.push(Reloc {
            kind: tokens[type_at].to_owned(),
            symbol,
        });
    }
    (relocs, relr)
}

/// `     1: 0000000000000000     0 NOTYPE  WEAK   DEFAULT  UND basic_missing_weak`
fn parse_dyn_syms(text: &str) -> Vec<Sym> {
    text.lines()
        .filter_map(|line| {
            let tokens: Vec<&str> = line.split_whitespace().collect();
            if tokens.len() < 8 || !tokens[0].ends_with(':') {
                return None;
            }
            tokens[0].trim_end_matches(':').parse::<u32>().ok()?;
            Some(Sym {
                kind: tokens[3].to_owned(),
                bind: tokens[4].to_owned(),
                size: tokens[2].parse().ok()?,
                undefined: tokens[6] == "UND",
                name: tokens[7].to_owned(),
            })
        })
        .collect()
}

/// `  GNU_STACK      0x000000 0x0000000000000000 0x0000000000000000 0x000000 0x000000 RWE 0x10`
/// (the flags column may contain spaces: `R E`).
fn parse_phdrs(text: &str) -> Vec<Phdr> {
    text.lines()
        .filter_map(|line| {
            let tokens: Vec<&str> = line.split_whitespace().collect();
            if tokens.len() < 8 || !tokens[1].starts_with("0x") {
                return None;
            }
            if !tokens[0]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_')
            {
                return None;
            }
            Some(Phdr {
                kind: tokens[0].to_owned(),
                flags: tokens[6..tokens.len() - 1].concat(),
            })
        })
        .collect()
}

/// Version definitions (`Name: X` under `.gnu.version_d`) and needs
/// (`File: libx.so` followed by `Name: X` under `.gnu.version_r`).
fn parse_versions(text: &str) -> (Vec<String>, Vec<(String, String)>) {
    let mut defs = Vec::new();
    let mut needs = Vec::new();
    let mut section = "";
    let mut file = String::new();
    for line in text.lines() {
        if line.starts_with("Version definition section") {
            section = "def";
        } else if line.starts_with("Version needs section") {
            section = "need";
        } else if line.starts_with("Version symbols section") {
            section = "";
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let after = |key: &str| {
            tokens
                .iter()
                .position(|t| *t == key)
                .and_then(|i| tokens.get(i + 1))
                .map(|s| s.to_string())
        };
        match section {
            "def" => defs.extend(after("Name:")),
            "need" => {
                if let Some(f) = after("File:") {
                    file = f;
                } else if let Some(name) = after("Name:") {
                    needs.push((file.clone(), name));
                }
            }
            _ => {}
        }
    }
    (defs, needs)
}

// ---------------------------------------------------------------------------
// glibc as the reference loader
// ---------------------------------------------------------------------------

/// Builds `tests/fixtures/c/glibc_host.c` into the fixture directory (temp
/// name, then rename, like the fixtures).
fn glibc_host() -> &'static Path {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    HOST.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/c/glibc_host.c");
        let out = fixture_dir().join("glibc_host");
        let tmp = fixture_dir().join(format!(".glibc_host.{}.tmp", std::process::id()));
        let status = Command::new("gcc")
            .args(["-O1", "-g0", "-Wall", "-Wextra", "-rdynamic", "-o"])
            .arg(&tmp)
            .arg(&source)
            .arg("-ldl")
            .output()
            .expect("running gcc");
        assert!(
            status.status.success(),
            "building glibc_host: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        fs::rename(&tmp, &out).expect("installing glibc_host");
        out
    })
}

/// Loads `library` with glibc, runs `commands` (see glibc_host.c) and
/// returns the raw result.
fn glibc_run(library: &Path, commands: &[&str]) -> Output {
    Command::new(glibc_host())
        .arg(library)
        .args(commands)
        // Dependencies must be found through DT_RUNPATH alone.
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .expect("running glibc_host")
}

/// Loads `library` with glibc and returns its stdout; fails on any error.
fn glibc(library: &Path, commands: &[&str]) -> String {
    let out = glibc_run(library, commands);
    assert!(
        out.status.success(),
        "glibc_host {} {commands:?}: {}\n{}",
        library.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("glibc_host prints UTF-8")
}

/// `init: ...` / `fini: ...` lines of recorded values.
fn records(values: &[i32]) -> String {
    values.iter().map(|v| format!(" {v}")).collect()
}

// ---------------------------------------------------------------------------
// Properties every fixture shares
// ---------------------------------------------------------------------------

#[test]
fn every_c_fixture_is_a_libc_free_x86_64_shared_object() {
    for name in C_FIXTURES {
        let path = fixture(name);
        assert_eq!(path, fixture_dir().join(format!("lib{name}.so")));
        let elf = Elf::read(&path);
        let header = Command::new("readelf")
            .args(["-h", "--wide"])
            .arg(&path)
            .output()
            .expect("running readelf");
        let header = String::from_utf8_lossy(&header.stdout);
        assert!(header.contains("DYN (Shared object file)"), "{name}");
        assert!(header.contains("Advanced Micro Devices X86-64"), "{name}");

        assert_eq!(
            elf.dynamic_values("SONAME")
                .into_iter()
                .map(bracketed)
                .collect::<Vec<_>>(),
            [format!("lib{name}.so")],
            "{name}"
        );
        assert!(
            elf.needed().iter().all(|n| n.starts_with("libchain_")),
            "{name} needs {:?}",
            elf.needed()
        );
        assert!(!elf.has_dynamic("TEXTREL"), "{name}");
        let stack = elf.phdr("GNU_STACK").expect("PT_GNU_STACK");
        let expected = if *name == "execstack" { "RWE" } else { "RW" };
        assert_eq!(stack.flags, expected, "{name}");
    }
}

#[test]
fn builds_once_even_when_asked_concurrently() {
    let paths: Vec<PathBuf> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| fixture("hostimport")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(paths.windows(2).all(|w| w[0] == w[1]));
    let modified = || fs::metadata(&paths[0]).unwrap().modified().unwrap();
    let before = modified();
    assert_eq!(fixture("hostimport"), paths[0]);
    assert_eq!(modified(), before, "a fresh fixture must not be rebuilt");
    let leftovers: Vec<_> = fs::read_dir(fixture_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".libhostimport.so.{}.", std::process::id())))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

// ---------------------------------------------------------------------------
// One test per fixture
// ---------------------------------------------------------------------------

#[test]
fn basic() {
    let path = fixture("basic");
    let elf = Elf::read(&path);

    // Pointers in data: a local target (RELATIVE) and a preemptible one (64).
    assert!(elf.has_reloc("R_X86_64_RELATIVE", None));
    assert!(elf.has_reloc("R_X86_64_64", Some("basic_add")));
    // The exported IFUNC, called through the PLT, and the local one.
    assert_eq!(elf.defined("basic_ifunc").kind, "IFUNC");
    assert!(elf.has_reloc("R_X86_64_JUMP_SLOT", Some("basic_ifunc")));
    assert!(elf.has_reloc("R_X86_64_IRELATIVE", None));
    // Data reached through the GOT, including the weak miss.
    assert!(elf.has_reloc("R_X86_64_GLOB_DAT", Some("basic_counter")));
    assert!(elf.has_reloc("R_X86_64_GLOB_DAT", Some("basic_missing_weak")));
    assert!(elf.has_reloc("R_X86_64_JUMP_SLOT", Some("host_record")));
    assert_eq!(
        elf.undefined(),
        BTreeSet::from([("host_record", "GLOBAL"), ("basic_missing_weak", "WEAK")])
    );

    assert_eq!(elf.defined("basic_add").kind, "FUNC");
    assert_eq!(elf.defined("basic_counter").kind, "OBJECT");
    assert_eq!(elf.defined("basic_ops").size, 16);
    assert_eq!(elf.defined("basic_greeting").kind, "OBJECT");
    for f in [
        "basic_has_weak",
        "basic_call_ifunc",
        "basic_call_local_ifunc",
    ] {
        assert_eq!(elf.defined(f).kind, "FUNC");
    }
    assert!(elf.has_dynamic("INIT_ARRAY") && elf.has_dynamic("FINI_ARRAY"));
    assert!(!elf.has_dynamic("INIT") && !elf.has_dynamic("FINI"));

    let out = glibc(
        &path,
        &[
            "int:basic_counter",
            "call:basic_add:2,3",
            "fnptr:basic_ops:0:6,7",
            "fnptr:basic_ops:1:6,7",
            "str:basic_greeting",
            "call:basic_ifunc:7",
            "call:basic_call_ifunc:7",
            "call:basic_call_local_ifunc:7",
            "call:basic_has_weak",
        ],
    );
    assert_eq!(
        out,
        "init:\n\
         basic_counter = 42\n\
         basic_add = 5\n\
         basic_ops = 13\n\
         basic_ops = 42\n\
         basic_greeting = hello from basic\n\
         basic_ifunc = 21\n\
         basic_call_ifunc = 21\n\
         basic_call_local_ifunc = 35\n\
         basic_has_weak = 0\n\
         fini: 99\n"
    );
}

#[test]
fn order_matches_glibc() {
    let path = fixture("order");
    let elf = Elf::read(&path);
    assert!(elf.has_dynamic("INIT") && elf.has_dynamic("FINI"));
    assert_eq!(elf.dynamic_values("INIT_ARRAYSZ"), ["16 (bytes)"]);
    assert_eq!(elf.dynamic_values("FINI_ARRAYSZ"), ["16 (bytes)"]);
    assert_eq!(elf.undefined(), BTreeSet::from([("host_record", "GLOBAL")]));

    assert_eq!(
        glibc(&path, &[]),
        format!(
            "init:{}\nfini:{}\n",
            records(&[1, 2, 3]),
            records(&[10, 11, 12])
        )
    );
}

#[test]
fn chain_c_defines_two_versions() {
    let elf = Elf::read(&fixture("chain_c"));
    assert!(elf.needed().is_empty());
    assert_eq!(elf.verdefs, ["libchain_c.so", "VER_1", "VER_2"]);
    elf.defined("chain_versioned@VER_1");
    elf.defined("chain_versioned@@VER_2");
    elf.defined("chain_c_value@@VER_1");
    assert_eq!(elf.undefined(), BTreeSet::from([("host_record", "GLOBAL")]));
}

#[test]
fn chain_b_needs_c_and_both_versions() {
    let elf = Elf::read(&fixture("chain_b"));
    assert_eq!(elf.needed(), ["libchain_c.so"]);
    assert_eq!(
        elf.dynamic_values("RUNPATH"),
        ["Library runpath: [$ORIGIN]"]
    );
    assert!(!elf.has_dynamic("RPATH"));
    let needs: BTreeSet<_> = elf
        .verneeds
        .iter()
        .map(|(f, v)| (f.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        needs,
        BTreeSet::from([("libchain_c.so", "VER_1"), ("libchain_c.so", "VER_2")])
    );
    assert_eq!(
        elf.undefined(),
        BTreeSet::from([
            ("chain_c_value@VER_1", "GLOBAL"),
            ("chain_versioned@VER_1", "GLOBAL"),
            ("chain_versioned@VER_2", "GLOBAL"),
            ("host_record", "GLOBAL"),
        ])
    );
    for f in [
        "chain_b_value",
        "chain_b_versioned",
        "chain_b_versioned_old",
    ] {
        assert_eq!(elf.defined(f).kind, "FUNC");
    }

    let out = glibc(
        &fixture("chain_b"),
        &[
            "call:chain_b_value",
            "call:chain_b_versioned",
            "call:chain_b_versioned_old",
        ],
    );
    assert_eq!(
        out,
        format!(
            "init:{}\nchain_b_value = 110\nchain_b_versioned = 2\nchain_b_versioned_old = 1\nfini:{}\n",
            records(&['c' as i32, 'b' as i32]),
            records(&['B' as i32, 'C' as i32])
        )
    );
}

#[test]
fn chain_a_initialises_dependencies_first() {
    let path = fixture("chain_a");
    let elf = Elf::read(&path);
    assert_eq!(elf.needed(), ["libchain_b.so"]);
    assert_eq!(
        elf.dynamic_values("RUNPATH"),
        ["Library runpath: [$ORIGIN]"]
    );
    assert!(!elf.has_dynamic("RPATH"));
    assert!(elf.verneeds.is_empty());
    assert_eq!(
        elf.undefined(),
        BTreeSet::from([("chain_b_value", "GLOBAL"), ("host_record", "GLOBAL")])
    );

    assert_eq!(
        glibc(&path, &["call:chain_a_total"]),
        format!(
            "init:{}\nchain_a_total = 111\nfini:{}\n",
            records(&['c' as i32, 'b' as i32, 'a' as i32]),
            records(&['A' as i32, 'B' as i32, 'C' as i32])
        )
    );
}

#[test]
fn hostimport() {
    let path = fixture("hostimport");
    let elf = Elf::read(&path);
    assert_eq!(elf.undefined(), BTreeSet::from([("host_add", "GLOBAL")]));
    assert!(elf.has_reloc("R_X86_64_JUMP_SLOT", Some("host_add")));
    assert_eq!(
        glibc(&path, &["call:hostimport_call:2,3"]),
        "init:\nhostimport_call = 10\nfini:\n"
    );
}

#[test]
fn relr() {
    let path = fixture("relr");
    let elf = Elf::read(&path);
    for tag in ["RELR", "RELRSZ", "RELRENT"] {
        assert!(elf.has_dynamic(tag), "no DT_{tag}");
    }
    // 64 table entries and 8 name pointers, all packed: none left as RELA.
    assert_eq!(elf.relr_offsets, 72);
    assert!(!elf.has_reloc("R_X86_64_RELATIVE", None));
    assert!(elf.undefined().is_empty());

    assert_eq!(
        glibc(
            &path,
            &[
                "call:relr_count",
                "callstr:relr_get:0",
                "callstr:relr_get:37",
                "callstr:relr_get:63",
                "callstr:relr_pair_name:5",
                "call:relr_pair_value:5",
            ]
        ),
        "init:\n\
         relr_count = 64\n\
         relr_get = relr 0\n\
         relr_get = relr 37\n\
         relr_get = relr 63\n\
         relr_pair_name = pair 5\n\
         relr_pair_value = 35\n\
         fini:\n"
    );
}

#[test]
fn tls() {
    let path = fixture("tls");
    let elf = Elf::read(&path);
    assert!(elf.phdr("TLS").is_some(), "no PT_TLS");
    assert_eq!(elf.defined("tls_var").kind, "TLS");
    assert!(elf.has_reloc("R_X86_64_DTPMOD64", Some("tls_var")));
    assert!(elf.has_reloc("R_X86_64_DTPOFF64", Some("tls_var")));
    assert_eq!(
        elf.undefined(),
        BTreeSet::from([("__tls_get_addr", "GLOBAL")])
    );
    assert_eq!(
        glibc(&path, &["call:tls_get", "call:tls_zero_get"]),
        "init:\ntls_get = 7\ntls_zero_get = 0\nfini:\n"
    );
}

#[test]
fn execstack() {
    let elf = Elf::read(&fixture("execstack"));
    assert_eq!(elf.phdr("GNU_STACK").expect("PT_GNU_STACK").flags, "RWE");
    assert_eq!(elf.defined("execstack_answer").kind, "FUNC");
}

#[test]
fn manysyms_gnu_hash_only() {
    let path = fixture("manysyms");
    let elf = Elf::read(&path);
    assert!(elf.has_dynamic("GNU_HASH"));
    assert!(!elf.has_dynamic("HASH"));
    check_manysyms(&elf);
    assert_eq!(
        glibc(&path, &["call:manysyms_f0", "call:manysyms_f4999"]),
        "init:\nmanysyms_f0 = 0\nmanysyms_f4999 = 4999\nfini:\n"
    );
}

#[test]
fn manysyms_sysv_hash_only() {
    let path = fixture("manysyms_sysv");
    let elf = Elf::read(&path);
    assert!(elf.has_dynamic("HASH"));
    assert!(!elf.has_dynamic("GNU_HASH"));
    check_manysyms(&elf);
    assert_eq!(
        glibc(&path, &["call:manysyms_f2500"]),
        "init:\nmanysyms_f2500 = 2500\nfini:\n"
    );
}

fn check_manysyms(elf: &Elf) {
    let names: BTreeSet<&str> = elf
        .syms
        .iter()
        .filter(|s| !s.undefined && s.kind == "FUNC" && s.bind == "GLOBAL")
        .map(Sym::base)
        .collect();
    let expected: Vec<String> = (0..5000).map(|i| format!("manysyms_f{i}")).collect();
    assert_eq!(names.len(), 5000);
    assert!(expected.iter().all(|n| names.contains(n.as_str())));
    assert!(elf.undefined().is_empty());
    assert!(elf.relocs.is_empty(), "{:?}", elf.reloc_kinds());
}

#[test]
fn undefined() {
    let path = fixture("undefined");
    let elf = Elf::read(&path);
    assert_eq!(
        elf.undefined(),
        BTreeSet::from([
            ("another_missing_symbol", "GLOBAL"),
            ("no_such_symbol_anywhere", "GLOBAL"),
        ])
    );
    elf.defined("undefined_call");

    let out = glibc_run(&path, &[]);
    assert_eq!(out.status.code(), Some(2), "glibc must refuse to load it");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("undefined symbol: no_such_symbol_anywhere")
            || stderr.contains("undefined symbol: another_missing_symbol"),
        "{stderr}"
    );
}

#[test]
fn nostd() {
    let path = fixture("nostd");
    assert_eq!(path, fixture_dir().join("libnostd.so"));
    let elf = Elf::read(&path);
    assert!(elf.needed().is_empty(), "NEEDED {:?}", elf.needed());
    // The only import is the host's; nothing from libc or the C runtime.
    assert_eq!(elf.undefined(), BTreeSet::from([("host_add", "GLOBAL")]));
    assert!(elf.has_reloc("R_X86_64_RELATIVE", None));
    assert_eq!(elf.defined("NOSTD_TABLE").kind, "OBJECT");
    for f in [
        "nostd_fib",
        "nostd_uses_host",
        "nostd_table_len",
        "nostd_table_first_byte",
    ] {
        assert_eq!(elf.defined(f).kind, "FUNC");
    }

    assert_eq!(
        glibc(
            &path,
            &[
                "callu64:nostd_fib:10",
                "callu64:nostd_fib:90",
                "call:nostd_uses_host:41"
            ]
        ),
        "init:\n\
         nostd_fib = 55\n\
         nostd_fib = 2880067194370816120\n\
         nostd_uses_host = 42\n\
         fini:\n"
    );
}
