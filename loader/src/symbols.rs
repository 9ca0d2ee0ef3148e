//! Symbol lookup inside one object: GNU and SysV hash tables, and symbol versions.
//!
//! Owns the hash functions, [`SymbolName`] (a name with its hashes computed once, at
//! compile time where the name is a constant), [`Versions`] (the object's version
//! index table built from `DT_VERDEF` and `DT_VERNEED`), and the per-object lookup
//! [`find`]. It does not walk scopes across objects; the namespace does that.

use std::path::Path;

use crate::elf::dynamic::Dynamic;
use crate::elf::raw::*;
use crate::error::{Error, Result};
use crate::map::View;

/// The GNU hash of a symbol name (`DT_GNU_HASH`).
pub const fn gnu_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 5381;
    let mut rest = name;
    while let [b0, b1, b2, b3, tail @ ..] = rest {
        h = step4(h, *b0, *b1, *b2, *b3);
        rest = tail;
    }
    while let [b, tail @ ..] = rest {
        h = h.wrapping_mul(33).wrapping_add(*b as u32);
        rest = tail;
    }
    h
}

/// Four steps of the GNU hash (h = h * 33 + byte) at once: h * 33^4 + b0 * 33^3
/// + b1 * 33^2 + b2 * 33 + b3 (fewer instructions, a shorter dependency chain).
#[inline(always)]
const fn step4(h: u32, b0: u8, b1: u8, b2: u8, b3: u8) -> u32 {
    h.wrapping_mul(1_185_921)
        .wrapping_add((b0 as u32).wrapping_mul(35_937))
        .wrapping_add((b1 as u32).wrapping_mul(1_089))
        .wrapping_add((b2 as u32).wrapping_mul(33))
        .wrapping_add(b3 as u32)
}

/// The index of the first `@` of `b` (its length if none). A name without one
/// is cleared a word at a time, the last word overlapping the one before.
fn position_of_at(b: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const ATS: u64 = 0x4040_4040_4040_4040;
    let has_at = |w: [u8; 8]| {
        let x = u64::from_le_bytes(w) ^ ATS;
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    if let Some(&last) = b.last_chunk::<8>() {
        let mut rest = b;
        let mut clean = !has_at(last);
        while clean {
            match rest.split_first_chunk::<8>() {
                Some((w, tail)) => {
                    clean = !has_at(*w);
                    rest = tail;
                }
                None => return b.len(),
            }
        }
    }
    b.iter().position(|&c| c == b'@').unwrap_or(b.len())
}

/// The SysV ELF hash of a symbol name (`DT_HASH`).
pub const fn sysv_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    let mut i = 0;
    while i < name.len() {
        h = (h << 4).wrapping_add(name[i] as u32);
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
        i += 1;
    }
    h
}

/// A symbol name with its hashes, computed once.
///
/// Build it with [`SymbolName::new`] in a `const` to pay for hashing at compile time:
///
/// ```
/// use staticdl_loader::SymbolName;
/// const ADD: SymbolName = SymbolName::new("add");
/// assert_eq!(ADD.name(), b"add");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SymbolName<'a> {
    name: &'a [u8],
    gnu: u32,
    version: Option<(&'a [u8], u32)>,
}

impl<'a> SymbolName<'a> {
    /// A name, split at `@` into `name@VERSION` when it has one.
    ///
    /// `"memcpy@GLIBC_2.14"` looks up `memcpy` at version `GLIBC_2.14` (hidden
    /// versions included); a plain name finds the default version.
    pub const fn new(name: &'a str) -> Self {
        Self::from_bytes(name.as_bytes())
    }

    /// As [`SymbolName::new`], from bytes.
    pub const fn from_bytes(full: &'a [u8]) -> Self {
        // "name@@VER" is read as "name@VER".
        let mut at = 0;
        while at < full.len() && full[at] != b'@' {
            at += 1;
        }
        Self::split_at_version(full, at)
    }

    /// As [`SymbolName::from_bytes`], for names made at run time: the `@` is
    /// looked for a word at a time (most names have none).
    pub(crate) fn parse(full: &'a [u8]) -> Self {
        Self::split_at_version(full, position_of_at(full))
    }

