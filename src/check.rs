//! The preflight: what [`Plugin::open`] would do with a file, found out without
//! running any of its code.
//!
//! Owns [`OpenOptions::check`] (and [`Plugin::check`], its default-options form)
//! and what it returns: [`Report`], one [`CheckedObject`] per object of the load,
//! how each `DT_NEEDED` is answered ([`NeededBy`]), the imports nothing provides
//! ([`MissingImport`]) and the plugin descriptor's verdict ([`DescriptorCheck`]).
//!
//! A check is a dry run of the very load `Plugin::open` makes: the same path
//! resolution, the same loader options (`OpenOptions::load_options`, the libc
//! provider included), the same namespace (so it binds against what this process
//! has loaded, as a real open would), with `run_code(false)` and
//! `record_imports(true)`. The objects are mapped and relocated, nothing of them
//! runs, and they are unmapped before `check` returns: a dry load is never
//! returned to a later load. The verdict's error is the one `Plugin::open` would
//! return, built by the same code path.
//!
//! To list *every* import nothing provides (the loader stops at the first object
//! that misses some), the check loads again with those names answered by a
//! placeholder, consulted after every other source, until the load goes through
//! or fails for another reason. Under `trap_unresolved`, it finds the same way
//! which of them are data (refused) and which functions (trapped).
//!
//! It does not own the open itself (`open.rs`), the registry (a check neither
//! consults nor changes it), finding which objects the dry load consists of
//! (`check/objects.rs`), or how a report is printed (the `staticdl` command).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use staticdl_loader::{BoundTo, ErrorKind, Import, Library, LoadOptions, MissingSymbol, Namespace};

use crate::descriptor::{self, Descriptor};
use crate::error::{Error, OpenError};
use crate::host::namespace;
use crate::options::OpenOptions;
use crate::plugin::Plugin;

mod objects;

use objects::{walk, Walked};

/// How many times one check loads with more placeholders before it gives up
/// listing missing imports (each round adds at least one name).
const MAX_ROUNDS: usize = 64;

/// What the placeholder answers point at; no code runs, so nothing reads it.
static PLACEHOLDER: [u64; 2] = [0; 2];

/// What [`Plugin::open`] would do with a file, found without running its code
/// (see [`OpenOptions::check`]).
///
/// ```
/// let report = staticdl::Plugin::check("/no/such/plugin.so");
/// assert!(!report.loads());
/// let open = staticdl::Plugin::open("/no/such/plugin.so").unwrap_err();
/// assert_eq!(report.error().unwrap().to_string(), open.to_string());
/// ```
#[derive(Debug, Clone)]
pub struct Report {
    requested: PathBuf,
    verdict: Result<(), Error>,
    objects: Vec<CheckedObject>,
    missing: Vec<MissingImport>,
    descriptor: DescriptorCheck,
}

/// One object of the load a [`Report`] describes.
#[derive(Debug, Clone)]
pub struct CheckedObject {
    path: PathBuf,
    soname: Option<String>,
    new: bool,
    needed: Vec<(String, NeededBy)>,
    imports: Option<Vec<Import>>,
}

/// What answers one `DT_NEEDED` name of a [`CheckedObject`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NeededBy {
    /// A library provider of the options (the libc provider for `libc.so.6`, ...).
    Provided,
    /// This object (its path): of the same load, or loaded already.
    Object(PathBuf),
    /// The check could not tell which loaded object it is (only possible while
    /// another thread loads files with the same names).
    Unknown,
}

/// An import that nothing in scope defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingImport {
    symbol: MissingSymbol,
    trapped: bool,
    needed_by: Vec<PathBuf>,
}

/// What the check found of a `STATICDL_PLUGIN` descriptor.
///
/// It is read from the open's own (dry) load or, when that load fails only
/// because imports are missing, from the load with them supplied: what the open
/// would find next, once they are.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DescriptorCheck {
    /// Not looked at: the load fails for another reason than missing imports.
    NotReached,
    /// The object has none: `Plugin::open` opens it as a plain library.
    Absent,
    /// A descriptor `Plugin::open` accepts (its `init` is not called).
    Accepted(Descriptor),
    /// A descriptor `Plugin::open` refuses (another ABI version, malformed); the
    /// report's error, unless the load already fails on missing imports.
    Refused(Arc<OpenError>),
}

