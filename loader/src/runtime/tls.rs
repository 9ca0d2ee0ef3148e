//! Thread-local storage for loaded objects (the dynamic TLS model).
//!
//! Owns the process-wide TLS module table (the one piece of global state the TLS
//! ABI forces: module ids written by `R_X86_64_DTPMOD64` must mean the same thing in
//! every thread), each thread's blocks, and `__tls_get_addr` / the TLS descriptor
//! resolver handed to plugins. Blocks are allocated lazily, on a thread's first
//! access to a module's TLS, from the module's `PT_TLS` initialisation image; they
//! are freed when the thread exits (after the thread's registered TLS destructors
//! ran) and, in every thread, when the module is unloaded.
//!
//! A module whose code uses initial-exec TLS (`R_X86_64_TPOFF64`) has its block
//! placed once in the static surplus (`static_tls`) instead, at the same offset
//! from every thread pointer; `__tls_get_addr` and descriptors then answer that
//! block. The entry points themselves (register conventions, the thread pointer)
//! are the architecture's (`arch`).
//!
//! Unsafe code is allowed in this module: per-thread TLS blocks are raw allocations
//! shared with plugin code, reached from the `__tls_get_addr` and descriptor entry
//! points.
#![allow(unsafe_code)]

use std::alloc::Layout;
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicPtr, Ordering};
use std::sync::Mutex;

use crate::arch::{Arch, Native};

/// `tls_index` of the x86-64 psABI: the argument of `__tls_get_addr`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TlsIndex {
    /// Module id (written by `R_X86_64_DTPMOD64`).
    pub module: usize,
    /// Offset inside the module's block (written by `R_X86_64_DTPOFF64`).
    pub offset: usize,
}

/// A module's `PT_TLS` image, as mapped, and where its blocks live.
#[derive(Clone, Copy)]
pub(crate) struct TlsImage {
    pub init: usize,
    pub filesz: usize,
    pub memsz: usize,
    pub align: usize,
    /// Set once the module's block is placed in the static surplus (initial-exec
    /// TLS): its offset from every thread pointer. Such a block is never
    /// allocated or freed per thread.
    pub static_tpoff: Option<isize>,
    /// Whether the image was written into every thread (the range is dirty).
    pub installed: bool,
    /// Whether some thread got a dynamic block of this module.
    pub dynamic_used: bool,
}

impl TlsImage {
    fn layout(&self) -> Layout {
        // Checked at registration: align is a power of two and memsz fits.
        Layout::from_size_align(self.memsz.max(1), self.align.max(16))
            .unwrap_or(Layout::new::<u128>())
    }
}

/// One thread's blocks: slot `i` is module `i`'s block, or null.
struct Slots {
    ptr: Box<[AtomicPtr<u8>]>,
}

/// Per-thread state, reachable by the owning thread through `CURRENT` and by an
/// unloading thread through `Table::threads`.
pub(crate) struct ThreadState {
    slots: AtomicPtr<Slots>,
}

struct Table {
    modules: Vec<Option<TlsImage>>,
    threads: Vec<*const ThreadState>,
}

// SAFETY: the raw `ThreadState` pointers are only dereferenced with `TABLE` locked,
// and a `ThreadState` is removed from the list (under the lock) before it is freed.
unsafe impl Send for Table {}

static TABLE: Mutex<Table> = Mutex::new(Table {
    modules: Vec::new(),
    threads: Vec::new(),
});

thread_local! {
    /// This thread's state (null until its first dynamic TLS access). No destructor,
    /// so it stays readable while other thread-local destructors run.
    static CURRENT: Cell<*const ThreadState> = const { Cell::new(std::ptr::null()) };
}

thread_local! {
    /// This thread's slot array as the entry points' fast path reads it: its
    /// address and length (zero until the thread's first dynamic TLS access, and
    /// again once the thread is past its exit).
    static FAST: Cell<[usize; 2]> = const { Cell::new([0, 0]) };
}

