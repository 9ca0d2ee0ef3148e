//! N symbol lookups in the 5,000-export plugin with one loader, for instruction
//! counts (callgrind: the difference of two N divided by their difference is
//! the cost of one lookup, start-up cancelled out).
//!
//! ```text
//! lookups <staticdl | staticdl_const | glibc | elf_loader> <hit | miss> <n>
//! ```

use std::ffi::CString;
use std::hint::black_box;

use staticdl_bench::*;
use staticdl_loader::SymbolName;

const HIT_NAME: SymbolName<'static> = SymbolName::new(HIT);
const MISS_NAME: SymbolName<'static> = SymbolName::new(MISS);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: lookups <staticdl|staticdl_const|glibc|elf_loader> <hit|miss> <n>");
        std::process::exit(2);
    }
    let name = match args[2].as_str() {
        "hit" => HIT,
        "miss" => MISS,
        other => panic!("unknown case {other}"),
    };
    let n: usize = args[3].parse().expect("n");
    let path = plugin("libexports5k.so");
    let mut found = 0usize;
    match args[1].as_str() {
        "staticdl" => {
            let lib = ns::open(&path, &ns::options());
            for _ in 0..n {
                found += lib.symbol(black_box(name)).is_some() as usize;
            }
        }
        "staticdl_const" => {
            let lib = ns::open(&path, &ns::options());
            let k = if name == HIT { &HIT_NAME } else { &MISS_NAME };
            for _ in 0..n {
                found += lib.lookup_here(black_box(k)).is_some() as usize;
            }
        }
        "glibc" => {
            let lib = glibc::Dl::open(&c_path(&path));
            let c = CString::new(name).unwrap();
            for _ in 0..n {
                found += !lib.sym(black_box(&c)).is_null() as usize;
            }
        }
        "elf_loader" => {
            let host = elf_loader_peer::Host::bare();
            let lib = host.open(&path);
            for _ in 0..n {
                found += (elf_loader_peer::lookup(&lib, black_box(name)) != 0) as usize;
            }
        }
        other => panic!("unknown loader {other}"),
    }
    assert_eq!(found, if name == HIT { n } else { 0 });
}
