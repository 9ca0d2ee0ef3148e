//! The dynamic section and the tables it points to, validated against the mapping.
//!
//! Owns [`Dynamic::read`]: walks `PT_DYNAMIC` in the mapped image, and checks that
//! every table it names (`DT_STRTAB`, `DT_SYMTAB`, `DT_GNU_HASH`, `DT_HASH`, the
//! version tables, `DT_RELA`, `DT_REL`, `DT_RELR`, `DT_JMPREL`, the init and fini
//! arrays) lies inside a loaded segment, with read-only tables in read-only segments.
//! What it returns are [`Raw`] views that later stages read without further range
//! checks on the table itself (indices are still checked per read). It does not
//! interpret symbols or relocations.

use std::path::Path;

use super::raw::*;
use crate::error::{Error, ErrorKind, Result};
use crate::map::View;
use crate::Limits;

/// The GNU hash table (`DT_GNU_HASH`).
pub(crate) struct GnuHash {
    pub symoffset: u32,
    pub shift: u32,
    pub bloom: Raw<u64>,
    pub buckets: Raw<u32>,
    /// From `symoffset` on; bounded by the end of the table's segment.
    pub chains: Raw<u32>,
    /// `u64::MAX / nbuckets + 1`: turns `h % nbuckets` into two multiplications
    /// (Lemire's "faster remainder by direct computation"), the division being
    /// the slowest step of a lookup.
    pub bucket_magic: u64,
}

impl GnuHash {
    /// `h % nbuckets`, without a division.
    #[inline]
    pub fn bucket_of(&self, h: u32) -> usize {
        let low = self.bucket_magic.wrapping_mul(u64::from(h));
        ((u128::from(low) * self.buckets.len() as u128) >> 64) as usize
    }
}

/// The SysV hash table (`DT_HASH`).
pub(crate) struct SysvHash {
    pub buckets: Raw<u32>,
    pub chains: Raw<u32>,
}

/// The relocation tables of an object.
pub(crate) struct Relocs {
    pub rela: Raw<Rela>,
    pub rel: Raw<Rel>,
    pub relr: Raw<u64>,
    pub plt_rela: Raw<Rela>,
    pub plt_rel: Raw<Rel>,
}

/// Everything the dynamic section says, validated.
pub(crate) struct Dynamic {
    pub needed: Vec<u32>,
    pub soname: Option<u32>,
    pub rpath: Option<u32>,
    pub runpath: Option<u32>,
    pub strtab: Raw<u8>,
    /// Bounded by the end of its segment (the count is not recorded in ELF when
    /// only `DT_GNU_HASH` is present); indices are checked per read.
    pub symtab: Raw<Sym>,
    /// Exact symbol count when `DT_HASH` gives it.
    pub nsyms: Option<usize>,
    pub gnu_hash: Option<GnuHash>,
    pub sysv_hash: Option<SysvHash>,
    pub versym: Option<Raw<u16>>,
    pub verdef: Option<(u64, u64)>,
    pub verneed: Option<(u64, u64)>,
    pub relocs: Relocs,
    pub init: Option<u64>,
    pub fini: Option<u64>,
    pub init_array: Option<(u64, u64)>,
    pub fini_array: Option<(u64, u64)>,
    pub symbolic: bool,
}

#[derive(Default)]
struct Tags {
    needed: Vec<u32>,
    soname: Option<u64>,
    rpath: Option<u64>,
    runpath: Option<u64>,
    strtab: Option<u64>,
    strsz: Option<u64>,
    symtab: Option<u64>,
    syment: Option<u64>,
    hash: Option<u64>,
    gnu_hash: Option<u64>,
    versym: Option<u64>,
    verdef: Option<u64>,
    verdefnum: Option<u64>,
    verneed: Option<u64>,
    verneednum: Option<u64>,
    rela: Option<u64>,
    relasz: Option<u64>,
    relaent: Option<u64>,
    rel: Option<u64>,
    relsz: Option<u64>,
    relent: Option<u64>,
    relr: Option<u64>,
    relrsz: Option<u64>,
    relrent: Option<u64>,
    jmprel: Option<u64>,
    pltrelsz: Option<u64>,
    pltrel: Option<u64>,
    init: Option<u64>,
    fini: Option<u64>,
    init_array: Option<u64>,
    init_arraysz: Option<u64>,
    fini_array: Option<u64>,
    fini_arraysz: Option<u64>,
    flags: u64,
    flags_1: u64,
    symbolic: bool,
    textrel: bool,
}

