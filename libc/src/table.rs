//! The provider's symbol table: which host function or variable answers each
//! glibc name a plugin may import, and how symbol versions are honoured.
//!
//! Owns the families of entries below (the host C library's own functions under
//! their glibc names, the C shims of `shims.c`, and the Rust pieces of this
//! module and of the loader's runtime), the one sorted `(name, address)` table
//! built from them, and the version policy. A name that is not here is not
//! provided: the lookup answers `None` and the load fails naming it. It does not
//! implement anything itself.
//!
//! Referencing a host function here is also what makes the static linker include
//! it in a static host: every entry is a real address of the host's own code.

use std::sync::OnceLock;

/// Where an entry's address comes from.
#[derive(Clone, Copy)]
enum Target {
    /// A link-time address: a host C function or variable, or a Rust item.
    Addr(*const ()),
    /// An address only known at run time (the loader's runtime hands it out).
    Call(fn() -> usize),
}

/// One glibc name and what answers it.
struct Entry {
    name: &'static str,
    target: Target,
}

// SAFETY: entries hold code and data addresses that are never dereferenced
// through the table; sharing them between threads shares plain numbers.
unsafe impl Sync for Entry {}

impl Entry {
    const fn new(name: &'static str, target: Target) -> Self {
        Entry { name, target }
    }
}

/// Host C functions (or C shims), each answering the glibc name on the left of
/// `=>`, or its own name when there is no arrow. Declared only to take their
/// addresses: the `fn()` signature is never used for a call.
macro_rules! functions {
    ($($name:ident $(=> $target:ident)?),* $(,)?) => {
        &[$(function!($name $(=> $target)?)),*]
    };
}

macro_rules! function {
    ($name:ident) => {
        function!($name => $name)
    };
    ($name:ident => $target:ident) => {
        Entry::new(stringify!($name), Target::Addr({
            extern "C" {
                fn $target();
            }
            $target as *const ()
        }))
    };
}

/// Host C variables, as `functions!` does for functions: the glibc name
/// answers with the address of the host's object.
macro_rules! variables {
    ($($name:ident $(=> $target:ident)?),* $(,)?) => {
        &[$(variable!($name $(=> $target)?)),*]
    };
}

macro_rules! variable {
    ($name:ident) => {
        variable!($name => $name)
    };
    ($name:ident => $target:ident) => {
        Entry::new(stringify!($name), Target::Addr({
            extern "C" {
                static $target: u8;
            }
            &raw const $target as *const ()
        }))
    };
}

/// Memory and strings.
static STRINGS: &[Entry] = functions! {
    memchr, memcmp, memcpy, memmove, memset, memrchr, memmem, mempcpy, memccpy, bcmp,
    bcopy, bzero, explicit_bzero, strlen, strnlen, strcmp, strncmp, strcasecmp,
    strncasecmp, strcasecmp_l, strncasecmp_l, strcpy, strncpy, stpcpy, stpncpy, strcat,
    strncat, strchr, strrchr, strchrnul, strstr, strcasestr, strspn, strcspn, strpbrk,
    strtok, strtok_r, strsep, strdup, strndup, strerror, strerror_l, strsignal, strcoll,
    strcoll_l, strxfrm, strxfrm_l, index, rindex, ffs, ffsl, ffsll, swab, strverscmp,
    dirname, __xpg_strerror_r, __xpg_basename,
    __strdup => strdup,
    __strndup => strndup,
    __stpcpy => stpcpy,
    __mempcpy => mempcpy,
    __strtok_r => strtok_r,
    strerror_r => staticdl_gnu_strerror_r,
    basename => staticdl_gnu_basename,
    rawmemchr => staticdl_rawmemchr,
    __rawmemchr => staticdl_rawmemchr,
};

