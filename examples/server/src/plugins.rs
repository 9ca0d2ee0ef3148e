//! The plugins directory: which files are plugins, loading each one, and
//! noticing when one is added, replaced or removed.
//!
//! Owns [`Loaded`] (one loaded version of one plugin file: unloading it when
//! its last user goes) and [`Plugins`] (the state of every file, refreshed by
//! [`Plugins::scan`]: the server polls it, by default every 500 ms, comparing
//! each file's device, inode, size and modification time).
//!
//! # Why plugins are loaded from private copies
//!
//! `staticdl`'s registry files every opened plugin under its canonical path
//! (and the loader under its inode) and, while a version is loaded, answers a
//! new open of the same path with that version: exactly what a program that
//! opens the same plugin from several places wants, and exactly wrong for a
//! file replaced in place, where the old version is still serving requests
//! when the new one must load. So each version is copied first to
//! `<cache>/<stem>.<inode>.<mtime>.so` (by default `<cache>` is
//! `<plugins>/.staticdl`) and opened from there: a new version has a new path
//! and a new inode, both versions can be loaded at once, and a writer that
//! overwrites a plugin file in place (`cp new.so plugins/x.so`, rather than
//! writing a temporary file and renaming it) cannot change code that is mapped
//! and running. A copy is deleted when its version is unloaded.
//!
//! A file that fails to load is not tried again until it changes, and the
//! version it was meant to replace keeps serving.
//!
//! In worker mode every worker process loads the plugins itself, from its own
//! cache directory (`<cache>/worker-<N>`), and [`Plugins::scan_with`] tells
//! the worker which file it is about to load (so that a crash in a plugin's
//! `init` is attributed to that file) and lets it skip a version that crashed
//! a worker before.
//!
//! It does not route requests (`routes.rs`) or answer them (`dispatch.rs`).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use staticdl::{OpenOptions, Plugin, RouteDecl};

/// What identifies one version of a plugin file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i128,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        }
    }
}

/// One loaded version of a plugin file. Dropping the last `Arc` of it (the
/// routing table's and those of the requests it is serving) runs the plugin's
/// `fini`, unmaps it, and deletes its private copy.
pub struct Loaded {
    file: String,
    name: String,
    version: String,
    routes: Vec<RouteDecl>,
    /// `Some` until dropped.
    plugin: Option<Plugin>,
    /// The private copy it was loaded from.
    copy: PathBuf,
}

impl Loaded {
    /// The plugin file's name in the plugins directory.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The plugin's declared name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's declared version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The routes the plugin declared.
    pub fn routes(&self) -> &[RouteDecl] {
        &self.routes
    }

    /// The plugin handle.
    pub fn plugin(&self) -> &Plugin {
        self.plugin
            .as_ref()
            .expect("a Loaded keeps its plugin until dropped")
    }

    fn route_list(&self) -> String {
        let routes: Vec<String> = self
            .routes
            .iter()
            .map(|r| format!("{} {}", r.method(), r.path()))
            .collect();
        if routes.is_empty() {
            "no routes".to_owned()
        } else {
            format!("routes {}", routes.join(", "))
        }
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        let unloaded = self.plugin.take().is_some_and(Plugin::close);
        let _ = fs::remove_file(&self.copy);
        if unloaded {
            log::info!("{}: {} {} unloaded", self.file, self.name, self.version);
        }
    }
}

/// One plugin file as the routing table (and `/builtin/plugins`) shows it.
pub struct Status {
    /// File name in the plugins directory.
    pub file: String,
    /// The version serving, if any.
    pub serving: Option<Arc<Loaded>>,
    /// Why the latest attempt to load the file failed, if it did.
    pub error: Option<String>,
}

/// The state of one plugin file.
struct Entry {
    /// The version serving, if any.
    serving: Option<Arc<Loaded>>,
    /// The file version last tried (loaded or failed).
    attempted: Stamp,
    /// Why that attempt failed.
    error: Option<String>,
}

/// Every plugin file of the directory and what became of it.
pub struct Plugins {
    dir: PathBuf,
    cache: PathBuf,
    options: OpenOptions,
    entries: BTreeMap<String, Entry>,
    /// Whether the last scan could read the directory (to log a failure once).
    readable: bool,
}

/// Whether `name` is a plugin file of the directory: `*.so`, not hidden (so
/// temporary files written next to a plugin before being renamed over it are
/// ignored).
fn is_plugin_file(name: &str) -> bool {
    name.ends_with(".so") && !name.starts_with('.')
}