fn check_u32(path: &Path, what: &str, v: u64, at: u64) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::malformed(path, format!("{what} out of range"), at))
}

/// What a dynamic section is read for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// An object to load: everything is validated and used.
    Load,
    /// The running executable's own symbol tables, for lookups only: it is a
    /// PIE, its relocations were applied by its start-up code, and table
    /// addresses may already be relocated (glibc relocates them in place; musl's
    /// static start-up does not), so a value at or above `bias` is taken as a
    /// run-time address.
    ExecutableSymbols { bias: u64 },
}

impl Dynamic {
    /// Read and validate the dynamic section at `dynamic` (address, size).
    pub fn read(
        path: &Path,
        view: View<'_>,
        dynamic: (u64, u64),
        limits: &Limits,
    ) -> Result<Dynamic> {
        Self::read_for(path, view, dynamic, limits, Purpose::Load)
    }

    /// [`Dynamic::read`] for a given purpose.
    pub fn read_for(
        path: &Path,
        view: View<'_>,
        dynamic: (u64, u64),
        limits: &Limits,
        purpose: Purpose,
    ) -> Result<Dynamic> {
        let mut t = Tags::default();
        let count = dynamic.1 / 16;
        let mut terminated = false;
        for i in 0..count {
            let at = dynamic.0 + i * 16;
            let d: Dyn = view
                .read(at)
                .ok_or_else(|| Error::malformed(path, "dynamic entry unreadable", at))?;
            let v = Some(d.val);
            match DynamicTag(d.tag) {
                DT_NULL => {
                    terminated = true;
                    break;
                }
                DT_NEEDED => {
                    if t.needed.len() as u64 >= limits.max_needed {
                        return Err(Error::new(
                            path,
                            ErrorKind::LimitExceeded {
                                what: "DT_NEEDED count",
                                value: t.needed.len() as u64 + 1,
                                limit: limits.max_needed,
                            },
                        ));
                    }
                    t.needed.push(check_u32(path, "DT_NEEDED", d.val, at)?)
                }
                DT_SONAME => t.soname = v,
                DT_RPATH => t.rpath = v,
                DT_RUNPATH => t.runpath = v,
                DT_STRTAB => t.strtab = v,
                DT_STRSZ => t.strsz = v,
                DT_SYMTAB => t.symtab = v,
                DT_SYMENT => t.syment = v,
                DT_HASH => t.hash = v,
                DT_GNU_HASH => t.gnu_hash = v,
                DT_VERSYM => t.versym = v,
                DT_VERDEF => t.verdef = v,
                DT_VERDEFNUM => t.verdefnum = v,
                DT_VERNEED => t.verneed = v,
                DT_VERNEEDNUM => t.verneednum = v,
                DT_RELA => t.rela = v,
                DT_RELASZ => t.relasz = v,
                DT_RELAENT => t.relaent = v,
                DT_REL => t.rel = v,
                DT_RELSZ => t.relsz = v,
                DT_RELENT => t.relent = v,
                DT_RELR => t.relr = v,
                DT_RELRSZ => t.relrsz = v,
                DT_RELRENT => t.relrent = v,
                DT_JMPREL => t.jmprel = v,
                DT_PLTRELSZ => t.pltrelsz = v,
                DT_PLTREL => t.pltrel = v,
                DT_INIT => t.init = v,
                DT_FINI => t.fini = v,
                DT_INIT_ARRAY => t.init_array = v,
                DT_INIT_ARRAYSZ => t.init_arraysz = v,
                DT_FINI_ARRAY => t.fini_array = v,
                DT_FINI_ARRAYSZ => t.fini_arraysz = v,
                DT_FLAGS => t.flags = d.val,
                DT_FLAGS_1 => t.flags_1 = d.val,
                DT_SYMBOLIC => t.symbolic = true,
                DT_TEXTREL => t.textrel = true,
                _ => {}
            }
        }
        if !terminated {
            return Err(Error::malformed(
                path,
                "dynamic section has no DT_NULL",
                dynamic.0,
            ));
        }
        if let Purpose::ExecutableSymbols { bias } = purpose {
            // Only the symbol tables count; their addresses made virtual again.
            let unrelocate = |v: Option<u64>| v.map(|a| if a >= bias { a - bias } else { a });
            t = Tags {
                strtab: unrelocate(t.strtab),
                strsz: t.strsz,
                symtab: unrelocate(t.symtab),
                syment: t.syment,
                hash: unrelocate(t.hash),
                gnu_hash: unrelocate(t.gnu_hash),
                versym: unrelocate(t.versym),
                verdef: unrelocate(t.verdef),
                verdefnum: t.verdefnum,
                ..Tags::default()
            };
        }
        Self::validate(path, view, t, dynamic.0)
    }

