//! The server's loop (see the crate's documentation).

use crate::client::{Client, Waiting};
use crate::hal;
use crate::nic::{self, Nic};
use conn::server::{Clients, Idle, Next, Pace, Slept};
use drivers::dma;
use net_api::{Checked, Op, MAX_CLIENTS};
use net_stack::{self as stack, Stack};
use ring::Status;
use ulib::cap::{contiguous_at, map_device_page};

ulib::bind! {
    /// The virtio-net device's registers (`device:virtio-net`).
    static DEVICE: Slot = "virtio-net";
    /// The clients (`provides = "net"`).
    static NET: Server = "net";
    /// The configuration (`values = { mode = N }`): 1 (the default) the
    /// stack runs here, 2 raw frames to clients that run their own.
    static MODE: Value = "mode";
}

/// Where the device page is mapped (uncached).
const DEVICE_VA: u64 = 0x3000_0000;
/// Where the DMA window is mapped.
pub const DMA_VA: u64 = 0x3100_0000;
/// Requests taken from one client's ring per pass (then the next client's
/// turn).
const BATCH: usize = 4;
/// After the last `Done`: how long (stack milliseconds) the stack keeps
/// running so closing connections finish their handshakes, and longer
/// than smoltcp's TIME-WAIT (10 s), so that a connection this end closed
/// first is back in the pool too and the end-of-run count is exact (the
/// loop ends as soon as nothing is closing).
const LINGER_MS: i64 = 12_000;

/// Makes the DMA window: a physically contiguous segment, mapped at
/// [`DMA_VA`], its physical base from `SegmentInfo`.
fn setup_dma() -> Result<(), ulib::Error> {
    let bytes = dma::RESERVED + nic::OWNER_BYTES;
    let pages = bytes.div_ceil(dma::PAGE) as u64;
    let (_, pa) = contiguous_at(DMA_VA, pages)?;
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
    if let Err(e) = map_device_page(device, DEVICE_VA) {
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
    let mut nic = match Nic::new(regs, device) {
        Ok(n) => n,
        Err(e) => {
            ulib::println!("net: {}", e);
            return 1;
        }
    };
    let mac = nic.mac();
    match MODE.get().unwrap_or(net_api::MODE_SOCKETS) {
        net_api::MODE_SOCKETS => {}
        net_api::MODE_FRAMES => return run_frames(start, nic, &service, hook),
        m => {
            ulib::println!("net: mode {} is not 1 (sockets) or 2 (raw frames)", m);
            return 1;
        }
    }
    nic.loop_own(stack::ADDRESS);
    let mut stack = Stack::new(nic, mac, stack::ADDRESS);
    // Safety: `NET` is this task's `Server` binding, read once here.
    let mut clients: Clients<Op> =
        unsafe { Clients::attach(&service, conn::STANDARD, net_api::MODE_SOCKETS) };
    let (n, epoch) = (clients.len(), clients.epoch);
    let [a, b, cc, d] = stack::ADDRESS;
    ulib::println!(
        "net server: {}.{}.{}.{} mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, {} client(s) (instance {}, core {})",
        a, b, cc, d, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], n, epoch, start.core
    );
    serve(&mut stack, &mut clients, hook);
    let counts = stack.dev.counts;
    let (tcp, udp) = stack.free();
    ulib::println!(
        "net server: {} frames in, {} out, {} device errors",
        counts.rx,
        counts.tx,
        counts.rx_errors
    );
    if let Some(lo) = stack
        .dev
        .lo
        .as_ref()
        .filter(|lo| lo.looped + lo.dropped > 0)
    {
        ulib::println!(
            "net server: {} frames looped back to the stack, {} dropped (no slot)",
            lo.looped,
            lo.dropped
        );
    }
    ulib::println!(
        "net server: free sockets at the end: {} of {} TCP, {} of {} UDP",
        tcp,
        stack::TCP_SOCKETS,
        udp,
        stack::UDP_SOCKETS
    );
    clients.report("net");
    0
}