/// `FAST`'s offset from the thread pointer, the same in every thread, which
/// `arch`'s `__tls_get_addr` and descriptor entry points read (0: no fast path,
/// when the loader's thread-local storage is not the executable's own block).
#[export_name = "staticdl_tls_fast_tpoff"]
static FAST_TPOFF: AtomicIsize = AtomicIsize::new(0);

/// Publish this thread's slot array to the fast path.
fn publish(slots: &Slots) {
    FAST.with(|f| f.set([slots.ptr.as_ptr() as usize, slots.ptr.len()]));
    if FAST_TPOFF.load(Ordering::Relaxed) == 0 {
        let at = FAST.with(|f| f.as_ptr() as usize);
        let tpoff = at.wrapping_sub(<Native as Arch>::thread_pointer()) as isize;
        // Only inside the executable's own block (below the thread pointer, x86-64's
        // variant II) is the offset the same in every thread.
        let block = super::exe::executable().tls.map_or(0, |t| t.memsz) as isize;
        if tpoff < 0 && tpoff >= -block {
            FAST_TPOFF.store(tpoff, Ordering::Relaxed);
        }
    }
}

fn table() -> std::sync::MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Register a module's TLS image; returns its module id (never 0 or 1).
pub(crate) fn register(image: TlsImage) -> usize {
    let mut t = table();
    if t.modules.is_empty() {
        // Id 0 is never valid, and 1 is the executable's own block, as
        // `dl_iterate_phdr` reports it (glibc's numbering).
        t.modules.push(None);
        t.modules.push(None);
    }
    if let Some(free) = t.modules.iter().skip(2).position(|m| m.is_none()) {
        t.modules[free + 2] = Some(image);
        free + 2
    } else {
        t.modules.push(Some(image));
        t.modules.len() - 1
    }
}

/// Unregister module `id` and free its block in every thread (a static block
/// goes back to the surplus).
pub(crate) fn unregister(id: usize) {
    let mut t = table();
    let Some(image) = t.modules.get_mut(id).and_then(Option::take) else {
        return;
    };
    let layout = image.layout();
    for &ts in &t.threads {
        // SAFETY: registered thread states stay valid until removed under this lock.
        let slots = unsafe { &*(*ts).slots.load(Ordering::Acquire) };
        if let Some(slot) = slots.ptr.get(id) {
            let p = slot.swap(std::ptr::null_mut(), Ordering::AcqRel);
            if !p.is_null() && image.static_tpoff.is_none() {
                // SAFETY: `p` was allocated with this module's layout by `allocate`.
                unsafe { std::alloc::dealloc(p, layout) };
            }
        }
    }
    if let Some(tpoff) = image.static_tpoff {
        super::static_tls::release(tpoff, image.memsz, image.installed);
    }
}

/// Why a module's TLS cannot move to the static surplus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StaticError {
    /// Threads already use dynamic blocks of it.
    InUse,
    /// No room (or no surplus, or too strict an alignment).
    Reserve(super::static_tls::ReserveError),
}

/// Place module `id`'s block in the static surplus (if it is not there yet) and
/// return its offset from the thread pointer. Its image is written into the
/// threads by [`install_static`], once the module is relocated.
pub(crate) fn ensure_static(id: usize) -> Result<isize, StaticError> {
    let mut t = table();
    let Some(Some(image)) = t.modules.get_mut(id) else {
        return Err(StaticError::InUse);
    };
    if let Some(tpoff) = image.static_tpoff {
        return Ok(tpoff);
    }
    if image.dynamic_used {
        return Err(StaticError::InUse);
    }
    let tpoff =
        super::static_tls::reserve(image.memsz, image.align).map_err(StaticError::Reserve)?;
    image.static_tpoff = Some(tpoff);
    Ok(tpoff)
}

/// Module `id`'s block size and alignment (0, 1 for an unknown id).
pub(crate) fn shape(id: usize) -> (usize, usize) {
    table()
        .modules
        .get(id)
        .copied()
        .flatten()
        .map_or((0, 1), |m| (m.memsz, m.align))
}

/// Module `id`'s offset from the thread pointer, if its block is static.
pub(crate) fn static_tpoff(id: usize) -> Option<isize> {
    table().modules.get(id).copied().flatten()?.static_tpoff
}

