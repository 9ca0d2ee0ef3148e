//! Structured mutation of real objects: tens of thousands of broken copies of the
//! fixtures (and of a few system libraries, when present), each loaded with
//! `run_code(false)` in a child process.
//!
//! Owns: the deterministic mutation plan (a fixed-seed xorshift generator; the
//! same run every time), the parent that writes mutants in batches and watches
//! the children, and the child that loads a batch and reports one line per file.
//! A child that dies from a signal, panics, runs past its time limit, or leaves a
//! mapping of a file behind fails the test, and the offending file is kept in
//! `$CARGO_TARGET_TMPDIR/mutation/failures` to be replayed.
//!
//! A mutant that still loads (garbage in fields the loader never needs) is a
//! success: the promise is a typed error or a clean load, never a crash.
//!
//! Does not own: the hand-written cases with exact errors (`tests/hostile.rs`).

mod common;
#[path = "support/elf64.rs"]
mod elf64;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use elf64::*;
use std::ffi::{c_int, c_void};

use staticdl_loader::runtime::{iterate_loaded_phdrs, phdr_counts, DlPhdrInfo};
use staticdl_loader::{
    Error, ErrorKind, Library, LibraryProvider, Limits, LoadOptions, Namespace, SymbolSource,
};

/// Set in a child: the batch directory it loads.
const CHILD_ENV: &str = "STATICDL_MUTATION_CHILD";
/// Mutants per child process.
const BATCH: usize = 500;
/// Mutations the run must reach.
const MIN_MUTATIONS: usize = 20_000;
/// Mutations planned (spread over the sources that exist).
const PLANNED: usize = 21_000;
/// A child that takes longer than this is hung.
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);
/// Children running at once.
const PARALLEL: usize = 2;
/// The fixed seed.
const SEED: u64 = 0x5eed_0f57_a71c_d1d1;

const FIXTURES: &[&str] = &[
    "basic", "order", "chain_c", "relr", "manysyms", "nostd", "tls",
];
const SYSTEM_LIBS: &[&str] = &[
    "/lib/x86_64-linux-gnu/libz.so.1",
    "/lib/x86_64-linux-gnu/liblz4.so.1",
];

/// xorshift64*: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-enough in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A field the mutator may overwrite: file offset and width in bytes.
#[derive(Clone, Copy)]
struct Field {
    at: usize,
    width: usize,
    what: &'static str,
}

