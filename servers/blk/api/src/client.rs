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
//! client calls [`Blk::connect`]. Never a hang on a dead server.

use crate::{Ctrl, Op, CTRL_OFFSET, DATA_LEN, DATA_OFFSET, MAX_TRANSFER, RING_SLOTS, SECTOR};
use core::sync::atomic::fence;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use ring::{Client, Region, Request, Response, ResponseError, Status};

/// Why a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The server answered with this status (`crate::status` or
    /// `ring::Status`).
    Status(Status),
    /// The response ring held something a correct server never writes.
    Ring(ResponseError),
    /// A buffer that is not a whole number of sectors.
    NotSectors,
    /// The ring's region could not be laid out (a build error).
    Layout,
    /// The server restarted: the requests outstanding were lost (none of
    /// them was answered). The client is connected to the new instance
    /// already; retry.
    Restarted,
    /// The server did not answer a connection in time.
    NoServer,
    /// The server withdrew its `welcome` (this client flooded its ring):
    /// outstanding requests are lost; [`Blk::connect`] starts again.
    Disconnected,
    /// The image does not connect this task to the block service.
    NotConnected,
}

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

/// Polls of the response ring before blocking in the kernel on the wake
/// notification (or, without one, sleeping in `wfe`), each round checking
/// the server's epoch and welcome.
const SPINS: u32 = 1000;
/// How long (counter seconds) to wait for a server to answer `hello`: a
/// restarted server first sets its device up again.
#[cfg(target_arch = "aarch64")]
const CONNECT_TIMEOUT_S: u64 = 10;
/// Off aarch64 (host tests), the same bound as a number of polls.
#[cfg(not(target_arch = "aarch64"))]
const CONNECT_POLLS: u64 = 1 << 32;

/// A deadline for [`Blk::connect`]: `expired()` once it has passed.
struct Deadline(u64, u64);

impl Deadline {
    #[cfg(target_arch = "aarch64")]
    fn start() -> Deadline {
        let (t, f) = counter();
        Deadline(t, CONNECT_TIMEOUT_S * f)
    }

    #[cfg(not(target_arch = "aarch64"))]
    fn start() -> Deadline {
        Deadline(0, CONNECT_POLLS)
    }

    #[cfg(target_arch = "aarch64")]
    fn expired(&mut self) -> bool {
        counter().0.wrapping_sub(self.0) > self.1
    }

    #[cfg(not(target_arch = "aarch64"))]
    fn expired(&mut self) -> bool {
        self.0 += 1;
        self.0 > self.1
    }
}

/// The virtual counter and its frequency.
#[cfg(target_arch = "aarch64")]
fn counter() -> (u64, u64) {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter and its
    // frequency; no memory is touched.
    unsafe {
        core::arch::asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f, options(nomem, nostack))
    };
    (t, f)
}

/// Sleeps until the server writes the word `w` watches (the exclusive
/// monitor `Watch::wfe` arms on its line) or another event (the server's
/// `sev`, the timer's event stream); a spin hint off aarch64.
fn sleep(w: &ring::Watch) {
    #[cfg(target_arch = "aarch64")]
    w.wfe();
    #[cfg(not(target_arch = "aarch64"))]
    {
        let _ = w;
        ring::waiting::relax();
    }
}
/// Pieces in flight at once: what the ring and the data buffer both hold.
const PIECES: usize = if RING_SLOTS < DATA_LEN / MAX_TRANSFER {
    RING_SLOTS
} else {
    DATA_LEN / MAX_TRANSFER
};

/// Wakes the server if it sleeps in `wfe` (a no-op off aarch64, where the
/// host tests run).
fn wake_server() {
    ring::waiting::wake();
}

/// One client's connection to the block server.
pub struct Blk {
    ctrl: &'static Ctrl,
    region: Region<'static>,
    ring: Client<'static>,
    data: *mut u8,
    next_tag: u64,
    /// The server's epoch when this client last connected.
    epoch: u64,
    /// The `hello` of this connection.
    hello: u64,
    /// The wake notification it blocks on (none: it sleeps in `wfe`,
    /// keeping its core; host tests, a connection without one).
    wake: Option<ulib::CPtr>,
}

impl Blk {
    /// Attaches to the server through the connection the image gives
    /// this task (`uses = ["blk"]`) and connects ([`Blk::connect`]);
    /// [`Error::NotConnected`] without one.
    ///
    /// # Safety
    ///
    /// No other `Blk` may be made in this task while this one lives (the
    /// connection's range is touched by one `Blk` only). A task restarted
    /// after it died attaches again: the server drops what the dead
    /// instance left.
    pub unsafe fn attach() -> Result<Blk, Error> {
        let end = BLK.get().ok_or(Error::NotConnected)?;
        // Safety: the image links the connection's 2 MiB range read/write
        // at `end.base` in this task for its whole life, shared with the
        // block server only; the caller promises no other `Blk` uses it.
        let mut blk = unsafe { Blk::at(end.base as *mut u8) }?;
        blk.wake = end.wake;
        Ok(blk)
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
        // Safety: the caller's promise: the control words are atomics (any
        // bit pattern is valid), 64-byte aligned at the range's start.
        let ctrl = unsafe { &*(base.wrapping_add(CTRL_OFFSET as usize) as *const Ctrl) };
        // Safety: the caller's promise: the ring pair is reached only
        // through `ring` (atomics), the data buffer only by this `Blk`.
        let region = unsafe {
            Region::from_raw(
                base.wrapping_add(crate::REGION_OFFSET as usize),
                crate::REGION_LEN,
                RING_SLOTS,
            )
        }
        .map_err(|_| Error::Layout)?;
        let mut blk = Blk {
            ctrl,
            region,
            ring: Client::new(region),
            data: base.wrapping_add(DATA_OFFSET as usize),
            next_tag: 1,
            epoch: 0,
            hello: 0,
            wake: None,
        };
        blk.connect()?;
        Ok(blk)
    }

