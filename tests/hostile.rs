//! Bad input, one case per test: files that are missing, not ELF, for another
//! machine, truncated, or carefully broken copies of the real fixtures.
//!
//! Every case is loaded with `run_code(false)`, must fail with the exact
//! [`Error`] variant that describes it, must name the file in its message, and
//! must leave no mapping of the file in `/proc/self/maps`. The copies are
//! patched through `support/elf64.rs`, which finds each field by parsing the
//! fixture's own headers, so the tests follow the fixtures when the toolchain
//! lays them out differently.

mod common;
#[path = "support/elf64.rs"]
mod elf64;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use elf64::*;
use staticdl_loader::{Error, ErrorKind, Limits, LoadOptions, Namespace};

/// Where this binary's inputs go.
fn dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    std::fs::create_dir_all(&d).unwrap();
    d
}

extern "C" fn host_record(_: i32) {}

extern "C" fn host_add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}

/// Options for hostile input: nothing of the object runs, nothing is searched;
/// the fixtures' host import is there, so a load gets as far as the input allows.
fn untrusted() -> LoadOptions {
    LoadOptions::new()
        .run_code(false)
        .system_dirs(false)
        .host_symbols(|name: &[u8], _: Option<&[u8]>| match name {
            b"host_record" => Some(host_record as extern "C" fn(i32) as usize),
            b"host_add" => Some(host_add as extern "C" fn(i32, i32) -> i32 as usize),
            b"__tls_get_addr" => Some(staticdl_loader::runtime::tls_get_addr_address()),
            _ => None,
        })
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A copy of fixture `fixture` named `name`, with `patch` applied.
fn patched(fixture: &str, name: &str, patch: impl FnOnce(&mut Elf)) -> PathBuf {
    let mut elf = Elf::read(&common::fixture(fixture));
    patch(&mut elf);
    write(name, &elf.data)
}

/// Lines of `/proc/self/maps` that map `path`.
fn maps_of(path: &Path) -> Vec<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let p = path.to_string_lossy();
    maps.lines()
        .filter(|l| l.ends_with(&*p))
        .map(str::to_owned)
        .collect()
}

/// Load `path` with `opts`; it must fail, name `path` and leave nothing mapped.
fn fails_with(path: &Path, opts: &LoadOptions) -> Error {
    let e = match Namespace::new().load(path, opts) {
        Ok(lib) => panic!("{} loaded: {lib:?}", path.display()),
        Err(e) => e,
    };
    assert_eq!(e.path(), path, "{e}");
    assert!(
        e.to_string().contains(&*path.to_string_lossy()),
        "message does not name the file: {e}"
    );
    assert_eq!(
        maps_of(path),
        Vec::<String>::new(),
        "a failed load left a mapping"
    );
    e
}

fn fails(path: &Path) -> Error {
    fails_with(path, &untrusted())
}

fn malformed(path: &Path, what: &str) {
    let e = fails(path);
    match e.kind() {
        ErrorKind::Malformed { what: w, .. } if w.contains(what) => {}
        _ => panic!("expected Malformed containing {what:?}, got {e:?}: {e}"),
    }
}

/// The `PT_LOAD` with the given flags (`PF_R` 4, `PF_W` 2, `PF_X` 1).
fn load_with_flags(elf: &Elf, flags: u32) -> Phdr {
    elf.loads()
        .into_iter()
        .find(|p| p.flags == flags)
        .unwrap_or_else(|| panic!("no PT_LOAD with flags {flags}"))
}

/// The virtual address of section `name`.
fn section_addr(elf: &Elf, name: &str) -> u64 {
    elf.section(name)
        .unwrap_or_else(|| panic!("no section {name}"))
        .addr
}

