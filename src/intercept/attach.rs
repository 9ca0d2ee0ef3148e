//! Attaching to a plugin that is already loaded, and detaching again.
//!
//! Owns [`attach`] and [`Attachment`]: the selected bindings of the plugin's
//! object (imports), or the bindings every loaded object has to the selected
//! exports, are rewritten to stubs with the loader's `Library::rebind` (RELRO
//! made writable for the writes and read-only again); dropping the attachment
//! unlinks the interceptor and writes the real targets back into the slots it
//! was the last interceptor of. Code is never patched. It does not trap
//! anything at load time (`bind.rs`).
//!
//! Unsafe code is allowed in this module: [`attach`] is an `unsafe fn` (its
//! caller vouches for the selection, as for `OpenOptions::intercept`).
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::path::PathBuf;

use staticdl_loader::{BindRequest, Library};

use super::interceptor::Interceptor;
use super::meta::TrapKind;
use super::request::Request;
use super::select::Selection;
use super::site::{self, Key, Owner};
use crate::Plugin;

/// Why attaching failed: the loader could not rewrite a slot (making RELRO
/// writable failed).
#[derive(Debug, thiserror::Error)]
#[error("intercepting in {}: {source}", path.display())]
pub struct AttachError {
    /// The object whose slots were to be rewritten.
    pub path: PathBuf,
    /// The loader's error.
    #[source]
    pub source: staticdl_loader::Error,
}

/// An interceptor attached to a loaded plugin; dropping it (or
/// [`Attachment::detach`]) detaches it. It keeps the plugin's object mapped
/// while it lives.
#[must_use = "dropping the attachment detaches the interceptor at once"]
pub struct Attachment {
    id: u64,
    kind: TrapKind,
    lib: Library,
    /// The sites this attachment made: `(key, stub)`.
    made: Vec<(Key, usize)>,
    /// How many slots were rewritten.
    rewritten: usize,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("object", &self.lib.path())
            .field("kind", &self.kind)
            .field("sites", &self.made.len())
            .field("rewritten", &self.rewritten)
            .finish()
    }
}

/// Attaches `interceptor` to `plugin`, which is loaded already: for
/// [`Imports`](super::Imports), the plugin's own selected bindings go through
/// stubs from now on; for [`Exports`](super::Exports), the addresses lookups
/// hand out for the selected functions, and every binding that loaded objects
/// have to them. A binding already trapped gets the interceptor added to its
/// chain (after the ones it has).
///
/// # Safety
/// As for [`OpenOptions::intercept`](crate::OpenOptions::intercept).
///
/// # Errors
/// [`AttachError`] when a slot could not be rewritten (RELRO could not be made
/// writable); nothing stays attached then.
///
/// ```no_run
/// use staticdl::intercept::{self, Flow, Imports, Interceptor};
/// let plugin = staticdl::Plugin::open("/opt/plugins/libclock.so")?;
/// let frozen = Interceptor::new().pre(|call| {
///     // SAFETY: `time_t time(time_t *)`: a time_t result; the argument is
///     // null in this plugin's calls.
///     unsafe { call.set_ret(1_234_567_890) };
///     Flow::Return
/// });
/// // SAFETY: `time` is a C function with one register argument.
/// let attached = unsafe { intercept::attach(&plugin, Imports::named("time"), frozen) }?;
/// drop(attached); // the real time() again
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub unsafe fn attach(
    plugin: &Plugin,
    selection: impl Into<Selection>,
    interceptor: Interceptor,
) -> Result<Attachment, AttachError> {
    let request = Request::new(selection.into(), interceptor);
    let lib = plugin.library().clone();
    let mut a = Attachment {
        id: request.id,
        kind: TrapKind::Import,
        lib,
        made: Vec::new(),
        rewritten: 0,
    };
    let result = match &request.selection {
        Selection::Imports(_) => attach_imports(&mut a, &request),
        Selection::Exports(_) => {
            a.kind = TrapKind::Export;
            a.made = super::exports::trap_exports(&a.lib, std::slice::from_ref(&request));
            let made = a.made.clone();
            rewrite_everywhere(|b| {
                made.iter()
                    .find(|(k, _)| k.target == b.target)
                    .map(|(_, stub)| *stub)
            })
            .map(|n| a.rewritten = n)
        }
    };
    match result {
        Ok(()) => Ok(a),
        // Dropping `a` unlinks what was linked.
        Err(e) => Err(e),
    }
}

