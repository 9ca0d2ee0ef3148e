//! Pointer+length views that every `#[repr(C)]` type of the contract is built from.
//!
//! Owns: [`AbiStr`] (UTF-8 text baked into a plugin), [`AbiSlice`] (an array baked
//! into a plugin), [`Bytes`] (a borrowed byte slice handed across a call) and
//! [`SyncPtr`] (an address that may sit in a `static`), and the only places where
//! such a pair is turned back into a Rust slice.
//!
//! Does not own: what the views mean — the descriptor, the handler contract and the
//! host table give them their meaning and their validation.
//!
//! A null pointer with a length of zero is always read as the empty slice, because
//! that is what C code naturally writes for "nothing".
//!
//! Unsafe code is allowed in this module: the FFI value types are views of raw pointer
//! and length pairs that cross the boundary.
#![allow(unsafe_code)]

use core::fmt;
use core::marker::PhantomData;

/// A raw address that may be stored in a `static` shared between threads.
///
/// `SyncPtr` never dereferences what it holds; it only carries the address. Turning
/// it back into something usable (a reference, a function pointer) is unsafe and
/// carries its own contract, which is why sharing the address itself is sound.
///
/// ```
/// use staticdl_abi::SyncPtr;
///
/// static ANSWER: u32 = 42;
/// static P: SyncPtr<u32> = SyncPtr::new(&ANSWER);
/// // SAFETY: `P` points at `ANSWER`, a live `u32` static.
/// assert_eq!(unsafe { *P.get() }, 42);
/// ```
#[repr(transparent)]
pub struct SyncPtr<T>(*const T);

// SAFETY: `SyncPtr` is an address, not an access path: it exposes no way to read or
// write through the pointer without an `unsafe` block whose caller takes on the
// aliasing and lifetime rules. Copying an address between threads is always sound.
unsafe impl<T> Sync for SyncPtr<T> {}
// SAFETY: as above; moving an address between threads is always sound.
unsafe impl<T> Send for SyncPtr<T> {}

impl<T> SyncPtr<T> {
    /// The null address.
    pub const NULL: Self = Self(core::ptr::null());

    /// Wraps an address.
    pub const fn new(ptr: *const T) -> Self {
        Self(ptr)
    }

    /// The wrapped address.
    pub const fn get(self) -> *const T {
        self.0
    }

    /// Whether the wrapped address is null.
    pub fn is_null(self) -> bool {
        self.0.is_null()
    }
}

impl<T> Clone for SyncPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SyncPtr<T> {}

impl<T> PartialEq for SyncPtr<T> {
    fn eq(&self, other: &Self) -> bool {
        core::ptr::eq(self.0, other.0)
    }
}

impl<T> Eq for SyncPtr<T> {}

impl<T> fmt::Debug for SyncPtr<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SyncPtr({:p})", self.0)
    }
}

/// Whether `ptr`/`len` may be turned into a slice of `T` at all: null only when
/// empty, aligned, and not larger than `isize::MAX` bytes.
fn plausible<T>(ptr: *const T, len: usize) -> bool {
    if ptr.is_null() {
        return len == 0;
    }
    ptr.is_aligned()
        && len
            .checked_mul(core::mem::size_of::<T>())
            .is_some_and(|bytes| bytes <= isize::MAX as usize)
}

/// A UTF-8 string as pointer + length, laid out as `struct { const char *ptr; size_t
/// len; }` (C: `staticdl_str`). Not NUL-terminated.
///
/// Plugins build it from `&'static str` in const context; hosts read it with
/// [`AbiStr::to_str`] after checking the plugin is what it claims to be.
///
/// ```
/// use staticdl_abi::AbiStr;
///
/// const NAME: AbiStr = AbiStr::new("hello");
/// assert_eq!(NAME.len(), 5);
/// // SAFETY: built from a `&'static str` just above.
/// assert_eq!(unsafe { NAME.to_str() }, Ok("hello"));
/// ```
#[repr(C)]
#[derive(Clone, Copy)]
pub struct AbiStr {
    pub(crate) ptr: *const u8,
    pub(crate) len: usize,
}

// SAFETY: an `AbiStr` is a shared, read-only view like `&'static str`; every read
// goes through an `unsafe fn` whose caller vouches for the memory.
unsafe impl Sync for AbiStr {}
// SAFETY: as above.
unsafe impl Send for AbiStr {}

