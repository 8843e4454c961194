//! web: an HTTP/1.1 server over the network service (docs/network.md,
//! *The web server*). The image runs one of these workers on each
//! application core; each listens on port [`PORT`] through a shared
//! listener (the network server hands each new connection to one of
//! them), holds up to [`CONNS`] keep-alive connections, and answers their
//! requests by web-http's rules from pages it holds in memory. It runs
//! over either configuration of the network service (`net_local::attach`:
//! the server's stack, or in configuration 2 its own, on its own address,
//! where the port is simply its own) through `net_api::Pipelined`. The worker
//! the image grants the console UART (`device:uart`) watches its receive
//! side: a `q` or a Ctrl-C typed on the console stops every worker (a flag in the
//! range `web` they share); each closes its connections, tells the network
//! server it is done, reports what it served, and exits 0.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

mod conn;

use conn::{Conn, Next, Pages, State};
use core::sync::atomic::{AtomicU64, Ordering};
use drivers::pl011::Pl011;
use net_api::client::Error;
use net_api::{Handle, Op, Pipelined, RING_SLOTS};
use net_local::Any;
use ring::{Request, Response, Status};
use ulib::{slots, CPtr, Rights};
use web_http::PAGES;

ulib::entry!(main);

ulib::bind! {
    /// The range every worker links: word 0 is the stop flag, word 1 counts
    /// the workers that listen (an in-guest load generator waits for them,
    /// bench/tasks/webload).
    static WEB: Range = "web";
    /// The console UART, for the worker that watches for `q`.
    static UART: Slot = "uart";
}

/// The HTTP port (xtask forwards a port of 127.0.0.1 to it).
const PORT: u16 = 80;
/// Listening sockets each worker keeps.
const BACKLOG: u64 = 2;
/// Connections one worker holds: with its listening sockets, no more than
/// the network server lets one client hold (8).
const CONNS: usize = 8;
/// The tag of the accept in flight (connection requests carry their slot).
const ACCEPT_TAG: u64 = 1 << 32;
/// The tag of the listener's close.
const LISTENER_CLOSE_TAG: u64 = ACCEPT_TAG + 1;
/// Where the UART's registers are mapped.
const UART_VA: u64 = 0x3000_0000;

const _: () = assert!(conn::span(CONNS) <= net_api::DATA_LEN);
// Configuration 2: the windows follow the link's frame slots.
const _: () = assert!(conn::span(CONNS) + net_local::link::BYTES <= net_api::DATA_LEN);
const _: () = assert!(CONNS + 1 < RING_SLOTS);

/// The connection slots, in this task's memory (too large for its stack).
static mut SLOTS: [Conn; CONNS] = [const { Conn::FREE }; CONNS];
/// The pages beyond the index, filled at start.
static mut PAGE_1K: [u8; PAGES[1].1] = [0; PAGES[1].1];
static mut PAGE_16K: [u8; PAGES[2].1] = [0; PAGES[2].1];
static mut PAGE_64K: [u8; PAGES[3].1] = [0; PAGES[3].1];

/// What a worker served.
#[derive(Default)]
struct Served {
    connections: u64,
    requests: u64,
}

fn main(start: ulib::Start) -> i32 {
    let Some(web) = WEB.get() else {
        ulib::println!("web: the image links no range web");
        return 1;
    };
    // Safety: the image links the range `web` read/write at its base in
    // every worker for their whole lives; words 0 and 1 are only used
    // atomically.
    let [stop, ready] = unsafe { &*(web.base as *const [AtomicU64; 2]) };
    let uart = match UART.get() {
        Some(cap) => {
            let root = CPtr::root(slots::ROOT_RANGE);
            let rw = Rights::READ.union(Rights::WRITE);
            if ulib::cap::map(root, UART_VA, cap, 0, 4096, rw).is_err() {
                ulib::println!("web: cannot map the UART");
                return 1;
            }
            // Safety: the console PL011's registers are mapped (uncached,
            // read/write) at UART_VA; this task only touches its receive
            // side: the data and flag registers, the receive interrupts'
            // mask and clear bits.
            let uart = unsafe { Pl011::new(UART_VA as usize) };
            // Its interrupt, when the image delivers it (the first
            // `InterruptAck` succeeds), wakes this worker blocked on its
            // connection's wake notification.
            if ulib::interrupt_ack(cap).is_ok() {
                uart.enable_rx_interrupt();
                UART_IRQ.store(1, Ordering::Relaxed);
            }
            Some(uart)
        }
        None => None,
    };
    // Safety: `main` runs once per task; these are the only references
    // made to the statics, and they live as long as the task.
    let (slots_, pages) = unsafe {
        let p1 = &mut *core::ptr::addr_of_mut!(PAGE_1K);
        let p16 = &mut *core::ptr::addr_of_mut!(PAGE_16K);
        let p64 = &mut *core::ptr::addr_of_mut!(PAGE_64K);
        web_http::page_bytes(1, 0, p1);
        web_http::page_bytes(2, 0, p16);
        web_http::page_bytes(3, 0, p64);
        (
            &mut *core::ptr::addr_of_mut!(SLOTS),
            Pages {
                bytes: [web_http::INDEX.as_bytes(), p1, p16, p64],
            },
        )
    };
    let mut served = Served::default();
    // Safety: called once, the only connection of this task.
    let r = match unsafe { net_local::attach() } {
        Ok(Any::Remote(mut net)) => serve(
            &mut net,
            slots_,
            &pages,
            [stop, ready],
            uart.as_ref(),
            start.core,
            &mut served,
        ),
        Ok(Any::Local(mut net)) => serve(
            &mut net,
            slots_,
            &pages,
            [stop, ready],
            uart.as_ref(),
            start.core,
            &mut served,
        ),
        Err(e) => {
            ulib::println!("web: cannot attach to the network service: {:?}", e);
            return 1;
        }
    };
    match r {
        Ok(()) => {
            ulib::println!(
                "web: core {} stopped: {} connections, {} requests answered",
                start.core,
                served.connections,
                served.requests
            );
            0
        }
        Err(e) => {
            ulib::println!("web: core {}: {}", start.core, e);
            2
        }
    }
}

