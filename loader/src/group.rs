//! The load group: the objects one load brought in, which live and die together.
//!
//! Owns [`Group`] (the modules of one load in breadth-first order, their resolved
//! dependencies, their init order, whether their initialisers ran and which thread
//! runs them, and what they keep alive), [`Dep`] (a resolved `DT_NEEDED`), and the
//! order rule (dependencies before dependents, a cycle broken where it is met).
//! Dropping the last reference to a group runs the fini functions of the objects
//! whose init ran (dependents first), leaves the process-wide object list, and
//! unmaps, then releases the groups it depended on; that is why dependency cycles
//! need no special case. It does not decide what to load (`load`) or where
//! (`namespace`).
//!
//! Unsafe code is allowed in this module: running the group's init and fini functions
//! (`init`), under the conditions its load established.
#![allow(unsafe_code)]

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::ThreadId;

use crate::imports::Import;
use crate::init;
use crate::module::Module;
use crate::options::{ProcessArgs, SymbolSource, UnloadHook};
use crate::runtime::stubs::StubLease;
use crate::runtime::TlsIndex;

/// A dependency of a module, as resolved at load time.
#[derive(Clone)]
pub(crate) enum Dep {
    /// Another module of the same group, by index.
    Group(usize),
    /// Module `.1` of an earlier group, kept alive by this reference.
    Loaded(Arc<Group>, usize),
    /// A library the host provides (`DT_NEEDED` answered by a provider).
    Provided(Arc<dyn SymbolSource>),
}

/// Initialisers not run yet (or running now, on [`Group::initialiser`]'s thread).
const PENDING: u8 = 0;
/// Every initialiser ran (or none may: the group was loaded without running code).
const DONE: u8 = 1;

/// The objects one load brought in; they are finalised and unmapped together.
pub(crate) struct Group {
    /// In breadth-first load order; index 0 is the object that was asked for.
    pub modules: Vec<Module>,
    /// Each module's resolved `DT_NEEDED`, in order (parallel to `modules`).
    pub deps: Vec<Vec<Dep>>,
    /// Indices into `modules`, dependencies before dependents.
    pub init_order: Vec<usize>,
    /// Whether code of these objects may run (initialisers, IFUNC resolvers).
    pub run_code: bool,
    /// [`PENDING`] or [`DONE`].
    status: AtomicU8,
    /// The thread that loads the group and runs its initialisers.
    initialiser: ThreadId,
    /// Per module: whether its init functions were called (so its fini must be).
    init_called: Vec<AtomicBool>,
    /// Groups of earlier loads these objects depend on or bound symbols to.
    /// Dropped after `modules`, so they are finalised after the objects that use
    /// them.
    pub external: Vec<Arc<Group>>,
    /// Host symbol sources bound to, kept alive with the code that uses them.
    _sources: Vec<Arc<dyn SymbolSource>>,
    /// Arguments of the objects' TLS descriptors.
    // Boxed: descriptors point at each argument, so it must never move.
    #[allow(clippy::vec_box)]
    _tlsdesc_args: Vec<Box<TlsIndex>>,
    /// Trap stubs the objects' unresolved imports are bound to.
    _stubs: Vec<StubLease>,
    /// Where each module's imports were bound (empty unless recorded).
    pub imports: Vec<Vec<Import>>,
    /// Told about each object's range after fini, before unmap.
    on_unload: Vec<Arc<UnloadHook>>,
}

/// What a group is made of, handed over by the load that built it.
pub(crate) struct Parts {
    pub modules: Vec<Module>,
    pub deps: Vec<Vec<Dep>>,
    pub run_code: bool,
    pub external: Vec<Arc<Group>>,
    pub sources: Vec<Arc<dyn SymbolSource>>,
    #[allow(clippy::vec_box)]
    pub tlsdesc_args: Vec<Box<TlsIndex>>,
    pub stubs: Vec<StubLease>,
    pub imports: Vec<Vec<Import>>,
    pub on_unload: Vec<Arc<UnloadHook>>,
}

