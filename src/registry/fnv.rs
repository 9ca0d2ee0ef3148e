//! The hash of the registry's per-thread hit map.
//!
//! Owns `Fnv`, FNV-1a over 8-byte words: the keys are short path strings and
//! need no resistance to collisions made on purpose (the host chooses the paths),
//! so a repeated open hashes its path in a few instructions. It does not own the
//! map (`registry.rs`).

use std::hash::Hasher;

/// FNV-1a over 8-byte words: short keys, no need for DoS resistance (the host
/// chooses the paths).
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            h = (h ^ u64::from_le_bytes(b)).wrapping_mul(0x0100_0000_01b3);
        }
        for &b in words.remainder() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published FNV-1a 64-bit vectors (the reference implementation's test
    /// suite) for inputs shorter than one word, where the word-wise variant is
    /// byte-wise FNV-1a exactly.
    #[test]
    fn short_keys_match_published_fnv1a_vectors() {
        for (input, expected) in [
            (&b"a"[..], 0xaf63_dc4c_8601_ec8c_u64),
            (b"foobar", 0x8594_4171_f739_67e8),
        ] {
            let mut h = Fnv::default();
            h.write(input);
            assert_eq!(h.finish(), expected, "{input:?}");
        }
    }
}