fn listen<P: Pipelined>(net: &mut P) -> Result<Handle, &'static str> {
    loop {
        match net.listen_shared(PORT, BACKLOG) {
            Err(Error::Restarted) => continue,
            Ok(l) => return Ok(l),
            Err(_) => return Err("cannot listen on tcp port 80"),
        }
    }
}

fn serve<P: Pipelined>(
    net: &mut P,
    slots_: &mut [Conn; CONNS],
    pages: &Pages,
    [stop, ready]: [&AtomicU64; 2],
    uart: Option<&Pl011>,
    core: usize,
    served: &mut Served,
) -> Result<(), &'static str> {
    let mut listener = listen(net)?;
    ready.fetch_add(1, Ordering::AcqRel);
    if uart.is_some() {
        ulib::println!(
            "web: core {} serving http on port {} (Ctrl-C or q on the console stops it)",
            core,
            PORT
        );
    } else {
        ulib::println!("web: core {} serving http on port {}", core, PORT);
    }
    let mut accepting = false;
    let mut turns = 0u32;
    while stop.load(Ordering::Acquire) == 0 {
        turns = turns.wrapping_add(1);
        // The console is read when idle, and every 64th turn under load.
        if turns.is_multiple_of(64) {
            watch_console(uart, stop);
        }
        if !accepting && slots_.iter().any(|c| c.state == State::Free) {
            let r = net.send_raw(&Request {
                opcode: Op::TcpAccept as u32,
                len: 0,
                tag: ACCEPT_TAG,
                offset: 0,
                args: [listener.0, 0, 0, 0],
            });
            if r.is_ok() {
                accepting = true;
            }
        }
        let r = match net.poll() {
            Ok(Some(r)) => r,
            Ok(None) => {
                watch_console(uart, stop);
                if stop.load(Ordering::Acquire) != 0 {
                    continue;
                }
                if uart.is_some() && UART_IRQ.load(Ordering::Relaxed) == 0 {
                    // The console's worker polls the UART when its
                    // interrupt is not delivered: it naps in `wfe`.
                    net.nap();
                } else {
                    // Otherwise it blocks in the kernel until the network
                    // server answers, the UART's interrupt (the console's
                    // worker) or the stop (the others: the console's
                    // worker signals their wake notifications).
                    net.sleep();
                    rearm_uart(uart);
                }
                continue;
            }
            Err(Error::Restarted) => {
                // Every socket is gone with the old instance.
                slots_.iter_mut().for_each(|c| *c = Conn::FREE);
                accepting = false;
                listener = listen(net)?;
                ulib::println!(
                    "web: core {}: the network server restarted: listening again",
                    core
                );
                continue;
            }
            Err(_) => return Err("the network server failed"),
        };
        if r.tag == ACCEPT_TAG {
            accepting = false;
        }
        match dispatch(net, slots_, &r, pages, false, served) {
            Ok(()) => {}
            Err(Some(Error::Restarted)) => continue,
            Err(Some(_)) => return Err("the network server failed"),
            Err(None) => return Err("an answer this worker cannot place"),
        }
    }
    shut(net, slots_, listener, pages, served)
}