    fn validate(path: &Path, view: View<'_>, t: Tags, at: u64) -> Result<Dynamic> {
        if t.flags_1 & DF_1_PIE.0 != 0 {
            // What glibc's dlopen refuses: an executable, which PT_INTERP alone
            // does not make an object.
            return Err(Error::new(
                path,
                ErrorKind::NotSharedObject {
                    found: "a position-independent executable (DF_1_PIE)".into(),
                },
            ));
        }
        if t.textrel || t.flags & DF_TEXTREL.0 != 0 {
            return Err(Error::new(
                path,
                ErrorKind::WritableCode {
                    what: "object needs text relocations (DT_TEXTREL)".into(),
                },
            ));
        }
        let strtab_addr = t
            .strtab
            .ok_or_else(|| Error::malformed(path, "no DT_STRTAB", at))?;
        let strsz = t
            .strsz
            .ok_or_else(|| Error::malformed(path, "no DT_STRSZ", at))?;
        let strtab: Raw<u8> = view.table(path, "DT_STRTAB", strtab_addr, strsz)?;
        let str_off = |v: Option<u64>, what: &str| -> Result<Option<u32>> {
            match v {
                None => Ok(None),
                Some(off) => {
                    let o = check_u32(path, what, off, at)?;
                    if strtab.c_str(o).is_none() {
                        return Err(Error::malformed(
                            path,
                            format!("{what} string lies outside DT_STRTAB"),
                            off,
                        ));
                    }
                    Ok(Some(o))
                }
            }
        };
        for &n in &t.needed {
            str_off(Some(n.into()), "DT_NEEDED")?;
        }
        let soname = str_off(t.soname, "DT_SONAME")?;
        let rpath = str_off(t.rpath, "DT_RPATH")?;
        let runpath = str_off(t.runpath, "DT_RUNPATH")?;

        let symtab_addr = t
            .symtab
            .ok_or_else(|| Error::malformed(path, "no DT_SYMTAB", at))?;
        if t.syment.is_some_and(|e| e != 24) {
            return Err(Error::malformed(path, "DT_SYMENT is not 24", at));
        }
        let mut symtab: Raw<Sym> = view.open_table(path, "DT_SYMTAB", symtab_addr)?;

        let gnu_hash = match t.gnu_hash {
            Some(a) => Some(Self::gnu_hash(path, view, a)?),
            None => None,
        };
        let mut nsyms = None;
        let sysv_hash = match t.hash {
            Some(a) => {
                let head: Raw<u32> = view.table(path, "DT_HASH", a, 2)?;
                let nbucket = head.get(0).unwrap_or(0) as u64;
                let nchain = head.get(1).unwrap_or(0) as u64;
                let buckets = view.table(path, "DT_HASH buckets", a.wrapping_add(8), nbucket)?;
                let chains = view.table(
                    path,
                    "DT_HASH chains",
                    a.wrapping_add(8 + 4 * nbucket),
                    nchain,
                )?;
                if nchain as usize > symtab.len() {
                    return Err(Error::malformed(
                        path,
                        "DT_HASH counts more symbols than DT_SYMTAB holds",
                        a,
                    ));
                }
                nsyms = Some(nchain as usize);
                Some(SysvHash { buckets, chains })
            }
            None => None,
        };
        if gnu_hash.is_none() && sysv_hash.is_none() {
            return Err(Error::malformed(
                path,
                "neither DT_GNU_HASH nor DT_HASH",
                at,
            ));
        }
        if let Some(n) = nsyms {
            symtab = symtab.truncated(n);
        }
        let versym = match t.versym {
            Some(a) => Some(view.open_table::<u16>(path, "DT_VERSYM", a)?),
            None => None,
        };
        let verdef = t.verdef.map(|a| (a, t.verdefnum.unwrap_or(0)));
        let verneed = t.verneed.map(|a| (a, t.verneednum.unwrap_or(0)));

        let relocs = Self::relocs(path, view, &t, at)?;
        let array =
            |addr: Option<u64>, size: Option<u64>, what: &str| -> Result<Option<(u64, u64)>> {
                match (addr, size.unwrap_or(0)) {
                    (None, _) | (_, 0) => Ok(None),
                    (Some(a), sz) => {
                        if sz % 8 != 0 || view.read::<u64>(a).is_none() || {
                            let last = a.checked_add(sz - 8);
                            last.is_none_or(|l| view.read::<u64>(l).is_none())
                        } {
                            return Err(Error::malformed(
                                path,
                                format!("{what} does not lie inside a loaded segment"),
                                a,
                            ));
                        }
                        Ok(Some((a, sz / 8)))
                    }
                }
            };
        let init_array = array(t.init_array, t.init_arraysz, "DT_INIT_ARRAY")?;
        let fini_array = array(t.fini_array, t.fini_arraysz, "DT_FINI_ARRAY")?;
        Ok(Dynamic {
            needed: t.needed,
            soname,
            rpath,
            runpath,
            strtab,
            symtab,
            nsyms,
            gnu_hash,
            sysv_hash,
            versym,
            verdef,
            verneed,
            relocs,
            init: t.init.filter(|&a| a != 0),
            fini: t.fini.filter(|&a| a != 0),
            init_array,
            fini_array,
            symbolic: t.symbolic || t.flags & DF_SYMBOLIC.0 != 0,
        })
    }

