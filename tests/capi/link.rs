//! The link matrix: `tests/fixtures/capi/link_matrix.c` linked static with
//! `-lstaticdl` before and after `-lc`, with and without a call to `dlinfo`,
//! and with an incomplete replacement of the `<dlfcn.h>` names for contrast.
//! Outcomes (the README's "From C and Go" documents them):
//!
//! | link | `dlinfo` | outcome |
//! | --- | --- | --- |
//! | `-lstaticdl` before `-lc` | no | links; staticdl's `dlopen` (as glibc's) |
//! | `-lstaticdl` before `-lc` | yes | links; staticdl's, `dlinfo` as glibc's |
//! | `-lstaticdl` after `-lc` | no | links silently; musl's stubs; `staticdl_linked_first() == 0` |
//! | `-lstaticdl` after `-lc` | yes | the same |
//! | a partial set before `-lc` | yes | fails: musl's `dlinfo` brings musl's `dlerror` |
//!
//! Expected runs come from glibc (the same calls in an ordinary program) and
//! from musl alone (the program linked without any replacement).

use std::path::PathBuf;
use std::process::Command;

use crate::toolchain::{
    compile, diff, glibc_program, musl_command, output, pkg_config, source, staticdl_libs,
    stdout_of, work_dir, Link,
};

/// `link_matrix` linked with `libs` (after the source, `back` after them).
fn link(name: &str, defines: &[&str], libs: Vec<String>) -> Result<PathBuf, String> {
    let out = work_dir("bin").join(name);
    let src = source("link_matrix.c");
    let mut front = vec!["-O2"];
    front.extend_from_slice(defines);
    let result = output(&mut musl_command(
        &["musl-gcc"],
        Link::Static,
        &front,
        &[&src],
        &libs,
        &out,
    ));
    if result.status.success() {
        Ok(out)
    } else {
        Err(String::from_utf8_lossy(&result.stderr).into_owned())
    }
}

fn run(exe: &std::path::Path) -> String {
    stdout_of("link_matrix", &mut Command::new(exe))
}

/// The output without the `linked first` line.
fn calls(out: &str) -> String {
    out.lines()
        .filter(|l| !l.starts_with("linked first"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn link_order_decides_whose_dlfcn_the_program_gets() {
    let libs = staticdl_libs();
    let mut after = vec!["-lc".to_owned()];
    after.extend(libs.iter().cloned());
    let src = source("link_matrix.c");
    for (dlinfo, defines) in [(false, vec![]), (true, vec!["-DWITH_DLINFO"])] {
        let tag = if dlinfo { "dlinfo" } else { "plain" };
        // glibc's own <dlfcn.h>, and musl's stubs alone.
        let mut glibc_defines = vec!["-DPARTIAL"];
        glibc_defines.extend_from_slice(&defines);
        let glibc = glibc_program(
            &format!("link_matrix_{tag}"),
            "gcc",
            &[&src],
            &glibc_defines,
        );
        let expected_glibc = run(&glibc);
        let musl_only = link(&format!("link_matrix_{tag}_musl"), &glibc_defines, vec![])
            .expect("musl alone links");
        let expected_musl = run(&musl_only);
        assert!(expected_glibc.contains("dlopen: ok"), "{expected_glibc}");
        assert!(!expected_musl.contains("dlopen: ok"), "{expected_musl}");

        let before = link(&format!("link_matrix_{tag}_before"), &defines, libs.clone())
            .unwrap_or_else(|e| panic!("-lstaticdl before -lc ({tag}) does not link:\n{e}"));
        let got = run(&before);
        assert!(got.starts_with("linked first: 1\n"), "{got}");
        assert_eq!(
            expected_glibc,
            calls(&got),
            "before, {tag}:\n{}",
            diff(&expected_glibc, &calls(&got))
        );

        let late = link(&format!("link_matrix_{tag}_after"), &defines, after.clone())
            .unwrap_or_else(|e| panic!("-lstaticdl after -lc ({tag}) does not link:\n{e}"));
        let got = run(&late);
        assert!(got.starts_with("linked first: 0\n"), "{got}");
        assert_eq!(
            expected_musl,
            calls(&got),
            "after, {tag}:\n{}",
            diff(&expected_musl, &calls(&got))
        );
    }

    // The complete set is what keeps musl's dlerror out: a partial one fails
    // to link as soon as the program calls dlinfo.
    let dir = work_dir("bin");
    let object = dir.join("partial_dlfcn.o");
    compile(
        "partial_dlfcn.o",
        Command::new("musl-gcc")
            .args(["-O2", "-c"])
            .arg(source("partial_dlfcn.c"))
            .arg("-o")
            .arg(&object),
    );
    let partial = vec![object.to_string_lossy().into_owned()];
    assert!(link("link_matrix_partial", &["-DPARTIAL"], partial.clone()).is_ok());
    let err = link(
        "link_matrix_partial_dlinfo",
        &["-DPARTIAL", "-DWITH_DLINFO"],
        partial,
    )
    .expect_err("a partial <dlfcn.h> with dlinfo links");
    assert!(err.contains("multiple definition of `dlerror'"), "{err}");
    // The flags the matrix used are the installed ones.
    assert!(libs.iter().any(|l| l == "-lstaticdl"), "{libs:?}");
    assert!(!pkg_config(&["--cflags"]).is_empty());
}