/// Write module `id`'s initialisation image into its static block in every
/// thread and the TLS template (nothing for a module without one, or already
/// installed). Fails when threads exist that this host does not let the loader
/// reach and the image is not all zero.
pub(crate) fn install_static(id: usize) -> Result<(), super::threads::Unreachable> {
    let mut t = table();
    let Some(Some(image)) = t.modules.get_mut(id) else {
        return Ok(());
    };
    let Some(tpoff) = image.static_tpoff else {
        return Ok(());
    };
    if image.installed {
        return Ok(());
    }
    // SAFETY: the init image lies in the module's mapped PT_TLS segment (checked
    // at registration), mapped while the module is registered (the lock is held).
    let bytes = unsafe { std::slice::from_raw_parts(image.init as *const u8, image.filesz) };
    super::static_tls::install(tpoff, bytes, image.memsz)?;
    image.installed = true;
    Ok(())
}

/// The address of `index` in the calling thread, allocating its block if needed.
///
/// # Safety
/// `index.module` must be an id handed out by [`register`] whose module is still
/// loaded (the loader writes only such ids), and the caller must not hold the
/// block past the module's unload.
pub(crate) unsafe fn get_addr(index: &TlsIndex) -> *mut u8 {
    let ts = CURRENT.with(|c| c.get());
    if !ts.is_null() {
        // SAFETY: `ts` is this thread's own live state; only this thread replaces
        // its slot array, so the array read here is not freed concurrently.
        let slots = unsafe { &*(*ts).slots.load(Ordering::Acquire) };
        if let Some(slot) = slots.ptr.get(index.module) {
            let p = slot.load(Ordering::Acquire);
            if !p.is_null() {
                return p.wrapping_add(index.offset);
            }
        }
    }
    allocate(index.module).wrapping_add(index.offset)
}

