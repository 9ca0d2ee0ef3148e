//! The scoreboard: a small table in shared memory that the supervisor and its
//! worker processes all see, one slot per worker.
//!
//! A worker writes into its slot what it is doing, before doing it: which
//! request it is serving and which plugin handler it is calling (or which
//! plugin file it is loading), with the time the call started. That is how a
//! crash is attributed: when a worker dies by a signal, its slot still names
//! the plugin, route and handler that were running, and the supervisor reads it
//! after reaping the process. It is also how a handler that runs too long is
//! noticed (`guard.rs` in the worker, the supervisor as a backstop), and what
//! `GET /` and `GET /builtin/workers` report: workers, pids, requests and
//! restarts.
//!
//! The memory is one anonymous `MAP_SHARED` mapping made by the supervisor
//! before it forks (so every worker inherits it) and never unmapped. Everything
//! in it is an atomic integer: zero-filled memory is a valid board, and no
//! process can observe a torn value. The description text is written with a
//! sequence counter (a seqlock), so a reader retries rather than read a
//! description being rewritten.
//!
//! The board also holds the quarantine: plugin file versions that crashed a
//! worker while it was loading them (in their `init`). The supervisor adds
//! them; a worker skips them, so that one broken plugin does not crash every
//! new worker in turn.
//!
//! Owns the layout and the phase word protocol. It does not fork, reap or
//! signal anything (`supervisor.rs`), nor answer requests (`guard.rs`).

#![allow(unsafe_code)] // one mmap, turned into a `&'static` board once; clock_gettime(3)

use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};

/// Bytes of a slot's description of what its worker is doing (a multiple of
/// 8: it is stored in words).
const WHAT_BYTES: usize = 240;
/// Plugin versions the quarantine holds (a full quarantine takes no more).
const QUARANTINE: usize = 32;

/// A plugin file version: device, inode, size, modification time (ns).
pub type FileVersion = [u64; 4];

/// What a worker is doing: the low byte of its phase word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Waiting for a connection or a request.
    Idle = 0,
    /// Answering a request in the server's own code.
    Serving = 1,
    /// Inside a plugin's handler.
    Calling = 2,
    /// Loading or unloading plugins (their `init` and `fini` run here).
    Loading = 3,
}

impl Phase {
    fn from_bits(bits: u64) -> Phase {
        match bits & 0xff {
            1 => Phase::Serving,
            2 => Phase::Calling,
            3 => Phase::Loading,
            _ => Phase::Idle,
        }
    }
}

/// Set in the phase word when the watchdog answered the request with a 504.
pub const TIMED_OUT: u64 = 1 << 8;
/// Set in the phase word when the crash handler answered the request with a 502.
pub const CRASHED: u64 = 1 << 9;
const TAKEN: u64 = TIMED_OUT | CRASHED;
/// Each phase change that starts a call or a load counts up here (bits
/// 32..64), so that a compare-and-swap never mistakes a new call for an old one.
const GENERATION: u64 = 1 << 32;

/// A phase word read from a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State(u64);

impl State {
    /// What the worker was doing.
    pub fn phase(self) -> Phase {
        Phase::from_bits(self.0)
    }

    /// Whether a guard (the watchdog or the crash handler) answered the
    /// request, and which: `TIMED_OUT` or `CRASHED`.
    pub fn taken(self) -> Option<u64> {
        let flags = self.0 & TAKEN;
        (flags != 0).then_some(flags)
    }
}

/// One worker's slot.
#[repr(C)]
pub struct Slot {
    pid: AtomicI32,
    /// Phase (low byte), guard flags, generation (high half).
    state: AtomicU64,
    /// `CLOCK_MONOTONIC` nanoseconds when the current call or load started.
    since_ns: AtomicU64,
    /// `CLOCK_MONOTONIC` nanoseconds when this worker was started.
    born_ns: AtomicU64,
    /// Requests this worker answered.
    served: AtomicU64,
    /// How many times this slot's worker was replaced.
    restarts: AtomicU64,
    /// Odd while `what` is being written.
    seq: AtomicU64,
    what_len: AtomicU32,
    /// The description's bytes, eight to a word (little-endian).
    what: [AtomicU64; WHAT_BYTES / 8],
    /// The plugin file version being loaded, while `Loading`.
    loading: [AtomicU64; 4],
}

