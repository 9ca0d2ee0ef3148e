//! Table families of the C library proper: memory and strings, wide characters,
//! ctype, stdlib, stdio, locale and messages, and the process-context variables.
//!
//! Owns only which host symbol answers each glibc name; `mod.rs` owns the lookup
//! and the version policy, the shims live in `c/`.

use super::{Entry, Target};

/// Memory and strings.
pub(super) static STRINGS: &[Entry] = functions! {
    memchr, memcmp, memcpy, memmove, memset, memrchr, memmem, mempcpy, memccpy, bcmp,
    bcopy, bzero, explicit_bzero, strlen, strnlen, strcmp, strncmp, strcasecmp,
    strncasecmp, strcpy, strncpy, stpcpy, stpncpy, strcat,
    strncat, strchr, strrchr, strchrnul, strstr, strcasestr, strspn, strcspn, strpbrk,
    strtok, strtok_r, strsep, strdup, strndup, strerror, strsignal, strcoll,
    strxfrm, index, rindex, ffs, ffsl, ffsll, swab, strverscmp,
    dirname, __xpg_strerror_r, __xpg_basename,
    strfmon,
    __strdup => strdup,
    __stpncpy => stpncpy,
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
pub(super) static WIDE: &[Entry] = functions! {
    wmemcpy, wmemmove, wmemset, wmemcmp, wmemchr, wcslen, wcsnlen, wcscmp, wcsncmp,
    wcscpy, wcsncpy, wcscat, wcsncat, wcschr, wcsrchr, wcsstr, wcsdup, wcscoll, wcsxfrm,
    wcstol, wcstoul, wcstoll, wcstoull, wcstod, wcstof, wcstold, wcsspn, wcscspn,
    wcspbrk, wcstok, wcscasecmp, wcsncasecmp, mbrtowc, wcrtomb, mbstowcs, wcstombs,
    mbtowc, wctomb, mblen, mbrlen, mbsrtowcs, wcsrtombs, mbsnrtowcs, wcsnrtombs,
    mbsinit, btowc, wctob, wcwidth, wcswidth, towlower, towupper, iswalpha, iswdigit,
    iswspace, iswupper, iswlower, iswalnum, iswprint, iswpunct, iswcntrl, iswxdigit,
    iswgraph, iswblank, wctype, iswctype, wctrans, towctrans, wcsftime,
    c16rtomb, c32rtomb, mbrtoc16, mbrtoc32, wcstoimax, wcstoumax, wcpcpy, wcpncpy, wcswcs,
    __mbrlen => mbrlen,
};

/// Ctype (the host's class table has glibc's layout; the case tables are
/// glibc's, from `c/ctype.c`).
pub(super) static CTYPE: &[Entry] = functions! {
    isalpha, isdigit, isalnum, isspace, isupper, islower, isprint, ispunct, iscntrl,
    isxdigit, isgraph, isblank, isascii, toascii, toupper, tolower, __ctype_b_loc,
    __ctype_get_mb_cur_max,
    __ctype_tolower_loc => staticdl_ctype_tolower_loc,
    __ctype_toupper_loc => staticdl_ctype_toupper_loc,
};

/// Stdlib.
pub(super) static STDLIB: &[Entry] = functions! {
    malloc, calloc, realloc, free, reallocarray, posix_memalign, aligned_alloc,
    memalign, valloc, malloc_usable_size, abort, exit, _exit, _Exit, quick_exit, getenv,
    secure_getenv, setenv, unsetenv, putenv, clearenv, atoi, atol, atoll, atof, strtol,
    strtoul, strtoll, strtoull, strtod, strtof, strtold, strtoimax, strtoumax, qsort,
    qsort_r, bsearch, abs, labs, llabs, div, ldiv, lldiv, imaxabs, imaxdiv, rand, srand,
    rand_r, random, srandom, initstate, setstate, drand48, erand48, lrand48, nrand48,
    mrand48, jrand48, srand48, seed48, lcong48, mkstemp, mkostemp, mkstemps, mkostemps,
    mkdtemp, mktemp, realpath, system, getauxval, getrandom, getentropy, ecvt, fcvt,
    gcvt, l64a, a64l, getsubopt, posix_openpt, grantpt, unlockpt, ptsname, ptsname_r,
    getloadavg, lsearch, lfind, tsearch, tfind, tdelete, twalk, tdestroy, hcreate,
    hdestroy, hsearch, hcreate_r, hdestroy_r, hsearch_r, insque, remque, getdate, err,
    errx, warn, warnx, verr, verrx, vwarn, vwarnx, fmtmsg, getpass, cuserid,
    __libc_malloc => malloc,
    __libc_calloc => calloc,
    __libc_realloc => realloc,
    __libc_free => free,
    __getauxval => getauxval,
    __posix_getopt => getopt,
    mkstemp64 => mkstemp,
    mkostemp64 => mkostemp,
    mkstemps64 => mkstemps,
    mkostemps64 => mkostemps,
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
pub(super) static STDLIB_RUST: &[Entry] = &[Entry::new(
    "atexit",
    Target::Addr(crate::cxa::atexit as *const ()),
)];

/// Stdio (FILE is opaque: the host's FILE, the host's functions).
pub(super) static STDIO: &[Entry] = functions! {
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
    __fwriting, __fpurge, __flbf, __fbufsize, __freadable, __fwritable,
    _flushlbf, fwprintf, swprintf, vswprintf, wprintf, vfwprintf, vwprintf, fwscanf,
    swscanf, vswscanf, fgetwc, fputwc, getwc, putwc, getwchar, putwchar, fgetws, fputws,
    fwide, ungetwc, ctermid, fgetwc_unlocked, fgetws_unlocked, fputwc_unlocked,
    fputws_unlocked, getwc_unlocked, getwchar_unlocked, putwc_unlocked,
    putwchar_unlocked, getw, putw, gets, wscanf, vwscanf, vfwscanf,
    // glibc's inlined getc/putc macros call these when the buffer runs out:
    // musl's FILE has the read pointers where glibc's macros read them
    // (offsets 8 and 16) and a write limit that is always zero at offset 48,
    // so every inlined putc calls __overflow (see the README).
    __uflow, __overflow,
    __isoc99_wscanf => wscanf,
    __isoc99_vwscanf => vwscanf,
    __isoc99_fwscanf => fwscanf,
    __isoc99_vfwscanf => vfwscanf,
    fopen64 => fopen,
    freopen64 => freopen,
    fseeko64 => fseeko,
    ftello64 => ftello,
    fgetpos64 => fgetpos,
    fsetpos64 => fsetpos,
    tmpfile64 => tmpfile,
    __getdelim => getdelim,
    __fsetlocking => staticdl_fsetlocking,
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
pub(super) static STDIO_DATA: &[Entry] = variables! {
    stdin, stdout, stderr,
};

/// Locale, iconv and messages (musl's locale: C and C.UTF-8 semantics).
pub(super) static LOCALE: &[Entry] = functions! {
    setlocale, localeconv,
    iconv_open => staticdl_iconv_open, iconv, iconv_close, gettext, dgettext, dcgettext,
    ngettext, dngettext, dcngettext, bindtextdomain, bind_textdomain_codeset,
    textdomain, catopen, catgets, catclose,
};

/// Process context: variables.
pub(super) static PROCESS_CONTEXT_DATA: &[Entry] = variables! {
    __environ, __progname, __progname_full, optarg, optind, opterr, optopt,
    environ => __environ,
    _environ => __environ,
    program_invocation_name => __progname_full,
    program_invocation_short_name => __progname,
};