    fn gnu_hash(path: &Path, view: View<'_>, a: u64) -> Result<GnuHash> {
        let head: Raw<u32> = view.table(path, "DT_GNU_HASH", a, 4)?;
        let nbuckets = head.get(0).unwrap_or(0) as u64;
        let symoffset = head.get(1).unwrap_or(0);
        let bloom_size = head.get(2).unwrap_or(0) as u64;
        let shift = head.get(3).unwrap_or(0);
        if bloom_size == 0 || !bloom_size.is_power_of_two() || nbuckets == 0 || shift >= 64 {
            return Err(Error::malformed(
                path,
                "DT_GNU_HASH header (bloom size must be a power of two, buckets non-zero)",
                a,
            ));
        }
        let bloom = view.table(
            path,
            "DT_GNU_HASH bloom filter",
            a.wrapping_add(16),
            bloom_size,
        )?;
        // Wrapping: an address that wraps lies in no segment, so `table` refuses it.
        let buckets_at = a.wrapping_add(16 + 8 * bloom_size);
        let buckets = view.table(path, "DT_GNU_HASH buckets", buckets_at, nbuckets)?;
        let chains_at = buckets_at.wrapping_add(4 * nbuckets);
        let chains = if chains_at % 4 == 0 && view.read_only_tail(chains_at).is_some() {
            view.open_table(path, "DT_GNU_HASH chains", chains_at)?
        } else {
            Raw::empty()
        };
        Ok(GnuHash {
            symoffset,
            shift,
            bloom,
            buckets,
            chains,
            bucket_magic: (u64::MAX / nbuckets).wrapping_add(1),
        })
    }

