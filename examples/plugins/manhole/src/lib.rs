//! `manhole`: a debug endpoint for a static server that loads plugins with
//! staticdl, added from outside by preloading
//! (`STATICDL_PRELOAD=/path/libmanhole.so`), with no change to the server.
//!
//! From its initialiser (an ELF constructor: it runs while the server's own
//! constructor preloads it, before the server's `main`) it
//! - registers, through staticdl's C entry point `staticdl_intercept`, a pre
//!   and a post on the HTTP handlers of every plugin the server loads from
//!   then on (`trap.rs`): each call is counted, timed, and counted as an error
//!   when it returns a code other than `HANDLER_OK` or unwinds (`stats.rs`);
//! - starts a thread that listens on `STATICDL_MANHOLE_ADDR` (default
//!   `127.0.0.1:6060`) and answers `GET /debug/manhole` (`http.rs`) with the
//!   loaded objects (path, soname, address range, TLS, plugin name and
//!   version: `objects.rs`) and the statistics of every handler.
//!
//! A failure to listen is written to standard error once; the server goes on
//! unaffected.

mod http;
mod objects;
mod stats;
mod trap;

extern "C" fn start() {
    // Nothing may unwind out of an initialiser.
    let _ = std::panic::catch_unwind(|| {
        trap::install();
        let addr =
            std::env::var("STATICDL_MANHOLE_ADDR").unwrap_or_else(|_| "127.0.0.1:6060".to_owned());
        http::serve_in_background(&addr);
    });
}

#[used]
#[link_section = ".init_array"]
static START: extern "C" fn() = start;
