//! One HTTP/1.1 connection in a worker process: reading requests from it and
//! writing responses to it, one at a time.
//!
//! Worker processes do not use tiny_http: its accepting thread takes every
//! connection the kernel offers and queues it inside the process, and a
//! worker that crashes would lose every request waiting in that queue. A
//! worker instead accepts one connection only when it is free to serve it, so
//! everything it has not accepted stays in the kernel's backlog of the shared
//! listening socket, for the other workers and the replacement.
//!
//! Owns request framing (the request line and headers parsed by `httparse`,
//! bodies by `content-length` or `transfer-encoding: chunked`, `expect:
//! 100-continue`), keep-alive and pipelining (bytes after one request are kept
//! for the next), the limits (64 KiB of request head, [`MAX_BODY`] of body, a
//! deadline for reading a whole request) and the response's framing
//! (`content-length`, `connection`, `date`, nothing for `HEAD`, 1xx, 204 and
//! 304). It does not route or answer requests (`dispatch.rs`) or decide when
//! to close an idle connection (`worker.rs`).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::dispatch::MAX_BODY;
use crate::logger::civil_from_days;
use crate::outcome::{is_framing_header, Outcome};

/// Largest request line and headers accepted; larger get a 431.
const MAX_HEAD: usize = 64 * 1024;
/// Most request headers accepted; more get a 431.
const MAX_HEADERS: usize = 100;

/// One request, read whole.
pub struct Incoming {
    pub method: String,
    /// The request target as sent: path and query.
    pub target: String,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
    /// Whether the client asked to keep the connection open after this one.
    pub keep_alive: bool,
    /// An HTTP/1.0 request (keep-alive must then be said in the response).
    pub http10: bool,
}

/// What came next on a connection.
pub enum Next {
    Request(Incoming),
    /// The client closed the connection between requests.
    Closed,
    /// A request refused before routing it: answer with this, then close.
    Refuse(Outcome),
    /// The connection broke, or the client was too slow, mid-request.
    Broken(io::Error),
}

/// A connection and what was read from it but not used yet.
pub struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Where the unused bytes of `buf` start.
    pos: usize,
}

fn header_value<'h>(headers: &'h [(Vec<u8>, Vec<u8>)], name: &str) -> Vec<&'h [u8]> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v.as_slice())
        .collect()
}

