//! The project's targets, as paired ratios measured in one run: staticdl against
//! glibc and the peers (dlopen-rs: `dlopen_rs_suite ratios`), each pair timed in
//! alternating batches (`staticdl_bench::paired`), so that the load of a shared
//! machine falls on both sides alike.
//!
//! Run: `cargo run --release --manifest-path benches/Cargo.toml --bin ratios`

use std::ffi::CString;
use std::hint::black_box;

use staticdl_bench::paired::{compare, row, HEADER};
use staticdl_bench::*;
use staticdl_loader::SymbolName;

const HIT_NAME: SymbolName<'static> = SymbolName::new(HIT);
const MISS_NAME: SymbolName<'static> = SymbolName::new(MISS);

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn main() {
    println!("{HEADER}");
    let opts = ns::options();

    // 1. Tiny plugin, open + lookup + close.
    let tiny = plugin("libtiny.so");
    let ctiny = c_path(&tiny);
    let name = cstr(TINY_FN);
    let sd = || {
        black_box(ns::open_lookup_close(black_box(&tiny), &opts, TINY_FN));
    };
    let r = compare(sd, || {
        black_box(glibc::open_lookup_close(black_box(&ctiny), &name));
    });
    println!(
        "{}",
        row(
            "tiny open+lookup+close",
            "staticdl",
            "glibc",
            &r,
            Some(0.75)
        )
    );
    let reuse = opts.clone().reuse_mappings(true);
    let r = compare(
        || {
            black_box(ns::open_lookup_close(black_box(&tiny), &reuse, TINY_FN));
        },
        || {
            black_box(glibc::open_lookup_close(black_box(&ctiny), &name));
        },
    );
    println!(
        "{}",
        row(
            "tiny open+lookup+close",
            "staticdl reuse_mappings",
            "glibc",
            &r,
            Some(0.75)
        )
    );
    let r = compare(sd, || {
        black_box(libloading_peer::open_lookup_close(
            black_box(&tiny),
            b"tiny_add\0",
        ));
    });
    println!(
        "{}",
        row("tiny open+lookup+close", "staticdl", "libloading", &r, None)
    );
    let host = elf_loader_peer::Host::bare();
    let r = compare(sd, || {
        let lib = host.open(black_box(&tiny));
        black_box(elf_loader_peer::lookup(&lib, TINY_FN));
    });
    println!(
        "{}",
        row("tiny open+lookup+close", "staticdl", "elf_loader", &r, None)
    );

    // 1b. The glibc-built tiny plugin.
    let tl = plugin("libtiny_libc.so");
    let ctl = c_path(&tl);
    let gopts = ns::options_with_host_glibc();
    let sdl = || {
        black_box(ns::open_lookup_close(black_box(&tl), &gopts, TINY_FN));
    };
    let r = compare(sdl, || {
        black_box(glibc::open_lookup_close(black_box(&ctl), &name));
    });
    println!(
        "{}",
        row(
            "tiny (glibc build) open+lookup+close",
            "staticdl + host glibc",
            "glibc",
            &r,
            None
        )
    );
    provider(
        &tl,
        TINY_FN,
        "tiny (glibc build) open+lookup+close",
        None,
        || {
            black_box(glibc::open_lookup_close(black_box(&ctl), &name));
        },
    );
    let r = compare(sdl, || {
        black_box(libloading_peer::open_lookup_close(
            black_box(&tl),
            b"tiny_add\0",
        ));
    });
    println!(
        "{}",
        row(
            "tiny (glibc build) open+lookup+close",
            "staticdl + host glibc",
            "libloading",
            &r,
            None
        )
    );
    if let Ok(h) = elf_loader_peer::Host::with_glibc() {
        let r = compare(sdl, || {
            let lib = h.open(black_box(&tl));
            black_box(elf_loader_peer::lookup(&lib, TINY_FN));
        });
        println!(
            "{}",
            row(
                "tiny (glibc build) open+lookup+close",
                "staticdl + host glibc",
                "elf_loader + host libc",
                &r,
                None
            )
        );
    }

    // 2. Lookup in 5,000 exports.
    let p5k = plugin("libexports5k.so");
    let s5k = ns::open(&p5k, &opts);
    let d5k = glibc::Dl::open(&c_path(&p5k));
    let l5k = libloading_peer::open(&p5k);
    let e5k = host.open(&p5k);
    for (what, s, k) in [("hit", HIT, &HIT_NAME), ("miss", MISS, &MISS_NAME)] {
        let c = cstr(s);
        let c0 = format!("{s}\0");
        let case = format!("lookup {what}, 5,000 exports");
        let by_str = || {
            black_box(s5k.symbol(black_box(s)));
        };
        let by_const = || {
            black_box(s5k.lookup_here(black_box(k)));
        };
        let dlsym = || {
            black_box(d5k.sym(black_box(&c)));
        };
        println!(
            "{}",
            row(
                &case,
                "staticdl symbol(&str)",
                "dlsym",
                &compare(by_str, dlsym),
                Some(0.4)
            )
        );
        println!(
            "{}",
            row(
                &case,
                "staticdl lookup_here(const)",
                "dlsym",
                &compare(by_const, dlsym),
                Some(0.4)
            )
        );
        let r = compare(by_str, || {
            // SAFETY: only turned into an address.
            black_box(
                unsafe { l5k.get::<*mut std::ffi::c_void>(black_box(c0.as_bytes())) }
                    .ok()
                    .map(|s| *s as usize),
            );
        });
        println!(
            "{}",
            row(&case, "staticdl symbol(&str)", "libloading get", &r, None)
        );
        let r = compare(by_str, || {
            black_box(elf_loader_peer::lookup(&e5k, black_box(s)));
        });
        println!(
            "{}",
            row(&case, "staticdl symbol(&str)", "elf_loader get", &r, None)
        );
    }
    drop((s5k, d5k, l5k, e5k));

    // 3. Re-open of an open object.
    {
        let _sd = ns::open(&tiny, &opts);
        let _dl = glibc::Dl::open(&ctiny);
        let sd_re = || {
            black_box(ns::open(black_box(&tiny), &opts));
        };
        let gl_re = || {
            black_box(glibc::Dl::open(black_box(&ctiny)));
        };
        println!(
            "{}",
            row(
                "re-open",
                "staticdl Namespace::load",
                "glibc dlopen",
                &compare(sd_re, gl_re),
                Some(0.3)
            )
        );
        facade(&tiny, gl_re);
        let r = compare(sd_re, || {
            black_box(libloading_peer::open(black_box(&tiny)));
        });
        println!(
            "{}",
            row(
                "re-open",
                "staticdl Namespace::load",
                "libloading",
                &r,
                None
            )
        );
        let linker = elf_loader_peer::linker();
        let mut ctx = host.context();
        let held = elf_loader_peer::link(&linker, &mut ctx, &tiny).expect("elf_loader");
        let r = compare(sd_re, || {
            let l = elf_loader_peer::link(&linker, &mut ctx, black_box(&tiny)).unwrap();
            drop(l.release(&mut ctx).unwrap());
        });
        println!(
            "{}",
            row(
                "re-open",
                "staticdl Namespace::load",
                "elf_loader Linker",
                &r,
                None
            )
        );
        drop(held.release(&mut ctx));
    }

    // 4. Relocation-heavy library with two dependencies.
    let heavy = plugin("libbench_heavy.so");
    let cheavy = c_path(&heavy);
    let hname = cstr("heavy_sum");
    let sd_h = || {
        black_box(ns::open_lookup_close(black_box(&heavy), &opts, "heavy_sum"));
    };
    let r = compare(sd_h, || {
        black_box(glibc::open_lookup_close(black_box(&cheavy), &hname));
    });
    println!(
        "{}",
        row(
            "heavy open+close (22,002 relocs, 2 deps)",
            "staticdl",
            "glibc",
            &r,
            Some(0.8)
        )
    );
    let r = compare(sd_h, || {
        black_box(libloading_peer::open_lookup_close(
            black_box(&heavy),
            b"heavy_sum\0",
        ));
    });
    println!(
        "{}",
        row(
            "heavy open+close (22,002 relocs, 2 deps)",
            "staticdl",
            "libloading",
            &r,
            None
        )
    );
    {
        let linker = elf_loader_peer::linker();
        let mut ctx = host.context();
        let r = compare(sd_h, || {
            let l = elf_loader_peer::link(&linker, &mut ctx, black_box(&heavy)).unwrap();
            black_box(elf_loader_peer::link_lookup(&ctx, &l, "heavy_sum"));
            drop(l.release(&mut ctx).unwrap());
        });
        println!(
            "{}",
            row(
                "heavy open+close (22,002 relocs, 2 deps)",
                "staticdl",
                "elf_loader Linker",
                &r,
                None
            )
        );
    }

    // 4b. SQLite, libm held open by glibc for everyone.
    if std::path::Path::new(SQLITE).exists() {
        let _libm = glibc::Dl::open(c"libm.so.6");
        let sq = std::path::PathBuf::from(SQLITE);
        let csq = c_path(&sq);
        let sname = cstr("sqlite3_libversion");
        let sd_sq = || {
            black_box(ns::open_lookup_close(
                black_box(&sq),
                &gopts,
                "sqlite3_libversion",
            ));
        };
        let r = compare(sd_sq, || {
            black_box(glibc::open_lookup_close(black_box(&csq), &sname));
        });
        println!(
            "{}",
            row(
                "libsqlite3 open+close",
                "staticdl + host glibc",
                "glibc",
                &r,
                Some(0.85)
            )
        );
        provider(
            &sq,
            "sqlite3_libversion",
            "libsqlite3 open+close",
            Some(0.85),
            || {
                black_box(glibc::open_lookup_close(black_box(&csq), &sname));
            },
        );
        let r = compare(sd_sq, || {
            black_box(libloading_peer::open_lookup_close(
                black_box(&sq),
                b"sqlite3_libversion\0",
            ));
        });
        println!(
            "{}",
            row(
                "libsqlite3 open+close",
                "staticdl + host glibc",
                "libloading",
                &r,
                None
            )
        );
        if let Ok(h) = elf_loader_peer::Host::with_glibc() {
            let linker = elf_loader_peer::linker();
            let mut ctx = h.context();
            let r = compare(sd_sq, || {
                let l = elf_loader_peer::link(&linker, &mut ctx, black_box(&sq)).unwrap();
                black_box(elf_loader_peer::link_lookup(&ctx, &l, "sqlite3_libversion"));
                drop(l.release(&mut ctx).unwrap());
            });
            println!(
                "{}",
                row(
                    "libsqlite3 open+close",
                    "staticdl + host glibc",
                    "elf_loader Linker + host libc",
                    &r,
                    None
                )
            );
        }
    }

    // 5. A call through each loader's symbol type.
    {
        let lib = ns::open(&tiny, &opts);
        // SAFETY: `int tiny_add(int, int)`.
        let f: TinyAdd = unsafe { std::mem::transmute(lib.symbol(TINY_FN).unwrap().as_ptr()) };
        let dl = glibc::Dl::open(&ctiny);
        // SAFETY: as above.
        let g: TinyAdd = unsafe { std::mem::transmute(dl.sym(&name)) };
        let ll = libloading_peer::open(&tiny);
        // SAFETY: as above.
        let lf = unsafe { ll.get::<TinyAdd>(b"tiny_add\0") }.unwrap();
        let el = host.open(&tiny);
        // SAFETY: as above.
        let ef = unsafe { el.get::<TinyAdd>(TINY_FN) }.unwrap().unwrap();
        let call = || {
            black_box(f(black_box(2), black_box(3)));
        };
        let r = compare(call, || {
            black_box(g(black_box(2), black_box(3)));
        });
        println!(
            "{}",
            row(
                "call tiny_add",
                "staticdl fn pointer",
                "dlsym fn pointer",
                &r,
                None
            )
        );
        let r = compare(call, || {
            black_box(lf(black_box(2), black_box(3)));
        });
        println!(
            "{}",
            row(
                "call tiny_add",
                "staticdl fn pointer",
                "libloading Symbol",
                &r,
                None
            )
        );
        let r = compare(call, || {
            black_box(ef(black_box(2), black_box(3)));
        });
        println!(
            "{}",
            row(
                "call tiny_add",
                "staticdl fn pointer",
                "elf_loader Symbol",
                &r,
                None
            )
        );
    }
    // The picture of this very table, next to BENCHMARKS.md's copy of it.
    let svg = staticdl_bench::chart::svg("staticdl against glibc and peers: paired time ratios");
    let out = concat!(env!("CARGO_MANIFEST_DIR"), "/ratios.svg");
    std::fs::write(out, svg).expect("writing benches/ratios.svg");
    eprintln!("chart: {out}");
}

