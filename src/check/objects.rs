//! The objects of a dry load: which they are, and whether each is new.
//!
//! Owns [`walk`]: from the root of a check's dry load, breadth-first by
//! `DT_NEEDED`, each object with whether it is new (a dry object of this check)
//! or loaded already, and what answers each of its names (a provider, or which
//! object), matched as the loader finds them. The loader does not list a load's
//! objects, so they are found among what the namespace holds: the objects that
//! appeared since the check began (its [`identities`] before), by soname, then
//! loaded ones by soname, then either by file name. When a check on another
//! thread has dry objects of the same name, the one the requester's own lookups
//! reach is taken. It holds no handle longer than the walk (a held handle would
//! make this thread the one that unloads an object its owner let go meanwhile).

use std::path::Path;

use staticdl_loader::{FileId, Library, LoadOptions, Namespace};

use super::NeededBy;

/// The objects of the load rooted at `root`, breadth-first by `DT_NEEDED`, each
/// with whether it is new (a dry object) and what answers each of its names.
pub(super) fn walk(
    ns: &Namespace,
    root: &Library,
    before: &[Identity],
    load: &LoadOptions,
) -> Vec<Walked> {
    let known = Known::new(ns, before);
    let mut out = Vec::new();
    let mut queue = vec![root.clone()];
    let mut i = 0;
    while i < queue.len() {
        let lib = queue[i].clone();
        i += 1;
        let mut needed = Vec::new();
        for name in lib.needed() {
            if load.providers.iter().any(|p| p.provide(&name).is_some()) {
                needed.push((name, NeededBy::Provided));
                continue;
            }
            let by = match known.find(&name, &lib) {
                Some(dep) => {
                    let by = NeededBy::Object(dep.path().to_path_buf());
                    if !queue.iter().any(|q| q.same_object(&dep)) {
                        queue.push(dep);
                    }
                    by
                }
                None => NeededBy::Unknown,
            };
            needed.push((name, by));
        }
        let new = !known.committed(&lib);
        out.push(Walked { lib, new, needed });
    }
    out
}

/// One object reached by [`walk`].
pub(super) struct Walked {
    pub lib: Library,
    /// A dry object of this check (not loaded already).
    pub new: bool,
    pub needed: Vec<(String, NeededBy)>,
}

/// Which object a [`Library`] is, without holding it (a held handle would make
/// this thread the one that unloads it, should its owner let it go meanwhile).
pub(super) type Identity = (usize, FileId);

fn identity(l: &Library) -> Identity {
    (l.address_range().0, l.file_id())
}

/// The identities of every object `ns` holds now, dry ones included.
pub(super) fn identities(ns: &Namespace) -> Vec<Identity> {
    ns.loaded().iter().map(identity).collect()
}

/// What the namespace holds once the dry load is in place.
struct Known<'a> {
    ns: &'a Namespace,
    /// The dry objects that appeared since the check began: its own (and,
    /// rarely, those of a check another thread runs meanwhile).
    fresh: Vec<Library>,
}

impl<'a> Known<'a> {
    fn new(ns: &'a Namespace, before: &[Identity]) -> Self {
        let mut known = Known {
            ns,
            fresh: ns.loaded(),
        };
        let fresh = std::mem::take(&mut known.fresh)
            .into_iter()
            .filter(|l| !before.contains(&identity(l)) && !known.committed(l))
            .collect();
        known.fresh = fresh;
        known
    }

    /// Whether `l` is a loaded object (not a dry one): the namespace finds it
    /// under its path.
    fn committed(&self, l: &Library) -> bool {
        l.path().to_str().is_some_and(|p| {
            self.ns
                .loaded_by_name(p)
                .is_some_and(|found| found.same_object(l))
        })
    }

    /// The object `DT_NEEDED` `name` of `requester` names, matched as the loader
    /// finds it: an object of this load by soname, a loaded one by soname, then
    /// either by file name (what a search of the path found).
    fn find(&self, name: &str, requester: &Library) -> Option<Library> {
        let file_is = |l: &Library| {
            l.path().file_name().and_then(|f| f.to_str()) == Some(name)
                || l.path() == Path::new(name)
        };
        if let Some(l) = self.fresh_one(|l| l.soname() == Some(name), requester) {
            return Some(l);
        }
        if !name.contains('/') {
            if let Some(l) = self.ns.loaded_by_name(name) {
                return Some(l);
            }
        }
        if let Some(l) = self.fresh_one(file_is, requester) {
            return Some(l);
        }
        // Loaded already under another soname (or none), found by identity.
        self.ns
            .loaded()
            .into_iter()
            .find(|l| file_is(l) && self.committed(l))
    }

    /// The fresh object matching `is`; when a check on another thread has dry
    /// objects of the same name, the one `requester`'s lookups reach (its own
    /// load's).
    fn fresh_one(&self, is: impl Fn(&Library) -> bool, requester: &Library) -> Option<Library> {
        let found: Vec<&Library> = self.fresh.iter().filter(|l| is(l)).collect();
        if found.len() > 1 {
            if let Some(l) = found.iter().find(|c| reaches(requester, c)) {
                return Some((*l).clone());
            }
        }
        found.first().map(|l| (*l).clone())
    }
}

/// Whether a lookup from `from` (breadth-first through its dependencies, as
/// `dlsym` searches) finds one of the first exports of `to` in `to`: then `to`
/// is among `from`'s dependencies. No code runs: IFUNCs of a dry object are not
/// resolved, and are simply not found.
fn reaches(from: &Library, to: &Library) -> bool {
    to.exports().iter().take(64).any(|s| {
        from.symbol(s)
            .is_some_and(|addr| to.contains(addr.as_ptr() as usize))
    })
}