impl AbiStr {
    /// The empty string (null pointer, zero length).
    pub const EMPTY: Self = Self {
        ptr: core::ptr::null(),
        len: 0,
    };

    /// Views a static string.
    pub const fn new(s: &'static str) -> Self {
        Self {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// Assembles a view from raw parts. Building one is safe; reading it is not.
    pub const fn from_raw_parts(ptr: *const u8, len: usize) -> Self {
        Self { ptr, len }
    }

    /// The start of the bytes (may be null when empty).
    pub const fn as_ptr(&self) -> *const u8 {
        self.ptr
    }

    /// The length in bytes.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the string is empty.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the pair could describe a string at all (null only when empty, length
    /// within `isize::MAX`). Says nothing about whether the memory is readable.
    pub fn is_plausible(&self) -> bool {
        plausible(self.ptr, self.len)
    }

    /// The bytes.
    ///
    /// # Safety
    /// Unless the pair is null/empty, `ptr` must be valid for reads of `len` bytes that
    /// are not written for as long as the returned slice lives.
    pub unsafe fn as_bytes(&self) -> &[u8] {
        if self.ptr.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: non-null, and the caller vouches for `len` readable bytes that stay
        // unchanged for the borrow of `self`.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The text, if it is valid UTF-8.
    ///
    /// # Safety
    /// As for [`AbiStr::as_bytes`].
    pub unsafe fn to_str(&self) -> Result<&str, core::str::Utf8Error> {
        // SAFETY: forwarded to the caller.
        core::str::from_utf8(unsafe { self.as_bytes() })
    }

    /// The text, without checking UTF-8. Usable in const context, which is how the
    /// export macro checks its tables at compile time.
    ///
    /// # Safety
    /// As for [`AbiStr::as_bytes`], and the bytes must be valid UTF-8 — true for every
    /// `AbiStr` made by [`AbiStr::new`].
    pub const unsafe fn as_str_unchecked(&self) -> &str {
        if self.ptr.is_null() || self.len == 0 {
            return "";
        }
        // SAFETY: the caller vouches for `len` readable bytes of UTF-8.
        unsafe { core::str::from_utf8_unchecked(core::slice::from_raw_parts(self.ptr, self.len)) }
    }
}

impl fmt::Debug for AbiStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AbiStr({:p}, {})", self.ptr, self.len)
    }
}

/// An array as pointer + element count, laid out as `struct { const T *ptr; size_t
/// len; }`. In C it is spelled as two adjacent fields (`exports`, `export_count`).
///
/// ```
/// use staticdl_abi::AbiSlice;
///
/// const PRIMES: AbiSlice<u32> = AbiSlice::from_static(&[2, 3, 5]);
/// // SAFETY: built from a `&'static [u32]` just above.
/// assert_eq!(unsafe { PRIMES.as_slice() }, &[2, 3, 5]);
/// ```
#[repr(C)]
pub struct AbiSlice<T> {
    pub(crate) ptr: *const T,
    pub(crate) len: usize,
}

// SAFETY: an `AbiSlice<T>` is a shared, read-only view like `&'static [T]`, which is
// `Sync` exactly when `T` is; every read goes through an `unsafe fn`.
unsafe impl<T: Sync> Sync for AbiSlice<T> {}
// SAFETY: as above (`&[T]` is `Send` when `T: Sync`).
unsafe impl<T: Sync> Send for AbiSlice<T> {}

impl<T> Clone for AbiSlice<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for AbiSlice<T> {}

impl<T> AbiSlice<T> {
    /// The empty array (null pointer, zero count).
    pub const EMPTY: Self = Self {
        ptr: core::ptr::null(),
        len: 0,
    };

    /// Views a static array.
    pub const fn from_static(items: &'static [T]) -> Self {
        Self {
            ptr: items.as_ptr(),
            len: items.len(),
        }
    }

    /// Assembles a view from raw parts. Building one is safe; reading it is not.
    pub const fn from_raw_parts(ptr: *const T, len: usize) -> Self {
        Self { ptr, len }
    }

    /// The first element (may be null when empty).
    pub const fn as_ptr(&self) -> *const T {
        self.ptr
    }

    /// The element count.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no elements.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the pair could describe an array at all: null only when empty, aligned
    /// for `T`, total size within `isize::MAX`. Says nothing about readability.
    pub fn is_plausible(&self) -> bool {
        plausible(self.ptr, self.len)
    }

