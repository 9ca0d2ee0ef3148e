//! Process-wide run-time support that the platform ABI forces on a loader.
//!
//! Owns the only global state of the loader: the TLS module table and per-thread
//! blocks ([`tls`]), the list of loaded objects that `dl_iterate_phdr`-style walkers
//! and address lookups read ([`objects`]), and per-thread destructors registered by
//! plugins (`__cxa_thread_atexit_impl`), which hold their object loaded until they
//! ran. Everything here is reachable by plugin code through addresses the host
//! hands out (a libc provider); nothing is exported under a libc name, so a host
//! that merely links the loader is unchanged.

mod debug;
mod objects;
mod thread_exit;
pub(crate) mod tls;

use std::cell::Cell;

pub use debug::{staticdl_debug_state, LinkMap, RDebug};
pub use objects::{
    iterate_loaded_phdrs, library_containing, phdr_counts, DlIterateCallback, DlPhdrInfo,
};
pub(crate) use objects::{register_group, unregister_group, ObjectInfo as ObjectInfoPub};
pub use thread_exit::cxa_thread_atexit_impl_address;
pub use tls::{tls_get_addr_address, TlsIndex};

thread_local! {
    /// Whether this thread's exit-time cleanup is armed.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    /// Runs the cleanup when the thread exits.
    static EXIT: ExitGuard = const { ExitGuard };
}

/// Make sure [`ExitGuard`] runs when the calling thread exits.
pub(crate) fn arm_thread_exit() {
    if !ARMED.with(|a| a.replace(true)) {
        // If the thread is already running its thread-local destructors this
        // fails; the cleanup in progress (if it is ours) picks the new work up.
        let _ = EXIT.try_with(|_| ());
    }
}

struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        // Plugins' thread-local destructors first: they may use their TLS blocks
        // and their objects must still be loaded. Then the blocks.
        thread_exit::run();
        tls::thread_exit();
    }
}
