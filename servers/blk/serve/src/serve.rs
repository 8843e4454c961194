//! The serving loop (see the crate's documentation).

use crate::client::Client;
use blk_api::{status, Checked, Op, MAX_CLIENTS, MAX_TRANSFER};
use core::sync::atomic::Ordering::{Acquire, Release};
use ring::{BufRange, RequestError, Status};
use ulib::ends::Ends;

ulib::bind! {
    /// The clients (`provides = "blk"`).
    static BLK: Server = "blk";
}

/// Rejected requests reported per client (the rest are counted).
const REPORTED: u64 = 8;

/// A device's failure to start or finish a request (answered `IO_ERROR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceError;

/// Who is waiting for a device slot's request.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    pub client: usize,
    /// The client's connection (its `hello`) the request came on: a
    /// request of an earlier connection is finished but not answered.
    pub conn: u64,
    pub tag: u64,
    pub write: bool,
    pub buf: BufRange,
    /// The device's own handle on the request (virtio: its token).
    pub token: u16,
}

impl Pending {
    /// A request of `client`'s to start.
    pub fn new(client: usize, conn: u64, tag: u64, write: bool, buf: BufRange) -> Pending {
        Pending {
            client,
            conn,
            tag,
            write,
            buf,
            token: 0,
        }
    }
}

/// What a block server's device gives the loop: numbered slots, each
/// holding at most one request and its own data bounce buffer of
/// `blk_api::MAX_TRANSFER` bytes.
pub trait Device {
    /// Sectors the clients see (sector 0 is the first the device serves).
    fn capacity(&self) -> u64;
    fn read_only(&self) -> bool;
    /// A slot with nothing in it.
    fn free_slot(&self) -> Option<usize>;
    /// Requests started and not yet taken by [`Device::poll`].
    fn in_flight(&self) -> usize;
    /// Slot k's bounce buffer: `len` bytes to fill before a write starts,
    /// or to read after a read completed.
    fn data(&mut self, k: usize, len: usize) -> &mut [u8];
    /// Starts slot k's request: `p.buf.len()` bytes from `sector`.
    fn start(&mut self, k: usize, sector: u64, p: Pending) -> Result<(), DeviceError>;
    /// The next finished request: its slot, who waits, how it went.
    fn poll(&mut self) -> Option<(usize, Pending, Result<(), DeviceError>)>;
    /// Makes every write answered before it durable; called with nothing
    /// in flight.
    fn flush(&mut self) -> Result<(), DeviceError>;
}

/// What a test hook sees once per serving loop.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Requests this instance has answered successfully, all clients.
    pub served: u64,
    /// Requests in the device now.
    pub in_device: usize,
}

/// Serves the image's clients of "blk" with `disk` until every client has
/// sent `Close` (or ended); returns the exit status (1: this task is not
/// the image's "blk" server). `name` starts every line printed (`blk
/// server: ...`); `hook` is called once per serving loop (a test build
/// injects faults there).
pub fn serve<D: Device>(
    name: &str,
    start: &ulib::Start,
    disk: &mut D,
    hook: impl FnMut(Progress),
) -> i32 {
    let Some(service) = BLK.get() else {
        ulib::println!("{}: the image must make this task provide \"blk\"", name);
        return 1;
    };
    let mut clients: [Option<Client>; MAX_CLIENTS] = [const { None }; MAX_CLIENTS];
    let n = service.clients().len().min(MAX_CLIENTS);
    for (c, peer) in clients.iter_mut().zip(service.clients()) {
        // Safety: the `Server` binding says the image links client
        // `peer.index`'s range at `peer.base` in this task for its whole
        // life; one Client per index.
        *c = unsafe { Client::attach(peer.base, peer.index) };
        if let Some(c) = c.as_mut() {
            c.wake = peer.wake;
        }
    }
    // A new instance: every client must learn that requests it had
    // outstanding are lost.
    let epoch = clients[..n]
        .iter()
        .flatten()
        .map(|c| c.ctrl.epoch.load(Acquire))
        .max()
        .unwrap_or(0)
        + 1;
    for c in clients[..n].iter().flatten() {
        c.ctrl.epoch.store(epoch, Release);
        // A client blocked on the instance before must see the new epoch.
        c.signal_wake();
    }
    ulib::println!(
        "{} server: disk of {} sectors{}, {} client(s) (instance {}, core {})",
        name,
        disk.capacity(),
        if disk.read_only() { " (read-only)" } else { "" },
        n,
        epoch,
        start.core
    );
    // The clients' exit signals (`blk.ends`, with every connection).
    let ends = Ends::new(service.ends);
    serve_loop(name, disk, &mut clients[..n], ends, hook);
    for c in clients[..n].iter().flatten() {
        ulib::println!(
            "{} server: client {}: {} requests served, {} refused, {} reconnections",
            name,
            c.index,
            c.served,
            c.rejected,
            c.reconnects
        );
    }
    0
}

