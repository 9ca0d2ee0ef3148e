//! Values borrowed from a plugin: looked-up symbols and handler replies.
//!
//! Owns [`Symbol`] (a function or data pointer that cannot outlive the
//! [`Plugin`] it came from) and [`Reply`] (a handler's response, released back to
//! the plugin before the plugin can go). It does not look anything up; `plugin.rs`
//! does.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use crate::plugin::Plugin;

/// A symbol of a plugin, typed as `T`, borrowing the plugin so that it cannot
/// outlive it. Derefs to `T`: call a function symbol directly.
///
/// Copying the inner value out (`*sym`) escapes the borrow; such a copy must not
/// be used after the plugin is closed.
///
/// ```no_run
/// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
/// let add = plugin.get::<extern "C" fn(i32, i32) -> i32>("add")?;
/// assert_eq!(add(1, 2), 3);
/// // drop(plugin); // would not compile while `add` is in use
/// # Ok::<(), staticdl::Error>(())
/// ```
pub struct Symbol<'p, T> {
    value: T,
    _plugin: PhantomData<&'p Plugin>,
}

impl<T> Symbol<'_, T> {
    pub(crate) fn new(value: T) -> Self {
        Symbol {
            value,
            _plugin: PhantomData,
        }
    }
}

impl<T: Copy> Symbol<'_, T> {
    /// The symbol's address.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// let add = plugin.get::<extern "C" fn(i32, i32) -> i32>("add")?;
    /// assert!(plugin.library().contains(add.as_ptr() as usize));
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn as_ptr(&self) -> *const std::ffi::c_void {
        const {
            assert!(std::mem::size_of::<T>() == std::mem::size_of::<usize>());
        }
        // SAFETY: `T` is pointer-sized (asserted above) and every `Symbol` holds a
        // function or data pointer, whose bits are an address.
        unsafe { std::mem::transmute_copy::<T, *const std::ffi::c_void>(&self.value) }
    }
}

impl<T> Deref for Symbol<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Copy> Clone for Symbol<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Copy> Copy for Symbol<'_, T> {}

impl<T: fmt::Debug> fmt::Debug for Symbol<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Symbol").field(&self.value).finish()
    }
}

/// What a plugin's HTTP handler produced, borrowing the plugin: dropping it calls
/// the plugin's `release` for the response memory, which therefore always happens
/// before the plugin can be unloaded. Derefs to [`staticdl_abi::Reply`] (code,
/// status, headers, body).
///
/// ```no_run
/// use staticdl::abi::Request;
/// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
/// let reply = plugin.call_handler("hello_handler", &Request::new(b"GET", b"/hello", b"", &[], b""))?;
/// assert!(reply.is_ok());
/// assert_eq!(reply.status(), 200);
/// # Ok::<(), staticdl::Error>(())
/// ```
pub struct Reply<'p> {
    reply: staticdl_abi::Reply,
    _plugin: PhantomData<&'p Plugin>,
}

impl Reply<'_> {
    pub(crate) fn new(reply: staticdl_abi::Reply) -> Self {
        Reply {
            reply,
            _plugin: PhantomData,
        }
    }
}

impl Deref for Reply<'_> {
    type Target = staticdl_abi::Reply;

    fn deref(&self) -> &staticdl_abi::Reply {
        &self.reply
    }
}

impl fmt::Debug for Reply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reply.fmt(f)
    }
}
