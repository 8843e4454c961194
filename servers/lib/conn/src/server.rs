//! A server's side: [`Peer`], one client as the server sees it (its ring
//! pair, which `ring` validates, its control words, its data buffer, its
//! counts), and [`Clients`], the table of them a server makes from its
//! `Server` binding, with the clients' exit signals. A serving loop calls,
//! per client and pass, [`Clients::turn`] (connections and ends), then
//! [`Peer::next`] for requests, and [`Idle::pass`] at the end of a pass.

use crate::{Ctrl, Layout, CTRL_OFFSET, MAX_CLIENTS};
use core::sync::atomic::AtomicU64;
use ring::{Incoming, Region, RequestError, Response, Server, SharedBuf, Status};
use ulib::bind::ServerEnd;
use ulib::ends::Ends;

/// Refusals printed per client (the rest are counted).
pub const REPORTED: u64 = 8;

/// One client as the server sees it.
pub struct Peer<Op> {
    /// Its index among the service's clients (its exit signal's bit).
    pub index: usize,
    /// Its control words.
    pub ctrl: &'static Ctrl,
    region: Region<'static>,
    /// Its ring pair, server side.
    pub ring: Server<'static, Op>,
    data: *mut u8,
    data_len: usize,
    /// The `hello` of the connection served (0: none yet).
    pub hello: u64,
    /// Whether the ring is read: connected and not disconnected (a flood).
    pub connected: bool,
    /// Whether the client said it is done (or ended).
    pub closed: bool,
    /// Requests answered OK.
    pub served: u64,
    /// Requests refused.
    pub rejected: u64,
    /// Connections after the first one this instance served.
    pub reconnects: u64,
    /// The client's wake notification (signalled when it sleeps).
    pub wake: Option<ulib::CPtr>,
    /// The mode word published with every welcome ([`Clients::attach`]).
    mode: u64,
}

/// What [`Peer::next`] found in the ring.
pub enum Next<Op> {
    /// A request `ring` decoded (opcode known, window inside the buffer).
    Request(Incoming<Op>),
    /// Nothing new.
    Empty,
    /// A malformed request, answered with its error status (and counted).
    Refused,
    /// The client wrote past its credit: disconnected until it connects
    /// again (its welcome withdrawn).
    Flooded,
}

/// What changed for a client at the start of a pass ([`Clients::turn`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Turn {
    /// It ended without saying it was done (its exit signal): it is now
    /// closed and disconnected; the server drops what it held.
    pub ended: bool,
    /// It (re)connected: its rings are fresh; the server drops what its
    /// earlier connection held.
    pub connected: bool,
}

impl<Op: TryFrom<u32> + Copy> Peer<Op> {
    /// Client `index`, whose range is at `base` in this task, laid out as
    /// `layout`.
    ///
    /// # Safety
    ///
    /// That range must be linked read/write in this task for its whole life,
    /// and this must be the only `Peer` made for `index`.
    pub unsafe fn attach(base: u64, index: usize, layout: Layout) -> Option<Peer<Op>> {
        if !layout.fits(crate::RANGE_SIZE as usize) {
            return None;
        }
        // Safety: the caller promises the range is linked RW for the task's
        // life; the control words are atomics at its (page-aligned) start.
        let ctrl = unsafe { &*((base + CTRL_OFFSET) as *const Ctrl) };
        // Safety: the caller promises the range is linked RW for the task's
        // life; `ring` reaches it only atomically.
        let region = unsafe {
            Region::from_raw(
                (base as usize + layout.region_offset) as *mut u8,
                layout.region_len(),
                layout.slots,
            )
        }
        .ok()?;
        // A client that closed its connection under an earlier instance
        // (`closed` = that connection's `hello`) is not waited for again.
        let closed = ctrl.closed_hello();
        Some(Peer {
            index,
            ctrl,
            region,
            ring: Server::new(region, layout.data_len),
            data: (base as usize + layout.data_offset) as *mut u8,
            data_len: layout.data_len,
            hello: closed.unwrap_or(0),
            connected: false,
            closed: closed.is_some(),
            served: 0,
            rejected: 0,
            reconnects: 0,
            wake: None,
            mode: 0,
        })
    }

