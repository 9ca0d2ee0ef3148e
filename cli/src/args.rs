//! The command line: what `staticdl` was asked to do, parsed without side effects.
//!
//! Owns [`Command`], [`CallSpec`] (with its typed [`Arg`]s, [`RetType`] and preloads) and
//! [`UsageError`], and the pure parsers [`parse`] and [`parse_call_args`] — pure so
//! that they can be unit-tested and fuzzed. It does not load or call anything.

use std::ffi::CString;
use std::fmt;
use std::path::PathBuf;

/// Integer and pointer arguments go in `rdi, rsi, rdx, rcx, r8, r9`.
pub const MAX_INT_ARGS: usize = 6;
/// Floating-point arguments go in `xmm0`..`xmm7`.
pub const MAX_FLOAT_ARGS: usize = 8;

pub const USAGE: &str = "\
usage: staticdl inspect FILE [--json]
       staticdl check PATH... [--json]
       staticdl call FILE SYMBOL [ARG...] [--ret TYPE] [--strict] [--preload LIB]...

inspect  what FILE needs (DT_NEEDED, imports, TLS, executable stack, init and
         fini functions, plugin metadata), the objects its load maps, where
         each import binds here, and whether it would load: the verdict of the
         very open `call --strict` makes, found by a dry run that runs none of
         its code. Exit 0 if it would load.
check    the same verdict for many objects: each PATH is a file, or a folder
         searched recursively for regular shared objects. One line per object
         (loads, or the reason), then the names nothing provides, ranked by
         how many objects need them. Exit 0 if every object would load.
call     loads FILE with its dependencies and calls the C function SYMBOL
         (or SYMBOL@VERSION), printing the result on one line.
         ARG:  i32:N  i64:N  u64:N  f64:X  str:TEXT  null
         TYPE: void i32 i64 u64 f64 str ptr (default void)
         At most 6 integer/pointer and 8 floating-point arguments (System V
         registers); variadic functions are not supported. Functions that
         nothing provides are bound to a trap, with a warning: calling one
         prints its name and aborts; --strict refuses to load instead.
         --preload LIB (repeatable) opens LIB first, in the global scope, so
         its exports satisfy FILE's imports (as LD_PRELOAD would).

Loaded objects may import memcpy, memmove, memset, memcmp, bcmp and strlen
from this command; everything else comes from their DT_NEEDED libraries.

exit status: 0 success, 1 failure, 2 usage error";

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help,
    Inspect { file: PathBuf, json: bool },
    Check { paths: Vec<PathBuf>, json: bool },
    Call(CallSpec),
}

/// One `staticdl call`.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSpec {
    pub file: PathBuf,
    pub symbol: String,
    pub args: Vec<Arg>,
    pub ret: RetType,
    /// Refuse to load when functions are missing instead of trapping them.
    pub strict: bool,
    /// Opened first, in order, in the global scope.
    pub preload: Vec<PathBuf>,
}

/// A typed argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    I32(i32),
    I64(i64),
    U64(u64),
    F64(f64),
    /// Passed as a pointer to a NUL-terminated copy.
    Str(CString),
    Null,
}

impl Arg {
    fn is_float(&self) -> bool {
        matches!(self, Arg::F64(_))
    }
}

/// How to read the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetType {
    Void,
    I32,
    I64,
    U64,
    F64,
    Str,
    Ptr,
}

/// A command line that cannot be obeyed. Exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    NoCommand,
    UnknownCommand(String),
    MissingFile(&'static str),
    MissingPath,
    MissingSymbol,
    MissingPreload,
    UnknownOption {
        command: &'static str,
        option: String,
    },
    ExtraArgument {
        command: &'static str,
        arg: String,
    },
    UnknownArgType {
        arg: String,
        tag: String,
    },
    BadNumber {
        arg: String,
        kind: &'static str,
    },
    NulInString {
        arg: String,
    },
    TooManyIntArgs {
        count: usize,
    },
    TooManyFloatArgs {
        count: usize,
    },
    MissingRetType,
    UnknownRetType(String),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::NoCommand => write!(f, "no command given"),
            UsageError::UnknownCommand(c) => {
                write!(f, "unknown command {c:?} (expected inspect, check or call)")
            }
            UsageError::MissingFile(c) => write!(f, "{c}: missing FILE"),
            UsageError::MissingPath => write!(f, "check: missing PATH"),
            UsageError::MissingSymbol => write!(f, "call: missing SYMBOL"),
            UsageError::MissingPreload => write!(f, "--preload needs a LIB"),
            UsageError::UnknownOption { command, option } => {
                write!(f, "{command}: unknown option {option:?}")
            }
            UsageError::ExtraArgument { command, arg } => {
                write!(f, "{command}: unexpected argument {arg:?}")
            }
            UsageError::UnknownArgType { arg, tag } => write!(
                f,
                "argument {arg:?}: unknown type {tag:?} (expected i32, i64, u64, f64, str or null)"
            ),
            UsageError::BadNumber { arg, kind } => {
                write!(f, "argument {arg:?}: not a valid {kind}")
            }
            UsageError::NulInString { arg } => {
                write!(f, "argument {arg:?}: a C string cannot contain NUL")
            }
            UsageError::TooManyIntArgs { count } => write!(
                f,
                "{count} integer/pointer arguments: at most {MAX_INT_ARGS} are supported"
            ),
            UsageError::TooManyFloatArgs { count } => write!(
                f,
                "{count} floating-point arguments: at most {MAX_FLOAT_ARGS} are supported"
            ),
            UsageError::MissingRetType => write!(f, "--ret needs a TYPE"),
            UsageError::UnknownRetType(t) => write!(
                f,
                "unknown return type {t:?} (expected void, i32, i64, u64, f64, str or ptr)"
            ),
        }
    }
}

