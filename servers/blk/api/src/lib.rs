//! What a client of the block service links (the server, `servers/blk/server`,
//! links it too): the protocol, the client library ([`client`]) and the
//! test pattern ([`pattern`]). No driver code.
//!
//! A client and the server share one 2 MiB image range (`[[range]]`),
//! linked by exactly those two tasks; the image connects them (`uses =
//! ["blk"]`, `provides = "blk"`) and xtask tells both ends where the range
//! is (their `ulib::bind` bindings). Its layout:
//!
//! | offset | bytes | what |
//! | --- | --- | --- |
//! | 0 | 64 | [`Ctrl`] server line: `epoch`, `welcome`, `closed` (written by the server) |
//! | 64 | 64 | [`Ctrl`] client line: `hello` (written by the client) |
//! | 2 KiB | 2 KiB | the ring pair: [`RING_SLOTS`] request and response slots (`ring::Region`) |
//! | 4 KiB | [`DATA_LEN`] | the client's data buffer; requests name windows of it |
//!
//! **Connecting, server restarts, blocking and dead clients** are the
//! connection layer's (`conn`, docs/kernel-cores.md): the client bumps
//! `hello` and waits for its `welcome`; a new server instance bumps
//! `epoch` and the client's outstanding requests fail
//! ([`client::Error::Restarted`]); `closed` is the `hello` of the
//! connection that sent `Close`, so a new instance does not wait for a
//! `Close` it already answered.
//!
//! Requests ([`Op`]): `Read` and `Write` move `len` bytes (a non-zero
//! multiple of [`SECTOR`], at most [`MAX_TRANSFER`]) between sectors
//! `args[0]..` of the disk and the buffer window `offset..offset + len`
//! (`offset` a multiple of 8); `Flush` makes every write answered so far
//! durable; `Info` returns the disk's size; `Close` ends the client's
//! session. [`validate`] is the server's whole check of a request that
//! `ring` already decoded.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

pub mod client;
pub mod pattern;

use ring::{BufRange, Incoming, Status};

/// The range's layout and control words: the connection layer's standard
/// ones (`servers/lib/conn`).
pub use conn::{
    Ctrl, CTRL_OFFSET, DATA_LEN, DATA_OFFSET, MAX_CLIENTS, RANGE_SIZE, REGION_LEN, REGION_OFFSET,
    RING_SLOTS,
};

/// Bytes in a sector: the unit of every transfer.
pub const SECTOR: usize = 512;
/// Most bytes one request moves.
pub const MAX_TRANSFER: usize = 64 * 1024;
/// Alignment of a buffer window's offset.
pub const BUF_ALIGN: u64 = 8;

/// The requests.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Sectors `args[0]..` into the buffer window.
    Read = 1,
    /// The buffer window to sectors `args[0]..`.
    Write = 2,
    /// Make every write answered so far durable.
    Flush = 3,
    /// `values[0]` = sectors on the disk, `values[1]` = [`MAX_TRANSFER`],
    /// `values[2]` = 1 if the disk is read-only.
    Info = 4,
    /// The client is done; the server stops reading its ring.
    Close = 5,
}

impl TryFrom<u32> for Op {
    type Error = ();

    fn try_from(v: u32) -> Result<Op, ()> {
        Ok(match v {
            1 => Op::Read,
            2 => Op::Write,
            3 => Op::Flush,
            4 => Op::Info,
            5 => Op::Close,
            _ => return Err(()),
        })
    }
}

/// The server's own statuses (`ring`'s are below [`Status::USER`]).
pub mod status {
    use ring::Status;

    /// `len` is 0, not a multiple of 512 or more than `MAX_TRANSFER` (for
    /// `Read`/`Write`), or not 0 (for the others).
    pub const BAD_LENGTH: Status = Status(Status::USER.0);
    /// Sectors `args[0] .. args[0] + len / 512` are not all on the disk;
    /// `values[0]` is the disk's size in sectors.
    pub const BAD_SECTOR: Status = Status(Status::USER.0 + 1);
    /// The buffer window's offset is not a multiple of 8.
    pub const MISALIGNED: Status = Status(Status::USER.0 + 2);
    /// A reserved argument is not 0.
    pub const BAD_ARGUMENT: Status = Status(Status::USER.0 + 3);
    /// The device reported an error.
    pub const IO_ERROR: Status = Status(Status::USER.0 + 4);
    /// A write to a read-only disk.
    pub const READ_ONLY: Status = Status(Status::USER.0 + 5);
}

/// A request that passed [`validate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// Read `buf.len() / 512` sectors from `sector` into `buf`.
    Read {
        /// First sector.
        sector: u64,
        /// The buffer window.
        buf: BufRange,
    },
    /// Write `buf` to `buf.len() / 512` sectors from `sector`.
    Write {
        /// First sector.
        sector: u64,
        /// The buffer window.
        buf: BufRange,
    },
    /// Flush.
    Flush,
    /// Report the disk's size.
    Info,
    /// End the session.
    Close,
}

/// Checks a request `ring` decoded (known opcode, window inside the
/// client's buffer) against the disk: lengths, alignment, reserved
/// arguments and the sector range (overflow-safe). `Err` is the status to
/// answer with.
pub fn validate(req: &Incoming<Op>, capacity: u64, read_only: bool) -> Result<Checked, Status> {
    let [sector, r1, r2, r3] = req.args;
    if r1 != 0 || r2 != 0 || r3 != 0 {
        return Err(status::BAD_ARGUMENT);
    }
    let len = req.buf.len();
    match req.opcode {
        Op::Read | Op::Write => {
            if len == 0 || !len.is_multiple_of(SECTOR) || len > MAX_TRANSFER {
                return Err(status::BAD_LENGTH);
            }
            if !(req.buf.offset() as u64).is_multiple_of(BUF_ALIGN) {
                return Err(status::MISALIGNED);
            }
            let end = sector.checked_add((len / SECTOR) as u64);
            if end.is_none_or(|end| end > capacity) {
                return Err(status::BAD_SECTOR);
            }
            if req.opcode == Op::Write && read_only {
                return Err(status::READ_ONLY);
            }
            Ok(if req.opcode == Op::Read {
                Checked::Read {
                    sector,
                    buf: req.buf,
                }
            } else {
                Checked::Write {
                    sector,
                    buf: req.buf,
                }
            })
        }
        Op::Flush | Op::Info | Op::Close => {
            if len != 0 || sector != 0 {
                return Err(if len != 0 {
                    status::BAD_LENGTH
                } else {
                    status::BAD_ARGUMENT
                });
            }
            Ok(match req.opcode {
                Op::Flush => Checked::Flush,
                Op::Info => Checked::Info,
                _ => Checked::Close,
            })
        }
    }
}

#[cfg(test)]
mod tests;
