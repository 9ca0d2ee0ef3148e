//! The command line: what `staticdl` was asked to do, parsed without side effects.
//!
//! Owns [`Command`], [`CallSpec`] (with its typed [`Arg`]s and [`RetType`]) and
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
       staticdl call FILE SYMBOL [ARG...] [--ret TYPE] [--strict]

inspect  what FILE needs (DT_NEEDED, imports, TLS, executable stack, init and
         fini functions, plugin metadata), how each import resolves here, and
         whether it would load; runs none of its code. Exit 0 if it would load.
call     loads FILE with its dependencies and calls the C function SYMBOL
         (or SYMBOL@VERSION), printing the result on one line.
         ARG:  i32:N  i64:N  u64:N  f64:X  str:TEXT  null
         TYPE: void i32 i64 u64 f64 str ptr (default void)
         At most 6 integer/pointer and 8 floating-point arguments (System V
         registers); variadic functions are not supported. Imports that
         nothing provides are bound to a stub returning 0, with a warning;
         --strict refuses to load instead.

Loaded objects may import memcpy, memmove, memset, memcmp, bcmp and strlen
from this command; everything else comes from their DT_NEEDED libraries.

exit status: 0 success, 1 failure, 2 usage error";

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help,
    Inspect { file: PathBuf, json: bool },
    Call(CallSpec),
}

/// One `staticdl call`.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSpec {
    pub file: PathBuf,
    pub symbol: String,
    pub args: Vec<Arg>,
    pub ret: RetType,
    /// Refuse to load when imports are missing instead of stubbing them.
    pub strict: bool,
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
    MissingSymbol,
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
                write!(f, "unknown command {c:?} (expected inspect or call)")
            }
            UsageError::MissingFile(c) => write!(f, "{c}: missing FILE"),
            UsageError::MissingSymbol => write!(f, "call: missing SYMBOL"),
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

