//! The web application's HTTP/1.1 (servers/apps/web; docs/network.md,
//! *The web server*): what a request may look like, what the server
//! answers, and the pages it holds. No I/O and no allocation, so the host
//! tests every rule, and xtask's test and load generator check bodies
//! against [`page_byte`] byte for byte.
//!
//! The rules, applied in this order to the bytes a connection received:
//!
//! - Empty lines before a request are skipped (RFC 9112 §2.2).
//! - The head (any empty lines before it, the request line and header
//!   lines, up to the empty line) must end within [`MAX_HEAD`] bytes, or
//!   the answer is **431** and the connection closes. So a request that is
//!   still [`Parsed::Incomplete`] always has room left in a buffer of
//!   [`REQUEST_BUF`] bytes.
//! - Every line ends in CRLF; a bare CR or LF, a control byte, a request
//!   line that is not `METHOD SP /target SP HTTP/d.d`, a header line
//!   without a colon or with a space before it, a `Transfer-Encoding`, or
//!   an unreadable or repeated, differing `Content-Length` is **400**; an
//!   HTTP/1.1 request without `Host` is **400** too.
//! - A version other than 1.0 and 1.1 is **505**; a method other than
//!   `GET` and `HEAD` is **405** (`Allow: GET, HEAD`).
//! - A body longer than [`MAX_BODY`] is **413**; a shorter one is read and
//!   ignored.
//! - Then the target: one of [`PAGES`] is **200**, anything else **404**.
//!
//! Keep-alive is HTTP/1.1's default (`Connection: close` ends it); an
//! HTTP/1.0 request keeps the connection only with `Connection:
//! keep-alive`. Every error answer closes the connection except 404 and
//! 405, after which the request's framing is still known.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// Most bytes of a request's head (request line, headers, the empty line).
pub const MAX_HEAD: usize = 4096;
/// Most bytes of a request body (they are read and ignored).
pub const MAX_BODY: usize = 1024;
/// Bytes a connection must be able to hold: one whole request.
pub const REQUEST_BUF: usize = MAX_HEAD + MAX_BODY;
/// Most bytes of a response head ([`head`]).
pub const MAX_RESPONSE_HEAD: usize = 256;

/// The pages: path and body length. Page 0 is an HTML index, the others
/// are text of [`page_byte`].
pub const PAGES: [(&str, usize); 4] = [
    ("/", INDEX.len()),
    ("/1k", 1024),
    ("/16k", 16 * 1024),
    ("/64k", 64 * 1024),
];

/// The index page.
pub const INDEX: &str = "<!DOCTYPE html>\n<html><head><title>web</title></head><body>\n\
<h1>Served from application cores through a kernel-core TCP/IP stack</h1>\n\
<ul><li><a href=\"/1k\">/1k</a></li><li><a href=\"/16k\">/16k</a></li>\
<li><a href=\"/64k\">/64k</a></li></ul>\n</body></html>\n";

const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Byte `j` of page `page`'s body (`j` < its length).
pub fn page_byte(page: usize, j: usize) -> u8 {
    if page == 0 {
        return INDEX.as_bytes()[j];
    }
    if j % 64 == 63 {
        b'\n'
    } else {
        ALNUM[(j / 64 * 7 + j % 64 + page) % 62]
    }
}

/// Fills `out` with page `page`'s body from byte `from` on.
pub fn page_bytes(page: usize, from: usize, out: &mut [u8]) {
    for (k, b) in out.iter_mut().enumerate() {
        *b = page_byte(page, from + k);
    }
}

/// A request's method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`: the head and the body.
    Get,
    /// `HEAD`: the head only.
    Head,
}

/// The answers other than 200.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// 400: not a request this server can read.
    BadRequest,
    /// 404: no such page.
    NotFound,
    /// 405: a method other than GET and HEAD.
    MethodNotAllowed,
    /// 413: a body longer than [`MAX_BODY`].
    TooLarge,
    /// 431: a head longer than [`MAX_HEAD`].
    HeadTooLarge,
    /// 505: an HTTP version other than 1.0 and 1.1.
    Version,
}

