//! The link matrix.
