//! The raw-frame connection as smoltcp's frame device. The client's data
//! buffer holds [`RX_SLOTS`] receive slots and [`TX_SLOTS`] transmit slots
//! of 2 KiB; every receive slot is posted to the server (`Receive`) while
//! the stack is not reading it, and a transmit slot is in the server from
//! its `Send` until that is answered. So at most 16 requests are
//! outstanding: the ring's slots. A slot's bytes are read or written here
//! only while no request names it, and copied through a frame-sized
//! buffer of this task's own.

use conn::client::{Conn, Error};
use net_api::frames::{FrameOp, MTU};
use ring::{Request, Status};
use smoltcp::phy::{self, DeviceCapabilities};
use smoltcp::time::Instant;

/// Receive slots (posted to the server).
pub const RX_SLOTS: usize = 8;
/// Transmit slots.
pub const TX_SLOTS: usize = 8;
/// Bytes of a slot.
const SLOT: usize = 2048;
/// Tag kinds (bits 8..): a receive slot's request, a transmit slot's.
const TAG_RX: u64 = 0x100;
const TAG_TX: u64 = 0x200;

/// Bytes of the data buffer the slots take, from its start.
pub const BYTES: usize = (RX_SLOTS + TX_SLOTS) * SLOT;

const _: () = assert!(RX_SLOTS + TX_SLOTS <= net_api::RING_SLOTS);
const _: () = assert!((RX_SLOTS + TX_SLOTS) * SLOT <= net_api::DATA_LEN);

/// Frame counts since start.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// Frames received.
    pub rx: u64,
    /// Frames sent.
    pub tx: u64,
    /// Sends the server refused.
    pub refused: u64,
    /// Server restarts seen (frames in flight lost).
    pub restarts: u64,
}

/// The frame device.
pub struct Link {
    conn: Conn,
    posted: [bool; RX_SLOTS],
    /// Received frames not yet read by the stack: slot and length, in
    /// arrival order.
    ready: [(usize, usize); RX_SLOTS],
    ready_len: usize,
    tx_busy: [bool; TX_SLOTS],
    /// The first error the link met while the stack drove it (a restart
    /// is handled, not an error).
    pub error: Option<Error>,
    /// Frame counts.
    pub counts: Counts,
}

impl Link {
    /// The link over `conn`, a connection to a raw-frame server.
    pub fn new(conn: Conn) -> Link {
        Link {
            conn,
            posted: [false; RX_SLOTS],
            ready: [(0, 0); RX_SLOTS],
            ready_len: 0,
            tx_busy: [false; TX_SLOTS],
            error: None,
            counts: Counts::default(),
        }
    }

    /// The connection (for requests of its own: `Info`, `Done`).
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Whether a frame is being sent.
    pub fn sending(&self) -> bool {
        self.tx_busy.iter().any(|&b| b)
    }

    /// Whether received frames wait for the stack to read them (the last
    /// `pump` may have taken them after the stack ran).
    pub fn unread(&self) -> bool {
        self.ready_len > 0
    }

    /// Posts every free receive slot and takes every answer there is.
    /// Whether anything happened.
    pub fn pump(&mut self) -> bool {
        // A new server instance clears the rings, which then look empty:
        // only the epoch tells (two loads, no system call). Without this
        // look a link whose every buffer was posted to the dead instance
        // would wait for it for good.
        if let Err(e) = self.conn.check() {
            return self.failed(e);
        }
        let mut any = false;
        for k in 0..RX_SLOTS {
            let free = !self.posted[k] && !self.ready[..self.ready_len].iter().any(|r| r.0 == k);
            if free {
                let req = Request {
                    opcode: FrameOp::Receive as u32,
                    len: SLOT as u32,
                    tag: TAG_RX | k as u64,
                    offset: (k * SLOT) as u64,
                    args: [0; 4],
                };
                match self.conn.send_raw(&req) {
                    Ok(()) => self.posted[k] = true,
                    Err(e) => return self.failed(e),
                }
            }
        }
        loop {
            let r = match self.conn.try_receive() {
                Ok(Some(r)) => r,
                Ok(None) => return any,
                Err(e) => return self.failed(e) || any,
            };
            any = true;
            let k = (r.tag & 0xff) as usize;
            match r.tag & !0xff {
                TAG_RX if k < RX_SLOTS && self.posted[k] => {
                    self.posted[k] = false;
                    if r.status == Status::OK && self.ready_len < RX_SLOTS {
                        self.ready[self.ready_len] = (k, (r.len as usize).min(MTU));
                        self.ready_len += 1;
                    }
                }
                TAG_TX if k < TX_SLOTS && self.tx_busy[k] => {
                    self.tx_busy[k] = false;
                    if r.status == Status::OK {
                        self.counts.tx += 1;
                    } else {
                        self.counts.refused += 1;
                    }
                }
                _ => {}
            }
        }
    }

