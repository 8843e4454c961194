//! The block service's client library.
//!
//! A task whose image links client range `i` (at
//! `blkproto::client_base(i)`, shared with the block server only) attaches
//! with [`Blk::attach`] and then calls [`Blk::read`], [`Blk::write`] and
//! [`Blk::flush`]; [`Blk::close`] tells the server it is done (the server
//! exits once every client has closed). No system call on the way: a
//! request is one ring slot, its data goes through the range's data buffer,
//! and the answer is one response slot.
//!
//! A transfer longer than `blkproto::MAX_TRANSFER` is cut into pieces that
//! are all sent before the first answer is awaited (up to the ring's 16
//! slots), so the server can keep several in the device at once. Each
//! client is independent: a benchmark runs one per client core.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

use blkproto::{client_base, Op, DATA_LEN, DATA_OFFSET, MAX_TRANSFER, RING_SLOTS, SECTOR};
use ring::{Client, Region, Request, Response, ResponseError, Status};

/// Why a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The server answered with this status (`blkproto::status` or
    /// `ring::Status`).
    Status(Status),
    /// The response ring held something a correct server never writes.
    Ring(ResponseError),
    /// A buffer that is not a whole number of sectors.
    NotSectors,
    /// The ring's region could not be laid out (a build error).
    Layout,
}

/// What [`Blk::info`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// 512-byte sectors on the disk.
    pub sectors: u64,
    /// Most bytes one request moves.
    pub max_transfer: usize,
    /// Whether writes are refused.
    pub read_only: bool,
}

/// Polls of the response ring before sleeping in `wfe`.
const SPINS: u32 = 1000;
/// Pieces in flight at once: what the ring and the data buffer both hold.
const PIECES: usize = if RING_SLOTS < DATA_LEN / MAX_TRANSFER {
    RING_SLOTS
} else {
    DATA_LEN / MAX_TRANSFER
};

/// Wakes the server if it sleeps in `wfe` (a no-op off aarch64, where the
/// host tests run).
fn wake_server() {
    #[cfg(target_arch = "aarch64")]
    // Safety: `sev` only signals an event to every core.
    unsafe {
        core::arch::asm!("sev", options(nomem, nostack))
    };
}

/// One client's connection to the block server.
pub struct Blk {
    ring: Client<'static>,
    data: *mut u8,
    next_tag: u64,
}

impl Blk {
    /// Attaches to the server through client range `index`.
    ///
    /// # Safety
    ///
    /// The range must be linked read/write at `blkproto::client_base(index)`
    /// in this task for the rest of its life, shared with the block server
    /// only, still all zero (no `Blk` made for it before), and touched by
    /// nothing else in this task.
    pub unsafe fn attach(index: usize) -> Result<Blk, Error> {
        // Safety: the caller's promise, for the range at client_base(index).
        unsafe { Blk::at(client_base(index) as *mut u8) }
    }

    /// Attaches through a client range at `base` (what [`Blk::attach`]
    /// does with the image's address; host tests use their own memory).
    ///
    /// # Safety
    ///
    /// `base` must be 64-byte aligned, and `base .. base + RANGE_SIZE` must
    /// be readable and writable for the rest of the program, shared with the
    /// server only, all zero now, and touched by nothing else here.
    pub unsafe fn at(base: *mut u8) -> Result<Blk, Error> {
        // Safety: the caller's promise: the ring pair is reached only
        // through `ring` (atomics), the data buffer only by this `Blk`.
        let region = unsafe {
            Region::from_raw(
                base.wrapping_add(blkproto::REGION_OFFSET as usize),
                blkproto::REGION_LEN,
                RING_SLOTS,
            )
        }
        .map_err(|_| Error::Layout)?;
        Ok(Blk {
            ring: Client::new(region),
            data: base.wrapping_add(DATA_OFFSET as usize),
            next_tag: 1,
        })
    }

    fn send(&mut self, op: Op, offset: usize, len: usize, sector: u64) -> Result<u64, Error> {
        let tag = self.next_tag;
        self.next_tag += 1;
        let req = Request {
            opcode: op as u32,
            len: len as u32,
            tag,
            offset: offset as u64,
            args: [sector, 0, 0, 0],
        };
        self.send_raw(&req)?;
        Ok(tag)
    }