    /// (Re)connects: bumps `hello` and waits until the server answers it
    /// with its `welcome` (the server then has cleared the rings and
    /// dropped whatever this client's earlier connection left). Whatever
    /// was outstanding is lost.
    pub fn connect(&mut self) -> Result<(), Error> {
        let mut deadline = Deadline::start();
        loop {
            // The epoch read before the `hello` and again after the
            // `welcome`: if they differ, a new instance started during the
            // handshake and the welcome may be the old one's: again.
            let epoch = self.ctrl.epoch.load(Acquire);
            let hello = self.ctrl.hello.load(Acquire).wrapping_add(1).max(1);
            self.ctrl.hello.store(hello, Release);
            wake_server();
            loop {
                let seen = self.ctrl.welcome.load(Acquire);
                if seen == hello {
                    break;
                }
                if deadline.expired() {
                    return Err(Error::NoServer);
                }
                ring::waiting::wfe_unless_changed(&self.ctrl.welcome, seen);
            }
            if self.ctrl.epoch.load(Acquire) == epoch {
                self.epoch = epoch;
                self.hello = hello;
                self.ring = Client::new(self.region);
                self.next_tag = 1;
                return Ok(());
            }
        }
    }

    /// Whether the server still serves this connection: the same instance
    /// that welcomed it, and its welcome not withdrawn. A new instance means
    /// connecting again at once ([`Error::Restarted`]).
    fn check(&mut self) -> Result<(), Error> {
        if self.ctrl.epoch.load(Acquire) != self.epoch {
            self.connect()?;
            return Err(Error::Restarted);
        }
        if self.ctrl.welcome.load(Acquire) != self.hello {
            return Err(Error::Disconnected);
        }
        Ok(())
    }

    /// Whether the server still serves this connection (it withdraws its
    /// `welcome` when it disconnects a client that flooded its ring).
    pub fn is_connected(&self) -> bool {
        self.ctrl.welcome.load(Acquire) == self.hello && self.ctrl.epoch.load(Acquire) == self.epoch
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
        self.check()?;
        while self.ring.send(req).is_err() {
            let r = self.receive()?;
            // Only reached with a full ring, which `call` never leaves.
            let _ = r;
        }
        wake_server();
        Ok(())
    }

    /// The next response. Checks the server's epoch and welcome while it
    /// waits: a restart gives [`Error::Restarted`], a disconnection
    /// [`Error::Disconnected`], never a hang.
    pub fn receive(&mut self) -> Result<Response, Error> {
        if self.ring.outstanding() == 0 {
            return Err(Error::Ring(ResponseError::NothingOutstanding));
        }
        loop {
            for _ in 0..SPINS {
                match self.ring.poll() {
                    Ok(Some(r)) => return Ok(r),
                    Ok(None) => ring::waiting::relax(),
                    Err(e) => {
                        // A new server instance clears the rings before it
                        // welcomes anyone: garbage may be the restart.
                        self.check()?;
                        return Err(Error::Ring(e));
                    }
                }
            }
            self.check()?;
            match self.wake {
                Some(wake) => {
                    if let Some(r) = self.block(wake)? {
                        return Ok(r);
                    }
                }
                None => sleep(&self.ring.watch()),
            }
        }
    }

    /// Says it is sleeping, polls once more, and blocks in the kernel on
    /// its wake notification until the server (or its end) signals it
    /// (docs/kernel-cores.md, *Waiting*); the caller polls again after.
    fn block(&mut self, wake: ulib::CPtr) -> Result<Option<Response>, Error> {
        self.ctrl.sleeping.store(1, SeqCst);
        fence(SeqCst);
        match self.ring.poll() {
            Ok(None) => {}
            polled => {
                self.ctrl.sleeping.store(0, Relaxed);
                return match polled {
                    Ok(r) => Ok(r),
                    Err(e) => {
                        self.check()?;
                        Err(Error::Ring(e))
                    }
                };
            }
        }
        #[cfg(target_arch = "aarch64")]
        let _ = ulib::cap::wait(wake);
        #[cfg(not(target_arch = "aarch64"))]
        let _ = wake; // host tests: no kernel; `wake` is never set there
        self.ctrl.sleeping.store(0, Relaxed);
        Ok(None)
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