    /// `full` split at `at` (its length, or the index of its first `@`).
    const fn split_at_version(full: &'a [u8], at: usize) -> Self {
        let (name, rest) = full.split_at(at);
        let gnu = gnu_hash(name);
        if rest.is_empty() {
            return SymbolName {
                name,
                gnu,
                version: None,
            };
        }
        let mut ver = rest.split_at(1).1;
        if !ver.is_empty() && ver[0] == b'@' {
            ver = ver.split_at(1).1;
        }
        SymbolName {
            name,
            gnu,
            version: Some((ver, sysv_hash(ver))),
        }
    }

    /// A name with an explicit version (or none).
    pub const fn with_version(name: &'a [u8], version: Option<&'a [u8]>) -> Self {
        SymbolName {
            name,
            gnu: gnu_hash(name),
            version: match version {
                Some(v) => Some((v, sysv_hash(v))),
                None => None,
            },
        }
    }

    /// A name whose GNU hash is already known (see [`hash_from_chain`]), with a
    /// version whose ELF (SysV) hash is known too, as an object's version tables
    /// record it.
    pub(crate) fn with_hashes(name: &'a [u8], gnu: u32, version: Option<(&'a [u8], u32)>) -> Self {
        SymbolName { name, gnu, version }
    }

    /// The name without its version.
    pub const fn name(&self) -> &'a [u8] {
        self.name
    }

    /// The GNU hash of the name (without its version), computed once.
    ///
    /// ```
    /// use staticdl_loader::{gnu_hash, SymbolName};
    /// assert_eq!(SymbolName::new("malloc@GLIBC_2.2.5").gnu_hash(), gnu_hash(b"malloc"));
    /// ```
    pub const fn gnu_hash(&self) -> u32 {
        self.gnu
    }

    /// The requested version, if any.
    pub fn version(&self) -> Option<&'a [u8]> {
        self.version.map(|v| v.0)
    }

    pub(crate) fn version_hash(&self) -> Option<(&'a [u8], u32)> {
        self.version
    }
}

/// One entry of an object's version index table (`l_versions` in glibc).
#[derive(Debug, Clone, Copy)]
pub(crate) struct VersionEntry {
    /// Offset of the version name in `DT_STRTAB`.
    pub name: u32,
    /// Its length (checked against the table when the entry was made).
    pub len: u32,
    /// Its ELF (SysV) hash.
    pub hash: u32,
}

/// The object's versions by index, from `DT_VERDEF` and `DT_VERNEED`.
#[derive(Default)]
pub(crate) struct Versions {
    entries: Vec<Option<VersionEntry>>,
}

impl Versions {
    /// Build the index table, checking every record against the image.
    pub fn read(path: &Path, view: View<'_>, dynamic: &Dynamic) -> Result<Versions> {
        let mut v = Versions::default();
        let bad = |what: &str, at: u64| Error::malformed(path, what.to_string(), at);
        if let Some((mut at, count)) = dynamic.verdef {
            for _ in 0..count.min(0x8000) {
                let d: Verdef = view
                    .read(at)
                    .ok_or_else(|| bad("DT_VERDEF entry unreadable", at))?;
                if d.version != 1 {
                    return Err(bad("DT_VERDEF entry has an unknown version", at));
                }
                if d.flags & VER_FLG_BASE.0 == 0 {
                    let aux_at = at
                        .checked_add(d.aux.into())
                        .ok_or_else(|| bad("DT_VERDEF aux offset", at))?;
                    let aux: Verdaux = view
                        .read(aux_at)
                        .ok_or_else(|| bad("DT_VERDEF aux entry unreadable", aux_at))?;
                    v.set(path, d.ndx & VERSYM_VERSION, aux.name, d.hash, dynamic, at)?;
                }
                if d.next == 0 {
                    break;
                }
                at = at
                    .checked_add(d.next.into())
                    .ok_or_else(|| bad("DT_VERDEF next", at))?;
            }
        }
        if let Some((mut at, count)) = dynamic.verneed {
            for _ in 0..count.min(0x8000) {
                let n: Verneed = view
                    .read(at)
                    .ok_or_else(|| bad("DT_VERNEED entry unreadable", at))?;
                if n.version != 1 {
                    return Err(bad("DT_VERNEED entry has an unknown version", at));
                }
                let mut aux_at = at
                    .checked_add(n.aux.into())
                    .ok_or_else(|| bad("DT_VERNEED aux", at))?;
                for _ in 0..n.cnt {
                    let a: Vernaux = view
                        .read(aux_at)
                        .ok_or_else(|| bad("DT_VERNEED aux entry unreadable", aux_at))?;
                    v.set(
                        path,
                        a.other & VERSYM_VERSION,
                        a.name,
                        a.hash,
                        dynamic,
                        aux_at,
                    )?;
                    if a.next == 0 {
                        break;
                    }
                    aux_at = aux_at
                        .checked_add(a.next.into())
                        .ok_or_else(|| bad("DT_VERNEED aux next", aux_at))?;
                }
                if n.next == 0 {
                    break;
                }
                at = at
                    .checked_add(n.next.into())
                    .ok_or_else(|| bad("DT_VERNEED next", at))?;
            }
        }
        Ok(v)
    }

