//! The host side of the web image's test (servers/apps/web,
//! images/web.toml; docs/network.md, *The web server*): bounded HTTP
//! requests to the guest's port 80 through the port of 127.0.0.1 that QEMU
//! forwards to it, every answer checked: status, `Content-Length`,
//! `Connection`, and the body byte for byte against `web_http`'s pages.
//! Every read and write has a timeout and the whole step a deadline; only
//! 127.0.0.1 is ever reached.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use web_http::{page_byte, MAX_HEAD, PAGES};

/// Wait for any progress on a connection (connect, one read or write).
const WAIT: Duration = Duration::from_secs(10);
/// Connections open at once in the concurrency step (unless the case
/// says: `NetTraffic::web_at_once`).
pub const CONCURRENT: usize = qemu_tests::WEB_CONCURRENT;
/// Keep-alive requests on each of them.
pub const PER_CONNECTION: usize = 25;

/// One answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub length: usize,
    pub close: bool,
    pub allow: Option<String>,
    pub body: Vec<u8>,
}

/// A connection to the guest's web server, with what was read past the
/// last answer.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn open(port: u16) -> Result<Conn, String> {
        let to = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = TcpStream::connect_timeout(&to, WAIT).map_err(|e| format!("connect: {e}"))?;
        stream
            .set_read_timeout(Some(WAIT))
            .and_then(|()| stream.set_write_timeout(Some(WAIT)))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| e.to_string())?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .map_err(|e| format!("write: {e}"))
    }

    fn fill(&mut self) -> Result<usize, String> {
        let mut chunk = [0u8; 16384];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }

    /// Reads one answer (`head_only`: to a HEAD request, no body).
    pub fn reply(&mut self, head_only: bool) -> Result<Reply, String> {
        let end = loop {
            if let Some(e) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break e;
            }
            if self.buf.len() > 1024 {
                return Err("an answer head longer than 1 KiB".into());
            }
            if self.fill()? == 0 {
                return Err(format!("closed after {} bytes of a head", self.buf.len()));
            }
        };
        let head =
            String::from_utf8(self.buf[..end].to_vec()).map_err(|_| "a head that is not UTF-8")?;
        let mut lines = head.split("\r\n");
        let first = lines.next().unwrap_or_default();
        let status = first
            .strip_prefix("HTTP/1.1 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("status line {first:?}"))?;
        let (mut length, mut close, mut allow) = (None, None, None);
        for l in lines {
            let (name, value) = l
                .split_once(": ")
                .ok_or_else(|| format!("header line {l:?}"))?;
            match name {
                "Content-Length" => length = value.parse().ok(),
                "Connection" => close = Some(value == "close"),
                "Allow" => allow = Some(value.to_string()),
                _ => {}
            }
        }
        let length = length.ok_or("no Content-Length")?;
        let close = close.ok_or("no Connection header")?;
        let need = if head_only { 0 } else { length };
        while self.buf.len() < end + 4 + need {
            if self.fill()? == 0 {
                return Err(format!(
                    "closed {} bytes into a {need}-byte body",
                    self.buf.len() - end - 4
                ));
            }
        }
        let body = self.buf[end + 4..end + 4 + need].to_vec();
        self.buf.drain(..end + 4 + need);
        Ok(Reply {
            status,
            length,
            close,
            allow,
            body,
        })
    }

    /// The guest closed the connection, with nothing more sent.
    pub fn closed(&mut self) -> Result<(), String> {
        match self.fill()? {
            0 if self.buf.is_empty() => Ok(()),
            0 => Err(format!("{} bytes after the last answer", self.buf.len())),
            _ => Err(format!("{} bytes after the last answer", self.buf.len())),
        }
    }
}

/// `GET path` (keep-alive unless `close`).
pub fn get(path: &str, close: bool) -> String {
    let conn = if close { "Connection: close\r\n" } else { "" };
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: xtask\r\n{conn}\r\n")
}

/// Checks a 200 answer to `GET` (or `HEAD`) of page `page`.
pub fn check_page(r: &Reply, page: usize, head_only: bool) -> Result<(), String> {
    let (path, len) = PAGES[page];
    if r.status != 200 || r.length != len {
        return Err(format!(
            "{path}: status {} with {} bytes, expected 200 with {len}",
            r.status, r.length
        ));
    }
    if head_only {
        return Ok(());
    }
    match r
        .body
        .iter()
        .enumerate()
        .find(|&(j, &b)| b != page_byte(page, j))
    {
        Some((j, _)) => Err(format!("{path}: body differs at byte {j}")),
        None => Ok(()),
    }
}

fn check_reject(r: &Reply, status: u16, close: bool) -> Result<(), String> {
    if r.status != status || r.close != close {
        return Err(format!(
            "status {} (close {}), expected {status} (close {close})",
            r.status, r.close
        ));
    }
    if !r.body.starts_with(status.to_string().as_bytes()) {
        return Err(format!("a {status} whose body does not say so"));
    }
    Ok(())
}

/// Requests [`check_web`] makes with `at_once` concurrent connections,
/// each answered once; the guest's workers must report this many between
/// them (the case's checker).
pub const fn requests(at_once: usize) -> u64 {
    qemu_tests::web_requests(at_once)
}
const _: () = assert!(requests(CONCURRENT) == 17 + (CONCURRENT * PER_CONNECTION) as u64);
const _: () = assert!(qemu_tests::web_connections(CONCURRENT) == 7 + CONCURRENT as u64);

