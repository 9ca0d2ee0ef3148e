//! What a hook sees of an intercepted call, and what it may change.
//!
//! Owns [`Call`]: the symbol, version and object the trap stands for, the
//! target, the integer and floating-point argument registers, a window of the
//! caller's stack arguments, the return registers (`%rax`, `%rdx`, `%xmm0`,
//! `%xmm1`), `errno`, the depth, and the hook's own data slot. Reading is safe;
//! every setter that changes what the target or the caller sees is `unsafe`.
//! It does not run hooks (`dispatch.rs`).
//!
//! Unsafe code is allowed in this module: the stack window is read from (and
//! written to) the caller's stack above the thunk's frame.
#![allow(unsafe_code)]

use std::path::Path;

use super::frame::{Frame, FLAG_POST, FLAG_RETURNED, FLAG_UNWINDING};
use super::meta::{Meta, TrapKind};

/// Stack argument words a hook can read ([`Call::stack_arg`]): the default
/// stack window, which lies in the caller's frames above the return address.
pub const STACK_ARGS: usize = super::frame::DEFAULT_STACK_WINDOW;

/// One intercepted call, as a `pre` or `post` hook sees it.
///
/// Arguments are read as the System V x86-64 ABI passes them: integer and
/// pointer arguments in `%rdi, %rsi, %rdx, %rcx, %r8, %r9` ([`Call::arg`] 0–5),
/// then on the stack ([`Call::arg`] 6 on, which is [`Call::stack_arg`] from 0:
/// right when every earlier argument went in a register); `float`/`double`
/// arguments in `%xmm0`–`%xmm7` ([`Call::float_arg`]). A post sees the arguments
/// as the call was made (after any pre changed them) and the results the
/// target returned.
///
/// ```
/// use staticdl::intercept::{Call, Flow, Interceptor};
/// fn trace(call: &mut Call<'_>) -> Flow {
///     eprintln!("{} from {} (depth {}): {:#x}, {:#x}",
///         call.symbol(), call.object().display(), call.depth(), call.arg(0), call.arg(1));
///     Flow::Continue
/// }
/// let i = Interceptor::new().pre(trace);
/// # drop(i);
/// ```
pub struct Call<'a> {
    frame: &'a mut Frame,
    slot: usize,
}

impl std::fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("symbol", &self.symbol())
            .field("object", &self.object())
            .field("target", &format_args!("{:#x}", self.target()))
            .field("depth", &self.depth())
            .finish()
    }
}

impl<'a> Call<'a> {
    /// The context of hook `slot` of the chain over `frame`.
    pub(crate) fn new(frame: &'a mut Frame, slot: usize) -> Self {
        Call { frame, slot }
    }

    fn meta(&self) -> &Meta {
        // SAFETY: set by `dispatch::enter` from the site state, which outlives
        // the call (sites are released only when their object is unloaded).
        unsafe { &*self.frame.call.meta }
    }

    /// The symbol the trap stands for (lossily decoded if it is not UTF-8).
    pub fn symbol(&self) -> &str {
        &self.meta().symbol
    }

    /// The symbol's version as the importer asks for it (`GLIBC_2.2.5`), if any.
    pub fn version(&self) -> Option<&str> {
        self.meta().version.as_deref()
    }

    /// For an import, the object that makes the call; for an export, the object
    /// that defines the function.
    pub fn object(&self) -> &Path {
        &self.meta().object
    }

    /// Whether the trap is on an import or an export.
    pub fn kind(&self) -> TrapKind {
        self.meta().kind
    }

    /// The address the call goes to (after any redirect).
    pub fn target(&self) -> usize {
        self.frame.target as usize
    }

    /// Where the call returns to, in the caller.
    pub fn return_address(&self) -> usize {
        // SAFETY: the word at the caller's stack pointer at entry: the return
        // address its `call` pushed, on this thread's stack above the frame.
        unsafe { *(self.frame.entry_sp() as *const u64) as usize }
    }

