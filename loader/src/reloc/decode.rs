//! Relocation entries decoded, apart from their use.
//!
//! Owns [`Reloc`] (one entry of `DT_RELA`, `DT_REL` or `DT_JMPREL`, whichever
//! table it came from) and [`Relr`] (the `DT_RELR` stream of packed relative
//! relocations, decoded into the offsets it names). Pure: nothing here reads or
//! writes the image beyond the validated tables, or knows what a relocation
//! type means (`compute` and the architecture do).

use crate::elf::raw::{Raw, Rel, Rela};

/// One relocation entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reloc {
    /// `r_offset`: the virtual address to relocate.
    pub offset: u64,
    /// The machine's relocation type (`ELF64_R_TYPE`).
    pub r_type: u32,
    /// The symbol index (`ELF64_R_SYM`); 0 for none.
    pub sym: u32,
    /// The explicit addend; `None` for a `REL` entry, whose addend is what the
    /// target holds.
    pub addend: Option<i64>,
}

impl From<Rela> for Reloc {
    #[inline]
    fn from(r: Rela) -> Self {
        Reloc {
            offset: r.offset,
            r_type: r.info as u32,
            sym: (r.info >> 32) as u32,
            addend: Some(r.addend),
        }
    }
}

impl From<Rel> for Reloc {
    #[inline]
    fn from(r: Rel) -> Self {
        Reloc {
            offset: r.offset,
            r_type: r.info as u32,
            sym: (r.info >> 32) as u32,
            addend: None,
        }
    }
}

/// The offsets a `DT_RELR` table relocates (each gets the load bias added).
///
/// An even entry is an address; an odd entry is a bitmap of the 63 words after
/// the last address (bit `i` set: the word `i` after it), and the next bitmap
/// continues 63 words further on.
pub(crate) struct Relr<'a> {
    table: &'a Raw<u64>,
    /// Next table index to read.
    next_entry: usize,
    /// The bitmap being expanded (its tag bit shifted out) and the offset of the
    /// word its lowest bit stands for.
    bits: u64,
    at: u64,
    /// Where the next bitmap starts.
    base: u64,
}

impl<'a> Relr<'a> {
    /// The decoder of `table`.
    pub fn new(table: &'a Raw<u64>) -> Self {
        Relr {
            table,
            next_entry: 0,
            bits: 0,
            at: 0,
            base: 0,
        }
    }
}

impl Iterator for Relr<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        loop {
            while self.bits != 0 {
                let bit = self.bits & 1 != 0;
                let at = self.at;
                self.bits >>= 1;
                self.at = self.at.wrapping_add(8);
                if bit {
                    return Some(at);
                }
            }
            let entry = self.table.get(self.next_entry)?;
            self.next_entry += 1;
            if entry & 1 == 0 {
                self.base = entry.wrapping_add(8);
                return Some(entry);
            }
            self.bits = entry >> 1;
            self.at = self.base;
            self.base = self.base.wrapping_add(63 * 8);
        }
    }
}

#[cfg(test)]
// The tests build table views over their own arrays.
#[allow(unsafe_code)]
mod tests {
    use super::*;

    fn relr(entries: &[u64]) -> Vec<u64> {
        // SAFETY: the slice outlives the view, which only reads it.
        let raw = unsafe { Raw::new(entries.as_ptr() as usize, entries.len()) };
        Relr::new(&raw).collect()
    }

    #[test]
    fn addresses_and_bitmaps_decode_as_the_gabi_proposal_describes() {
        // An address, then a bitmap of the words after it: bits 0 and 2 (the
        // words at +8 and +24), then a continuation bitmap 63 words on (bit 1).
        let v = relr(&[0x1000, (0b101 << 1) | 1, (0b10 << 1) | 1]);
        assert_eq!(v, vec![0x1000, 0x1008, 0x1018, 0x1008 + 63 * 8 + 8]);
        // A new address restarts the run.
        let v = relr(&[0x2000, 0x3000, (1 << 1) | 1]);
        assert_eq!(v, vec![0x2000, 0x3000, 0x3008]);
        // Every bit of a full bitmap.
        let v = relr(&[0x100, u64::MAX]);
        assert_eq!(v.len(), 1 + 63);
        assert_eq!(v[63], 0x108 + 62 * 8);
        assert!(relr(&[]).is_empty());
    }

    #[test]
    fn rela_and_rel_split_info() {
        let r = Reloc::from(Rela {
            offset: 0x40,
            info: (7 << 32) | 6,
            addend: -4,
        });
        assert_eq!(
            (r.offset, r.r_type, r.sym, r.addend),
            (0x40, 6, 7, Some(-4))
        );
        let r = Reloc::from(Rel {
            offset: 0x48,
            info: 8,
        });
        assert_eq!((r.r_type, r.sym, r.addend), (8, 0, None));
    }
}
