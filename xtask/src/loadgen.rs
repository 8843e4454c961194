//! The HTTP load generator of `cargo xtask bench net`: `connections`
//! threads, each with one keep-alive connection to 127.0.0.1:`port`
//! (QEMU's forward to the guest's port 80; with several ports, connection
//! k goes to port k mod their number: configuration 2 forwards one port
//! to each worker's own address), each sending `GET` of one
//! page, waiting for the whole answer (status and body checked byte for
//! byte against `web_http`), and sending the next: a closed loop, so
//! there are exactly `connections` requests in flight at any time.
//!
//! Method: every connection is opened (and answers one request) before
//! the clock starts; then a warm-up, then the measured window. A request
//! counts if it completes inside the window, and its latency is the time
//! from writing its first byte to reading its last; every such latency is
//! kept and the percentiles are read off the sorted list. Requests per
//! second = requests counted / window length. Being closed-loop, the
//! latencies are response times at that concurrency, not at a fixed
//! arrival rate: a slow answer delays the connection's next request, so
//! they say nothing about an open-loop load (coordinated omission), and
//! none is claimed.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::web::{check_page, get, Conn};

/// One load.
#[derive(Clone, Debug)]
pub struct Load {
    /// Connection k goes to `ports[k % ports.len()]`.
    pub ports: Vec<u16>,
    pub connections: usize,
    /// Index into `web_http::PAGES`.
    pub page: usize,
    pub warmup: Duration,
    pub window: Duration,
}

/// What one load measured.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Measured {
    pub connections: usize,
    pub requests: u64,
    pub window_s: f64,
    pub requests_per_s: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

/// Tries to open a connection that answers a request (a guest with no
/// listening socket free at that moment resets it: QEMU's forward has
/// already accepted on the host side, so that shows as a failed request).
fn open(port: u16, page: usize) -> Result<Conn, String> {
    let mut last = String::new();
    for _ in 0..40 {
        let attempt = Conn::open(port).and_then(|mut c| {
            c.send(get(web_http::PAGES[page].0, false).as_bytes())?;
            check_page(&c.reply(false)?, page, false)?;
            Ok(c)
        });
        match attempt {
            Ok(c) => return Ok(c),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("no connection answered in 40 tries: {last}"))
}

/// Runs `load`; an error if any request failed or any answer was wrong.
pub fn run(load: Load) -> Result<Measured, String> {
    // One at a time, so the guest has a listening socket for each.
    if load.ports.is_empty() {
        return Err("no port to load".into());
    }
    let mut conns = Vec::new();
    for k in 0..load.connections {
        let port = load.ports[k % load.ports.len()];
        conns.push(open(port, load.page).map_err(|e| format!("connection {k}: {e}"))?);
    }
    let barrier = Arc::new(Barrier::new(load.connections + 1));
    let path = get(web_http::PAGES[load.page].0, false);
    let threads: Vec<_> = conns
        .into_iter()
        .map(|mut c| {
            let (barrier, path) = (barrier.clone(), path.clone());
            let (warmup, window, page) = (load.warmup, load.window, load.page);
            std::thread::spawn(move || -> Result<Vec<u64>, String> {
                barrier.wait();
                let start = Instant::now();
                let (from, to) = (warmup, warmup + window);
                let mut lat = Vec::new();
                loop {
                    let t = Instant::now();
                    if t - start >= to {
                        return Ok(lat);
                    }
                    c.send(path.as_bytes())?;
                    check_page(&c.reply(false)?, page, false)?;
                    let done = Instant::now();
                    if t - start >= from && done - start <= to {
                        lat.push((done - t).as_nanos() as u64);
                    }
                }
            })
        })
        .collect();
    barrier.wait();
    let mut all = Vec::new();
    for (k, t) in threads.into_iter().enumerate() {
        let lat = t
            .join()
            .unwrap_or_else(|_| Err("panicked".into()))
            .map_err(|e| format!("connection {k}: {e}"))?;
        all.extend(lat);
    }
    Ok(summarise(load.connections, load.window, all))
}

/// Requests per second and latency percentiles of the latencies (ns) of
/// the requests completed in a window.
pub fn summarise(connections: usize, window: Duration, mut lat: Vec<u64>) -> Measured {
    lat.sort_unstable();
    let pct = |q: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((q * lat.len() as f64).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i] as f64 / 1000.0
    };
    Measured {
        connections,
        requests: lat.len() as u64,
        window_s: window.as_secs_f64(),
        requests_per_s: lat.len() as f64 / window.as_secs_f64(),
        p50_us: pct(0.50),
        p90_us: pct(0.90),
        p99_us: pct(0.99),
        max_us: pct(1.0),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpListener};

    /// A keep-alive server on this machine standing in for the guest:
    /// answers every `GET /1k` with page 1, corrupting byte 100 of the
    /// body when `corrupt`.
    pub(crate) fn serve(corrupt: bool) -> u16 {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut c = c;
                    let mut body = vec![0u8; 1024];
                    web_http::page_bytes(1, 0, &mut body);
                    if corrupt {
                        body[100] ^= 1;
                    }
                    let mut head = [0u8; web_http::MAX_RESPONSE_HEAD];
                    let n = web_http::head((200, "OK"), false, 1024, true, &mut head);
                    let (mut buf, mut got) = (Vec::new(), [0u8; 4096]);
                    while let Ok(k) = c.read(&mut got) {
                        if k == 0 {
                            return;
                        }
                        buf.extend_from_slice(&got[..k]);
                        while let Some(e) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            buf.drain(..e + 4);
                            let out = [&head[..n], &body[..]].concat();
                            if c.write_all(&out).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        port
    }

    /// A short load against a faithful server is well formed (no timing is
    /// judged); a wrong byte in a body fails the load.
    #[test]
    fn load_smoke() {
        let load = |port| Load {
            ports: vec![port],
            connections: 2,
            page: 1,
            warmup: Duration::from_millis(100),
            window: Duration::from_millis(300),
        };
        let m = run(load(serve(false))).unwrap();
        assert_eq!(m.connections, 2);
        assert!(m.requests > 0);
        assert_eq!(m.requests_per_s, m.requests as f64 / 0.3);
        assert!(m.p50_us <= m.p90_us && m.p90_us <= m.p99_us && m.p99_us <= m.max_us);
        let bad = run(load(serve(true))).unwrap_err();
        assert!(bad.contains("body differs at byte 100"), "{bad}");
        // Spread over two servers (configuration 2's one port per worker):
        // a bad one among them fails the load.
        let mut two = load(serve(false));
        two.ports.push(serve(false));
        two.connections = 4;
        assert!(run(two.clone()).unwrap().requests > 0);
        two.ports[1] = serve(true);
        assert!(run(two).is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let lat: Vec<u64> = (1..=100).rev().map(|i| i * 1000).collect();
        let m = summarise(2, Duration::from_secs(4), lat);
        assert_eq!(m.requests, 100);
        assert_eq!(m.requests_per_s, 25.0);
        assert_eq!(
            (m.p50_us, m.p90_us, m.p99_us, m.max_us),
            (50.0, 90.0, 99.0, 100.0)
        );
        let one = summarise(1, Duration::from_secs(1), vec![7000]);
        assert_eq!((one.p50_us, one.p99_us), (7.0, 7.0));
        assert_eq!(summarise(1, Duration::from_secs(1), vec![]).p99_us, 0.0);
    }
}
