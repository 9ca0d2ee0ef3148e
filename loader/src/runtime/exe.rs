//! The host executable's own image, as its program headers describe it.
//!
//! Owns [`Executable`]: the load bias, the `PT_LOAD` segments, the dynamic
//! section, `PT_GNU_RELRO` and `PT_TLS` of the running executable, read once from its mapped ELF header
//! (`__ehdr_start`), and [`with_writable`], which makes a range of the executable
//! writable for the length of one change and restores its protection after (the
//! debugger slot and the static TLS template lie in RELRO). It does not change
//! anything else of the executable.
//!
//! Unsafe code is allowed in this module: it reads the executable's mapped
//! headers, which the linker guarantees are mapped when it defines `__ehdr_start`,
//! and changes the protection of the executable's own pages around a write.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::sync::OnceLock;

use rustix::mm::MprotectFlags;

use crate::elf::{LoadSegment, Prot};

extern "C" {
    /// Defined by the linker at the executable's ELF header.
    static __ehdr_start: u8;
}

/// What the running executable's program headers say (addresses are run-time
/// addresses; 0 or empty where the executable has no such header).
#[derive(Debug, Clone, Default)]
pub(crate) struct Executable {
    /// Load bias: run-time address of virtual address 0.
    pub bias: usize,
    /// The dynamic section.
    pub dynamic: usize,
    /// `PT_GNU_RELRO`: start and length.
    pub relro: (usize, usize),
    /// `PT_TLS`: the initialisation image (start, `p_filesz`) that the C library
    /// copies into every new thread.
    pub tls: Option<ExeTls>,
    /// `PT_DYNAMIC`'s virtual address and size.
    pub dynamic_vaddr: (u64, u64),
    /// The `PT_LOAD` segments, in the executable's virtual addresses.
    pub loads: Vec<LoadSegment>,
}

/// The executable's `PT_TLS` initialisation image.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExeTls {
    pub image: usize,
    pub filesz: usize,
    /// `p_memsz`: the size of the executable's block in every thread.
    pub memsz: usize,
}

/// The running executable, read once.
pub(crate) fn executable() -> &'static Executable {
    static EXE: OnceLock<Executable> = OnceLock::new();
    EXE.get_or_init(read)
}

fn read() -> Executable {
    let ehdr = &raw const __ehdr_start as usize;
    // SAFETY: `__ehdr_start` is the executable's mapped ELF header; its program
    // headers are mapped too (the linker only defines the symbol when they are),
    // and every read below stays inside `phnum` headers of 56 bytes.
    unsafe {
        let word = |at: usize| (at as *const u64).read_unaligned();
        let phoff = word(ehdr + 32) as usize;
        let phnum = usize::from(((ehdr + 56) as *const u16).read_unaligned());
        let ph = |i: usize, field: usize| word(ehdr + phoff + i * 56 + field);
        let p_type = |i: usize| ((ehdr + phoff + i * 56) as *const u32).read_unaligned();
        // The segment that maps file offset 0 maps the ELF header: its p_vaddr is
        // where the header was linked, so the bias is the difference.
        let mut bias = ehdr;
        for i in 0..phnum {
            if p_type(i) == 1 && ph(i, 8) == 0 {
                bias = ehdr.wrapping_sub(ph(i, 16) as usize);
                break;
            }
        }
        let mut exe = Executable {
            bias,
            ..Executable::default()
        };
        for i in 0..phnum {
            let vaddr = ph(i, 16) as usize;
            let (filesz, memsz) = (ph(i, 32) as usize, ph(i, 40) as usize);
            match p_type(i) {
                1 => exe.loads.push(LoadSegment {
                    vaddr: vaddr as u64,
                    memsz: memsz as u64,
                    offset: ph(i, 8),
                    filesz: filesz as u64,
                    prot: Prot::from_flags(
                        ((ehdr + phoff + i * 56 + 4) as *const u32).read_unaligned(),
                    ),
                }),
                2 => {
                    // PT_DYNAMIC
                    exe.dynamic = bias.wrapping_add(vaddr);
                    exe.dynamic_vaddr = (vaddr as u64, memsz as u64);
                }
                7 => {
                    // PT_TLS
                    exe.tls = Some(ExeTls {
                        image: bias.wrapping_add(vaddr),
                        filesz,
                        memsz,
                    })
                }
                0x6474_e552 => exe.relro = (bias.wrapping_add(vaddr), memsz), // PT_GNU_RELRO
                _ => {}
            }
        }
        exe
    }
}

/// Run `write` with `[addr, addr + len)` of the executable writable, then restore
/// read-only protection if the range lies in its RELRO. Returns false (and does
/// not run `write`) if the protection could not be changed.
pub(crate) fn with_writable(addr: usize, len: usize, write: impl FnOnce()) -> bool {
    let (start, relro_len) = executable().relro;
    let in_relro = len > 0 && addr < start + relro_len && addr + len > start;
    if !in_relro {
        write();
        return true;
    }
    let page = 4096;
    let first = addr & !(page - 1);
    let last = (addr + len + page - 1) & !(page - 1);
    // SAFETY: the pages belong to the executable's RELRO, which holds no Rust
    // references that could be invalidated by a protection change; they are made
    // read-only again below.
    let opened = unsafe {
        rustix::mm::mprotect(
            first as *mut c_void,
            last - first,
            MprotectFlags::READ | MprotectFlags::WRITE,
        )
    };
    if opened.is_err() {
        return false;
    }
    write();
    // SAFETY: as above; RELRO is read-only in a running executable.
    let _ =
        unsafe { rustix::mm::mprotect(first as *mut c_void, last - first, MprotectFlags::READ) };
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_executable_describes_itself() {
        let exe = executable();
        // The test executable has thread-local storage (the static surplus).
        assert!(exe.tls.is_some_and(|t| t.filesz > 0));
        // This function lies in the executable: above the bias.
        let here = the_test_executable_describes_itself as *const () as usize;
        assert!(here > exe.bias);
        assert_ne!(exe.dynamic, 0, "a PIE has a dynamic section");
    }
}
