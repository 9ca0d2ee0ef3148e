//! A response before it is written: status, headers, body, whichever code
//! writes it (tiny_http in the threaded mode, `conn.rs` in worker processes).
//!
//! Owns [`Outcome`], its `text/plain` and JSON constructors, and which headers
//! are the server's to write rather than a plugin's. It does not write
//! anything.

/// A response before it is written.
pub struct Outcome {
    pub status: u16,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Outcome {
    /// A `text/plain` response; a newline is added if `body` lacks one.
    pub fn text(status: u16, body: impl Into<String>) -> Outcome {
        let mut body = body.into();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Outcome {
            status,
            headers: vec![(
                b"content-type".to_vec(),
                b"text/plain; charset=utf-8".to_vec(),
            )],
            body: body.into_bytes(),
        }
    }

    /// A 200 `application/json` response.
    pub fn json(body: String) -> Outcome {
        Outcome {
            status: 200,
            headers: vec![(b"content-type".to_vec(), b"application/json".to_vec())],
            body: (body + "\n").into_bytes(),
        }
    }
}

/// Headers the server owns: a plugin's are dropped (the server frames the
/// response itself).
pub fn is_framing_header(name: &[u8]) -> bool {
    [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_headers_are_the_servers() {
        assert!(is_framing_header(b"Content-Length"));
        assert!(!is_framing_header(b"content-type"));
    }
}
