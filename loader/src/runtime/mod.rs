//! Process-wide run-time support that the platform ABI forces on a loader.
//!
//! Owns the only global state of the loader: the TLS module table and per-thread
//! blocks (`tls`), the list of loaded objects that `dl_iterate_phdr`-style walkers
//! and address lookups read (`objects`), and per-thread destructors registered by
//! plugins (`__cxa_thread_atexit_impl`), which hold their object loaded until they
//! ran. Everything here is reachable by plugin code through addresses the host
//! hands out (a libc provider); nothing is exported under a libc name, so a host
//! that merely links the loader is unchanged.
//!
//! Unsafe code is allowed in this module: the thread-exit hook uses the host's POSIX
//! thread-specific-data functions.
#![allow(unsafe_code)]

mod args;
mod debug;
pub(crate) mod exe;
mod objects;
mod rtld;
mod static_tls;
pub(crate) mod stubs;
mod thread_exit;
mod threads;
pub(crate) mod tls;

pub use args::process_args;
pub use debug::{staticdl_debug_state, LinkMap, RDebug};
pub use objects::{iterate_loaded_phdrs, phdr_counts, DlIterateCallback, DlPhdrInfo};
pub(crate) use objects::{
    owner_containing, register_group, unregister_group, ObjectInfo as ObjectInfoPub,
};
pub(crate) use rtld::RTLD;
pub use static_tls::static_tls_usage;
pub(crate) use static_tls::ReserveError;
pub(crate) use stubs::STUBS;
pub use stubs::{StubLease, STUB_COUNT};
pub use thread_exit::cxa_thread_atexit_impl_address;
pub use tls::{tls_get_addr_address, TlsIndex};

// Thread exit is hooked through a POSIX thread-specific-data key, as Rust's own
// `thread_local!` destructors are: its destructor runs in every destructor round,
// so keep-alive handles are released only after the plugins' own key destructors
// (which may point into the plugins) have run. These are the host's thread
// functions, not its loader.
extern "C" {
    fn pthread_key_create(
        key: *mut u32,
        dtor: Option<unsafe extern "C" fn(*mut std::ffi::c_void)>,
    ) -> std::ffi::c_int;
    fn pthread_getspecific(key: u32) -> *mut std::ffi::c_void;
    fn pthread_setspecific(key: u32, value: *const std::ffi::c_void) -> std::ffi::c_int;
}

/// glibc's and musl's PTHREAD_DESTRUCTOR_ITERATIONS.
const ROUNDS: usize = 4;

fn exit_key() -> u32 {
    static KEY: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *KEY.get_or_init(|| {
        let mut k = 0u32;
        // SAFETY: plain libc call with a valid out pointer.
        unsafe { pthread_key_create(&mut k, Some(exit_round)) };
        k
    })
}

/// Create the thread-exit key (once per process).
pub(crate) fn prepare_thread_exit() {
    exit_key();
}

/// Make sure [`exit_round`] runs when the calling thread exits.
pub(crate) fn arm_thread_exit() {
    let key = exit_key();
    // SAFETY: a key this module created.
    unsafe {
        if pthread_getspecific(key).is_null() {
            pthread_setspecific(key, std::ptr::without_provenance::<std::ffi::c_void>(1));
        }
    }
}

/// Runs in every destructor round: plugins' thread-local destructors (including
/// ones registered by other key destructors meanwhile); in the last round, the
/// keep-alive handles and the TLS blocks go.
unsafe extern "C" fn exit_round(value: *mut std::ffi::c_void) {
    let round = value as usize;
    thread_exit::run();
    let key = exit_key();
    if round < ROUNDS {
        // SAFETY: a key this module created.
        unsafe {
            pthread_setspecific(
                key,
                std::ptr::without_provenance::<std::ffi::c_void>(round + 1),
            )
        };
    } else {
        thread_exit::release();
        tls::thread_exit();
    }
}
