//! The server's loop (see the crate's documentation).

use crate::client::{Client, Held};
use crate::hal;
use crate::nic::{self, Nic};
use crate::stack::{self, Stack};
use core::sync::atomic::Ordering::{Acquire, Release};
use drivers::dma;
use net_api::{Checked, Op, MAX_CLIENTS};
use ring::{RequestError, Status};
use ulib::cap::{free_slot, map, segment_create_contiguous, segment_info};
use ulib::ends::Ends;
use ulib::{slots, CPtr, Rights};

ulib::bind! {
    /// The virtio-net device's registers (`device:virtio-net`).
    static DEVICE: Slot = "virtio-net";
    /// The clients (`provides = "net"`).
    static NET: Server = "net";
}

/// Where the device page is mapped (uncached).
const DEVICE_VA: u64 = 0x3000_0000;
/// Where the DMA window is mapped.
pub const DMA_VA: u64 = 0x3100_0000;
/// Rejected requests reported per client (the rest are counted).
const REPORTED: u64 = 8;
/// Requests taken from one client's ring per pass (then the next client's
/// turn).
const BATCH: usize = 4;
/// Idle polls before the server sleeps in `wfe`.
const IDLE_SPINS: u32 = 16;
/// After the last `Done`: how long (stack milliseconds) the stack keeps
/// running so closing connections finish their handshakes.
const LINGER_MS: i64 = 2000;

/// Makes the DMA window: a physically contiguous segment, mapped at
/// [`DMA_VA`], its physical base from `SegmentInfo`.
fn setup_dma() -> Result<(), ulib::Error> {
    let bytes = dma::RESERVED + nic::OWNER_BYTES;
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
}

/// Runs the server until every client has sent `Done`; returns the exit
/// status.
pub fn run(start: ulib::Start) -> i32 {
    run_hooked(start, |_| {})
}

/// [`run`], calling `hook` once per serving loop (after the stack ran): a
/// test build injects faults there (the supervisor's restart tests). Test
/// builds only.
#[cfg(feature = "test-hooks")]
pub fn run_with_test_hook(start: ulib::Start, hook: impl FnMut(Progress)) -> i32 {
    run_hooked(start, hook)
}

fn run_hooked(start: ulib::Start, hook: impl FnMut(Progress)) -> i32 {
    let (Some(device), Some(service)) = (DEVICE.get(), NET.get()) else {
        ulib::println!(
            "net: the image must grant device:virtio-net and make this task provide \"net\""
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
        ulib::println!("net: cannot map the device grant: {:?}", e);
        return 1;
    }
    let Some(regs) = nic::find_transport(DEVICE_VA as usize) else {
        ulib::println!("net: no virtio network device in the granted page");
        return 1;
    };
    if let Err(e) = setup_dma() {
        ulib::println!("net: no DMA window: {:?}", e);
        return 1;
    }
    let nic = match Nic::new(regs) {
        Ok(n) => n,
        Err(e) => {
            ulib::println!("net: {}", e);
            return 1;
        }
    };
    let mac = nic.mac();
    let mut stack = Stack::new(nic);
    let mut clients: [Option<Client>; MAX_CLIENTS] = [const { None }; MAX_CLIENTS];
    let n = service.clients().len().min(MAX_CLIENTS);
    for (c, peer) in clients.iter_mut().zip(service.clients()) {
        // Safety: the `Server` binding says the image links client
        // `peer.index`'s range at `peer.base` in this task for its whole
        // life; one Client per index.
        *c = unsafe { Client::attach(peer.base, peer.index) };
    }
    let epoch = clients[..n]
        .iter()
        .flatten()
        .map(|c| c.ctrl.epoch.load(Acquire))
        .max()
        .unwrap_or(0)
        + 1;
    for c in clients[..n].iter().flatten() {
        c.ctrl.epoch.store(epoch, Release);
    }
    let [a, b, cc, d] = stack::ADDRESS;
    ulib::println!(
        "net server: {}.{}.{}.{} mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, {} client(s) (instance {}, core {})",
        a, b, cc, d, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], n, epoch, start.core
    );
    let ends = Ends::new(service.ends);
    serve(&mut stack, &mut clients[..n], ends, hook);
    let counts = stack.nic.counts;
    let (tcp, udp) = stack.free();
    ulib::println!(
        "net server: {} frames in, {} out, {} device errors",
        counts.rx,
        counts.tx,
        counts.rx_errors
    );
    ulib::println!(
        "net server: free sockets at the end: {} of {} TCP, {} of {} UDP",
        tcp,
        stack::TCP_SOCKETS,
        udp,
        stack::UDP_SOCKETS
    );
    for c in clients[..n].iter().flatten() {
        ulib::println!(
            "net server: client {}: {} requests served, {} refused, {} reconnections",
            c.index,
            c.served,
            c.rejected,
            c.reconnects
        );
    }
    0
}