impl Group {
    /// A group whose initialisers are still to run (unless it may run no code),
    /// on the calling thread.
    pub fn new(parts: Parts) -> Group {
        let init_order = init_order(&parts.deps);
        let n = parts.modules.len();
        Group {
            modules: parts.modules,
            deps: parts.deps,
            init_order,
            run_code: parts.run_code,
            status: AtomicU8::new(if parts.run_code { PENDING } else { DONE }),
            initialiser: std::thread::current().id(),
            init_called: (0..n).map(|_| AtomicBool::new(false)).collect(),
            external: parts.external,
            _sources: parts.sources,
            _tlsdesc_args: parts.tlsdesc_args,
            _stubs: parts.stubs,
            imports: parts.imports,
            on_unload: parts.on_unload,
        }
    }

    /// Whether the group's initialisers are still to finish on another thread
    /// (an opener must wait; on the initialising thread itself, a recursive open
    /// gets the object at once, as with glibc and musl).
    pub fn busy_elsewhere(&self) -> bool {
        self.status.load(Ordering::Acquire) != DONE
            && self.initialiser != std::thread::current().id()
    }

    /// Run every module's init functions, dependencies first.
    ///
    /// # Safety
    /// Every module is relocated and protected, and the groups it depends on are
    /// initialised (or being initialised by this thread); the caller allowed
    /// running the objects' code. Called once, by the thread that built the group.
    pub unsafe fn run_inits(&self, args: &ProcessArgs) {
        for &j in &self.init_order {
            // Marked first: an initialiser that unloads its own object (through a
            // handle it got from `dlopen`) must still get its fini functions run.
            self.init_called[j].store(true, Ordering::Release);
            // SAFETY: the caller's contract; `init_order` puts dependencies first.
            unsafe { init::run_init(&self.modules[j], args) };
        }
    }

    /// Mark the initialisers as finished (run, or abandoned by a panic).
    pub fn mark_done(&self) {
        self.status.store(DONE, Ordering::Release);
    }

    /// The key the process-wide object list and the debugger list file this
    /// group under.
    pub fn key(&self) -> usize {
        self as *const Group as usize
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        for &i in self.init_order.iter().rev() {
            if self.init_called[i].load(Ordering::Acquire) {
                // SAFETY: module `i`'s init functions were called, and it stays
                // mapped until this function returns and the fields drop.
                unsafe { init::run_fini(&self.modules[i]) };
            }
        }
        crate::runtime::unregister_group(self.key());
        for m in &self.modules {
            let (start, len) = m.range();
            for hook in &self.on_unload {
                hook(start, len);
            }
        }
    }
}

/// A group as the process-wide object list holds it: something that keeps the
/// objects mapped, without the list knowing what a group is.
pub(crate) fn as_owner(group: &Arc<Group>) -> Arc<dyn Any + Send + Sync> {
    group.clone()
}

/// Dependencies before dependents: depth-first post-order from the root over the
/// group's own modules (a cycle is broken where it is met).
fn init_order(deps: &[Vec<Dep>]) -> Vec<usize> {
    fn visit(j: usize, deps: &[Vec<Dep>], state: &mut [u8], out: &mut Vec<usize>) {
        if state[j] != 0 {
            return;
        }
        state[j] = 1;
        for d in &deps[j] {
            if let Dep::Group(x) = d {
                visit(*x, deps, state, out);
            }
        }
        state[j] = 2;
        out.push(j);
    }
    let mut state = vec![0u8; deps.len()];
    let mut out = Vec::with_capacity(deps.len());
    for j in 0..deps.len() {
        visit(j, deps, &mut state, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_first_and_cycles_terminate() {
        // 0 needs 1 and 2, 1 needs 2, 2 needs 0 (a cycle back to the root).
        let deps = vec![
            vec![Dep::Group(1), Dep::Group(2)],
            vec![Dep::Group(2)],
            vec![Dep::Group(0)],
        ];
        assert_eq!(init_order(&deps), vec![2, 1, 0]);
        // Independent objects keep load order.
        let flat = vec![vec![], vec![], vec![]];
        assert_eq!(init_order(&flat), vec![0, 1, 2]);
        // A diamond: 0 -> {1, 2} -> 3.
        let diamond = vec![
            vec![Dep::Group(1), Dep::Group(2)],
            vec![Dep::Group(3)],
            vec![Dep::Group(3)],
            vec![],
        ];
        assert_eq!(init_order(&diamond), vec![3, 1, 2, 0]);
    }
}
