//! glibc's wording of `dlerror()` messages, from the facade's errors.
//!
//! Owns the translation of a failed open or lookup into the message glibc's
//! `dlerror` gives for the same failure, where glibc has one (checked against
//! glibc 2.36 by `tests/capi`): a file that is not there
//! (`x.so: cannot open shared object file: No such file or directory`), a
//! missing dependency, a file that is not ELF (`x: invalid ELF header`), an
//! undefined symbol (`x.so: undefined symbol: foo`). Every other failure is
//! `NAME: ` and the facade's own cause. A remembered failure keeps the facade's
//! ` (previous failure)` mark. Does not own the facade's wording (its `Display`)
//! or where messages are kept (`message.rs`).

use std::io;
use std::path::Path;

use staticdl::{Error, OpenError};
use staticdl_loader::ErrorKind;

/// An operating-system error as the C library words it (`No such file or
/// directory`), without Rust's ` (os error N)`.
pub(crate) fn os_words(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// glibc's `dlerror()` text for a failed `dlopen(name)`.
pub(crate) fn open_failure(name: &str, error: &Error) -> String {
    let mut text = match error.open_error() {
        Some(OpenError::Path { source }) => {
            format!(
                "{name}: cannot open shared object file: {}",
                os_words(source)
            )
        }
        Some(OpenError::Load { error, object }) => load_failure(name, error, object),
        Some(cause) => format!("{name}: {cause}"),
        None => format!("{name}: {error}"),
    };
    if error.is_previous_failure() {
        text.push_str(" (previous failure)");
    }
    text
}

/// A loader error during `dlopen(name)` of the file `object`.
fn load_failure(name: &str, error: &staticdl_loader::Error, object: &Path) -> String {
    // glibc names the object a message is about as it was found: the name
    // passed for the object opened, the dependency's path otherwise.
    let about = if error.path() == object {
        name.to_owned()
    } else {
        error.path().display().to_string()
    };
    match error.kind() {
        ErrorKind::NotElf => format!("{about}: invalid ELF header"),
        ErrorKind::LibraryNotFound { name: needed, .. } => {
            format!("{needed}: cannot open shared object file: No such file or directory")
        }
        ErrorKind::Io(e) => format!("{about}: cannot open shared object file: {}", os_words(e)),
        ErrorKind::UnresolvedSymbols { symbols } if !symbols.is_empty() => {
            let first = &symbols[0];
            match &first.version {
                Some(v) => format!("{about}: undefined symbol: {}, version {v}", first.name),
                None => format!("{about}: undefined symbol: {}", first.name),
            }
        }
        kind => format!("{about}: {kind}"),
    }
}

/// glibc's `dlerror()` text for a `dlsym`/`dlvsym` of `symbol` that found
/// nothing in the object known as `object`.
pub(crate) fn undefined_symbol(object: &str, symbol: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{object}: undefined symbol: {symbol}, version {v}"),
        None => format!("{object}: undefined symbol: {symbol}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_lose_rusts_suffix() {
        let e = io::Error::from_raw_os_error(2);
        assert!(e.to_string().contains("(os error 2)"));
        assert!(!os_words(&e).contains("os error"));
        assert!(!os_words(&e).is_empty());
    }

    #[test]
    fn a_missing_file_reads_like_glibc() {
        let err = staticdl::Plugin::open("/no/such/dir/libx.so").unwrap_err();
        assert_eq!(
            open_failure("/no/such/dir/libx.so", &err),
            "/no/such/dir/libx.so: cannot open shared object file: No such file or directory"
        );
    }

    #[test]
    fn symbols_read_like_glibc() {
        assert_eq!(
            undefined_symbol("/lib/libz.so.1", "nosuch", None),
            "/lib/libz.so.1: undefined symbol: nosuch"
        );
        assert_eq!(
            undefined_symbol("/lib/libz.so.1", "compress", Some("ZLIB_9")),
            "/lib/libz.so.1: undefined symbol: compress, version ZLIB_9"
        );
    }
}
