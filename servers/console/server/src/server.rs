//! The console server: alone on a kernel core, it owns the console UART
//! (a device grant in root slot 2; a PL011 or an i.MX UART, as the
//! console page says) and serves the clients whose ranges the
//! image grants it (root slots 3, 4, ...: client 0, 1, ...). It polls every
//! client's request ring and the UART; each request is validated by `ring`
//! (opcode, buffer window) and answered; a line is written whole.
//!
//! A notification granted after the clients' ranges (readable) is where
//! the kernel signals the clients' ends (each client's `on_exit` in the
//! image, bit `i` for client `i`): the server polls it when it has nothing
//! else to do, and drops the connection of a client that ended without
//! closing (its held reads are forgotten, it no longer counts for the
//! server's own end). A client restarted later simply connects again.

use crate::out::Out;
use console_api::{Ctrl, Op, BUF_LEN, BUF_OFFSET, LINE, MAX_CLIENTS, REGION_OFFSET, SLOTS};
use core::mem::MaybeUninit;
use core::sync::atomic::fence;
use core::sync::atomic::AtomicU64;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use drivers::uart::{Kind, Uart};
use ring::{BufRange, Region, RequestError, Response, Server, SharedBuf, Status};
use ulib::cap::map;
use ulib::ends::Ends;
use ulib::{slots, CPtr, Rights};

ulib::bind! {
    /// The console UART (`caps = [{ object = "device:uart", ... }]`).
    static UART: Slot = "uart";
    /// The page holding the console lock word, which xtask grants with a
    /// writable `device:uart`.
    static CONSOLE_LOCK: Slot = "console-lock";
    /// The clients (`provides = "console"`).
    static CONSOLE: Server = "console";
}

/// Where the server maps the UART's registers in its own address space.
const UART_VA: u64 = 0x3000_0000;
/// Where it maps the console lock page.
const LOCK_VA: u64 = UART_VA + 0x1000;
/// Idle polls before the server sleeps in `wfe` (a client's `sev`, the
/// timer's event stream or an interrupt wakes it).
const IDLE_SPINS: u32 = 16;
/// Error lines printed per client (the rest are counted).
const REPORTED_ERRORS: u64 = 5;

/// Reads held for input, oldest first (at most the ring's slots).
type Reads = conn::held::Held;
const _: () = assert!(SLOTS <= conn::held::MAX);

struct Peer {
    index: usize,
    /// The client's wake notification (signalled when it sleeps).
    wake: Option<CPtr>,
    ctrl: &'static Ctrl,
    region: Region<'static>,
    buf: SharedBuf<'static>,
    /// The `hello` last answered; `None` until the client connects.
    hello: u64,
    server: Option<Server<'static, Op>>,
    done: Option<u64>,
    /// Held reads, oldest first (answered in order as input arrives).
    reads: Reads,
    lines: u64,
    errors: u64,
    /// Ended without closing (the kernel's exit signal), not connected
    /// again since.
    gone: bool,
}

impl Peer {
    fn new(peer: &ulib::bind::Peer) -> Option<Peer> {
        let (base, index) = (peer.base, peer.index);
        // Safety: the image links client `index`'s range at `base` in this
        // task for its whole life (its `Server` binding says so); control
        // words are atomics and the ring pair and buffer are reached only
        // through `ring`'s atomic accessors.
        unsafe {
            let ctrl = &*(base as *const Ctrl);
            let region =
                Region::from_raw((base + REGION_OFFSET) as *mut u8, 2 * SLOTS * 64, SLOTS).ok()?;
            let buf = SharedBuf::from_raw((base + BUF_OFFSET) as *mut u8, BUF_LEN);
            Some(Peer {
                index,
                wake: peer.wake,
                ctrl,
                region,
                buf,
                hello: 0,
                server: None,
                done: None,
                reads: Reads::EMPTY,
                lines: 0,
                errors: 0,
                gone: false,
            })
        }
    }
}

fn respond(p: &mut Peer, tag: u64, len: u32) {
    if let Some(s) = p.server.as_mut() {
        let r = Response {
            status: Status::OK,
            len,
            tag,
            values: [0; 5],
        };
        let _ = s.respond(&r);
        // Wake a client sleeping in `wfe` for it.
        ulib::wait::wake();
        wake_if_sleeping(p);
    }
}