impl OpenOptions {
    /// What [`open`](OpenOptions::open) with these options would do with `path`
    /// in this process, found by a dry run that runs none of the file's code: the
    /// verdict (with the error exactly as `open` would report it), every object
    /// of the load (mapped anew or loaded already), where each import binds, the
    /// imports nothing provides, and the plugin descriptor's check.
    ///
    /// The dry run uses these options, the libc provider included, and the
    /// namespace `open` loads into, so it binds against what is loaded right now;
    /// it maps and relocates the objects, then unmaps them. What only running code
    /// can tell, it cannot:
    /// - ELF initialisers (`DT_INIT`, `DT_INIT_ARRAY`) do not run, so a
    ///   constructor that crashes, aborts, exits or calls a trapped import is not
    ///   seen; nor is the descriptor's `init`, so a plugin whose `init` returns
    ///   non-zero is reported as loading;
    /// - IFUNC resolvers are not called (their slots stay zero), so a resolver
    ///   that crashes is not seen;
    /// - initial-exec TLS blocks are placed, but their images are not installed
    ///   in the threads that already run (in a glibc host with threads, where
    ///   that fails, the real open fails and the check does not);
    /// - a failure `open` remembers for the file is not consulted: `open` would
    ///   return it, marked "previous failure", until
    ///   [`forget_failure`](crate::forget_failure).
    ///
    /// An object that is loaded already is reported as such, with no imports
    /// (its bindings were made when it was loaded).
    ///
    /// ```no_run
    /// let report = staticdl::OpenOptions::new().check("/usr/lib/x86_64-linux-gnu/libz.so.1");
    /// for object in report.objects() {
    ///     println!("{} ({})", object.path().display(), if object.is_new() { "new" } else { "loaded" });
    /// }
    /// for m in report.missing() {
    ///     println!("missing {}, needed by {} objects", m.symbol(), m.needed_by().len());
    /// }
    /// match report.error() {
    ///     None => println!("loads"),
    ///     Some(e) => println!("would fail: {e}"),
    /// }
    /// ```
    pub fn check(&self, path: impl AsRef<Path>) -> Report {
        check(path.as_ref(), self)
    }
}

impl Plugin {
    /// [`OpenOptions::check`] with the default options: what
    /// [`Plugin::open`] would do with `path`, without running its code.
    ///
    /// ```
    /// let report = staticdl::Plugin::check("/no/such/plugin.so");
    /// assert!(report.objects().is_empty());
    /// assert!(report.error().unwrap().to_string().contains("cannot resolve path"));
    /// ```
    pub fn check(path: impl AsRef<Path>) -> Report {
        OpenOptions::new().check(path)
    }
}

impl Report {
    /// The path as it was passed to the check.
    pub fn path(&self) -> &Path {
        &self.requested
    }

    /// Whether `open` would succeed (as far as a dry run can tell; see
    /// [`OpenOptions::check`]).
    pub fn loads(&self) -> bool {
        self.verdict.is_ok()
    }

    /// The error `open` would return, exactly as it would report it.
    pub fn error(&self) -> Option<&Error> {
        self.verdict.as_ref().err()
    }

    /// The objects of the load, the requested one first, then its dependencies
    /// breadth-first; empty when the load fails before it is complete (a file
    /// that is missing, not ELF, or whose dependency is not found, ...).
    pub fn objects(&self) -> &[CheckedObject] {
        &self.objects
    }

    /// Every import that nothing in scope defines, over the whole load, in the
    /// order they were found.
    pub fn missing(&self) -> &[MissingImport] {
        &self.missing
    }

    /// What the check found of the plugin descriptor.
    pub fn descriptor(&self) -> &DescriptorCheck {
        &self.descriptor
    }
}

impl CheckedObject {
    /// The path the object is (or would be) loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its `DT_SONAME`, if any.
    pub fn soname(&self) -> Option<&str> {
        self.soname.as_deref()
    }

    /// Whether `open` would map it anew (false: it is loaded already and would be
    /// shared).
    pub fn is_new(&self) -> bool {
        self.new
    }

    /// Its `DT_NEEDED` names in order, each with what answers it.
    pub fn needed(&self) -> &[(String, NeededBy)] {
        &self.needed
    }

