//! One client as the server sees it: its ring pair (`ring::Server`, which
//! validates opcodes and buffer windows), its data buffer viewed as atomic
//! words (the client may write it at any time), its control words
//! (`blk_api::Ctrl`: connecting, epochs), and counts.

use blk_api::{Ctrl, Op, CTRL_OFFSET, DATA_LEN, DATA_OFFSET, RING_SLOTS};
use core::sync::atomic::fence;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use core::sync::atomic::{AtomicU64, Ordering};
use ring::{BufRange, Region, Response, Server, Status};

pub struct Client {
    pub index: usize,
    pub ctrl: &'static Ctrl,
    region: Region<'static>,
    pub ring: Server<'static, Op>,
    words: &'static [AtomicU64],
    /// The `hello` of the connection served (0: none yet).
    pub hello: u64,
    /// Whether the ring is read: connected and not disconnected (a flood).
    pub connected: bool,
    pub closed: bool,
    pub served: u64,
    pub rejected: u64,
    /// Connections after the first one this instance served.
    pub reconnects: u64,
    /// The client's wake notification (signalled when it sleeps).
    pub wake: Option<ulib::CPtr>,
}

impl Client {
    /// Client `index`, whose range is at `base` in this task.
    ///
    /// # Safety
    ///
    /// That range must be linked read/write in this task for its whole life,
    /// and this must be the only `Client` made for `index`.
    pub unsafe fn attach(base: u64, index: usize) -> Option<Client> {
        // Safety: the caller promises the range is linked RW for the task's
        // life; the control words are atomics at its (page-aligned) start.
        let ctrl = unsafe { &*((base + CTRL_OFFSET) as *const Ctrl) };
        // Safety: the caller promises the range is linked RW for the task's
        // life; `ring` and the word view below reach it only atomically.
        let region = unsafe {
            Region::from_raw(
                (base + blk_api::REGION_OFFSET) as *mut u8,
                blk_api::REGION_LEN,
                RING_SLOTS,
            )
        }
        .ok()?;
        // Safety: the data buffer is DATA_LEN bytes (a multiple of 8) at a
        // page-aligned address inside the linked range; AtomicU64 accepts
        // every bit pattern and its interior mutability allows the client's
        // concurrent writes; only atomic loads and stores reach it here.
        let words = unsafe {
            core::slice::from_raw_parts((base + DATA_OFFSET) as *const AtomicU64, DATA_LEN / 8)
        };
        // A client that closed its connection under an earlier instance
        // (`closed` = that connection's `hello`) is not waited for again.
        let hello = ctrl.hello.load(Acquire);
        let closed = hello != 0 && ctrl.closed.load(Acquire) == hello;
        Some(Client {
            index,
            ctrl,
            region,
            ring: Server::new(region, DATA_LEN),
            words,
            hello: if closed { hello } else { 0 },
            connected: false,
            closed,
            served: 0,
            rejected: 0,
            reconnects: 0,
            wake: None,
        })
    }

    /// A `hello` this server has not answered: drops the earlier
    /// connection (the caller forgets its requests), clears the rings,
    /// starts afresh and publishes `welcome`. Whether it did.
    pub fn connect(&mut self) -> bool {
        let hello = self.ctrl.hello.load(Acquire);
        if hello == self.hello {
            return false;
        }
        if self.hello != 0 {
            self.reconnects += 1;
        }
        self.region.clear();
        self.ring = Server::new(self.region, DATA_LEN);
        (self.hello, self.connected, self.closed) = (hello, true, false);
        self.ctrl.welcome.store(hello, Release);
        ulib::wait::wake();
        true
    }

    /// Stops reading the ring and withdraws the `welcome` (a flood): the
    /// client must connect again.
    pub fn disconnect(&mut self) {
        self.connected = false;
        self.ctrl.welcome.store(0, Release);
        ulib::wait::wake();
        self.wake_if_sleeping();
    }

    /// Signals the wake notification if the client said it is blocked
    /// there: the fence orders what was published before against the read
    /// of the flag, as the client orders its flag against its last poll.
    pub fn wake_if_sleeping(&self) {
        fence(SeqCst);
        if self.ctrl.sleeping.load(Relaxed) != 0 {
            self.ctrl.sleeping.store(0, Relaxed);
            self.signal_wake();
        }
    }

    /// Signals the wake notification whether or not the client sleeps.
    pub fn signal_wake(&self) {
        if let Some(w) = self.wake {
            let _ = ulib::cap::signal(w, 1);
        }
    }

    /// The client sent `Close` on this connection: remembered in the
    /// control words, so a restarted server does not wait for it again.
    pub fn close(&mut self) {
        self.closed = true;
        self.ctrl.closed.store(self.hello, Release);
    }

    fn window(&self, buf: BufRange) -> Option<&'static [AtomicU64]> {
        if !buf.offset().is_multiple_of(8) || !buf.len().is_multiple_of(8) {
            return None;
        }
        self.words
            .get(buf.offset() / 8..(buf.offset() + buf.len()) / 8)
    }

    /// Copies the window out of the client's buffer into `dst` (a write's
    /// data), a word at a time. `false` if the window is not word-aligned
    /// inside the buffer (validation already refused that).
    pub fn copy_from(&self, buf: BufRange, dst: &mut [u8]) -> bool {
        let Some(src) = self.window(buf) else {
            return false;
        };
        for (d, s) in dst.chunks_exact_mut(8).zip(src) {
            d.copy_from_slice(&s.load(Ordering::Relaxed).to_ne_bytes());
        }
        true
    }

    /// Copies `src` (a read's data) into the window of the client's buffer.
    pub fn copy_to(&self, buf: BufRange, src: &[u8]) -> bool {
        let Some(dst) = self.window(buf) else {
            return false;
        };
        for (d, s) in dst.iter().zip(src.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(s);
            d.store(u64::from_ne_bytes(w), Ordering::Relaxed);
        }
        true
    }

    /// Answers `tag` on the current connection. (A response slot is free:
    /// every answer is for a request this server consumed on it.)
    pub fn answer(&mut self, tag: u64, status: Status, len: u32, values: [u64; 5]) {
        if !self.connected {
            return;
        }
        if status == Status::OK {
            self.served += 1;
        } else {
            self.rejected += 1;
        }
        let _ = self.ring.respond(&Response {
            status,
            len,
            tag,
            values,
        });
        // Wake the client if it sleeps in `wfe`, or blocks.
        ulib::wait::wake();
        self.wake_if_sleeping();
    }
}