    fn set(
        &mut self,
        path: &Path,
        index: u16,
        name: u32,
        hash: u32,
        d: &Dynamic,
        at: u64,
    ) -> Result<()> {
        let Some(len) = d.strtab.c_str(name).map(|s| s.len() as u32) else {
            return Err(Error::malformed(
                path,
                "version name lies outside DT_STRTAB",
                at,
            ));
        };
        let i = usize::from(index);
        if self.entries.len() <= i {
            self.entries.resize(i + 1, None);
        }
        self.entries[i] = Some(VersionEntry { name, len, hash });
        Ok(())
    }

    /// The version with index `i` (0 and 1 are "local" and "global": no version).
    pub fn get(&self, i: u16) -> Option<VersionEntry> {
        self.entries.get(usize::from(i)).copied().flatten()
    }
}

/// Whether `sym` may satisfy a lookup at all: a defined, global or weak symbol of a
/// kind that names something.
#[inline]
fn is_definition(sym: &Sym) -> bool {
    sym.is_defined()
        && matches!(sym.bind(), STB_GLOBAL | STB_WEAK | STB_GNU_UNIQUE)
        && !matches!(sym.kind(), STT_SECTION | STT_FILE)
        && (sym.value != 0 || sym.kind() == STT_TLS || sym.shndx == SHN_ABS.0)
        && matches!(sym.visibility(), STV_DEFAULT | STV_PROTECTED)
}

/// The GNU hash of the name of symbol `idx`, a definition the object's own
/// `DT_GNU_HASH` table lists, read from that table instead of hashing the name:
/// its chain entry holds the hash but for the lowest bit (the end-of-chain
/// flag), and of the two hashes it can be, only one puts `idx` in its bucket
/// (the table lists symbols bucket by bucket). `None` when the symbol is not
/// in the table, or its candidates' buckets wrap around the table's end (the
/// caller hashes the name).
#[inline]
pub(crate) fn hash_from_chain(d: &Dynamic, idx: u32) -> Option<u32> {
    let g = d.gnu_hash.as_ref()?;
    let ch = g.chains.get(idx.checked_sub(g.symoffset)? as usize)?;
    let (even, odd) = (ch & !1, ch | 1);
    let (b_even, b_odd) = (g.bucket_of(even), g.bucket_of(odd));
    if b_odd != b_even + 1 {
        return None;
    }
    // idx lies in bucket b_even or in b_odd, the next one: in b_odd exactly if
    // b_odd's chain starts at or before it.
    let start = g.buckets.get(b_odd)?;
    Some(if start != 0 && start >= g.symoffset && start <= idx {
        odd
    } else {
        even
    })
}

/// Look `name` up in one object; returns the symbol index and the symbol.
#[inline]
pub(crate) fn find(d: &Dynamic, versions: &Versions, name: &SymbolName<'_>) -> Option<(u32, Sym)> {
    match &d.gnu_hash {
        Some(g) => find_gnu(d, g, versions, name),
        None => find_sysv(d, versions, name),
    }
}

/// [`find`] through `DT_GNU_HASH`: the bloom filter, the bucket, then the chain,
/// where only entries of an equal hash are compared in full.
fn find_gnu(
    d: &Dynamic,
    g: &crate::elf::dynamic::GnuHash,
    versions: &Versions,
    name: &SymbolName<'_>,
) -> Option<(u32, Sym)> {
    let h = name.gnu;
    let word = g.bloom.get((h as usize / 64) & (g.bloom.len() - 1))?;
    // Widen the hash before shifting, as glibc does: a header shift of 32..63
    // (no linker writes one) yields 0 instead of overflowing.
    let mask = (1u64 << (h % 64)) | (1u64 << ((u64::from(h) >> g.shift) % 64));
    if word & mask != mask {
        return None;
    }
    let mut idx = g.buckets.get(g.bucket_of(h))?;
    if idx < g.symoffset {
        return None;
    }
    loop {
        let ch = g.chains.get((idx - g.symoffset) as usize)?;
        if (ch | 1) == (h | 1) {
            if let Some(sym) = matching(d, versions, idx, name) {
                return Some((idx, sym));
            }
        }
        if ch & 1 != 0 {
            return None;
        }
        idx = idx.checked_add(1)?;
    }
}

