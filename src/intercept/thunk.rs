//! The one thunk every intercepted stub jumps to (x86-64, System V ABI), and the
//! personality routine that lets exceptions and panics pass through it.
//!
//! Owns the assembly: a real frame (`push %rbp; mov %rsp, %rbp`, the CFA kept
//! in `%rbp`) with CFI, so unwinders, debuggers and profilers walk through it
//! to the original caller, whose return address is never touched. The thunk
//! saves the argument registers (`%rdi..%r9`, `%rax` for `%al`, `%xmm0..%xmm7`)
//! and the stub index (`%r11`) into a [`Frame`](super::frame::Frame), calls
//! `dispatch::enter` (`staticdl_intercept_enter`: the thunk calls its three
//! Rust entries by name), and then does what it answers:
//!
//! - **pass** (no hook wants the result): restores the registers, pops its
//!   frame and jumps to the target, which returns straight to the caller with
//!   the caller's own stack arguments;
//! - **return** (a pre returned a value): loads `%rax, %rdx, %xmm0, %xmm1`
//!   from the frame and returns to the caller without calling the target;
//! - **call** (a post is waiting): copies the window of the caller's stack
//!   arguments below the frame (16 words unrolled, more with `rep movsq`),
//!   restores the registers, calls the target, saves its results (and its x87
//!   results: how far the x87 stack's TOP moved during the call, read with
//!   `fnstsw`, says whether `st(0)`/`st(1)` hold a `long double` or `complex
//!   long double`), calls `dispatch::leave`, reloads the results and returns.
//!
//! Callee-saved registers are never touched (the CFI says so by saying
//! nothing); `%r10` and `%r11` (scratch, used by no argument) are clobbered, as
//! the stubs clobber them. `MXCSR` and the x87 control word are callee-saved
//! under the ABI and the hooks' code keeps them; the upper halves of the
//! vector registers are not saved.
//!
//! If the target unwinds (a C++ exception, a Rust panic, a forced unwind), the
//! personality routine (entered through a stub that hands it the unwinder's
//! return address, so it uses the functions of the unwinder that is driving:
//! the host's, or one a plugin carries and exports) sends the cleanup phase to
//! a landing pad in the thunk that calls `dispatch::unwound` (posts see the
//! call as unwinding) and resumes with that unwinder's `_Unwind_Resume`. An
//! unwinder whose functions are hidden (`-static-libgcc`) unwinds through the
//! thunk by its CFI alone, and the posts of that call do not run. It does not
//! decide anything about hooks (`dispatch.rs`).
//!
//! Unsafe code is allowed in this module: the thunk is assembly, and the
//! personality routine is called by the unwinder with its own context.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_void};

use super::frame::{
    DEFAULT_STACK_WINDOW, FRAME_SIZE, OFF_RAX, OFF_RET, OFF_RET_XMM, OFF_TARGET, OFF_WORDS,
    OFF_X87, OFF_X87_COUNT, OFF_XMM, RETURN,
};

