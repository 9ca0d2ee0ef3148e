/*
 * glibc's <fts.h> file-hierarchy walk, which the host's C library lacks
 * (libselinux walks trees with it), over glibc's x86-64 FTS and FTSENT
 * layouts: fts_open, fts_read, fts_children, fts_set, fts_close, and their
 * fts64_* names (the same structures on x86-64).
 *
 * The walk follows glibc's order and fts_info values: each root, then each
 * directory in preorder (FTS_D), its entries (sorted by the caller's compar,
 * if any, else in directory order), the directory again in postorder
 * (FTS_DP); FTS_F, FTS_SL, FTS_SLNONE, FTS_DEFAULT, FTS_NS, FTS_NSOK, FTS_DNR,
 * FTS_DC (a directory that is its own ancestor), FTS_DOT (with FTS_SEEDOT);
 * FTS_SKIP, FTS_AGAIN and FTS_FOLLOW from fts_set; FTS_XDEV; FTS_COMFOLLOW and
 * FTS_LOGICAL. It never changes the working directory, as glibc does under
 * FTS_NOCHDIR: fts_accpath is always the whole path (valid from the caller's
 * unchanged working directory), and each entry keeps its own fts_path,
 * valid until the entry is freed.
 *
 * Owns these functions only.
 */

#include "shims.h"

struct stat_ {
    unsigned long st_dev, st_ino, st_nlink;
    unsigned st_mode, st_uid, st_gid;
    int pad0;
    unsigned long st_rdev;
    long st_size, st_blksize, st_blocks;
    long times[6];
    long unused[3];
};
_Static_assert(sizeof(struct stat_) == 144, "x86-64 struct stat");

typedef struct ftsent {
    struct ftsent *fts_cycle;
    struct ftsent *fts_parent;
    struct ftsent *fts_link;
    long fts_number;
    void *fts_pointer;
    char *fts_accpath;
    char *fts_path;
    int fts_errno;
    int fts_symfd;
    unsigned short fts_pathlen;
    unsigned short fts_namelen;
    unsigned long fts_ino;
    unsigned long fts_dev;
    unsigned long fts_nlink;
    short fts_level;
    unsigned short fts_info;
    unsigned short fts_flags;
    unsigned short fts_instr;
    struct stat_ *fts_statp;
    char fts_name[1];
} FTSENT;
_Static_assert(__builtin_offsetof(FTSENT, fts_ino) == 72, "glibc ABI");
_Static_assert(__builtin_offsetof(FTSENT, fts_level) == 96, "glibc ABI");
_Static_assert(__builtin_offsetof(FTSENT, fts_statp) == 104, "glibc ABI");
_Static_assert(__builtin_offsetof(FTSENT, fts_name) == 112, "glibc ABI");

typedef int (*compar_fn)(const FTSENT **, const FTSENT **);

typedef struct {
    FTSENT *fts_cur;
    FTSENT *fts_child;
    FTSENT **fts_array;
    unsigned long fts_dev;
    char *fts_path;
    int fts_rfd;
    int fts_pathlen;
    int fts_nitems;
    compar_fn fts_compar;
    int fts_options;
} FTS;
_Static_assert(sizeof(FTS) == 72, "glibc ABI");

#define FTS_COMFOLLOW 0x0001
#define FTS_LOGICAL 0x0002
#define FTS_NOCHDIR 0x0004
#define FTS_NOSTAT 0x0008
#define FTS_PHYSICAL 0x0010
#define FTS_SEEDOT 0x0020
#define FTS_XDEV 0x0040
#define FTS_OPTIONMASK 0x00ff
#define FTS_NAMEONLY 0x0100
#define FTS_STOP 0x0200

#define FTS_ROOTPARENTLEVEL (-1)
#define FTS_ROOTLEVEL 0

#define FTS_D 1
#define FTS_DC 2
#define FTS_DEFAULT 3
#define FTS_DNR 4
#define FTS_DOT 5
#define FTS_DP 6
#define FTS_ERR 7
#define FTS_F 8
#define FTS_INIT 9
#define FTS_NS 10
#define FTS_NSOK 11
#define FTS_SL 12
#define FTS_SLNONE 13

#define FTS_AGAIN 1
#define FTS_FOLLOW 2
#define FTS_NOINSTR 3
#define FTS_SKIP 4

#define S_IFMT_ 0170000
#define S_IFDIR_ 0040000
#define S_IFLNK_ 0120000
#define S_IFREG_ 0100000
#define ENOENT_ 2
#define ENOMEM_ 12
#define DT_DIR_ 4
#define DT_UNKNOWN_ 0
#define DT_LNK_ 10