/// [`find`] through `DT_HASH`, for objects without `DT_GNU_HASH`.
#[cold]
fn find_sysv(d: &Dynamic, versions: &Versions, name: &SymbolName<'_>) -> Option<(u32, Sym)> {
    let s = d.sysv_hash.as_ref()?;
    // Only objects without DT_GNU_HASH get here; hash the name for them alone.
    let h = sysv_hash(name.name);
    let mut idx = s.buckets.get(h as usize % s.buckets.len().max(1))?;
    // A hostile chain may loop; the chain cannot be longer than the table.
    for _ in 0..s.chains.len() {
        if idx == 0 {
            return None;
        }
        if let Some(sym) = matching(d, versions, idx, name) {
            return Some((idx, sym));
        }
        idx = s.chains.get(idx as usize)?;
    }
    None
}

/// Symbol `idx`, if it is a definition of `name` (see [`matches`]).
#[inline(never)]
fn matching(d: &Dynamic, versions: &Versions, idx: u32, name: &SymbolName<'_>) -> Option<Sym> {
    let sym = d.symtab.get(idx as usize)?;
    matches(d, versions, idx, &sym, name).then_some(sym)
}

#[inline(always)]
fn matches(d: &Dynamic, versions: &Versions, idx: u32, sym: &Sym, name: &SymbolName<'_>) -> bool {
    if !is_definition(sym) || !d.strtab.str_eq(sym.name, name.name) {
        return false;
    }
    let vs = match &d.versym {
        Some(v) => v.get(idx as usize).unwrap_or(1),
        None => return true, // an unversioned object satisfies any request
    };
    let index = vs & VERSYM_VERSION;
    match name.version_hash() {
        // Unversioned lookups see default (`@@`) and unversioned definitions only.
        None => vs & VERSYM_HIDDEN.0 == 0,
        Some((want, want_hash)) => {
            if index < 2 {
                return true;
            }
            match versions.get(index) {
                Some(e) => e.hash == want_hash && d.strtab.str_eq(e.name, want),
                None => false,
            }
        }
    }
}

/// The version an import at symbol index `idx` requires, if any.
pub(crate) fn required_version<'d>(
    d: &'d Dynamic,
    versions: &Versions,
    idx: u32,
) -> Option<&'d [u8]> {
    required_version_hashed(d, versions, idx).map(|(v, _)| v)
}

/// [`required_version`] with the version's ELF hash, as the version tables
/// record it (so a lookup need not compute it).
pub(crate) fn required_version_hashed<'d>(
    d: &'d Dynamic,
    versions: &Versions,
    idx: u32,
) -> Option<(&'d [u8], u32)> {
    let vs = d.versym.as_ref()?.get(idx as usize)? & VERSYM_VERSION;
    if vs < 2 {
        return None;
    }
    let entry = versions.get(vs)?;
    Some((d.strtab.slice(entry.name, entry.len)?, entry.hash))
}

/// Every exported definition's symbol index, for diagnostics.
///
/// Counts the table through the hash table (GNU hash does not record its size), so
/// it costs a walk; lookups never need it.
pub(crate) fn exported(d: &Dynamic) -> Vec<u32> {
    let count = match (d.nsyms, &d.gnu_hash) {
        (Some(n), _) => n,
        (None, Some(g)) => {
            let mut max = 0u32;
            for b in 0..g.buckets.len() {
                max = max.max(g.buckets.get(b).unwrap_or(0));
            }
            if max < g.symoffset {
                g.symoffset as usize
            } else {
                let mut i = max;
                while let Some(ch) = g.chains.get((i - g.symoffset) as usize) {
                    if ch & 1 != 0 {
                        break;
                    }
                    i += 1;
                }
                i as usize + 1
            }
        }
        (None, None) => 0,
    };
    (0..count.min(d.symtab.len()))
        .filter(|&i| {
            d.symtab.get(i).is_some_and(|s| {
                is_definition(&s)
                    && d.versym
                        .as_ref()
                        .and_then(|v| v.get(i))
                        .is_none_or(|vs| vs & VERSYM_HIDDEN.0 == 0)
            })
        })
        .map(|i| i as u32)
        .collect()
}

#[cfg(test)]
mod tests;
