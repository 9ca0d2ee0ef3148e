//! Constructor mode (feature `preload`): preloading before `main`, from an
//! `.init_array` entry.
//!
//! Owns the entry (`staticdl_preload_at_start`, kept in any host that opens
//! plugins through the facade: the open functions refer to it; a C or Go host that
//! links the facade as a static library pulls it with
//! `-Wl,-u,staticdl_preload_at_start`), [`AT_START_VARIABLE`] and the report it
//! leaves ([`at_start_report`]). With the variable unset the entry reads it and
//! returns: no system call, no allocation. Set, it first makes sure the
//! loader's process arguments are the kernel's own (`args.rs`), so the
//! preloaded plugins' initialisers, and every initialiser run later, get the
//! real `argc`/`argv`/`envp`, then preloads with the defaults of
//! [`from_env`](super::from_env). It does not decide how entries are loaded.

use std::sync::OnceLock;

use super::Report;

/// The variable constructor mode reads.
pub const AT_START_VARIABLE: &str = "STATICDL_PRELOAD";

static REPORT: OnceLock<Report> = OnceLock::new();

/// What constructor mode preloaded before `main`, or `None` if the variable
/// was unset (feature `preload`).
///
/// ```
/// if let Some(r) = staticdl::preload::at_start_report() {
///     println!("{} preloaded", r.loaded.len());
/// }
/// ```
pub fn at_start_report() -> Option<&'static Report> {
    REPORT.get()
}

extern "C" fn at_start() {
    if std::env::var_os(AT_START_VARIABLE).is_none() {
        return;
    }
    // Nothing may unwind out of an initialiser: a panic here is reported by
    // the panic hook and preloading stops.
    let _ = std::panic::catch_unwind(|| {
        super::args::prime();
        let report = super::from_env(AT_START_VARIABLE);
        let _ = REPORT.set(report);
    });
}

/// The entry the C library's start-up code calls before `main`.
#[used]
#[link_section = ".init_array"]
#[export_name = "staticdl_preload_at_start"]
static AT_START: extern "C" fn() = at_start;

/// Refers to the entry, so that linking the code that calls this links it.
#[inline(never)]
pub(crate) fn keep() {
    std::hint::black_box(&AT_START);
}