/// Counts over every slot, kept by the supervisor.
#[repr(C)]
pub struct Totals {
    /// Workers replaced, for any reason.
    pub restarts: AtomicU64,
    /// Workers that died by a signal (a crash, or killed from outside).
    pub signals: AtomicU64,
    /// Workers recycled because a handler ran past the deadline.
    pub timeouts: AtomicU64,
    /// Workers that exited on their own (a plugin called `exit`, say).
    pub exits: AtomicU64,
}

/// A plugin file version that crashed a worker while loading.
#[repr(C)]
struct Quarantined {
    /// Set once `version` and `signal` are written.
    used: AtomicU32,
    signal: AtomicI32,
    version: [AtomicU64; 4],
}

#[repr(C)]
struct Header {
    totals: Totals,
    workers: AtomicU32,
    quarantine: [Quarantined; QUARANTINE],
}

/// The scoreboard: shared by the supervisor and every worker.
#[derive(Clone, Copy)]
pub struct Board {
    header: &'static Header,
    slots: &'static [Slot],
}

/// `CLOCK_MONOTONIC` now, in nanoseconds: the same clock in every process.
///
/// From the C library rather than rustix: rustix finds the vDSO through the
/// auxiliary vector itself, which faults under valgrind (it hides the vDSO),
/// and a server whose plugins are being debugged must run there.
pub fn now_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    (t.tv_sec as u64).saturating_mul(1_000_000_000) + t.tv_nsec as u64
}

impl Board {
    /// A zeroed board for `workers` slots, in memory that processes forked
    /// from this one share.
    pub fn new(workers: usize) -> std::io::Result<Board> {
        let slots_at = std::mem::size_of::<Header>().next_multiple_of(std::mem::align_of::<Slot>());
        let len = slots_at + workers.max(1) * std::mem::size_of::<Slot>();
        // SAFETY: a fresh anonymous mapping at an address the kernel picks
        // touches no existing memory.
        let base = unsafe {
            mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
            )?
        };
        // SAFETY: the mapping is `len` bytes, page-aligned (so aligned for
        // `Header` and, at `slots_at`, for `Slot`), zero-filled by the kernel
        // (all-zero bytes are a valid value of every atomic integer these
        // types are made of), and never unmapped, so `'static` holds. Every
        // access goes through atomics, so sharing it between threads and
        // processes races on nothing.
        let (header, slots) = unsafe {
            let header = &*base.cast::<Header>();
            let slots =
                std::slice::from_raw_parts(base.cast::<u8>().add(slots_at).cast::<Slot>(), workers);
            (header, slots)
        };
        header.workers.store(workers as u32, Ordering::Relaxed);
        Ok(Board { header, slots })
    }

    /// Every slot, by worker index.
    pub fn slots(&self) -> &'static [Slot] {
        self.slots
    }

    /// Slot `index`.
    pub fn slot(&self, index: usize) -> &'static Slot {
        &self.slots[index]
    }

    /// The counts over all workers.
    pub fn totals(&self) -> &'static Totals {
        &self.header.totals
    }

    /// How many workers the server runs.
    pub fn workers(&self) -> usize {
        self.header.workers.load(Ordering::Relaxed) as usize
    }

    /// How many workers are running now.
    pub fn running(&self) -> usize {
        self.slots.iter().filter(|s| s.pid().is_some()).count()
    }

    /// Records that `version` crashed a worker (by `signal`) while it was
    /// being loaded. Only the supervisor calls this. Returns false if the
    /// quarantine is full.
    pub fn quarantine(&self, version: FileVersion, signal: i32) -> bool {
        if self.quarantined(version).is_some() {
            return true;
        }
        let Some(free) = self
            .header
            .quarantine
            .iter()
            .find(|q| q.used.load(Ordering::Acquire) == 0)
        else {
            return false;
        };
        for (field, value) in free.version.iter().zip(version) {
            field.store(value, Ordering::Relaxed);
        }
        free.signal.store(signal, Ordering::Relaxed);
        free.used.store(1, Ordering::Release);
        true
    }

    /// The signal by which `version` crashed a worker while loading, if it did.
    pub fn quarantined(&self, version: FileVersion) -> Option<i32> {
        self.header
            .quarantine
            .iter()
            .take_while(|q| q.used.load(Ordering::Acquire) == 1)
            .find(|q| {
                q.version
                    .iter()
                    .zip(version)
                    .all(|(field, value)| field.load(Ordering::Relaxed) == value)
            })
            .map(|q| q.signal.load(Ordering::Relaxed))
    }
}