impl Reject {
    /// The status code and its reason phrase.
    pub fn status(self) -> (u16, &'static str) {
        match self {
            Reject::BadRequest => (400, "Bad Request"),
            Reject::NotFound => (404, "Not Found"),
            Reject::MethodNotAllowed => (405, "Method Not Allowed"),
            Reject::TooLarge => (413, "Content Too Large"),
            Reject::HeadTooLarge => (431, "Request Header Fields Too Large"),
            Reject::Version => (505, "HTTP Version Not Supported"),
        }
    }

    /// The body sent with it: `"<code> <reason>\n"`.
    pub fn body(self) -> &'static str {
        match self {
            Reject::BadRequest => "400 Bad Request\n",
            Reject::NotFound => "404 Not Found\n",
            Reject::MethodNotAllowed => "405 Method Not Allowed\n",
            Reject::TooLarge => "413 Content Too Large\n",
            Reject::HeadTooLarge => "431 Request Header Fields Too Large\n",
            Reject::Version => "505 HTTP Version Not Supported\n",
        }
    }
}

/// What the bytes received so far hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not a whole request yet: receive more (the buffer is not full).
    Incomplete,
    /// A whole request of `used` bytes (head and body) asking for a page.
    Page {
        /// GET or HEAD.
        method: Method,
        /// Index into [`PAGES`].
        page: usize,
        /// Keep the connection open after the answer.
        keep_alive: bool,
        /// Bytes of the buffer this request took.
        used: usize,
    },
    /// A request answered with `reject`; `used` bytes, and whether the
    /// connection stays open (404 and 405 of a keep-alive request).
    Rejected {
        /// The answer.
        reject: Reject,
        /// Keep the connection open after the answer.
        keep_alive: bool,
        /// Bytes of the buffer this request took (all of it when closing).
        used: usize,
    },
}

/// Reads one request from the start of `buf` (the bytes received and not
/// yet used). Never reads past `buf`; a result's `used` is at most
/// `buf.len()`.
pub fn parse(buf: &[u8]) -> Parsed {
    let close = |reject| Parsed::Rejected {
        reject,
        keep_alive: false,
        used: buf.len(),
    };
    // Empty lines before the request line.
    let mut start = 0;
    while buf.len() >= start + 2 && buf[start] == b'\r' && buf[start + 1] == b'\n' {
        start += 2;
    }
    let Some(end) = find(&buf[start..], b"\r\n\r\n").map(|e| start + e) else {
        // Within the limit the rest may still come; a bare LF or a control
        // byte already seen is an error now.
        if let Err(r) = check_bytes(&buf[start..]) {
            return close(r);
        }
        return if buf.len() >= MAX_HEAD {
            close(Reject::HeadTooLarge)
        } else {
            Parsed::Incomplete
        };
    };
    if end + 4 > MAX_HEAD {
        return close(Reject::HeadTooLarge);
    }
    let head = &buf[start..end + 2]; // every line with its CRLF
    if let Err(r) = check_bytes(head) {
        return close(r);
    }
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| &l[..l.len().saturating_sub(1)]);
    let Some(first) = lines.next() else {
        return close(Reject::BadRequest);
    };
    let line = match request_line(first) {
        Ok(l) => l,
        Err(r) => return close(r),
    };
    let mut h = Headers::default();
    for l in lines.filter(|l| !l.is_empty()) {
        if let Err(r) = h.add(l) {
            return close(r);
        }
    }
    if line.minor == 1 && !h.host {
        return close(Reject::BadRequest);
    }
    let body = h.length.unwrap_or(0);
    if body > MAX_BODY {
        return close(Reject::TooLarge);
    }
    let used = end + 4 + body;
    if buf.len() < used {
        return Parsed::Incomplete;
    }
    let keep_alive = match (line.minor, h.close, h.keep_alive) {
        (_, true, _) => false,
        (1, false, _) => true,
        (_, false, ka) => ka,
    };
    let Some(method) = line.method else {
        return Parsed::Rejected {
            reject: Reject::MethodNotAllowed,
            keep_alive,
            used,
        };
    };
    match PAGES.iter().position(|(p, _)| p.as_bytes() == line.target) {
        Some(page) => Parsed::Page {
            method,
            page,
            keep_alive,
            used,
        },
        None => Parsed::Rejected {
            reject: Reject::NotFound,
            keep_alive,
            used,
        },
    }
}