struct dirent_ {
    unsigned long d_ino;
    long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[256];
};
extern void *opendir(const char *);
extern struct dirent_ *readdir(void *);
extern int closedir(void *);
extern void *malloc(size_t);
extern void *realloc(void *, size_t);
extern void free(void *);
extern void qsort(void *, size_t, size_t, int (*)(const void *, const void *));

#define ISSET(sp, opt) ((sp)->fts_options & (opt))

/* An entry named `name` under the directory path `dir` (null for a root,
 * whose path is the name itself), with room for its stat buffer. */
static FTSENT *make_entry(FTS *sp, const char *dir, const char *name, size_t namelen)
{
    size_t dirlen = dir ? strlen(dir) : 0;
    int slash = dir && dirlen > 0 && dir[dirlen - 1] != '/';
    size_t pathlen = dirlen + (size_t)slash + namelen;
    if (namelen > 0xffff || pathlen > 0xffff) {
        *__errno_location() = 36; /* ENAMETOOLONG */
        return 0;
    }
    size_t head = __builtin_offsetof(FTSENT, fts_name) + namelen + 1;
    size_t statoff = (head + pathlen + 1 + 15) & ~(size_t)15;
    size_t size = ISSET(sp, FTS_NOSTAT) ? head + pathlen + 1 : statoff + sizeof(struct stat_);
    FTSENT *p = malloc(size);
    if (!p)
        return 0;
    memset(p, 0, __builtin_offsetof(FTSENT, fts_name));
    memcpy(p->fts_name, name, namelen);
    p->fts_name[namelen] = 0;
    char *path = p->fts_name + namelen + 1;
    if (dir) {
        memcpy(path, dir, dirlen);
        if (slash)
            path[dirlen] = '/';
    }
    memcpy(path + dirlen + (size_t)slash, name, namelen);
    path[pathlen] = 0;
    p->fts_path = p->fts_accpath = path;
    p->fts_pathlen = (unsigned short)pathlen;
    p->fts_namelen = (unsigned short)namelen;
    p->fts_instr = FTS_NOINSTR;
    p->fts_symfd = -1;
    p->fts_statp = ISSET(sp, FTS_NOSTAT) ? 0 : (struct stat_ *)((char *)p + statoff);
    return p;
}