/// Whether a comma-separated header value lists `token` (case-insensitive).
fn has_token(values: &[&[u8]], token: &str) -> bool {
    values.iter().any(|v| {
        v.split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

impl Connection {
    pub fn new(stream: TcpStream) -> Connection {
        // Responses are written whole; waiting for more to send only delays them.
        let _ = stream.set_nodelay(true);
        Connection {
            stream,
            buf: Vec::with_capacity(4096),
            pos: 0,
        }
    }

    /// The connection's descriptor number (for the guards).
    pub fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }

    /// The connection's descriptor, borrowed (for polling).
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }

    /// Whether bytes of a next request have already been read.
    pub fn buffered(&self) -> bool {
        self.pos < self.buf.len()
    }

    /// Reads more bytes before `deadline`; `Ok(0)` at the end of the stream.
    fn fill(&mut self, deadline: Instant) -> io::Result<usize> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request not received in time",
            ));
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).map_err(|e| {
            // What a receive timeout looks like on Linux.
            if e.kind() == io::ErrorKind::WouldBlock {
                io::Error::new(io::ErrorKind::TimedOut, "request not received in time")
            } else {
                e
            }
        })?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads until at least `n` unused bytes are buffered.
    fn need(&mut self, n: usize, deadline: Instant) -> io::Result<()> {
        while self.buf.len() - self.pos < n {
            if self.fill(deadline)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }

    /// Reads the next request, which must arrive whole within `patience`.
    pub fn next_request(&mut self, patience: Duration) -> Next {
        let deadline = Instant::now() + patience;
        // Drop what earlier requests used.
        self.buf.drain(..self.pos);
        self.pos = 0;
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Request::new(&mut headers);
            match parsed.parse(&self.buf) {
                Ok(httparse::Status::Complete(head)) => {
                    let method = parsed.method.unwrap_or("GET").to_owned();
                    let target = parsed.path.unwrap_or("/").to_owned();
                    let http10 = parsed.version == Some(0);
                    let headers: Vec<(Vec<u8>, Vec<u8>)> = parsed
                        .headers
                        .iter()
                        .map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec()))
                        .collect();
                    self.pos = head;
                    return self.body(method, target, headers, http10, deadline);
                }
                Ok(httparse::Status::Partial) if self.buf.len() > MAX_HEAD => {
                    return Next::Refuse(Outcome::text(431, "request head too large"));
                }
                Ok(httparse::Status::Partial) => {}
                Err(httparse::Error::TooManyHeaders) => {
                    return Next::Refuse(Outcome::text(431, "too many request headers"));
                }
                Err(e) => return Next::Refuse(Outcome::text(400, format!("bad request: {e}"))),
            }
            match self.fill(deadline) {
                Ok(0) if self.buf.is_empty() => return Next::Closed,
                Ok(0) => return Next::Broken(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {}
                Err(e) => return Next::Broken(e),
            }
        }
    }

    /// Reads the body of a request whose head has been read.
    fn body(
        &mut self,
        method: String,
        target: String,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        http10: bool,
        deadline: Instant,
    ) -> Next {
        let connection = header_value(&headers, "connection");
        let keep_alive = if http10 {
            has_token(&connection, "keep-alive")
        } else {
            !has_token(&connection, "close")
        };
        let encodings = header_value(&headers, "transfer-encoding");
        let lengths = header_value(&headers, "content-length");
        let chunked = !encodings.is_empty();
        if chunked && !lengths.is_empty() {
            return Next::Refuse(Outcome::text(
                400,
                "both content-length and transfer-encoding",
            ));
        }
        if chunked
            && !encodings
                .last()
                .and_then(|v| v.rsplit(|&b| b == b',').next())
                .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"))
        {
            return Next::Refuse(Outcome::text(501, "transfer-encoding other than chunked"));
        }
        let length = match lengths.as_slice() {
            [] => 0,
            [first, rest @ ..] if rest.iter().all(|v| v == first) => {
                match std::str::from_utf8(first)
                    .ok()
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    Some(n) => n,
                    None => return Next::Refuse(Outcome::text(400, "bad content-length")),
                }
            }
            _ => return Next::Refuse(Outcome::text(400, "conflicting content-length headers")),
        };
        let too_large = || {
            Next::Refuse(Outcome::text(
                413,
                format!("request body larger than {MAX_BODY} bytes"),
            ))
        };
        if length > MAX_BODY {
            return too_large();
        }
        let expects = has_token(&header_value(&headers, "expect"), "100-continue");
        if expects && !http10 && (chunked || length > 0) && !self.buffered() {
            if let Err(e) = self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n") {
                return Next::Broken(e);
            }
        }
        let body = if chunked {
            match self.chunked(deadline) {
                Ok(Some(body)) => body,
                Ok(None) => return too_large(),
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Next::Refuse(Outcome::text(400, format!("bad chunked body: {e}")))
                }
                Err(e) => return Next::Broken(e),
            }
        } else {
            let length = length as usize;
            if let Err(e) = self.need(length, deadline) {
                return Next::Broken(e);
            }
            let body = self.buf[self.pos..self.pos + length].to_vec();
            self.pos += length;
            body
        };
        Next::Request(Incoming {
            method,
            target,
            headers,
            body,
            keep_alive,
            http10,
        })
    }

    /// Reads a chunked body (and its trailers, which are dropped). `None` if
    /// it is larger than `MAX_BODY`.
    fn chunked(&mut self, deadline: Instant) -> io::Result<Option<Vec<u8>>> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        let mut body = Vec::new();
        loop {
            let (used, size) = loop {
                match httparse::parse_chunk_size(&self.buf[self.pos..]) {
                    Ok(httparse::Status::Complete(found)) => break found,
                    Ok(httparse::Status::Partial) if self.buf.len() - self.pos > 1024 => {
                        return Err(invalid("chunk size line too long"));
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.fill(deadline)? == 0 {
                            return Err(io::ErrorKind::UnexpectedEof.into());
                        }
                    }
                    Err(_) => return Err(invalid("bad chunk size")),
                }
            };
            self.pos += used;
            if size == 0 {
                break;
            }
            if body.len() as u64 + size > MAX_BODY {
                return Ok(None);
            }
            let size = size as usize;
            self.need(size + 2, deadline)?;
            body.extend_from_slice(&self.buf[self.pos..self.pos + size]);
            if &self.buf[self.pos + size..self.pos + size + 2] != b"\r\n" {
                return Err(invalid("chunk not followed by CRLF"));
            }
            self.pos += size + 2;
        }
        // Trailer fields, up to the empty line.
        loop {
            let line_end = loop {
                if let Some(i) = self.buf[self.pos..].windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                if self.buf.len() - self.pos > MAX_HEAD {
                    return Err(invalid("trailers too large"));
                }
                if self.fill(deadline)? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            };
            self.pos += line_end + 2;
            if line_end == 0 {
                return Ok(Some(body));
            }
        }
    }

    /// Writes `outcome` as the response to a request (`head`: to a `HEAD`
    /// request; `keep_alive`: the connection stays open after it; `http10`:
    /// the request was HTTP/1.0).
    pub fn respond(
        &mut self,
        outcome: &Outcome,
        head: bool,
        keep_alive: bool,
        http10: bool,
    ) -> io::Result<()> {
        let status = outcome.status;
        let mut out = Vec::with_capacity(256 + outcome.body.len());
        let _ = write!(
            out,
            "HTTP/1.1 {status} {}\r\ndate: {}\r\nserver: staticdl-server\r\n",
            reason(status),
            http_date(SystemTime::now())
        );
        for (name, value) in &outcome.headers {
            if is_framing_header(name)
                || name.iter().any(|&b| b == b'\r' || b == b'\n' || b == b':')
                || value.iter().any(|&b| b == b'\r' || b == b'\n')
            {
                continue;
            }
            out.extend_from_slice(name);
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        let bodiless = matches!(status, 100..=199 | 204 | 304);
        if !bodiless {
            let _ = write!(out, "content-length: {}\r\n", outcome.body.len());
        }
        if !keep_alive {
            out.extend_from_slice(b"connection: close\r\n");
        } else if http10 {
            out.extend_from_slice(b"connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !bodiless && !head {
            out.extend_from_slice(&outcome.body);
        }
        self.stream.write_all(&out)
    }
}

/// The reason phrase for `status` (empty for codes without a common one).
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// `time` as an HTTP date: `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A connection whose client side sends `bytes` (then keeps the socket
    /// open), and the client side.
    fn pair(bytes: &[u8]) -> (Connection, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.write_all(bytes).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Connection::new(server), client)
    }

    fn request(next: Next) -> Incoming {
        match next {
            Next::Request(r) => r,
            Next::Refuse(o) => panic!("refused: {}", String::from_utf8_lossy(&o.body)),
            Next::Closed => panic!("closed"),
            Next::Broken(e) => panic!("broken: {e}"),
        }
    }

    fn refused(next: Next) -> u16 {
        match next {
            Next::Refuse(o) => o.status,
            _ => panic!("not refused"),
        }
    }

    const PATIENCE: Duration = Duration::from_secs(5);

    #[test]
    fn pipelined_requests_with_bodies() {
        let (mut conn, _client) = pair(
            b"POST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
              POST /b HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nx-t: 1\r\n\r\n\
              GET /c HTTP/1.0\r\n\r\n",
        );
        let a = request(conn.next_request(PATIENCE));
        assert_eq!((a.method.as_str(), a.target.as_str()), ("POST", "/a?x=1"));
        assert_eq!(
            (a.body.as_slice(), a.keep_alive, a.http10),
            (&b"hello"[..], true, false)
        );
        assert_eq!(a.headers[0], (b"Host".to_vec(), b"h".to_vec()));
        let b = request(conn.next_request(PATIENCE));
        assert_eq!(
            (b.target.as_str(), b.body.as_slice()),
            ("/b", &b"abcde"[..])
        );
        assert!(conn.buffered());
        let c = request(conn.next_request(PATIENCE));
        assert_eq!(
            (c.target.as_str(), c.keep_alive, c.http10),
            ("/c", false, true)
        );
        assert!(!conn.buffered());
    }

    #[test]
    fn refusals_and_closing() {
        let (mut conn, client) = pair(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(!request(conn.next_request(PATIENCE)).keep_alive);
        drop(client);
        assert!(matches!(conn.next_request(PATIENCE), Next::Closed));

        let big = format!(
            "POST / HTTP/1.1\r\ncontent-length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert_eq!(refused(pair(big.as_bytes()).0.next_request(PATIENCE)), 413);
        let both = b"POST / HTTP/1.1\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n";
        assert_eq!(refused(pair(both).0.next_request(PATIENCE)), 400);
        let gzip = b"POST / HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n";
        assert_eq!(refused(pair(gzip).0.next_request(PATIENCE)), 501);
        assert_eq!(
            refused(
                pair(b"\x01\x02 / HTTP/1.1\r\n\r\n")
                    .0
                    .next_request(PATIENCE)
            ),
            400
        );
        let bad_chunk = b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(refused(pair(bad_chunk).0.next_request(PATIENCE)), 400);

        // A request that never completes breaks at the deadline.
        let (mut conn, _client) = pair(b"GET / HTTP/1.1\r\nhost: x\r\n");
        assert!(matches!(
            conn.next_request(Duration::from_millis(100)),
            Next::Broken(e) if e.kind() == io::ErrorKind::TimedOut
        ));
    }

    #[test]
    fn responses_are_framed() {
        let (mut conn, mut client) = pair(b"");
        let mut outcome = Outcome::text(200, "hi");
        outcome
            .headers
            .push((b"content-length".to_vec(), b"99".to_vec()));
        outcome.headers.push((b"x-ok".to_vec(), b"1".to_vec()));
        conn.respond(&outcome, false, false, false).unwrap();
        conn.respond(&Outcome::text(204, ""), false, true, true)
            .unwrap();
        drop(conn);
        let mut text = String::new();
        client.read_to_string(&mut text).unwrap();
        let (first, second) = text.split_once("hi\n").unwrap();
        assert!(first.starts_with("HTTP/1.1 200 OK\r\ndate: "), "{first}");
        assert!(
            first.ends_with(
                "server: staticdl-server\r\ncontent-type: text/plain; charset=utf-8\r\n\
             x-ok: 1\r\ncontent-length: 3\r\nconnection: close\r\n\r\n"
            ),
            "{first}"
        );
        assert!(
            second.starts_with("HTTP/1.1 204 No Content\r\n"),
            "{second}"
        );
        assert!(
            second.ends_with("connection: keep-alive\r\n\r\n"),
            "{second}"
        );
        assert!(!second.contains("content-length"), "{second}");
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
