//! Fuzz target `load`: a mutated object taken all the way: parsed, mapped, its
//! imports resolved (every plausible name is answered), relocated, protected, and
//! then looked up and listed like a host would, without running any of its code.
//! Unloading must leave nothing mapped.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staticdl_fuzz::{assert_names, assert_unmapped, exercise, resolving_options, write_input};
use staticdl_loader::Namespace;

fuzz_target!(|data: &[u8]| {
    let path = write_input(data);
    let ns = Namespace::new();
    match ns.load(path, &resolving_options()) {
        Ok(lib) => {
            exercise(&lib);
            drop(lib);
            assert!(ns.loaded().is_empty(), "objects left in the namespace");
        }
        Err(e) => assert_names(&e, path),
    }
    assert_unmapped(path);
});