/// One object to mutate, with what was found in it.
struct Source {
    name: String,
    data: Vec<u8>,
    regions: Vec<(&'static str, std::ops::Range<usize>)>,
    fields: Vec<Field>,
    cuts: Vec<usize>,
}

impl Source {
    fn new(name: String, data: Vec<u8>) -> Source {
        let elf = Elf::new(data);
        let len = elf.data.len();
        let mut regions = vec![("ehdr", 0..64)];
        let phoff = elf.phoff();
        let phnum = elf.u16(E_PHNUM) as usize;
        regions.push(("phdrs", phoff..phoff + phnum * 56));
        let tables = elf.tables();
        regions.extend(tables.iter().cloned());
        // Writable data: what relocations add to, init and fini arrays.
        let writable: Vec<_> = elf
            .loads()
            .into_iter()
            .filter(|p| p.flags & 2 != 0 && p.filesz > 0)
            .map(|p| p.offset as usize..(p.offset + p.filesz) as usize)
            .collect();
        regions.extend(writable.iter().map(|r| ("rw data", r.clone())));
        regions.push(("file", 0..len));

        let mut fields = Vec::new();
        let mut f = |at: usize, width: usize, what: &'static str| {
            if at + width <= len {
                fields.push(Field { at, width, what });
            }
        };
        for (at, width) in [
            (4, 1),
            (5, 1),
            (6, 1),
            (16, 2),
            (18, 2),
            (20, 4),
            (24, 8),
            (32, 8),
            (40, 8),
            (48, 4),
            (52, 2),
            (54, 2),
            (56, 2),
            (58, 2),
            (60, 2),
            (62, 2),
        ] {
            f(at, width, "ehdr");
        }
        for p in elf.phdrs() {
            for (o, w) in [
                (0, 4),
                (4, 4),
                (8, 8),
                (16, 8),
                (24, 8),
                (32, 8),
                (40, 8),
                (48, 8),
            ] {
                f(p.at + o, w, "phdr");
            }
        }
        for r in &writable {
            let words = (r.end - r.start) / 8;
            let step = (words / 64).max(1);
            for i in (0..words).step_by(step) {
                f(r.start + i * 8, 8, "data word");
            }
        }
        let dynamic = elf.dynamic();
        for d in &dynamic {
            f(d.at, 8, "dyn tag");
            f(d.at + 8, 8, "dyn val");
        }
        // An entry just past DT_NULL, so a mutation can remove the terminator's
        // neighbour or extend the table.
        if let Some(d) = dynamic.last() {
            f(d.at + 16, 8, "dyn tag");
        }
        for (name, r) in &tables {
            let r = r.clone();
            match *name {
                "gnu_hash" | "hash" => {
                    for at in (r.start..r.end).step_by(4).take(24) {
                        f(at, 4, "hash word");
                    }
                }
                "dynsym" => {
                    let n = (r.end - r.start) / 24;
                    let step = (n / 64).max(1);
                    for i in (0..n).step_by(step) {
                        let at = r.start + i * 24;
                        for (o, w) in [(0, 4), (4, 1), (5, 1), (6, 2), (8, 8), (16, 8)] {
                            f(at + o, w, "sym");
                        }
                    }
                }
                "rela" | "jmprel" => {
                    let n = (r.end - r.start) / 24;
                    let step = (n / 64).max(1);
                    for i in (0..n).step_by(step) {
                        let at = r.start + i * 24;
                        for (o, w) in [(0, 8), (8, 4), (12, 4), (16, 8)] {
                            f(at + o, w, "rela");
                        }
                    }
                }
                "relr" => {
                    for at in (r.start..r.end).step_by(8).take(32) {
                        f(at, 8, "relr");
                    }
                }
                "versym" => {
                    for at in (r.start..r.end).step_by(2).take(32) {
                        f(at, 2, "versym");
                    }
                }
                "verdef" | "verneed" => {
                    for at in (r.start..r.end.min(r.start + 64)).step_by(2) {
                        f(at, 2, "version");
                        if (at - r.start) % 4 == 0 {
                            f(at, 4, "version");
                        }
                    }
                }
                _ => {}
            }
        }

        let mut cuts = vec![0, 1, 4, 5, 6, 16, 20, 32, 52, 63, 64, len - 1];
        for i in 0..=phnum {
            cuts.push(phoff + i * 56);
            cuts.push(phoff + i * 56 + 8);
        }
        for p in elf.phdrs() {
            cuts.push(p.offset as usize);
            cuts.push((p.offset + p.filesz) as usize);
            cuts.push(((p.offset + p.filesz) as usize).saturating_sub(1));
        }
        for s in elf.sections() {
            cuts.push(s.offset as usize);
            cuts.push((s.offset + s.size) as usize);
        }
        for (_, r) in &tables {
            cuts.push(r.start);
            cuts.push(r.end);
            cuts.push(r.start + (r.end - r.start) / 2);
        }
        cuts.push(elf.u64(E_SHOFF) as usize);
        cuts.retain(|&c| c < len);
        cuts.sort_unstable();
        cuts.dedup();
        Source {
            name,
            data: elf.data,
            regions,
            fields,
            cuts,
        }
    }
}

/// Values worth trying in a field of `width` bytes that held `v`.
fn interesting(rng: &mut Rng, v: u64, width: usize, file_len: u64) -> u64 {
    let max = if width == 8 {
        u64::MAX
    } else {
        (1u64 << (width * 8)) - 1
    };
    let candidates = [
        0,
        1,
        v.wrapping_add(1),
        v.wrapping_sub(1),
        v.wrapping_add(8),
        v.wrapping_add(4096),
        v.wrapping_sub(4096),
        v.wrapping_mul(2),
        v | 7,
        v & !0xfff,
        max,
        max / 2,
        max / 2 + 1,
        file_len,
        file_len + 1,
        0x1000,
        0x10_0000,
        1 << 32,
        1 << 40,
        u64::MAX - 7,
        rng.next(),
        rng.next() % 0x1_0000,
    ];
    candidates[rng.below(candidates.len())] & max
}