#[cold]
fn allocate(id: usize) -> *mut u8 {
    let mut t = table();
    let Some(image) = t.modules.get_mut(id).and_then(Option::as_mut) else {
        // A module id the loader never wrote: the object's code is corrupt or was
        // unloaded while still running. Nothing sane can be returned.
        eprintln!("staticdl: __tls_get_addr called with unknown TLS module id {id}");
        std::process::abort();
    };
    if image.static_tpoff.is_none() {
        image.dynamic_used = true;
    }
    let image = *image;
    let ts = current_or_create(&mut t);
    // SAFETY: as in `get_addr`; additionally the table lock is held.
    let slots = unsafe { &*(*ts).slots.load(Ordering::Acquire) };
    let slots = if id < slots.ptr.len() {
        slots
    } else {
        let len = (id + 1).max(slots.ptr.len() * 2).max(8);
        let grown: Box<[AtomicPtr<u8>]> = (0..len)
            .map(|i| {
                AtomicPtr::new(
                    slots
                        .ptr
                        .get(i)
                        .map_or(std::ptr::null_mut(), |s| s.load(Ordering::Acquire)),
                )
            })
            .collect();
        let new = Box::into_raw(Box::new(Slots { ptr: grown }));
        // SAFETY: `ts` is this thread's state; the old array is replaced and freed
        // with the table lock held, so no unloading thread is reading it.
        let new = unsafe {
            let old = (*ts).slots.swap(new, Ordering::AcqRel);
            FAST.with(|f| f.set([0, 0]));
            drop(Box::from_raw(old));
            &*new
        };
        publish(new);
        new
    };
    if let Some(tpoff) = image.static_tpoff {
        // This thread's static block: at the offset every thread shares.
        let block = <Native as Arch>::thread_pointer().wrapping_add(tpoff as usize) as *mut u8;
        slots.ptr[id].store(block, Ordering::Release);
        return block;
    }
    let layout = image.layout();
    // SAFETY: the layout has non-zero size.
    let block = unsafe { std::alloc::alloc(layout) };
    if block.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY: `block` has `memsz` bytes; the init image (`filesz` <= `memsz`, checked
    // at registration) lies in the module's mapped PT_TLS segment, which stays
    // mapped while the module is registered (the table lock is held).
    unsafe {
        std::ptr::copy_nonoverlapping(image.init as *const u8, block, image.filesz);
        std::ptr::write_bytes(block.add(image.filesz), 0, image.memsz - image.filesz);
    }
    slots.ptr[id].store(block, Ordering::Release);
    block
}

fn current_or_create(t: &mut Table) -> *const ThreadState {
    let ts = CURRENT.with(|c| c.get());
    if !ts.is_null() {
        return ts;
    }
    let slots = Box::into_raw(Box::new(Slots {
        ptr: Vec::new().into_boxed_slice(),
    }));
    let ts: *const ThreadState = Box::into_raw(Box::new(ThreadState {
        slots: AtomicPtr::new(slots),
    }));
    t.threads.push(ts);
    CURRENT.with(|c| c.set(ts));
    // SAFETY: the array was just made for this thread's state.
    publish(unsafe { &*slots });
    super::arm_thread_exit();
    ts
}

/// Free the calling thread's blocks; called once at thread exit, after the
/// thread's registered TLS destructors ran.
pub(crate) fn thread_exit() {
    FAST.with(|f| f.set([0, 0]));
    let ts = CURRENT.with(|c| c.replace(std::ptr::null()));
    if ts.is_null() {
        return;
    }
    let mut t = table();
    t.threads.retain(|&x| x != ts);
    let modules = t.modules.clone();
    drop(t);
    // SAFETY: `ts` was removed from the list under the lock, so no unloading
    // thread can reach it any more; this thread owns it.
    let state = unsafe { Box::from_raw(ts as *mut ThreadState) };
    // SAFETY: the slot array is owned by `state`.
    let slots = unsafe { Box::from_raw(state.slots.load(Ordering::Acquire)) };
    for (id, slot) in slots.ptr.iter().enumerate() {
        let p = slot.load(Ordering::Acquire);
        if let (false, Some(Some(image))) = (p.is_null(), modules.get(id)) {
            if image.static_tpoff.is_none() {
                // SAFETY: allocated by `allocate` with this module's layout.
                unsafe { std::alloc::dealloc(p, image.layout()) };
            }
        }
    }
}

/// The calling thread's block of module `id`, if it was allocated, or static
/// (for `dlpi_tls_data`).
pub(crate) fn block_if_allocated(id: usize) -> *mut u8 {
    if let Some(Some(image)) = table().modules.get(id) {
        if let Some(tpoff) = image.static_tpoff {
            return <Native as Arch>::thread_pointer().wrapping_add(tpoff as usize) as *mut u8;
        }
    }
    let ts = CURRENT.with(|c| c.get());
    if ts.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: this thread's own state, as in `get_addr`.
    let slots = unsafe { &*(*ts).slots.load(Ordering::Acquire) };
    slots
        .ptr
        .get(id)
        .map_or(std::ptr::null_mut(), |s| s.load(Ordering::Acquire))
}

/// The Rust side of `__tls_get_addr` and of the TLS descriptor resolver: the
/// architecture's entry points (`arch`) call it by this name, after aligning the
/// stack and (for descriptors) saving the registers the ABI says they preserve.
///
/// # Safety
/// `index` points at a `tls_index` the loader relocated for a loaded object.
#[export_name = "staticdl_tls_get_addr_slow"]
unsafe extern "C" fn tls_get_addr_impl(index: *const TlsIndex) -> *mut u8 {
    // SAFETY: plugins pass a pointer to a `tls_index` pair the loader relocated.
    unsafe { get_addr(&*index) }
}

/// The address of the loader's `__tls_get_addr`, to hand to plugins that import it
/// (from `ld-linux-x86-64.so.2`, version `GLIBC_2.3`).
///
/// ```
/// assert_ne!(staticdl_loader::runtime::tls_get_addr_address(), 0);
/// ```
pub fn tls_get_addr_address() -> usize {
    // Referenced here so that the linker keeps the Rust side the entry calls.
    std::hint::black_box(tls_get_addr_impl as unsafe extern "C" fn(*const TlsIndex) -> *mut u8);
    <Native as Arch>::tls_get_addr()
}