/// Wide characters and multibyte.
static WIDE: &[Entry] = functions! {
    wmemcpy, wmemmove, wmemset, wmemcmp, wmemchr, wcslen, wcsnlen, wcscmp, wcsncmp,
    wcscpy, wcsncpy, wcscat, wcsncat, wcschr, wcsrchr, wcsstr, wcsdup, wcscoll, wcsxfrm,
    wcstol, wcstoul, wcstoll, wcstoull, wcstod, wcstof, wcstold, wcsspn, wcscspn,
    wcspbrk, wcstok, wcscasecmp, wcsncasecmp, mbrtowc, wcrtomb, mbstowcs, wcstombs,
    mbtowc, wctomb, mblen, mbrlen, mbsrtowcs, wcsrtombs, mbsnrtowcs, wcsnrtombs,
    mbsinit, btowc, wctob, wcwidth, wcswidth, towlower, towupper, iswalpha, iswdigit,
    iswspace, iswupper, iswlower, iswalnum, iswprint, iswpunct, iswcntrl, iswxdigit,
    iswgraph, iswblank, wctype, iswctype, wctrans, towctrans, wcsftime,
};

/// Ctype (musl keeps glibc's table layout for these).
static CTYPE: &[Entry] = functions! {
    isalpha, isdigit, isalnum, isspace, isupper, islower, isprint, ispunct, iscntrl,
    isxdigit, isgraph, isblank, isascii, toascii, toupper, tolower, __ctype_b_loc,
    __ctype_tolower_loc, __ctype_toupper_loc, __ctype_get_mb_cur_max,
};

/// Stdlib.
static STDLIB: &[Entry] = functions! {
    malloc, calloc, realloc, free, reallocarray, posix_memalign, aligned_alloc,
    memalign, valloc, malloc_usable_size, abort, exit, _exit, _Exit, quick_exit, getenv,
    secure_getenv, setenv, unsetenv, putenv, clearenv, atoi, atol, atoll, atof, strtol,
    strtoul, strtoll, strtoull, strtod, strtof, strtold, strtoimax, strtoumax, qsort,
    qsort_r, bsearch, abs, labs, llabs, div, ldiv, lldiv, imaxabs, imaxdiv, rand, srand,
    rand_r, random, srandom, initstate, setstate, drand48, erand48, lrand48, nrand48,
    mrand48, jrand48, srand48, seed48, lcong48, mkstemp, mkostemp, mkstemps, mkostemps,
    mkdtemp, mktemp, realpath, system, getauxval, getrandom, getentropy, ecvt, fcvt,
    gcvt, l64a, a64l, getsubopt, posix_openpt, grantpt, unlockpt, ptsname, ptsname_r,
    getloadavg,
    strtoq => strtoll,
    strtouq => strtoull,
    __strtol_internal => strtol,
    __strtoul_internal => strtoul,
    __strtoll_internal => strtoll,
    __strtoull_internal => strtoull,
    __strtod_internal => strtod,
    __strtof_internal => strtof,
    __isoc23_strtol => strtol,
    __isoc23_strtoul => strtoul,
    __isoc23_strtoll => strtoll,
    __isoc23_strtoull => strtoull,
    __isoc23_strtoimax => strtoimax,
    __isoc23_strtoumax => strtoumax,
    __isoc23_wcstol => wcstol,
    __isoc23_wcstoul => wcstoul,
    __isoc23_wcstoll => wcstoll,
    __isoc23_wcstoull => wcstoull,
    arc4random => staticdl_arc4random,
    arc4random_buf => staticdl_arc4random_buf,
    arc4random_uniform => staticdl_arc4random_uniform,
};
/// Stdlib.
static STDLIB_RUST: &[Entry] = &[Entry::new(
    "atexit",
    Target::Addr(super::cxa::atexit as *const ()),
)];