/// The loop: the stack, each client's connection state and new requests,
/// then every held request that can now be answered.
fn serve(
    stack: &mut Stack,
    clients: &mut [Option<Client>],
    mut ends: Ends,
    mut hook: impl FnMut(Progress),
) {
    let mut idle = 0u32;
    let mut linger: Option<i64> = None;
    loop {
        let mut busy = stack.poll();
        hook(Progress {
            served: clients.iter().flatten().map(|c| c.served).sum(),
        });
        let mut open = false;
        for (ci, c) in clients.iter_mut().enumerate() {
            let Some(c) = c.as_mut() else { continue };
            if c.ctrl.hello.load(Acquire) != c.hello {
                ends.reconnecting(c.index);
            }
            if ends.any() && ends.take(c.index) && !c.closed {
                let n = stack.drop_client(ci, false);
                ulib::println!(
                    "net server: client {} ended without closing: its {} socket(s) reset",
                    c.index,
                    n
                );
                c.connected = false;
                c.close();
                busy = true;
            }
            if c.connect() {
                // A new connection: whatever the old one held is reset.
                let _ = stack.drop_client(ci, false);
                busy = true;
            }
            if c.closed {
                continue;
            }
            open = true;
            if !c.connected {
                continue;
            }
            for _ in 0..BATCH {
                match c.ring.poll() {
                    Ok(None) => break,
                    Ok(Some(req)) => {
                        busy = true;
                        handle(stack, c, ci, req);
                        if c.closed {
                            break;
                        }
                    }
                    Err(RequestError::Flood) => {
                        c.rejected += 1;
                        ulib::println!(
                            "net server: client {}: floods its ring; disconnected until it connects again",
                            c.index
                        );
                        let _ = stack.drop_client(ci, false);
                        c.disconnect();
                        break;
                    }
                    Err(e) => {
                        refused(c, e);
                        break;
                    }
                }
            }
            busy |= answer_held(stack, c, ci);
        }
        ends.retain((1u64 << clients.len()) - 1);
        if !open {
            // Everyone is done: let closing connections finish, bounded.
            let now = stack::now().total_millis();
            let until = *linger.get_or_insert(now + LINGER_MS);
            if stack.quiet() || now >= until {
                return;
            }
        }
        idle = if busy { 0 } else { idle + 1 };
        if idle > IDLE_SPINS {
            // Off the fast path: a system call only before sleeping.
            ends.poll();
            // Until an event: a client's `sev`, the timer's event stream
            // (which also brings the next frame from the device).
            ulib::wait::wfe();
        } else if !busy {
            ulib::wait::relax();
        }
    }
}