    /// The data buffer, byte-atomic (the client may write it at any time):
    /// reached only through windows `ring` checked. A server uses this
    /// view or [`Peer::words`], never both.
    pub fn buf(&self) -> SharedBuf<'static> {
        // Safety: `attach`'s promise: the data buffer is `data_len` bytes
        // inside the range, linked RW for the task's life; it is reached
        // only atomically (the client's concurrent writes are expected).
        unsafe { SharedBuf::from_raw(self.data, self.data_len) }
    }

    /// The data buffer as 64-bit words (`data_len` is a multiple of 8 at a
    /// page-aligned address), for servers that copy a word at a time.
    pub fn words(&self) -> &'static [AtomicU64] {
        // Safety: `attach`'s promise: the buffer lies inside the range,
        // linked RW for the task's life, 8-byte aligned (a page boundary
        // plus the layout's offset, a multiple of 64); AtomicU64 accepts
        // every bit pattern and allows the client's concurrent writes; only
        // atomic loads and stores reach it.
        unsafe { core::slice::from_raw_parts(self.data as *const AtomicU64, self.data_len / 8) }
    }

    /// A `hello` this server has not answered: drops the earlier
    /// connection (the caller forgets its requests), clears the rings,
    /// starts afresh and publishes `welcome`. Whether it did.
    pub fn connect(&mut self) -> bool {
        let Some(hello) = self.ctrl.new_hello(self.hello) else {
            return false;
        };
        if self.hello != 0 {
            self.reconnects += 1;
        }
        self.region.clear();
        self.ring = Server::new(self.region, self.data_len);
        (self.hello, self.connected, self.closed) = (hello, true, false);
        self.ctrl.welcome(hello, self.mode);
        ulib::wait::wake();
        true
    }

    /// Stops reading the ring and withdraws the `welcome` (a flood): the
    /// client must connect again.
    pub fn disconnect(&mut self) {
        self.connected = false;
        self.ctrl.withdraw();
        ulib::wait::wake();
        self.wake_if_sleeping();
    }

    /// Signals the wake notification if the client said it is blocked
    /// there.
    pub fn wake_if_sleeping(&self) {
        if self.ctrl.take_sleeper() {
            self.signal_wake();
        }
    }

    /// Signals the wake notification whether or not the client sleeps.
    pub fn signal_wake(&self) {
        if let Some(w) = self.wake {
            let _ = ulib::cap::signal(w, 1);
        }
    }

    /// The client said it is done on this connection: remembered in the
    /// control words, so a restarted server does not wait for it again.
    pub fn close(&mut self) {
        self.closed = true;
        self.ctrl.close(self.hello);
    }

    /// Whether the server still waits for this client (not done, not
    /// ended).
    pub fn is_open(&self) -> bool {
        !self.closed
    }

    /// Whether its ring is read now.
    pub fn is_serving(&self) -> bool {
        !self.closed && self.connected
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

    /// Answers a request the service's own validation refused with `st`
    /// (and `values`), printing the first [`REPORTED`] refusals.
    pub fn refuse(&mut self, name: &str, req: &Incoming<Op>, st: Status, values: [u64; 5])
    where
        Op: core::fmt::Debug,
    {
        if self.rejected < REPORTED {
            ulib::println!(
                "{} server: client {}: {:?} refused with status {:#x}",
                name,
                self.index,
                req.opcode,
                st.0
            );
        }
        self.answer(req.tag, st, 0, values);
    }

    /// The next request of the ring, if any. Malformed ones are answered
    /// (`ring` did) and counted; a flood disconnects the client.
    pub fn next(&mut self, name: &str) -> Next<Op> {
        match self.ring.poll() {
            Ok(None) => Next::Empty,
            Ok(Some(req)) => Next::Request(req),
            Err(RequestError::Flood) => {
                self.rejected += 1;
                ulib::println!(
                    "{} server: client {}: floods its ring; disconnected until it connects again",
                    name,
                    self.index
                );
                self.disconnect();
                Next::Flooded
            }
            Err(e) => {
                // `ring` answered it: the client may be asleep for that
                // answer.
                self.wake_if_sleeping();
                self.rejected += 1;
                if self.rejected <= REPORTED {
                    ulib::println!(
                        "{} server: client {}: request refused: {:?}",
                        name,
                        self.index,
                        e
                    );
                }
                Next::Refused
            }
        }
    }
}

