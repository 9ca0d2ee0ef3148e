//! Table families of the system interface: files and descriptors, processes and
//! users, time, signals, threads, sockets and the resolver.
//!
//! Owns only which host symbol answers each glibc name; `mod.rs` owns the lookup
//! and the version policy.

use super::{Entry, Target};

/// Files, descriptors and memory maps (the kernel's struct layouts on x86-64).
pub(super) static FILES: &[Entry] = functions! {
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
    fnmatch, wordexp, wordfree, ftw, nftw, flock, lockf, getxattr, lgetxattr, fgetxattr,
    setxattr, lsetxattr, fsetxattr, listxattr, llistxattr, flistxattr, removexattr,
    lremovexattr, fremovexattr, futimesat, lchmod, mkfifoat, name_to_handle_at,
    open_by_handle_at, preadv2, pwritev2, sync_file_range, vmsplice, remap_file_pages,
    mlock2, setmntent, getmntent, getmntent_r, endmntent, hasmntopt, addmntent, mount,
    umount, umount2, swapon, swapoff, pivot_root, get_current_dir_name, aio_read,
    aio_write, aio_error, aio_return, aio_cancel, aio_fsync, aio_suspend, lio_listio,
    fanotify_init, fanotify_mark,
    __lseek => lseek,
    preadv64v2 => preadv2,
    pwritev64v2 => pwritev2,
    aio_read64 => aio_read,
    aio_write64 => aio_write,
    aio_error64 => aio_error,
    aio_return64 => aio_return,
    aio_cancel64 => aio_cancel,
    aio_fsync64 => aio_fsync,
    aio_suspend64 => aio_suspend,
    lio_listio64 => lio_listio,
    close_range => staticdl_close_range,
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
pub(super) static PROCESSES: &[Entry] = functions! {
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
    _Fork, clone, acct, arch_prctl, brk, sbrk, capget, capset, delete_module,
    init_module, ioperm, iopl, klogctl, ptrace, quotactl, reboot, setdomainname,
    setfsgid, setfsuid, setns, unshare, setpgrp, vhangup, process_vm_readv,
    process_vm_writev, ulimit, get_avphys_pages, get_phys_pages, getitimer, setitimer,
    sched_rr_get_interval, posix_spawnattr_getflags, posix_spawnattr_getpgroup,
    posix_spawnattr_getschedparam, posix_spawnattr_getschedpolicy,
    posix_spawnattr_getsigdefault, posix_spawnattr_getsigmask,
    posix_spawnattr_setschedparam, posix_spawnattr_setschedpolicy,
    posix_spawn_file_actions_addchdir_np, posix_spawn_file_actions_addfchdir_np,
    getgrent, setgrent, endgrent, fgetgrent, fgetpwent, putgrent, putpwent, getspnam,
    getspnam_r, fgetspent, putspent, getusershell, setusershell, endusershell, tcdrain,
    tcflow, tcflush, tcgetsid, tcsendbreak, cfsetspeed, shmget, shmat, shmdt, shmctl,
    semget, semop, semctl, semtimedop, msgget, msgsnd, msgrcv, msgctl, ftok, mq_open,
    mq_close, mq_unlink, mq_send, mq_receive, mq_timedsend, mq_timedreceive,
    mq_getattr, mq_setattr, mq_notify, clock_adjtime, adjtime, adjtimex,
    __clone => clone,
    __wait => wait,
    __sysconf => sysconf,
    __sched_cpualloc => staticdl_sched_cpualloc,
    __sched_cpufree => staticdl_sched_cpufree,
};

/// Time.
pub(super) static TIME: &[Entry] = functions! {
    time, gettimeofday, settimeofday, clock_gettime, clock_getres, clock_settime, clock,
    times, localtime, localtime_r, gmtime, gmtime_r, mktime, timegm, strftime,
    strptime, timespec_get, ualarm, ftime,
    __gmtime_r => gmtime_r,
    strptime_l => strptime,
    asctime, asctime_r, ctime, ctime_r, difftime, tzset,
    clock_getcpuclockid, timer_create, timer_settime, timer_gettime, timer_delete,
    timer_getoverrun,
};

/// Time: variables.
pub(super) static TIME_DATA: &[Entry] = variables! {
    tzname, timezone, daylight, __tzname, __timezone, __daylight,
};

/// Signals and non-local jumps.
pub(super) static SIGNALS: &[Entry] = functions! {
    signal, sigaction, sigprocmask, pthread_sigmask, sigemptyset, sigfillset, sigaddset,
    sigdelset, sigismember, sigisemptyset, sigpending, sigsuspend, sigwait, sigwaitinfo,
    sigtimedwait, sigaltstack, sigqueue, psignal, siginterrupt, __libc_current_sigrtmin,
    __libc_current_sigrtmax, _setjmp, setjmp, __sigsetjmp, longjmp, _longjmp,
    siglongjmp, __sysv_signal, bsd_signal, sighold, sigrelse, sigignore, sigset,
    sigandset, sigorset, psiginfo,
    __sigaction => sigaction,
    __xpg_sigpause => sigpause,
    sigpause => staticdl_bsd_sigpause,
    __longjmp_chk => staticdl_longjmp_chk,
};

/// POSIX threads (pthread types have glibc's sizes in musl on x86-64).
pub(super) static THREADS: &[Entry] = functions! {
    pthread_join, pthread_detach, pthread_self, pthread_equal,
    pthread_exit, pthread_cancel, pthread_testcancel, pthread_setcancelstate,
    pthread_setcanceltype, pthread_kill, pthread_once, pthread_key_create,
    pthread_key_delete, pthread_getspecific, pthread_setspecific, pthread_attr_setstacksize, pthread_attr_getstacksize,
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
    _pthread_cleanup_push, _pthread_cleanup_pop, pthread_barrierattr_getpshared,
    pthread_barrierattr_setpshared, pthread_condattr_getpshared,
    pthread_rwlockattr_getpshared, pthread_getattr_default_np,
    pthread_setattr_default_np, pthread_mutex_getprioceiling,
    pthread_mutex_setprioceiling, thrd_create, thrd_current, thrd_detach, thrd_equal,
    thrd_exit, thrd_join, thrd_sleep, thrd_yield, mtx_init, mtx_destroy, mtx_lock,
    mtx_timedlock, mtx_trylock, mtx_unlock, cnd_init, cnd_destroy, cnd_signal,
    cnd_broadcast, cnd_wait, cnd_timedwait, tss_create, tss_delete, tss_get, tss_set,
    call_once,
    __pthread_key_create => pthread_key_create,
    __pthread_mutex_lock => pthread_mutex_lock,
    __pthread_mutex_trylock => pthread_mutex_trylock,
    __pthread_mutex_unlock => pthread_mutex_unlock,
    __pthread_once => pthread_once,
    __pthread_rwlock_rdlock => pthread_rwlock_rdlock,
    __pthread_rwlock_tryrdlock => pthread_rwlock_tryrdlock,
    __pthread_rwlock_trywrlock => pthread_rwlock_trywrlock,
    __pthread_rwlock_unlock => pthread_rwlock_unlock,
    __pthread_rwlock_wrlock => pthread_rwlock_wrlock,
    pthread_setconcurrency => staticdl_pthread_setconcurrency,
    pthread_getconcurrency => staticdl_pthread_getconcurrency,
    pthread_rwlockattr_setkind_np => staticdl_rwlockattr_setkind_np,
    pthread_rwlockattr_getkind_np => staticdl_rwlockattr_getkind_np,
};

/// POSIX threads (pthread types have glibc's sizes in musl on x86-64).
pub(super) static THREADS_RUST: &[Entry] = &[
    Entry::new(
        "pthread_atfork",
        Target::Addr(crate::cxa::pthread_atfork as *const ()),
    ),
    Entry::new(
        "__register_atfork",
        Target::Addr(crate::cxa::register_atfork as *const ()),
    ),
];

/// Sockets and name resolution.
pub(super) static SOCKETS: &[Entry] = functions! {
    socket, socketpair, bind, listen, accept, accept4, connect, send, recv, sendto,
    recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg, shutdown, getsockopt, setsockopt,
    getsockname, getpeername, getaddrinfo, freeaddrinfo, gai_strerror, getnameinfo,
    gethostbyname, gethostbyname_r, gethostbyaddr, inet_ntop, inet_pton, inet_addr,
    inet_aton, inet_ntoa, htons, htonl, ntohs, ntohl, if_nametoindex, if_indextoname,
    getifaddrs, freeifaddrs, __h_errno_location, gethostbyaddr_r, gethostbyname2,
    gethostbyname2_r, getservbyname, getservbyname_r, getservbyport, getservbyport_r,
    getprotobyname, getprotobynumber, getprotoent, setprotoent, endprotoent, herror,
    // The host's lookups open and close their files per call, so these have
    // nothing to keep open or to close.
    sethostent, endhostent, setservent, endservent,
    hstrerror, if_nameindex, if_freenameindex, inet_lnaof, inet_makeaddr, inet_netof,
    inet_network, sockatmark, ether_aton, ether_aton_r, ether_ntoa, ether_ntoa_r,
    getprotobyname_r => staticdl_getprotobyname_r,
    getprotobynumber_r => staticdl_getprotobynumber_r,
};
/// Sockets: variables.
pub(super) static SOCKETS_DATA: &[Entry] = variables! {
    in6addr_any, in6addr_loopback,
};

/// The resolver (`libresolv.so.2`, and `libc.so.6` since glibc 2.34): musl has
/// it in its libc. glibc's headers rename `res_query` and friends to `__res_*`,
/// the names older objects import.
pub(super) static RESOLVER: &[Entry] = functions! {
    res_query, res_search, res_querydomain, res_mkquery, res_send, dn_comp, dn_expand,
    dn_skipname, ns_name_uncompress, __res_state,
    __res_query => res_query,
    __res_search => res_search,
    __res_querydomain => res_querydomain,
    __res_mkquery => res_mkquery,
    __res_send => res_send,
    __dn_comp => dn_comp,
    __dn_expand => dn_expand,
    __dn_skipname => dn_skipname,
};

/// The resolver names only glibc's `libresolv.so.2` defines: a musl host has
/// them in its libc; a glibc host answers them from its own libresolv, when
/// loaded, through the provider's fallback.
#[cfg(target_env = "musl")]
pub(super) static RESOLVER_LIBRESOLV: &[Entry] = functions! {
    ns_get16, ns_get32, ns_put16, ns_put32, ns_initparse, ns_parserr, ns_skiprr,
    __res_init => res_init,
};
#[cfg(not(target_env = "musl"))]
pub(super) static RESOLVER_LIBRESOLV: &[Entry] = &[];

/// Names glibc 2.36 keeps only as compatibility versions (so a glibc host
/// cannot link them; it answers them through the provider's fallback to its
/// own glibc), answered in a musl host by the host's functions of the same
/// ABI.
#[cfg(target_env = "musl")]
pub(super) static COMPAT_ONLY: &[Entry] = functions! {
    isastream, stime,
    pow10 => exp10,
    pow10f => exp10f,
    pow10l => exp10l,
};
#[cfg(not(target_env = "musl"))]
pub(super) static COMPAT_ONLY: &[Entry] = &[];
