//! `counter`: an example handler plugin in `#![no_std]` Rust.
//!
//! It links no libc and no `std`: its heap is the host's, through
//! [`HostAllocator`] installed as the global allocator, so `alloc` (`String`,
//! `Vec`, [`ResponseBuilder`]) works and every block it hands the host is freed
//! by the allocator that made it.
//!
//! Routes:
//! - `GET /counter` adds one to the counter and answers it as JSON:
//!   `{"plugin":"counter","version":"1.0.0","count":3}`;
//! - `POST /counter` adds the decimal step in the request body (e.g. `5`) and
//!   answers the same JSON; a body that is not a number in `0..=1000000` is a
//!   400 with the reason, a missing one a 411.
//!
//! State: the counter lives in the plugin (an atomic, since handlers run
//! concurrently) for as long as this version is loaded; a new version starts
//! from zero.
// `no_std` except in its unit tests, which run on the test harness's `std`.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

#[cfg(not(test))]
use staticdl_abi::HostAllocator;
use staticdl_abi::{HandlerError, HostApi, Request, ResponseBuilder};

#[cfg(not(test))]
#[global_allocator]
static ALLOC: HostAllocator = HostAllocator;

const NAME: &str = "counter";
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Largest step `POST /counter` accepts.
const MAX_STEP: u64 = 1_000_000;

static COUNT: AtomicU64 = AtomicU64::new(0);

fn json(count: u64) -> ResponseBuilder {
    let mut resp = ResponseBuilder::ok().header("content-type", "application/json");
    // Writing to a `ResponseBuilder` cannot fail.
    let _ = write!(
        resp,
        r#"{{"plugin":"{NAME}","version":"{VERSION}","count":{count}}}"#
    );
    resp.append(b"\n");
    resp
}

fn get(_req: &Request<'_>) -> ResponseBuilder {
    json(COUNT.fetch_add(1, Ordering::Relaxed) + 1)
}

fn post(req: &Request<'_>) -> Result<ResponseBuilder, HandlerError> {
    let body = req.body().trim_ascii();
    if body.is_empty() {
        return Err(HandlerError::new(
            411,
            "counter: POST a decimal step in the body",
        ));
    }
    let step = parse_step(body).ok_or_else(|| {
        HandlerError::with_message(
            400,
            alloc::format!(
                "counter: step must be a whole number from 0 to {MAX_STEP}, got {:?}",
                core::str::from_utf8(body).unwrap_or("<not UTF-8>")
            ),
        )
    })?;
    Ok(json(COUNT.fetch_add(step, Ordering::Relaxed) + step))
}

fn parse_step(digits: &[u8]) -> Option<u64> {
    if digits.len() > 7 {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(d - b'0');
    }
    (n <= MAX_STEP).then_some(n)
}

fn setup(_host: &HostApi) -> Result<(), i32> {
    staticdl_abi::log::info!("{NAME} {VERSION}: init (no_std, host allocator)");
    Ok(())
}

fn teardown() {
    staticdl_abi::log::info!(
        "{NAME} {VERSION}: fini after {} counts",
        COUNT.load(Ordering::Relaxed)
    );
}

staticdl_abi::plugin! {
    name: NAME,
    version: VERSION,
    init: setup,
    fini: teardown,
    exports: {},
    handlers: {
        counter_get: get,
        counter_post: post,
    },
    routes: [
        ("GET", "/counter", counter_get),
        ("POST", "/counter", counter_post),
    ],
}

/// Without `std` there is nothing to unwind to, and unwinding into the host is
/// forbidden anyway: a panic (none is expected: the handlers above return
/// errors instead) logs through the host and stops this thread here rather
/// than aborting the whole server.
#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    staticdl_abi::log::error!("{NAME} {VERSION}: panic: {}", info.message());
    loop {
        core::hint::spin_loop();
    }
}

/// The precompiled `alloc` crate was built with unwinding, so its landing pads
/// refer to the personality routine and to `_Unwind_Resume` even in a plugin
/// built with `panic = "abort"`, where nothing unwinds and neither is ever
/// called. Defining both here keeps the plugin self-contained: it imports only
/// what its own code uses (`memcpy`, `memset`), and loads in any host, not only
/// in one that knows to offer stubs.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

/// See [`rust_eh_personality`]: unreachable under `panic = "abort"`.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn _Unwind_Resume() -> ! {
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_small_whole_numbers() {
        assert_eq!(parse_step(b"0"), Some(0));
        assert_eq!(parse_step(b"1000000"), Some(MAX_STEP));
        assert_eq!(parse_step(b"1000001"), None);
        assert_eq!(parse_step(b"12345678"), None);
        assert_eq!(parse_step(b"-1"), None);
        assert_eq!(parse_step(b"4x"), None);
    }
}
