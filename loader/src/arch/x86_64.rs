//! The x86-64 machine (System V psABI, AMD64 supplement).
//!
//! Owns everything the loader knows about x86-64 in particular: the machine
//! number and page size, the mapping from `R_X86_64_*` numbers (table 4.9) to
//! [`RelocKind`] and their names, the TLS descriptor size, the system library
//! directories of the Debian multiarch layout, the TLS entry points handed to
//! plugins (`__tls_get_addr` and the TLS descriptor resolvers, with the register
//! conventions they must keep), and the stub table (`runtime/stubs.rs`). Types that only appear in relocatable
//! objects or executables (GOT-relative, PLT32, `R_X86_64_COPY`) are either
//! mapped to `Unknown` or refused by the generic code.
//!
//! Unsafe code is allowed in this module: the TLS entry points are assembly with the
//! register conventions the psABI fixes.
#![allow(unsafe_code)]

use object::elf;

use super::{Arch, RelocKind};

/// The x86-64 machine.
pub(crate) struct X86_64;

// `__tls_get_addr` is called from general-dynamic code sequences that do not
// guarantee a 16-byte aligned stack (older compilers), so the entry point realigns
// it before entering Rust. The TLS descriptor resolver must preserve every register
// but %rax (and the flags), so it saves the caller-saved ones, including the SSE
// registers, around the call; it returns the address minus the thread pointer.
std::arch::global_asm!(
    ".pushsection .text.staticdl_tls,\"ax\",@progbits",
    ".p2align 4",
    ".globl staticdl_tls_get_addr",
    ".hidden staticdl_tls_get_addr",
    ".hidden staticdl_tls_fast_tpoff",
    ".type staticdl_tls_get_addr,@function",
    "staticdl_tls_get_addr:",
    // Fast path: this thread's block of the module is allocated already.
    "    mov rcx, qword ptr [rip + staticdl_tls_fast_tpoff]",
    "    test rcx, rcx",
    "    jz 1f",
    "    mov rax, qword ptr [rdi]",
    "    cmp rax, qword ptr fs:[rcx + 8]",
    "    jae 1f",
    "    mov rdx, qword ptr fs:[rcx]",
    "    mov rax, qword ptr [rdx + rax * 8]",
    "    test rax, rax",
    "    jz 1f",
    "    add rax, qword ptr [rdi + 8]",
    "    ret",
    "1:",
    "    push rbp",
    "    mov rbp, rsp",
    "    and rsp, -16",
    "    call staticdl_tls_get_addr_slow",
    "    mov rsp, rbp",
    "    pop rbp",
    "    ret",
    ".size staticdl_tls_get_addr, .-staticdl_tls_get_addr",
    ".p2align 4",
    ".globl staticdl_tlsdesc_dynamic",
    ".hidden staticdl_tlsdesc_dynamic",
    ".type staticdl_tlsdesc_dynamic,@function",
    "staticdl_tlsdesc_dynamic:",
    // Fast path, as above, with every register but %rax kept.
    "    push rcx",
    "    push rdx",
    "    mov rdx, qword ptr [rax + 8]",
    "    mov rcx, qword ptr [rip + staticdl_tls_fast_tpoff]",
    "    test rcx, rcx",
    "    jz 2f",
    "    push rax",
    "    mov rax, qword ptr [rdx]",
    "    cmp rax, qword ptr fs:[rcx + 8]",
    "    jae 3f",
    "    mov rcx, qword ptr fs:[rcx]",
    "    mov rax, qword ptr [rcx + rax * 8]",
    "    test rax, rax",
    "    jz 3f",
    "    add rax, qword ptr [rdx + 8]",
    "    sub rax, qword ptr fs:0",
    "    add rsp, 8",
    "    pop rdx",
    "    pop rcx",
    "    ret",
    "3:",
    "    pop rax",
    "2:",
    "    pop rdx",
    "    pop rcx",
    "    push rbp",
    "    mov rbp, rsp",
    "    and rsp, -16",
    "    sub rsp, 320",
    "    mov [rsp + 0], rdi",
    "    mov [rsp + 8], rsi",
    "    mov [rsp + 16], rdx",
    "    mov [rsp + 24], rcx",
    "    mov [rsp + 32], r8",
    "    mov [rsp + 40], r9",
    "    mov [rsp + 48], r10",
    "    mov [rsp + 56], r11",
    "    movdqu [rsp + 64], xmm0",
    "    movdqu [rsp + 80], xmm1",
    "    movdqu [rsp + 96], xmm2",
    "    movdqu [rsp + 112], xmm3",
    "    movdqu [rsp + 128], xmm4",
    "    movdqu [rsp + 144], xmm5",
    "    movdqu [rsp + 160], xmm6",
    "    movdqu [rsp + 176], xmm7",
    "    movdqu [rsp + 192], xmm8",
    "    movdqu [rsp + 208], xmm9",
    "    movdqu [rsp + 224], xmm10",
    "    movdqu [rsp + 240], xmm11",
    "    movdqu [rsp + 256], xmm12",
    "    movdqu [rsp + 272], xmm13",
    "    movdqu [rsp + 288], xmm14",
    "    movdqu [rsp + 304], xmm15",
    "    mov rdi, [rax + 8]",
    "    call staticdl_tls_get_addr_slow",
    "    sub rax, fs:0",
    "    mov rdi, [rsp + 0]",
    "    mov rsi, [rsp + 8]",
    "    mov rdx, [rsp + 16]",
    "    mov rcx, [rsp + 24]",
    "    mov r8, [rsp + 32]",
    "    mov r9, [rsp + 40]",
    "    mov r10, [rsp + 48]",
    "    mov r11, [rsp + 56]",
    "    movdqu xmm0, [rsp + 64]",
    "    movdqu xmm1, [rsp + 80]",
    "    movdqu xmm2, [rsp + 96]",
    "    movdqu xmm3, [rsp + 112]",
    "    movdqu xmm4, [rsp + 128]",
    "    movdqu xmm5, [rsp + 144]",
    "    movdqu xmm6, [rsp + 160]",
    "    movdqu xmm7, [rsp + 176]",
    "    movdqu xmm8, [rsp + 192]",
    "    movdqu xmm9, [rsp + 208]",
    "    movdqu xmm10, [rsp + 224]",
    "    movdqu xmm11, [rsp + 240]",
    "    movdqu xmm12, [rsp + 256]",
    "    movdqu xmm13, [rsp + 272]",
    "    movdqu xmm14, [rsp + 288]",
    "    movdqu xmm15, [rsp + 304]",
    "    mov rsp, rbp",
    "    pop rbp",
    "    ret",
    ".size staticdl_tlsdesc_dynamic, .-staticdl_tlsdesc_dynamic",
    // A descriptor of static (initial-exec) TLS: its argument already is the
    // offset from the thread pointer.
    ".p2align 4",
    ".globl staticdl_tlsdesc_static",
    ".hidden staticdl_tlsdesc_static",
    ".type staticdl_tlsdesc_static,@function",
    "staticdl_tlsdesc_static:",
    "    mov rax, [rax + 8]",
    "    ret",
    ".size staticdl_tlsdesc_static, .-staticdl_tlsdesc_static",
    ".popsection",
);

