//! Which files `staticdl check PATH...` checks.
//!
//! Owns [`expand`]: a PATH that is a folder stands for every regular shared
//! object under it (recursively; symbolic links are not followed, so a library
//! and its soname link count once and a link loop ends nothing), any other PATH
//! for itself, whatever it is (the check says why it would not load). A regular
//! shared object is a regular file holding a 64-bit little-endian ELF object of
//! type `ET_DYN` with a `PT_DYNAMIC` segment, not flagged `DF_1_PIE` (a
//! position-independent executable). Only the headers are read.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

const ET_DYN: u16 = 3;
const PT_DYNAMIC: u32 = 2;
const DT_NULL: u64 = 0;
const DT_FLAGS_1: u64 = 0x6fff_fffb;
const DF_1_PIE: u64 = 0x0800_0000;
/// More dynamic entries than any real object has; a bound on what is read.
const MAX_DYNAMIC: u64 = 1 << 16;

/// The files `paths` stand for, in order: each folder's objects sorted by path.
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            collect(p, &mut found);
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            collect(&path, out);
        } else if kind.is_file() && is_shared_object(&path) {
            out.push(path);
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn read_at(f: &mut File, offset: u64, len: u64) -> Option<Vec<u8>> {
    let mut buf = vec![0; usize::try_from(len).ok()?];
    f.seek(SeekFrom::Start(offset)).ok()?;
    f.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// Whether `path` holds a regular shared object (see the module docs).
fn is_shared_object(path: &Path) -> bool {
    shared_object(path).unwrap_or(false)
}

fn shared_object(path: &Path) -> Option<bool> {
    let mut f = File::open(path).ok()?;
    let head = read_at(&mut f, 0, 64)?;
    if &head[..4] != b"\x7fELF" || head[4] != 2 || head[5] != 1 || u16_at(&head, 16)? != ET_DYN {
        return Some(false);
    }
    let phoff = u64_at(&head, 32)?;
    let phentsize = u64::from(u16_at(&head, 54)?);
    let phnum = u64::from(u16_at(&head, 56)?);
    if phentsize < 56 {
        return Some(false);
    }
    let phdrs = read_at(&mut f, phoff, phentsize.checked_mul(phnum)?)?;
    let dynamic = (0..phnum as usize)
        .map(|i| i * phentsize as usize)
        .find(|&at| u32_at(&phdrs, at) == Some(PT_DYNAMIC));
    let Some(at) = dynamic else {
        return Some(false);
    };
    let offset = u64_at(&phdrs, at + 8)?;
    let size = u64_at(&phdrs, at + 32)?.min(MAX_DYNAMIC * 16);
    let table = read_at(&mut f, offset, size)?;
    for entry in table.chunks_exact(16) {
        let tag = u64_at(entry, 0)?;
        if tag == DT_NULL {
            break;
        }
        if tag == DT_FLAGS_1 && u64_at(entry, 8)? & DF_1_PIE != 0 {
            return Some(false);
        }
    }
    Some(true)
}