/// Hands answer `r` to its connection, or takes the connection an accept
/// brought (when `stopping`, only to close it). `Err(None)`: an answer
/// that cannot be (an accept without a free slot, an unknown tag).
fn dispatch<P: Pipelined>(
    net: &mut P,
    slots_: &mut [Conn; CONNS],
    r: &Response,
    pages: &Pages,
    stopping: bool,
    served: &mut Served,
) -> Result<(), Option<Error>> {
    match r.tag {
        ACCEPT_TAG if r.status != Status::OK => Ok(()),
        ACCEPT_TAG => {
            let h = Handle(r.values[0]);
            // An accept is sent only while a slot is free, and only an
            // accept fills one.
            let i = slots_
                .iter()
                .position(|c| c.state == State::Free)
                .ok_or(None)?;
            served.connections += 1;
            slots_[i].open(net, i, h).map_err(Some)?;
            if stopping {
                slots_[i].shut(net, i).map_err(Some)?;
            }
            Ok(())
        }
        LISTENER_CLOSE_TAG => Ok(()),
        t => {
            let i = t as usize;
            let c = slots_.get_mut(i).ok_or(None)?;
            let before = c.answered;
            let res = c.answered(net, i, r, pages, stopping);
            served.requests += c.answered - before;
            res.map(|_: Next| ()).map_err(Some)
        }
    }
}

/// Stops serving: closes the listener and every connection waiting for a
/// request, lets each response being sent finish (then closes its
/// connection), waits for every answer, and tells the server this client
/// is done.
fn shut<P: Pipelined>(
    net: &mut P,
    slots_: &mut [Conn; CONNS],
    listener: Handle,
    pages: &Pages,
    served: &mut Served,
) -> Result<(), &'static str> {
    // Every request still held on a closed handle is answered too
    // (BAD_HANDLE), so waiting until nothing is outstanding is enough.
    net.send_raw(&Request {
        opcode: Op::Close as u32,
        len: 0,
        tag: LISTENER_CLOSE_TAG,
        offset: 0,
        args: [listener.0, 0, 0, 0],
    })
    .map_err(|_| "closing the listener failed")?;
    for (i, c) in slots_.iter_mut().enumerate() {
        if c.state == State::Receiving {
            c.shut(net, i).map_err(|_| "closing failed")?;
        }
    }
    let mut naps = 0u32;
    while net.outstanding() > 0 {
        match net.poll() {
            Ok(Some(r)) => {
                dispatch(net, slots_, &r, pages, true, served)
                    .map_err(|_| "the network server failed while closing")?;
            }
            Ok(None) if naps < 1_000_000 => {
                naps += 1;
                net.nap();
            }
            Ok(None) => return Err("the network server did not answer the closes"),
            Err(_) => return Err("the network server failed while closing"),
        }
    }
    net.finish().map_err(|_| "done failed")
}

/// Raises the stop flag when `q` or Ctrl-C (0x03: an interactive run's
/// terminal is raw, so QEMU passes it to the UART) arrives on the console
/// (the worker that holds the UART).
fn watch_console(uart: Option<&Pl011>, stop: &AtomicU64) {
    // Every byte waiting (the receive interrupt stays up until the FIFO
    // is empty), `q` or Ctrl-C among them stops.
    let mut asked = false;
    while let Some(b) = uart.and_then(Pl011::read_byte) {
        asked |= matches!(b, b'q' | 0x03);
    }
    if asked {
        stop.store(1, Ordering::Release);
        ring::waiting::wake();
        // The other workers may be blocked on their wake notifications.
        for peer in [&STOP1, &STOP2] {
            if let Some(w) = peer.get() {
                let _ = ulib::cap::signal(w, 1);
            }
        }
    }
}

/// 1 when the image delivers the console UART's interrupt to this task.
static UART_IRQ: AtomicU64 = AtomicU64::new(0);

/// After a wake-up, before the loop's next `watch_console` drains the
/// receive FIFO: the UART's receive interrupt is cleared and the line
/// re-armed (a byte still in the FIFO or arriving later raises it again:
/// QEMU's PL011 keeps it up while the FIFO holds a byte).
fn rearm_uart(uart: Option<&Pl011>) {
    let (Some(uart), Some(cap)) = (uart, UART.get()) else {
        return;
    };
    if UART_IRQ.load(Ordering::Relaxed) != 0 {
        uart.clear_rx_interrupt();
        let _ = ulib::interrupt_ack(cap);
    }
}

ulib::bind! {
    /// The other workers' wake notifications (`net.1`, `net.2`), granted
    /// writable to the console's worker: the stop wakes them.
    static STOP1: Slot = "stop1";
    static STOP2: Slot = "stop2";
}