/// Stdio (FILE is opaque: the host's FILE, the host's functions).
static STDIO: &[Entry] = functions! {
    printf, fprintf, sprintf, snprintf, vprintf, vfprintf, vsprintf, vsnprintf, dprintf,
    vdprintf, asprintf, vasprintf, scanf, fscanf, sscanf, vscanf, vfscanf, vsscanf,
    fopen, fdopen, freopen, fclose, fflush, fread, fwrite, fgetc, fputc, getc, putc,
    getchar, putchar, fgets, fputs, puts, ungetc, fseek, ftell, fseeko, ftello, rewind,
    fgetpos, fsetpos, feof, ferror, clearerr, fileno, setvbuf, setbuf, setlinebuf,
    setbuffer, perror, remove, rename, renameat, tmpfile, tmpnam, tempnam, popen,
    pclose, getline, getdelim, open_memstream, open_wmemstream, fmemopen, fopencookie,
    flockfile, funlockfile, ftrylockfile, getc_unlocked, putc_unlocked,
    getchar_unlocked, putchar_unlocked, fgetc_unlocked, fputc_unlocked, fwrite_unlocked,
    fread_unlocked, fputs_unlocked, fgets_unlocked, fflush_unlocked, feof_unlocked,
    ferror_unlocked, clearerr_unlocked, fileno_unlocked, __fpending, __freading,
    __fwriting, __fpurge, __flbf, __fbufsize, __freadable, __fwritable, __fsetlocking,
    _flushlbf, fwprintf, swprintf, vswprintf, wprintf, vfwprintf, vwprintf, fwscanf,
    swscanf, vswscanf, fgetwc, fputwc, getwc, putwc, getwchar, putwchar, fgetws, fputws,
    fwide, ungetwc, ctermid,
    fopen64 => fopen,
    freopen64 => freopen,
    fseeko64 => fseeko,
    ftello64 => ftello,
    fgetpos64 => fgetpos,
    fsetpos64 => fsetpos,
    tmpfile64 => tmpfile,
    __getdelim => getdelim,
    _IO_getc => getc,
    _IO_putc => putc,
    _IO_puts => puts,
    __isoc99_scanf => scanf,
    __isoc99_fscanf => fscanf,
    __isoc99_sscanf => sscanf,
    __isoc99_vscanf => vscanf,
    __isoc99_vfscanf => vfscanf,
    __isoc99_vsscanf => vsscanf,
    __isoc99_swscanf => swscanf,
    __isoc99_vswscanf => vswscanf,
    __isoc23_scanf => scanf,
    __isoc23_fscanf => fscanf,
    __isoc23_sscanf => sscanf,
    __isoc23_vscanf => vscanf,
    __isoc23_vfscanf => vfscanf,
    __isoc23_vsscanf => vsscanf,
};
/// Stdio: variables.
static STDIO_DATA: &[Entry] = variables! {
    stdin, stdout, stderr,
};

/// Files, descriptors and memory maps (the kernel's struct layouts on x86-64).
static FILES: &[Entry] = functions! {
    read, write, pread, pwrite, readv, writev, preadv, pwritev, close, open, openat,
    creat, lseek, dup, dup2, dup3, pipe, pipe2, fcntl, ioctl, access, faccessat,
    euidaccess, eaccess, chdir, fchdir, getcwd, mkdir, mkdirat, rmdir, unlink, unlinkat,
    link, linkat, symlink, symlinkat, readlink, readlinkat, chmod, fchmod, fchmodat,
    chown, fchown, lchown, fchownat, umask, truncate, ftruncate, fsync, fdatasync, sync,
    syncfs, stat, fstat, lstat, fstatat, statx, statfs, fstatfs, statvfs, fstatvfs,
    utime, utimes, utimensat, futimens, futimes, lutimes, mknod, mknodat, mkfifo,
    isatty, ttyname, ttyname_r, mmap, munmap, mprotect, madvise, posix_madvise, mremap,
    msync, mlock, munlock, mlockall, munlockall, mincore, memfd_create, shm_open,
    shm_unlink, sendfile, splice, tee, copy_file_range, fallocate, posix_fallocate,
    posix_fadvise, readahead, opendir, fdopendir, readdir, readdir_r, closedir,
    rewinddir, seekdir, telldir, dirfd, scandir, alphasort, versionsort, glob, globfree,
    fnmatch, wordexp, wordfree, ftw, nftw, flock, lockf,
    pread64 => pread,
    pwrite64 => pwrite,
    preadv64 => preadv,
    pwritev64 => pwritev,
    open64 => open,
    openat64 => openat,
    creat64 => creat,
    lseek64 => lseek,
    fcntl64 => fcntl,
    truncate64 => truncate,
    ftruncate64 => ftruncate,
    stat64 => stat,
    fstat64 => fstat,
    lstat64 => lstat,
    fstatat64 => fstatat,
    statfs64 => statfs,
    fstatfs64 => fstatfs,
    statvfs64 => statvfs,
    fstatvfs64 => fstatvfs,
    mmap64 => mmap,
    sendfile64 => sendfile,
    fallocate64 => fallocate,
    posix_fallocate64 => posix_fallocate,
    posix_fadvise64 => posix_fadvise,
    readdir64 => readdir,
    readdir64_r => readdir_r,
    scandir64 => scandir,
    alphasort64 => alphasort,
    versionsort64 => versionsort,
    glob64 => glob,
    globfree64 => globfree,
    ftw64 => ftw,
    nftw64 => nftw,
    lockf64 => lockf,
    getrlimit64 => getrlimit,
    setrlimit64 => setrlimit,
    prlimit64 => prlimit,
    __xstat => staticdl_xstat,
    __xstat64 => staticdl_xstat,
    __fxstat => staticdl_fxstat,
    __fxstat64 => staticdl_fxstat,
    __lxstat => staticdl_lxstat,
    __lxstat64 => staticdl_lxstat,
    __fxstatat => staticdl_fxstatat,
    __fxstatat64 => staticdl_fxstatat,
    __xmknod => staticdl_xmknod,
    __xmknodat => staticdl_xmknodat,
};

