//! A static interpreter with C modules: Lua 5.4 built from Debian's source
//! package (`apt-get source lua5.4`, Debian's patches applied: its module
//! paths) as a static-pie musl executable linked with `--export-dynamic` and
//! `libstaticdl.a`. `require "lfs"` loads Debian's own `lua-filesystem`
//! module, `lfs.so`, built against glibc, which has no `DT_NEEDED` on a Lua
//! library and imports `lua_*` from the executable's `.dynsym`. Its output
//! (`tests/fixtures/capi/lfs_list.lua` listing a directory) is compared with
//! Debian's dynamic `lua5.4` running the same script.
//!
//! The source comes from the Debian mirror through `apt-get source`, which
//! needs a `deb-src` entry (`.ci/run` adds one) and `dpkg-dev`; it is fetched
//! once into the tests' directory and the interpreter rebuilt only when the
//! archive or this recipe changes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use crate::toolchain::{
    assert_static, compile, diff, musl_command, output, prefix, source, staticdl_libs, stdout_of,
    work_dir, Link,
};

/// Debian's extracted `lua5.4` source tree, fetched once.
fn debian_source() -> PathBuf {
    let dir = work_dir("lua-source");
    let find = || {
        fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.is_dir()
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("lua5.4-"))
                    && p.join("src/lua.c").is_file()
            })
    };
    if let Some(tree) = find() {
        return tree;
    }
    let out = output(
        Command::new("apt-get")
            .args(["source", "lua5.4"])
            .current_dir(&dir),
    );
    assert!(
        out.status.success(),
        "apt-get source lua5.4 failed ({}); it needs a deb-src entry for the \
         Debian mirror (.ci/run adds /etc/apt/sources.list.d/staticdl-deb-src.sources) \
         and dpkg-dev:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    find().expect("apt-get source extracted no lua5.4 tree")
}

fn modified(p: &Path) -> SystemTime {
    fs::metadata(p)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The static-pie Lua, built from `tree` unless it is newer than the archive
/// and this file.
fn static_lua(tree: &Path) -> PathBuf {
    let out = work_dir("bin").join("lua5.4-static");
    let inputs = [
        prefix().join("lib/libstaticdl.a"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/capi/lua.rs"),
    ];
    if out.is_file() && inputs.iter().all(|i| modified(i) <= modified(&out)) {
        return out;
    }
    // What debian/rules generates before building: the multiarch directory
    // Debian's patched luaconf.h puts into the C module path.
    let generated = work_dir("lua-generated");
    fs::write(
        generated.join("lua5.4-deb-multiarch.h"),
        "#ifndef _LUA_DEB_MULTIARCH_\n#define _LUA_DEB_MULTIARCH_\n\
         #define DEB_HOST_MULTIARCH \"x86_64-linux-gnu\"\n#endif\n",
    )
    .unwrap();
    let mut sources: Vec<PathBuf> = fs::read_dir(tree.join("src"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .filter(|p| p.file_name().is_some_and(|n| n != "luac.c"))
        .collect();
    sources.sort();
    let sources: Vec<&Path> = sources.iter().map(PathBuf::as_path).collect();
    let include = format!("-I{}", generated.display());
    // Lua's own flags for Linux (src/Makefile: LUA_COMPAT_5_3, LUA_USE_LINUX
    // for dlopen, -Wl,-E to export its API to C modules).
    let front = ["-O2", "-DLUA_COMPAT_5_3", "-DLUA_USE_LINUX", &include];
    let mut libs = vec!["-Wl,--export-dynamic".to_owned()];
    libs.extend(staticdl_libs());
    libs.push("-lm".to_owned());
    let tmp = out.with_extension("tmp");
    compile(
        "the static Lua",
        &mut musl_command(
            &["musl-gcc"],
            Link::StaticPie,
            &front,
            &sources,
            &libs,
            &tmp,
        ),
    );
    fs::rename(&tmp, &out).unwrap();
    out
}

/// A directory with known contents for the script to list.
fn sample_dir() -> PathBuf {
    let dir = work_dir("lua-sample");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("sub dir")).unwrap();
    fs::write(dir.join("a.txt"), "alpha\n").unwrap();
    fs::write(dir.join("b.bin"), vec![7u8; 4097]).unwrap();
    fs::write(dir.join("empty"), "").unwrap();
    std::os::unix::fs::symlink("a.txt", dir.join("link")).unwrap();
    dir
}

#[test]
fn lua_requires_debians_lfs_from_a_static_interpreter() {
    let tree = debian_source();
    let lua = static_lua(&tree);
    assert_static(&lua, true);
    let dynsym = crate::toolchain::readelf("--dyn-syms", &lua);
    assert!(
        dynsym.contains(" lua_pushinteger"),
        "Lua's API is not exported"
    );
    let lfs = Path::new("/usr/lib/x86_64-linux-gnu/lua/5.4/lfs.so");
    let needed = crate::toolchain::readelf("-d", lfs);
    assert!(
        !needed
            .lines()
            .any(|l| l.contains("(NEEDED)") && l.contains("liblua")),
        "lfs.so links a Lua library: it would not test the executable's exports:\n{needed}"
    );
    let dir = sample_dir();
    let script = source("lfs_list.lua");
    let expected = stdout_of(
        "Debian's lua5.4",
        Command::new("lua5.4").arg(&script).arg(&dir),
    );
    assert!(
        expected.contains("module\t/usr/lib/x86_64-linux-gnu/lua/5.4/lfs.so")
            && expected.contains("before\tb.bin\tfile\t4097"),
        "Debian's lua5.4 did not do what the test is about:\n{expected}"
    );
    let got = stdout_of("the static Lua", Command::new(&lua).arg(&script).arg(&dir));
    assert_eq!(
        expected,
        got,
        "differs from Debian's lua5.4:\n{}",
        diff(&expected, &got)
    );
}
