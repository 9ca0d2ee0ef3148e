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
    __fgets_unlocked_chk => staticdl_fgets_unlocked_chk,
    __fgetws_chk => staticdl_fgetws_chk,
    __fgetws_unlocked_chk => staticdl_fgetws_unlocked_chk,
    __fwprintf_chk => staticdl_fwprintf_chk,
    __getdomainname_chk => staticdl_getdomainname_chk,
    __gets_chk => staticdl_gets_chk,
    __getwd_chk => staticdl_getwd_chk,
    __mbsnrtowcs_chk => staticdl_mbsnrtowcs_chk,
    __mbsrtowcs_chk => staticdl_mbsrtowcs_chk,
    __mbstowcs_chk => staticdl_mbstowcs_chk,
    __ppoll_chk => staticdl_ppoll_chk,
    __ptsname_r_chk => staticdl_ptsname_r_chk,
    __vfwprintf_chk => staticdl_vfwprintf_chk,
    __vwprintf_chk => staticdl_vwprintf_chk,
    __wcpcpy_chk => staticdl_wcpcpy_chk,
    __wcpncpy_chk => staticdl_wcpncpy_chk,
    __wcrtomb_chk => staticdl_wcrtomb_chk,
    __wcscat_chk => staticdl_wcscat_chk,
    __wcsncat_chk => staticdl_wcsncat_chk,
    __wcsncpy_chk => staticdl_wcsncpy_chk,
    __wcsnrtombs_chk => staticdl_wcsnrtombs_chk,
    __wcsrtombs_chk => staticdl_wcsrtombs_chk,
    __wcstombs_chk => staticdl_wcstombs_chk,
    __wctomb_chk => staticdl_wctomb_chk,
    __wmempcpy_chk => staticdl_wmempcpy_chk,
    __wprintf_chk => staticdl_wprintf_chk,
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

/// Thread creation with glibc's CPU affinity attributes (`affinity.rs`).
pub(super) static AFFINITY: &[Entry] = &[
    Entry::new(
        "pthread_create",
        Target::Addr(crate::affinity::create as *const ()),
    ),
    Entry::new(
        "pthread_attr_init",
        Target::Addr(crate::affinity::attr_init as *const ()),
    ),
    Entry::new(
        "pthread_attr_destroy",
        Target::Addr(crate::affinity::attr_destroy as *const ()),
    ),
    Entry::new(
        "pthread_attr_setaffinity_np",
        Target::Addr(crate::affinity::setaffinity as *const ()),
    ),
    Entry::new(
        "pthread_attr_getaffinity_np",
        Target::Addr(crate::affinity::getaffinity as *const ()),
    ),
];

