//! The serving loop (see the crate's documentation).

use crate::client::{copy_from, copy_to, Client};
use blk_api::{status, Checked, Op, MAX_TRANSFER};
use conn::server::{Clients, Idle, Next, Pace, Slept};
use ring::{BufRange, Status};

ulib::bind! {
    /// The clients (`provides = "blk"`).
    static BLK: Server = "blk";
}

/// A device's failure to start or finish a request (answered `IO_ERROR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceError;

/// What a device slot's request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transfer {
    /// Sectors from the device into the slot's bounce buffer.
    Read,
    /// Sectors from the slot's bounce buffer to the device.
    Write,
    /// Every write the device completed before it made durable; no data.
    Flush,
}

/// Who is waiting for a device slot's request.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    pub client: usize,
    /// The client's connection (its `hello`) the request came on: a
    /// request of an earlier connection is finished but not answered.
    pub conn: u64,
    pub tag: u64,
    pub op: Transfer,
    /// The client's window (empty for a flush).
    pub buf: BufRange,
    /// The device's own handle on the request (virtio: its token).
    pub token: u16,
}

impl Pending {
    /// A request of `client`'s to start.
    pub fn new(client: usize, conn: u64, tag: u64, op: Transfer, buf: BufRange) -> Pending {
        Pending {
            client,
            conn,
            tag,
            op,
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
    /// Starts slot k's request: `p.buf.len()` bytes from `sector`, or,
    /// for [`Transfer::Flush`] (started only with nothing else in the
    /// device; `sector` and `p.buf` unused), making every write completed
    /// before it durable. Nothing waits for the device here: the request
    /// finishes through [`Device::poll`], a flush too.
    fn start(&mut self, k: usize, sector: u64, p: Pending) -> Result<(), DeviceError>;
    /// The next finished request: its slot, who waits, how it went.
    fn poll(&mut self) -> Option<(usize, Pending, Result<(), DeviceError>)>;
    /// Whether the image delivers the device's interrupt to the server's
    /// wake notification: then the server may block in the kernel with
    /// requests in the device, and the interrupt wakes it. Without it, it
    /// blocks only with nothing in the device.
    fn interrupts(&self) -> bool {
        false
    }
    /// After the server woke from blocking: clears the device's interrupt
    /// status and re-arms its interrupt (`InterruptAck`), before the loop
    /// takes the device's completions.
    fn rearm(&mut self) {}
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
    // Safety: `BLK` is this task's `Server` binding, read once here.
    let mut clients: Clients<Op> = unsafe { Clients::attach(&service, conn::STANDARD, 0) };
    let (n, epoch) = (clients.len(), clients.epoch);
    ulib::println!(
        "{} server: disk of {} sectors{}, {} client(s) (instance {}, core {})",
        name,
        disk.capacity(),
        if disk.read_only() { " (read-only)" } else { "" },
        n,
        epoch,
        start.core
    );
    serve_loop(name, disk, &mut clients, hook);
    clients.report(name);
    0
}

/// A client's flush: it waits for the device to drain, then is in the
/// device; no request is started meanwhile.
#[derive(Clone, Copy)]
struct Flush {
    client: usize,
    /// Its connection (0 once the client connected again: not answered).
    conn: u64,
    tag: u64,
    /// In the device (it finishes through [`Device::poll`]).
    started: bool,
}

/// The loop: device completions, a pending flush, one request per client.
fn serve_loop<D: Device>(
    name: &str,
    disk: &mut D,
    clients: &mut Clients<Op>,
    mut hook: impl FnMut(Progress),
) {
    let mut flush: Option<Flush> = None;
    let mut idle = Idle::default();
    loop {
        let mut busy = false;
        hook(Progress {
            served: clients.served(),
            in_device: disk.in_flight(),
        });
        while let Some((k, p, r)) = disk.poll() {
            busy = true;
            if p.op == Transfer::Flush {
                flush = None;
            }
            let Some(c) = clients.get(p.client) else {
                continue;
            };
            if p.conn != c.hello || !c.connected {
                // The client connected again since (or was disconnected):
                // this request belongs to a connection that is gone.
                continue;
            }
            let ok = r.is_ok()
                && (p.op != Transfer::Read || copy_to(c, p.buf, disk.data(k, p.buf.len())));
            let (st, len) = if ok {
                (Status::OK, p.buf.len() as u32)
            } else {
                (status::IO_ERROR, 0)
            };
            c.answer(p.tag, st, len, [0; 5]);
        }
        if let Some(f) = flush.filter(|f| !f.started && disk.in_flight() == 0) {
            // The device has drained: the flush goes in, and finishes
            // through `poll` like any request (nothing waits for it here).
            busy = true;
            let p = Pending::new(
                f.client,
                f.conn,
                f.tag,
                Transfer::Flush,
                BufRange::default(),
            );
            match disk.free_slot().map(|k| disk.start(k, 0, p)) {
                Some(Ok(())) => flush = Some(Flush { started: true, ..f }),
                _ => {
                    if let Some(c) = clients.get(f.client).filter(|c| c.hello == f.conn) {
                        c.answer(f.tag, status::IO_ERROR, 0, [0; 5]);
                    }
                    flush = None;
                }
            }
        }
        let mut open = false;
        for ci in 0..clients.len() {
            let Some((c, turn)) = clients.turn(ci) else {
                continue;
            };
            if turn.ended {
                // Its requests in the device are dropped when they
                // complete, its flush is not answered.
                ulib::println!(
                    "{} server: client {} ended without closing: connection dropped",
                    name,
                    c.index
                );
            }
            if turn.ended || turn.connected {
                // What the old connection had in the device is dropped
                // when it completes; its flush is not answered.
                if let Some(f) = flush.as_mut().filter(|f| f.client == ci) {
                    f.conn = 0;
                }
                busy = true;
            }
            if !c.is_open() {
                continue;
            }
            open = true;
            if !c.connected || flush.is_some() || disk.free_slot().is_none() {
                continue;
            }
            match c.next(name) {
                Next::Request(req) => {
                    busy = true;
                    if let Some(tag) = handle(name, disk, c, ci, req) {
                        flush = Some(Flush {
                            client: ci,
                            conn: c.hello,
                            tag,
                            started: false,
                        });
                    }
                }
                Next::Empty => {}
                // A malformed request (answered) or a flood: the ring had
                // something, so this pass was not idle (a sleeping server
                // must not block with requests left behind it).
                Next::Refused | Next::Flooded => busy = true,
            }
        }
        clients.end_pass();
        if !open && disk.in_flight() == 0 && flush.is_none() {
            return;
        }
        // Idle for a while: block until a client, an end or the device's
        // interrupt signals the wake notification (with requests in the
        // device, only if its interrupt is delivered); otherwise sleep in
        // `wfe` until an event (a client's `sev`, the timer's event stream;
        // under emulation `wfe` also lets the other vCPUs and the device
        // model run).
        if idle.pass(busy, clients, pace(disk)) == Slept::Blocked {
            disk.rearm();
        }
    }
}

/// How the loop may wait: with requests in the device, block at once if
/// its interrupt is delivered, else poll it; with none, poll a little,
/// then block until a client or an end wakes it.
fn pace<D: Device>(disk: &D) -> Pace {
    match (disk.in_flight(), disk.interrupts()) {
        (0, _) => Pace::Block,
        (_, true) => Pace::BlockNow,
        (_, false) => Pace::Poll,
    }
}

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
            c.refuse(name, &req, st, [cap, 0, 0, 0, 0]);
            return None;
        }
    };
    let (sector, buf, op) = match checked {
        Checked::Read { sector, buf } => (sector, buf, Transfer::Read),
        Checked::Write { sector, buf } => (sector, buf, Transfer::Write),
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
    if op == Transfer::Write && !copy_from(c, buf, disk.data(k, buf.len())) {
        c.answer(req.tag, status::MISALIGNED, 0, [0; 5]);
        return None;
    }
    let p = Pending::new(ci, c.hello, req.tag, op, buf);
    if disk.start(k, sector, p).is_err() {
        c.answer(req.tag, status::IO_ERROR, 0, [0; 5]);
    }
    None
}
