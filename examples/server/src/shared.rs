//! What everything that serves requests in one process shares: the current
//! routing table (swapped whole by the code that reloads plugins, so a request
//! sees the old table or the new one), the request counter, and the mode the
//! process serves in (threads, or worker N with the scoreboard).
//!
//! Owns [`Shared`] and [`Mode`]. It does not build tables (`routes.rs`) or
//! answer requests (`dispatch.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use crate::board::Board;
use crate::routes::Table;

/// How this process serves.
#[derive(Clone, Copy)]
pub enum Mode {
    /// One process, this many threads.
    Threads(usize),
    /// Worker process `index` of a supervised set, reporting on `board`.
    Worker { board: Board, index: usize },
}

/// State shared by everything that serves requests in this process.
pub struct Shared {
    table: RwLock<Arc<Table>>,
    started: Instant,
    served: AtomicU64,
    mode: Mode,
}

impl Shared {
    pub fn new(table: Table, mode: Mode) -> Shared {
        Shared {
            table: RwLock::new(Arc::new(table)),
            started: Instant::now(),
            served: AtomicU64::new(0),
            mode,
        }
    }

    /// The current table.
    pub fn table(&self) -> Arc<Table> {
        self.table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes `table` current for every request that starts from now on, and
    /// returns the old one (requests still running keep what they hold of it).
    pub fn replace_table(&self, table: Table) -> Arc<Table> {
        let mut slot = self.table.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *slot, Arc::new(table))
    }

    /// Requests answered so far by this process.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// When this process started serving.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// How this process serves.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Counts an answered request, and logs it at debug level.
    pub fn finish(&self, method: &str, url: &str, status: u16, start: Instant) {
        self.served.fetch_add(1, Ordering::Relaxed);
        log::debug!(
            "{method} {url} {status} {:.3}ms",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
}
