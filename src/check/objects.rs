//! The objects of a dry load: which they are, and whether each is new.
//!
//! Owns [`walk`]: from the root of a check's dry load, breadth-first by
//! `DT_NEEDED`, each object with whether it is new (mapped by this check's dry
//! load) or loaded already, and what answered each of its names (a provider, or
//! which object), exactly as the loader resolved them
//! ([`Library::dependencies`]). It holds no handle longer than the walk (a held
//! handle would make this thread the one that unloads an object its owner let go
//! meanwhile).

use staticdl_loader::{Dependency, Library};

use super::NeededBy;

/// The objects of the load rooted at `root`, breadth-first by `DT_NEEDED`, each
/// with whether it is new (a dry object) and what answered each of its names.
pub(super) fn walk(root: &Library) -> Vec<Walked> {
    let mut out = Vec::new();
    let mut queue = vec![root.clone()];
    let mut i = 0;
    while i < queue.len() {
        let lib = queue[i].clone();
        i += 1;
        let needed = lib
            .dependencies()
            .into_iter()
            .map(|(name, dep)| {
                let by = match dep {
                    Dependency::Object(d) => {
                        let by = NeededBy::Object(d.path().to_path_buf());
                        if !queue.iter().any(|q| q.same_object(&d)) {
                            queue.push(d);
                        }
                        by
                    }
                    Dependency::Provided => NeededBy::Provided,
                    _ => NeededBy::Unknown,
                };
                (name, by)
            })
            .collect();
        // A dry object is this check's (no load finds another's); one loaded
        // already was found by the dry load.
        let new = lib.is_dry_run();
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
