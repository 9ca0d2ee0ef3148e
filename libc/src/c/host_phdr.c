/*
 * The host executable, as musl's static `dl_iterate_phdr` reports it: the
 * provider's `dl_iterate_phdr` (in `dl.rs`) reports the host first through
 * this, field by field as musl 1.2 does, then every loaded object.
 *
 * Built for musl targets only (`STATICDL_MUSL`).
 */

#include "shims.h"

/* ---- the host executable, as musl's static dl_iterate_phdr reports it ---- */

#ifdef STATICDL_MUSL

/* glibc's and musl's `struct dl_phdr_info` (x86-64). */
struct staticdl_phdr_info {
    size_t dlpi_addr;
    const char *dlpi_name;
    const void *dlpi_phdr;
    unsigned short dlpi_phnum;
    unsigned long long dlpi_adds;
    unsigned long long dlpi_subs;
    size_t dlpi_tls_modid;
    void *dlpi_tls_data;
};

struct staticdl_phdr {
    unsigned p_type;
    unsigned p_flags;
    unsigned long p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

extern unsigned long getauxval(unsigned long);
extern const size_t _DYNAMIC[] __attribute__((weak, visibility("hidden")));
extern void *__tls_get_addr(size_t *);

#define AT_PHDR_ 3
#define AT_PHENT_ 4
#define AT_PHNUM_ 5
#define PT_DYNAMIC_ 2
#define PT_PHDR_ 6
#define PT_TLS_ 7

/* Fill `info` field by field as musl 1.2's static_dl_iterate_phdr does: the
 * program headers from AT_PHDR/AT_PHNUM (stepping AT_PHENT), the load base
 * from PT_PHDR or, when the executable has one, from _DYNAMIC and PT_DYNAMIC,
 * the name "/proc/self/exe", TLS module 1 with the calling thread's block from
 * musl's __tls_get_addr. Only the counters differ: musl reports 0 and 0, this
 * reports the process's load and unload counts, which are 0 and 0 until the
 * first object is loaded. */
void staticdl_host_phdr_info(struct staticdl_phdr_info *info,
                             unsigned long long adds, unsigned long long subs)
{
    unsigned long phdr_at = getauxval(AT_PHDR_);
    unsigned long phent = getauxval(AT_PHENT_);
    unsigned long n = getauxval(AT_PHNUM_);
    const unsigned char *p = (const unsigned char *)phdr_at;
    const struct staticdl_phdr *tls_phdr = 0;
    size_t base = 0;
    for (; n; n--, p += phent) {
        const struct staticdl_phdr *ph = (const void *)p;
        if (ph->p_type == PT_PHDR_)
            base = phdr_at - ph->p_vaddr;
        if (ph->p_type == PT_DYNAMIC_ && _DYNAMIC)
            base = (size_t)_DYNAMIC - ph->p_vaddr;
        if (ph->p_type == PT_TLS_)
            tls_phdr = ph;
    }
    info->dlpi_addr = base;
    info->dlpi_name = "/proc/self/exe";
    info->dlpi_phdr = (const void *)phdr_at;
    info->dlpi_phnum = (unsigned short)getauxval(AT_PHNUM_);
    info->dlpi_adds = adds;
    info->dlpi_subs = subs;
    if (tls_phdr) {
        size_t index[2] = {1, 0};
        info->dlpi_tls_modid = 1;
        info->dlpi_tls_data = __tls_get_addr(index);
    } else {
        info->dlpi_tls_modid = 0;
        info->dlpi_tls_data = 0;
    }
}

#endif

