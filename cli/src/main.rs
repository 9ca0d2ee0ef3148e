//! `staticdl`: inspect shared objects and call their functions, from a binary that
//! can itself be fully static.
//!
//! ```text
//! staticdl inspect FILE [--json]
//! staticdl check PATH... [--json]
//! staticdl call FILE SYMBOL [ARG...] [--ret TYPE] [--strict] [--preload LIB]...
//! ```
//!
//! Owns dispatching and exit statuses (0 success, 1 failure, 2 usage error). The
//! commands live in `inspect.rs`, `check.rs` and `call.rs`, the parser in
//! `args.rs`, what the command offers loaded objects (and the one set of open
//! options every command uses) in `host.rs`, the header facts in `facts.rs`, the
//! choice of files under a folder in `files.rs`, the JSON writer in `json.rs`.
//! Every verdict is the facade's: the command renders it.

mod args;
mod call;
mod check;
mod facts;
mod files;
mod host;
mod inspect;
mod json;

use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect::<Result<_, _>>()
    {
        Ok(v) => v,
        Err(bad) => {
            eprintln!("staticdl: argument {bad:?} is not valid UTF-8");
            return ExitCode::from(2);
        }
    };
    let status = match args::parse(&argv) {
        Ok(args::Command::Help) => {
            println!("{}", args::USAGE);
            0
        }
        Ok(args::Command::Inspect { file, json }) => inspect::run(&file, json),
        Ok(args::Command::Check { paths, json }) => check::run(&paths, json),
        Ok(args::Command::Call(spec)) => call::run(&spec),
        Err(e) => {
            eprintln!("staticdl: {e}\n\n{}", args::USAGE);
            2
        }
    };
    ExitCode::from(status as u8)
}