fn gcc(args: &[&str]) {
    let out = Command::new("gcc")
        .args(args)
        .output()
        .expect("running gcc");
    assert!(
        out.status.success(),
        "gcc {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------- files

#[test]
fn missing_file() {
    let p = dir().join("does-not-exist.so");
    let e = fails(&p);
    assert!(
        matches!(e.kind(), ErrorKind::Io(source) if source.kind() == std::io::ErrorKind::NotFound),
        "{e:?}"
    );
}

#[test]
fn directory() {
    let p = dir().join("a-directory.so");
    std::fs::create_dir_all(&p).unwrap();
    let e = fails(&p);
    assert!(
        matches!(e.kind(), ErrorKind::NotRegularFile { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("directory"), "{e}");
}

#[test]
fn fifo_is_refused_without_blocking() {
    let p = dir().join("a-fifo.so");
    let _ = std::fs::remove_file(&p);
    let st = Command::new("mkfifo").arg(&p).status().expect("mkfifo");
    assert!(st.success());
    // Opening a FIFO for reading blocks until a writer comes; the loader must not.
    let (tx, rx) = std::sync::mpsc::channel();
    let q = p.clone();
    std::thread::spawn(move || {
        let r = Namespace::new().load(&q, &untrusted()).map(|_| ());
        let _ = tx.send(r);
    });
    let r = rx.recv_timeout(std::time::Duration::from_secs(10));
    if r.is_err() {
        // Release the blocked thread before failing.
        let _ = std::fs::OpenOptions::new().write(true).open(&p);
        panic!("loading a FIFO blocked");
    }
    let e = r.unwrap().unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::NotRegularFile { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("not a regular file"), "{e}");
}

#[test]
fn empty_file() {
    let p = write("empty.so", b"");
    assert!(matches!(fails(&p).kind(), ErrorKind::NotElf));
}

#[test]
fn not_elf() {
    let p = write("text.so", b"#!/bin/sh\necho this is not a shared object\n");
    assert!(matches!(fails(&p).kind(), ErrorKind::NotElf));
}

#[test]
fn truncated_elf_header() {
    let data = std::fs::read(common::fixture("basic")).unwrap();
    let p = write("truncated-header.so", &data[..40]);
    malformed(&p, "shorter than an ELF header");
}

#[test]
fn elf32() {
    let p = patched("basic", "elf32.so", |e| e.data[4] = 1);
    let e = fails(&p);
    assert!(
        matches!(e.kind(), ErrorKind::WrongArch { found, .. } if found == "ELF32"),
        "{e:?}"
    );
}

#[test]
fn big_endian() {
    let p = patched("basic", "big-endian.so", |e| e.data[5] = 2);
    let e = fails(&p);
    assert!(
        matches!(e.kind(), ErrorKind::WrongArch { found, .. } if found.contains("big-endian")),
        "{e:?}"
    );
}

#[test]
fn aarch64_machine() {
    let p = patched("basic", "aarch64.so", |e| e.set16(E_MACHINE, 183));
    let e = fails(&p);
    assert!(matches!(e.kind(), ErrorKind::WrongArch { .. }), "{e:?}");
    assert!(e.to_string().contains("AArch64"), "{e}");
}

#[test]
fn et_exec_by_patch() {
    let p = patched("basic", "et-exec.so", |e| e.set16(E_TYPE, 2));
    let e = fails(&p);
    assert!(
        matches!(e.kind(), ErrorKind::NotSharedObject { found, .. } if found.contains("ET_EXEC")),
        "{e:?}"
    );
}

#[test]
fn real_non_pie_executable() {
    let src = write("exe.c", b"int main(void) { return 0; }\n");
    let exe = dir().join("non-pie-exe");
    gcc(&[
        "-no-pie",
        "-fno-pie",
        "-o",
        exe.to_str().unwrap(),
        src.to_str().unwrap(),
    ]);
    let e = fails(&exe);
    assert!(
        matches!(e.kind(), ErrorKind::NotSharedObject { found, .. } if found.contains("ET_EXEC")),
        "{e:?}"
    );
}

#[test]
fn real_pie_executable() {
    let src = write("pie.c", b"int main(void) { return 0; }\n");
    let exe = dir().join("pie-exe");
    gcc(&[
        "-pie",
        "-fPIE",
        "-o",
        exe.to_str().unwrap(),
        src.to_str().unwrap(),
    ]);
    let head = Elf::read(&exe);
    assert_eq!(head.u16(E_TYPE), 3, "gcc -pie makes ET_DYN");
    let e = fails(&exe);
    assert!(
        matches!(e.kind(), ErrorKind::NotSharedObject { found, .. } if found.contains("DF_1_PIE")),
        "{e:?}"
    );
}

/// A library that can also be run carries `PT_INTERP` (as `libc.so.6` and
/// `libcap.so.2` do); glibc loads it, since only `DF_1_PIE` marks an executable.
#[test]
fn library_with_pt_interp_loads() {
    let src = write(
        "runnable.c",
        b"const char interp[] __attribute__((section(\".interp\"))) = \"/lib64/ld-linux-x86-64.so.2\";\n\
          int runnable_answer(void) { return 42; }\n",
    );
    let lib = dir().join("librunnable.so");
    gcc(&[
        "-shared",
        "-fPIC",
        "-nostdlib",
        "-o",
        lib.to_str().unwrap(),
        src.to_str().unwrap(),
    ]);
    let headers = common::readelf("-l", &lib);
    assert!(headers.contains("INTERP"), "no PT_INTERP:\n{headers}");
    assert!(!common::readelf("-d", &lib).contains("PIE"));
    let lib = Namespace::new()
        .load(&lib, &untrusted())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(lib.symbol("runnable_answer").is_some());
}

// ---------------------------------------------------------------- program headers

#[test]
fn program_headers_past_eof() {
    let p = patched("basic", "phdrs-past-eof.so", |e| {
        let len = e.data.len() as u64;
        e.set64(E_PHOFF, len - 20);
    });
    malformed(&p, "program headers lie outside the file");
}

#[test]
fn program_header_offset_overflows() {
    let p = patched("basic", "phoff-overflow.so", |e| {
        e.set64(E_PHOFF, u64::MAX - 8)
    });
    malformed(&p, "program headers lie outside the file");
}

#[test]
fn pt_load_past_eof() {
    let p = patched("basic", "load-past-eof.so", |e| {
        let text = load_with_flags(e, 5);
        let len = e.data.len() as u64;
        // Keep p_offset congruent with p_vaddr, so only the range is wrong.
        e.set64(
            text.at + P_OFFSET,
            ((len + 0x10000) & !0xfff) + (text.vaddr & 0xfff),
        );
    });
    malformed(&p, "PT_LOAD file range lies outside the file");
}

#[test]
fn pt_load_filesz_over_memsz() {
    let p = patched("basic", "filesz-over-memsz.so", |e| {
        let text = load_with_flags(e, 5);
        e.set64(text.at + P_MEMSZ, text.filesz - 1);
    });
    malformed(&p, "p_filesz exceeds p_memsz");
}

#[test]
fn overlapping_pt_loads() {
    let p = patched("basic", "overlap.so", |e| {
        let text = load_with_flags(e, 5);
        // Move the code segment onto the first page, which the first PT_LOAD maps.
        e.set64(text.at + P_VADDR, text.vaddr & 0xfff);
    });
    malformed(&p, "overlap");
}

#[test]
fn pt_load_claiming_terabytes() {
    let p = patched("basic", "terabytes.so", |e| {
        let data = load_with_flags(e, 6);
        e.set64(data.at + P_MEMSZ, 1 << 42);
    });
    let small = Limits {
        max_image_size: 1 << 30,
        ..Default::default()
    };
    let e = fails_with(&p, &untrusted().limits(small));
    assert!(
        matches!(e.kind(), ErrorKind::LimitExceeded { what, limit, .. } if *what == "mapped image size" && *limit == 1 << 30),
        "{e:?}"
    );
    // The default limit (4 GiB) refuses it too.
    let e = fails(&p);
    assert!(matches!(e.kind(), ErrorKind::LimitExceeded { .. }), "{e:?}");
}

#[test]
fn image_size_limit_is_configurable() {
    let p = common::fixture("basic");
    let tiny = Limits {
        max_image_size: 4096,
        ..Default::default()
    };
    let e = fails_with(&p, &untrusted().limits(tiny));
    assert!(
        matches!(e.kind(), ErrorKind::LimitExceeded { value, .. } if *value > 4096),
        "{e:?}"
    );
}

#[test]
fn program_header_count_limit() {
    let p = common::fixture("basic");
    let few = Limits {
        max_program_headers: 2,
        ..Default::default()
    };
    let e = fails_with(&p, &untrusted().limits(few));
    assert!(
        matches!(e.kind(), ErrorKind::LimitExceeded { what, .. } if what.contains("program header")),
        "{e:?}"
    );
    let few = Limits {
        max_load_segments: 2,
        ..Default::default()
    };
    let e = fails_with(&p, &untrusted().limits(few));
    assert!(
        matches!(e.kind(), ErrorKind::LimitExceeded { what, .. } if what.contains("PT_LOAD")),
        "{e:?}"
    );
}

#[test]
fn writable_and_executable_pt_load() {
    let p = patched("basic", "wx.so", |e| {
        let text = load_with_flags(e, 5);
        e.set32(text.at + P_FLAGS, 7);
    });
    let e = fails(&p);
    assert!(matches!(e.kind(), ErrorKind::WritableCode { .. }), "{e:?}");
}

#[test]
fn text_relocations_are_refused() {
    let p = patched("basic", "textrel.so", |e| {
        // Turn the first DT_NULL-padding entry after the real ones into DT_TEXTREL.
        let all = e.dynamic_all();
        let null = all.iter().position(|d| d.tag == DT_NULL).unwrap();
        assert!(null + 1 < all.len(), "fixture has spare dynamic entries");
        e.set64(all[null].at, DT_TEXTREL);
    });
    let e = fails(&p);
    assert!(
        matches!(e.kind(), ErrorKind::WritableCode { what, .. } if what.contains("DT_TEXTREL")),
        "{e:?}"
    );
}

#[test]
fn no_pt_dynamic() {
    let p = patched("basic", "no-dynamic.so", |e| {
        let d = e.phdr(PT_DYNAMIC).unwrap();
        e.set32(d.at + P_TYPE, 0); // PT_NULL
    });
    malformed(&p, "no PT_DYNAMIC");
}

#[test]
fn pt_dynamic_outside_segments() {
    let p = patched("basic", "dynamic-outside.so", |e| {
        let d = e.phdr(PT_DYNAMIC).unwrap();
        e.set64(d.at + P_VADDR, 0x4000_0000);
    });
    malformed(&p, "PT_DYNAMIC does not lie inside a PT_LOAD");
}

#[test]
fn pt_gnu_relro_outside_writable_segments() {
    let p = patched("basic", "relro-outside.so", |e| {
        let r = e.phdr(PT_GNU_RELRO).unwrap();
        let text = load_with_flags(e, 5);
        e.set64(r.at + P_VADDR, text.vaddr);
    });
    malformed(&p, "PT_GNU_RELRO");
}

// ---------------------------------------------------------------- dynamic section

#[test]
fn dynamic_without_dt_null() {
    let p = patched("basic", "no-dt-null.so", |e| {
        for d in e.dynamic_all() {
            if d.tag == DT_NULL {
                e.set64(d.at, DT_DEBUG);
            }
        }
    });
    malformed(&p, "no DT_NULL");
}

fn set_dyn(e: &mut Elf, tag: u64, val: u64) {
    let d = e
        .dyn_entry(tag)
        .unwrap_or_else(|| panic!("no dynamic tag {tag:#x}"));
    e.set64(d.at + 8, val);
}

#[test]
fn strtab_out_of_image() {
    let p = patched("basic", "strtab-out.so", |e| {
        set_dyn(e, DT_STRTAB, 0x7fff_0000)
    });
    malformed(&p, "DT_STRTAB does not lie inside");
}

#[test]
fn strsz_past_segment() {
    let p = patched("basic", "strsz-out.so", |e| set_dyn(e, DT_STRSZ, 0x10_0000));
    malformed(&p, "DT_STRTAB does not lie inside");
}

#[test]
fn symtab_out_of_image() {
    let p = patched("basic", "symtab-out.so", |e| {
        set_dyn(e, DT_SYMTAB, u64::MAX - 4)
    });
    malformed(&p, "DT_SYMTAB does not lie inside");
}

#[test]
fn gnu_hash_out_of_image() {
    let p = patched("basic", "gnu-hash-out.so", |e| {
        set_dyn(e, DT_GNU_HASH, 0x1234_5678_9000)
    });
    malformed(&p, "DT_GNU_HASH does not lie inside");
}

#[test]
fn sysv_hash_out_of_image() {
    let p = patched("manysyms_sysv", "sysv-hash-out.so", |e| {
        set_dyn(e, DT_HASH, 1 << 40)
    });
    malformed(&p, "DT_HASH does not lie inside");
}

#[test]
fn sysv_hash_counting_too_many_buckets() {
    let p = patched("manysyms_sysv", "sysv-nbucket.so", |e| {
        let at = e.off(e.dyn_val(DT_HASH).unwrap()).unwrap();
        e.set32(at, u32::MAX);
    });
    malformed(&p, "DT_HASH buckets");
}

#[test]
fn gnu_hash_bloom_size_not_a_power_of_two() {
    let p = patched("basic", "bloom-3.so", |e| {
        let at = e.off(e.dyn_val(DT_GNU_HASH).unwrap()).unwrap();
        e.set32(at + 8, 3);
    });
    malformed(&p, "bloom size must be a power of two");
}

#[test]
fn gnu_hash_bloom_shift_wider_than_the_hash() {
    // The hash is 32 bits; a shift of 32..63 comes from no linker, but glibc
    // accepts it (it shifts a 64-bit value). It must not overflow the lookup.
    let p = patched("basic", "bloom-shift.so", |e| {
        let at = e.off(e.dyn_val(DT_GNU_HASH).unwrap()).unwrap();
        e.set32(at + 12, 40);
    });
    let lib = Namespace::new().load(&p, &untrusted()).expect("loads");
    let _ = lib.symbol("basic_add");
    let _ = lib.symbol("no_such_symbol");
    let _ = lib.exports();
    drop(lib);
    assert!(maps_of(&p).is_empty());
    // 64 and over is refused.
    let p = patched("basic", "bloom-shift-64.so", |e| {
        let at = e.off(e.dyn_val(DT_GNU_HASH).unwrap()).unwrap();
        e.set32(at + 12, 64);
    });
    malformed(&p, "DT_GNU_HASH header");
}

#[test]
fn init_array_out_of_image() {
    let p = patched("basic", "init-array-out.so", |e| {
        set_dyn(e, DT_INIT_ARRAYSZ, 0x10_0000)
    });
    malformed(&p, "DT_INIT_ARRAY does not lie inside");
}

#[test]
fn init_array_entry_outside_code() {
    // A relocated init pointer that lands in data must be refused before any
    // init runs, even when code would be allowed to run.
    let p = patched("basic", "init-into-data.so", |e| {
        let arr = e.dyn_val(DT_INIT_ARRAY).unwrap();
        // The entry is filled by an R_X86_64_RELATIVE: point its addend at .rodata.
        let rodata = section_addr(e, ".rodata");
        let at = e
            .relas()
            .into_iter()
            .find(|&a| e.u64(a) == arr)
            .expect("a relocation of the init array");
        e.set64(at + 16, rodata);
    });
    let e = fails_with(&p, &untrusted().run_code(true));
    assert!(
        matches!(e.kind(), ErrorKind::Malformed { what, .. } if what.contains("DT_INIT_ARRAY function")),
        "{e:?}"
    );
}

// ---------------------------------------------------------------- relocations

/// File offset of the first relocation of `kind` (`r_info` low word).
fn rela_of_type(e: &Elf, kind: u32) -> usize {
    e.relas()
        .into_iter()
        .find(|&a| e.u64(a + 8) as u32 == kind)
        .unwrap_or_else(|| panic!("no relocation of type {kind}"))
}

#[test]
fn relocation_target_in_code() {
    let p = patched("basic", "reloc-into-text.so", |e| {
        let text = section_addr(e, ".text");
        let at = rela_of_type(e, 8); // R_X86_64_RELATIVE
        e.set64(at, text);
    });
    malformed(
        &p,
        "R_X86_64_RELATIVE target does not lie inside a writable segment",
    );
}

#[test]
fn relocation_target_in_read_only_data() {
    let p = patched("basic", "reloc-into-rodata.so", |e| {
        let target = section_addr(e, ".dynsym");
        let at = rela_of_type(e, 1); // R_X86_64_64
        e.set64(at, target);
    });
    malformed(
        &p,
        "R_X86_64_64 target does not lie inside a writable segment",
    );
}

#[test]
fn relocation_target_straddling_the_segment_end() {
    let p = patched("basic", "reloc-straddle.so", |e| {
        let data = load_with_flags(e, 6);
        let at = rela_of_type(e, 8);
        e.set64(at, data.vaddr + data.memsz - 4);
    });
    malformed(&p, "target does not lie inside a writable segment");
}

#[test]
fn unknown_relocation_type() {
    let p = patched("basic", "reloc-type-200.so", |e| {
        let at = rela_of_type(e, 8);
        e.set32(at + 8, 200);
    });
    let e = fails(&p);
    assert!(
        matches!(e.kind(), ErrorKind::UnsupportedRelocation { kind, .. } if kind.contains("200")),
        "{e:?}"
    );
    assert!(e.to_string().contains("200"), "{e}");
}

#[test]
fn copy_relocation() {
    let p = patched("basic", "reloc-copy.so", |e| {
        let at = rela_of_type(e, 6); // R_X86_64_GLOB_DAT against basic_counter
        e.set32(at + 8, 5); // R_X86_64_COPY
    });
    let e = fails(&p);
    assert!(
        matches!(e.kind(), ErrorKind::UnsupportedRelocation { kind, symbol, .. }
            if kind == "R_X86_64_COPY" && symbol.as_deref() == Some("basic_counter")),
        "{e:?}"
    );
    assert!(e.to_string().contains("R_X86_64_COPY"), "{e}");
}

#[test]
fn tls_relocation_is_refused() {
    let p = patched("basic", "reloc-tpoff.so", |e| {
        let at = rela_of_type(e, 6);
        e.set32(at + 8, 18); // R_X86_64_TPOFF64
    });
    let e = fails(&p);
    assert!(
        matches!(e.kind(), ErrorKind::TlsUnsupported { .. }),
        "{e:?}"
    );
}

#[test]
fn symbol_index_past_the_table() {
    let p = patched("basic", "reloc-sym-past.so", |e| {
        let at = rela_of_type(e, 7); // R_X86_64_JUMP_SLOT
        e.set32(at + 12, 0x00ff_ffff);
    });
    malformed(&p, "past the symbol table");
}

#[test]
fn relocation_table_size_not_a_multiple_of_the_entry() {
    let p = patched("basic", "relasz-odd.so", |e| {
        let sz = e.dyn_val(DT_RELASZ).unwrap();
        set_dyn(e, DT_RELASZ, sz - 5);
    });
    malformed(&p, "entry size");
}

#[test]
fn relr_target_outside_writable_segments() {
    let p = patched("relr", "relr-into-text.so", |e| {
        let r = e.table(DT_RELR, 8).unwrap();
        let text = section_addr(e, ".text");
        e.set64(r.start, text);
    });
    malformed(&p, "DT_RELR target does not lie inside a writable segment");
}

#[test]
fn relr_addend_near_the_top_of_the_address_space() {
    // The stored value plus the load bias wraps; that is the object's business
    // (a garbage pointer it will never be allowed to run), not a loader crash.
    let p = patched("relr", "relr-wrap.so", |e| {
        let r = e.table(DT_RELR, 8).unwrap();
        let first = e.u64(r.start);
        let at = e.off(first).unwrap();
        e.set64(at, u64::MAX - 1);
    });
    let lib = Namespace::new().load(&p, &untrusted()).expect("loads");
    drop(lib);
    assert!(maps_of(&p).is_empty());
}

// ---------------------------------------------------------------- versions

#[test]
fn verdef_out_of_image() {
    let p = patched("chain_c", "verdef-out.so", |e| {
        set_dyn(e, DT_VERDEF, 0x10_0000_0000)
    });
    malformed(&p, "DT_VERDEF");
}

#[test]
fn verdef_name_outside_strtab() {
    let p = patched("chain_c", "verdef-name.so", |e| {
        // The first entry is the file's own name (VER_FLG_BASE); break the second.
        let first = e.off(e.dyn_val(DT_VERDEF).unwrap()).unwrap();
        let at = first + e.u32(first + 16) as usize;
        let aux = at + e.u32(at + 12) as usize;
        e.set32(aux, 0x7fff_ffff);
    });
    malformed(&p, "version name lies outside DT_STRTAB");
}

// ---------------------------------------------------------------- DT_NEEDED

/// Generated libraries in their own directory: `libgen_<name>.so`, each with a
/// constructor and destructor reporting to the host import `gen_record`.
struct Generated {
    dir: PathBuf,
}

impl Generated {
    fn new(sub: &str) -> Self {
        let dir = dir().join(sub);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Generated { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("libgen_{name}.so"))
    }

    /// Build `libgen_<name>.so` (id `id` in the records) needing `needs`.
    fn lib(&self, name: &str, id: i32, needs: &[&str]) -> PathBuf {
        let src = self.dir.join(format!("{name}.c"));
        std::fs::write(
            &src,
            format!(
                "extern void gen_record(int);\n\
                 int gen_{name}_value(void) {{ return {id}; }}\n\
                 __attribute__((constructor)) static void up(void) {{ gen_record({id}); }}\n\
                 __attribute__((destructor)) static void down(void) {{ gen_record(-{id}); }}\n"
            ),
        )
        .unwrap();
        let out = self.path(name);
        let soname = format!("-Wl,-soname,libgen_{name}.so");
        let libdir = format!("-L{}", self.dir.display());
        let mut args: Vec<String> = [
            "-shared",
            "-fPIC",
            "-nostdlib",
            "-fno-stack-protector",
            "-O1",
            "-o",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(out.to_string_lossy().into_owned());
        args.push(src.to_string_lossy().into_owned());
        args.push(soname);
        args.push(libdir);
        args.push("-Wl,--no-as-needed".into());
        args.extend(needs.iter().map(|n| format!("-lgen_{n}")));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        gcc(&args);
        out
    }

    fn opts(&self) -> LoadOptions {
        LoadOptions::new()
            .system_dirs(false)
            .search_path(&self.dir)
            .host_symbols(|name: &[u8], _: Option<&[u8]>| {
                (name == b"gen_record").then_some(gen_record as extern "C" fn(i32) as usize)
            })
    }

    fn assert_unmapped(&self) {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let d = self.dir.to_string_lossy();
        let left: Vec<&str> = maps.lines().filter(|l| l.contains(&*d)).collect();
        assert!(left.is_empty(), "mappings left: {left:#?}");
    }
}

/// Records of `gen_record`, per generated library id: inits and finis.
static INITS: [AtomicUsize; 64] = [const { AtomicUsize::new(0) }; 64];
static FINIS: [AtomicUsize; 64] = [const { AtomicUsize::new(0) }; 64];

extern "C" fn gen_record(v: i32) {
    let i = v.unsigned_abs() as usize;
    if v > 0 {
        INITS[i].fetch_add(1, Ordering::SeqCst);
    } else {
        FINIS[i].fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dt_needed_cycle_loads_and_inits_each_once() {
    // Ids 1 and 2 belong to this test alone.
    let g = Generated::new("cycle");
    g.lib("a", 1, &[]);
    g.lib("b", 2, &["a"]);
    let a = g.lib("a", 1, &["b"]); // now a -> b -> a
    assert!(Elf::read(&a).dyn_val(DT_NEEDED).is_some());
    let ns = Namespace::new();
    let lib = ns.load(&a, &g.opts()).expect("a cycle loads");
    assert_eq!(lib.needed(), vec!["libgen_b.so".to_string()]);
    assert_eq!(ns.loaded().len(), 2, "a and b, once each");
    assert_eq!(INITS[1].load(Ordering::SeqCst), 1);
    assert_eq!(INITS[2].load(Ordering::SeqCst), 1);
    // b's symbols are reachable through a's handle, and the walk terminates.
    assert!(lib.symbol("gen_b_value").is_some());
    assert!(lib.symbol("not_there").is_none());
    drop(lib);
    assert_eq!(FINIS[1].load(Ordering::SeqCst), 1);
    assert_eq!(FINIS[2].load(Ordering::SeqCst), 1);
    g.assert_unmapped();
}

#[test]
fn dt_needed_chain_over_max_objects() {
    const N: usize = 40;
    let g = Generated::new("chain");
    // Ids 10.. belong to this test; the last library needs nothing.
    for i in (0..N).rev() {
        let name = format!("c{i}");
        let next = format!("c{}", i + 1);
        let needs: Vec<&str> = if i + 1 < N {
            vec![next.as_str()]
        } else {
            vec![]
        };
        g.lib(&name, 10, &needs);
    }
    let root = g.path("c0");
    let limits = Limits {
        max_objects: 16,
        ..Default::default()
    };
    let e = Namespace::new()
        .load(&root, &g.opts().run_code(false).limits(limits))
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::LimitExceeded { what, value: 17, limit: 16, .. } if what.contains("objects")),
        "{e:?}"
    );
    // The object whose DT_NEEDED went over the limit is named.
    assert_eq!(e.path(), g.path("c15"));
    assert!(e.to_string().contains("libgen_c15.so"), "{e}");
    g.assert_unmapped();
    // With the default limit the whole chain loads, and unloads completely.
    let ns = Namespace::new();
    let lib = ns
        .load(&root, &g.opts().run_code(false))
        .expect("40 objects are under the default limit");
    assert_eq!(ns.loaded().len(), N);
    assert!(lib.symbol("gen_c39_value").is_some());
    drop(lib);
    g.assert_unmapped();
}

#[test]
fn max_needed_limit() {
    let g = Generated::new("fan");
    for i in 0..5 {
        g.lib(&format!("leaf{i}"), 20, &[]);
    }
    let fan = g.lib("fan", 20, &["leaf0", "leaf1", "leaf2", "leaf3", "leaf4"]);
    let limits = Limits {
        max_needed: 3,
        ..Default::default()
    };
    let e = fails_with(&fan, &g.opts().run_code(false).limits(limits));
    assert!(
        matches!(e.kind(), ErrorKind::LimitExceeded { what, value: 4, limit: 3, .. } if what.contains("DT_NEEDED")),
        "{e:?}"
    );
    g.assert_unmapped();
    let lib = Namespace::new()
        .load(&fan, &g.opts().run_code(false))
        .expect("5 DT_NEEDED are under the default limit");
    assert_eq!(lib.needed().len(), 5);
    drop(lib);
    g.assert_unmapped();
}

#[test]
fn dt_needed_name_outside_strtab() {
    let g = Generated::new("needed-name");
    g.lib("leaf", 30, &[]);
    let root = g.lib("root", 30, &["leaf"]);
    let mut elf = Elf::read(&root);
    let d = elf.dyn_entry(DT_NEEDED).unwrap();
    elf.set64(d.at + 8, 0xffff_0000);
    std::fs::write(&root, &elf.data).unwrap();
    let e = fails_with(&root, &g.opts().run_code(false));
    assert!(
        matches!(e.kind(), ErrorKind::Malformed { what, .. } if what.contains("DT_NEEDED")),
        "{e:?}"
    );
    g.assert_unmapped();
}

#[test]
fn dependency_failure_unmaps_the_whole_load() {
    // The root is fine; its dependency is broken. Nothing of either stays.
    let g = Generated::new("bad-dep");
    let leaf = g.lib("leaf", 31, &[]);
    let root = g.lib("root", 31, &["leaf"]);
    let mut elf = Elf::read(&leaf);
    let text = load_with_flags(&elf, 5);
    elf.set32(text.at + P_FLAGS, 7);
    std::fs::write(&leaf, &elf.data).unwrap();
    let e = Namespace::new()
        .load(&root, &g.opts().run_code(false))
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::WritableCode { .. }), "{e:?}");
    assert_eq!(e.path(), leaf);
    g.assert_unmapped();
}

// ---------------------------------------------------------------- TLS

const PT_TLS: u32 = 7;
const PT_PHDR: u32 = 6;

#[test]
fn tls_block_larger_than_the_address_space() {
    // Even with the image-size limit lifted, a PT_TLS p_memsz that no allocation
    // can satisfy is refused at load time, before any thread allocates a block.
    let p = patched("tls", "tls-huge.so", |e| {
        let t = e.phdr(PT_TLS).expect("PT_TLS");
        e.set64(t.at + P_MEMSZ, 1 << 63);
    });
    let unlimited = Limits {
        max_image_size: u64::MAX,
        ..Default::default()
    };
    let r = Namespace::new().load(&p, &untrusted().limits(unlimited));
    if let Ok(lib) = &r {
        let _ = lib.symbol("tls_var");
    }
    let e = r.expect_err("loaded");
    assert!(
        matches!(e.kind(), ErrorKind::Malformed { what, .. } if what.contains("PT_TLS")),
        "{e:?}"
    );
    assert!(maps_of(&p).is_empty());
    // Under the default limit it is refused as well.
    malformed(&p, "PT_TLS");
}

#[test]
fn tls_init_image_outside_segments() {
    let p = patched("tls", "tls-outside.so", |e| {
        let t = e.phdr(PT_TLS).expect("PT_TLS");
        e.set64(t.at + P_VADDR, 0x7000_0000);
    });
    malformed(&p, "PT_TLS");
}

/// File offset of the `.dynsym` entry named `name`.
fn dynsym_entry(e: &Elf, name: &str) -> usize {
    let syms = e.off(e.dyn_val(DT_SYMTAB).unwrap()).unwrap();
    let strs = e.off(e.dyn_val(DT_STRTAB).unwrap()).unwrap();
    let count = e.section(".dynsym").unwrap().size as usize / 24;
    (0..count)
        .map(|i| syms + i * 24)
        .find(|&at| {
            let s = &e.data[strs + e.u32(at) as usize..];
            s.starts_with(name.as_bytes()) && s[name.len()] == 0
        })
        .unwrap_or_else(|| panic!("no symbol {name}"))
}

#[test]
fn tls_symbol_in_an_object_without_pt_tls() {
    // Looking such a symbol up must not reach the TLS runtime with module id 0.
    let p = patched("basic", "tls-symbol-no-pt-tls.so", |e| {
        let at = dynsym_entry(e, "basic_counter");
        let info = e.data[at + 4];
        e.data[at + 4] = (info & 0xf0) | 6; // STT_TLS
    });
    let lib = Namespace::new().load(&p, &untrusted()).expect("loads");
    assert!(lib.symbol("basic_counter").is_none());
    drop(lib);
    assert!(maps_of(&p).is_empty());
}

#[test]
fn tls_symbol_past_the_tls_block() {
    let p = patched("tls", "tls-symbol-past-block.so", |e| {
        let at = dynsym_entry(e, "tls_var");
        e.set64(at + 8, 0x10_0000);
        // The relocations against it would be refused first; keep the lookup.
        let index = (at - e.off(e.dyn_val(DT_SYMTAB).unwrap()).unwrap()) / 24;
        for r in e.relas() {
            if e.u32(r + 12) as usize == index {
                e.set32(r + 8, 0); // R_X86_64_NONE
            }
        }
    });
    let lib = Namespace::new().load(&p, &untrusted()).expect("loads");
    assert!(lib.symbol("tls_var").is_none());
    assert!(
        lib.symbol("tls_zero").is_some(),
        "the other TLS symbol still works"
    );
    drop(lib);
    assert!(maps_of(&p).is_empty());
}

// ---------------------------------------------------------------- object list

/// Whether the object list publishes program headers for `path` that cannot be
/// read; `None` if `path` is not listed.
fn published_phdrs(lib: &staticdl_loader::Library) -> Option<(usize, u16)> {
    use staticdl_loader::runtime::{iterate_loaded_phdrs, DlPhdrInfo};
    use std::ffi::{c_int, c_void, CStr};
    struct Want {
        name: std::ffi::CString,
        found: Option<(usize, u16)>,
    }
    unsafe extern "C" fn visit(info: *mut DlPhdrInfo, _: usize, data: *mut c_void) -> c_int {
        // SAFETY: the loader passes a valid entry; `data` is the `Want` below.
        unsafe {
            let (info, want) = (&*info, &mut *(data as *mut Want));
            if CStr::from_ptr(info.dlpi_name) == want.name.as_c_str() {
                want.found = Some((info.dlpi_phdr as usize, info.dlpi_phnum));
            }
        }
        0
    }
    let mut want = Want {
        name: std::ffi::CString::new(lib.path().to_string_lossy().into_owned()).unwrap(),
        found: None,
    };
    // SAFETY: `visit` neither loads nor unloads.
    unsafe { iterate_loaded_phdrs(visit, &mut want as *mut Want as *mut c_void) };
    want.found
}

#[test]
fn published_program_headers_lie_in_readable_memory() {
    // Move the program header table into the third PT_LOAD and make that segment
    // inaccessible: the object still loads (nothing the loader needs is there),
    // but its program headers must not be handed to unwinders and debuggers.
    let p = patched("basic", "phdrs-unreadable.so", |e| {
        let phnum = e.u16(E_PHNUM) as usize;
        let table = e.data[e.phoff()..e.phoff() + phnum * 56].to_vec();
        let rodata = load_with_flags(e, 4);
        let rodata = e
            .loads()
            .into_iter()
            .filter(|p| p.flags == 4)
            .nth(1)
            .unwrap_or(rodata);
        let at = (rodata.offset as usize + 0x200) & !7;
        assert!(at + table.len() <= e.data.len());
        e.data[at..at + table.len()].copy_from_slice(&table);
        e.set64(E_PHOFF, at as u64);
        // Patch the copy, which is now the table the loader reads.
        let moved = e
            .loads()
            .into_iter()
            .filter(|p| p.flags == 4)
            .nth(1)
            .unwrap();
        let span = (at + table.len()) as u64 - moved.offset;
        e.set64(moved.at + P_FILESZ, span);
        e.set64(moved.at + P_MEMSZ, span);
        e.set32(moved.at + P_FLAGS, 0);
    });
    let lib = Namespace::new().load(&p, &untrusted()).expect("loads");
    let (phdr, phnum) = published_phdrs(&lib).expect("the object is listed");
    assert!(
        phnum == 0 || lib.is_readable(phdr, usize::from(phnum) * 56),
        "program headers published at {phdr:#x} ({phnum}) are not readable"
    );
    drop(lib);
    assert!(maps_of(&p).is_empty());
}

#[test]
fn published_program_headers_are_aligned() {
    // The Rust fixture has a PT_PHDR; one byte off, it is not published.
    let fine = common::fixture("nostd");
    assert!(
        Elf::read(&fine).phdr(PT_PHDR).is_some(),
        "nostd has a PT_PHDR"
    );
    let lib = Namespace::new().load(&fine, &untrusted()).expect("loads");
    let (phdr, phnum) = published_phdrs(&lib).expect("listed");
    assert!(phnum > 0 && phdr % 8 == 0, "{phdr:#x} {phnum}");
    drop(lib);
    let p = patched("nostd", "phdr-misaligned.so", |e| {
        let ph = e.phdr(PT_PHDR).unwrap();
        e.set64(ph.at + P_VADDR, ph.vaddr + 1);
    });
    let lib = Namespace::new().load(&p, &untrusted()).expect("loads");
    let (phdr, phnum) = published_phdrs(&lib).expect("listed");
    assert!(
        phnum == 0 || phdr % 8 == 0,
        "misaligned program headers published at {phdr:#x}"
    );
    drop(lib);
    assert!(maps_of(&p).is_empty());
}
