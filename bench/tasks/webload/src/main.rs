//! webload: an HTTP load generator inside the guest (docs/benchmarks.md,
//! *Instructions per request*). It is a client of the network server like
//! the web workers, and reaches them at the server's own address
//! (10.0.2.15:80) with `TcpConnect`: the server's stack sends the frames
//! to itself (its loopback, servers/net/server/src/loopback.rs), so the
//! traffic never leaves the guest and, under `-icount`, a run is the same
//! instructions every time.
//!
//! It waits until the image's `workers` web workers listen (each counts
//! itself in word 1 of the range `web`), then:
//!
//! 1. **keep-alive**: opens [`CONNS`] connections, at most as many at once
//!    as the workers have listening sockets, with an untimed warm-up
//!    request on each (handshakes, ARP), then
//!    [`ROUNDS`] timed rounds, each a `GET /1k` sent on every connection
//!    before any answer is read (so the workers serve them together), then
//!    every answer read; then closes them;
//! 2. **new connection**: [`NEW`] times, one after the other: connect,
//!    `GET /1k`, read the answer, close (the window holds each
//!    handshake; the close's FIN exchange ends after it).
//!
//! Every answer is checked byte for byte against web-http's head and page.
//! Each phase prints `RESULT name=webload mode=MODE workers=N
//! requests=R ns=NS t0=T0 t1=T1` (ns on the machine's clock: under
//! `-icount shift=0` one per instruction of the whole machine). Then it
//! raises the workers' stop flag and says `Done`.
//!
//! With `values = { crash = 1 }` (images/web-reclient.toml) its first
//! instance faults on purpose after the warm-up round, holding its
//! connections: the network server resets them, the supervisor restarts
//! this task, and the new instance connects again and makes every request.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use core::sync::atomic::{AtomicU64, Ordering};
use net_api::client::{Error, Net};
use net_api::{Endpoint, Handle};

ulib::entry!(main);

ulib::bind! {
    /// The range the web workers link: word 0 their stop flag, word 1 how
    /// many listen.
    static WEB: Range = "web";
    /// How many web workers the image runs.
    static WORKERS: Value = "workers";
    /// 1: the first instance faults on purpose after the warm-up.
    static CRASH: Value = "crash";
    /// The workers' wake notifications (`net.1`, ...), granted writable:
    /// a worker waiting in the kernel for the network server sees the
    /// stop flag only once woken.
    static WAKE1: Slot = "wake1";
    static WAKE2: Slot = "wake2";
    static WAKE3: Slot = "wake3";
}

/// The web workers, at the network server's own address.
const SERVER: Endpoint = Endpoint {
    addr: [10, 0, 2, 15],
    port: 80,
};
/// Listening sockets each web worker keeps (servers/apps/web's backlog).
const WEB_BACKLOG: usize = 2;
/// Keep-alive connections open at once.
const CONNS: usize = 6;
/// Timed keep-alive rounds (a request on every connection each).
const ROUNDS: u64 = 16;
/// New-connection requests (each on a connection of its own).
const NEW: u64 = 6;
/// The page asked for: web-http's `/1k` (1024 bytes).
const PAGE: usize = 1;
const REQUEST: &[u8] = b"GET /1k HTTP/1.1\r\nHost: 10.0.2.15\r\n\r\n";
/// Bytes of the answer buffer (head and page).
const ANSWER: usize = web_http::MAX_RESPONSE_HEAD + web_http::PAGES[PAGE].1;

fn main(start: ulib::Start) -> i32 {
    let (Some(web), Some(workers)) = (WEB.get(), WORKERS.get()) else {
        ulib::println!("webload: the image must link the range web and give `workers`");
        return 1;
    };
    // Safety: the image links the range `web` read/write at its base for
    // the task's life; words 0 and 1 are only used atomically.
    let words = unsafe { &*(web.base as *const [AtomicU64; 2]) };
    let crash = CRASH.get() == Some(1) && start.restarts == 0;
    // Safety: the only `Net` of this task.
    let mut net = match unsafe { Net::attach() } {
        Ok(n) => n,
        Err(e) => {
            ulib::println!("webload: cannot attach to the network service: {:?}", e);
            return 1;
        }
    };
    let mut naps = 0u64;
    while words[1].load(Ordering::Acquire) < workers {
        naps += 1;
        if naps > 100_000_000 {
            ulib::println!("webload: the web workers never all listened");
            return 1;
        }
        net.nap();
    }
    ulib::println!(
        "webload: instance {}, {} worker(s) listen: {} keep-alive connections x {} rounds, then {} new connections, GET /1k",
        start.restarts,
        workers,
        CONNS,
        ROUNDS,
        NEW
    );
    let r = run(&mut net, workers, crash);
    words[0].store(1, Ordering::Release);
    ring::waiting::wake();
    for w in [&WAKE1, &WAKE2, &WAKE3] {
        if let Some(w) = w.get() {
            let _ = ulib::cap::signal(w, 1);
        }
    }
    match r {
        Ok(()) => {
            let n = ROUNDS * CONNS as u64 + NEW;
            ulib::println!("webload: {} requests, every answer checked", n);
            match net.done() {
                Ok(()) => 0,
                Err(e) => {
                    ulib::println!("webload: done failed: {:?}", e);
                    1
                }
            }
        }
        Err(e) => {
            ulib::println!("webload: {}", e);
            2
        }
    }
}