/// Signals `p`'s wake notification if it said it is blocked there
/// (console-api, *Blocking*): the fence orders the response published
/// before against the read of the flag, as the client's orders its flag
/// against its last poll.
fn wake_if_sleeping(p: &Peer) {
    fence(SeqCst);
    if p.ctrl.sleeping.load(Relaxed) != 0 {
        p.ctrl.sleeping.store(0, Relaxed);
        signal_wake(p);
    }
}

/// Signals `p`'s wake notification whether or not it sleeps.
fn signal_wake(p: &Peer) {
    if let Some(w) = p.wake {
        let _ = ulib::cap::signal(w, 1);
    }
}

fn report(out: &Out, p: &mut Peer, what: core::fmt::Arguments) {
    p.errors += 1;
    if p.errors <= REPORTED_ERRORS {
        out.fmt(format_args!("console: client {}: {}", p.index, what));
    }
}

/// Requests one pass takes from a client before it answers them together:
/// as many as the ring holds (a pipelining client's whole credit; 4 cost a
/// pipelined line ~35 instructions more, the pass's own work shared by
/// fewer lines). A pass is still bounded: the other clients wait for at
/// most 16 lines.
const BATCH: usize = SLOTS;

/// What stopped a pass over one client's ring early.
enum Stop {
    /// A malformed request, which `ring` has answered already.
    Refused(RequestError),
    /// The client wrote past its credit.
    Flood,
}

/// Serves up to [`BATCH`] requests of `p`; whether anything happened.
///
/// The lines' answers are published together after the pass (one barrier
/// and one look at the client's `sleeping` flag for all of them, not one
/// per line); a pipelining client gets up to its whole credit back at once.
fn serve(out: &Out, p: &mut Peer, ends: &mut Ends) -> bool {
    let hello = p.ctrl.hello.load(Acquire);
    if hello != p.hello {
        ends.reconnecting(p.index);
        // (Re)connect: fresh rings, fresh server side.
        p.region.clear();
        p.server = Some(Server::new(p.region, BUF_LEN));
        (p.hello, p.done, p.gone) = (hello, None, false);
        p.reads = Reads::EMPTY;
        p.ctrl.welcome.store(hello, Release);
        return true;
    }
    let Some(server) = p.server.as_mut() else {
        return false;
    };
    // The tags of the lines written, answered together after the pass
    // (left unwritten until then: zeroing them cost every pass a few
    // instructions, and a `memset` call at 16).
    let mut tags = [const { MaybeUninit::<u64>::uninit() }; BATCH];
    let (mut taken, mut answered, mut stop) = (0, 0, None);
    // Lines written this pass, added to the client's count after it (not
    // a load and store of `p.lines` a line).
    let mut lines = 0;
    // The console lock, taken at the pass's first line and held for all
    // of them; let go before anything else is printed.
    let mut held = None;
    while taken < BATCH {
        match server.poll() {
            Ok(None) => break,
            Ok(Some(req)) => {
                taken += 1;
                match req.opcode {
                    Op::Write => {
                        let window = p.buf.get(req.buf).unwrap_or_default();
                        held.get_or_insert_with(|| out.lock());
                        out.window(window.get(..LINE).unwrap_or(window));
                        lines += 1;
                        if let Some(t) = tags.get_mut(answered) {
                            t.write(req.tag);
                            answered += 1;
                        }
                    }
                    Op::Line => {
                        // The slot's own bytes, from the copy `ring` took.
                        held.get_or_insert_with(|| out.lock());
                        out.short(req.args, req.buf.len());
                        lines += 1;
                        if let Some(t) = tags.get_mut(answered) {
                            t.write(req.tag);
                            answered += 1;
                        }
                    }
                    Op::Read => {
                        // At most SLOTS are ever in flight, so the queue
                        // has room for every read the ring can carry.
                        p.reads.push(req.tag, req.buf);
                    }
                    Op::Done => p.done = Some(req.tag),
                }
            }
            Err(RequestError::Flood) => {
                stop = Some(Stop::Flood);
                break;
            }
            Err(e) => {
                stop = Some(Stop::Refused(e));
                break;
            }
        }
    }
    let ok = |tag| Response {
        status: Status::OK,
        len: 0,
        tag,
        values: [0; 5],
    };
    if let Some(value) = held {
        out.unlock(value);
    }
    p.lines += lines;
    // Only ever called for `i < answered`.
    let tag = |i: usize| {
        // Safety: `tags[..answered]` were written above, one for each
        // `answered += 1`, and `i < answered`.
        unsafe { tags[i].assume_init() }
    };
    // Only their heads: a line's answer carries no values (console-api,
    // *Answers*), and the five words it would zero are five stores a line
    // here and five loads at the client.
    server.respond_heads_with(answered, |i| ok(tag(i)));
    let busy = taken > 0 || stop.is_some();
    match stop {
        None if answered > 0 => {
            // Wake a client sleeping in `wfe` or blocked for them.
            ulib::wait::wake();
            wake_if_sleeping(p);
        }
        None => {}
        Some(Stop::Refused(e)) => {
            report(out, p, format_args!("{:?}, answered with an error", e));
            // `ring` answered it: the client may be asleep for that.
            ulib::wait::wake();
            wake_if_sleeping(p);
        }
        Some(Stop::Flood) => {
            p.errors += 1;
            out.fmt(format_args!(
                "console: client {}: floods its ring; disconnected until it connects again",
                p.index
            ));
            p.server = None;
            // Tell the client: it must connect again.
            p.ctrl.welcome.store(0, Release);
            wake_if_sleeping(p);
        }
    }
    busy
}

