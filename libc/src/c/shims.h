/*
 * Declarations shared by the provider's C shims: the few host C library
 * functions and types they use, written out so that no C library header is
 * included (the files build the same with musl-gcc or a glibc gcc; every
 * declaration here has the same ABI in both C libraries on x86-64).
 *
 * Owns only declarations; each .c file beside it owns one family of shims.
 * Every function the shims define is named `staticdl_*`: none takes a C
 * library name, so linking them never changes what the host's own calls reach.
 */
#ifndef STATICDL_SHIMS_H
#define STATICDL_SHIMS_H

#include <stdarg.h>
#include <stddef.h>

typedef long ssize_t_;
typedef int wchar_t_;

/* The host C library's functions these shims forward to. */
extern int vsnprintf(char *, size_t, const char *, va_list);
extern int vsprintf(char *, const char *, va_list);
extern int vfprintf(void *, const char *, va_list);
extern int vdprintf(int, const char *, va_list);
extern int vasprintf(char **, const char *, va_list);
extern int vswprintf(wchar_t_ *, size_t, const wchar_t_ *, va_list);
extern void vsyslog(int, const char *, va_list);
extern void *memcpy(void *, const void *, size_t);
extern void *memmove(void *, const void *, size_t);
extern void *memset(void *, int, size_t);
extern size_t strlen(const char *);
extern size_t strnlen(const char *, size_t);
extern char *strrchr(const char *, int);
extern char *strerror(int);
extern void explicit_bzero(void *, size_t);
extern size_t fread(void *, size_t, size_t, void *);
extern size_t fread_unlocked(void *, size_t, size_t, void *);
extern char *fgets(char *, int, void *);
extern ssize_t_ read(int, void *, size_t);
extern ssize_t_ pread(int, void *, size_t, long);
extern ssize_t_ readlink(const char *, char *, size_t);
extern ssize_t_ readlinkat(int, const char *, char *, size_t);
extern char *getcwd(char *, size_t);
extern char *realpath(const char *, char *);
extern int open(const char *, int, ...);
extern int openat(int, const char *, int, ...);
extern int poll(void *, unsigned long, int);
extern ssize_t_ recv(int, void *, size_t, int);
extern ssize_t_ recvfrom(int, void *, size_t, int, void *, void *);
extern int getgroups(int, unsigned *);
extern int gethostname(char *, size_t);
extern int ttyname_r(int, char *, size_t);
extern int getlogin_r(char *, size_t);
extern size_t confstr(int, char *, size_t);
extern wchar_t_ *wmemcpy(wchar_t_ *, const wchar_t_ *, size_t);
extern wchar_t_ *wmemmove(wchar_t_ *, const wchar_t_ *, size_t);
extern wchar_t_ *wmemset(wchar_t_ *, wchar_t_, size_t);
extern size_t wcslen(const wchar_t_ *);
extern ssize_t_ write(int, const void *, size_t);
extern void abort(void) __attribute__((noreturn));
extern int *__errno_location(void);
extern ssize_t_ getrandom(void *, size_t, unsigned);
extern int stat(const char *, void *);
extern int fstat(int, void *);
extern int lstat(const char *, void *);
extern int fstatat(int, const char *, void *, int);
extern int mknod(const char *, unsigned, unsigned long);
extern int mknodat(int, const char *, unsigned, unsigned long);

struct stack_t_ {
    void *ss_sp;
    int ss_flags;
    size_t ss_size;
};
extern int sigaltstack(const struct stack_t_ *, struct stack_t_ *);
extern void longjmp(void *, int) __attribute__((noreturn));

#define EINVAL_ 22
#define O_CREAT_ 0100
#define O_TMPFILE_ 020000000
#define SS_ONSTACK_ 1
#define FD_SETSIZE_ 1024
#define PATH_MAX_ 4096

__attribute__((noreturn)) void staticdl_fortify_fail(const char *msg);
__attribute__((noreturn)) void staticdl_chk_fail(void);

#endif