fn run(net: &mut Net, workers: u64, crash: bool) -> Result<(), &'static str> {
    let mut expect = Expected::new();
    let mut conns = [Handle(0); CONNS];
    // Opened in groups no larger than the workers' listening sockets: a
    // SYN that finds none listening is refused (smoltcp has no queue
    // beyond them), and a group's answers all read means every worker
    // accepted and listens again. So the first group lands on every
    // listening socket, spread over the workers.
    let group = (WEB_BACKLOG * workers as usize).max(1);
    for g in conns.chunks_mut(group) {
        for c in g.iter_mut() {
            *c = connect(net)?;
        }
        for &c in g.iter() {
            send(net, c)?;
        }
        for &c in g.iter() {
            answer(net, c, &mut expect)?;
        }
    }
    if crash {
        ulib::println!(
            "webload: crashing on purpose (test build) holding {} connections",
            CONNS
        );
        ulib::fault_on_purpose();
    }
    let t0 = now();
    for _ in 0..ROUNDS {
        for &c in &conns {
            send(net, c)?;
        }
        for &c in &conns {
            answer(net, c, &mut expect)?;
        }
    }
    let t1 = now();
    result("keepalive", workers, ROUNDS * CONNS as u64, t0, t1);
    for &c in &conns {
        net.close(c).map_err(|_| "close failed")?;
    }
    let t0 = now();
    for _ in 0..NEW {
        let c = connect(net)?;
        send(net, c)?;
        answer(net, c, &mut expect)?;
        net.close(c).map_err(|_| "close failed")?;
    }
    let t1 = now();
    result("newconn", workers, NEW, t0, t1);
    Ok(())
}

/// A connection to the workers.
fn connect(net: &mut Net) -> Result<Handle, &'static str> {
    match net.tcp_connect(SERVER) {
        Ok(h) => Ok(h),
        Err(Error::Status(net_api::status::NO_SOCKETS)) => Err("connect: no socket free"),
        Err(_) => Err("connect failed"),
    }
}

fn send(net: &mut Net, c: Handle) -> Result<(), &'static str> {
    net.tcp_send(c, REQUEST)
        .map_err(|_| "sending a request failed")
}

/// The answer every request must get, byte for byte.
struct Expected {
    bytes: [u8; ANSWER],
    len: usize,
    got: [u8; ANSWER],
}

impl Expected {
    fn new() -> Expected {
        let mut bytes = [0; ANSWER];
        let body = web_http::PAGES[PAGE].1;
        let h = web_http::head((200, "OK"), false, body, true, &mut bytes);
        web_http::page_bytes(PAGE, 0, &mut bytes[h..h + body]);
        Expected {
            bytes,
            len: h + body,
            got: [0; ANSWER],
        }
    }
}

/// Reads one whole answer on `c` and checks it.
fn answer(net: &mut Net, c: Handle, e: &mut Expected) -> Result<(), &'static str> {
    let mut got = 0;
    while got < e.len {
        match net.tcp_recv(c, &mut e.got[got..e.len]) {
            Ok(0) => return Err("a worker closed the connection before its answer ended"),
            Ok(n) => got += n,
            Err(_) => return Err("receiving an answer failed"),
        }
    }
    if e.got[..e.len] != e.bytes[..e.len] {
        return Err("an answer differs from web-http's head and page");
    }
    Ok(())
}

fn result(mode: &str, workers: u64, requests: u64, t0: (u64, u64), t1: (u64, u64)) {
    let f = t0.1.max(1);
    let ns = |t: u64| (u128::from(t) * 1_000_000_000 / u128::from(f)) as u64;
    ulib::println!(
        "RESULT name=webload mode={} workers={} requests={} ns={} t0={} t1={}",
        mode,
        workers,
        requests,
        ns(t1.0 - t0.0),
        ns(t0.0),
        ns(t1.0)
    );
}

/// The virtual counter and its frequency.
fn now() -> (u64, u64) {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter and its
    // frequency; no memory is touched.
    unsafe {
        core::arch::asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f, options(nomem, nostack))
    };
    (t, f)
}