/// Processes, users, limits and system information.
static PROCESSES: &[Entry] = functions! {
    getpid, getppid, gettid, getuid, geteuid, getgid, getegid, setuid, setgid, seteuid,
    setegid, setreuid, setregid, setresuid, setresgid, getresuid, getresgid, getgroups,
    setgroups, getpgid, setpgid, getpgrp, getsid, setsid, tcgetpgrp, tcsetpgrp, fork,
    vfork, execve, execv, execvp, execvpe, execl, execlp, execle, fexecve, wait,
    waitpid, waitid, wait3, wait4, kill, killpg, raise, posix_spawn, posix_spawnp,
    posix_spawn_file_actions_init, posix_spawn_file_actions_destroy,
    posix_spawn_file_actions_addopen, posix_spawn_file_actions_addclose,
    posix_spawn_file_actions_adddup2, posix_spawnattr_init, posix_spawnattr_destroy,
    posix_spawnattr_setflags, posix_spawnattr_setsigmask, posix_spawnattr_setsigdefault,
    posix_spawnattr_setpgroup, sleep, usleep, nanosleep, clock_nanosleep, alarm, pause,
    sysconf, pathconf, fpathconf, confstr, gethostname, sethostname, getdomainname,
    getpagesize, getdtablesize, chroot, daemon, getlogin, getlogin_r, getopt,
    getopt_long, getopt_long_only, syscall, getrlimit, setrlimit, prlimit, getrusage,
    getpriority, setpriority, nice, sched_yield, sched_getaffinity, sched_setaffinity,
    sched_getcpu, sched_getparam, sched_setparam, sched_getscheduler,
    sched_setscheduler, sched_get_priority_max, sched_get_priority_min,
    __sched_cpucount, uname, sysinfo, get_nprocs, get_nprocs_conf, prctl, personality,
    eventfd, eventfd_read, eventfd_write, epoll_create, epoll_create1, epoll_ctl,
    epoll_wait, epoll_pwait, poll, ppoll, select, pselect, signalfd, timerfd_create,
    timerfd_settime, timerfd_gettime, inotify_init, inotify_init1, inotify_add_watch,
    inotify_rm_watch, getpwnam, getpwuid, getpwnam_r, getpwuid_r, getgrnam, getgrgid,
    getgrnam_r, getgrgid_r, getgrouplist, initgroups, getpwent, setpwent, endpwent,
    openlog, syslog, vsyslog, closelog, setlogmask, tcgetattr, tcsetattr, cfmakeraw,
    cfgetispeed, cfgetospeed, cfsetispeed, cfsetospeed, openpty, forkpty, login_tty,
};

/// Time.
static TIME: &[Entry] = functions! {
    time, gettimeofday, settimeofday, clock_gettime, clock_getres, clock_settime, clock,
    times, localtime, localtime_r, gmtime, gmtime_r, mktime, timegm, strftime,
    strftime_l, strptime, asctime, asctime_r, ctime, ctime_r, difftime, tzset,
    clock_getcpuclockid, timer_create, timer_settime, timer_gettime, timer_delete,
    timer_getoverrun,
};
/// Time: variables.
static TIME_DATA: &[Entry] = variables! {
    tzname, timezone, daylight, __tzname, __timezone, __daylight,
};