fn write_le(data: &mut [u8], at: usize, width: usize, v: u64) {
    data[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
}

fn read_le(data: &[u8], at: usize, width: usize) -> u64 {
    let mut b = [0u8; 8];
    b[..width].copy_from_slice(&data[at..at + width]);
    u64::from_le_bytes(b)
}

/// Mutation `i` of `src`: the bytes and a description.
fn mutate(src: &Source, i: usize, rng: &mut Rng) -> (Vec<u8>, String) {
    let len = src.data.len();
    // The first mutations cut the file at every boundary, then at random places.
    if i < src.cuts.len() {
        let at = src.cuts[i];
        return (src.data[..at].to_vec(), format!("truncate at {at:#x}"));
    }
    if i < src.cuts.len() + 150 {
        let at = rng.below(len);
        return (src.data[..at].to_vec(), format!("truncate at {at:#x}"));
    }
    let mut data = src.data.clone();
    let mut desc = String::new();
    // Mostly one change; sometimes a few at once.
    let changes = match rng.below(10) {
        0 => 3,
        1 | 2 => 2,
        _ => 1,
    };
    for _ in 0..changes {
        match rng.below(20) {
            // Set a structured field to an interesting value.
            0..=8 if !src.fields.is_empty() => {
                let f = src.fields[rng.below(src.fields.len())];
                let old = read_le(&data, f.at, f.width);
                let v = interesting(rng, old, f.width, len as u64);
                write_le(&mut data, f.at, f.width, v);
                let _ = write!(desc, "{} {:#x}: {old:#x} -> {v:#x}; ", f.what, f.at);
            }
            // Overwrite a few bytes of a region with random ones.
            9..=11 => {
                let (name, r) = &src.regions[rng.below(src.regions.len())];
                let at = r.start + rng.below(r.end - r.start);
                let n = (1 + rng.below(16)).min(len - at);
                for b in &mut data[at..at + n] {
                    *b = rng.next() as u8;
                }
                let _ = write!(desc, "splat {name} {at:#x}+{n}; ");
            }
            // Flip bits in a region.
            _ => {
                let (name, r) = &src.regions[rng.below(src.regions.len())];
                let at = r.start + rng.below(r.end - r.start);
                let bit = rng.below(8);
                data[at] ^= 1 << bit;
                let _ = write!(desc, "flip {name} {at:#x} bit {bit}; ");
            }
        }
    }
    (data, desc)
}

fn sources() -> Vec<Source> {
    let mut out = Vec::new();
    for f in FIXTURES {
        let p = common::fixture(f);
        out.push(Source::new(f.to_string(), fs::read(&p).unwrap()));
    }
    for p in SYSTEM_LIBS {
        match fs::read(p) {
            Ok(d) => out.push(Source::new(
                Path::new(p)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                d,
            )),
            Err(e) => println!("skipping {p}: {e}"),
        }
    }
    out
}

// ------------------------------------------------------------------- child

extern "C" fn dummy() {}

/// Answers plausible names (printable ASCII) with a harmless address, so
/// imports resolve and relocation runs to the end; a name a mutation broke
/// stays unresolved.
fn plausible(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|b| b.is_ascii_graphic())
}

struct AnyLib;

impl LibraryProvider for AnyLib {
    fn provide(&self, name: &str) -> Option<std::sync::Arc<dyn SymbolSource>> {
        (name.starts_with("lib") && name.contains(".so") && plausible(name.as_bytes())).then(|| {
            std::sync::Arc::new(|n: &[u8], _: Option<&[u8]>| {
                plausible(n).then_some(dummy as extern "C" fn() as usize)
            }) as std::sync::Arc<dyn SymbolSource>
        })
    }
}

fn child_opts() -> LoadOptions {
    // A lookup of a TLS symbol allocates the calling thread's block, p_memsz
    // bytes (bounded by the image-size limit); keep that small here.
    let limits = Limits {
        max_image_size: 1 << 30,
        ..Limits::default()
    };
    LoadOptions::new()
        .limits(limits)
        .run_code(false)
        .system_dirs(false)
        .provider(AnyLib)
        .host_symbols(|n: &[u8], _: Option<&[u8]>| {
            plausible(n).then_some(dummy as extern "C" fn() as usize)
        })
}

