//! The hashes, name parsing and version rules against reference values.

use super::*;

#[test]
fn hashes_match_the_reference_values() {
    // Values from the GNU hash and ELF hash reference implementations.
    assert_eq!(gnu_hash(b""), 0x0000_1505);
    assert_eq!(gnu_hash(b"printf"), 0x156b_2bb8);
    assert_eq!(gnu_hash(b"exit"), 0x7c96_7e3f);
    assert_eq!(sysv_hash(b""), 0);
    assert_eq!(sysv_hash(b"printf"), 0x0779_05a6);
    assert_eq!(sysv_hash(b"exit"), 0x0006_cf04);
}

#[test]
fn fast_bucket_remainder_equals_the_division() {
    for n in [
        1u64,
        2,
        3,
        7,
        1000,
        1021,
        4093,
        65_521,
        1 << 20,
        u32::MAX as u64,
    ] {
        let magic = (u64::MAX / n).wrapping_add(1);
        for h in [
            0u32,
            1,
            2,
            5381,
            0x156b_2bb8,
            0x7fff_ffff,
            u32::MAX - 1,
            u32::MAX,
        ] {
            let low = magic.wrapping_mul(u64::from(h));
            let fast = ((u128::from(low) * n as u128) >> 64) as u64;
            assert_eq!(fast, u64::from(h) % n, "h={h} n={n}");
        }
    }
}

#[test]
fn four_byte_steps_match_the_byte_definition() {
    // The definition, one byte at a time, for every length 0..=40 and bytes
    // from the whole range.
    let bytes: Vec<u8> = (0..40u32).map(|i| (i * 97 + 13) as u8 | 1).collect();
    for len in 0..=bytes.len() {
        let name = &bytes[..len];
        let plain = name.iter().fold(5381u32, |h, &b| {
            h.wrapping_mul(33).wrapping_add(u32::from(b))
        });
        assert_eq!(gnu_hash(name), plain, "length {len}");
    }
    assert_eq!(gnu_hash(b"flapenguin.me"), 0x8ae9_f18e);
    assert_eq!(gnu_hash(b"syscall"), 0xbac2_12a0);
}

#[test]
fn one_pass_hash_matches_the_plain_one() {
    let n = SymbolName::new("memcpy@@GLIBC_2.14");
    assert_eq!(n.gnu, gnu_hash(b"memcpy"));
    assert_eq!(SymbolName::new("exit").gnu, gnu_hash(b"exit"));
    // Every length of name, and '@' at every place (the eight-byte scan).
    let text = "abcdefghijklmnopqrstuvwxyz0123456789";
    for len in 0..=text.len() {
        let name = &text[..len];
        let n = SymbolName::new(name);
        assert_eq!(
            (n.name(), n.gnu, n.version()),
            (name.as_bytes(), gnu_hash(name.as_bytes()), None)
        );
        let full = format!("{name}@V_{len}");
        let v = SymbolName::new(&full);
        let p = SymbolName::parse(full.as_bytes());
        assert_eq!((p.name, p.gnu, p.version), (v.name, v.gnu, v.version));
        let q = SymbolName::parse(name.as_bytes());
        assert_eq!(
            (q.name, q.gnu, q.version),
            (name.as_bytes(), gnu_hash(name.as_bytes()), None)
        );
        let ver = format!("V_{len}");
        assert_eq!(v.name(), name.as_bytes());
        assert_eq!(v.gnu, gnu_hash(name.as_bytes()));
        assert_eq!(v.version(), Some(ver.as_bytes()));
    }
}

#[test]
fn names_split_at_the_version() {
    let n = SymbolName::new("memcpy@GLIBC_2.14");
    assert_eq!(n.name(), b"memcpy");
    assert_eq!(n.version(), Some(&b"GLIBC_2.14"[..]));
    let n = SymbolName::new("f@@V2");
    assert_eq!(n.version(), Some(&b"V2"[..]));
    assert_eq!(SymbolName::new("plain").version(), None);
}
