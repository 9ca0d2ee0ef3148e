//! The glibc (and `libgcc_s.so.1`) names the provider deliberately does not
//! answer although the host's C library defines a function of that name (or,
//! for libgcc, that the host's compiler builtins lack), each with the reason: the
//! host's function is a stub that reports nothing or success (so binding it
//! would hide a missing feature), or it has another ABI, or it belongs to a
//! part of the process a plugin must never drive. An import of any of them
//! fails the load naming it, like any name the table lacks.
//!
//! Owns this list only; the table (`table/`) must not contain these names
//! (a unit test checks it), and `tests/glibc_names.rs` checks that every glibc
//! name the host defines is either answered or listed here.

/// `(name, reason)`, sorted by name.
pub(crate) static NOT_PROVIDED: &[(&str, &str)] = &[
    ("__cpu_indicator_init", CPU_MODEL),
    ("__cpu_model", CPU_MODEL),
    ("__deregister_frame_info", FRAME_INFO),
    ("__deregister_frame_info_bases", FRAME_INFO),
    ("__divhc3", BUILTINS),
    ("__divtc3", BUILTINS),
    ("__divxc3", BUILTINS),
    ("__emutls_get_address", EMUTLS),
    ("__emutls_register_common", EMUTLS),
    ("__extendhfxf2", BUILTINS),
    ("__extendxftf2", BUILTINS),
    ("__fixhfti", BUILTINS),
    ("__fixunshfti", BUILTINS),
    ("__fixunsxfdi", BUILTINS),
    ("__fixunsxfti", BUILTINS),
    ("__fixxfti", BUILTINS),
    ("__floattihf", BUILTINS),
    ("__floattixf", BUILTINS),
    ("__floatuntihf", BUILTINS),
    ("__floatuntixf", BUILTINS),
    ("__gcc_personality_v0", PERSONALITY),
    ("__libc_start_main", START),
    ("__mulhc3", BUILTINS),
    ("__multc3", BUILTINS),
    ("__register_frame_info", FRAME_INFO),
    ("__register_frame_info_bases", FRAME_INFO),
    ("__register_frame_info_table", FRAME_INFO),
    ("__register_frame_info_table_bases", FRAME_INFO),
    ("__register_frame_table", FRAME_INFO),
    ("__trunctfxf2", BUILTINS),
    ("__truncxfhf2", BUILTINS),
    ("dlinfo", DLINFO),
    ("endnetent", NETWORKS),
    ("endspent", SHADOW),
    ("endutent", UTMP),
    ("endutxent", UTMP),
    ("ether_hostton", ETHERS),
    ("ether_line", ETHERS),
    ("ether_ntohost", ETHERS),
    ("gethostent", HOSTS),
    ("gethostid", HOSTID),
    ("getnetbyaddr", NETWORKS),
    ("getnetbyname", NETWORKS),
    ("getnetent", NETWORKS),
    ("getservent", SERVICES),
    ("getspent", SHADOW),
    ("getutent", UTMP),
    ("getutid", UTMP),
    ("getutline", UTMP),
    ("getutxent", UTMP),
    ("getutxid", UTMP),
    ("getutxline", UTMP),
    ("lckpwdf", PWDLOCK),
    ("pututline", UTMP),
    ("pututxline", UTMP),
    ("setnetent", NETWORKS),
    ("setspent", SHADOW),
    ("setutent", UTMP),
    ("setutxent", UTMP),
    ("ulckpwdf", PWDLOCK),
    ("updwtmp", UTMP),
    ("updwtmpx", UTMP),
    ("utmpname", UTMP),
    ("utmpxname", UTMP),
];

const START: &str =
    "process start-up: the host's has another signature, and a plugin never starts a process";
const DLINFO: &str = "the host's static stub knows none of the objects staticdl loaded";
const HOSTS: &str = "the host's host-database enumeration is a stub that reports no entries (glibc reads /etc/hosts); sethostent and endhostent, which only open and close the lookups' files, are answered";
const NETWORKS: &str =
    "the host's network database is a stub that reports no entries (glibc reads /etc/networks)";
const SERVICES: &str =
    "the host's service enumeration is a stub that reports no entries (glibc reads /etc/services)";
const SHADOW: &str = "the host's shadow-file enumeration is a stub that reports no entries";
const UTMP: &str = "the host's utmp and wtmp functions do nothing and report no entries (glibc reads and writes /var/run/utmp)";
const ETHERS: &str = "the host's /etc/ethers lookups are stubs that always fail";
const HOSTID: &str = "the host's gethostid always returns 0 (glibc reads /etc/hostid)";
const CPU_MODEL: &str = "libgcc_s exports it only as a compatibility version (GCC_4.8.0); current objects use libgcc.a's hidden copy";
const FRAME_INFO: &str = "the old crtbegin registration of unwind tables; objects with PT_GNU_EH_FRAME (all current ones) are found through dl_iterate_phdr and _dl_find_object";
const EMUTLS: &str =
    "emulated thread-local storage, which x86-64 Linux objects never use (they use native TLS)";
const PERSONALITY: &str =
    "the C cleanup personality routine: the host's unwinder does not include one";
const BUILTINS: &str = "not in the host's compiler builtins: conversions between long double or _Float16 and 128-bit integers or __float128, and complex _Float16, long double and __float128 division";
const PWDLOCK: &str =
    "the host's password-file lock does nothing and reports success (glibc takes /etc/.pwd.lock)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_never_in_the_table() {
        for w in NOT_PROVIDED.windows(2) {
            assert!(w[0].0 < w[1].0, "{} is out of order", w[1].0);
        }
        for (name, _) in NOT_PROVIDED {
            assert!(
                crate::table::lookup(name.as_bytes(), None).is_none(),
                "{name} is both excluded and provided"
            );
        }
    }
}