/// Signals and non-local jumps.
static SIGNALS: &[Entry] = functions! {
    signal, sigaction, sigprocmask, pthread_sigmask, sigemptyset, sigfillset, sigaddset,
    sigdelset, sigismember, sigisemptyset, sigpending, sigsuspend, sigwait, sigwaitinfo,
    sigtimedwait, sigaltstack, sigqueue, psignal, siginterrupt, __libc_current_sigrtmin,
    __libc_current_sigrtmax, _setjmp, setjmp, __sigsetjmp, longjmp, _longjmp,
    siglongjmp,
    __longjmp_chk => staticdl_longjmp_chk,
};

/// POSIX threads (pthread types have glibc's sizes in musl on x86-64).
static THREADS: &[Entry] = functions! {
    pthread_create, pthread_join, pthread_detach, pthread_self, pthread_equal,
    pthread_exit, pthread_cancel, pthread_testcancel, pthread_setcancelstate,
    pthread_setcanceltype, pthread_kill, pthread_once, pthread_key_create,
    pthread_key_delete, pthread_getspecific, pthread_setspecific, pthread_attr_init,
    pthread_attr_destroy, pthread_attr_setstacksize, pthread_attr_getstacksize,
    pthread_attr_setdetachstate, pthread_attr_getdetachstate, pthread_attr_getstack,
    pthread_attr_setstack, pthread_attr_getguardsize, pthread_attr_setguardsize,
    pthread_attr_setschedpolicy, pthread_attr_getschedpolicy,
    pthread_attr_setschedparam, pthread_attr_getschedparam,
    pthread_attr_setinheritsched, pthread_attr_getinheritsched, pthread_attr_setscope,
    pthread_attr_getscope, pthread_getattr_np, pthread_setname_np, pthread_getname_np,
    pthread_setaffinity_np, pthread_getaffinity_np, pthread_getschedparam,
    pthread_setschedparam, pthread_setschedprio, pthread_getcpuclockid,
    pthread_tryjoin_np, pthread_timedjoin_np, pthread_mutex_init, pthread_mutex_destroy,
    pthread_mutex_lock, pthread_mutex_trylock, pthread_mutex_unlock,
    pthread_mutex_timedlock, pthread_mutex_consistent, pthread_mutexattr_init,
    pthread_mutexattr_destroy, pthread_mutexattr_settype, pthread_mutexattr_gettype,
    pthread_mutexattr_setpshared, pthread_mutexattr_getpshared,
    pthread_mutexattr_setrobust, pthread_mutexattr_getrobust,
    pthread_mutexattr_setprotocol, pthread_mutexattr_getprotocol, pthread_cond_init,
    pthread_cond_destroy, pthread_cond_wait, pthread_cond_timedwait,
    pthread_cond_signal, pthread_cond_broadcast, pthread_condattr_init,
    pthread_condattr_destroy, pthread_condattr_setclock, pthread_condattr_getclock,
    pthread_condattr_setpshared, pthread_rwlock_init, pthread_rwlock_destroy,
    pthread_rwlock_rdlock, pthread_rwlock_wrlock, pthread_rwlock_tryrdlock,
    pthread_rwlock_trywrlock, pthread_rwlock_unlock, pthread_rwlock_timedrdlock,
    pthread_rwlock_timedwrlock, pthread_rwlockattr_init, pthread_rwlockattr_destroy,
    pthread_rwlockattr_setpshared, pthread_spin_init, pthread_spin_destroy,
    pthread_spin_lock, pthread_spin_trylock, pthread_spin_unlock, pthread_barrier_init,
    pthread_barrier_destroy, pthread_barrier_wait, pthread_barrierattr_init,
    pthread_barrierattr_destroy, sem_init, sem_destroy, sem_wait, sem_trywait,
    sem_timedwait, sem_post, sem_getvalue, sem_open, sem_close, sem_unlink,
    __pthread_key_create => pthread_key_create,
};
/// POSIX threads (pthread types have glibc's sizes in musl on x86-64).
static THREADS_RUST: &[Entry] = &[
    Entry::new(
        "pthread_atfork",
        Target::Addr(super::cxa::pthread_atfork as *const ()),
    ),
    Entry::new(
        "__register_atfork",
        Target::Addr(super::cxa::register_atfork as *const ()),
    ),
];

