//! The server's loop (see the crate's documentation).

use crate::client::Client;
use crate::device::{self, Disk, Pending};
use crate::hal;
use blk_api::{status, Checked, Op, MAX_CLIENTS, MAX_TRANSFER};
use core::sync::atomic::Ordering::{Acquire, Release};
use drivers::dma;
use ring::{RequestError, Status};
use ulib::cap::{free_slot, map, segment_create_contiguous, segment_info};
use ulib::ends::Ends;
use ulib::{slots, CPtr, Rights};

ulib::bind! {
    /// The virtio-blk device's registers (`device:virtio-blk`).
    static DEVICE: Slot = "virtio-blk";
    /// The clients (`provides = "blk"`).
    static BLK: Server = "blk";
}

/// Where the device page is mapped (uncached).
const DEVICE_VA: u64 = 0x3000_0000;
/// Where the DMA window is mapped.
pub const DMA_VA: u64 = 0x3100_0000;
/// Rejected requests reported per client (the rest are counted).
const REPORTED: u64 = 8;

/// Makes the DMA window: a physically contiguous segment, mapped at
/// [`DMA_VA`], its physical base from `SegmentInfo`.
fn setup_dma() -> Result<(), ulib::Error> {
    let bytes = dma::RESERVED + device::OWNER_BYTES;
    let pages = bytes.div_ceil(dma::PAGE) as u64;
    let slot = free_slot().ok_or(ulib::Error::OutOfMemory)?;
    segment_create_contiguous(slot, pages)?;
    let rw = Rights::READ.union(Rights::WRITE);
    map(
        CPtr::root(slots::ROOT_RANGE),
        DMA_VA,
        slot,
        0,
        pages * 4096,
        rw,
    )?;
    let (pa, _) = segment_info(slot, 0)?;
    if !hal::WINDOW.init(DMA_VA as usize, pa, (pages * 4096) as usize) {
        return Err(ulib::Error::InvalidArgument);
    }
    Ok(())
}

/// What a test hook sees once per serving loop (`test-hooks` only).
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Requests this instance has answered successfully, all clients.
    pub served: u64,
    /// Requests in the device now.
    pub in_device: usize,
}

/// Runs the server until every client has sent `Close`; returns the exit
/// status.
pub fn run(start: ulib::Start) -> i32 {
    run_hooked(start, |_| {})
}

/// [`run`], calling `hook` once per serving loop: a test build injects
/// faults there (the supervisor's restart tests). Test builds only.
#[cfg(feature = "test-hooks")]
pub fn run_with_test_hook(start: ulib::Start, hook: impl FnMut(Progress)) -> i32 {
    run_hooked(start, hook)
}

fn run_hooked(start: ulib::Start, hook: impl FnMut(Progress)) -> i32 {
    let (Some(device), Some(service)) = (DEVICE.get(), BLK.get()) else {
        ulib::println!(
            "blk: the image must grant device:virtio-blk and make this task provide \"blk\""
        );
        return 1;
    };
    let rw = Rights::READ.union(Rights::WRITE);
    if let Err(e) = map(
        CPtr::root(slots::ROOT_RANGE),
        DEVICE_VA,
        device,
        0,
        4096,
        rw,
    ) {
        ulib::println!("blk: cannot map the device grant: {:?}", e);
        return 1;
    }
    let Some(regs) = device::find_transport(DEVICE_VA as usize) else {
        ulib::println!("blk: no virtio block device in the granted page");
        return 1;
    };
    if let Err(e) = setup_dma() {
        ulib::println!("blk: no DMA window: {:?}", e);
        return 1;
    }
    let mut disk = match Disk::new(regs) {
        Ok(d) => d,
        Err(e) => {
            ulib::println!("blk: {}", e);
            return 1;
        }
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
        "blk server: disk of {} sectors{}, {} client(s) (instance {}, core {})",
        disk.capacity(),
        if disk.read_only() { " (read-only)" } else { "" },
        n,
        epoch,
        start.core
    );
    // The clients' exit signals (`blk.ends`, with every connection).
    let ends = Ends::new(service.ends);
    serve(&mut disk, &mut clients[..n], ends, hook);
    for c in clients[..n].iter().flatten() {
        ulib::println!(
            "blk server: client {}: {} requests served, {} refused, {} reconnections",
            c.index,
            c.served,
            c.rejected,
            c.reconnects
        );
    }
    0
}

/// The loop: device completions, a pending flush, one request per client.
fn serve(
    disk: &mut Disk,
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
                    "blk server: client {} ended without closing: connection dropped",
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
                    if let Some(tag) = handle(disk, c, ci, req) {
                        flush = Some((ci, c.hello, tag));
                    }
                }
                Err(RequestError::Flood) => {
                    c.rejected += 1;
                    ulib::println!(
                        "blk server: client {}: floods its ring; disconnected until it connects again",
                        c.index
                    );
                    c.disconnect();
                }
                Err(e) => refused(c, e),
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
fn handle(disk: &mut Disk, c: &mut Client, ci: usize, req: ring::Incoming<Op>) -> Option<u64> {
    let cap = disk.capacity();
    let checked = match blk_api::validate(&req, cap, disk.read_only()) {
        Ok(x) => x,
        Err(st) => {
            if c.rejected < REPORTED {
                ulib::println!(
                    "blk server: client {}: {:?} refused with status {:#x}",
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
fn refused(c: &mut Client, e: RequestError) {
    // `ring` answered it: the client may be asleep for that answer.
    c.wake_if_sleeping();
    c.rejected += 1;
    if c.rejected <= REPORTED {
        ulib::println!("blk server: client {}: request refused: {:?}", c.index, e);
    }
}