std::arch::global_asm!(
    ".pushsection .text.staticdl_intercept,\"ax\",@progbits",
    ".p2align 4",
    ".globl staticdl_intercept_thunk",
    ".hidden staticdl_intercept_thunk",
    ".type staticdl_intercept_thunk,@function",
    "staticdl_intercept_thunk:",
    ".cfi_startproc",
    ".cfi_personality 0x1b, staticdl_intercept_personality",
    "    push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "    mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "    sub rsp, {frame}",
    "    mov [rsp], rdi",
    "    mov [rsp + 8], rsi",
    "    mov [rsp + 16], rdx",
    "    mov [rsp + 24], rcx",
    "    mov [rsp + 32], r8",
    "    mov [rsp + 40], r9",
    "    mov [rsp + {rax}], rax",
    "    mov [rsp + {rax} + 8], r11",
    "    movaps [rsp + {xmm}], xmm0",
    "    movaps [rsp + {xmm} + 16], xmm1",
    "    movaps [rsp + {xmm} + 32], xmm2",
    "    movaps [rsp + {xmm} + 48], xmm3",
    "    movaps [rsp + {xmm} + 64], xmm4",
    "    movaps [rsp + {xmm} + 80], xmm5",
    "    movaps [rsp + {xmm} + 96], xmm6",
    "    movaps [rsp + {xmm} + 112], xmm7",
    "    mov rdi, rsp",
    "    call staticdl_intercept_enter",
    "    cmp eax, {ret_code}",
    "    je 3f",
    "    ja 4f",
    // Pass: the registers as they came (or as a pre changed them), then the
    // target in place of the thunk.
    "    mov r11, [rsp + {target}]",
    "    mov rdi, [rsp]",
    "    mov rsi, [rsp + 8]",
    "    mov rdx, [rsp + 16]",
    "    mov rcx, [rsp + 24]",
    "    mov r8, [rsp + 32]",
    "    mov r9, [rsp + 40]",
    "    mov rax, [rsp + {rax}]",
    "    movaps xmm0, [rsp + {xmm}]",
    "    movaps xmm1, [rsp + {xmm} + 16]",
    "    movaps xmm2, [rsp + {xmm} + 32]",
    "    movaps xmm3, [rsp + {xmm} + 48]",
    "    movaps xmm4, [rsp + {xmm} + 64]",
    "    movaps xmm5, [rsp + {xmm} + 80]",
    "    movaps xmm6, [rsp + {xmm} + 96]",
    "    movaps xmm7, [rsp + {xmm} + 112]",
    ".cfi_remember_state",
    "    mov rsp, rbp",
    "    pop rbp",
    ".cfi_def_cfa rsp, 8",
    "    jmp r11",
    ".cfi_restore_state",
    // Return: a pre's results, without calling the target.
    "3:",
    "    mov rax, [rsp + {ret}]",
    "    mov rdx, [rsp + {ret} + 8]",
    "    movaps xmm0, [rsp + {ret_xmm}]",
    "    movaps xmm1, [rsp + {ret_xmm} + 16]",
    ".cfi_remember_state",
    "    mov rsp, rbp",
    "    pop rbp",
    ".cfi_def_cfa rsp, 8",
    "    ret",
    ".cfi_restore_state",
    // Call: the stack arguments copied below the frame, the registers
    // restored, the target called.
    "4:",
    // The x87 status word before the call (its TOP field: the stack is empty
    // here, as the ABI has it at a call), to tell afterwards what the target
    // left there.
    "    fnstsw ax",
    "    mov [rsp + {x87_count}], rax",
    "    mov rcx, [rsp + {words}]",
    "    lea rax, [rcx * 8]",
    "    sub rsp, rax",
    "    cmp ecx, {default_words}",
    "    jne 5f",
    // The default window, 128 bytes, unrolled (`rep movsq` starts slowly).
    "    movups xmm0, [rbp + 16]",
    "    movups xmm1, [rbp + 32]",
    "    movups xmm2, [rbp + 48]",
    "    movups xmm3, [rbp + 64]",
    "    movups xmm4, [rbp + 80]",
    "    movups xmm5, [rbp + 96]",
    "    movups xmm6, [rbp + 112]",
    "    movups xmm7, [rbp + 128]",
    "    movaps [rsp], xmm0",
    "    movaps [rsp + 16], xmm1",
    "    movaps [rsp + 32], xmm2",
    "    movaps [rsp + 48], xmm3",
    "    movaps [rsp + 64], xmm4",
    "    movaps [rsp + 80], xmm5",
    "    movaps [rsp + 96], xmm6",
    "    movaps [rsp + 112], xmm7",
    "    jmp 9f",
    "5:",
    "    mov rdi, rsp",
    "    lea rsi, [rbp + 16]",
    "    rep movsq",
    "9:",
    "    lea r11, [rbp - {frame}]",
    "    mov rdi, [r11]",
    "    mov rsi, [r11 + 8]",
    "    mov rdx, [r11 + 16]",
    "    mov rcx, [r11 + 24]",
    "    mov r8, [r11 + 32]",
    "    mov r9, [r11 + 40]",
    "    mov rax, [r11 + {rax}]",
    "    movaps xmm0, [r11 + {xmm}]",
    "    movaps xmm1, [r11 + {xmm} + 16]",
    "    movaps xmm2, [r11 + {xmm} + 32]",
    "    movaps xmm3, [r11 + {xmm} + 48]",
    "    movaps xmm4, [r11 + {xmm} + 64]",
    "    movaps xmm5, [r11 + {xmm} + 80]",
    "    movaps xmm6, [r11 + {xmm} + 96]",
    "    movaps xmm7, [r11 + {xmm} + 112]",
    "    call [r11 + {target}]",
    ".globl staticdl_intercept_return_point",
    ".hidden staticdl_intercept_return_point",
    "staticdl_intercept_return_point:",
    "    lea r11, [rbp - {frame}]",
    "    mov [r11 + {ret}], rax",
    "    mov [r11 + {ret} + 8], rdx",
    "    movaps [r11 + {ret_xmm}], xmm0",
    "    movaps [r11 + {ret_xmm} + 16], xmm1",
    // x87 results: st(0) (long double) and st(1) (complex long double) are
    // stored if the target left them: how many is how far the stack's TOP
    // moved since entry (reading the status word is cheap; probing registers
    // with `fxam` is not).
    "    fnstsw ax",
    "    movzx eax, ax",
    "    mov rcx, [r11 + {x87_count}]",
    "    shr ecx, 11",
    "    shr eax, 11",
    "    sub ecx, eax",
    "    and ecx, 7",
    "    jz 6f",
    "    fstp tbyte ptr [r11 + {x87}]",
    "    cmp ecx, 1",
    "    je 6f",
    "    fstp tbyte ptr [r11 + {x87} + 16]",
    "    mov ecx, 2",
    "6:",
    "    mov [r11 + {x87_count}], rcx",
    "    mov rsp, r11",
    "    mov rdi, rsp",
    "    call staticdl_intercept_leave",
    "    mov rcx, [rsp + {x87_count}]",
    "    test ecx, ecx",
    "    jz 7f",
    "    cmp ecx, 1",
    "    je 8f",
    "    fld tbyte ptr [rsp + {x87} + 16]",
    "8:",
    "    fld tbyte ptr [rsp + {x87}]",
    "7:",
    "    mov rax, [rsp + {ret}]",
    "    mov rdx, [rsp + {ret} + 8]",
    "    movaps xmm0, [rsp + {ret_xmm}]",
    "    movaps xmm1, [rsp + {ret_xmm} + 16]",
    ".cfi_remember_state",
    "    mov rsp, rbp",
    "    pop rbp",
    ".cfi_def_cfa rsp, 8",
    "    ret",
    ".cfi_restore_state",
    // The landing pad: the target unwound; %rax holds the exception and %rdx
    // the driving unwinder's `_Unwind_Resume`, both kept in the x87 slots
    // (unused on this path). The unwinder restored %rbp
    // (callee-saved), so the frame is found from it.
    ".globl staticdl_intercept_landing_pad",
    ".hidden staticdl_intercept_landing_pad",
    "staticdl_intercept_landing_pad:",
    "    lea rsp, [rbp - {frame}]",
    "    mov [rsp + {x87}], rax",
    "    mov [rsp + {x87} + 8], rdx",
    "    mov rdi, rsp",
    "    call staticdl_intercept_unwound",
    "    mov rdi, [rsp + {x87}]",
    "    call [rsp + {x87} + 8]",
    "    ud2",
    ".cfi_endproc",
    ".size staticdl_intercept_thunk, .-staticdl_intercept_thunk",
    // The personality entry: the unwinder's own return address goes to the
    // Rust routine as a sixth argument, so it can use that unwinder's API.
    ".p2align 4",
    ".type staticdl_intercept_personality,@function",
    "staticdl_intercept_personality:",
    "    mov r9, [rsp]",
    "    jmp {personality}",
    ".size staticdl_intercept_personality, .-staticdl_intercept_personality",
    ".popsection",
    personality = sym personality,
    frame = const FRAME_SIZE,
    rax = const OFF_RAX,
    xmm = const OFF_XMM,
    ret = const OFF_RET,
    ret_xmm = const OFF_RET_XMM,
    target = const OFF_TARGET,
    words = const OFF_WORDS,
    x87 = const OFF_X87,
    x87_count = const OFF_X87_COUNT,
    ret_code = const RETURN,
    default_words = const DEFAULT_STACK_WINDOW,
);

