//! Unit tests of the command-line parser: every form, every misuse, and a small
//! deterministic fuzzer.

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
    assert!(matches!(call(&["l", "f", "i8:1"]), Err(UnknownArgType { tag, .. }) if tag == "i8"));
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
    assert_eq!(
        parse(&strings(&["check", "a.so", "--json", "lib/"])),
        Ok(Command::Check {
            paths: vec!["a.so".into(), "lib/".into()],
            json: true
        })
    );
    assert_eq!(
        parse(&strings(&["check", "--json"])),
        Err(UsageError::MissingPath)
    );
    assert!(matches!(
        parse(&strings(&["check", "a.so", "--lazy"])),
        Err(UsageError::UnknownOption {
            command: "check",
            ..
        })
    ));
}

#[test]
fn preloads_in_order() {
    let spec = call(&[
        "--preload",
        "first.so",
        "lib.so",
        "f",
        "--preload=second.so",
        "i32:1",
    ])
    .unwrap();
    assert_eq!(
        spec.preload,
        vec![PathBuf::from("first.so"), PathBuf::from("second.so")]
    );
    assert_eq!(
        (spec.file, spec.symbol, spec.args),
        ("lib.so".into(), "f".to_string(), vec![Arg::I32(1)])
    );
    assert!(call(&["lib.so", "f"]).unwrap().preload.is_empty());
    assert_eq!(
        call(&["lib.so", "f", "--preload"]),
        Err(UsageError::MissingPreload)
    );
    assert_eq!(
        call(&["lib.so", "f", "--preload="]),
        Err(UsageError::MissingPreload)
    );
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
        "--preload",
        "--preload=",
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