/// A server's clients: one [`Peer`] per client the image connects, and
/// their exit signals.
pub struct Clients<Op> {
    peers: [Option<Peer<Op>>; MAX_CLIENTS],
    count: usize,
    /// This instance's epoch (1 for the first).
    pub epoch: u64,
    /// The clients' exit signals (`SERVICE.ends`).
    pub ends: Ends,
    /// The server's wake notification (`SERVICE.wake`): it blocks there.
    wake: Option<ulib::CPtr>,
}

impl<Op: TryFrom<u32> + Copy> Clients<Op> {
    /// The clients of `service` (a `Server` binding), each range laid out
    /// as `layout`, each welcome offering `mode` (`Ctrl::mode`); starts a new instance: bumps every client's epoch
    /// and signals every wake notification (a client blocked on the
    /// instance before must see the new epoch).
    ///
    /// # Safety
    ///
    /// `service` must be this task's `Server` binding (the image links each
    /// client's range at its base for the task's whole life), and no other
    /// `Clients` or `Peer` may be made from it.
    pub unsafe fn attach(service: &ServerEnd, layout: Layout, mode: u64) -> Clients<Op> {
        let mut peers = [const { None }; MAX_CLIENTS];
        let count = service.clients().len().min(MAX_CLIENTS);
        for (p, peer) in peers.iter_mut().zip(service.clients()) {
            // Safety: the caller's promise: the image links client
            // `peer.index`'s range at `peer.base` for the task's life; one
            // Peer per index.
            *p = unsafe { Peer::attach(peer.base, peer.index, layout) };
            if let Some(p) = p.as_mut() {
                p.wake = peer.wake;
                p.mode = mode;
            }
        }
        let epoch = peers[..count]
            .iter()
            .flatten()
            .map(|c: &Peer<Op>| c.ctrl.epoch.load(core::sync::atomic::Ordering::Acquire))
            .max()
            .unwrap_or(0)
            + 1;
        for c in peers[..count].iter().flatten() {
            c.ctrl
                .epoch
                .store(epoch, core::sync::atomic::Ordering::Release);
            c.signal_wake();
        }
        Clients {
            peers,
            count,
            epoch,
            ends: Ends::new(service.ends),
            wake: service.wake,
        }
    }

    /// Whether the server can block in the kernel: the image gave it a
    /// wake notification that its clients signal.
    pub fn can_block(&self) -> bool {
        self.wake.is_some()
    }

    /// Says in every client's control words that the server is about to
    /// block (each store fenced before the pass that follows).
    fn begin_sleep(&self) {
        for c in self.iter() {
            c.ctrl.begin_server_sleep();
        }
    }

    /// The server no longer blocks.
    fn end_sleep(&self) {
        for c in self.iter() {
            c.ctrl.end_server_sleep();
        }
    }

    /// How many clients the image connects.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the image connects none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Client `ci`.
    pub fn get(&mut self, ci: usize) -> Option<&mut Peer<Op>> {
        self.peers[..self.count].get_mut(ci)?.as_mut()
    }

    /// Every client.
    pub fn iter(&self) -> impl Iterator<Item = &Peer<Op>> {
        self.peers[..self.count].iter().flatten()
    }

    /// Requests answered OK, all clients.
    pub fn served(&self) -> u64 {
        self.iter().map(|c| c.served).sum()
    }