/// Sockets and name resolution.
static SOCKETS: &[Entry] = functions! {
    socket, socketpair, bind, listen, accept, accept4, connect, send, recv, sendto,
    recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg, shutdown, getsockopt, setsockopt,
    getsockname, getpeername, getaddrinfo, freeaddrinfo, gai_strerror, getnameinfo,
    gethostbyname, gethostbyname_r, gethostbyaddr, inet_ntop, inet_pton, inet_addr,
    inet_aton, inet_ntoa, htons, htonl, ntohs, ntohl, if_nametoindex, if_indextoname,
    getifaddrs, freeifaddrs, __h_errno_location,
};

/// Locale, iconv and messages (musl's locale: C and C.UTF-8 semantics).
static LOCALE: &[Entry] = functions! {
    setlocale, localeconv, newlocale, freelocale, uselocale, duplocale, nl_langinfo,
    nl_langinfo_l, iconv_open, iconv, iconv_close, gettext, dgettext, dcgettext,
    ngettext, dngettext, dcngettext, bindtextdomain, bind_textdomain_codeset,
    textdomain, catopen, catgets, catclose,
};

/// Libm.
static LIBM: &[Entry] = functions! {
    acos, acosf, acosh, acoshf, asin, asinf, asinh, asinhf, atan, atanf, atan2, atan2f,
    atanh, atanhf, cbrt, cbrtf, ceil, ceilf, copysign, copysignf, cos, cosf, cosh,
    coshf, erf, erff, erfc, erfcf, exp, expf, exp2, exp2f, expm1, expm1f, fabs, fabsf,
    fdim, fdimf, floor, floorf, fma, fmaf, fmax, fmaxf, fmin, fminf, fmod, fmodf, frexp,
    frexpf, hypot, hypotf, ilogb, ilogbf, ldexp, ldexpf, lgamma, lgammaf, lgamma_r,
    lgammaf_r, llrint, llrintf, llround, llroundf, log, logf, log10, log10f, log1p,
    log1pf, log2, log2f, logb, logbf, lrint, lrintf, lround, lroundf, modf, modff, nan,
    nanf, nearbyint, nearbyintf, nextafter, nextafterf, nexttoward, nexttowardf, pow,
    powf, remainder, remainderf, remquo, remquof, rint, rintf, round, roundf, scalbln,
    scalblnf, scalbn, scalbnf, sin, sinf, sincos, sincosf, sinh, sinhf, sqrt, sqrtf,
    tan, tanf, tanh, tanhf, tgamma, tgammaf, trunc, truncf, j0, j1, jn, y0, y1, yn,
    exp10, exp10f, fabsl, sqrtl, floorl, ceill, fmodl, frexpl, ldexpl, expl, logl, powl,
    sinl, cosl, fegetround, fesetround, feclearexcept, feraiseexcept, fetestexcept,
    fegetenv, fesetenv, feholdexcept, feupdateenv, fegetexceptflag, fesetexceptflag,
    __fpclassify, __fpclassifyf, __signbit, __signbitf,
};
/// Libm: variables.
static LIBM_DATA: &[Entry] = variables! {
    signgam,
};

/// The unwinder (libgcc_s.so.1's interface, from the host's unwinder).
static UNWINDER: &[Entry] = functions! {
    _Unwind_Backtrace, _Unwind_DeleteException, _Unwind_FindEnclosingFunction,
    _Unwind_Find_FDE, _Unwind_ForcedUnwind, _Unwind_GetCFA, _Unwind_GetDataRelBase,
    _Unwind_GetGR, _Unwind_GetIP, _Unwind_GetIPInfo, _Unwind_GetLanguageSpecificData,
    _Unwind_GetRegionStart, _Unwind_GetTextRelBase, _Unwind_RaiseException,
    _Unwind_Resume, _Unwind_Resume_or_Rethrow, _Unwind_SetGR, _Unwind_SetIP,
    __register_frame, __deregister_frame,
};

/// Process context: variables.
static PROCESS_CONTEXT_DATA: &[Entry] = variables! {
    __environ, __progname, __progname_full, optarg, optind, opterr, optopt,
    environ => __environ,
    _environ => __environ,
    program_invocation_name => __progname_full,
    program_invocation_short_name => __progname,
};

