//! Configuration 2's protocol (docs/network-frames.md): the server
//! only passes Ethernet frames, and each client runs its own TCP/IP stack
//! (`net-local`). A client is given its own Ethernet address and IPv4
//! address ([`FrameOp::Info`]); it sees the frames sent to its address and
//! the broadcast and multicast ones, nothing else, and may send only
//! frames from its own address. Frames move through windows of the
//! client's own data buffer, so a client names no buffer but its own.
//!
//! The opcodes are not the socket protocol's ([`crate::Op`]): a client
//! that took a server for the other configuration is refused with
//! `UNKNOWN_OPCODE`. A client learns the configuration from the mode word
//! of the server's welcome (`conn::Ctrl::mode`: [`crate::MODE_FRAMES`]).

use crate::status;
use ring::{BufRange, Incoming, Status};

/// Largest Ethernet frame without its FCS (a 1500-byte IP MTU).
pub const MTU: usize = 1514;
/// Smallest frame the server sends (an Ethernet header).
pub const MIN_FRAME: usize = 14;

/// The requests.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameOp {
    /// This client's addresses: `values[0]` = its Ethernet address (the
    /// six bytes big-endian in the low 48 bits), `values[1]` = its IPv4
    /// address (`u32::from_be_bytes`), `values[2]` = the prefix length,
    /// `values[3]` = the gateway, `values[4]` = [`MTU`].
    Info = 16,
    /// A receive buffer: the window (at least [`MTU`] bytes). Held until a
    /// frame for this client arrives; `len` = the frame's bytes, at the
    /// window's start.
    Receive = 17,
    /// Sends the window ([`MIN_FRAME`]..=[`MTU`] bytes) as one frame; its
    /// source address (bytes 6..12) must be this client's. Held until the
    /// card takes it; `len` = bytes.
    Send = 18,
    /// The client is done: its held buffers are forgotten and the server
    /// stops reading its ring.
    Done = 19,
}

impl TryFrom<u32> for FrameOp {
    type Error = ();

    fn try_from(v: u32) -> Result<FrameOp, ()> {
        Ok(match v {
            16 => FrameOp::Info,
            17 => FrameOp::Receive,
            18 => FrameOp::Send,
            19 => FrameOp::Done,
            _ => return Err(()),
        })
    }
}

/// A frame whose source address is not the sender's.
pub const BAD_SOURCE: Status = Status(Status::USER.0 + 7);

/// A request that passed [`validate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frames {
    /// Report the addresses.
    Info,
    /// A receive buffer.
    Receive(BufRange),
    /// A frame to send.
    Send(BufRange),
    /// The client is done.
    Done,
}

/// Checks a request `ring` decoded (known opcode, window inside the
/// client's buffer): reserved arguments 0, window lengths. `Err` is the
/// status to answer with. (The server checks a frame's source address on
/// its own copy of the frame.)
pub fn validate(req: &Incoming<FrameOp>) -> Result<Frames, Status> {
    if req.args.iter().any(|&a| a != 0) {
        return Err(status::BAD_ARGUMENT);
    }
    let len = req.buf.len();
    match req.opcode {
        FrameOp::Receive if len >= MTU => Ok(Frames::Receive(req.buf)),
        FrameOp::Send if (MIN_FRAME..=MTU).contains(&len) => Ok(Frames::Send(req.buf)),
        FrameOp::Info if len == 0 => Ok(Frames::Info),
        FrameOp::Done if len == 0 => Ok(Frames::Done),
        _ => Err(status::BAD_LENGTH),
    }
}

/// An Ethernet address as `values[0]` carries it.
pub fn mac_word(mac: [u8; 6]) -> u64 {
    mac.iter().fold(0, |w, &b| w << 8 | u64::from(b))
}

/// The Ethernet address in `values[0]`.
pub fn mac_of(word: u64) -> [u8; 6] {
    core::array::from_fn(|i| (word >> (8 * (5 - i))) as u8)
}