/// The dynamic loader (answered by staticdl itself).
pub(super) static LOADER: &[Entry] = &[
    Entry::new(
        "__tls_get_addr",
        Target::Call(staticdl_loader::runtime::tls_get_addr_address),
    ),
    Entry::new("dlopen", Target::Call(crate::dl::dlopen_address)),
    Entry::new("dlsym", Target::Call(crate::dl::dlsym_address)),
    Entry::new("dlvsym", Target::Call(crate::dl::dlvsym_address)),
    Entry::new("dlclose", Target::Addr(crate::dl::dlclose as *const ())),
    Entry::new("dlerror", Target::Addr(crate::dl::dlerror as *const ())),
    Entry::new("dladdr", Target::Addr(crate::objects::dladdr as *const ())),
    Entry::new(
        "dladdr1",
        Target::Addr(crate::objects::dladdr1 as *const ()),
    ),
    Entry::new(
        "dl_iterate_phdr",
        Target::Addr(crate::objects::iterate_phdr_entry as *const ()),
    ),
    Entry::new(
        "_dl_find_object",
        Target::Addr(crate::objects::find_object as *const ()),
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

/// glibc-shaped locale objects (`c/locale.c`) and the `*_l` functions that
/// take them (`c/locale_l.S`). The numeric `*_l` conversions the host lacks
/// answer with the plain functions: the host's number parsing does not depend
/// on the locale (its LC_NUMERIC is always C's), and the extra argument is
/// ignored by the callee.
pub(super) static LOCALE_SHIMS: &[Entry] = functions! {
    newlocale => staticdl_newlocale,
    __newlocale => staticdl_newlocale,
    duplocale => staticdl_duplocale,
    __duplocale => staticdl_duplocale,
    freelocale => staticdl_freelocale,
    __freelocale => staticdl_freelocale,
    uselocale => staticdl_uselocale,
    __uselocale => staticdl_uselocale,
    nl_langinfo => staticdl_nl_langinfo,
    nl_langinfo_l => staticdl_nl_langinfo_l,
    __nl_langinfo_l => staticdl_nl_langinfo_l,
    isalnum_l => staticdl_isalnum_l,
    __isalnum_l => staticdl_isalnum_l,
    isalpha_l => staticdl_isalpha_l,
    __isalpha_l => staticdl_isalpha_l,
    isblank_l => staticdl_isblank_l,
    __isblank_l => staticdl_isblank_l,
    iscntrl_l => staticdl_iscntrl_l,
    __iscntrl_l => staticdl_iscntrl_l,
    isdigit_l => staticdl_isdigit_l,
    __isdigit_l => staticdl_isdigit_l,
    isgraph_l => staticdl_isgraph_l,
    __isgraph_l => staticdl_isgraph_l,
    islower_l => staticdl_islower_l,
    __islower_l => staticdl_islower_l,
    isprint_l => staticdl_isprint_l,
    __isprint_l => staticdl_isprint_l,
    ispunct_l => staticdl_ispunct_l,
    __ispunct_l => staticdl_ispunct_l,
    isspace_l => staticdl_isspace_l,
    __isspace_l => staticdl_isspace_l,
    isupper_l => staticdl_isupper_l,
    __isupper_l => staticdl_isupper_l,
    isxdigit_l => staticdl_isxdigit_l,
    __isxdigit_l => staticdl_isxdigit_l,
    tolower_l => staticdl_tolower_l,
    __tolower_l => staticdl_tolower_l,
    toupper_l => staticdl_toupper_l,
    __toupper_l => staticdl_toupper_l,
    __isascii_l => isascii,
    __toascii_l => toascii,
    iswalnum_l => staticdl_iswalnum_l,
    __iswalnum_l => staticdl_iswalnum_l,
    iswalpha_l => staticdl_iswalpha_l,
    __iswalpha_l => staticdl_iswalpha_l,
    iswblank_l => staticdl_iswblank_l,
    __iswblank_l => staticdl_iswblank_l,
    iswcntrl_l => staticdl_iswcntrl_l,
    __iswcntrl_l => staticdl_iswcntrl_l,
    iswdigit_l => staticdl_iswdigit_l,
    __iswdigit_l => staticdl_iswdigit_l,
    iswgraph_l => staticdl_iswgraph_l,
    __iswgraph_l => staticdl_iswgraph_l,
    iswlower_l => staticdl_iswlower_l,
    __iswlower_l => staticdl_iswlower_l,
    iswprint_l => staticdl_iswprint_l,
    __iswprint_l => staticdl_iswprint_l,
    iswpunct_l => staticdl_iswpunct_l,
    __iswpunct_l => staticdl_iswpunct_l,
    iswspace_l => staticdl_iswspace_l,
    __iswspace_l => staticdl_iswspace_l,
    iswupper_l => staticdl_iswupper_l,
    __iswupper_l => staticdl_iswupper_l,
    iswxdigit_l => staticdl_iswxdigit_l,
    __iswxdigit_l => staticdl_iswxdigit_l,
    iswctype_l => staticdl_iswctype_l,
    __iswctype_l => staticdl_iswctype_l,
    towlower_l => staticdl_towlower_l,
    __towlower_l => staticdl_towlower_l,
    towupper_l => staticdl_towupper_l,
    __towupper_l => staticdl_towupper_l,
    towctrans_l => staticdl_towctrans_l,
    __towctrans_l => staticdl_towctrans_l,
    wctype_l => staticdl_wctype_l,
    __wctype_l => staticdl_wctype_l,
    wctrans_l => staticdl_wctrans_l,
    __wctrans_l => staticdl_wctrans_l,
    strcoll_l => staticdl_strcoll_l,
    __strcoll_l => staticdl_strcoll_l,
    wcscoll_l => staticdl_wcscoll_l,
    __wcscoll_l => staticdl_wcscoll_l,
    strxfrm_l => staticdl_strxfrm_l,
    __strxfrm_l => staticdl_strxfrm_l,
    wcsxfrm_l => staticdl_wcsxfrm_l,
    __wcsxfrm_l => staticdl_wcsxfrm_l,
    strcasecmp_l => staticdl_strcasecmp_l,
    __strcasecmp_l => staticdl_strcasecmp_l,
    strncasecmp_l => staticdl_strncasecmp_l,
    __strncasecmp_l => staticdl_strncasecmp_l,
    wcscasecmp_l => staticdl_wcscasecmp_l,
    __wcscasecmp_l => staticdl_wcscasecmp_l,
    wcsncasecmp_l => staticdl_wcsncasecmp_l,
    __wcsncasecmp_l => staticdl_wcsncasecmp_l,
    strftime_l => staticdl_strftime_l,
    __strftime_l => staticdl_strftime_l,
    wcsftime_l => staticdl_wcsftime_l,
    __wcsftime_l => staticdl_wcsftime_l,
    strerror_l => staticdl_strerror_l,
    strfmon_l => staticdl_strfmon_l,
    __strfmon_l => staticdl_strfmon_l,
    strtod_l => staticdl_strtod_l,
    __strtod_l => staticdl_strtod_l,
    strtof_l => staticdl_strtof_l,
    __strtof_l => staticdl_strtof_l,
    strtold_l => staticdl_strtold_l,
    __strtold_l => staticdl_strtold_l,
    strtol_l => strtol,
    __strtol_l => strtol,
    strtoul_l => strtoul,
    __strtoul_l => strtoul,
    strtoll_l => strtoll,
    __strtoll_l => strtoll,
    strtoull_l => strtoull,
    __strtoull_l => strtoull,
    wcstod_l => wcstod,
    __wcstod_l => wcstod,
    wcstof_l => wcstof,
    __wcstof_l => wcstof,
    wcstold_l => wcstold,
    __wcstold_l => wcstold,
    wcstol_l => wcstol,
    __wcstol_l => wcstol,
    wcstoul_l => wcstoul,
    __wcstoul_l => wcstoul,
    wcstoll_l => wcstoll,
    __wcstoll_l => wcstoll,
    wcstoull_l => wcstoull,
    __wcstoull_l => wcstoull,
};

/// glibc's obstacks (`c/obstack.c`): GMP, binutils and GNU tools grow objects
/// through the `<obstack.h>` macros, which call these.
pub(super) static OBSTACK: &[Entry] = functions! {
    _obstack_begin => staticdl_obstack_begin,
    _obstack_begin_1 => staticdl_obstack_begin_1,
    _obstack_newchunk => staticdl_obstack_newchunk,
    _obstack_free => staticdl_obstack_free,
    obstack_free => staticdl_obstack_free,
    _obstack_allocated_p => staticdl_obstack_allocated_p,
    _obstack_memory_used => staticdl_obstack_memory_used,
    obstack_printf => staticdl_obstack_printf,
    obstack_vprintf => staticdl_obstack_vprintf,
    __obstack_printf_chk => staticdl_obstack_printf_chk,
    __obstack_vprintf_chk => staticdl_obstack_vprintf_chk,
};
/// Obstacks: variables.
pub(super) static OBSTACK_DATA: &[Entry] = variables! {
    obstack_alloc_failed_handler => staticdl_obstack_alloc_failed_handler,
    obstack_exit_failure => staticdl_obstack_exit_failure,
};

/// `<ucontext.h>` for x86-64 over glibc's `ucontext_t` (`c/ucontext.S`,
/// `c/ucontext.c`): OpenSSL's asynchronous jobs, coroutine libraries.
pub(super) static UCONTEXT: &[Entry] = functions! {
    getcontext => staticdl_getcontext,
    setcontext => staticdl_setcontext,
    swapcontext => staticdl_swapcontext,
    makecontext => staticdl_makecontext,
};

/// POSIX regular expressions with glibc's `regex_t` and `regmatch_t`
/// (`c/regex.c`).
pub(super) static REGEX: &[Entry] = functions! {
    regcomp => staticdl_regcomp,
    regexec => staticdl_regexec,
    regerror => staticdl_regerror,
    regfree => staticdl_regfree,
};

/// GNU names the host lacks, with glibc's semantics (`c/gnu.c`).
pub(super) static GNU: &[Entry] = functions! {
    glob_pattern_p => staticdl_glob_pattern_p,
    closefrom => staticdl_closefrom,
    wmempcpy => staticdl_wmempcpy,
    parse_printf_format => staticdl_parse_printf_format,
    random_r => staticdl_random_r,
    srandom_r => staticdl_srandom_r,
    initstate_r => staticdl_initstate_r,
    setstate_r => staticdl_setstate_r,
    error => staticdl_glibc_error,
    error_at_line => staticdl_error_at_line,
    scandirat => staticdl_scandirat,
    scandirat64 => staticdl_scandirat,
    gnu_dev_major => staticdl_gnu_dev_major,
    gnu_dev_minor => staticdl_gnu_dev_minor,
    gnu_dev_makedev => staticdl_gnu_dev_makedev,
};

/// glibc's `<fts.h>` (`c/fts.c`); the `fts64_*` names take the same
/// structures on x86-64.
pub(super) static FTS: &[Entry] = functions! {
    fts_open => staticdl_fts_open,
    fts_read => staticdl_fts_read,
    fts_children => staticdl_fts_children,
    fts_set => staticdl_fts_set,
    fts_close => staticdl_fts_close,
    fts64_open => staticdl_fts_open,
    fts64_read => staticdl_fts_read,
    fts64_children => staticdl_fts_children,
    fts64_set => staticdl_fts_set,
    fts64_close => staticdl_fts_close,
};

/// `<error.h>`'s variables (`c/error.c`).
pub(super) static ERROR_DATA: &[Entry] = variables! {
    error_message_count => staticdl_error_message_count,
    error_one_per_line => staticdl_error_one_per_line,
    error_print_progname => staticdl_error_print_progname,
};

/// The re-entrant resolver (`c/gnu.c`): the caller's `res_state` initialised
/// and passed along, the queries made by the host's resolver.
#[cfg(target_env = "musl")]
pub(super) static RESOLVER_STATE: &[Entry] = functions! {
    __res_ninit => staticdl_res_ninit,
    __res_nclose => staticdl_res_nclose,
    res_nquery => staticdl_res_nquery,
    __res_nquery => staticdl_res_nquery,
    res_nsearch => staticdl_res_nsearch,
    __res_nsearch => staticdl_res_nsearch,
    res_nquerydomain => staticdl_res_nquerydomain,
    __res_nquerydomain => staticdl_res_nquerydomain,
    res_nmkquery => staticdl_res_nmkquery,
    __res_nmkquery => staticdl_res_nmkquery,
    res_nsend => staticdl_res_nsend,
    __res_nsend => staticdl_res_nsend,
};
#[cfg(not(target_env = "musl"))]
pub(super) static RESOLVER_STATE: &[Entry] = &[];
