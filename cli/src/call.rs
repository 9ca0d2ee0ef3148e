//! `staticdl call FILE SYMBOL [ARG...] [--ret TYPE] [--strict] [--preload LIB]...`:
//! load an object and call one
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
//! Functions that nothing provides are bound to traps (`trap_unresolved`):
//! the object loads, as with `RTLD_LAZY`, and calling such a function prints
//! `staticdl: <object>: call of unresolved function <name>` and aborts. Each is
//! named in a warning first, from the facade's check of the same open. Data
//! nothing provides still refuses the load, and `--strict` refuses on any
//! missing import. `--preload LIB` opens LIB first, with the same options and in
//! the global scope, so that its exports satisfy FILE's imports (and interpose
//! on FILE's own definitions), as `LD_PRELOAD` would.

use std::ffi::{c_char, CStr};
use std::path::Path;

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

/// Runs the command; returns the exit status.
pub fn run(spec: &CallSpec) -> i32 {
    let options = host::options().trap_unresolved(!spec.strict);
    let mut preloaded = Vec::new();
    for lib in &spec.preload {
        match open(lib, &options.clone().global(true)) {
            Ok(p) => preloaded.push(p),
            Err(e) => {
                eprintln!("staticdl: {e}");
                return 1;
            }
        }
    }
    let plugin = match open(&spec.file, &options) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("staticdl: {e}");
            return 1;
        }
    };
    let status = call(&plugin, spec);
    plugin.close();
    // The preloads go last, the most recent first.
    for p in preloaded.into_iter().rev() {
        p.close();
    }
    status
}

/// Opens `path` with `options`, having named each function that would be bound
/// to a trap.
fn open(path: &Path, options: &OpenOptions) -> Result<Plugin, staticdl::Error> {
    for m in options.check(path).missing() {
        if !m.trapped() {
            continue;
        }
        for object in m.needed_by() {
            eprintln!(
                "staticdl: warning: {} imports {}, which nothing provides; calling it aborts",
                object.display(),
                m.symbol()
            );
        }
    }
    options.open(path)
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
