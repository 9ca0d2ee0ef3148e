//! Which loader can load which benchmark object, and the error of those that cannot.
//!
//! Prints one line per (loader, object): `ok` after a load, a lookup of a known
//! symbol, a call where the object has `tiny_add`, and a close; or the loader's own
//! error. It measures nothing; the benchmarks skip what this shows cannot work.
//! dlopen-rs is checked by `dlopen_rs_suite capabilities` instead: linking it here
//! would put it in place of glibc's `dlopen` (see `src/dlopen_rs_peer.rs`).
//!
//! Run: `cargo run --release --manifest-path benches/Cargo.toml --bin capabilities`

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use staticdl_bench::*;

fn main() {
    let objects: Vec<(&str, PathBuf, &str)> = vec![
        ("tiny (-nostdlib)", plugin("libtiny.so"), TINY_FN),
        ("tiny (glibc build)", plugin("libtiny_libc.so"), TINY_FN),
        ("5,000 exports", plugin("libexports5k.so"), HIT),
        ("heavy + 2 deps", plugin("libbench_heavy.so"), "heavy_sum"),
        (
            "libsqlite3.so.0",
            PathBuf::from(SQLITE),
            "sqlite3_libversion",
        ),
    ];
    println!("| object | loader | result |\n| --- | --- | --- |");
    for (what, path, sym) in &objects {
        if !path.exists() {
            println!("| {what} | all | not installed: {} |", path.display());
            continue;
        }
        for (loader, f) in loaders() {
            let r = catch_unwind(AssertUnwindSafe(|| f(path, sym)));
            let text = match r {
                // SQLite may be mapped by glibc (another row) or by staticdl's glibc
                // provider: only the freestanding objects say something here.
                Ok(Ok(())) if is_mapped(path) && !path.starts_with("/lib") => {
                    "ok; **still mapped after close**".to_string()
                }
                Ok(Ok(())) => "ok".to_string(),
                Ok(Err(e)) => e,
                Err(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into()),
            };
            println!("| {what} | {loader} | {} |", text.replace('\n', " "));
        }
    }
}

type Try = fn(&Path, &str) -> Result<(), String>;

fn loaders() -> Vec<(&'static str, Try)> {
    vec![
        ("staticdl", try_staticdl),
        ("staticdl + host glibc provider", try_staticdl_glibc),
        #[cfg(feature = "facade")]
        ("staticdl + staticdl::provider", try_staticdl_provider),
        ("glibc dlopen", try_glibc),
        ("libloading", try_libloading),
        ("elf_loader (Loader)", try_elf_loader),
        ("elf_loader (Loader + host libc)", try_elf_loader_libc),
        ("elf_loader (Linker)", try_elf_loader_linker),
        (
            "elf_loader (Linker + host libc)",
            try_elf_loader_linker_libc,
        ),
    ]
}

fn check_call(addr: usize, sym: &str) -> Result<(), String> {
    if addr == 0 {
        return Err(format!("`{sym}` not found"));
    }
    if sym == TINY_FN {
        // SAFETY: tiny_add is `int tiny_add(int, int)` in every tiny object.
        let f: TinyAdd = unsafe { std::mem::transmute(addr) };
        if f(2, 3) != 5 {
            return Err("tiny_add(2, 3) != 5: the constructor did not run".into());
        }
    }
    Ok(())
}

fn try_staticdl(path: &Path, sym: &str) -> Result<(), String> {
    let lib = ns::NS
        .load(path, &ns::options())
        .map_err(|e| e.to_string())?;
    check_call(lib.symbol(sym).map_or(0, |p| p.as_ptr() as usize), sym)
}

fn try_staticdl_glibc(path: &Path, sym: &str) -> Result<(), String> {
    let lib = ns::NS
        .load(path, &ns::options_with_host_glibc())
        .map_err(|e| e.to_string())?;
    check_call(lib.symbol(sym).map_or(0, |p| p.as_ptr() as usize), sym)
}

#[cfg(feature = "facade")]
fn try_staticdl_provider(path: &Path, sym: &str) -> Result<(), String> {
    let lib = staticdl::provider::namespace()
        .load(path, &facade::provider_options())
        .map_err(|e| e.to_string())?;
    check_call(lib.symbol(sym).map_or(0, |p| p.as_ptr() as usize), sym)
}

fn try_glibc(path: &Path, sym: &str) -> Result<(), String> {
    let c = c_path(path);
    // SAFETY: a NUL-terminated path.
    let h = unsafe { libc::dlopen(c.as_ptr(), glibc::FLAGS) };
    if h.is_null() {
        return Err(glibc::error());
    }
    let name = std::ffi::CString::new(sym).unwrap();
    // SAFETY: live handle, NUL-terminated name.
    let a = unsafe { libc::dlsym(h, name.as_ptr()) } as usize;
    let r = check_call(a, sym);
    // SAFETY: h came from dlopen.
    unsafe { libc::dlclose(h) };
    r
}

fn try_libloading(path: &Path, sym: &str) -> Result<(), String> {
    // SAFETY: benign constructors.
    let lib = unsafe { libloading::os::unix::Library::open(Some(path), glibc::FLAGS) }
        .map_err(|e| e.to_string())?;
    // SAFETY: only turned into an address.
    let a = unsafe { lib.get::<*mut std::ffi::c_void>(sym.as_bytes()) }
        .map(|s| *s as usize)
        .map_err(|e| e.to_string())?;
    check_call(a, sym)
}

fn try_elf_loader(path: &Path, sym: &str) -> Result<(), String> {
    let lib = elf_loader_peer::try_open(path)?;
    check_call(elf_loader_peer::lookup(&lib, sym), sym)
}

fn try_elf_loader_libc(path: &Path, sym: &str) -> Result<(), String> {
    let host = elf_loader_peer::Host::with_glibc()?;
    let lib = host.try_open(path)?;
    check_call(elf_loader_peer::lookup(&lib, sym), sym)
}

fn try_elf_loader_linker(path: &Path, sym: &str) -> Result<(), String> {
    linked(&elf_loader_peer::Host::bare(), path, sym)
}

fn try_elf_loader_linker_libc(path: &Path, sym: &str) -> Result<(), String> {
    linked(&elf_loader_peer::Host::with_glibc()?, path, sym)
}

fn linked(host: &elf_loader_peer::Host, path: &Path, sym: &str) -> Result<(), String> {
    let linker = elf_loader_peer::linker();
    let mut ctx = host.context();
    let loaded = elf_loader_peer::link(&linker, &mut ctx, path)?;
    let r = check_call(elf_loader_peer::link_lookup(&ctx, &loaded, sym), sym);
    drop(loaded.release(&mut ctx).map_err(|e| e.to_string())?);
    r
}
