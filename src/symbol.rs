//! Values looked up in a plugin, kept from outliving it.
//!
//! Owns [`Symbol`]: a function or data pointer that borrows the [`Plugin`] it came
//! from, with `call` methods for every function shape [`FnSignature`] knows, so a
//! call happens while the borrow holds. No `Copy` function pointer leaves a
//! `Symbol` without `unsafe` ([`Symbol::as_raw`]). It does not look anything up
//! (`plugin.rs` does) or know what a plugin is beyond the borrow.
//!
//! [`Plugin`]: crate::Plugin
//! [`FnSignature`]: staticdl_abi::FnSignature
//!
//! Unsafe code is allowed in this module: a `Symbol` holds a typed function or data
//! pointer of a loaded plugin and calls through it under the plugin borrow.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

/// A symbol of a plugin, typed as `T`, borrowing the plugin so that it cannot
/// outlive it.
///
/// A function symbol is called with `call` (safe for an `extern "C" fn`, `unsafe`
/// for an `unsafe extern "C" fn`), which needs the borrow, so the plugin stays
/// loaded for the whole call. A data symbol (a raw pointer, from the unsafe
/// [`Plugin::symbol`](crate::Plugin::symbol)) derefs to that pointer: reading
/// through it is `unsafe`, and part of that obligation is that the plugin is still
/// loaded.
///
/// ```no_run
/// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
/// let add = plugin.get::<extern "C" fn(i32, i32) -> i32>("add")?;
/// assert_eq!(add.call(1, 2), 3);
/// // SAFETY: `hello_count` is an `unsigned int` in the plugin.
/// let count = unsafe { plugin.symbol::<*const u32>("hello_count")? };
/// println!("{}", unsafe { **count });
/// # Ok::<(), staticdl::Error>(())
/// ```
///
/// The function pointer itself cannot be copied out and called after the plugin
/// is gone; this does not compile:
///
/// ```compile_fail,E0614
/// # fn demo() -> Result<i32, staticdl::Error> {
/// # let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
/// # Ok({
/// let f = *plugin.get::<extern "C" fn(i32, i32) -> i32>("add")?;
/// plugin.close();
/// f(1, 2)
/// # })
/// # }
/// ```
///
/// and neither does closing the plugin while a `Symbol` is still to be called:
///
/// ```compile_fail,E0505
/// # fn demo() -> Result<i32, staticdl::Error> {
/// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
/// let add = plugin.get::<extern "C" fn(i32, i32) -> i32>("add")?;
/// plugin.close();
/// Ok(add.call(1, 2))
/// # }
/// ```
pub struct Symbol<'p, T> {
    value: T,
    /// Stands for the borrow of the plugin the value was looked up in.
    _plugin: PhantomData<&'p ()>,
}

impl<T> Symbol<'_, T> {
    /// Wraps `value`, found in the plugin the returned lifetime borrows.
    pub(crate) fn new(value: T) -> Self {
        Symbol {
            value,
            _plugin: PhantomData,
        }
    }
}

impl<T: Copy> Symbol<'_, T> {
    /// The symbol's address. A raw pointer is harmless by itself; using it needs
    /// `unsafe` and a plugin that is still loaded.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// let add = plugin.get::<extern "C" fn(i32, i32) -> i32>("add")?;
    /// assert!(plugin.library().contains(add.as_ptr() as usize));
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn as_ptr(&self) -> *const c_void {
        const {
            assert!(std::mem::size_of::<T>() == std::mem::size_of::<usize>());
        }
        // SAFETY: `T` is pointer-sized (asserted above) and every `Symbol` holds a
        // function or data pointer, whose bits are an address.
        unsafe { std::mem::transmute_copy::<T, *const c_void>(&self.value) }
    }

    /// The value itself, free of the borrow: for a function of a shape `call` does
    /// not cover, or to store a pointer whose lifetime the caller manages.
    ///
    /// # Safety
    /// The returned value carries no lifetime: it must not be called or
    /// dereferenced after the plugin it came from is unloaded (after its last
    /// [`Plugin`](crate::Plugin) handle is gone, unless it was opened with
    /// [`keep_loaded`](crate::OpenOptions::keep_loaded)). Calling a function
    /// obtained this way is also subject to the function's own contract.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// let add = plugin.get::<extern "C" fn(i32, i32) -> i32>("add")?;
    /// // SAFETY: `f` is called only while `plugin` is alive.
    /// let f = unsafe { add.as_raw() };
    /// assert_eq!(f(2, 2), 4);
    /// drop(plugin);
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub unsafe fn as_raw(&self) -> T {
        self.value
    }
}