/// Parses the arguments of `staticdl call` (after the word `call`):
/// `FILE SYMBOL [ARG...] [--ret TYPE] [--strict]`, options anywhere after
/// `FILE`.
pub fn parse_call_args(args: &[String]) -> Result<CallSpec, UsageError> {
    let mut file = None;
    let mut symbol = None;
    let mut call_args = Vec::new();
    let mut ret = RetType::Void;
    let mut strict = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--ret" {
            let t = it.next().ok_or(UsageError::MissingRetType)?;
            ret = parse_ret(t)?;
        } else if let Some(t) = a.strip_prefix("--ret=") {
            ret = parse_ret(t)?;
        } else if a == "--strict" {
            strict = true;
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
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    fn call(args: &[&str]) -> Result<CallSpec, UsageError> {
        parse_call_args(&strings(args))
    }

    #[test]
    fn typed_arguments_and_return_type() {
        let spec = call(&[
            "lib.so",
            "f",
            "i32:-5",
            "i64:0x10",
            "u64:18446744073709551615",
            "f64:1.5",
            "str:hi there",
            "null",
            "--ret",
            "f64",
        ])
        .unwrap();
        assert_eq!(spec.file, PathBuf::from("lib.so"));
        assert_eq!(spec.symbol, "f");
        assert_eq!(
            spec.args,
            vec![
                Arg::I32(-5),
                Arg::I64(16),
                Arg::U64(u64::MAX),
                Arg::F64(1.5),
                Arg::Str(CString::new("hi there").unwrap()),
                Arg::Null,
            ]
        );
        assert_eq!(spec.ret, RetType::F64);
        assert!(!spec.strict);
        let spec = call(&["--strict", "lib.so", "--ret=str", "g@VER_1"]).unwrap();
        assert_eq!(
            (spec.symbol.as_str(), spec.ret, spec.strict),
            ("g@VER_1", RetType::Str, true)
        );
        assert_eq!(call(&["lib.so", "g"]).unwrap().ret, RetType::Void);
        // A string may contain colons; only the first separates the tag.
        assert_eq!(
            call(&["l", "f", "str:a:b"]).unwrap().args,
            vec![Arg::Str(CString::new("a:b").unwrap())]
        );
    }

    #[test]
    fn every_misuse_is_a_usage_error() {
        use UsageError::*;
        assert_eq!(call(&[]), Err(MissingFile("call")));
        assert_eq!(call(&["lib.so"]), Err(MissingSymbol));
        assert!(
            matches!(call(&["l", "f", "i8:1"]), Err(UnknownArgType { tag, .. }) if tag == "i8")
        );
        assert!(matches!(call(&["l", "f", "5"]), Err(UnknownArgType { .. })));
        assert!(matches!(
            call(&["l", "f", "i32:x"]),
            Err(BadNumber { kind: "i32", .. })
        ));
        assert!(matches!(
            call(&["l", "f", "i32:4294967296"]),
            Err(BadNumber { .. })
        ));
        assert!(matches!(
            call(&["l", "f", "u64:-1"]),
            Err(BadNumber { kind: "u64", .. })
        ));
        assert!(matches!(call(&["l", "f", "i64:"]), Err(BadNumber { .. })));
        assert!(matches!(
            call(&["l", "f", "f64:one"]),
            Err(BadNumber { kind: "f64", .. })
        ));
        assert!(matches!(
            call(&["l", "f", "i32:1_000"]),
            Err(BadNumber { .. })
        ));
        assert_eq!(call(&["l", "f", "--ret"]), Err(MissingRetType));
        assert_eq!(
            call(&["l", "f", "--ret", "i8"]),
            Err(UnknownRetType("i8".into()))
        );
        assert!(matches!(
            call(&["l", "f", "--verbose"]),
            Err(UnknownOption { .. })
        ));
        let seven: Vec<&str> = ["l", "f"].into_iter().chain(["i32:1"; 7]).collect();
        assert_eq!(call(&seven), Err(TooManyIntArgs { count: 7 }));
        let nine: Vec<&str> = ["l", "f"].into_iter().chain(["f64:1"; 9]).collect();
        assert_eq!(call(&nine), Err(TooManyFloatArgs { count: 9 }));
        // Six of each class is fine: they use different registers.
        let mixed: Vec<&str> = ["l", "f"]
            .into_iter()
            .chain(["i64:1"; 6])
            .chain(["f64:2"; 8])
            .collect();
        assert_eq!(call(&mixed).unwrap().args.len(), 14);
    }

    #[test]
    fn commands() {
        assert_eq!(parse(&[]), Err(UsageError::NoCommand));
        assert_eq!(parse(&strings(&["--help"])), Ok(Command::Help));
        assert_eq!(
            parse(&strings(&["inspect", "x.so", "--json"])),
            Ok(Command::Inspect {
                file: "x.so".into(),
                json: true
            })
        );
        assert_eq!(
            parse(&strings(&["inspect"])),
            Err(UsageError::MissingFile("inspect"))
        );
        assert!(matches!(
            parse(&strings(&["inspect", "a", "b"])),
            Err(UsageError::ExtraArgument { .. })
        ));
        assert!(matches!(
            parse(&strings(&["frobnicate"])),
            Err(UsageError::UnknownCommand(_))
        ));
    }

    /// A small deterministic fuzzer: random argument vectors built from pieces
    /// of valid and invalid syntax never make the parser panic, and whatever it
    /// accepts respects the register limits.
    #[test]
    fn random_command_lines_never_panic() {
        const PIECES: &[&str] = &[
            "lib.so",
            "f",
            "--ret",
            "--ret=",
            "i32",
            "i64",
            "u64",
            "f64",
            "str",
            "ptr",
            "void",
            "null",
            "--strict",
            "--",
            ":",
            "i32:",
            "i32:-",
            "i32:0x",
            "i32:-2147483648",
            "i64:-9223372036854775808",
            "u64:0xffffffffffffffff",
            "u64:0x1ffffffffffffffff",
            "f64:nan",
            "f64:-inf",
            "f64:1e308",
            "str:",
            "str:\u{0}",
            "str:é",
            "x:y",
            "-1",
            "i32:+7",
            "i64:0X1F",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 18) as usize;
            let args: Vec<String> = (0..len)
                .map(|_| {
                    let piece = PIECES[(next() % PIECES.len() as u64) as usize];
                    if next() % 5 == 0 {
                        format!("{piece}{}", next() % 1000)
                    } else {
                        piece.to_owned()
                    }
                })
                .collect();
            if let Ok(spec) = parse_call_args(&args) {
                let floats = spec.args.iter().filter(|a| a.is_float()).count();
                assert!(floats <= MAX_FLOAT_ARGS);
                assert!(spec.args.len() - floats <= MAX_INT_ARGS);
            }
            let _ = parse(&args);
        }
    }
}