    /// Where each of its imports binds, in the order they are first bound
    /// (weak ones nothing defines as [`BoundTo::WeakUndefined`], missing ones as
    /// [`BoundTo::Missing`], trapped ones as [`BoundTo::Trapped`]); `None` for an
    /// object loaded already.
    pub fn imports(&self) -> Option<&[Import]> {
        self.imports.as_deref()
    }
}

impl MissingImport {
    /// The symbol, with the version the importer asks for.
    pub fn symbol(&self) -> &MissingSymbol {
        &self.symbol
    }

    /// Whether calls of it would be bound to a trap (a function, under
    /// [`OpenOptions::trap_unresolved`]) instead of refusing the load.
    pub fn trapped(&self) -> bool {
        self.trapped
    }

    /// The objects of the load that import it.
    pub fn needed_by(&self) -> &[PathBuf] {
        &self.needed_by
    }
}

/// One dry load's outcome, as far as listing missing imports is concerned.
enum Step {
    Loaded(Library),
    /// `UnresolvedSymbols`: the object that reported them, and the symbols.
    Missing(PathBuf, Vec<MissingSymbol>),
    /// Any other error.
    Stopped,
}

impl Step {
    fn of(result: &Result<Library, staticdl_loader::Error>) -> Step {
        match result {
            Ok(lib) => Step::Loaded(lib.clone()),
            Err(e) => match e.kind() {
                ErrorKind::UnresolvedSymbols { symbols } => {
                    Step::Missing(e.path().to_path_buf(), symbols.clone())
                }
                _ => Step::Stopped,
            },
        }
    }
}

/// A load taken as far as placeholders can take it.
struct Settled {
    /// The load with every name of `answered` given a placeholder, if it went
    /// through.
    lib: Option<Library>,
    /// The symbols nothing defines, with the object that first reported each.
    answered: Vec<(MissingSymbol, PathBuf)>,
}

impl Settled {
    fn has(&self, s: &MissingSymbol) -> bool {
        self.answered.iter().any(|(a, _)| a == s)
    }
}

/// Starting from `step` (a load of `path` with `load`), loads again with every
/// symbol reported missing answered by the placeholder, until the load goes
/// through or fails for another reason.
fn settle(ns: &Namespace, path: &Path, load: &LoadOptions, mut step: Step) -> Settled {
    let mut answered: Vec<(MissingSymbol, PathBuf)> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        match step {
            Step::Loaded(lib) => {
                return Settled {
                    lib: Some(lib),
                    answered,
                }
            }
            Step::Stopped => break,
            Step::Missing(who, symbols) => {
                let before = answered.len();
                for s in symbols {
                    if !answered.iter().any(|(a, _)| *a == s) {
                        answered.push((s, who.clone()));
                    }
                }
                if answered.len() == before {
                    break;
                }
            }
        }
        let names: Arc<Vec<MissingSymbol>> =
            Arc::new(answered.iter().map(|(s, _)| s.clone()).collect());
        let with = load
            .clone()
            .host_symbols(move |name: &[u8], version: Option<&[u8]>| {
                names
                    .iter()
                    .any(|s| {
                        s.name.as_bytes() == name
                            && s.version.as_deref().map(str::as_bytes) == version
                    })
                    .then_some(PLACEHOLDER.as_ptr() as usize)
            });
        step = Step::of(&ns.load(path, &with));
    }
    Settled {
        lib: None,
        answered,
    }
}

