//! What an interceptor is: a `pre` and a `post` closure over a [`Call`].
//!
//! Owns [`Interceptor`] (a cheap, shareable handle to its hooks), [`Flow`] (what
//! a `pre` answers) and the stack window a call with a `post` copies. It does
//! not decide where interceptors apply (`select.rs`, `attach.rs`, `global.rs`)
//! or run them (`dispatch.rs`).

use std::sync::Arc;

use super::call::Call;

/// What a `pre` hook answers.
///
/// ```
/// use staticdl::intercept::{Flow, Interceptor};
/// let stop = Interceptor::new().pre(|_| Flow::Return);
/// # drop(stop);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on: the next interceptor's `pre`, then the target (the one the call
    /// was bound to, or the one a `pre` redirected it to).
    Continue,
    /// Stop the chain and return to the caller without calling the target, with
    /// the return registers as the hooks set them (`Call::set_ret` and friends;
    /// zero otherwise): a mock.
    Return,
}

pub use super::frame::DEFAULT_STACK_WINDOW;
/// The largest stack window an interceptor may ask for (4 KiB).
pub const MAX_STACK_WINDOW: usize = 512;

type PreFn = dyn Fn(&mut Call<'_>) -> Flow + Send + Sync;
type PostFn = dyn Fn(&mut Call<'_>) + Send + Sync;

/// The hooks of one interceptor, shared by every chain it is in.
#[derive(Clone)]
pub(crate) struct Hooks {
    pub pre: Option<Arc<PreFn>>,
    pub post: Option<Arc<PostFn>>,
    pub stack_words: usize,
}

/// An interceptor: a `pre` hook run before the call and a `post` hook run after
/// it, in a chain as xgo's traps have them: the pres of a chain run in
/// registration order, the first that returns [`Flow::Return`] stops the chain
/// (and the target is not called), and the posts run in reverse order for every
/// interceptor whose pre ran. A hook's own calls go straight through (a
/// per-thread guard), `errno` is kept as the target left it across the posts,
/// and a panic in a hook is caught, reported by the panic hook, and counts as
/// [`Flow::Continue`].
///
/// Clones share the hooks: registering a clone registers the same interceptor.
///
/// # Stack arguments
///
/// A call whose chain has no `post` goes to the target with the caller's own
/// stack: nothing is copied and any number of stack arguments pass. A call with
/// a `post` is made by the thunk, which copies [`DEFAULT_STACK_WINDOW`] words of
/// the caller's stack arguments for it (or more, up to [`MAX_STACK_WINDOW`], if
/// an interceptor asks with [`stack_window`](Interceptor::stack_window)); a
/// function with more bytes of stack arguments than that must not get a post.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use staticdl::intercept::{Flow, Interceptor};
///
/// let calls = Arc::new(AtomicU64::new(0));
/// let seen = calls.clone();
/// let count = Interceptor::new()
///     .pre(move |call| {
///         seen.fetch_add(1, Ordering::Relaxed);
///         call.set_data(call.arg(0)); // carried to the post
///         Flow::Continue
///     })
///     .post(|call| println!("{}({}) = {}", call.symbol(), call.data(), call.ret()));
/// # drop(count);
/// ```
#[derive(Clone)]
pub struct Interceptor {
    pub(crate) hooks: Arc<Hooks>,
}

impl Default for Interceptor {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Interceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interceptor")
            .field("pre", &self.hooks.pre.is_some())
            .field("post", &self.hooks.post.is_some())
            .field("stack_window", &self.hooks.stack_words)
            .finish()
    }
}

impl Interceptor {
    /// An interceptor with no hooks. Registered as it is, it only traps: the
    /// selected bindings go through a stub (which goes straight to the target
    /// while nothing else is attached), so that per-thread interceptors
    /// ([`local`](super::local)) see those calls.
    ///
    /// ```
    /// let trap_only = staticdl::intercept::Interceptor::new();
    /// # drop(trap_only);
    /// ```
    pub fn new() -> Self {
        Interceptor {
            hooks: Arc::new(Hooks {
                pre: None,
                post: None,
                stack_words: DEFAULT_STACK_WINDOW,
            }),
        }
    }

    fn with(self, change: impl FnOnce(&mut Hooks)) -> Self {
        let mut hooks = (*self.hooks).clone();
        change(&mut hooks);
        Interceptor {
            hooks: Arc::new(hooks),
        }
    }

    /// Sets the hook run before the call (replacing any earlier one).
    ///
    /// ```
    /// use staticdl::intercept::{Flow, Interceptor};
    /// let trace = Interceptor::new().pre(|call| {
    ///     eprintln!("{} called {}", call.object().display(), call.symbol());
    ///     Flow::Continue
    /// });
    /// # drop(trace);
    /// ```
    pub fn pre(self, hook: impl Fn(&mut Call<'_>) -> Flow + Send + Sync + 'static) -> Self {
        self.with(|h| h.pre = Some(Arc::new(hook)))
    }

    /// Sets the hook run after the call (replacing any earlier one). It also runs
    /// when the call ends with an exception or a panic passing through
    /// ([`Call::unwinding`]), and after a pre returned ([`Call::returned`]).
    ///
    /// ```
    /// use staticdl::intercept::Interceptor;
    /// let results = Interceptor::new().post(|call| eprintln!("{} = {}", call.symbol(), call.ret()));
    /// # drop(results);
    /// ```
    pub fn post(self, hook: impl Fn(&mut Call<'_>) + Send + Sync + 'static) -> Self {
        self.with(|h| h.post = Some(Arc::new(hook)))
    }

    /// How many 8-byte words of stack arguments a call with this interceptor's
    /// post copies for its target (at least [`DEFAULT_STACK_WINDOW`], at most
    /// [`MAX_STACK_WINDOW`]); see [Stack arguments](Interceptor#stack-arguments).
    ///
    /// ```
    /// let wide = staticdl::intercept::Interceptor::new().stack_window(64);
    /// # drop(wide);
    /// ```
    pub fn stack_window(self, words: usize) -> Self {
        self.with(|h| h.stack_words = words.clamp(DEFAULT_STACK_WINDOW, MAX_STACK_WINDOW))
    }

    /// Whether two handles are the same interceptor.
    ///
    /// ```
    /// use staticdl::intercept::Interceptor;
    /// let a = Interceptor::new();
    /// assert!(Interceptor::same(&a, &a.clone()));
    /// assert!(!Interceptor::same(&a, &Interceptor::new()));
    /// ```
    pub fn same(a: &Interceptor, b: &Interceptor) -> bool {
        Arc::ptr_eq(&a.hooks, &b.hooks)
    }

    /// Whether it has any hook (one without is a trap only).
    pub(crate) fn is_active(&self) -> bool {
        self.hooks.pre.is_some() || self.hooks.post.is_some()
    }
}
