//! Opening a plugin, start to finish: the glue between the options, the registry,
//! the loader and the descriptor's `init`.
//!
//! Owns the process-wide plugin registry (`PLUGINS`), the open entry points
//! ([`Plugin::open`], [`Plugin::options`], [`Plugin::retry`],
//! [`OpenOptions::open`], [`forget_failure`]) and the load itself once the registry
//! has decided to load: loader, descriptor, ABI `init` with the host table. It
//! does not own the rules of sharing and waiting (`registry.rs`), the options
//! (`options.rs`), path resolution (the loader's `canonicalize`) or what a loaded plugin offers
//! (`plugin.rs`).
//!
//! Unsafe code is allowed in this module: it calls the plugin's `init` with the host
//! table.
#![allow(unsafe_code)]

use std::path::Path;
use std::sync::Arc;

use crate::descriptor;
use crate::error::{Error, OpenError};
use crate::host::{namespace, HOST_API};
use crate::options::OpenOptions;
use crate::plugin::{Inner, Plugin};
use crate::registry::{per_thread, FileKey, Lease, Panicked, Refusal, Registry};

per_thread!(PluginThreads: Inner);

/// Every plugin the facade has opened, by file.
static PLUGINS: Registry<Inner, OpenError, PluginThreads> = Registry::new();

impl From<Panicked> for OpenError {
    fn from(_: Panicked) -> Self {
        OpenError::Panicked
    }
}

impl Plugin {
    /// Opens the plugin at `path` with the default options: loads it with its
    /// dependencies, checks and initialises it, or returns the plugin already
    /// loaded from the same file.
    ///
    /// The path is canonicalised (symlinks and `..` resolved) and looked up in a
    /// process-wide registry:
    /// - loaded already: a new handle to it (no filesystem access at all when the
    ///   same absolute path string was opened before);
    /// - being opened by another thread: waits for that result;
    /// - failed before: that error again, marked `(previous failure)` (see
    ///   [`forget_failure`](crate::forget_failure));
    /// - otherwise it is loaded now. If the object exports a `STATICDL_PLUGIN`
    ///   descriptor, its magic and ABI version are checked (an incompatible plugin
    ///   is refused and unloaded) and its `init` is called with the host table; an
    ///   object without one is opened as a plain library.
    ///
    /// # Trust
    /// Opening runs the file's ELF initialisers and its `init`, and takes its
    /// descriptor's declarations as true: open only files you trust, as you would
    /// only run programs you trust. That is all the caller vouches for, and no
    /// check could do it for them, which is why `open` is safe (as
    /// `std::process::Command::spawn` is). Everything staticdl can check, it
    /// does: the file is validated before anything of it runs, a failed load
    /// leaves nothing mapped, and no safe use of the returned handle can reach
    /// the plugin's code after it is unloaded (see [`Plugin`](Plugin#trust)).
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// let again = staticdl::Plugin::open("/opt/plugins/../plugins/libhello.so")?;
    /// assert_eq!(plugin, again);
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Plugin, Error> {
        OpenOptions::new().open(path)
    }

    /// A builder for opening with options (host symbols, search paths, ...).
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::options().keep_loaded(true).open("/opt/plugins/libhello.so")?;
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Opens a plugin from its file contents in memory — embedded in the host
    /// with `include_bytes!`, or received over the network — with the default
    /// options; see [`OpenOptions::open_bytes`].
    ///
    /// ```no_run
    /// static HELLO: &[u8] = &[]; // include_bytes!("libhello.so") in a real host
    /// let plugin = staticdl::Plugin::open_bytes("libhello.so", HELLO)?;
    /// assert_eq!(plugin.path(), std::path::Path::new("libhello.so"));
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn open_bytes(name: &str, bytes: &[u8]) -> Result<Plugin, Error> {
        OpenOptions::new().open_bytes(name, bytes)
    }

    /// Forgets a remembered failure for `path` and opens it again.
    ///
    /// ```no_run
    /// let plugin = match staticdl::Plugin::open("/opt/plugins/libflaky.so") {
    ///     Err(e) if e.is_previous_failure() => staticdl::Plugin::retry("/opt/plugins/libflaky.so")?,
    ///     other => other?,
    /// };
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn retry(path: impl AsRef<Path>) -> Result<Plugin, Error> {
        forget_failure(path.as_ref());
        Plugin::open(path)
    }
}

impl OpenOptions {
    /// Opens the plugin at `path` with these options; see [`Plugin::open`] (also
    /// for what the caller trusts).
    ///
    /// ```no_run
    /// let p = staticdl::OpenOptions::new().global(true).open("/opt/plugins/libbase.so")?;
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Plugin, Error> {
        open(path.as_ref(), self)
    }