fn variant(e: &Error) -> &'static str {
    match e.kind() {
        ErrorKind::Io(_) => "Io",
        ErrorKind::NotRegularFile { .. } => "NotRegularFile",
        ErrorKind::NotElf => "NotElf",
        ErrorKind::WrongArch { .. } => "WrongArch",
        ErrorKind::NotSharedObject { .. } => "NotSharedObject",
        ErrorKind::Malformed { .. } => "Malformed",
        ErrorKind::LimitExceeded { .. } => "LimitExceeded",
        ErrorKind::ExecutableStack => "ExecutableStack",
        ErrorKind::TlsUnsupported { .. } => "TlsUnsupported",
        ErrorKind::WritableCode { .. } => "WritableCode",
        ErrorKind::UnsupportedRelocation { .. } => "UnsupportedRelocation",
        ErrorKind::RelocationOverflow { .. } => "RelocationOverflow",
        ErrorKind::UnresolvedSymbols { .. } => "UnresolvedSymbols",
        ErrorKind::LibraryNotFound { .. } => "LibraryNotFound",
        ErrorKind::Map { .. } => "Map",
        _ => "other",
    }
}

/// Everything a user might do with a loaded object, short of running it.
fn exercise(lib: &Library) {
    let _ = lib.path();
    let _ = lib.soname();
    let _ = lib.needed();
    let _ = lib.address_range();
    let exports = lib.exports();
    for name in exports.iter().take(24) {
        let _ = lib.symbol(name);
    }
    for name in [
        "basic_add",
        "order_value",
        "chain_versioned@VER_1",
        "chain_versioned",
        "manysyms_f42",
        "nostd_fib",
        "zlibVersion",
        "LZ4_versionNumber",
        "tls_var",
        "tls_zero",
        "no_such_symbol",
        "",
    ] {
        let _ = lib.symbol(name);
    }
}

/// What an unwinder does with the process-wide object list: read every program
/// header the loader publishes for every object (a fault here is a crash of the
/// child, and reported).
fn walk_object_list() -> usize {
    unsafe extern "C" fn visit(info: *mut DlPhdrInfo, _: usize, data: *mut c_void) -> c_int {
        // SAFETY: the loader passes a valid `DlPhdrInfo`; `data` is the `usize` below.
        unsafe {
            let info = &*info;
            for i in 0..usize::from(info.dlpi_phnum) {
                // Aligned, whole `Elf64_Phdr` records: a misaligned or unreadable
                // table aborts the child.
                let ph = (info.dlpi_phdr as *const [u64; 7]).add(i);
                let _ = std::ptr::read_volatile(ph);
            }
            let _ = std::ffi::CStr::from_ptr(info.dlpi_name);
            *(data as *mut usize) += 1;
        }
        0
    }
    let mut n = 0usize;
    // SAFETY: `visit` matches the callback contract and neither loads nor unloads.
    unsafe { iterate_loaded_phdrs(visit, &mut n as *mut usize as *mut c_void) };
    n
}

/// Lines of this process's maps that name `path`.
fn mapped(path: &Path) -> Vec<String> {
    let maps = fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let p = path.to_string_lossy();
    maps.lines()
        .filter(|l| l.ends_with(&*p))
        .map(str::to_owned)
        .collect()
}