fn attach_imports(a: &mut Attachment, request: &Request) -> Result<(), AttachError> {
    let Selection::Imports(imports) = &request.selection else {
        return Ok(());
    };
    let start = a.lib.address_range().0;
    let made = RefCell::new(Vec::new());
    let link = [request.link()];
    let n = a
        .lib
        .rebind(|b: &BindRequest<'_>| {
            if !imports.selects(b.importer, b.symbol, b.slot) || b.target == 0 {
                return None;
            }
            if let Some(existing) = site::by_stub(b.target) {
                // Trapped already: one more interceptor on its chain.
                let _ = site::link(existing, Owner::Mapped(start), &link);
                return None;
            }
            let key = Key {
                kind: TrapKind::Import,
                object: b.importer.to_path_buf(),
                symbol: b.symbol.to_vec(),
                version: b.version.map(<[u8]>::to_vec),
                target: b.target,
            };
            let (_, stub) = site::link(key.clone(), Owner::Mapped(start), &link)?;
            made.borrow_mut().push((key, stub));
            Some(stub)
        })
        .map_err(|source| AttachError {
            path: a.lib.path().to_path_buf(),
            source,
        })?;
    a.made = made.into_inner();
    a.rewritten = n;
    Ok(())
}

/// Offers every binding of every loaded object to `hook`.
fn rewrite_everywhere(
    hook: impl Fn(&BindRequest<'_>) -> Option<usize>,
) -> Result<usize, AttachError> {
    let mut n = 0;
    for lib in crate::host::namespace().loaded() {
        n += lib.rebind(&hook).map_err(|source| AttachError {
            path: lib.path().to_path_buf(),
            source,
        })?;
    }
    Ok(n)
}

impl Attachment {
    /// Detaches now (the same as dropping it); returns how many slots got their
    /// real target back.
    ///
    /// ```no_run
    /// # use staticdl::intercept::{self, Imports, Interceptor};
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libclock.so")?;
    /// // SAFETY: a trap with no hooks changes no call.
    /// let a = unsafe { intercept::attach(&plugin, Imports::named("time"), Interceptor::new()) }?;
    /// a.detach();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn detach(mut self) -> usize {
        self.undo()
    }

    /// How many slots attaching rewrote.
    ///
    /// ```no_run
    /// # use staticdl::intercept::{self, Imports, Interceptor};
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libclock.so")?;
    /// // SAFETY: a trap with no hooks changes no call.
    /// let a = unsafe { intercept::attach(&plugin, Imports::named("time"), Interceptor::new()) }?;
    /// assert_eq!(a.rewritten(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rewritten(&self) -> usize {
        self.rewritten
    }

    fn undo(&mut self) -> usize {
        let emptied = site::unlink(self.id);
        // Only the sites this attachment made, and left without links, get
        // their slots back; the sites stay valid (straight to the target) for
        // a call that is on its way through them.
        let back: Vec<(usize, usize)> = emptied
            .iter()
            .filter(|(k, _)| self.made.iter().any(|(m, _)| m == k))
            .map(|(k, stub)| (*stub, k.target))
            .collect();
        self.made.clear();
        if back.is_empty() {
            return 0;
        }
        let hook = |b: &BindRequest<'_>| {
            back.iter()
                .find(|(stub, _)| *stub == b.target)
                .map(|(_, target)| *target)
        };
        match self.kind {
            TrapKind::Import => self.lib.rebind(hook).unwrap_or(0),
            TrapKind::Export => rewrite_everywhere(hook).unwrap_or(0),
        }
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        self.undo();
    }
}