    /// Integer-class argument `i`: registers for 0–5, then the stack window
    /// (`i - 6` as [`Call::stack_arg`]).
    ///
    /// # Panics
    /// If `i >= 6 + STACK_ARGS`.
    pub fn arg(&self, i: usize) -> u64 {
        match i.checked_sub(6) {
            None => self.frame.int[i],
            Some(j) => self.stack_arg(j),
        }
    }

    /// The low 64 bits of `%xmm<i>` as a `double` (a `float` argument is in the
    /// low 32 bits: use [`Call::xmm`]).
    ///
    /// # Panics
    /// If `i >= 8`.
    pub fn float_arg(&self, i: usize) -> f64 {
        f64::from_bits(self.frame.xmm[i][0])
    }

    /// `%xmm<i>` (0–7) at entry, as two 64-bit halves (low first).
    ///
    /// # Panics
    /// If `i >= 8`.
    pub fn xmm(&self, i: usize) -> [u64; 2] {
        self.frame.xmm[i]
    }

    /// `%al` at entry: for a variadic function, how many vector registers carry
    /// arguments.
    pub fn vector_count(&self) -> u8 {
        self.frame.rax as u8
    }

    /// Word `i` of the caller's stack arguments (the first is just above the
    /// return address). Words past the function's real arguments belong to the
    /// caller's frame and mean nothing.
    ///
    /// # Panics
    /// If `i >= STACK_ARGS`.
    pub fn stack_arg(&self, i: usize) -> u64 {
        assert!(i < STACK_ARGS, "stack argument {i} is outside the window");
        // SAFETY: the window lies just above the return address, in the
        // caller's frames on this thread's stack (at least the caller's own
        // frame and those of its callers up to the thread's start, whose
        // bootstrap frames hold more than the window), and is only read.
        unsafe { *((self.frame.entry_sp() + 8 + 8 * i) as *const u64) }
    }

    /// `%rax` on return: the result of an integer or pointer function (`0` in a
    /// pre, unless an earlier pre set it).
    pub fn ret(&self) -> u64 {
        self.frame.ret[0]
    }

    /// `%rdx` on return: the second half of a 16-byte result.
    pub fn ret2(&self) -> u64 {
        self.frame.ret[1]
    }

    /// The low 64 bits of `%xmm0` on return, as a `double`.
    pub fn ret_f64(&self) -> f64 {
        f64::from_bits(self.frame.ret_xmm[0][0])
    }

    /// `%xmm0` (`i == 0`) or `%xmm1` (`i == 1`) on return.
    ///
    /// # Panics
    /// If `i >= 2`.
    pub fn ret_xmm(&self, i: usize) -> [u64; 2] {
        self.frame.ret_xmm[i]
    }

    /// `errno`: in a pre, the caller's at the call; in a post, the target's.
    /// Whatever the hooks call, this is what the caller finds afterwards
    /// (unless a hook sets it).
    pub fn errno(&self) -> i32 {
        self.frame.call.errno
    }

    /// How many intercepted calls of this thread are running, this one
    /// included: 1 for a call made outside any other (calls that pass through
    /// without a post count while their hooks run only).
    pub fn depth(&self) -> u32 {
        self.frame.call.depth
    }

    /// This hook's data slot for this call: set in the pre, read in the post
    /// (0 until set).
    pub fn data(&self) -> u64 {
        // Reading through the frame's accessor needs `&mut`; the slot is Copy.
        let k = self.slot;
        match k.checked_sub(super::frame::INLINE_HOOKS) {
            None => self.frame.call.data[k],
            // SAFETY: `more` holds the slots past the inline ones whenever the
            // chain is that long, and this hook's slot is among them.
            Some(j) => unsafe { (&(*self.frame.call.more).data)[j] },
        }
    }

    /// Sets this hook's data slot (see [`Call::data`]).
    pub fn set_data(&mut self, value: u64) {
        *self.frame.data_mut(self.slot) = value;
    }