    /// Opens the plugin whose file contents are `bytes`, known as `name`: the
    /// bytes go into an anonymous file (`memfd_create`), so this works in an
    /// empty or read-only root. Its dependencies still come from the libc
    /// provider and the search path (`$ORIGIN` entries, which have no directory,
    /// are skipped). The plugin shows `name` as its path, in errors, `dladdr` and
    /// the debugger's list.
    ///
    /// The registry files it under `name`: while a plugin opened under a name is
    /// loaded, opening the same name again returns it (its init ran once) without
    /// reading the new bytes; a failure is remembered under the name as for a
    /// path.
    ///
    /// ```no_run
    /// static HELLO: &[u8] = &[]; // include_bytes!("libhello.so") in a real host
    /// let plugin = staticdl::OpenOptions::new().keep_loaded(true).open_bytes("libhello.so", HELLO)?;
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn open_bytes(&self, name: &str, bytes: &[u8]) -> Result<Plugin, Error> {
        #[cfg(feature = "preload")]
        crate::preload::keep_at_start();
        let requested = Path::new(name);
        let file = FileKey {
            canonical: requested.to_path_buf(),
            id: memory_id(name),
        };
        let found = PLUGINS.open(requested, file, self.keep_loaded, |key, lease| {
            let lib = namespace()
                .load_bytes(name, bytes, &self.load_options())
                .map_err(|error| OpenError::Load {
                    error,
                    object: key.to_path_buf(),
                })?;
            crate::intercept::loaded(&lib, &self.intercepts);
            bring_up(requested, key, lib, lease)
        });
        answer(requested, found)
    }
}

/// The identity the registry files a plugin opened from memory under: derived
/// from its name, on a device number no file system has.
fn memory_id(name: &str) -> staticdl_loader::FileId {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    staticdl_loader::FileId {
        dev: u64::MAX,
        ino: h,
    }
}

/// Forgets a remembered failure for `path` (as requested before, or any path to
/// the same file), so that the next open tries again. Returns whether a failure
/// was forgotten; a loaded or loading plugin is left alone.
///
/// ```no_run
/// use staticdl::{forget_failure, Plugin};
/// let first = Plugin::open("/opt/plugins/libneeds_host.so");
/// let again = Plugin::open("/opt/plugins/libneeds_host.so");
/// assert!(again.unwrap_err().is_previous_failure());
/// assert!(forget_failure("/opt/plugins/libneeds_host.so"));
/// # drop(first);
/// ```
pub fn forget_failure(path: impl AsRef<Path>) -> bool {
    let requested = path.as_ref();
    PLUGINS.forget_failure(requested, || {
        staticdl_loader::canonicalize(requested)
            .ok()
            .map(|(canonical, id)| FileKey { canonical, id })
    })
}

/// The registry's answer as the facade's result.
fn answer(
    requested: &Path,
    found: Result<Arc<Inner>, Refusal<OpenError>>,
) -> Result<Plugin, Error> {
    match found {
        Ok(inner) => Ok(Plugin { inner }),
        Err(Refusal::Failed { cause, previous }) => Err(Error::open(requested, cause, previous)),
        Err(Refusal::Reentrant) => Err(Error::open(
            requested,
            Arc::new(OpenError::Reentrant),
            false,
        )),
    }
}

/// Opens `requested` with `options`: the registry's fast paths (this thread's hit
/// map, then the map of requested paths), then the path resolved and the
/// registry's full open, loading if no one has.
fn open(requested: &Path, options: &OpenOptions) -> Result<Plugin, Error> {
    // Links the constructor-mode entry into any host that opens plugins.
    #[cfg(feature = "preload")]
    crate::preload::keep_at_start();
    let keep = options.keep_loaded;
    // The hottest path: these exact bytes name a live plugin this thread opened.
    if !keep {
        if let Some(inner) = PLUGINS.hit(requested) {
            return Ok(Plugin { inner });
        }
    }
    if let Some(found) = PLUGINS.find_by_request(requested, keep) {
        return answer(requested, found);
    }
    let (canonical, id) = staticdl_loader::canonicalize(requested)
        .map_err(|source| Error::open(requested, Arc::new(OpenError::Path { source }), false))?;
    let file = FileKey { canonical, id };
    let found = PLUGINS.open(requested, file, keep, |key, lease| {
        load(requested, key, options, lease)
    });
    answer(requested, found)
}

/// Loads `canonical` and brings the plugin up: loader, descriptor, ABI `init`.
/// On any error, nothing of the plugin stays loaded and its `fini` is not called.
fn load(
    requested: &Path,
    canonical: &Path,
    options: &OpenOptions,
    lease: Lease,
) -> Result<Arc<Inner>, OpenError> {
    let lib = namespace()
        .load(canonical, &options.load_options())
        .map_err(|error| OpenError::Load {
            error,
            object: canonical.to_path_buf(),
        })?;
    crate::intercept::loaded(&lib, &options.intercepts);
    bring_up(requested, canonical, lib, lease)
}

/// A loaded object as a plugin: its descriptor read and checked, its ABI `init`
/// called with the host table. On error the object is unloaded (its handle
/// dropped) and its `fini` is not called.
fn bring_up(
    requested: &Path,
    canonical: &Path,
    lib: staticdl_loader::Library,
    lease: Lease,
) -> Result<Arc<Inner>, OpenError> {
    let (descriptor, fini) = match descriptor::read(&lib)? {
        None => (None, None),
        Some(read) => {
            if let Some(init) = read.init {
                // SAFETY: `init` lies in the plugin (checked by `descriptor::read`),
                // which is loaded, relocated and initialised; it receives the
                // host table, a `static` that outlives every plugin.
                let code = unsafe { init(&HOST_API) };
                if code != staticdl_abi::INIT_OK {
                    return Err(OpenError::InitFailed {
                        plugin: read.info.name().to_owned(),
                        code,
                    });
                }
            }
            (Some(read.info), read.fini)
        }
    };
    Ok(Arc::new(Inner::new(
        requested.to_path_buf(),
        canonical.to_path_buf(),
        descriptor,
        fini,
        lib,
        lease,
    )))
}
