//! Fuzz target `parse`: any bytes, loaded as an object without running or
//! resolving anything. Exercises the ELF header and program header checks, the
//! mapping, the dynamic section and the table validation; most inputs stop early
//! with an error, which must name the input and leave nothing mapped.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staticdl_fuzz::{assert_names, assert_unmapped, bare_options, write_input};
use staticdl_loader::Namespace;

fuzz_target!(|data: &[u8]| {
    let path = write_input(data);
    match Namespace::new().load(path, &bare_options()) {
        Ok(lib) => drop(lib),
        Err(e) => assert_names(&e, path),
    }
    assert_unmapped(path);
});