    /// Whether the hooks run after the call (a post).
    pub fn is_post(&self) -> bool {
        self.frame.call.flags & FLAG_POST != 0
    }

    /// Whether a pre returned instead of calling the target (a mock).
    pub fn returned(&self) -> bool {
        self.frame.call.flags & FLAG_RETURNED != 0
    }

    /// Whether the call is ending by an exception, a panic or a forced unwind
    /// passing through it (in a post: the return registers mean nothing).
    pub fn unwinding(&self) -> bool {
        self.frame.call.flags & FLAG_UNWINDING != 0
    }

    /// Sets integer-class argument `i` (0–5: registers; 6 on: the caller's
    /// stack arguments, which belong to the callee).
    ///
    /// # Safety
    /// The value must be valid for the target's parameter, as if the caller had
    /// passed it; in a post it changes nothing the target sees.
    ///
    /// # Panics
    /// If `i >= 6 + STACK_ARGS`.
    pub unsafe fn set_arg(&mut self, i: usize, value: u64) {
        match i.checked_sub(6) {
            None => self.frame.int[i] = value,
            Some(j) => {
                assert!(j < STACK_ARGS, "stack argument {j} is outside the window");
                // SAFETY: as in `stack_arg`; the argument area belongs to the
                // callee, and the caller's promise covers the value.
                unsafe { *((self.frame.entry_sp() + 8 + 8 * j) as *mut u64) = value };
            }
        }
    }

    /// Sets the low 64 bits of `%xmm<i>` (0–7) to a `double`.
    ///
    /// # Safety
    /// As for [`Call::set_arg`].
    pub unsafe fn set_float_arg(&mut self, i: usize, value: f64) {
        self.frame.xmm[i][0] = value.to_bits();
    }

    /// Sends the call to `target` instead (a pre; the next pres see it).
    ///
    /// # Safety
    /// `target` must be a function with the same signature and calling
    /// convention as the symbol, mapped for as long as calls can reach it.
    pub unsafe fn redirect(&mut self, target: usize) {
        self.frame.target = target as u64;
    }

    /// Sets `%rax` on return: the result of an integer or pointer function.
    ///
    /// # Safety
    /// The caller receives it as the function's result: it must be a valid
    /// value of the function's return type.
    pub unsafe fn set_ret(&mut self, value: u64) {
        self.frame.ret[0] = value;
    }

    /// Sets `%rdx` on return (the second half of a 16-byte result).
    ///
    /// # Safety
    /// As for [`Call::set_ret`].
    pub unsafe fn set_ret2(&mut self, value: u64) {
        self.frame.ret[1] = value;
    }

    /// Sets the low 64 bits of `%xmm0` on return to a `double`.
    ///
    /// # Safety
    /// As for [`Call::set_ret`].
    pub unsafe fn set_ret_f64(&mut self, value: f64) {
        self.frame.ret_xmm[0] = [value.to_bits(), 0];
    }

    /// Sets `%xmm0` (`i == 0`) or `%xmm1` (`i == 1`) on return.
    ///
    /// # Safety
    /// As for [`Call::set_ret`].
    pub unsafe fn set_ret_xmm(&mut self, i: usize, value: [u64; 2]) {
        self.frame.ret_xmm[i] = value;
    }

    /// Sets the `errno` the target (in a pre) or the caller (in a post, or a pre
    /// that returns) finds.
    ///
    /// # Safety
    /// The caller and the target read it as the C library's `errno`, whose
    /// meaning they rely on.
    pub unsafe fn set_errno(&mut self, value: i32) {
        self.frame.call.errno = value;
    }

    /// The frame (for the C entry point's view of the call).
    pub(crate) fn frame_mut(&mut self) -> &mut Frame {
        self.frame
    }

    /// The site's description (for the C entry point's view of the call).
    pub(crate) fn meta_ref(&self) -> &Meta {
        self.meta()
    }
}