static int is_dot(const char *name)
{
    return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/* fts_info for `p`, from stat (following links when `follow`) or lstat. */
static unsigned short stat_entry(FTS *sp, FTSENT *p, int follow)
{
    struct stat_ sb, *st = p->fts_statp ? p->fts_statp : &sb;
    p->fts_errno = 0;
    if (ISSET(sp, FTS_LOGICAL) || follow) {
        if (stat(p->fts_accpath, st) != 0) {
            int err = *__errno_location();
            if (err == ENOENT_ && lstat(p->fts_accpath, st) == 0) {
                *__errno_location() = 0;
                return FTS_SLNONE;
            }
            p->fts_errno = err;
            memset(st, 0, sizeof *st);
            return FTS_NS;
        }
    } else if (lstat(p->fts_accpath, st) != 0) {
        p->fts_errno = *__errno_location();
        memset(st, 0, sizeof *st);
        return FTS_NS;
    }
    p->fts_dev = st->st_dev;
    p->fts_ino = st->st_ino;
    p->fts_nlink = st->st_nlink;
    switch (st->st_mode & S_IFMT_) {
    case S_IFDIR_:
        if (is_dot(p->fts_name))
            return p->fts_level == FTS_ROOTLEVEL ? FTS_D : FTS_DOT;
        for (FTSENT *a = p->fts_parent; a && a->fts_level >= FTS_ROOTLEVEL; a = a->fts_parent)
            if (a->fts_ino == p->fts_ino && a->fts_dev == p->fts_dev) {
                p->fts_cycle = a;
                return FTS_DC;
            }
        return FTS_D;
    case S_IFLNK_:
        return FTS_SL;
    case S_IFREG_:
        return FTS_F;
    }
    return FTS_DEFAULT;
}

static compar_fn sort_compar;

static int sort_thunk(const void *a, const void *b)
{
    return sort_compar((const FTSENT **)a, (const FTSENT **)b);
}

/* Sorts the list `head` of `n` entries with the caller's compar. The qsort
 * callback reaches compar through a static, under a lock. */
static int sort_lock;
static FTSENT *sort_list(FTS *sp, FTSENT *head, size_t n)
{
    if (!sp->fts_compar || n < 2)
        return head;
    if (n > (size_t)sp->fts_nitems) {
        FTSENT **a = realloc(sp->fts_array, n * sizeof *a);
        if (!a)
            return head; /* unsorted, as glibc leaves it on failure */
        sp->fts_array = a;
        sp->fts_nitems = (int)n;
    }
    size_t i = 0;
    for (FTSENT *p = head; p; p = p->fts_link)
        sp->fts_array[i++] = p;
    while (__atomic_exchange_n(&sort_lock, 1, __ATOMIC_ACQUIRE))
        __builtin_ia32_pause();
    sort_compar = sp->fts_compar;
    qsort(sp->fts_array, n, sizeof *sp->fts_array, sort_thunk);
    __atomic_store_n(&sort_lock, 0, __ATOMIC_RELEASE);
    for (i = 0; i + 1 < n; i++)
        sp->fts_array[i]->fts_link = sp->fts_array[i + 1];
    sp->fts_array[n - 1]->fts_link = 0;
    return sp->fts_array[0];
}

static void free_list(FTSENT *p)
{
    while (p) {
        FTSENT *next = p->fts_link;
        free(p);
        p = next;
    }
}

/* The entries of directory `cur`, or null (with cur's fts_info set to
 * FTS_DNR if it cannot be read, FTS_DP if it is empty and `reading`). */
static FTSENT *read_dir(FTS *sp, FTSENT *cur, int reading, int nameonly)
{
    void *d = opendir(cur->fts_accpath);
    if (!d) {
        if (reading) {
            cur->fts_info = FTS_DNR;
            cur->fts_errno = *__errno_location();
        }
        return 0;
    }
    FTSENT *head = 0, *tail = 0;
    size_t n = 0;
    struct dirent_ *e;
    while ((e = readdir(d))) {
        if (!ISSET(sp, FTS_SEEDOT) && is_dot(e->d_name))
            continue;
        FTSENT *p = make_entry(sp, cur->fts_path, e->d_name, strlen(e->d_name));
        if (!p) {
            free_list(head);
            closedir(d);
            cur->fts_info = FTS_ERR;
            sp->fts_options |= FTS_STOP;
            return 0;
        }
        p->fts_level = (short)(cur->fts_level + 1);
        p->fts_parent = cur;
        if (nameonly)
            p->fts_info = FTS_NSOK;
        else if (ISSET(sp, FTS_NOSTAT) && e->d_type != DT_DIR_ && e->d_type != DT_UNKNOWN_ &&
                 !(e->d_type == DT_LNK_ && ISSET(sp, FTS_LOGICAL)))
            p->fts_info = FTS_NSOK;
        else
            p->fts_info = stat_entry(sp, p, 0);
        if (tail)
            tail->fts_link = p;
        else
            head = p;
        tail = p;
        n++;
    }
    closedir(d);
    if (n == 0) {
        if (reading)
            cur->fts_info = FTS_DP;
        *__errno_location() = 0;
        return 0;
    }
    return sort_list(sp, head, n);
}

FTS *staticdl_fts_open(char *const *argv, int options, compar_fn compar)
{
    if (options & ~FTS_OPTIONMASK) {
        *__errno_location() = EINVAL_;
        return 0;
    }
    FTS *sp = malloc(sizeof *sp);
    if (!sp)
        return 0;
    memset(sp, 0, sizeof *sp);
    sp->fts_compar = compar;
    sp->fts_options = options;
    sp->fts_rfd = -1;
    if (ISSET(sp, FTS_LOGICAL))
        sp->fts_options |= FTS_NOCHDIR;
    FTSENT *parent = make_entry(sp, 0, "", 0);
    if (!parent) {
        free(sp);
        return 0;
    }
    parent->fts_level = FTS_ROOTPARENTLEVEL;
    FTSENT *head = 0, *tail = 0;
    size_t n = 0;
    for (; *argv; argv++) {
        size_t len = strlen(*argv);
        FTSENT *p = make_entry(sp, 0, *argv, len);
        if (!p) {
            free_list(head);
            free(parent);
            free(sp);
            return 0;
        }
        p->fts_level = FTS_ROOTLEVEL;
        p->fts_parent = parent;
        p->fts_info = stat_entry(sp, p, ISSET(sp, FTS_COMFOLLOW));
        if (p->fts_info == FTS_DOT)
            p->fts_info = FTS_D;
        if (tail)
            tail->fts_link = p;
        else
            head = p;
        tail = p;
        n++;
    }
    head = sort_list(sp, head, n);
    /* A dummy current entry, so the first fts_read moves to the first root. */
    FTSENT *init = make_entry(sp, 0, "", 0);
    if (!init) {
        free_list(head);
        free(parent);
        free(sp);
        return 0;
    }
    init->fts_level = FTS_ROOTLEVEL;
    init->fts_link = head;
    init->fts_parent = parent;
    init->fts_info = FTS_INIT;
    sp->fts_cur = init;
    return sp;
}

FTSENT *staticdl_fts_read(FTS *sp)
{
    FTSENT *p = sp->fts_cur;
    if (!p || ISSET(sp, FTS_STOP))
        return 0;
    unsigned short instr = p->fts_instr;
    p->fts_instr = FTS_NOINSTR;

    if (instr == FTS_AGAIN) {
        p->fts_info = stat_entry(sp, p, 0);
        return p;
    }
    if (instr == FTS_FOLLOW && (p->fts_info == FTS_SL || p->fts_info == FTS_SLNONE)) {
        p->fts_info = stat_entry(sp, p, 1);
        return p;
    }

    if (p->fts_info == FTS_D) {
        if (instr == FTS_SKIP || (ISSET(sp, FTS_XDEV) && p->fts_dev != sp->fts_dev)) {
            free_list(sp->fts_child);
            sp->fts_child = 0;
            p->fts_info = FTS_DP;
            return p;
        }
        if (sp->fts_child && ISSET(sp, FTS_NAMEONLY)) {
            free_list(sp->fts_child);
            sp->fts_child = 0;
        }
        sp->fts_options &= ~FTS_NAMEONLY;
        FTSENT *children = sp->fts_child;
        sp->fts_child = 0;
        if (!children)
            children = read_dir(sp, p, 1, 0);
        if (!children) {
            if (ISSET(sp, FTS_STOP))
                return 0;
            if (p->fts_errno && p->fts_info != FTS_DNR)
                p->fts_info = FTS_ERR;
            return p;
        }
        p = children;
        goto found;
    }

next:;
    FTSENT *done = p;
    if ((p = p->fts_link)) {
        free(done);
        if (p->fts_level == FTS_ROOTLEVEL)
            sp->fts_dev = p->fts_dev;
        if (p->fts_instr == FTS_SKIP)
            goto next;
        if (p->fts_instr == FTS_FOLLOW) {
            p->fts_info = stat_entry(sp, p, 1);
            p->fts_instr = FTS_NOINSTR;
        }
        goto found;
    }
    p = done->fts_parent;
    free(done);
    if (p->fts_level == FTS_ROOTPARENTLEVEL) {
        free(p);
        *__errno_location() = 0;
        sp->fts_cur = 0;
        return 0;
    }
    p->fts_info = p->fts_errno ? FTS_ERR : FTS_DP;
    sp->fts_cur = p;
    return p;

found:
    if (p->fts_level == FTS_ROOTLEVEL)
        sp->fts_dev = p->fts_dev;
    sp->fts_cur = p;
    return p;
}

FTSENT *staticdl_fts_children(FTS *sp, int instr)
{
    if (instr != 0 && instr != FTS_NAMEONLY) {
        *__errno_location() = EINVAL_;
        return 0;
    }
    FTSENT *p = sp->fts_cur;
    *__errno_location() = 0;
    if (!p || ISSET(sp, FTS_STOP))
        return 0;
    if (p->fts_info == FTS_INIT)
        return p->fts_link;
    if (p->fts_info != FTS_D)
        return 0;
    free_list(sp->fts_child);
    /* A names-only list is not the walk's: fts_read reads the directory
     * again, with stat, when it gets there. */
    if (instr == FTS_NAMEONLY)
        sp->fts_options |= FTS_NAMEONLY;
    else
        sp->fts_options &= ~FTS_NAMEONLY;
    sp->fts_child = read_dir(sp, p, 0, instr == FTS_NAMEONLY);
    return sp->fts_child;
}

int staticdl_fts_set(FTS *sp, FTSENT *p, int instr)
{
    (void)sp;
    if (instr != 0 && instr != FTS_AGAIN && instr != FTS_FOLLOW && instr != FTS_NOINSTR &&
        instr != FTS_SKIP) {
        *__errno_location() = EINVAL_;
        return 1;
    }
    p->fts_instr = (unsigned short)instr;
    return 0;
}

int staticdl_fts_close(FTS *sp)
{
    FTSENT *p = sp->fts_cur;
    if (p) {
        while (p->fts_level >= FTS_ROOTLEVEL) {
            FTSENT *done = p;
            p = p->fts_link ? p->fts_link : p->fts_parent;
            free(done);
        }
        free(p);
    }
    free_list(sp->fts_child);
    free(sp->fts_array);
    free(sp);
    return 0;
}