/// A bare CR or LF (one not in a CRLF pair) or another control byte
/// (tab is allowed) is a 400. A CR as the very last byte may be the start
/// of a CRLF still to come.
fn check_bytes(b: &[u8]) -> Result<(), Reject> {
    for (i, &c) in b.iter().enumerate() {
        let ok = match c {
            b'\r' => b.get(i + 1).is_none_or(|&n| n == b'\n'),
            b'\n' => i > 0 && b[i - 1] == b'\r',
            b'\t' => true,
            0..=31 | 127 => false,
            _ => true,
        };
        if !ok {
            return Err(Reject::BadRequest);
        }
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

struct RequestLine<'a> {
    /// `None`: a well-formed method other than GET and HEAD.
    method: Option<Method>,
    target: &'a [u8],
    minor: u8,
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn request_line(l: &[u8]) -> Result<RequestLine<'_>, Reject> {
    let mut parts = l.split(|&b| b == b' ');
    let (Some(m), Some(t), Some(v), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reject::BadRequest);
    };
    if m.is_empty() || !m.iter().all(|&b| is_token(b)) {
        return Err(Reject::BadRequest);
    }
    if t.first() != Some(&b'/') || t.iter().any(|&b| b <= b' ' || b == 127) {
        return Err(Reject::BadRequest);
    }
    let [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] = *v else {
        return Err(Reject::BadRequest);
    };
    if !major.is_ascii_digit() || !minor.is_ascii_digit() {
        return Err(Reject::BadRequest);
    }
    if major != b'1' || minor > b'1' {
        return Err(Reject::Version);
    }
    let method = match m {
        b"GET" => Some(Method::Get),
        b"HEAD" => Some(Method::Head),
        _ => None,
    };
    Ok(RequestLine {
        method,
        target: t,
        minor: minor - b'0',
    })
}

#[derive(Default)]
struct Headers {
    host: bool,
    length: Option<usize>,
    close: bool,
    keep_alive: bool,
}

impl Headers {
    fn add(&mut self, l: &[u8]) -> Result<(), Reject> {
        let colon = l
            .iter()
            .position(|&b| b == b':')
            .ok_or(Reject::BadRequest)?;
        let (name, value) = (&l[..colon], trim(&l[colon + 1..]));
        if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
            return Err(Reject::BadRequest);
        }
        if name.eq_ignore_ascii_case(b"host") {
            self.host = true;
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let n = number(value).ok_or(Reject::BadRequest)?;
            if self.length.is_some_and(|m| m != n) {
                return Err(Reject::BadRequest);
            }
            self.length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(Reject::BadRequest);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for opt in value.split(|&b| b == b',').map(trim) {
                self.close |= opt.eq_ignore_ascii_case(b"close");
                self.keep_alive |= opt.eq_ignore_ascii_case(b"keep-alive");
            }
        }
        Ok(())
    }
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// A decimal `Content-Length`; `None` if empty, not all digits, or past
/// 10^9 (far beyond [`MAX_BODY`], and no overflow).
fn number(v: &[u8]) -> Option<usize> {
    if v.is_empty() || v.len() > 9 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0, |n, &d| n * 10 + usize::from(d - b'0')))
}

/// Writes a response head into `out` (at least [`MAX_RESPONSE_HEAD`]
/// bytes): status line, `Server`, `Content-Type`, `Content-Length`,
/// `Connection`, and `Allow` after a 405; the bytes written.
pub fn head(
    status: (u16, &str),
    text_html: bool,
    length: usize,
    keep_alive: bool,
    out: &mut [u8],
) -> usize {
    let mut w = Writer { out, n: 0 };
    let kind = if text_html { "text/html" } else { "text/plain" };
    let conn = if keep_alive { "keep-alive" } else { "close" };
    let allow = if status.0 == 405 {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let _ = core::fmt::write(
        &mut w,
        format_args!(
            "HTTP/1.1 {} {}\r\nServer: kml-web\r\nContent-Type: {kind}\r\nContent-Length: {length}\r\nConnection: {conn}\r\n{allow}\r\n",
            status.0, status.1
        ),
    );
    w.n
}

struct Writer<'a> {
    out: &'a mut [u8],
    n: usize,
}

impl core::fmt::Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let b = s.as_bytes();
        let room = self.out.len() - self.n;
        let k = b.len().min(room);
        self.out[self.n..self.n + k].copy_from_slice(&b[..k]);
        self.n += k;
        if k < b.len() {
            Err(core::fmt::Error)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