/// Load one file; the outcome, and what went wrong around it (empty if nothing).
fn load_one(path: &Path) -> (String, String) {
    let mut problems = String::new();
    let opts = child_opts();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ns = Namespace::new();
        match ns.load(path, &opts) {
            Ok(lib) => {
                let mut wx = String::new();
                for l in mapped(path) {
                    let perms = l.split_whitespace().nth(1).unwrap_or("");
                    if perms.as_bytes().get(1) == Some(&b'w')
                        && perms.as_bytes().get(2) == Some(&b'x')
                    {
                        wx = format!("W+X mapping {l}; ");
                    }
                }
                exercise(&lib);
                if walk_object_list() == 0 {
                    wx.push_str("loaded object missing from the object list; ");
                }
                drop(lib);
                ("ok".to_string(), wx)
            }
            Err(e) => {
                // For a missing dependency, the path is the object that needs it:
                // the input too.
                let named = e.path() == path && e.to_string().contains(&*path.to_string_lossy());
                let bad = if named {
                    String::new()
                } else {
                    format!("error does not name the file: {e}; ")
                };
                (variant(&e).to_string(), bad)
            }
        }
    }));
    let outcome = match r {
        Ok((o, p)) => {
            problems.push_str(&p);
            o
        }
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            problems.push_str(&format!("panic: {msg}; "));
            "panic".to_string()
        }
    };
    let (adds, subs) = phdr_counts();
    if adds != subs {
        problems.push_str(&format!(
            "object list not empty after unload ({adds} added, {subs} removed); "
        ));
    }
    let left = mapped(path);
    if !left.is_empty() {
        problems.push_str(&format!("mapping left after drop: {left:?}; "));
    }
    (outcome, problems)
}

/// The child: loads every `*.so` in the batch directory, in name order, writing
/// `<file>\t<outcome>\t<problems>` per file to `results`.
#[test]
fn mutation_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return; // an ordinary run: nothing to do
    };
    let dir = PathBuf::from(dir);
    std::panic::set_hook(Box::new(|_| {})); // panics are reported per file
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "so"))
        .collect();
    files.sort();
    let mut out = fs::File::create(dir.join("results")).unwrap();
    for f in &files {
        let (outcome, problems) = load_one(f);
        let name = f.file_name().unwrap().to_string_lossy();
        writeln!(out, "{name}\t{outcome}\t{problems}").unwrap();
    }
}

// ------------------------------------------------------------------ parent

struct Running {
    child: Child,
    dir: PathBuf,
    started: Instant,
    files: Vec<String>,
}

#[derive(Default)]
struct Tally {
    total: usize,
    outcomes: BTreeMap<String, usize>,
    by_source: BTreeMap<String, BTreeMap<String, usize>>,
    failures: Vec<String>,
}

fn spawn(dir: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "mutation_child",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(CHILD_ENV, dir)
        .env("RUST_BACKTRACE", "0")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(fs::File::create(dir.join("stdout")).unwrap())
        .stderr(fs::File::create(dir.join("stderr")).unwrap())
        .spawn()
        .expect("spawning the child")
}

/// Check a finished (or killed) child's batch; keep what failed.
fn collect(
    run: Running,
    status: Result<std::process::ExitStatus, &str>,
    t: &mut Tally,
    failures_dir: &Path,
) {
    let manifest: BTreeMap<String, (String, String)> = fs::read_to_string(run.dir.join("manifest"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut it = l.splitn(3, '\t');
            let f = it.next().unwrap().to_string();
            let s = it.next().unwrap().to_string();
            let d = it.next().unwrap_or("").to_string();
            (f, (s, d))
        })
        .collect();
    let results = fs::read_to_string(run.dir.join("results")).unwrap_or_default();
    let mut seen = 0;
    let keep = |file: &str, why: String, t: &mut Tally| {
        let (src, desc) = manifest.get(file).cloned().unwrap_or_default();
        let kept = failures_dir.join(format!("{src}-{file}"));
        let _ = fs::copy(run.dir.join(file), &kept);
        t.failures
            .push(format!("{} ({src}: {desc}): {why}", kept.display()));
    };
    for line in results.lines() {
        let mut it = line.splitn(3, '\t');
        let (file, outcome, problems) = (
            it.next().unwrap_or(""),
            it.next().unwrap_or(""),
            it.next().unwrap_or(""),
        );
        seen += 1;
        t.total += 1;
        *t.outcomes.entry(outcome.to_string()).or_default() += 1;
        let src = manifest.get(file).map(|m| m.0.clone()).unwrap_or_default();
        *t.by_source
            .entry(src)
            .or_default()
            .entry(outcome.to_string())
            .or_default() += 1;
        if !problems.is_empty() {
            keep(file, problems.to_string(), t);
        }
    }
    let ok_exit = matches!(&status, Ok(s) if s.success());
    if !ok_exit || seen != run.files.len() {
        let culprit = run.files.get(seen).cloned().unwrap_or_default();
        let stderr = fs::read_to_string(run.dir.join("stderr")).unwrap_or_default();
        let why = format!(
            "child {status:?} after {seen} of {} files; stderr: {}",
            run.files.len(),
            stderr.chars().take(2000).collect::<String>()
        );
        if culprit.is_empty() {
            t.failures.push(why);
        } else {
            keep(&culprit, why, t);
        }
    }
    let _ = fs::remove_dir_all(&run.dir);
}