/// Errno, assertions and fortification.
static FORTIFY: &[Entry] = functions! {
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
static CXA: &[Entry] = &[
    Entry::new(
        "__cxa_atexit",
        Target::Addr(super::cxa::cxa_atexit as *const ()),
    ),
    Entry::new(
        "__cxa_finalize",
        Target::Addr(super::cxa::cxa_finalize as *const ()),
    ),
    Entry::new(
        "__cxa_thread_atexit_impl",
        Target::Call(staticdl_loader::runtime::cxa_thread_atexit_impl_address),
    ),
];

/// The dynamic loader (answered by staticdl itself).
static LOADER: &[Entry] = &[
    Entry::new(
        "__tls_get_addr",
        Target::Call(staticdl_loader::runtime::tls_get_addr_address),
    ),
    Entry::new("dlopen", Target::Call(super::dl::dlopen_address)),
    Entry::new("dlsym", Target::Call(super::dl::dlsym_address)),
    Entry::new("dlvsym", Target::Call(super::dl::dlvsym_address)),
    Entry::new("dlclose", Target::Addr(super::dl::dlclose as *const ())),
    Entry::new("dlerror", Target::Addr(super::dl::dlerror as *const ())),
    Entry::new("dladdr", Target::Addr(super::dl::dladdr as *const ())),
    Entry::new("dladdr1", Target::Addr(super::dl::dladdr1 as *const ())),
    Entry::new(
        "dl_iterate_phdr",
        Target::Addr(super::dl::iterate_phdr_entry as *const ()),
    ),
    Entry::new(
        "_dl_find_object",
        Target::Addr(super::dl::find_object as *const ()),
    ),
];

/// Glibc identification.
static GLIBC: &[Entry] = &[
    Entry::new(
        "gnu_get_libc_version",
        Target::Addr(super::glibc::gnu_get_libc_version as *const ()),
    ),
    Entry::new(
        "gnu_get_libc_release",
        Target::Addr(super::glibc::gnu_get_libc_release as *const ()),
    ),
    Entry::new(
        "__libc_single_threaded",
        Target::Addr(&raw const super::glibc::LIBC_SINGLE_THREADED as *const ()),
    ),
    Entry::new("mallopt", Target::Addr(super::glibc::mallopt as *const ())),
    Entry::new(
        "malloc_trim",
        Target::Addr(super::glibc::malloc_trim as *const ()),
    ),
];

/// Every family, in the order above.
static FAMILIES: &[&[Entry]] = &[
    STRINGS,
    WIDE,
    CTYPE,
    STDLIB,
    STDLIB_RUST,
    STDIO,
    STDIO_DATA,
    FILES,
    PROCESSES,
    TIME,
    TIME_DATA,
    SIGNALS,
    THREADS,
    THREADS_RUST,
    SOCKETS,
    LOCALE,
    LIBM,
    LIBM_DATA,
    UNWINDER,
    PROCESS_CONTEXT_DATA,
    FORTIFY,
    CXA,
    LOADER,
    GLIBC,
];

/// Names only a musl host can answer: glibc 2.36 lacks them (a dynamic glibc
/// host answers them through its own C library, if at all).
#[cfg(target_env = "musl")]
static MUSL_ONLY: &[Entry] = functions! { strlcat, strlcpy };
#[cfg(not(target_env = "musl"))]
static MUSL_ONLY: &[Entry] = &[];

/// `(name, version)` pairs that glibc answers with a different function than
/// the default version of the name.
static VERSIONED: &[(&str, &str, Entry)] = &[
    // The old memcpy tolerated overlap; programs linked against it rely on that.
    ("memcpy", "GLIBC_2.2.5", function!(memcpy => memmove)),
];

/// `(name, version)` pairs whose ABI differs from the host function of that
/// name: compatibility versions glibc keeps for old binaries. Refused, so the
/// load fails naming them instead of calling a function with another contract.
static REFUSED: &[(&str, &str)] = &[
    // The pre-2.3.2 condition variable ABI (another struct layout).
    ("pthread_cond_broadcast", "GLIBC_2.2.5"),
    ("pthread_cond_destroy", "GLIBC_2.2.5"),
    ("pthread_cond_init", "GLIBC_2.2.5"),
    ("pthread_cond_signal", "GLIBC_2.2.5"),
    ("pthread_cond_timedwait", "GLIBC_2.2.5"),
    ("pthread_cond_wait", "GLIBC_2.2.5"),
    // The two-argument affinity calls of glibc 2.3.3.
    ("sched_getaffinity", "GLIBC_2.3.3"),
    ("sched_setaffinity", "GLIBC_2.3.3"),
    // fmemopen before 2.22 had other buffer semantics.
    ("fmemopen", "GLIBC_2.2.5"),
];

/// The table, sorted by name: built once from the families above.
fn sorted() -> &'static [(&'static str, usize)] {
    static SORTED: OnceLock<Vec<(&'static str, usize)>> = OnceLock::new();
    SORTED.get_or_init(|| {
        let mut all: Vec<(&'static str, usize)> = FAMILIES
            .iter()
            .chain(std::iter::once(&MUSL_ONLY))
            .flat_map(|family| family.iter())
            .map(|e| (e.name, resolve(e.target)))
            .collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all
    })
}

fn resolve(t: Target) -> usize {
    match t {
        Target::Addr(p) => p as usize,
        Target::Call(f) => f(),
    }
}

/// The address that answers `name` at `version` (`None` for an unversioned
/// import), or `None` if the provider does not provide it.
///
/// Versions: `GLIBC_*` and `GCC_*` (libgcc_s) versions resolve to the host's
/// function of that name, except the pairs in `VERSIONED` (answered by another
/// function) and `REFUSED` (an ABI the host does not have); `GLIBC_PRIVATE` and
/// any other version namespace are refused.
pub(crate) fn lookup(name: &[u8], version: Option<&[u8]>) -> Option<usize> {
    if let Some(v) = version {
        if v == b"GLIBC_PRIVATE" || !(v.starts_with(b"GLIBC_") || v.starts_with(b"GCC_")) {
            return None;
        }
        if REFUSED
            .iter()
            .any(|(n, rv)| n.as_bytes() == name && rv.as_bytes() == v)
        {
            return None;
        }
        if let Some((_, _, e)) = VERSIONED
            .iter()
            .find(|(n, rv, _)| n.as_bytes() == name && rv.as_bytes() == v)
        {
            return Some(resolve(e.target));
        }
    }
    let table = sorted();
    let i = table
        .binary_search_by(|(n, _)| n.as_bytes().cmp(name))
        .ok()?;
    Some(table[i].1)
}

/// Every name the table answers, sorted.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    sorted().iter().map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let names: Vec<&str> = names().collect();
        for w in names.windows(2) {
            assert_ne!(w[0], w[1], "{} is in the table twice", w[0]);
        }
        assert!(names.len() > 1000);
    }

    #[test]
    fn every_entry_has_an_address() {
        for (name, addr) in sorted() {
            assert_ne!(*addr, 0, "{name}");
        }
    }

    #[test]
    fn versions_follow_the_policy() {
        let memcpy = lookup(b"memcpy", None).unwrap();
        let memmove = lookup(b"memmove", None).unwrap();
        assert_eq!(lookup(b"memcpy", Some(b"GLIBC_2.14")), Some(memcpy));
        assert_eq!(lookup(b"memcpy", Some(b"GLIBC_2.2.5")), Some(memmove));
        assert_eq!(lookup(b"pthread_cond_wait", Some(b"GLIBC_2.2.5")), None);
        assert!(lookup(b"pthread_cond_wait", Some(b"GLIBC_2.3.2")).is_some());
        assert!(lookup(b"_Unwind_Resume", Some(b"GCC_3.0")).is_some());
        assert_eq!(lookup(b"malloc", Some(b"GLIBC_PRIVATE")), None);
        assert_eq!(lookup(b"malloc", Some(b"OTHERLIB_1.0")), None);
        assert_eq!(lookup(b"no_such_function", None), None);
        assert_eq!(lookup(b"_ITM_registerTMCloneTable", None), None);
        assert_eq!(lookup(b"__gmon_start__", None), None);
    }

    #[test]
    fn lfs_names_answer_with_the_plain_functions() {
        for (lfs, plain) in [
            ("open64", "open"),
            ("fstat64", "fstat"),
            ("lseek64", "lseek"),
            ("mmap64", "mmap"),
            ("stat64", "stat"),
        ] {
            assert_eq!(
                lookup(lfs.as_bytes(), Some(b"GLIBC_2.2.5")),
                lookup(plain.as_bytes(), None),
                "{lfs}"
            );
        }
    }
}