impl Slot {
    /// The worker's process id, if one is running in this slot.
    pub fn pid(&self) -> Option<i32> {
        Some(self.pid.load(Ordering::Acquire)).filter(|&p| p > 0)
    }

    /// A new worker `pid` runs in this slot (or none: 0).
    pub fn set_pid(&self, pid: i32) {
        self.pid.store(pid, Ordering::Release);
    }

    /// Resets what the previous worker of this slot left, for a new one.
    pub fn reset(&self) {
        self.state.store(0, Ordering::Release);
        self.served.store(0, Ordering::Relaxed);
        self.what_len.store(0, Ordering::Release);
        self.born_ns.store(now_ns(), Ordering::Relaxed);
    }

    /// The phase word.
    pub fn state(&self) -> State {
        State(self.state.load(Ordering::Acquire))
    }

    /// How long the current call or load has been running.
    pub fn running_for(&self) -> Duration {
        Duration::from_nanos(now_ns().saturating_sub(self.since_ns.load(Ordering::Acquire)))
    }

    /// How long this slot's worker has been running.
    pub fn uptime(&self) -> Duration {
        Duration::from_nanos(now_ns().saturating_sub(self.born_ns.load(Ordering::Relaxed)))
    }

    /// Requests answered by this slot's worker.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Counts one answered request.
    pub fn count_served(&self) {
        self.served.fetch_add(1, Ordering::Relaxed);
    }

