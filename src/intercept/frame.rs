//! The trap frame: what the thunk saves on its own stack for one intercepted
//! call, and the per-call state the hooks share.
//!
//! Owns [`Frame`], whose first part has a fixed layout that the thunk's
//! assembly (`thunk.rs`) reads and writes by offset (the offsets are the
//! constants here, checked against the struct at compile time), and
//! [`CallState`], the Rust-only part: the site, `errno`, the hooks that ran and
//! their data slots. It does not run hooks (`dispatch.rs`) or know what a hook
//! may see (`call.rs`).
//!
//! Unsafe code is allowed in this module: a long chain's spill is reached
//! through the raw pointer the frame holds.
#![allow(unsafe_code)]

use super::meta::Meta;

/// Hooks kept inline in a frame; a longer chain spills into [`CallState::more`].
pub(crate) const INLINE_HOOKS: usize = 8;

/// Stack words a call with a `post` copies for its target unless an interceptor
/// asks for more: 16 words, 128 bytes of stack arguments.
pub const DEFAULT_STACK_WINDOW: usize = 16;

/// What `dispatch::enter` answers the thunk: jump to the target.
pub(crate) const PASS: u32 = 0;
/// A pre returned: the results are in the frame.
pub(crate) const RETURN: u32 = 1;
/// Call the target and then `dispatch::leave`.
pub(crate) const CALL: u32 = 2;

/// The frame the thunk builds below its saved `%rbp`, 16-byte aligned.
///
/// Everything up to `call` is written by the thunk's assembly at fixed offsets.
#[repr(C, align(16))]
pub(crate) struct Frame {
    /// `%rdi, %rsi, %rdx, %rcx, %r8, %r9` at entry (a pre may change them).
    pub int: [u64; 6],
    /// `%rax` at entry: for a variadic call, `%al` is how many vector registers
    /// carry arguments.
    pub rax: u64,
    /// The stub's index (`%r11` at entry).
    pub index: u64,
    /// `%xmm0`..`%xmm7` at entry, as two 64-bit halves each.
    pub xmm: [[u64; 2]; 8],
    /// `%rax, %rdx` on return (set by the target, or by a pre that returns).
    pub ret: [u64; 2],
    /// `%xmm0, %xmm1` on return.
    pub ret_xmm: [[u64; 2]; 2],
    /// Where the thunk jumps (pass through) or which it calls (with a post).
    pub target: u64,
    /// How many 8-byte words of stack arguments the thunk copies for the call
    /// (even, so the stack stays 16-byte aligned).
    pub stack_words: u64,
    /// `st(0)`, `st(1)` as the target left them (80-bit values in 16-byte slots):
    /// a `long double` or `complex long double` result.
    pub x87: [[u8; 16]; 2],
    /// How many x87 registers the target returned values in (0, 1 or 2).
    pub x87_count: u64,
    /// The Rust side's state of this call.
    pub call: CallState,
}

/// The per-call state the thunk never reads.
#[repr(C)]
pub(crate) struct CallState {
    /// The site's published state (a `site::SiteState`, alive until the site
    /// is released, which happens only when the object that owns it is
    /// unloaded).
    pub site: *const (),
    /// What the site stands for (owned by the site state).
    pub meta: *const Meta,
    /// The calling thread's trap state (a `thread::State`, which lives as long
    /// as the thread): `leave` runs on the thread `enter` did.
    pub thread: *const (),
    /// `errno`: the caller's at entry, the target's after it returned.
    pub errno: i32,
    /// `FLAG_*` bits.
    pub flags: u32,
    /// How many intercepted calls of this thread are running, this one included.
    pub depth: u32,
    /// How many hooks of `hooks` were reached (their pre ran, or they have none).
    pub ran: u32,
    /// How many hooks the chain has.
    pub count: u32,
    /// The hooks of the chain (each an `interceptor::Hooks`), in order (the
    /// first [`INLINE_HOOKS`]).
    pub hooks: [*const (); INLINE_HOOKS],
    /// Each hook's data slot.
    pub data: [u64; INLINE_HOOKS],
    /// Hooks and data slots past the inline ones, or null.
    pub more: *mut Spill,
}

/// The part of a long chain that does not fit in the frame.
pub(crate) struct Spill {
    pub hooks: Vec<*const ()>,
    pub data: Vec<u64>,
}

/// The call ends through an exception or a forced unwind.
pub(crate) const FLAG_UNWINDING: u32 = 1;
/// A pre returned: the target is not called.
pub(crate) const FLAG_RETURNED: u32 = 2;
/// The hooks are running after the target (or after a pre returned).
pub(crate) const FLAG_POST: u32 = 4;

// Offsets the assembly uses.
pub(crate) const OFF_RAX: usize = 48;
pub(crate) const OFF_INDEX: usize = 56;
pub(crate) const OFF_XMM: usize = 64;
pub(crate) const OFF_RET: usize = 192;
pub(crate) const OFF_RET_XMM: usize = 208;
pub(crate) const OFF_TARGET: usize = 240;
pub(crate) const OFF_WORDS: usize = 248;
pub(crate) const OFF_X87: usize = 256;
pub(crate) const OFF_X87_COUNT: usize = 288;
/// The frame's size: what the thunk subtracts from `%rsp`.
pub(crate) const FRAME_SIZE: usize = std::mem::size_of::<Frame>();

const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(Frame, int) == 0);
    assert!(offset_of!(Frame, rax) == OFF_RAX);
    assert!(offset_of!(Frame, index) == OFF_INDEX);
    assert!(offset_of!(Frame, xmm) == OFF_XMM);
    assert!(offset_of!(Frame, ret) == OFF_RET);
    assert!(offset_of!(Frame, ret_xmm) == OFF_RET_XMM);
    assert!(offset_of!(Frame, target) == OFF_TARGET);
    assert!(offset_of!(Frame, stack_words) == OFF_WORDS);
    assert!(offset_of!(Frame, x87) == OFF_X87);
    assert!(offset_of!(Frame, x87_count) == OFF_X87_COUNT);
    assert!(FRAME_SIZE % 16 == 0);
};

impl Frame {
    /// The caller's stack pointer at entry: where the return address is; the
    /// stack arguments start one word above. The thunk pushed `%rbp` just
    /// below it and put the frame right under that.
    pub fn entry_sp(&self) -> usize {
        self as *const Frame as usize + FRAME_SIZE + 8
    }

    /// The hook at position `k` of the chain.
    pub fn hook(&self, k: usize) -> *const () {
        match k.checked_sub(INLINE_HOOKS) {
            None => self.call.hooks[k],
            // SAFETY: `more` is set whenever the chain is longer than the inline
            // part (`dispatch::collect`), and owned by this frame.
            Some(j) => unsafe { (&(*self.call.more).hooks)[j] },
        }
    }

    /// The data slot of position `k`.
    pub fn data_mut(&mut self, k: usize) -> &mut u64 {
        match k.checked_sub(INLINE_HOOKS) {
            None => &mut self.call.data[k],
            // SAFETY: as in `hook`.
            Some(j) => unsafe { &mut (&mut (*self.call.more).data)[j] },
        }
    }
}