fn wait_one(running: &mut Vec<Running>, t: &mut Tally, failures_dir: &Path) {
    loop {
        for i in 0..running.len() {
            let r = &mut running[i];
            let status = match r.child.try_wait() {
                Ok(Some(s)) => Ok(s),
                Ok(None) if r.started.elapsed() > CHILD_TIMEOUT => {
                    let _ = r.child.kill();
                    let _ = r.child.wait();
                    Err("killed: timed out")
                }
                Ok(None) => continue,
                Err(_) => Err("wait failed"),
            };
            let run = running.swap_remove(i);
            collect(run, status, t, failures_dir);
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Where the batches are written: a tmpfs when there is one (a gigabyte of
/// mutants goes through it), removed when the test ends, however it ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() && fs::metadata(shm).is_ok_and(|m| !m.permissions().readonly()) {
            shm.to_path_buf()
        } else {
            PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        };
        let dir = base.join(format!("staticdl-mutation-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn mutated_objects_load_or_fail_cleanly() {
    let started = Instant::now();
    let sources = sources();
    let per_source = PLANNED.div_ceil(sources.len());
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mutation");
    let _ = fs::remove_dir_all(&kept);
    let failures_dir = kept.join("failures");
    fs::create_dir_all(&failures_dir).unwrap();
    let work = Scratch::new();
    let work = &work.0;

    let mut rng = Rng(SEED);
    // Interleave the sources, so every batch mixes small and large objects.
    let plan: Vec<(usize, usize)> = (0..per_source)
        .flat_map(|i| (0..sources.len()).map(move |s| (s, i)))
        .collect();
    let mut t = Tally::default();
    let mut running: Vec<Running> = Vec::new();
    let mut write_time = Duration::ZERO;
    for (b, chunk) in plan.chunks(BATCH).enumerate() {
        let w = Instant::now();
        let dir = work.join(format!("batch-{b:03}"));
        fs::create_dir_all(&dir).unwrap();
        let mut manifest = String::new();
        let mut files = Vec::new();
        for (k, &(s, i)) in chunk.iter().enumerate() {
            let src = &sources[s];
            let (bytes, desc) = mutate(src, i, &mut rng);
            let file = format!("{:03}-{k:03}.so", b);
            fs::write(dir.join(&file), &bytes).unwrap();
            let _ = writeln!(manifest, "{file}\t{}\t{desc}", src.name);
            files.push(file);
        }
        fs::write(dir.join("manifest"), manifest).unwrap();
        write_time += w.elapsed();
        while running.len() >= PARALLEL {
            wait_one(&mut running, &mut t, &failures_dir);
        }
        running.push(Running {
            child: spawn(&dir),
            dir,
            started: Instant::now(),
            files,
        });
    }
    while !running.is_empty() {
        wait_one(&mut running, &mut t, &failures_dir);
    }

    println!(
        "{} mutations of {} objects in {:.1?} (writing mutants {:.1?})",
        t.total,
        sources.len(),
        started.elapsed(),
        write_time
    );
    for (o, n) in &t.outcomes {
        println!("  {o:<24} {n:>6}");
    }
    for (s, m) in &t.by_source {
        let parts: Vec<String> = m.iter().map(|(o, n)| format!("{o} {n}")).collect();
        println!("  {s}: {}", parts.join(", "));
    }
    assert!(
        t.failures.is_empty(),
        "{} failures (mutants kept in {}):\n{}",
        t.failures.len(),
        failures_dir.display(),
        t.failures.join("\n")
    );
    assert!(t.total >= MIN_MUTATIONS, "only {} mutations ran", t.total);
    assert!(
        t.outcomes.get("ok").copied().unwrap_or(0) > 0,
        "nothing loaded at all"
    );
}
