//! The block service's client library.
//!
//! A task the image connects to the block service (`uses = ["blk"]`: xtask
//! gives it a 2 MiB range shared with the block server only) attaches
//! with [`Blk::attach`] and then calls [`Blk::read`], [`Blk::write`] and
//! [`Blk::flush`]; [`Blk::close`] tells the server it is done (the server
//! exits once every client has closed). No system call on the way: a
//! request is one ring slot, its data goes through the range's data buffer,
//! and the answer is one response slot.
//!
//! A transfer longer than [`crate::MAX_TRANSFER`] is cut into pieces that
//! are all sent before the first answer is awaited (up to the ring's 16
//! slots), so the server can keep several in the device at once. Each
//! client is independent: a benchmark runs one per client core.
//!
//! **Connecting and restarts.** [`Blk::attach`] connects (bumps the range's
//! `hello`, waits for the server's `welcome`: [`crate::Ctrl`]). While it
//! waits for an answer, and before it sends, the library checks the
//! server's `epoch`: a new server instance (the supervisor restarted a
//! crashed one) fails every outstanding request with [`Error::Restarted`],
//! and the library has already connected to the new instance, so the caller
//! may simply retry. A server that withdrew its `welcome` (it disconnects a
//! client that floods its ring) gives [`Error::Disconnected`] until the
//! client calls [`Conn::connect`]. Never a hang on a dead server.

use crate::{Op, DATA_LEN, MAX_TRANSFER, RING_SLOTS, SECTOR};
use conn::client::Conn;
use ring::{Request, Response, Status};

/// Why a call failed: the connection library's errors.
pub use conn::client::Error;

ulib::bind! {
    /// This task's connection to the block service, if the image gives it
    /// one (`uses = ["blk"]`).
    static BLK: Client = "blk";
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

/// Pieces in flight at once: what the ring and the data buffer both hold.
const PIECES: usize = if RING_SLOTS < DATA_LEN / MAX_TRANSFER {
    RING_SLOTS
} else {
    DATA_LEN / MAX_TRANSFER
};

/// One client's connection to the block server.
pub struct Blk {
    conn: Conn,
}

/// A `Blk` is its connection ([`Conn`]: `connect`, `is_connected`,
/// `send_raw`, `receive`, `call`) with the block service's calls on top.
impl core::ops::Deref for Blk {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl core::ops::DerefMut for Blk {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Blk {
    /// Attaches to the server through the connection the image gives
    /// this task (`uses = ["blk"]`) and connects ([`Conn::connect`]);
    /// [`Error::NotConnected`] without one.
    ///
    /// # Safety
    ///
    /// No other `Blk` may be made in this task while this one lives (the
    /// connection's range is touched by one `Blk` only). A task restarted
    /// after it died attaches again: the server drops what the dead
    /// instance left.
    pub unsafe fn attach() -> Result<Blk, Error> {
        // Safety: `BLK` is this task's binding of the service (the image
        // links its range for the task's whole life, shared with the server
        // only, in the standard layout); the caller promises no other `Blk`
        // uses it.
        let conn = unsafe { Conn::attach(BLK.get(), conn::STANDARD, true) }?;
        Ok(Blk { conn })
    }

    /// Polls of the response ring before a wait blocks in the kernel
    /// (`conn::client::Conn::set_spins`; default 1000).
    pub fn set_spins(&mut self, spins: u32) {
        self.conn.set_spins(spins);
    }

    /// Where this task's connection range is, if the image connects it (for
    /// tests that write into the rings directly).
    pub fn range_base() -> Option<u64> {
        BLK.get().map(|c| c.base)
    }

    /// This task's place among the block service's clients, if the image
    /// connects it.
    pub fn index() -> Option<usize> {
        BLK.get().map(|c| c.index)
    }

    /// Attaches through a client range at `base` (what [`Blk::attach`]
    /// does with the image's address; host tests use their own memory).
    ///
    /// # Safety
    ///
    /// `base` must be 4 KiB aligned, and `base .. base + RANGE_SIZE` must
    /// be readable and writable for the rest of the program, shared with the
    /// server only, and touched by nothing else here.
    pub unsafe fn at(base: *mut u8) -> Result<Blk, Error> {
        // Safety: the caller's promise, and the service's layout is the
        // standard one.
        let conn = unsafe { Conn::at(base, conn::STANDARD, None) }?;
        Ok(Blk { conn })
    }

    fn send(&mut self, op: Op, offset: usize, len: usize, sector: u64) -> Result<u64, Error> {
        let tag = self.conn.tag();
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

    /// Tells the server this client is done; its ring is not read again
    /// (until the client connects again).
    pub fn close(&mut self) -> Result<(), Error> {
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
            return Err(Error::BadLength);
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
                        core::ptr::copy_nonoverlapping(
                            src[at..].as_ptr(),
                            self.conn.data().add(offset),
                            n,
                        )
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
                done(unsafe { self.conn.data().add(offset) }, piece_at, n);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