    fn relocs(path: &Path, view: View<'_>, t: &Tags, at: u64) -> Result<Relocs> {
        fn table<T: Pod>(
            path: &Path,
            view: View<'_>,
            what: &str,
            addr: Option<u64>,
            size: Option<u64>,
            ent: Option<u64>,
        ) -> Result<Raw<T>> {
            let want = std::mem::size_of::<T>() as u64;
            let (addr, size) = match (addr, size) {
                (Some(a), Some(s)) if s > 0 => (a, s),
                _ => return Ok(Raw::empty()),
            };
            if ent.is_some_and(|e| e != want) || size % want != 0 {
                return Err(Error::malformed(
                    path,
                    format!("{what} entry size is not {want}"),
                    addr,
                ));
            }
            view.table(path, what, addr, size / want)
        }
        let mut rela_sz = t.relasz;
        let mut rel_sz = t.relsz;
        let (plt_rela, plt_rel) = match (t.jmprel, t.pltrel) {
            (None, _) => (Raw::empty(), Raw::empty()),
            (Some(_), Some(p)) if p == DT_RELA.0 as u64 => {
                let plt = table(path, view, "DT_JMPREL", t.jmprel, t.pltrelsz, Some(24))?;
                // Some linkers make DT_RELA's range include the PLT relocations.
                rela_sz = trim_overlap(t.rela, rela_sz, t.jmprel, t.pltrelsz);
                (plt, Raw::empty())
            }
            (Some(_), Some(p)) if p == DT_REL.0 as u64 => {
                let plt = table(path, view, "DT_JMPREL", t.jmprel, t.pltrelsz, Some(16))?;
                rel_sz = trim_overlap(t.rel, rel_sz, t.jmprel, t.pltrelsz);
                (Raw::empty(), plt)
            }
            _ => {
                return Err(Error::malformed(
                    path,
                    "DT_PLTREL is neither DT_RELA nor DT_REL",
                    at,
                ))
            }
        };
        Ok(Relocs {
            rela: table(path, view, "DT_RELA", t.rela, rela_sz, t.relaent)?,
            rel: table(path, view, "DT_REL", t.rel, rel_sz, t.relent)?,
            relr: table(path, view, "DT_RELR", t.relr, t.relrsz, t.relrent)?,
            plt_rela,
            plt_rel,
        })
    }
}

/// If the PLT relocations sit at the end of the main table's range, leave them out
/// of it, so they are applied once.
fn trim_overlap(
    main: Option<u64>,
    main_sz: Option<u64>,
    plt: Option<u64>,
    plt_sz: Option<u64>,
) -> Option<u64> {
    match (main, main_sz, plt, plt_sz) {
        (Some(m), Some(ms), Some(p), Some(ps))
            if p >= m && m.checked_add(ms) == p.checked_add(ps) && ps <= ms =>
        {
            Some(ms - ps)
        }
        _ => main_sz,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_trimmed_only_at_the_end() {
        assert_eq!(
            trim_overlap(Some(100), Some(96), Some(148), Some(48)),
            Some(48)
        );
        assert_eq!(
            trim_overlap(Some(100), Some(96), Some(300), Some(48)),
            Some(96)
        );
        assert_eq!(trim_overlap(Some(100), None, Some(300), Some(48)), None);
    }
}