// The stub table: `STUBS` entries of 16 bytes in `.text`, entry `i` putting `i`
// in %r11 (a scratch register no call passes arguments in) and jumping through
// slot `i` of the runtime's target table, so every argument register, the stack
// and the return address reach the target untouched. No code is ever generated
// or patched: a stub is given a meaning by writing its target slot (data). The
// trap target reports which symbol the stub stands for and aborts.
std::arch::global_asm!(
    ".pushsection .text.staticdl_stubs,\"ax\",@progbits",
    ".p2align 4",
    ".globl staticdl_stub_table",
    ".hidden staticdl_stub_table",
    "staticdl_stub_table:",
    ".set staticdl_stub_index, 0",
    ".rept {count}",
    "    movl $staticdl_stub_index, %r11d",
    "    jmp staticdl_stub_dispatch",
    "    .balign 16, 0xcc",
    "    .set staticdl_stub_index, staticdl_stub_index + 1",
    ".endr",
    "staticdl_stub_dispatch:",
    "    leaq staticdl_stub_targets(%rip), %r10",
    "    jmpq *(%r10,%r11,8)",
    ".p2align 4",
    ".globl staticdl_stub_trap",
    ".hidden staticdl_stub_trap",
    ".type staticdl_stub_trap,@function",
    "staticdl_stub_trap:",
    "    movq %r11, %rdi",
    "    andq $-16, %rsp",
    "    call staticdl_stub_trap_slow",
    "    ud2",
    ".size staticdl_stub_trap, .-staticdl_stub_trap",
    ".popsection",
    count = const crate::runtime::STUBS,
    options(att_syntax),
);

extern "C" {
    fn staticdl_stub_table();
    fn staticdl_stub_trap();
    fn staticdl_tls_get_addr();
    fn staticdl_tlsdesc_dynamic();
    fn staticdl_tlsdesc_static();
}