/// The loop: device completions, a pending flush, one request per client.
fn serve_loop<D: Device>(
    name: &str,
    disk: &mut D,
    clients: &mut [Option<Client>],
    mut ends: Ends,
    mut hook: impl FnMut(Progress),
) {
    // A flush waiting for the device to drain: client, connection, tag.
    let mut flush: Option<(usize, u64, u64)> = None;
    let mut idle = 0u32;
    loop {
        let mut busy = false;
        hook(Progress {
            served: clients.iter().flatten().map(|c| c.served).sum(),
            in_device: disk.in_flight(),
        });
        while let Some((k, p, r)) = disk.poll() {
            busy = true;
            let Some(c) = clients.get_mut(p.client).and_then(Option::as_mut) else {
                continue;
            };
            if p.conn != c.hello || !c.connected {
                // The client connected again since (or was disconnected):
                // this request belongs to a connection that is gone.
                continue;
            }
            let ok = r.is_ok() && (p.write || c.copy_to(p.buf, disk.data(k, p.buf.len())));
            let (st, len) = if ok {
                (Status::OK, p.buf.len() as u32)
            } else {
                (status::IO_ERROR, 0)
            };
            c.answer(p.tag, st, len, [0; 5]);
        }
        if let Some((ci, conn, tag)) = flush {
            if disk.in_flight() != 0 {
                continue;
            }
            let st = if disk.flush().is_ok() {
                Status::OK
            } else {
                status::IO_ERROR
            };
            if let Some(c) = clients[ci].as_mut().filter(|c| c.hello == conn) {
                c.answer(tag, st, 0, [0; 5]);
            }
            flush = None;
        }
        let mut open = false;
        for (ci, c) in clients.iter_mut().enumerate() {
            let Some(c) = c.as_mut() else { continue };
            if c.ctrl.hello.load(Acquire) != c.hello {
                ends.reconnecting(c.index);
            }
            if ends.any() && ends.take(c.index) && !c.closed {
                // Ended without closing (the kernel's exit signal): its
                // requests in the device are dropped when they complete,
                // its flush is not answered, and it is closed (in its
                // control words too, so a restarted server does not wait
                // for it either).
                ulib::println!(
                    "{} server: client {} ended without closing: connection dropped",
                    name,
                    c.index
                );
                if flush.is_some_and(|f| f.0 == ci) {
                    flush = flush.map(|(ci, _, tag)| (ci, 0, tag));
                }
                c.connected = false;
                c.close();
                busy = true;
            }
            if c.connect() {
                // A new connection: what the old one had in the device is
                // dropped when it completes; its flush is not answered.
                if flush.is_some_and(|f| f.0 == ci) {
                    flush = flush.map(|(ci, _, tag)| (ci, 0, tag));
                }
                busy = true;
            }
            if c.closed {
                continue;
            }
            open = true;
            if !c.connected || flush.is_some() || disk.free_slot().is_none() {
                continue;
            }
            match c.ring.poll() {
                Ok(None) => {}
                Ok(Some(req)) => {
                    busy = true;
                    if let Some(tag) = handle(name, disk, c, ci, req) {
                        flush = Some((ci, c.hello, tag));
                    }
                }
                Err(RequestError::Flood) => {
                    c.rejected += 1;
                    ulib::println!(
                        "{} server: client {}: floods its ring; disconnected until it connects again",
                        name,
                        c.index
                    );
                    c.disconnect();
                }
                Err(e) => refused(name, c, e),
            }
        }
        // Ends signalled for indices with no client: nothing to drop.
        ends.retain((1u64 << clients.len()) - 1);
        if !open && disk.in_flight() == 0 && flush.is_none() {
            return;
        }
        // Idle for a while: sleep until an event (a client's `sev`, the
        // timer's event stream; under emulation `wfe` also lets the other
        // vCPUs and the device model run).
        idle = if busy { 0 } else { idle + 1 };
        if idle > IDLE_SPINS {
            // Off the fast path: a system call only before sleeping.
            ends.poll();
            // Until an event: a client's `sev`, the device's interrupt, the
            // timer's event stream.
            ulib::wait::wfe();
        } else if !busy {
            ulib::wait::relax();
        }
    }
}

/// Idle polls before the server sleeps in `wfe`.
const IDLE_SPINS: u32 = 16;

/// One request that `ring` decoded. Returns the tag of a flush, which waits
/// until nothing is in the device.
fn handle<D: Device>(
    name: &str,
    disk: &mut D,
    c: &mut Client,
    ci: usize,
    req: ring::Incoming<Op>,
) -> Option<u64> {
    let cap = disk.capacity();
    let checked = match blk_api::validate(&req, cap, disk.read_only()) {
        Ok(x) => x,
        Err(st) => {
            if c.rejected < REPORTED {
                ulib::println!(
                    "{} server: client {}: {:?} refused with status {:#x}",
                    name,
                    c.index,
                    req.opcode,
                    st.0
                );
            }
            c.answer(req.tag, st, 0, [cap, 0, 0, 0, 0]);
            return None;
        }
    };
    let (sector, buf, write) = match checked {
        Checked::Read { sector, buf } => (sector, buf, false),
        Checked::Write { sector, buf } => (sector, buf, true),
        Checked::Flush => return Some(req.tag),
        Checked::Info => {
            let ro = disk.read_only() as u64;
            c.answer(req.tag, Status::OK, 0, [cap, MAX_TRANSFER as u64, ro, 0, 0]);
            return None;
        }
        Checked::Close => {
            c.close();
            c.answer(req.tag, Status::OK, 0, [0; 5]);
            return None;
        }
    };
    let Some(k) = disk.free_slot() else {
        c.answer(req.tag, status::IO_ERROR, 0, [0; 5]);
        return None;
    };
    if write && !c.copy_from(buf, disk.data(k, buf.len())) {
        c.answer(req.tag, status::MISALIGNED, 0, [0; 5]);
        return None;
    }
    let p = Pending::new(ci, c.hello, req.tag, write, buf);
    if disk.start(k, sector, p).is_err() {
        c.answer(req.tag, status::IO_ERROR, 0, [0; 5]);
    }
    None
}

/// A request `ring` refused (already answered, except a flood).
fn refused(name: &str, c: &mut Client, e: RequestError) {
    // `ring` answered it: the client may be asleep for that answer.
    c.wake_if_sleeping();
    c.rejected += 1;
    if c.rejected <= REPORTED {
        ulib::println!(
            "{} server: client {}: request refused: {:?}",
            name,
            c.index,
            e
        );
    }
}
