//! `staticdl-server`: a static HTTP/1.1 server whose routes are handler plugins
//! loaded at run time.
//!
//! At start-up it loads every `*.so` of the plugins directory with `staticdl`
//! and mounts the routes each declares in its `STATICDL_PLUGIN` descriptor; a
//! file that does not load is reported and skipped. It then watches the
//! directory (polling), loading new and replaced plugins and unmounting
//! removed ones while it serves: new requests go to the new version, and the
//! old one is unloaded once its in-flight requests have finished. SIGINT or
//! SIGTERM stop it gracefully: no new requests, running ones finish, every
//! plugin's `fini` runs, exit status 0.
//!
//! It runs in one of two modes. By default (`--workers N`, N the number of
//! cores) a supervisor forks N worker processes that share the listening
//! socket and each load the plugins: a plugin that crashes, aborts or hangs
//! takes down one worker, which is replaced (`supervisor.rs`, `worker.rs`,
//! `guard.rs`, `board.rs`, `conn.rs`). With `--workers 0` one process serves
//! with a pool of threads (`threaded.rs`).
//!
//! Owns choosing the mode. The command line is `args.rs`, loading
//! `plugins.rs`, routing `routes.rs`, answering `dispatch.rs` and
//! `builtin.rs` (into an `outcome.rs`, with the table of `shared.rs`), what
//! plugins get from the host `host.rs`, logging `logger.rs`.

#![deny(unsafe_code)]

mod args;
mod board;
mod builtin;
mod conn;
mod dispatch;
mod guard;
mod host;
mod logger;
mod outcome;
mod plugins;
mod routes;
mod shared;
mod supervisor;
mod threaded;
mod worker;

use std::process::ExitCode;

use crate::args::Parsed;

fn main() -> ExitCode {
    let config = match args::parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(config)) => config,
        Ok(Parsed::Exit(code)) => return code,
        Err(e) => {
            eprintln!("staticdl-server: {e}");
            return ExitCode::from(2);
        }
    };
    logger::init(config.log_level);
    let result = if config.workers == 0 {
        threaded::run(config)
    } else {
        supervisor::run(config)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