const NAMES: &[(u32, &str, RelocKind)] = &[
    (elf::R_X86_64_NONE.0, "R_X86_64_NONE", RelocKind::None),
    (elf::R_X86_64_64.0, "R_X86_64_64", RelocKind::Absolute),
    (elf::R_X86_64_PC32.0, "R_X86_64_PC32", RelocKind::Pc32),
    (elf::R_X86_64_COPY.0, "R_X86_64_COPY", RelocKind::Copy),
    (
        elf::R_X86_64_GLOB_DAT.0,
        "R_X86_64_GLOB_DAT",
        RelocKind::GlobDat,
    ),
    (
        elf::R_X86_64_JUMP_SLOT.0,
        "R_X86_64_JUMP_SLOT",
        RelocKind::JumpSlot,
    ),
    (
        elf::R_X86_64_RELATIVE.0,
        "R_X86_64_RELATIVE",
        RelocKind::Relative,
    ),
    (elf::R_X86_64_32.0, "R_X86_64_32", RelocKind::Abs32),
    (elf::R_X86_64_32S.0, "R_X86_64_32S", RelocKind::Abs32Signed),
    (
        elf::R_X86_64_DTPMOD64.0,
        "R_X86_64_DTPMOD64",
        RelocKind::DtpMod,
    ),
    (
        elf::R_X86_64_DTPOFF64.0,
        "R_X86_64_DTPOFF64",
        RelocKind::DtpOff,
    ),
    (
        elf::R_X86_64_TPOFF64.0,
        "R_X86_64_TPOFF64",
        RelocKind::TpOff,
    ),
    (
        elf::R_X86_64_DTPOFF32.0,
        "R_X86_64_DTPOFF32",
        RelocKind::Tls,
    ),
    (
        elf::R_X86_64_TPOFF32.0,
        "R_X86_64_TPOFF32",
        RelocKind::TpOff32,
    ),
    (elf::R_X86_64_PC64.0, "R_X86_64_PC64", RelocKind::Pc64),
    (
        elf::R_X86_64_TLSDESC.0,
        "R_X86_64_TLSDESC",
        RelocKind::TlsDesc,
    ),
    (
        elf::R_X86_64_IRELATIVE.0,
        "R_X86_64_IRELATIVE",
        RelocKind::IRelative,
    ),
    (
        elf::R_X86_64_RELATIVE64.0,
        "R_X86_64_RELATIVE64",
        RelocKind::Relative,
    ),
];

impl Arch for X86_64 {
    const MACHINE: u16 = elf::EM_X86_64.0;
    const NAME: &'static str = "x86-64";
    const PAGE_SIZE: u64 = 4096;
    const RELATIVE: u32 = elf::R_X86_64_RELATIVE.0;
    const TLSDESC_SIZE: u64 = 16;
    // Debian's multiarch layout first, as its ld.so.conf has them.
    const SYSTEM_DIRS: &'static [&'static str] = &[
        "/lib/x86_64-linux-gnu",
        "/usr/lib/x86_64-linux-gnu",
        "/lib64",
        "/usr/lib64",
        "/lib",
        "/usr/lib",
    ];

    fn tls_get_addr() -> usize {
        staticdl_tls_get_addr as *const () as usize
    }

    fn tlsdesc_dynamic() -> usize {
        staticdl_tlsdesc_dynamic as *const () as usize
    }

    const STUB_SIZE: usize = 16;

    fn stub_table() -> usize {
        staticdl_stub_table as *const () as usize
    }

    fn stub_trap() -> usize {
        staticdl_stub_trap as *const () as usize
    }

    fn tlsdesc_static() -> usize {
        staticdl_tlsdesc_static as *const () as usize
    }

    #[inline]
    fn thread_pointer() -> usize {
        let tp: usize;
        // SAFETY: on x86-64 Linux `%fs:0` holds the thread pointer itself (the
        // TCB's self pointer, which both musl and glibc keep), readable by every
        // thread.
        unsafe {
            std::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) tp, options(nostack, readonly, preserves_flags))
        };
        tp
    }

    #[inline]
    fn kind(r_type: u32) -> RelocKind {
        // The common types first, without a table walk: this runs per relocation.
        const RELATIVE: u32 = elf::R_X86_64_RELATIVE.0;
        const GLOB_DAT: u32 = elf::R_X86_64_GLOB_DAT.0;
        const JUMP_SLOT: u32 = elf::R_X86_64_JUMP_SLOT.0;
        const ABSOLUTE: u32 = elf::R_X86_64_64.0;
        match r_type {
            RELATIVE => RelocKind::Relative,
            GLOB_DAT => RelocKind::GlobDat,
            JUMP_SLOT => RelocKind::JumpSlot,
            ABSOLUTE => RelocKind::Absolute,
            _ => NAMES
                .iter()
                .find(|e| e.0 == r_type)
                .map_or(RelocKind::Unknown, |e| e.2),
        }
    }

    fn name(r_type: u32) -> String {
        NAMES
            .iter()
            .find(|e| e.0 == r_type)
            .map_or_else(|| format!("type {r_type}"), |e| e.1.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_kinds() {
        assert_eq!(X86_64::kind(8), RelocKind::Relative);
        assert_eq!(X86_64::kind(7), RelocKind::JumpSlot);
        assert_eq!(X86_64::kind(5), RelocKind::Copy);
        assert_eq!(X86_64::kind(999), RelocKind::Unknown);
        assert_eq!(X86_64::name(37), "R_X86_64_IRELATIVE");
        assert_eq!(X86_64::name(999), "type 999");
    }
}