    /// Client `ci`'s turn in a pass: its end (exit signal) if it ended
    /// without saying it was done, then a new `hello`. What changed is the
    /// caller's to act on (drop what the client held).
    pub fn turn(&mut self, ci: usize) -> Option<(&mut Peer<Op>, Turn)> {
        let c = self.peers[..self.count].get_mut(ci)?.as_mut()?;
        let ends = &mut self.ends;
        if c.ctrl.new_hello(c.hello).is_some() {
            ends.reconnecting(c.index);
        }
        let mut turn = Turn::default();
        if ends.any() && ends.take(c.index) && !c.closed {
            // Ended without closing (the kernel's exit signal): closed in
            // its control words too, so a restarted server does not wait
            // for it either.
            c.connected = false;
            c.close();
            turn.ended = true;
        }
        turn.connected = c.connect();
        Some((c, turn))
    }

    /// Ends the pass over the clients: ends signalled for indices with no
    /// client are forgotten.
    pub fn end_pass(&mut self) {
        self.ends.retain((1u64 << self.count) - 1);
    }

    /// The summary lines, one per client.
    pub fn report(&self, name: &str) {
        for c in self.iter() {
            ulib::println!(
                "{} server: client {}: {} requests served, {} refused, {} reconnections",
                name,
                c.index,
                c.served,
                c.rejected,
                c.reconnects
            );
        }
    }
}

/// A serving loop's pacing when there is nothing to do: a few polls with
/// `yield`; then, if the server may block ([`Clients::can_block`] and the
/// caller's `block`), it says so in every client's control words, makes
/// one more whole pass (a request published before the flag was seen is
/// found there), and blocks on its wake notification until a client, a
/// client's end or the device's interrupt signals it. Otherwise (off the
/// fast path) one look at the clients' exit signals and a sleep in `wfe`
/// until an event (a client's `sev`, the timer's event stream).
#[derive(Default)]
pub struct Idle {
    polls: u32,
    /// The flag is set in every client's control words: this pass is the
    /// last before blocking.
    announced: bool,
}

/// Idle polls before the server sleeps.
const IDLE_SPINS: u32 = 16;

/// How a server may wait when it has nothing to do ([`Idle::pass`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Poll, then sleep in `wfe` (its device has work in it and does not
    /// deliver its interrupt: only polling sees it finish).
    Poll,
    /// Poll a few times, then block on the wake notification.
    Block,
    /// Block on the wake notification after one more pass, without polls:
    /// its device has work in it and its interrupt will say when it is
    /// done, so polls meanwhile would only burn the core (and, under
    /// emulation, count host I/O time as instructions).
    BlockNow,
}

/// What [`Idle::pass`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slept {
    /// It polled, yielded or slept in `wfe`.
    No,
    /// It blocked in the kernel and was woken (by a client, an end or the
    /// device's interrupt): the caller re-arms its device's interrupt.
    Blocked,
}

impl Idle {
    /// The end of one pass of the loop; `busy`: it did something;
    /// `pace`: whether and when it may block in the kernel.
    pub fn pass<Op: TryFrom<u32> + Copy>(
        &mut self,
        busy: bool,
        clients: &mut Clients<Op>,
        pace: Pace,
    ) -> Slept {
        let (block, now) = match pace {
            Pace::Poll => (false, false),
            Pace::Block => (true, false),
            Pace::BlockNow => (true, true),
        };
        if busy {
            if self.announced {
                clients.end_sleep();
                self.announced = false;
            }
            self.polls = 0;
            return Slept::No;
        }
        self.polls += 1;
        if self.polls <= IDLE_SPINS && !now {
            ulib::wait::relax();
            return Slept::No;
        }
        match clients.wake {
            Some(wake) if block => {
                if !self.announced {
                    clients.begin_sleep();
                    self.announced = true;
                    return Slept::No;
                }
                #[cfg(target_arch = "aarch64")]
                let _ = ulib::cap::wait(wake);
                #[cfg(not(target_arch = "aarch64"))]
                let _ = wake;
                clients.end_sleep();
                self.announced = false;
                self.polls = 0;
                // An end is signalled on both notifications: take it now.
                clients.ends.poll();
                Slept::Blocked
            }
            _ => {
                if self.announced {
                    clients.end_sleep();
                    self.announced = false;
                }
                // Off the fast path: a system call only before sleeping.
                clients.ends.poll();
                ulib::wait::wfe();
                Slept::No
            }
        }
    }
}
