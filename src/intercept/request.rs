//! A request to intercept: a selection, an interceptor, and the id under which
//! its links to sites are made (and later removed).
//!
//! Owns [`Request`] and the id counter. Plain data: it traps nothing.

use std::sync::atomic::{AtomicU64, Ordering};

use super::interceptor::Interceptor;
use super::select::Selection;
use super::site::Link;

/// One selection with its interceptor, as an open's options, a registration or
/// an attachment hold it.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub id: u64,
    pub selection: Selection,
    pub interceptor: Interceptor,
}

impl Request {
    /// A request with a fresh id.
    pub fn new(selection: Selection, interceptor: Interceptor) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Request {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            selection,
            interceptor,
        }
    }

    /// Its link to a site.
    pub fn link(&self) -> Link {
        Link {
            id: self.id,
            interceptor: self.interceptor.clone(),
        }
    }
}