/// Configuration 2: raw frames to clients that run their own stack.
fn run_frames(
    start: ulib::Start,
    mut nic: Nic,
    service: &ulib::bind::ServerEnd,
    hook: impl FnMut(Progress),
) -> i32 {
    let mac = nic.mac();
    // Safety: `NET` is this task's `Server` binding, read once here.
    let mut clients: Clients<net_api::frames::FrameOp> =
        unsafe { Clients::attach(service, conn::STANDARD, net_api::MODE_FRAMES) };
    ulib::println!(
        "net server: raw frames, mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, {} client(s) (instance {}, core {})",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], clients.len(), clients.epoch, start.core
    );
    crate::frames::serve(&mut nic, mac, &mut clients, hook);
    let counts = nic.counts;
    ulib::println!(
        "net server: {} frames in, {} out, {} device errors",
        counts.rx,
        counts.tx,
        counts.rx_errors
    );
    clients.report("net");
    0
}

/// The loop: the stack, each client's connection state and new requests,
/// then every held request that can now be answered.
fn serve(stack: &mut Stack<Nic>, clients: &mut Clients<Op>, mut hook: impl FnMut(Progress)) {
    let mut idle = Idle::default();
    let mut linger: Option<i64> = None;
    let mut waiting = [const { Waiting::NONE }; MAX_CLIENTS];
    loop {
        let mut busy = stack.poll();
        hook(Progress {
            served: clients.served(),
        });
        let mut open = false;
        for (ci, w) in waiting.iter_mut().enumerate().take(clients.len()) {
            let Some((c, turn)) = clients.turn(ci) else {
                continue;
            };
            if turn.ended {
                let n = stack.drop_client(ci, false);
                ulib::println!(
                    "net server: client {} ended without closing: its {} socket(s) reset",
                    c.index,
                    n
                );
                busy = true;
            }
            if turn.connected {
                // A new connection: whatever the old one held is reset
                // (a restarted client whose end was not seen first).
                let n = stack.drop_client(ci, false);
                if n > 0 {
                    ulib::println!(
                        "net server: client {} connected again: its {} socket(s) reset",
                        c.index,
                        n
                    );
                }
                w.clear();
                busy = true;
            }
            if !c.is_open() {
                continue;
            }
            open = true;
            if !c.connected {
                continue;
            }
            for _ in 0..BATCH {
                match c.next("net") {
                    Next::Empty => break,
                    Next::Request(req) => {
                        busy = true;
                        handle(stack, c, w, ci, req);
                        if c.closed {
                            break;
                        }
                    }
                    // The ring had something: not an idle pass (a server
                    // about to block must look again).
                    Next::Flooded => {
                        busy = true;
                        let _ = stack.drop_client(ci, false);
                        w.clear();
                        break;
                    }
                    Next::Refused => {
                        busy = true;
                        break;
                    }
                }
            }
            busy |= answer_held(stack, c, w, ci);
        }
        clients.end_pass();
        if !open {
            // Everyone is done: let closing connections finish, bounded.
            let now = stack::now().total_millis();
            let until = *linger.get_or_insert(now + LINGER_MS);
            if stack.quiet() || now >= until {
                return;
            }
        }
        // Nothing to do: block until a client, an end or the device's
        // interrupt wakes it, if the device interrupts and no socket timer
        // is due; otherwise until an event (a client's `sev`, the timer's
        // event stream, which also brings the next frame from the device).
        let pace = if stack.may_block() {
            Pace::Block
        } else {
            Pace::Poll
        };
        if idle.pass(busy, clients, pace) == Slept::Blocked {
            stack.rearm();
        }
    }
}

/// One request `ring` decoded: validated, then answered at once or held.
fn handle(
    stack: &mut Stack<Nic>,
    c: &mut Client,
    w: &mut Waiting,
    ci: usize,
    req: ring::Incoming<Op>,
) {
    let checked = match net_api::validate(&req) {
        Ok(x) => x,
        Err(st) => {
            c.refuse("net", &req, st, [0; 5]);
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
        Checked::TcpConnect { to } => {
            let r = stack.tcp_connect(ci, to);
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
            if !w.hold(req.tag, checked) {
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
fn answer_held(stack: &mut Stack<Nic>, c: &mut Client, w: &mut Waiting, ci: usize) -> bool {
    let mut any = false;
    let mut after = None;
    while let Some((i, h)) = w.next_held(after) {
        after = Some(h.seq);
        let Some(out) = stack.answer_held(ci, &c.buf(), &h.req) else {
            continue;
        };
        w.held[i] = None;
        let (st, len, values) = match out {
            Ok((len, values)) => (Status::OK, len, values),
            Err(st) => (st, 0, [0; 5]),
        };
        c.answer(h.tag, st, len as u32, values);
        any = true;
    }
    any
}