    /// Sends any request (a test may send malformed ones); waits for room
    /// in the ring first.
    pub fn send_raw(&mut self, req: &Request) -> Result<(), Error> {
        while self.ring.send(req).is_err() {
            let r = self.receive()?;
            // Only reached with a full ring, which `call` never leaves.
            let _ = r;
        }
        wake_server();
        Ok(())
    }

    /// The next response.
    pub fn receive(&mut self) -> Result<Response, Error> {
        self.ring
            .wait(SPINS, |_w| {
                #[cfg(target_arch = "aarch64")]
                _w.wfe();
            })
            .map_err(Error::Ring)
    }

    /// One request and its response, whatever its status (for tests of
    /// the server's checks).
    pub fn call(&mut self, req: &Request) -> Result<Response, Error> {
        self.send_raw(req)?;
        self.receive()
    }

    fn simple(&mut self, op: Op) -> Result<Response, Error> {
        self.send(op, 0, 0, 0)?;
        let r = self.receive()?;
        if r.status != Status::OK {
            return Err(Error::Status(r.status));
        }
        Ok(r)
    }

    /// The disk's size and limits.
    pub fn info(&mut self) -> Result<Info, Error> {
        let r = self.simple(Op::Info)?;
        Ok(Info {
            sectors: r.values[0],
            max_transfer: r.values[1] as usize,
            read_only: r.values[2] != 0,
        })
    }

    /// Reads `buf.len() / 512` sectors from `sector` into `buf`.
    pub fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), Error> {
        self.transfer(
            sector,
            buf.len(),
            |data, at, len| {
                // Safety: the piece's window of the data buffer, answered by the
                // server (it no longer writes it); `at + len <= buf.len()`.
                unsafe { core::ptr::copy_nonoverlapping(data, buf[at..].as_mut_ptr(), len) }
            },
            None,
        )
    }

    /// Writes `buf` (whole sectors) to the disk from `sector`.
    pub fn write(&mut self, sector: u64, buf: &[u8]) -> Result<(), Error> {
        self.transfer(sector, buf.len(), |_, _, _| {}, Some(buf))
    }

    /// Makes every write answered so far durable.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.simple(Op::Flush).map(|_| ())
    }

    /// Tells the server this client is done; its ring is not read again.
    pub fn close(mut self) -> Result<(), Error> {
        self.simple(Op::Close).map(|_| ())
    }

    /// Moves `len` bytes in pieces of at most `MAX_TRANSFER`, [`PIECES`] at
    /// a time: every piece of a batch is sent, then every answer taken
    /// (each read piece handed to `done`). All answers of a batch are taken
    /// even after an error, so the ring stays in step.
    fn transfer(
        &mut self,
        sector: u64,
        len: usize,
        mut done: impl FnMut(*const u8, usize, usize),
        src: Option<&[u8]>,
    ) -> Result<(), Error> {
        if !len.is_multiple_of(SECTOR) {
            return Err(Error::NotSectors);
        }
        let op = if src.is_some() { Op::Write } else { Op::Read };
        let mut at = 0;
        let mut first_error = None;
        while at < len && first_error.is_none() {
            let mut tags = [(0u64, 0usize, 0usize); PIECES];
            let mut sent = 0;
            while sent < PIECES && at < len {
                let n = (len - at).min(MAX_TRANSFER);
                let offset = sent * MAX_TRANSFER;
                if let Some(src) = src {
                    // Safety: the piece's window of the data buffer (offset +
                    // n <= DATA_LEN), not in any outstanding request.
                    unsafe {
                        core::ptr::copy_nonoverlapping(src[at..].as_ptr(), self.data.add(offset), n)
                    };
                }
                let s = sector + (at / SECTOR) as u64;
                tags[sent] = (self.send(op, offset, n, s)?, offset, at);
                sent += 1;
                at += n;
            }
            for _ in 0..sent {
                let r = self.receive()?;
                let Some(&(_, offset, piece_at)) = tags[..sent].iter().find(|t| t.0 == r.tag)
                else {
                    first_error.get_or_insert(Error::Status(Status::BAD_SEQUENCE));
                    continue;
                };
                if r.status != Status::OK {
                    first_error.get_or_insert(Error::Status(r.status));
                    continue;
                }
                let n = (len - piece_at).min(MAX_TRANSFER);
                // Safety: inside the data buffer (offset + n <= DATA_LEN).
                done(unsafe { self.data.add(offset) }, piece_at, n);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
