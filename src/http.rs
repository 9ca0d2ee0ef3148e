//! The host side of the HTTP handler contract (feature `http`).
//!
//! Owns [`Plugin::call_handler`] and [`Reply`] (a handler's response, borrowing
//! the plugin and released back to it before the plugin can go). It does not own
//! the contract's types (`staticdl_abi`, feature `http`), the typed lookup it
//! relies on (`plugin.rs`), or routing requests (the example server does).
//!
//! Unsafe code is allowed in this module: a handler is called with the request and its
//! reply released through the plugin's function, under the plugin borrow.
#![allow(unsafe_code)]

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use staticdl_abi::{HandlerFn, Request};

use crate::error::Error;
use crate::plugin::Plugin;

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

impl Plugin {
    /// Calls the HTTP handler the plugin exports as `name` (declared with the
    /// handler signature) with `request`; the [`Reply`] borrows the plugin and
    /// releases the plugin's response memory when dropped. Feature `http`.
    ///
    /// # Errors
    /// As for [`Plugin::get`]: [`Error::SignatureMismatch`] when `name` is not
    /// declared as a handler.
    ///
    /// ```no_run
    /// use staticdl::abi::Request;
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// let route = plugin.descriptor().unwrap().route("GET", "/hello").unwrap().clone();
    /// let request = Request::new(b"GET", b"/hello", b"name=you", &[], b"");
    /// let reply = plugin.call_handler(route.handler(), &request)?;
    /// println!("{} {}", reply.status(), String::from_utf8_lossy(reply.body()));
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn call_handler(&self, name: &str, request: &Request<'_>) -> Result<Reply<'_>, Error> {
        let handler = self.get::<HandlerFn>(name)?;
        // SAFETY: the plugin declared `name` with the handler signature (checked
        // by `get`) and keeps the handler contract it thereby promised; `handler`
        // borrows `self`, so the code is mapped for the call. The `Reply` borrows
        // the plugin too, so the response is released before any unload.
        let reply = unsafe { staticdl_abi::call_handler(handler.as_raw(), request) };
        Ok(Reply {
            reply,
            _plugin: PhantomData,
        })
    }
}