/// Client `p` ended without closing: forgets its connection and the reads
/// it had held; it no longer counts for the server's end.
fn drop_ended(out: &Out, p: &mut Peer) {
    if p.gone {
        return;
    }
    let held = p.reads.len();
    p.server = None;
    p.reads = Reads::EMPTY;
    p.gone = true;
    out.fmt(format_args!(
        "console: client {} ended without closing: connection dropped ({} held reads forgotten)",
        p.index, held
    ));
}

/// Hands UART input to client 0's pending read.
fn input(out: &Out, p: &mut Peer) -> bool {
    let Some((tag, window)) = p.reads.front() else {
        return false;
    };
    let mut got = [0u8; LINE];
    let mut n = 0;
    while n < window.len().min(LINE) {
        match out.read_byte() {
            Some(b) => {
                got[n] = b;
                n += 1;
            }
            None => break,
        }
    }
    if n == 0 {
        return false;
    }
    let Some(w) = BufRange::check(window.offset() as u64, n as u32, BUF_LEN) else {
        return false;
    };
    p.buf.copy_in(w, &got[..n]);
    p.reads.pop();
    respond(p, tag, n as u32);
    true
}

/// What a test hook sees once per serving loop (`test-hooks` only).
pub struct Progress<'a> {
    /// Lines written so far by this instance, all clients together.
    pub lines: u64,
    /// The fewest lines any one client has had written by this instance.
    pub fewest: u64,
    out: &'a Out,
}

impl Progress<'_> {
    /// Writes the line `s` on the console UART as the server would.
    pub fn say(&self, s: &str) {
        self.out.line(s.as_bytes());
    }
}

