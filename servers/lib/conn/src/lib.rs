//! The connection layer every kernel-core service shares, on top of the
//! rings (`servers/lib/ring`): what a client range holds besides its ring
//! pair, and how a client and its server find each other, lose each other
//! and find each other again. The block and network services use all of
//! it; their own crates keep only their requests (`blk_api`, `net_api`)
//! and what their servers do with them.
//!
//! # A client's range
//!
//! A client and its server share one 2 MiB range, linked by exactly those
//! two tasks (xtask derives it from `uses = ["SERVICE"]` / `provides =
//! "SERVICE"`). Its [`Layout`]; the [`STANDARD`] one, which the block and
//! network services use:
//!
//! | offset | bytes | what |
//! | --- | --- | --- |
//! | 0 | 64 | [`Ctrl`] server line: `epoch`, `welcome`, `closed` (written by the server) |
//! | 64 | 64 | [`Ctrl`] client line: `hello`, `sleeping` (written by the client; the server clears `sleeping`) |
//! | 2 KiB | 2 KiB | the ring pair: [`RING_SLOTS`] request and response slots (`ring::Region`) |
//! | 4 KiB | [`DATA_LEN`] | the client's data buffer; requests name windows of it |
//!
//! # The protocol ([`Ctrl`])
//!
//! - **Connecting.** The client bumps `hello`; the server, seeing a `hello`
//!   it has not answered, drops whatever that client's earlier connection
//!   left, clears the rings, starts its side afresh and publishes
//!   `welcome = hello`. The client starts once it reads its `welcome`. A
//!   server that disconnects a client (a flood) stores `welcome = 0`.
//! - **Server restarts.** Every server instance bumps `epoch` in every
//!   client's range when it starts; a client that sees `epoch` change fails
//!   its outstanding requests and connects again. The client reads `epoch`
//!   before its `hello` and again after the `welcome`, and starts again if
//!   they differ, so it never takes a dead instance's `welcome` for the new
//!   one's (a loom model checks this, `src/loom_tests.rs`). `closed` is the
//!   `hello` of the connection that said it was done, so a new instance
//!   does not wait for it again.
//! - **Sleeping.** A client that has polled long enough sets `sleeping`,
//!   fences, polls once more and blocks in the kernel on its wake
//!   notification; a server, after publishing an answer, fences and, if
//!   `sleeping` is set, clears it and signals the notification. Either the
//!   client's last poll sees the answer or the server sees the flag (the
//!   second loom model).
//! - **Clients that end.** The kernel signals a client's exit signal (bit
//!   `index` of `SERVICE.ends`) when it ends; the server polls it only
//!   before it sleeps, and drops a client that ended without saying it was
//!   done (`ulib::ends::Ends`; docs/kernel-cores.md).
//!
//! [`client::Conn`] is a client's side of all this, [`server::Peer`] the
//! server's view of one client and [`server::Clients`] its table of them.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

#[cfg(test)]
extern crate std;

mod ctrl;
#[cfg(not(all(loom, test)))]
pub mod held;
mod sync;

#[cfg(not(all(loom, test)))]
pub mod client;
#[cfg(all(target_arch = "aarch64", not(all(loom, test))))]
pub mod server;

#[cfg(all(test, loom))]
mod loom_tests;

pub use ctrl::Ctrl;

/// Where the parts of a client's range lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Offset of the ring pair (after the control words, 64-byte aligned).
    pub region_offset: usize,
    /// Slots per ring.
    pub slots: usize,
    /// Offset of the data buffer (after the ring pair).
    pub data_offset: usize,
    /// Bytes of the data buffer.
    pub data_len: usize,
}

impl Layout {
    /// Bytes of the ring pair.
    pub const fn region_len(&self) -> usize {
        2 * self.slots * ring::SLOT_BYTES
    }

    /// Whether the parts lie in order inside a range of `range` bytes.
    pub const fn fits(&self, range: usize) -> bool {
        CTRL_OFFSET as usize + CTRL_BYTES <= self.region_offset
            && self.region_offset.is_multiple_of(64)
            && self.region_offset + self.region_len() <= self.data_offset
            && self.data_offset + self.data_len <= range
    }
}

/// Bytes of one client's range.
pub const RANGE_SIZE: u64 = 2 << 20;
/// Most clients one server serves.
pub const MAX_CLIENTS: usize = 8;
/// Offset of the control words ([`Ctrl`]) in a client's range.
pub const CTRL_OFFSET: u64 = 0;
/// Bytes of the control words.
pub const CTRL_BYTES: usize = 128;
/// Slots per ring in the [`STANDARD`] layout: the most requests a client
/// has outstanding.
pub const RING_SLOTS: usize = 16;
/// Offset of the ring pair in the [`STANDARD`] layout.
pub const REGION_OFFSET: u64 = 2048;
/// Bytes of the ring pair in the [`STANDARD`] layout.
pub const REGION_LEN: usize = 2 * RING_SLOTS * ring::SLOT_BYTES;
/// Offset of the data buffer in the [`STANDARD`] layout.
pub const DATA_OFFSET: u64 = 4096;
/// Bytes of the data buffer in the [`STANDARD`] layout: the rest of the
/// range.
pub const DATA_LEN: usize = (RANGE_SIZE - DATA_OFFSET) as usize;

/// The layout of the block and network services.
pub const STANDARD: Layout = Layout {
    region_offset: REGION_OFFSET as usize,
    slots: RING_SLOTS,
    data_offset: DATA_OFFSET as usize,
    data_len: DATA_LEN,
};

const _: () = assert!(STANDARD.fits(RANGE_SIZE as usize));
const _: () = assert!(STANDARD.region_len() == REGION_LEN);
