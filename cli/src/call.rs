//! `staticdl call FILE SYMBOL [ARG...] [--ret TYPE]`: load an object and call one
//! of its C functions from the command line, purego-style.
//!
//! Owns the call itself. On x86-64 System V, integer and pointer arguments travel
//! in `rdi, rsi, rdx, rcx, r8, r9` and floating-point ones in `xmm0..xmm7`, each
//! class in its own sequence whatever the order in the prototype. So every
//! non-variadic C function of at most six integer/pointer and eight `double`
//! arguments can be called through one function pointer type taking six `u64` and
//! eight `f64`: the integer arguments packed in order into the first, the
//! floating-point ones into the second, and the unused registers set but never
//! read (they are caller-saved scratch registers, so passing them is harmless).
//! The result is read from `rax` (integers, pointers) or `xmm0` (`f64`).
//!
//! Imports that nothing provides are bound, after a warning, to a stub that
//! returns 0 — the object still loads, as with `RTLD_LAZY` for a function that is
//! never called (`--strict` refuses instead).

use std::ffi::{c_char, CStr};
use std::sync::Arc;

use staticdl::{OpenOptions, Plugin};

use crate::args::{Arg, CallSpec, RetType, MAX_FLOAT_ARGS, MAX_INT_ARGS};
use crate::host;

type IntFn = unsafe extern "C" fn(
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
) -> u64;
type FloatFn = unsafe extern "C" fn(
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
) -> f64;

/// What a missing import is bound to: ignores its arguments, returns 0.
extern "C" fn missing_import() -> u64 {
    0
}

/// Runs the command; returns the exit status.
pub fn run(spec: &CallSpec) -> i32 {
    let plugin = match open(spec) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("staticdl: {e}");
            return 1;
        }
    };
    let status = call(&plugin, spec);
    plugin.close();
    status
}

fn open(spec: &CallSpec) -> Result<Plugin, staticdl::Error> {
    let first = OpenOptions::new()
        .host_symbols(host::symbols)
        .open(&spec.file);
    let loader_error = first.as_ref().err().and_then(|e| e.loader_error());
    let missing: Vec<String> = match loader_error.map(|e| (e.path(), e.kind())) {
        Some((path, staticdl::loader::ErrorKind::UnresolvedSymbols { symbols }))
            if !spec.strict =>
        {
            for s in symbols {
                eprintln!(
                    "staticdl: warning: {} imports {s}, which nothing provides; it returns 0 if called",
                    path.display()
                );
            }
            symbols.iter().map(|s| s.name.clone()).collect()
        }
        _ => return first,
    };
    staticdl::forget_failure(&spec.file);
    let missing = Arc::new(missing);
    OpenOptions::new()
        .host_symbols(host::symbols)
        .host_symbols(move |name: &[u8], _: Option<&[u8]>| {
            missing
                .iter()
                .any(|m| m.as_bytes() == name)
                .then_some(missing_import as extern "C" fn() -> u64 as usize)
        })
        .open(&spec.file)
}

fn call(plugin: &Plugin, spec: &CallSpec) -> i32 {
    let mut ints = [0u64; MAX_INT_ARGS];
    let mut floats = [0f64; MAX_FLOAT_ARGS];
    let (mut ni, mut nf) = (0, 0);
    for a in &spec.args {
        let v = match a {
            Arg::F64(x) => {
                floats[nf] = *x;
                nf += 1;
                continue;
            }
            Arg::I32(x) => i64::from(*x) as u64,
            Arg::I64(x) => *x as u64,
            Arg::U64(x) => *x,
            // The `CString` lives in `spec`, which outlives the call.
            Arg::Str(s) => s.as_ptr() as u64,
            Arg::Null => 0,
        };
        ints[ni] = v;
        ni += 1;
    }
    let [i0, i1, i2, i3, i4, i5] = ints;
    let [f0, f1, f2, f3, f4, f5, f6, f7] = floats;
    if spec.ret == RetType::F64 {
        // SAFETY: the user vouches that SYMBOL is a non-variadic C function whose
        // arguments are those given; see the module docs for why the fixed
        // register-sized type calls it correctly.
        let f = match unsafe { plugin.symbol::<FloatFn>(&spec.symbol) } {
            Ok(f) => f,
            Err(e) => return not_found(e),
        };
        // SAFETY: as above; `plugin` outlives the call (its 14 register-sized
        // arguments are more than `Symbol::call` covers, hence the raw pointer).
        let r = unsafe { f.as_raw()(i0, i1, i2, i3, i4, i5, f0, f1, f2, f3, f4, f5, f6, f7) };
        println!("{r}");
        return 0;
    }
    // SAFETY: as above.
    let f = match unsafe { plugin.symbol::<IntFn>(&spec.symbol) } {
        Ok(f) => f,
        Err(e) => return not_found(e),
    };
    // SAFETY: as above.
    let r = unsafe { f.as_raw()(i0, i1, i2, i3, i4, i5, f0, f1, f2, f3, f4, f5, f6, f7) };
    match spec.ret {
        RetType::Void | RetType::F64 => {}
        RetType::I32 => println!("{}", r as u32 as i32),
        RetType::I64 => println!("{}", r as i64),
        RetType::U64 => println!("{r}"),
        RetType::Ptr => println!("{:#x}", r),
        RetType::Str if r == 0 => println!("(null)"),
        RetType::Str => {
            // SAFETY: the user vouches that the function returns a C string, which
            // lives in the still-loaded object or its data.
            let s = unsafe { CStr::from_ptr(r as usize as *const c_char) };
            println!("{}", s.to_string_lossy());
        }
    }
    0
}

fn not_found(e: staticdl::Error) -> i32 {
    eprintln!("staticdl: {e}");
    1
}
