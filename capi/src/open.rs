//! Opening an object for the archive's callers: the options every open uses
//! and the registry's answer turned into a table handle.
//!
//! Owns the facade options of a C host's opens (the host's exports asked first,
//! as glibc asks an `-rdynamic` executable first, and the executable's own
//! exported symbols; scope, pinning and lazy binding from the caller's flags) and the two ways in: [`path`] (`staticdl_open`: a path as
//! given, relative to the working directory, like `Plugin::open`) and [`name`]
//! (`dlopen`: a bare name searched as glibc searches it, `search.rs`). Both go
//! through `Plugin::open`'s registry, so an object is loaded and initialised
//! once however it is opened, a failure is remembered until
//! `staticdl_forget_failure`, and a `STATICDL_PLUGIN` descriptor's `init` runs.
//! Does not own the handle table (`table.rs`) or the messages' wording.

use std::ffi::c_void;

use staticdl::{Error, OpenOptions, Plugin};

use crate::exports::Exports;
use crate::{message, search, table, wording};

/// How an object is opened.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct How {
    /// `RTLD_GLOBAL` / `STATICDL_OPEN_GLOBAL`.
    pub global: bool,
    /// `RTLD_NODELETE` / `STATICDL_OPEN_KEEP_LOADED`.
    pub keep_loaded: bool,
    /// `RTLD_LAZY` without `RTLD_NOW`: a function import nothing defines is
    /// bound to a trap that reports it if it is ever called, as glibc's lazy
    /// binding fails only at the first call.
    pub lazy: bool,
}

/// The facade options for an open of this archive: the host's explicit
/// exports first, then (through the loader) the executable's own `.dynsym`
/// (what a static-pie linked with `--export-dynamic` or `--dynamic-list`
/// exports: an interpreter's API for its C modules) after the C library the
/// provider answers, as glibc's global scope has the executable.
pub(crate) fn options(how: How) -> OpenOptions {
    Plugin::options()
        .host_symbols_first(Exports)
        .export_executable_symbols(true)
        .trap_unresolved(how.lazy)
        .global(how.global)
        .keep_loaded(how.keep_loaded)
}

/// Opens the file at `path`, returning the plugin or the facade's error.
pub(crate) fn plugin(path: &str, how: How) -> Result<Plugin, Error> {
    options(how).open(path)
}

/// `staticdl_open(path)`: a table handle, or null with both messages set.
pub(crate) fn path(path: &str, how: How) -> *mut c_void {
    match plugin(path, how) {
        Ok(p) => table::insert(p, path),
        Err(e) => {
            message::fail(&e.to_string(), &wording::open_failure(path, &e));
            std::ptr::null_mut()
        }
    }
}

/// The message pair for a bare name found nowhere.
fn not_found(name: &str) {
    let glibc = format!("{name}: cannot open shared object file: No such file or directory");
    message::fail(
        &format!("open({name:?}): not found in the library path"),
        &glibc,
    );
}

/// `dlopen(name)`: a name with a slash as [`path`]; a bare name searched first.
pub(crate) fn name(name: &str, how: How) -> *mut c_void {
    if name.contains('/') {
        return path(name, how);
    }
    match search::find(name) {
        Some(found) => path(&found.to_string_lossy(), how),
        None => {
            not_found(name);
            std::ptr::null_mut()
        }
    }
}

/// `dlopen(name, RTLD_NOLOAD)`: the handle of `name` if it is loaded already
/// (counted like any open), or null without a message, as glibc does.
pub(crate) fn loaded(name: &str, how: How) -> *mut c_void {
    let Some(lib) = staticdl_libc::namespace().loaded_by_name(name) else {
        return std::ptr::null_mut();
    };
    let at = lib.path().to_string_lossy().into_owned();
    drop(lib);
    match plugin(&at, how) {
        Ok(p) => table::insert(p, &at),
        Err(e) => {
            message::fail(&e.to_string(), &wording::open_failure(name, &e));
            std::ptr::null_mut()
        }
    }
}
