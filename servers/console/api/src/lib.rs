//! What a client of the console service links (the server,
//! `servers/console/server`, links it too): the protocol of a client's range
//! and the client library ([`client`]). No driver code.
//!
//! The console service of a kernel core:
//!
//! One server task, alone on a kernel core the image reserves, owns the
//! console UART (a device grant) and serves its clients through rings
//! (`servers/lib/ring`), each client's in its own 2 MiB shared address range
//! linked by that client and the server only. Every task on every core can
//! print through it; each request carries one whole line and the server
//! writes lines one at a time, so lines from different tasks never
//! interleave within a line. Input from the UART goes to the client that
//! has the console (client 0).
//!
//! # A client's range
//!
//! The image connects a client (`uses = ["console"]`) and the server
//! (`provides = "console"`); xtask gives each client its own 2 MiB range,
//! linked by that client and the server only, and tells both ends where it
//! is through their bindings (`ulib::bind`). Its layout:
//!
//! | offset | size | what | written by |
//! | --- | --- | --- | --- |
//! | 0 | 64 | [`Ctrl`] server line: `epoch`, `welcome` | server |
//! | 64 | 64 | [`Ctrl`] client line: `hello`, `sleeping` | client (the server clears `sleeping`) |
//! | 4 KiB | 2 KiB | ring pair, [`SLOTS`] slots per ring | both (see `ring`) |
//! | 64 KiB | 64 KiB | data buffer: request `i`'s line at `(tag % SLOTS) × LINE` | client |
//!
//! A line of at most [`SHORT`] (32) bytes travels in its request slot
//! itself ([`Op::Line`]): no buffer window is written or read, and the
//! server prints from the copy of the slot it takes anyway.
//!
//! **Answers.** A line's answer is its response head alone: `status`,
//! `len` and `tag` (the server publishes them with
//! `ring::Server::respond_heads_with`, the client reads them with
//! `ring::Client::poll_head`); its `values` are not written and mean
//! nothing (the slot's other words keep this ring's earlier messages to
//! the same client). No console answer carries values.
//!
//! **Connecting.** A client bumps `hello`; the server, seeing a `hello` it
//! has not answered, clears that client's rings, starts its side afresh and
//! publishes `welcome = hello`; the client starts once it reads its
//! `welcome`. So a client that restarts simply connects again.
//!
//! **Blocking.** A client waiting for a response polls a little, then
//! sets `sleeping`, polls once more and blocks in the kernel (`Wait`) on
//! its wake notification (`SERVICE.N`, which xtask derives and grants to
//! both). After publishing a response, the server clears a set `sleeping`
//! and signals that notification; it signals every client's when it
//! starts, and the kernel signals them when it ends (its exit signals). A
//! `SeqCst` fence on each side between the store and the load makes sure
//! one of them sees the other: the client the response, or the server the
//! flag. So a waiting client gives its core to the other tasks there, even
//! lower-priority ones.
//!
//! **Server restarts.** A server starting bumps `epoch` in every client's
//! range. A client that sees `epoch` change fails every outstanding request
//! with [`Error::Restarted`] and connects again: an error, never a hang.

#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "aarch64")]
pub mod client;

use core::sync::atomic::AtomicU64;

/// Bytes of one client's range (what xtask gives each connection).
pub const RANGE_SIZE: u64 = 2 << 20;
/// Offset of the ring pair in a client's range.
pub const REGION_OFFSET: u64 = 4096;
/// Slots per ring: the most lines a client has in flight.
pub const SLOTS: usize = 16;
/// Offset and size of the data buffer in a client's range.
pub const BUF_OFFSET: u64 = 64 * 1024;
pub const BUF_LEN: usize = 64 * 1024;
/// Longest line (bytes of one buffer window).
pub const LINE: usize = 256;
/// Longest line a request carries in its slot itself ([`Op::Line`]: the
/// 32 bytes of its `args`).
pub const SHORT: usize = 32;
/// Most clients one server serves.
pub const MAX_CLIENTS: usize = 8;

/// Requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Op {
    /// Print the buffer window as one line.
    Write = 1,
    /// Fill the buffer window with input (answered when input arrives).
    Read = 2,
    /// The client has finished; answered when every client has (a test
    /// image's server then exits, so the run can end).
    Done = 3,
    /// Print the request's own bytes as one line: the first `len` bytes
    /// of its `args` (32 bytes, little-endian words; a longer `len` is cut
    /// to 32). The buffer window is not read, but `offset` and `len` are
    /// checked against the buffer as every request's are (a client sends
    /// `offset` 0).
    Line = 4,
}

impl TryFrom<u32> for Op {
    type Error = ();
    fn try_from(v: u32) -> Result<Op, ()> {
        match v {
            1 => Ok(Op::Write),
            2 => Ok(Op::Read),
            3 => Ok(Op::Done),
            4 => Ok(Op::Line),
            _ => Err(()),
        }
    }
}

/// The control words at the start of a client's range.
#[repr(C, align(64))]
pub struct Ctrl {
    /// Bumped by every server instance when it starts.
    pub epoch: AtomicU64,
    /// The last `hello` the server answered.
    pub welcome: AtomicU64,
    _server_line: [u64; 6],
    /// Bumped by the client to (re)connect.
    pub hello: AtomicU64,
    /// Non-zero while the client is (about to be) blocked on its wake
    /// notification; the server clears it when it signals.
    pub sleeping: AtomicU64,
    _client_line: [u64; 6],
}

/// Client-side errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The server restarted: this request was lost; connect again.
    Restarted,
    /// The server did not answer a connection in time.
    NoServer,
    /// The server refused the request (a ring status).
    Refused(u32),
    /// The response ring held something that is not a response.
    Protocol,
    /// The image does not connect this task to the console service.
    NotConnected,
}