    /// The elements.
    ///
    /// # Safety
    /// Unless the pair is null/empty, `ptr` must be aligned and valid for reads of
    /// `len` initialised `T`s that are not written while the returned slice lives.
    pub const unsafe fn as_slice(&self) -> &[T] {
        if self.ptr.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: non-null, and the caller vouches for `len` readable, initialised,
        // aligned elements that stay unchanged for the borrow of `self`.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<T> fmt::Debug for AbiSlice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AbiSlice({:p}, {})", self.ptr, self.len)
    }
}

/// A borrowed byte slice handed across one call, laid out as `struct { const uint8_t
/// *ptr; size_t len; }` (C: `staticdl_bytes`).
///
/// Unlike [`AbiStr`] it carries the lifetime of what it borrows, so it can only be
/// made from a real slice and reading it back is safe.
///
/// ```
/// use staticdl_abi::Bytes;
///
/// let text = b"GET".to_vec();
/// let view = Bytes::new(&text);
/// assert_eq!(view.as_slice(), b"GET");
/// ```
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Bytes<'a> {
    pub(crate) ptr: *const u8,
    pub(crate) len: usize,
    _borrow: PhantomData<&'a [u8]>,
}

// SAFETY: a `Bytes<'a>` is exactly a `&'a [u8]` in another layout, and `&[u8]` is
// `Send + Sync`.
unsafe impl Sync for Bytes<'_> {}
// SAFETY: as above.
unsafe impl Send for Bytes<'_> {}

impl<'a> Bytes<'a> {
    /// The empty slice.
    pub const EMPTY: Bytes<'static> = Bytes::new(&[]);

    /// Views `bytes`.
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
            _borrow: PhantomData,
        }
    }

    /// Assembles a view from raw parts.
    ///
    /// # Safety
    /// Unless `len` is zero, `ptr` must be valid for reads of `len` bytes that are not
    /// written for `'a`. A null `ptr` is accepted only with `len == 0`.
    pub const unsafe fn from_raw_parts(ptr: *const u8, len: usize) -> Self {
        Self {
            ptr,
            len,
            _borrow: PhantomData,
        }
    }

    /// The bytes.
    pub const fn as_slice(&self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: `Bytes` is only made from a `&'a [u8]` or through
        // `from_raw_parts`, whose caller vouched for `len` bytes readable for `'a`.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The length in bytes.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the slice is empty.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for Bytes<'_> {
    fn default() -> Self {
        Bytes::EMPTY
    }
}

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_slice().escape_ascii())
    }
}

impl PartialEq for Bytes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Bytes<'_> {}

impl<'a> From<&'a [u8]> for Bytes<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Self::new(bytes)
    }
}

impl<'a> From<&'a str> for Bytes<'a> {
    fn from(text: &'a str) -> Self {
        Self::new(text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_read_as_empty() {
        let s = AbiStr::from_raw_parts(core::ptr::null(), 0);
        // SAFETY: null with zero length is documented as the empty string.
        assert_eq!(unsafe { s.to_str() }, Ok(""));
        let a = AbiSlice::<u64>::EMPTY;
        // SAFETY: as above.
        assert!(unsafe { a.as_slice() }.is_empty());
        // SAFETY: as above.
        let b = unsafe { Bytes::from_raw_parts(core::ptr::null(), 0) };
        assert_eq!(b.as_slice(), b"");
    }

    #[test]
    fn plausibility() {
        assert!(AbiStr::EMPTY.is_plausible());
        assert!(!AbiStr::from_raw_parts(core::ptr::null(), 3).is_plausible());
        let aligned = AbiSlice::<u64>::from_raw_parts(core::ptr::without_provenance(8), 1);
        assert!(aligned.is_plausible());
        let misaligned = AbiSlice::<u64>::from_raw_parts(core::ptr::without_provenance(9), 1);
        assert!(!misaligned.is_plausible());
        let huge =
            AbiSlice::<u64>::from_raw_parts(core::ptr::without_provenance(8), usize::MAX / 4);
        assert!(!huge.is_plausible());
    }

    #[test]
    fn bytes_debug_escapes() {
        let b = Bytes::new(b"a\"\n\xff");
        assert_eq!(std::format!("{b:?}"), "b\"a\\\"\\n\\xff\"");
    }
}
