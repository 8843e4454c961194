//! The rules of lib.rs, one by one, and the bounds.

use super::*;

fn page(p: &[u8]) -> (Method, usize, bool, usize) {
    match parse(p) {
        Parsed::Page {
            method,
            page,
            keep_alive,
            used,
        } => (method, page, keep_alive, used),
        other => panic!("{other:?} for {:?}", core::str::from_utf8(p)),
    }
}

fn rejected(p: &[u8]) -> (Reject, bool) {
    match parse(p) {
        Parsed::Rejected {
            reject,
            keep_alive,
            used,
        } => {
            assert!(used <= p.len());
            (reject, keep_alive)
        }
        other => panic!("{other:?} for {:?}", core::str::from_utf8(p)),
    }
}

#[test]
fn pages_and_keep_alive() {
    let r = b"GET /16k HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(page(r), (Method::Get, 2, true, r.len()));
    let r = b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_eq!(page(r), (Method::Head, 0, false, r.len()));
    let r = b"GET /64k HTTP/1.0\r\n\r\n";
    assert_eq!(page(r), (Method::Get, 3, false, r.len()));
    let r = b"GET /1k HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n";
    assert_eq!(page(r), (Method::Get, 1, true, r.len()));
    // Leading empty lines, a body that is read and ignored, pipelining.
    let r = b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /1k";
    assert_eq!(page(r), (Method::Get, 0, true, r.len() - 7));
}

#[test]
fn incomplete_until_the_whole_request() {
    let r = b"GET /1k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde";
    for n in 0..r.len() {
        assert_eq!(parse(&r[..n]), Parsed::Incomplete, "{n}");
    }
    assert_eq!(page(r).3, r.len());
}

#[test]
fn not_found_and_wrong_method_keep_the_connection() {
    assert_eq!(
        rejected(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"),
        (Reject::NotFound, true)
    );
    assert_eq!(
        rejected(b"GET /1k/ HTTP/1.0\r\n\r\n"),
        (Reject::NotFound, false)
    );
    assert_eq!(
        rejected(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"),
        (Reject::MethodNotAllowed, true)
    );
}

#[test]
fn malformed_requests_are_400_and_close() {
    for r in [
        &b"GET / HTTP/1.1\r\n\r\n"[..], // no Host
        b"GET /\r\nHost: x\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
        b"GET x HTTP/1.1\r\nHost: x\r\n\r\n",
        b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/x.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        b"GET / HTTP/1.1\r\n Host: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/1.1\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: \x01\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ] {
        assert_eq!(rejected(r), (Reject::BadRequest, false), "{r:?}");
    }
    // Repeated but equal lengths are one length.
    let r = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\nz";
    assert_eq!(page(r).3, r.len());
}

#[test]
fn limits() {
    assert_eq!(
        rejected(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
        (Reject::Version, false)
    );
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        MAX_BODY + 1
    );
    assert_eq!(rejected(big.as_bytes()), (Reject::TooLarge, false));
    let fits = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY}\r\n\r\n{}",
        "b".repeat(MAX_BODY)
    );
    assert!(fits.len() <= REQUEST_BUF);
    assert_eq!(page(fits.as_bytes()).3, fits.len());
    // A head that never ends: incomplete below the limit, 431 at it.
    let mut long = b"GET / HTTP/1.1\r\nHost: x\r\nX: ".to_vec();
    long.resize(MAX_HEAD - 1, b'a');
    assert_eq!(parse(&long), Parsed::Incomplete);
    long.push(b'a');
    assert_eq!(rejected(&long), (Reject::HeadTooLarge, false));
    // A whole head one byte over the limit.
    let mut over = b"GET / HTTP/1.1\r\nHost: x\r\nX: ".to_vec();
    over.resize(MAX_HEAD - 3, b'a');
    over.extend_from_slice(b"\r\n\r\n");
    assert_eq!(over.len(), MAX_HEAD + 1);
    assert_eq!(rejected(&over), (Reject::HeadTooLarge, false));
    over.remove(30);
    assert_eq!(page(&over).3, MAX_HEAD);
    // Empty lines before the request count against the limit.
    let mut crlfs = b"\r\n".repeat(MAX_HEAD / 2 - 1);
    assert_eq!(parse(&crlfs), Parsed::Incomplete);
    crlfs.extend_from_slice(b"\r\n");
    assert_eq!(rejected(&crlfs), (Reject::HeadTooLarge, false));
}

#[test]
fn never_panics_on_any_prefix_of_hostile_bytes() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let alphabet = b"GET /1kHTP.\r\n :Content-Length0123456789";
    for _ in 0..2000 {
        let mut buf = [0u8; 300];
        let n = (seed % 300) as usize;
        for b in buf.iter_mut().take(n) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = if seed & 1 == 0 {
                alphabet[(seed >> 8) as usize % alphabet.len()]
            } else {
                (seed >> 16) as u8
            };
        }
        for k in 0..=n {
            match parse(&buf[..k]) {
                Parsed::Page { used, .. } | Parsed::Rejected { used, .. } => assert!(used <= k),
                Parsed::Incomplete => assert!(k < REQUEST_BUF),
            }
        }
    }
}

#[test]
fn response_heads() {
    let mut out = [0u8; MAX_RESPONSE_HEAD];
    let n = head((200, "OK"), false, 65536, true, &mut out);
    assert_eq!(
        &out[..n],
        b"HTTP/1.1 200 OK\r\nServer: kml-web\r\nContent-Type: text/plain\r\nContent-Length: 65536\r\nConnection: keep-alive\r\n\r\n"
    );
    let r = Reject::MethodNotAllowed;
    let n = head(r.status(), false, r.body().len(), false, &mut out);
    let s = core::str::from_utf8(&out[..n]).unwrap();
    assert!(s.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
    assert!(s.ends_with("Connection: close\r\nAllow: GET, HEAD\r\n\r\n"));
    for r in [
        Reject::BadRequest,
        Reject::NotFound,
        Reject::TooLarge,
        Reject::HeadTooLarge,
        Reject::Version,
    ] {
        let (code, reason) = r.status();
        assert_eq!(r.body(), format!("{code} {reason}\n"));
        assert!(head(r.status(), false, 99, false, &mut out) < MAX_RESPONSE_HEAD);
    }
}

#[test]
fn page_bodies() {
    let mut b = [0u8; 128];
    page_bytes(1, 0, &mut b);
    assert_eq!(b[63], b'\n');
    assert_eq!(b[127], b'\n');
    assert!(b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'\n'));
    assert_ne!(b[..63], b[64..127]);
    let mut i = [0u8; INDEX.len()];
    page_bytes(0, 0, &mut i);
    assert_eq!(&i[..], INDEX.as_bytes());
}