/// The web test's host step, with `at_once` connections in its
/// concurrency step; what it did, one line a part, or the first problem.
pub fn check_web(port: u16, at_once: usize) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    let mut requests = 0u64;
    let step = |name: &str, r: Result<u64, String>, done: &mut Vec<String>, n: &mut u64| {
        r.map(|k| {
            *n += k;
            done.push(format!("web: {name}: ok ({k} requests)"));
        })
        .map_err(|e| format!("web: {name}: {e}"))
    };
    step("keep-alive", keep_alive(port), &mut done, &mut requests)?;
    step("pipelined", pipelined(port), &mut done, &mut requests)?;
    step("rejected", rejected(port), &mut done, &mut requests)?;
    step(
        "concurrent",
        concurrent(port, at_once),
        &mut done,
        &mut requests,
    )?;
    let expected = self::requests(at_once);
    if requests != expected {
        return Err(format!(
            "web: {requests} requests made, {expected} expected (the test's own count)"
        ));
    }
    Ok(done)
}

/// One connection: every page, a HEAD, a 404 on the way, then a request
/// that asks to close.
fn keep_alive(port: u16) -> Result<u64, String> {
    let mut c = Conn::open(port)?;
    for (page, (path, _)) in PAGES.iter().enumerate() {
        c.send(get(path, false).as_bytes())?;
        check_page(&c.reply(false)?, page, false)?;
    }
    c.send(b"HEAD /64k HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")?;
    check_page(&c.reply(true)?, 3, true)?;
    c.send(get("/missing", false).as_bytes())?;
    check_reject(&c.reply(false)?, 404, false)?;
    c.send(get("/16k", false).as_bytes())?;
    check_page(&c.reply(false)?, 2, false)?;
    c.send(get("/", true).as_bytes())?;
    let r = c.reply(false)?;
    check_page(&r, 0, false)?;
    if !r.close {
        return Err("Connection: close was not answered close".into());
    }
    c.closed()?;
    Ok(8)
}

/// Three requests in one write, answered in order.
fn pipelined(port: u16) -> Result<u64, String> {
    let mut c = Conn::open(port)?;
    c.send(
        format!(
            "{}{}{}",
            get("/1k", false),
            get("/nope", false),
            get("/64k", false)
        )
        .as_bytes(),
    )?;
    check_page(&c.reply(false)?, 1, false)?;
    check_reject(&c.reply(false)?, 404, false)?;
    check_page(&c.reply(false)?, 3, false)?;
    Ok(3)
}

/// Requests the server refuses: each answered with its status, and the
/// connection closed after every one but the 405.
fn rejected(port: u16) -> Result<u64, String> {
    // A head of exactly MAX_HEAD bytes that never ends: 431.
    let mut long = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Fill: ".to_vec();
    long.resize(MAX_HEAD, b'a');
    let cases: [(&[u8], u16); 4] = [
        (&long, 431),
        (
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n",
            413,
        ),
        (b"HELLO\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
    ];
    for (req, status) in cases {
        let mut c = Conn::open(port)?;
        c.send(req)?;
        check_reject(&c.reply(false)?, status, true).map_err(|e| format!("{status}: {e}"))?;
        c.closed().map_err(|e| format!("{status}: {e}"))?;
    }
    let mut c = Conn::open(port)?;
    c.send(b"DELETE /1k HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")?;
    let r = c.reply(false)?;
    check_reject(&r, 405, false)?;
    if r.allow.as_deref() != Some("GET, HEAD") {
        return Err(format!("405 with Allow {:?}", r.allow));
    }
    c.send(get("/1k", false).as_bytes())?;
    check_page(&c.reply(false)?, 1, false)?;
    Ok(6)
}

/// `at_once` connections ([`CONCURRENT`] unless the case says), all open
/// at once (each has its first answer before any sends its second), each
/// making [`PER_CONNECTION`] requests.
fn concurrent(port: u16, at_once: usize) -> Result<u64, String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let barrier = Arc::new(Barrier::new(at_once));
    let threads: Vec<_> = (0..at_once)
        .map(|k| {
            let barrier = barrier.clone();
            std::thread::spawn(move || -> Result<(), String> {
                let c = Conn::open(port);
                let first = c.and_then(|mut c| {
                    c.send(get(PAGES[k % PAGES.len()].0, false).as_bytes())?;
                    check_page(&c.reply(false)?, k % PAGES.len(), false)?;
                    Ok(c)
                });
                // Every thread reaches the barrier, whatever happened.
                barrier.wait();
                let mut c = first?;
                for i in 1..PER_CONNECTION {
                    if Instant::now() > deadline {
                        return Err("past the step's deadline".into());
                    }
                    let page = (k + i) % PAGES.len();
                    c.send(get(PAGES[page].0, false).as_bytes())?;
                    check_page(&c.reply(false)?, page, false)?;
                }
                Ok(())
            })
        })
        .collect();
    for (k, t) in threads.into_iter().enumerate() {
        t.join()
            .unwrap_or_else(|_| Err("panicked".into()))
            .map_err(|e| format!("connection {k}: {e}"))?;
    }
    Ok((at_once * PER_CONNECTION) as u64)
}