/// Whether `name` is one of this server's private copies (or a temporary file
/// on the way to being one).
fn is_cache_file(name: &str) -> bool {
    if name.starts_with(".copy.") && name.ends_with(".tmp") {
        return true;
    }
    let Some(rest) = name.strip_suffix(".so") else {
        return false;
    };
    let mut parts = rest.rsplitn(3, '.');
    let (mtime, ino) = (parts.next(), parts.next());
    let numeric =
        |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    numeric(mtime) && numeric(ino) && parts.next().is_some()
}

impl Plugins {
    /// The plugins of `dir`, none loaded yet. Private copies go to `cache`
    /// (created if needed, and emptied of copies left by an earlier run).
    pub fn new(dir: &Path, cache: &Path, options: OpenOptions) -> io::Result<Plugins> {
        if !fs::metadata(dir)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", dir.display()),
            ));
        }
        fs::create_dir_all(cache)?;
        clean_cache(cache)?;
        Ok(Plugins {
            dir: dir.to_path_buf(),
            cache: cache.to_path_buf(),
            options,
            entries: BTreeMap::new(),
            readable: true,
        })
    }

    /// Looks at the directory once: loads new and changed plugin files, and
    /// forgets removed ones. Returns whether any file's state changed (so the
    /// routing table must be rebuilt).
    pub fn scan(&mut self) -> bool {
        self.scan_with(&mut |_, _| Ok(()))
    }

    /// [`Plugins::scan`], calling `before_load` with the file name and
    /// version before each load; if it answers an error, that version is not
    /// loaded and the error is recorded as the reason.
    pub fn scan_with(
        &mut self,
        before_load: &mut dyn FnMut(&str, Stamp) -> Result<(), String>,
    ) -> bool {
        let listing = match fs::read_dir(&self.dir) {
            Ok(listing) => listing,
            Err(e) => {
                if self.readable {
                    log::error!("cannot read plugins directory {}: {e}", self.dir.display());
                    self.readable = false;
                }
                return false;
            }
        };
        if !self.readable {
            log::info!("plugins directory {} is readable again", self.dir.display());
            self.readable = true;
        }
        let mut present = BTreeMap::new();
        for entry in listing.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !is_plugin_file(&name) {
                continue;
            }
            // Follows symbolic links: a link to a plugin is a plugin.
            match fs::metadata(entry.path()) {
                Ok(meta) if meta.is_file() => {
                    present.insert(name, Stamp::of(&meta));
                }
                Ok(_) => {}
                Err(e) => log::debug!("{name}: {e}"),
            }
        }

        let mut changed = false;
        let gone: Vec<String> = self
            .entries
            .keys()
            .filter(|name| !present.contains_key(*name))
            .cloned()
            .collect();
        for name in gone {
            if let Some(Entry {
                serving: Some(old), ..
            }) = self.entries.remove(&name)
            {
                log::info!(
                    "{name}: removed; unmounting {} {} (unloaded once its requests finish)",
                    old.name,
                    old.version
                );
            }
            changed = true;
        }
        for (name, stamp) in present {
            if self
                .entries
                .get(&name)
                .is_some_and(|e| e.attempted == stamp)
            {
                continue;
            }
            match before_load(&name, stamp) {
                Ok(()) => self.attempt(&name, stamp),
                Err(error) => self.refuse(&name, stamp, error),
            }
            changed = true;
        }
        changed
    }

    /// Records that version `stamp` of `name` is not loaded, because of `error`.
    fn refuse(&mut self, name: &str, stamp: Stamp, error: String) {
        let entry = self.entries.entry(name.to_owned()).or_insert(Entry {
            serving: None,
            attempted: stamp,
            error: None,
        });
        entry.attempted = stamp;
        match &entry.serving {
            Some(old) => log::error!(
                "{name}: new version not loaded, {} {} keeps serving: {error}",
                old.name,
                old.version
            ),
            None => log::error!("{name}: not loaded: {error}"),
        }
        entry.error = Some(error);
    }

    /// Loads (a new version of) `name`, seen with `stamp`, and records the
    /// outcome.
    fn attempt(&mut self, name: &str, stamp: Stamp) {
        let result = self.load(name);
        let entry = self.entries.entry(name.to_owned()).or_insert(Entry {
            serving: None,
            attempted: stamp,
            error: None,
        });
        match result {
            Ok((loaded, seen)) => {
                entry.attempted = seen;
                entry.error = None;
                match &entry.serving {
                    Some(old) => log::info!(
                        "{name}: {} {} replaces {} {} ({}); the old version unloads once its requests finish",
                        loaded.name,
                        loaded.version,
                        old.name,
                        old.version,
                        loaded.route_list()
                    ),
                    None => log::info!(
                        "{name}: loaded {} {} ({})",
                        loaded.name,
                        loaded.version,
                        loaded.route_list()
                    ),
                }
                entry.serving = Some(Arc::new(loaded));
            }
            Err((error, seen)) => {
                entry.attempted = seen.unwrap_or(stamp);
                match &entry.serving {
                    Some(old) => log::error!(
                        "{name}: new version rejected, {} {} keeps serving: {error}",
                        old.name,
                        old.version
                    ),
                    None => log::error!("{name}: rejected, not mounted: {error}"),
                }
                entry.error = Some(error);
            }
        }
    }

    /// Loads the current version of `name`, and the stamp of what was loaded.
    fn load(&self, name: &str) -> Result<(Loaded, Stamp), (String, Option<Stamp>)> {
        let source = self.dir.join(name);
        let mut file = File::open(&source).map_err(|e| (format!("cannot open: {e}"), None))?;
        let stamp = file
            .metadata()
            .map(|m| Stamp::of(&m))
            .map_err(|e| (format!("cannot stat: {e}"), None))?;
        let copy = self.cache.join(copy_name(name, stamp));
        copy_to(&mut file, &copy).map_err(|e| {
            (
                format!("cannot copy to {}: {e}", copy.display()),
                Some(stamp),
            )
        })?;
        drop(file);
        let opened = self.options.open(&copy);
        let remove_copy = || {
            let _ = fs::remove_file(&copy);
        };
        let plugin = match opened {
            Ok(plugin) => plugin,
            Err(e) => {
                remove_copy();
                return Err((describe(&e), Some(stamp)));
            }
        };
        let Some(descriptor) = plugin.descriptor().cloned() else {
            plugin.close();
            remove_copy();
            return Err((
                "no STATICDL_PLUGIN descriptor: a plain shared library, not a handler plugin"
                    .to_owned(),
                Some(stamp),
            ));
        };
        Ok((
            Loaded {
                file: name.to_owned(),
                name: descriptor.name().to_owned(),
                version: descriptor.version().to_owned(),
                routes: descriptor.routes().to_vec(),
                plugin: Some(plugin),
                copy,
            },
            stamp,
        ))
    }

    /// Every plugin file and its state, in name order.
    pub fn statuses(&self) -> Vec<Status> {
        self.entries
            .iter()
            .map(|(file, entry)| Status {
                file: file.clone(),
                serving: entry.serving.clone(),
                error: entry.error.clone(),
            })
            .collect()
    }

    /// How many files have a version serving, and how many files there are.
    pub fn counts(&self) -> (usize, usize) {
        let serving = self
            .entries
            .values()
            .filter(|e| e.serving.is_some())
            .count();
        (serving, self.entries.len())
    }
}