    /// An error from the connection: a restart starts the link afresh
    /// (the connection is connected to the new instance already); anything
    /// else is kept for the caller. Whether it was a restart.
    fn failed(&mut self, e: Error) -> bool {
        if e == Error::Restarted {
            self.posted = [false; RX_SLOTS];
            self.ready_len = 0;
            self.tx_busy = [false; TX_SLOTS];
            self.counts.restarts += 1;
            return true;
        }
        self.error.get_or_insert(e);
        false
    }

    fn free_tx(&self) -> Option<usize> {
        self.tx_busy.iter().position(|&b| !b)
    }
}

/// A received frame (a copy out of its slot).
pub struct Rx {
    frame: [u8; MTU],
    len: usize,
}

/// A transmit slot lent to the stack.
pub struct Tx<'a> {
    link: &'a mut Link,
    k: usize,
}

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.frame[..self.len])
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = [0u8; MTU];
        let len = len.min(MTU);
        let r = f(&mut frame[..len]);
        let link = self.link;
        let offset = (RX_SLOTS + self.k) * SLOT;
        // Safety: transmit slot k lies inside the data buffer (asserted
        // above) and no request names it (tx_busy[k] is false), so the
        // server does not read it now.
        unsafe {
            core::ptr::copy_nonoverlapping(frame.as_ptr(), link.conn.data().add(offset), len)
        };
        let req = Request {
            opcode: FrameOp::Send as u32,
            len: len as u32,
            tag: TAG_TX | self.k as u64,
            offset: offset as u64,
            args: [0; 4],
        };
        match link.conn.send_raw(&req) {
            Ok(()) => link.tx_busy[self.k] = true,
            Err(e) => {
                link.failed(e);
            }
        }
        r
    }
}

impl phy::Device for Link {
    type RxToken<'a>
        = Rx
    where
        Self: 'a;
    type TxToken<'a>
        = Tx<'a>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(Rx, Tx<'_>)> {
        if self.ready_len == 0 {
            return None;
        }
        let k_tx = self.free_tx()?;
        let (k, len) = self.ready[0];
        self.ready.copy_within(1..self.ready_len, 0);
        self.ready_len -= 1;
        let mut rx = Rx {
            frame: [0; MTU],
            len,
        };
        // Safety: receive slot k lies inside the data buffer and its
        // request was answered (no request names it), so the server no
        // longer writes it; len <= MTU.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.conn.data().add(k * SLOT),
                rx.frame.as_mut_ptr(),
                len,
            )
        };
        self.counts.rx += 1;
        Some((
            rx,
            Tx {
                link: self,
                k: k_tx,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Tx<'_>> {
        let k = self.free_tx()?;
        Some(Tx { link: self, k })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        net_stack::ethernet(MTU, TX_SLOTS)
    }
}

impl net_stack::Link for Link {
    /// The server's answers (a frame for a posted slot, a send done) wake
    /// this task blocked on its connection's wake notification: every
    /// receive slot not being read is posted, so something is always
    /// outstanding for a frame to answer.
    fn interrupts(&self) -> bool {
        self.conn.can_block()
    }
}