/// Runs the server until every client is done; returns the exit status.
pub fn run(start: ulib::Start) -> i32 {
    serve_all(start, None::<fn(Progress<'_>)>)
}

/// [`run`], calling `hook` once per serving loop: a test build injects
/// faults there (the supervisor's restart tests). Test builds only.
#[cfg(feature = "test-hooks")]
pub fn run_with_test_hook(start: ulib::Start, hook: impl FnMut(Progress<'_>)) -> i32 {
    serve_all(start, Some(hook))
}

/// Serves until every client is done; `hook` (test builds) sees the
/// progress once per loop (computed only then: summing every client's
/// lines on each pass cost the fast path ~60 instructions a line).
fn serve_all(start: ulib::Start, mut hook: Option<impl FnMut(Progress<'_>)>) -> i32 {
    let rw = Rights::READ.union(Rights::WRITE);
    let Some(uart) = UART.get() else {
        ulib::println!("console: the image grants no UART (device:uart)");
        return 1;
    };
    let Some(service) = CONSOLE.get() else {
        ulib::println!("console: the image does not make this task provide \"console\"");
        return 1;
    };
    let root = CPtr::root(slots::ROOT_RANGE);
    if map(root, UART_VA, uart, 0, 4096, rw).is_err() {
        ulib::println!("console: cannot map the UART granted in {:?}", uart);
        return 1;
    }
    let lock = map_lock(root);
    let Some(kind) = lock.and_then(|_| uart_kind()) else {
        ulib::println!("console: no console page saying which UART this is (device:console-lock)");
        return 1;
    };
    // Safety: the console UART's registers are mapped (uncached) at UART_VA,
    // and the kernel says (in the console page) that it is of this kind;
    // the kernel set the UART up at boot.
    let uart = unsafe { Uart::new(kind, UART_VA as usize) };
    let out = Out::new(uart, lock, start.core as u32);
    // The clients the server could bind, packed at the front: the serving
    // loop walks `peers[..count]` only.
    let mut table: [Option<Peer>; MAX_CLIENTS] = [const { None }; MAX_CLIENTS];
    let mut count = 0;
    for c in service.clients().iter().take(MAX_CLIENTS) {
        if let Some(p) = Peer::new(c) {
            table[count] = Some(p);
            count += 1;
        }
    }
    let peers = &mut table[..count];
    // A new instance: every client must learn that requests it had in
    // flight are lost.
    let epoch = peers
        .iter()
        .flatten()
        .map(|p| p.ctrl.epoch.load(Acquire))
        .max()
        .unwrap_or(0)
        + 1;
    for p in peers.iter().flatten() {
        p.ctrl.epoch.store(epoch, Release);
        // A client blocked on the instance before must see the new epoch.
        signal_wake(p);
    }
    out.fmt(format_args!(
        "console: server on core {} serving {} clients (instance {})",
        start.core, count, epoch
    ));
    let mut ends = Ends::new(service.ends);
    // Client 0 has the console's input.
    let input_peer = peers
        .iter()
        .position(|p| p.as_ref().is_some_and(|p| p.index == 0));
    let mut idle = 0;
    loop {
        let mut busy = false;
        for p in peers.iter_mut().flatten() {
            busy |= serve(&out, p, &mut ends);
        }
        if ends.any() {
            for p in peers.iter_mut().flatten() {
                if ends.take(p.index) {
                    drop_ended(&out, p);
                    busy = true;
                }
            }
            ends.clear();
        }
        if let Some(p) = input_peer.and_then(|i| peers[i].as_mut()) {
            busy |= input(&out, p);
        }
        if let Some(hook) = hook.as_mut() {
            hook(Progress {
                lines: peers.iter().flatten().map(|p| p.lines).sum(),
                fewest: peers.iter().flatten().map(|p| p.lines).min().unwrap_or(0),
                out: &out,
            });
        }
        if busy {
            idle = 0;
            // Only a busy pass can have taken a `Done` or seen an end.
            if count > 0 && peers.iter().flatten().all(|p| p.done.is_some() || p.gone) {
                break;
            }
            // The clients just answered need a moment to send again: a
            // pass now would find nothing. (`yield` is a hint on silicon;
            // under QEMU's TCG it lets their vCPUs run before that empty
            // pass, which cost each round trip ~50 instructions.)
            ulib::wait::relax();
        } else {
            idle += 1;
            if idle > IDLE_SPINS {
                // Off the fast path: a system call only before sleeping.
                ends.poll();
                // Until an event: a client's `sev`, the timer's event stream.
                ulib::wait::wfe();
            } else {
                ulib::wait::relax();
            }
        }
    }
    let (mut lines, mut errors) = (0, 0);
    for p in peers.iter().flatten() {
        (lines, errors) = (lines + p.lines, errors + p.errors);
    }
    out.fmt(format_args!(
        "console: every client done: {} lines from {} clients, {} requests refused",
        lines, count, errors
    ));
    // Only now may the clients exit (the kernel prints a line for each).
    for p in peers.iter_mut().flatten().filter(|p| !p.gone) {
        if let Some(tag) = p.done {
            respond(p, tag, 0);
        }
    }
    0
}

/// Maps the console lock page the image grants with the UART; `None`
/// (lines written without the lock) if it grants none or the map fails.
fn map_lock(root: CPtr) -> Option<&'static AtomicU64> {
    let page = CONSOLE_LOCK.get()?;
    let rw = Rights::READ.union(Rights::WRITE);
    if map(root, LOCK_VA, page, 0, 4096, rw).is_err() {
        ulib::println!(
            "console: cannot map the console lock page granted in {:?}",
            page
        );
        return None;
    }
    // Safety: LOCK_VA is mapped read/write (Normal memory) for the rest of
    // the run, 4096-aligned; its first word is the lock word, which the
    // kernel and this task only ever touch atomically.
    Some(unsafe { &*(LOCK_VA as *const AtomicU64) })
}

/// The console UART's kind, from the console page (mapped by [`map_lock`]).
fn uart_kind() -> Option<Kind> {
    let at = LOCK_VA as usize + ulib::console_lock::UART_KIND * 8;
    // Safety: [`map_lock`] mapped the whole page at LOCK_VA for the rest of
    // the run; the word is 8-aligned and the kernel wrote it before any
    // task started.
    let code = unsafe { &*(at as *const AtomicU64) }.load(Relaxed);
    Kind::from_code(code)
}