    /// How many times this slot's worker was replaced.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Counts one replacement.
    pub fn count_restart(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts a call or a load (`phase`), described by the concatenation of
    /// `what` (cut to fit): the description is complete before the phase
    /// says it applies.
    pub fn begin(&self, phase: Phase, what: &[&[u8]]) {
        self.describe(what);
        self.since_ns.store(now_ns(), Ordering::Release);
        let old = self.state.load(Ordering::Relaxed);
        let generation = (old & !(GENERATION - 1)).wrapping_add(GENERATION);
        self.state
            .store(generation | phase as u64, Ordering::Release);
    }

    /// Starts loading plugin file `version`, described by `what`.
    pub fn begin_load(&self, what: &[&[u8]], version: FileVersion) {
        for (field, value) in self.loading.iter().zip(version) {
            field.store(value, Ordering::Relaxed);
        }
        self.begin(Phase::Loading, what);
    }

    /// The plugin file version the worker was loading (meaningful in the
    /// `Loading` phase).
    pub fn loading(&self) -> FileVersion {
        std::array::from_fn(|i| self.loading[i].load(Ordering::Acquire))
    }

    /// Moves to `phase` without a new description (from a call back to
    /// serving, from serving to idle). Returns false, changing nothing, if a
    /// guard has answered the request meanwhile.
    pub fn set_phase(&self, phase: Phase) -> bool {
        self.state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s & TAKEN == 0).then_some((s & !0xff) | phase as u64)
            })
            .is_ok()
    }

    /// For a guard: marks the request answered by it (`flag`: `TIMED_OUT` or
    /// `CRASHED`) if the phase word is still `expected` (or, with `None`, if
    /// the worker is serving or calling and no guard has answered). Returns
    /// whether this guard won: only the winner writes to the connection.
    pub fn take(&self, expected: Option<State>, flag: u64) -> bool {
        self.state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                let ok = match expected {
                    Some(State(e)) => s == e,
                    None => {
                        s & TAKEN == 0
                            && matches!(Phase::from_bits(s), Phase::Serving | Phase::Calling)
                    }
                };
                ok.then_some(s | flag)
            })
            .is_ok()
    }

    fn describe(&self, parts: &[&[u8]]) {
        // Assembled on the stack, then stored a word at a time: this runs
        // before every plugin call.
        let mut bytes = [0u8; WHAT_BYTES];
        let mut len = 0;
        for part in parts {
            let n = part.len().min(WHAT_BYTES - len);
            bytes[len..len + n].copy_from_slice(&part[..n]);
            len += n;
        }
        self.seq.fetch_add(1, Ordering::AcqRel);
        for (word, chunk) in self
            .what
            .iter()
            .zip(bytes[..len.next_multiple_of(8)].chunks_exact(8))
        {
            let value = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            word.store(value, Ordering::Relaxed);
        }
        self.what_len.store(len as u32, Ordering::Release);
        self.seq.fetch_add(1, Ordering::AcqRel);
    }

    /// The last description written (a request and handler, or a file being
    /// loaded); empty if none.
    pub fn what(&self) -> String {
        for _ in 0..100 {
            let before = self.seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let len = (self.what_len.load(Ordering::Acquire) as usize).min(WHAT_BYTES);
            let mut bytes: Vec<u8> = self
                .what
                .iter()
                .flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes())
                .collect();
            bytes.truncate(len);
            if self.seq.load(Ordering::Acquire) == before {
                return String::from_utf8_lossy(&bytes).into_owned();
            }
        }
        "(being rewritten)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_and_guards() {
        let board = Board::new(2).unwrap();
        assert_eq!((board.workers(), board.running()), (2, 0));
        let slot = board.slot(1);
        slot.set_pid(42);
        assert_eq!((slot.pid(), board.running()), (Some(42), 1));
        assert!(!slot.take(None, CRASHED), "nothing to take while idle");

        slot.begin(Phase::Calling, &[b"GET /x", b" -> ", b"plugin"]);
        assert_eq!(slot.what(), "GET /x -> plugin");
        let calling = slot.state();
        assert_eq!((calling.phase(), calling.taken()), (Phase::Calling, None));
        // The call ends and a new one starts: the old word no longer matches.
        assert!(slot.set_phase(Phase::Serving));
        slot.begin(Phase::Calling, &[b"GET /y"]);
        assert!(!slot.take(Some(calling), TIMED_OUT));
        assert!(slot.take(Some(slot.state()), TIMED_OUT));
        assert_eq!(slot.state().taken(), Some(TIMED_OUT));
        assert!(
            !slot.set_phase(Phase::Serving),
            "a taken request stays taken"
        );
        assert!(!slot.take(None, CRASHED), "one guard answers");
        assert_eq!(slot.state().phase(), Phase::Calling);

        slot.begin_load(&[b"loading libx.so"], [1, 2, 3, 4]);
        assert_eq!(slot.loading(), [1, 2, 3, 4]);
        assert_eq!(board.quarantined([1, 2, 3, 4]), None);
        assert!(board.quarantine(slot.loading(), 11));
        assert!(board.quarantine([1, 2, 3, 4], 11), "already there");
        assert_eq!(board.quarantined([1, 2, 3, 4]), Some(11));
        assert_eq!(board.quarantined([1, 2, 3, 5]), None);
        for i in 1..QUARANTINE as u64 {
            assert!(board.quarantine([9, i, 0, 0], 6));
        }
        assert!(!board.quarantine([10, 0, 0, 0], 6), "full");

        let long = [b'a'; 400];
        slot.begin(Phase::Loading, &[b"x", &long]);
        assert_eq!(slot.what(), format!("x{}", "a".repeat(WHAT_BYTES - 1)));
        slot.begin(Phase::Loading, &[b"loading ", b"libabcdefghi.so"]);
        assert_eq!(slot.what(), "loading libabcdefghi.so");
    }
}
