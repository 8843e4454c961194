//! One client as the server sees it: its ring pair (`ring::Server`, which
//! validates opcodes and buffer windows), its data buffer as a
//! `ring::SharedBuf` (byte-atomic: the client may write it at any time;
//! reached only through checked windows), its control words
//! (`net_api::Ctrl`: connecting, epochs), the requests it has waiting
//! (a receive until data arrives), and counts.

use core::sync::atomic::Ordering::{Acquire, Release};
use net_api::{Checked, Ctrl, Op, CTRL_OFFSET, DATA_LEN, DATA_OFFSET, RING_SLOTS};
use ring::{Region, Response, Server, SharedBuf, Status};

/// A request the server holds until it can be answered.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    /// Arrival order, for answering in order.
    pub seq: u64,
    pub tag: u64,
    pub req: Checked,
}

pub struct Client {
    pub index: usize,
    pub ctrl: &'static Ctrl,
    region: Region<'static>,
    pub ring: Server<'static, Op>,
    pub buf: SharedBuf<'static>,
    /// Requests waiting (at most the ring's slots: the ring stops giving
    /// requests while that many are unanswered).
    pub held: [Option<Held>; RING_SLOTS],
    next_seq: u64,
    /// The `hello` of the connection served (0: none yet).
    pub hello: u64,
    /// Whether the ring is read: connected and not disconnected (a flood).
    pub connected: bool,
    pub closed: bool,
    pub served: u64,
    pub rejected: u64,
    /// Connections after the first one this instance served.
    pub reconnects: u64,
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
                (base + net_api::REGION_OFFSET) as *mut u8,
                net_api::REGION_LEN,
                RING_SLOTS,
            )
        }
        .ok()?;
        // Safety: the data buffer is DATA_LEN bytes inside the range the
        // caller promises is linked RW for the task's life; the server
        // reaches it only byte-atomically through SharedBuf (the client's
        // concurrent writes are expected).
        let buf = unsafe { SharedBuf::from_raw((base + DATA_OFFSET) as *mut u8, DATA_LEN) };
        // A client that closed its connection under an earlier instance
        // (`closed` = that connection's `hello`) is not waited for again.
        let hello = ctrl.hello.load(Acquire);
        let closed = hello != 0 && ctrl.closed.load(Acquire) == hello;
        Some(Client {
            index,
            ctrl,
            region,
            ring: Server::new(region, DATA_LEN),
            buf,
            held: [None; RING_SLOTS],
            next_seq: 0,
            hello: if closed { hello } else { 0 },
            connected: false,
            closed,
            served: 0,
            rejected: 0,
            reconnects: 0,
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
        self.held = [None; RING_SLOTS];
        (self.hello, self.connected, self.closed) = (hello, true, false);
        self.ctrl.welcome.store(hello, Release);
        ulib::wait::wake();
        true
    }

    /// Stops reading the ring and withdraws the `welcome` (a flood): the
    /// client must connect again.
    pub fn disconnect(&mut self) {
        self.connected = false;
        self.held = [None; RING_SLOTS];
        self.ctrl.welcome.store(0, Release);
        ulib::wait::wake();
    }

    /// The client sent `Done` on this connection: remembered in the
    /// control words, so a restarted server does not wait for it again.
    pub fn close(&mut self) {
        self.closed = true;
        self.ctrl.closed.store(self.hello, Release);
    }

    /// Holds a request until it can be answered. `false` if every place is
    /// taken (cannot happen: the ring gives at most its slots' worth of
    /// unanswered requests).
    pub fn hold(&mut self, tag: u64, req: Checked) -> bool {
        let Some(h) = self.held.iter_mut().find(|h| h.is_none()) else {
            return false;
        };
        *h = Some(Held {
            seq: self.next_seq,
            tag,
            req,
        });
        self.next_seq += 1;
        true
    }

    /// The held request that came first among those after `after` (by
    /// arrival): its place and the request.
    pub fn next_held(&self, after: Option<u64>) -> Option<(usize, Held)> {
        self.held
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.map(|h| (i, h)))
            .filter(|(_, h)| after.is_none_or(|a| h.seq > a))
            .min_by_key(|(_, h)| h.seq)
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
        // Wake the client if it sleeps in `wfe`.
        ulib::wait::wake();
    }
}