extern "C" {
    fn staticdl_intercept_thunk();
    fn staticdl_intercept_return_point();
    fn staticdl_intercept_landing_pad();
}

extern "C-unwind" {
    /// The unwinder's resume entry (libgcc's or LLVM's libunwind, whichever the
    /// host links for its own panics).
    fn _Unwind_Resume(exception: *mut c_void) -> !;
}

/// The thunk's address: the target of every stub that has a hook to run.
pub(crate) fn address() -> usize {
    staticdl_intercept_thunk as *const () as usize
}

// The unwinder's interface (the Itanium C++ ABI's level 1, which libgcc_s and
// LLVM's libunwind both implement).
type Context = c_void;
const UA_SEARCH_PHASE: c_int = 1;
const URC_FATAL_PHASE1_ERROR: c_int = 3;
const URC_INSTALL_CONTEXT: c_int = 7;
const URC_CONTINUE_UNWIND: c_int = 8;
/// DWARF registers 0 and 1 on x86-64 (`%rax`, `%rdx`): the exception data
/// registers.
const EH_DATA_REGISTER: c_int = 0;
const EH_DATA_REGISTER_2: c_int = 1;

extern "C" {
    fn _Unwind_GetIP(context: *mut Context) -> usize;
    fn _Unwind_SetIP(context: *mut Context, ip: usize);
    fn _Unwind_SetGR(context: *mut Context, index: c_int, value: usize);
}

