//! Fuzz target `bytes`: the `load` target's work on an input loaded straight from
//! memory (`Namespace::load_bytes`, an anonymous file per input): no file on
//! disk, no path. Unloading must leave no mapping of the anonymous file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staticdl_fuzz::{assert_names, assert_unmapped_name, exercise, resolving_options};
use staticdl_loader::Namespace;

/// The name every input is loaded under.
const NAME: &str = "staticdl-fuzz-input.so";

fuzz_target!(|data: &[u8]| {
    let ns = Namespace::new();
    match ns.load_bytes(NAME, data, &resolving_options()) {
        Ok(lib) => {
            exercise(&lib);
            drop(lib);
            assert!(ns.loaded().is_empty(), "objects left in the namespace");
        }
        Err(e) => assert_names(&e, std::path::Path::new(NAME)),
    }
    assert_unmapped_name(NAME);
});
