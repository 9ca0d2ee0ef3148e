/*
 * compat.c - C library functions the archive refers to that older musl
 * releases lack, defined weakly over the raw system calls.
 *
 * The provider's table (staticdl-libc) answers glibc's `statx`, `preadv2` and
 * `pwritev2` with the host's own functions. The Rust toolchain's musl (1.2.5)
 * has them; Debian 12's musl (1.2.3, what musl-gcc links) does not, and a C
 * host built with it would fail to link. These weak definitions are taken only
 * when nothing else defines the names; they do what musl 1.2.5's do (one system
 * call, errno set on failure), without its cancellation point.
 *
 * Does not own any other C library name.
 */

#include <errno.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

struct statx;

__attribute__((weak)) int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *buf)
{
    return (int)syscall(SYS_statx, dirfd, path, flags, mask, buf);
}

__attribute__((weak)) ssize_t preadv2(int fd, const struct iovec *iov, int count, off_t offset, int flags)
{
    return syscall(SYS_preadv2, fd, iov, count, (long)offset, (long)(offset >> 32), flags);
}

__attribute__((weak)) ssize_t pwritev2(int fd, const struct iovec *iov, int count, off_t offset, int flags)
{
    return syscall(SYS_pwritev2, fd, iov, count, (long)offset, (long)(offset >> 32), flags);
}
