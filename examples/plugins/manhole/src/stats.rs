//! Per-handler statistics: calls, errors and the latencies of the most recent
//! calls (for the p50 and p99).
//!
//! Owns the table, keyed by (object, handler), filled by the post hook
//! (`trap.rs`) and read by the endpoint (`http.rs`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// Latencies kept per handler for the percentiles.
const SAMPLES: usize = 4096;

#[derive(Default)]
struct Stat {
    calls: u64,
    errors: u64,
    /// Nanoseconds of the latest calls.
    latencies: VecDeque<u64>,
}

static TABLE: Mutex<BTreeMap<(String, String), Stat>> = Mutex::new(BTreeMap::new());

/// One handler call of `object` ended after `ns` nanoseconds.
pub fn record(object: &str, handler: &str, ns: u64, failed: bool) {
    let mut t = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
    let s = t
        .entry((object.to_owned(), handler.to_owned()))
        .or_default();
    s.calls += 1;
    s.errors += u64::from(failed);
    if s.latencies.len() == SAMPLES {
        s.latencies.pop_front();
    }
    s.latencies.push_back(ns);
}

/// One handler's numbers, latencies in microseconds.
pub struct Snapshot {
    pub object: String,
    pub handler: String,
    pub calls: u64,
    pub errors: u64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// The nearest-rank percentile `p` (0–100) of sorted `v`.
fn percentile(v: &[u64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1] as f64 / 1000.0
}

/// Every handler's numbers, by object and handler.
pub fn snapshot() -> Vec<Snapshot> {
    let t = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
    t.iter()
        .map(|((object, handler), s)| {
            let mut v: Vec<u64> = s.latencies.iter().copied().collect();
            v.sort_unstable();
            Snapshot {
                object: object.clone(),
                handler: handler.clone(),
                calls: s.calls,
                errors: s.errors,
                p50_us: percentile(&v, 50.0),
                p99_us: percentile(&v, 99.0),
            }
        })
        .collect()
}
