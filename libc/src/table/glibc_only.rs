//! Table families that no C library function answers under its own name: the
//! fortified `__*_chk` calls and other C shims of `c/`, the exit and fork
//! registries, the dynamic-loader interface and glibc's identification.
//!
//! Owns only which shim answers each glibc name; the shims themselves live in
//! `c/` and in the Rust modules named here.

use super::{Entry, Target};

/// Errno, assertions and fortification.
pub(super) static FORTIFY: &[Entry] = functions! {
    __errno_location, __assert_fail,
    __stack_chk_fail => staticdl_stack_chk_fail,
    __chk_fail => staticdl_chk_fail,
    __snprintf_chk => staticdl_snprintf_chk,
    __vsnprintf_chk => staticdl_vsnprintf_chk,
    __sprintf_chk => staticdl_sprintf_chk,
    __vsprintf_chk => staticdl_vsprintf_chk,
    __fprintf_chk => staticdl_fprintf_chk,
    __vfprintf_chk => staticdl_vfprintf_chk,
    __printf_chk => staticdl_printf_chk,
    __vprintf_chk => staticdl_vprintf_chk,
    __dprintf_chk => staticdl_dprintf_chk,
    __vdprintf_chk => staticdl_vdprintf_chk,
    __asprintf_chk => staticdl_asprintf_chk,
    __vasprintf_chk => staticdl_vasprintf_chk,
    __syslog_chk => staticdl_syslog_chk,
    __vsyslog_chk => staticdl_vsyslog_chk,
    __swprintf_chk => staticdl_swprintf_chk,
    __vswprintf_chk => staticdl_vswprintf_chk,
    __memcpy_chk => staticdl_memcpy_chk,
    __memmove_chk => staticdl_memmove_chk,
    __mempcpy_chk => staticdl_mempcpy_chk,
    __memset_chk => staticdl_memset_chk,
    __explicit_bzero_chk => staticdl_explicit_bzero_chk,
    __strcpy_chk => staticdl_strcpy_chk,
    __stpcpy_chk => staticdl_stpcpy_chk,
    __strncpy_chk => staticdl_strncpy_chk,
    __stpncpy_chk => staticdl_stpncpy_chk,
    __strcat_chk => staticdl_strcat_chk,
    __strncat_chk => staticdl_strncat_chk,
    __wmemcpy_chk => staticdl_wmemcpy_chk,
    __wmemmove_chk => staticdl_wmemmove_chk,
    __wmemset_chk => staticdl_wmemset_chk,
    __wcscpy_chk => staticdl_wcscpy_chk,
    __fread_chk => staticdl_fread_chk,
    __fread_unlocked_chk => staticdl_fread_unlocked_chk,
    __fgets_chk => staticdl_fgets_chk,
    __read_chk => staticdl_read_chk,
    __pread_chk => staticdl_pread_chk,
    __pread64_chk => staticdl_pread_chk,
    __recv_chk => staticdl_recv_chk,
    __recvfrom_chk => staticdl_recvfrom_chk,
    __readlink_chk => staticdl_readlink_chk,
    __readlinkat_chk => staticdl_readlinkat_chk,
    __getcwd_chk => staticdl_getcwd_chk,
    __realpath_chk => staticdl_realpath_chk,
    __getgroups_chk => staticdl_getgroups_chk,
    __gethostname_chk => staticdl_gethostname_chk,
    __ttyname_r_chk => staticdl_ttyname_r_chk,
    __getlogin_r_chk => staticdl_getlogin_r_chk,
    __confstr_chk => staticdl_confstr_chk,
    __poll_chk => staticdl_poll_chk,
    __fdelt_chk => staticdl_fdelt_chk,
    __fdelt_warn => staticdl_fdelt_chk,
    __open_2 => staticdl_open_2,
    __open64_2 => staticdl_open_2,
    __openat_2 => staticdl_openat_2,
    __openat64_2 => staticdl_openat_2,
};

/// C++ ABI and process exit (registries keyed by the object's __dso_handle).
pub(super) static CXA: &[Entry] = &[
    Entry::new(
        "__cxa_atexit",
        Target::Addr(crate::cxa::cxa_atexit as *const ()),
    ),
    Entry::new(
        "__cxa_finalize",
        Target::Addr(crate::cxa::cxa_finalize as *const ()),
    ),
    Entry::new(
        "__cxa_thread_atexit_impl",
        Target::Call(staticdl_loader::runtime::cxa_thread_atexit_impl_address),
    ),
];

/// The dynamic loader (answered by staticdl itself).
pub(super) static LOADER: &[Entry] = &[
    Entry::new(
        "__tls_get_addr",
        Target::Call(staticdl_loader::runtime::tls_get_addr_address),
    ),
    Entry::new("dlopen", Target::Addr(crate::dl::dlopen as *const ())),
    Entry::new("dlsym", Target::Call(crate::dl::dlsym_address)),
    Entry::new("dlvsym", Target::Call(crate::dl::dlvsym_address)),
    Entry::new("dlclose", Target::Addr(crate::dl::dlclose as *const ())),
    Entry::new("dlerror", Target::Addr(crate::dl::dlerror as *const ())),
    Entry::new("dladdr", Target::Addr(crate::dl::dladdr as *const ())),
    Entry::new("dladdr1", Target::Addr(crate::dl::dladdr1 as *const ())),
    Entry::new(
        "dl_iterate_phdr",
        Target::Addr(crate::dl::iterate_phdr_entry as *const ()),
    ),
    Entry::new(
        "_dl_find_object",
        Target::Addr(crate::dl::find_object as *const ()),
    ),
];

/// Glibc identification.
pub(super) static GLIBC: &[Entry] = &[
    Entry::new(
        "gnu_get_libc_version",
        Target::Addr(crate::glibc::gnu_get_libc_version as *const ()),
    ),
    Entry::new(
        "gnu_get_libc_release",
        Target::Addr(crate::glibc::gnu_get_libc_release as *const ()),
    ),
    Entry::new(
        "__libc_single_threaded",
        Target::Addr(&raw const crate::glibc::LIBC_SINGLE_THREADED as *const ()),
    ),
    Entry::new("mallopt", Target::Addr(crate::glibc::mallopt as *const ())),
    Entry::new(
        "malloc_trim",
        Target::Addr(crate::glibc::malloc_trim as *const ()),
    ),
];