/// Parses the whole command line (without the program name).
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let Some((command, rest)) = args.split_first() else {
        return Err(UsageError::NoCommand);
    };
    match command.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "inspect" => parse_inspect_args(rest),
        "check" => parse_check_args(rest),
        "call" => parse_call_args(rest).map(Command::Call),
        other => Err(UsageError::UnknownCommand(other.to_owned())),
    }
}

fn parse_inspect_args(args: &[String]) -> Result<Command, UsageError> {
    let mut file = None;
    let mut json = false;
    for a in args {
        if a == "--json" {
            json = true;
        } else if a.starts_with("--") {
            return Err(UsageError::UnknownOption {
                command: "inspect",
                option: a.clone(),
            });
        } else if file.is_none() {
            file = Some(PathBuf::from(a));
        } else {
            return Err(UsageError::ExtraArgument {
                command: "inspect",
                arg: a.clone(),
            });
        }
    }
    let file = file.ok_or(UsageError::MissingFile("inspect"))?;
    Ok(Command::Inspect { file, json })
}

fn parse_check_args(args: &[String]) -> Result<Command, UsageError> {
    let mut paths = Vec::new();
    let mut json = false;
    for a in args {
        if a == "--json" {
            json = true;
        } else if a.starts_with("--") {
            return Err(UsageError::UnknownOption {
                command: "check",
                option: a.clone(),
            });
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    if paths.is_empty() {
        return Err(UsageError::MissingPath);
    }
    Ok(Command::Check { paths, json })
}

/// Parses the arguments of `staticdl call` (after the word `call`):
/// `FILE SYMBOL [ARG...] [--ret TYPE] [--strict] [--preload LIB]...`, options
/// anywhere.
pub fn parse_call_args(args: &[String]) -> Result<CallSpec, UsageError> {
    let mut file = None;
    let mut symbol = None;
    let mut call_args = Vec::new();
    let mut ret = RetType::Void;
    let mut strict = false;
    let mut preload = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--ret" {
            let t = it.next().ok_or(UsageError::MissingRetType)?;
            ret = parse_ret(t)?;
        } else if let Some(t) = a.strip_prefix("--ret=") {
            ret = parse_ret(t)?;
        } else if a == "--strict" {
            strict = true;
        } else if a == "--preload" {
            let lib = it.next().ok_or(UsageError::MissingPreload)?;
            preload.push(PathBuf::from(lib));
        } else if let Some(lib) = a.strip_prefix("--preload=") {
            if lib.is_empty() {
                return Err(UsageError::MissingPreload);
            }
            preload.push(PathBuf::from(lib));
        } else if a.starts_with("--") {
            return Err(UsageError::UnknownOption {
                command: "call",
                option: a.clone(),
            });
        } else if file.is_none() {
            file = Some(PathBuf::from(a));
        } else if symbol.is_none() {
            symbol = Some(a.clone());
        } else {
            call_args.push(parse_arg(a)?);
        }
    }
    let file = file.ok_or(UsageError::MissingFile("call"))?;
    let symbol = symbol.ok_or(UsageError::MissingSymbol)?;
    let floats = call_args.iter().filter(|a| a.is_float()).count();
    let ints = call_args.len() - floats;
    if ints > MAX_INT_ARGS {
        return Err(UsageError::TooManyIntArgs { count: ints });
    }
    if floats > MAX_FLOAT_ARGS {
        return Err(UsageError::TooManyFloatArgs { count: floats });
    }
    Ok(CallSpec {
        file,
        symbol,
        args: call_args,
        ret,
        strict,
        preload,
    })
}

fn parse_ret(t: &str) -> Result<RetType, UsageError> {
    Ok(match t {
        "void" => RetType::Void,
        "i32" => RetType::I32,
        "i64" => RetType::I64,
        "u64" => RetType::U64,
        "f64" => RetType::F64,
        "str" => RetType::Str,
        "ptr" => RetType::Ptr,
        "" => return Err(UsageError::MissingRetType),
        other => return Err(UsageError::UnknownRetType(other.to_owned())),
    })
}

/// One `TYPE:VALUE` argument, or `null`.
fn parse_arg(a: &str) -> Result<Arg, UsageError> {
    if a == "null" {
        return Ok(Arg::Null);
    }
    let Some((tag, value)) = a.split_once(':') else {
        return Err(UsageError::UnknownArgType {
            arg: a.to_owned(),
            tag: a.to_owned(),
        });
    };
    let bad = |kind| UsageError::BadNumber {
        arg: a.to_owned(),
        kind,
    };
    Ok(match tag {
        "i32" => Arg::I32(parse_int(value).ok_or_else(|| bad("i32"))?),
        "i64" => Arg::I64(parse_int(value).ok_or_else(|| bad("i64"))?),
        "u64" => Arg::U64(parse_int(value).ok_or_else(|| bad("u64"))?),
        "f64" => Arg::F64(value.parse().map_err(|_| bad("f64"))?),
        "str" => Arg::Str(
            CString::new(value).map_err(|_| UsageError::NulInString { arg: a.to_owned() })?,
        ),
        _ => {
            return Err(UsageError::UnknownArgType {
                arg: a.to_owned(),
                tag: tag.to_owned(),
            })
        }
    })
}

/// A decimal integer, or hexadecimal with `0x` (either with a leading `-` where
/// the type is signed).
fn parse_int<T: TryFrom<i128>>(text: &str) -> Option<T> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u128::from_str_radix(hex, 16).ok()?,
        None => {
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse::<u128>().ok()?
        }
    };
    let magnitude = i128::try_from(magnitude).ok()?;
    T::try_from(if negative { -magnitude } else { magnitude }).ok()
}

#[cfg(test)]
mod tests;