/// Removes from `cache` the private copies (and temporary files) a server
/// left there.
pub fn clean_cache(cache: &Path) -> io::Result<()> {
    for entry in fs::read_dir(cache)? {
        let entry = entry?;
        if entry.file_name().to_str().is_some_and(is_cache_file) {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Why an open failed, without the path of the private copy (the caller names
/// the plugin file), keeping the facade's `(previous failure)` mark.
fn describe(error: &staticdl::Error) -> String {
    match error.open_error() {
        Some(cause) if error.is_previous_failure() => format!("{cause} (previous failure)"),
        Some(cause) => cause.to_string(),
        None => error.to_string(),
    }
}

/// `<stem>.<inode>.<mtime in ns>.so` for plugin file `name` at `stamp`.
fn copy_name(name: &str, stamp: Stamp) -> String {
    let stem = name.strip_suffix(".so").unwrap_or(name);
    format!("{stem}.{}.{}.so", stamp.ino, stamp.mtime_ns.max(0))
}

/// Writes what `from` holds to `to`, through a temporary file renamed into
/// place, so a half-written copy is never opened.
fn copy_to(from: &mut File, to: &Path) -> io::Result<()> {
    let dir = to.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".copy.{}.tmp", std::process::id()));
    let result = (|| {
        let mut out = File::create(&tmp)?;
        io::copy(from, &mut out)?;
        out.sync_all()?;
        fs::rename(&tmp, to)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_and_cache_file_names() {
        assert!(is_plugin_file("libgreeter.so"));
        assert!(!is_plugin_file(".libgreeter.so"));
        assert!(!is_plugin_file("libgreeter.so.tmp"));
        assert!(!is_plugin_file("README"));
        let stamp = Stamp {
            dev: 1,
            ino: 42,
            size: 10,
            mtime_ns: 1_700_000_000_123_456_789,
        };
        let copy = copy_name("libgreeter.so", stamp);
        assert_eq!(copy, "libgreeter.42.1700000000123456789.so");
        assert!(is_cache_file(&copy));
        assert!(is_cache_file(".copy.77.tmp"));
        assert!(!is_cache_file("libgreeter.so"));
        assert!(!is_cache_file("libz.1.so"));
    }
}