fn check(requested: &Path, options: &OpenOptions) -> Report {
    let mut report = Report {
        requested: requested.to_path_buf(),
        verdict: Ok(()),
        objects: Vec::new(),
        missing: Vec::new(),
        descriptor: DescriptorCheck::NotReached,
    };
    let fail = |cause: Arc<OpenError>| Error::open(requested, cause, false);
    // As `Plugin::open` resolves the path, and fails when it cannot.
    let canonical = match staticdl_loader::canonicalize(requested) {
        Ok((canonical, _)) => canonical,
        Err(source) => {
            report.verdict = Err(fail(Arc::new(OpenError::Path { source })));
            return report;
        }
    };
    let ns = namespace();
    let mut load = options.load_options();
    load.run_code = false;
    load.record_imports = true;

    // The verdict: `open`'s own load, dry, then its descriptor check.
    let first = ns.load(&canonical, &load);
    let step = Step::of(&first);
    match first {
        Ok(lib) => {
            report.descriptor = read_descriptor(&lib);
            if let DescriptorCheck::Refused(cause) = &report.descriptor {
                report.verdict = Err(fail(cause.clone()));
            }
        }
        Err(error) => {
            report.verdict = Err(fail(Arc::new(OpenError::Load {
                error,
                object: canonical.clone(),
            })));
        }
    }

    // Every import nothing provides; under the trapping policy, those it refuses
    // (data) apart from those it traps (functions).
    let trap = load.trap_unresolved;
    let (full, refused) = if trap {
        let refused = settle(ns, &canonical, &load, step);
        let refused_known = refused.lib.is_some();
        let refused_names: Vec<MissingSymbol> =
            refused.answered.into_iter().map(|(s, _)| s).collect();
        // Only one dry load of these files stays mapped while objects are matched.
        drop(refused.lib);
        load.trap_unresolved = false;
        let step = Step::of(&ns.load(&canonical, &load));
        let full = settle(ns, &canonical, &load, step);
        (full, refused_known.then_some(refused_names))
    } else {
        let full = settle(ns, &canonical, &load, step);
        (full, None)
    };
    let trapped = |s: &MissingSymbol| {
        trap && refused
            .as_ref()
            .is_some_and(|r: &Vec<MissingSymbol>| !r.contains(s))
    };

    if let Some(root) = &full.lib {
        if matches!(report.descriptor, DescriptorCheck::NotReached) {
            // What the open would find once the missing imports are supplied.
            report.descriptor = read_descriptor(root);
        }
        report.objects = walk(root)
            .into_iter()
            .map(|Walked { lib, new, needed }| CheckedObject {
                path: lib.path().to_path_buf(),
                soname: lib.soname().map(str::to_owned),
                new,
                needed,
                imports: new.then(|| {
                    lib.imports()
                        .iter()
                        .map(|i| classify(i, &full, &trapped))
                        .collect()
                }),
            })
            .collect();
    }
    report.missing = missing_imports(&full, &report.objects, &trapped);
    report
}

/// Each import of `full.answered` with the objects that import it (strongly),
/// or the object that reported it when the load did not go through.
fn missing_imports(
    full: &Settled,
    objects: &[CheckedObject],
    trapped: &dyn Fn(&MissingSymbol) -> bool,
) -> Vec<MissingImport> {
    let imports = |o: &CheckedObject, s: &MissingSymbol| {
        o.imports().is_some_and(|list| {
            list.iter().any(|i| {
                !i.weak
                    && i.name == s.name
                    && i.version == s.version
                    && matches!(i.bound, BoundTo::Missing | BoundTo::Trapped)
            })
        })
    };
    full.answered
        .iter()
        .map(|(s, reporter)| {
            let mut needed_by: Vec<PathBuf> = objects
                .iter()
                .filter(|o| imports(o, s))
                .map(|o| o.path.clone())
                .collect();
            if needed_by.is_empty() {
                needed_by.push(reporter.clone());
            }
            MissingImport {
                symbol: s.clone(),
                trapped: trapped(s),
                needed_by,
            }
        })
        .collect()
}

fn read_descriptor(lib: &Library) -> DescriptorCheck {
    match descriptor::read(lib) {
        Ok(None) => DescriptorCheck::Absent,
        Ok(Some(read)) => DescriptorCheck::Accepted(read.info),
        Err(cause) => DescriptorCheck::Refused(Arc::new(cause)),
    }
}

/// Where `import` binds in the real load: a placeholder answer is the import
/// nothing defines (weak: bound to 0; a trapped function; or missing).
fn classify(import: &Import, full: &Settled, trapped: &dyn Fn(&MissingSymbol) -> bool) -> Import {
    let mut out = import.clone();
    if import.bound == BoundTo::Host {
        let s = MissingSymbol {
            name: import.name.clone(),
            version: import.version.clone(),
        };
        if full.has(&s) {
            out.bound = if import.weak {
                BoundTo::WeakUndefined
            } else if trapped(&s) {
                BoundTo::Trapped
            } else {
                BoundTo::Missing
            };
        }
    }
    out
}