/// One request `ring` decoded: validated, then answered at once or held.
fn handle(stack: &mut Stack, c: &mut Client, ci: usize, req: ring::Incoming<Op>) {
    let checked = match net_api::validate(&req) {
        Ok(x) => x,
        Err(st) => {
            if c.rejected < REPORTED {
                ulib::println!(
                    "net server: client {}: {:?} refused with status {:#x}",
                    c.index,
                    req.opcode,
                    st.0
                );
            }
            c.answer(req.tag, st, 0, [0; 5]);
            return;
        }
    };
    match checked {
        Checked::UdpBind { port } => {
            let r = stack.udp_bind(ci, port);
            reply_handle(c, req.tag, r);
        }
        Checked::TcpListen {
            port,
            backlog,
            shared,
        } => {
            let r = stack.tcp_listen(ci, port, backlog, shared);
            reply_handle(c, req.tag, r);
        }
        Checked::Close { socket } => {
            let st = match stack.close(ci, socket) {
                Ok(()) => Status::OK,
                Err(st) => st,
            };
            c.answer(req.tag, st, 0, [0; 5]);
            // Requests still held on it are answered CLOSED by
            // `answer_held` (the handle no longer names a socket).
        }
        Checked::Done => {
            let _ = stack.drop_client(ci, true);
            c.close();
            c.answer(req.tag, Status::OK, 0, [0; 5]);
        }
        _ => {
            // Tried at once by `answer_held`, held until then.
            if !c.hold(req.tag, checked) {
                c.answer(req.tag, net_api::status::STACK, 0, [0; 5]);
            }
        }
    }
}

fn reply_handle(c: &mut Client, tag: u64, r: Result<net_api::Handle, Status>) {
    match r {
        Ok(h) => c.answer(tag, Status::OK, 0, [h.0, 0, 0, 0, 0]),
        Err(st) => c.answer(tag, st, 0, [0; 5]),
    }
}

/// Answers every held request of `c` that can be answered now, in arrival
/// order. Whether any was.
fn answer_held(stack: &mut Stack, c: &mut Client, ci: usize) -> bool {
    let mut any = false;
    let mut after = None;
    while let Some((i, h)) = c.next_held(after) {
        after = Some(h.seq);
        let Some(out) = try_answer(stack, c, ci, h) else {
            continue;
        };
        c.held[i] = None;
        let (st, len, values) = match out {
            Ok((len, values)) => (Status::OK, len, values),
            Err(st) => (st, 0, [0; 5]),
        };
        c.answer(h.tag, st, len as u32, values);
        any = true;
    }
    any
}

/// What a held request's answer is now: `None` while it must wait.
fn try_answer(
    stack: &mut Stack,
    c: &Client,
    ci: usize,
    h: Held,
) -> Option<Result<(usize, [u64; 5]), Status>> {
    let buf = &c.buf;
    let r = match h.req {
        Checked::UdpSend { socket, to, buf: w } => stack
            .udp_send(ci, socket, to, buf, w)
            .map(|o| o.map(|n| (n, [0; 5]))),
        Checked::UdpRecv { socket, buf: w } => stack.udp_recv(ci, socket, buf, w).map(|o| {
            o.map(|(n, from, whole)| {
                let v = [from.addr_word(), u64::from(from.port), whole as u64, 0, 0];
                (n, v)
            })
        }),
        Checked::TcpAccept { listener } => stack.tcp_accept(ci, listener).map(|o| {
            o.map(|(conn, peer)| (0, [conn.0, peer.addr_word(), u64::from(peer.port), 0, 0]))
        }),
        Checked::TcpSend { socket, buf: w } => stack
            .tcp_send(ci, socket, buf, w)
            .map(|o| o.map(|n| (n, [0; 5]))),
        Checked::TcpRecv { socket, buf: w } => stack
            .tcp_recv(ci, socket, buf, w)
            .map(|o| o.map(|n| (n, [0; 5]))),
        // Answered when they arrive, never held.
        Checked::UdpBind { .. }
        | Checked::TcpListen { .. }
        | Checked::Close { .. }
        | Checked::Done => Err(net_api::status::STACK),
    };
    match r {
        Ok(Some(x)) => Some(Ok(x)),
        Ok(None) => None,
        Err(st) => Some(Err(st)),
    }
}

/// A request `ring` refused (already answered, except a flood).
fn refused(c: &mut Client, e: RequestError) {
    c.rejected += 1;
    if c.rejected <= REPORTED {
        ulib::println!("net server: client {}: request refused: {:?}", c.index, e);
    }
}