type GetIp = unsafe extern "C" fn(*mut Context) -> usize;
type SetIp = unsafe extern "C" fn(*mut Context, usize);
type SetGr = unsafe extern "C" fn(*mut Context, c_int, usize);

/// One unwinder's functions.
struct Unwinder {
    get_ip: GetIp,
    set_ip: SetIp,
    set_gr: SetGr,
    resume: usize,
}

/// The context functions of the unwinder whose code is at `caller`: the
/// host's own (what plugins get for `libgcc_s.so.1` from the libc provider),
/// or those a loaded object that carries its own unwinder exports. `None` for
/// an unwinder that keeps them hidden (`-static-libgcc`): its contexts cannot
/// be read.
fn unwinder_at(caller: usize) -> Option<Unwinder> {
    let Some(lib) = staticdl_loader::Library::containing(caller) else {
        return Some(Unwinder {
            get_ip: _Unwind_GetIP,
            set_ip: _Unwind_SetIP,
            set_gr: _Unwind_SetGR,
            resume: _Unwind_Resume as *const () as usize,
        });
    };
    let find = |name: &str| {
        lib.lookup_here(&staticdl_loader::SymbolName::new(name))
            .map(|p| p.as_ptr() as usize)
    };
    let (get, set, gr, resume) = (
        find("_Unwind_GetIP")?,
        find("_Unwind_SetIP")?,
        find("_Unwind_SetGR")?,
        find("_Unwind_Resume")?,
    );
    // SAFETY: the object's exports of these names are the Itanium ABI's
    // functions of these types (the unwinder it carries).
    unsafe {
        Some(Unwinder {
            get_ip: std::mem::transmute::<usize, GetIp>(get),
            set_ip: std::mem::transmute::<usize, SetIp>(set),
            set_gr: std::mem::transmute::<usize, SetGr>(gr),
            resume,
        })
    }
}

/// The thunk's personality routine: it never catches anything; in the cleanup
/// phase of an exception (or a forced unwind) that leaves the target, it sends
/// the unwinder to the thunk's landing pad, which runs the posts and resumes.
/// `caller` is the unwinder's return address (added by the entry stub).
///
/// # Safety
/// Called by the unwinder only (through `staticdl_intercept_personality`),
/// with its own exception and context.
unsafe extern "C" fn personality(
    version: c_int,
    actions: c_int,
    _class: u64,
    exception: *mut c_void,
    context: *mut Context,
    caller: usize,
) -> c_int {
    if version != 1 {
        return URC_FATAL_PHASE1_ERROR;
    }
    if actions & UA_SEARCH_PHASE != 0 {
        return URC_CONTINUE_UNWIND;
    }
    let Some(u) = unwinder_at(caller) else {
        // A private unwinder: let it pass without the posts.
        return URC_CONTINUE_UNWIND;
    };
    // SAFETY: the driving unwinder's own functions, on its context for the
    // thunk's frame.
    let ip = unsafe { (u.get_ip)(context) };
    if ip != staticdl_intercept_return_point as *const () as usize {
        // Only the call of the target can unwind; anywhere else (after
        // `_Unwind_Resume` was called from the landing pad) there is nothing to do.
        return URC_CONTINUE_UNWIND;
    }
    // SAFETY: as above; the landing pad expects the exception in %rax and
    // the unwinder's resume entry in %rdx.
    unsafe {
        (u.set_gr)(context, EH_DATA_REGISTER, exception as usize);
        (u.set_gr)(context, EH_DATA_REGISTER_2, u.resume);
        (u.set_ip)(
            context,
            staticdl_intercept_landing_pad as *const () as usize,
        );
    }
    URC_INSTALL_CONTEXT
}