/// A data symbol derefs to its raw pointer: copying the pointer out is harmless,
/// reading through it is `unsafe` (and must happen while the plugin is loaded).
impl<T> Deref for Symbol<'_, *const T> {
    type Target = *const T;

    fn deref(&self) -> &*const T {
        &self.value
    }
}

/// See the impl for `*const T`.
impl<T> Deref for Symbol<'_, *mut T> {
    type Target = *mut T;

    fn deref(&self) -> &*mut T {
        &self.value
    }
}

/// One `call` per function shape: safe for `extern "C" fn`, `unsafe` for
/// `unsafe extern "C" fn`, for every arity `FnSignature` supports (the abi crate's
/// list, so the two never disagree). Inherent impls on distinct function-pointer
/// types never overlap, so every shape's method can be called `call`.
macro_rules! calls {
    ($(($($arg:ident $value:ident),*))*) => {$(
        impl<R, $($arg),*> Symbol<'_, extern "C" fn($($arg),*) -> R> {
            /// Calls the function with `args`, while the borrow keeps the plugin
            /// loaded.
            ///
            /// Safe because the call cannot outlive the plugin and the type was
            /// checked against the plugin's declaration ([`Plugin::get`]) or vouched
            /// for by the caller of the unsafe [`Plugin::symbol`].
            ///
            /// [`Plugin::get`]: crate::Plugin::get
            /// [`Plugin::symbol`]: crate::Plugin::symbol
            ///
            /// ```no_run
            /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
            /// let add = plugin.get::<extern "C" fn(i32, i32) -> i32>("add")?;
            /// assert_eq!(add.call(40, 2), 42);
            /// # Ok::<(), staticdl::Error>(())
            /// ```
            #[allow(clippy::too_many_arguments)]
            pub fn call(&self, $($value: $arg),*) -> R {
                (self.value)($($value),*)
            }
        }

        impl<R, $($arg),*> Symbol<'_, unsafe extern "C" fn($($arg),*) -> R> {
            /// Calls the `unsafe` function with `args`, while the borrow keeps the
            /// plugin loaded.
            ///
            /// # Safety
            /// The function's own contract, whatever made it `unsafe` (for example,
            /// that a pointer argument is valid); staticdl keeps the plugin loaded.
            ///
            /// ```no_run
            /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
            /// let strlen = plugin.get::<unsafe extern "C" fn(*const u8) -> usize>("strlen8")?;
            /// // SAFETY: a NUL-terminated string, as the function requires.
            /// assert_eq!(unsafe { strlen.call(c"four".as_ptr().cast()) }, 4);
            /// # Ok::<(), staticdl::Error>(())
            /// ```
            #[allow(clippy::too_many_arguments)]
            pub unsafe fn call(&self, $($value: $arg),*) -> R {
                // SAFETY: the caller keeps the function's contract; the borrow keeps
                // its code mapped for the call.
                unsafe { (self.value)($($value),*) }
            }
        }
    )*};
}

staticdl_abi::__staticdl_fn_arities!(calls);

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

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" fn add(a: i32, b: i32) -> i32 {
        a.wrapping_add(b)
    }

    unsafe extern "C" fn first(p: *const u8) -> u8 {
        // SAFETY: the caller passes a readable byte.
        unsafe { *p }
    }

    extern "C" fn six(a: u8, b: u16, c: u32, d: u64, e: i8, g: f64) -> f64 {
        f64::from(a) + f64::from(b) + f64::from(c) + d as f64 + f64::from(e) + g
    }

    #[test]
    fn call_reaches_the_function_of_every_shape() {
        let s = Symbol::new(add as extern "C" fn(i32, i32) -> i32);
        assert_eq!(s.call(i32::MAX, 1), i32::MIN);
        let u = Symbol::new(first as unsafe extern "C" fn(*const u8) -> u8);
        // SAFETY: a readable byte.
        assert_eq!(unsafe { u.call(b"z".as_ptr()) }, b'z');
        let m = Symbol::new(six as extern "C" fn(u8, u16, u32, u64, i8, f64) -> f64);
        assert_eq!(m.call(1, 2, 3, 4, -5, 0.5), 5.5);
        assert_eq!(s.as_ptr(), add as *const c_void);
        // SAFETY: `add` is a function of this program, never unloaded.
        assert_eq!(unsafe { s.as_raw() }(2, 3), 5);
    }

    #[test]
    fn data_symbols_deref_to_their_pointer() {
        static VALUE: u32 = 7;
        let d = Symbol::new(&raw const VALUE);
        // SAFETY: `VALUE` is a static.
        assert_eq!(unsafe { **d }, 7);
        assert_eq!(d.as_ptr(), (&raw const VALUE).cast());
    }
}