/// staticdl with its own C library provider (`staticdl::provider`) against `b`.
#[cfg(feature = "facade")]
fn provider(path: &std::path::Path, name: &str, case: &str, target: Option<f64>, b: impl FnMut()) {
    let opts = facade::provider_options();
    if let Err(e) = facade::provider_open_lookup_close(path, &opts, name) {
        println!("| {case} | staticdl + staticdl::provider | glibc | fails: {e} | | | |");
        return;
    }
    let r = compare(
        || {
            black_box(facade::provider_open_lookup_close(black_box(path), &opts, name).unwrap());
        },
        b,
    );
    println!(
        "{}",
        row(case, "staticdl + staticdl::provider", "glibc", &r, target)
    );
}

#[cfg(not(feature = "facade"))]
fn provider(_: &std::path::Path, _: &str, _: &str, _: Option<f64>, _: impl FnMut()) {}

/// The facade's registry hit against glibc's re-open.
#[cfg(feature = "facade")]
fn facade(path: &std::path::Path, gl_re: impl FnMut()) {
    let opts = facade::options();
    let _held = facade::open(path, &opts);
    let r = compare(
        || {
            black_box(opts.open(black_box(path)).unwrap());
        },
        gl_re,
    );
    println!(
        "{}",
        row(
            "re-open",
            "staticdl facade Plugin::open (registry hit)",
            "glibc dlopen",
            &r,
            Some(0.3)
        )
    );
}

#[cfg(not(feature = "facade"))]
fn facade(_: &std::path::Path, _: impl FnMut()) {
    println!("| re-open | staticdl facade (registry hit) | glibc dlopen | not built (`--no-default-features`) | | | |");
}
