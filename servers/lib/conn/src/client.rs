//! A client's side of a connection: attach to the range, connect (hello,
//! welcome, epoch), send requests, wait for responses (polling, then
//! sleeping in `wfe` or blocking on the wake notification), and notice a
//! server that restarted or disconnected it. The service's client library
//! (`blk_api::client::Blk`, `net_api::client::Net`) builds its calls on
//! this (it dereferences to its `Conn`) and fails them with [`Error`].

use crate::ctrl::Hello;
use crate::{Ctrl, Layout, CTRL_OFFSET};
use ring::{Client, Region, Request, Response, ResponseError, Status};
use ulib::bind::ClientEnd;

/// Why a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The server answered with this status (the service's own or
    /// `ring::Status`).
    Status(Status),
    /// The response ring held something a correct server never writes.
    Ring(ResponseError),
    /// A buffer of a length the call cannot send: not whole sectors (the
    /// block service), longer than the request allows (the network's).
    BadLength,
    /// The ring's region could not be laid out (a build error).
    Layout,
    /// The server restarted: the requests outstanding were lost (none of
    /// them was answered). The client is connected to the new instance
    /// already.
    Restarted,
    /// The server did not answer a connection in time.
    NoServer,
    /// The server withdrew its `welcome` (this client flooded its ring):
    /// outstanding requests are lost; [`Conn::connect`] starts again.
    Disconnected,
    /// The image does not connect this task to the service.
    NotConnected,
    /// The server offers another mode (`Ctrl::mode`) than this library
    /// speaks (the network service's other configuration).
    OtherMode,
}

/// Polls of the response ring before sleeping (and checking the server's
/// epoch and welcome), unless [`Conn::set_spins`] says otherwise.
pub const SPINS: u32 = 1000;
/// How long (counter seconds) to wait for a server to answer `hello`: a
/// restarted server first sets its device up again.
#[cfg(target_arch = "aarch64")]
const CONNECT_TIMEOUT_S: u64 = 10;
/// Off aarch64 (host tests), the same bound as a number of polls.
#[cfg(not(target_arch = "aarch64"))]
const CONNECT_POLLS: u64 = 1 << 32;

/// A deadline for [`Conn::connect`]: `expired()` once it has passed.
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

/// One client's connection.
pub struct Conn {
    ctrl: &'static Ctrl,
    region: Region<'static>,
    ring: Client<'static>,
    data: *mut u8,
    data_len: usize,
    next_tag: u64,
    /// The connection: its `hello` and the server's epoch then.
    conn: Hello,
    /// What the server offered with its welcome (`Ctrl::mode`).
    mode: u64,
    /// The wake notification it blocks on (none: it sleeps in `wfe`,
    /// keeping its core; host tests, a connection without one).
    wake: Option<ulib::CPtr>,
    /// The server's wake notification (`SERVICE.wake`): signalled after a
    /// request or `hello` when the server said it is blocked.
    server_wake: Option<ulib::CPtr>,
    /// Polls of the response ring before it sleeps ([`SPINS`]).
    spins: u32,
}

impl Conn {
    /// Attaches through the connection `end` the image gives this task (a
    /// service's `Client` binding; [`Error::NotConnected`] without one),
    /// laid out as `layout`, and connects. `block`: a wait that polled long
    /// enough blocks on the connection's wake notification (the core goes
    /// to other tasks) instead of sleeping in `wfe`.
    ///
    /// # Safety
    ///
    /// `end` must be this task's binding of the service (the image links
    /// its range read/write for the task's whole life, shared with the
    /// server only, laid out as `layout`), and no other `Conn` may use it
    /// while this one lives.
    pub unsafe fn attach(
        end: Option<ClientEnd>,
        layout: Layout,
        block: bool,
    ) -> Result<Conn, Error> {
        let end = end.ok_or(Error::NotConnected)?;
        let wake = if block { end.wake } else { None };
        // Safety: the caller's promise about the binding's range.
        unsafe { Conn::at_waking(end.base as *mut u8, layout, wake, end.server_wake) }
    }

    /// Attaches through a client range at `base` laid out as `layout`,
    /// and connects ([`Conn::connect`]). With `wake`, a wait that polled
    /// long enough blocks on that notification instead of sleeping in
    /// `wfe`.
    ///
    /// # Safety
    ///
    /// `base` must be 4 KiB aligned, and `base .. base + RANGE_SIZE` must
    /// be readable and writable for the rest of the program, shared with the
    /// server only, laid out as `layout`, and touched by nothing else here.
    pub unsafe fn at(
        base: *mut u8,
        layout: Layout,
        wake: Option<ulib::CPtr>,
    ) -> Result<Conn, Error> {
        // Safety: the caller's promise, passed on.
        unsafe { Conn::at_waking(base, layout, wake, None) }
    }

    /// [`Conn::at`], with the server's wake notification to signal when
    /// the server sleeps (`server_wake`; none: it is never signalled, the
    /// server must poll).
    ///
    /// # Safety
    ///
    /// As for [`Conn::at`].
    pub unsafe fn at_waking(
        base: *mut u8,
        layout: Layout,
        wake: Option<ulib::CPtr>,
        server_wake: Option<ulib::CPtr>,
    ) -> Result<Conn, Error> {
        if !layout.fits(crate::RANGE_SIZE as usize) {
            return Err(Error::Layout);
        }
        // Safety: the caller's promise: the control words are atomics (any
        // bit pattern is valid), 64-byte aligned at the range's start.
        let ctrl = unsafe { &*(base.wrapping_add(CTRL_OFFSET as usize) as *const Ctrl) };
        // Safety: the caller's promise: the ring pair is reached only
        // through `ring` (atomics), the data buffer only by this `Conn`.
        let region = unsafe {
            Region::from_raw(
                base.wrapping_add(layout.region_offset),
                layout.region_len(),
                layout.slots,
            )
        }
        .map_err(|_| Error::Layout)?;
        let mut conn = Conn {
            ctrl,
            region,
            ring: Client::new(region),
            data: base.wrapping_add(layout.data_offset),
            data_len: layout.data_len,
            next_tag: 1,
            conn: Hello { epoch: 0, hello: 0 },
            mode: 0,
            wake,
            server_wake,
            spins: SPINS,
        };
        conn.connect()?;
        Ok(conn)
    }

    /// The data buffer: `data_len()` bytes the server reads and writes
    /// only inside windows of requests outstanding.
    pub fn data(&self) -> *mut u8 {
        self.data
    }

    /// Bytes of the data buffer.
    pub fn data_len(&self) -> usize {
        self.data_len
    }

    /// What the server offered with its welcome: the service's mode word
    /// (`Ctrl::mode`).
    pub fn mode(&self) -> u64 {
        self.mode
    }

    /// Polls for a response once, without waiting: `None` if none is
    /// there yet. Checks the server's epoch and welcome on garbage, as
    /// [`Conn::receive`] does.
    pub fn try_receive(&mut self) -> Result<Option<Response>, Error> {
        match self.ring.poll() {
            Ok(r) => Ok(r),
            Err(e) => {
                self.check()?;
                Err(Error::Ring(e))
            }
        }
    }

    /// Polls of the response ring before [`Conn::receive`] sleeps (blocks,
    /// with a wake notification); default [`SPINS`]. 0: it sleeps at once
    /// after one poll, so a wait for the device costs the same work however
    /// long the device takes (the storage benchmark's client).
    pub fn set_spins(&mut self, spins: u32) {
        self.spins = spins;
    }

    /// Requests sent and not yet answered.
    pub fn outstanding(&self) -> usize {
        self.ring.outstanding()
    }

    /// Sleeps until the server may have answered (a write to the response
    /// ring the exclusive monitor sees, the server's `sev`) or the timer's
    /// event stream ticks: a bounded nap, for a loop around
    /// [`Conn::try_receive`] with other work between polls.
    pub fn nap(&self) {
        sleep(&self.ring.watch());
    }

    /// Whether [`Conn::sleep`] can block in the kernel: the connection has
    /// a wake notification, which the server signals when it answers a
    /// client that said it sleeps.
    pub fn can_block(&self) -> bool {
        self.wake.is_some()
    }

    /// Blocks in the kernel on the connection's wake notification until
    /// the server answers (it signals a client that said it sleeps), the
    /// server ends, or another task signals that notification; naps in
    /// `wfe` ([`Conn::nap`]) instead when the connection has no wake
    /// notification or nothing is outstanding (no answer would come). The
    /// caller polls again after: this may return with nothing new.
    pub fn sleep(&self) {
        let Some(wake) = self.wake.filter(|_| self.ring.outstanding() > 0) else {
            return self.nap();
        };
        self.ctrl.begin_sleep();
        if !self.ring.watch().changed() {
            #[cfg(target_arch = "aarch64")]
            let _ = ulib::cap::wait(wake);
            #[cfg(not(target_arch = "aarch64"))]
            let _ = wake; // host tests: no kernel; `wake` is never set there
        }
        self.ctrl.end_sleep();
    }

    /// A fresh tag for the next request (1, 2, ... on each connection).
    pub fn tag(&mut self) -> u64 {
        let t = self.next_tag;
        self.next_tag += 1;
        t
    }

    /// (Re)connects: bumps `hello` and waits until the server answers it
    /// with its `welcome` (the server then has cleared the rings and
    /// dropped whatever this client's earlier connection left). Whatever
    /// was outstanding is lost.
    pub fn connect(&mut self) -> Result<(), Error> {
        let mut deadline = Deadline::start();
        loop {
            let h = self.ctrl.send_hello();
            self.wake_server();
            let fresh = loop {
                if let Some(fresh) = self.ctrl.answered(h) {
                    break fresh;
                }
                if deadline.expired() {
                    return Err(Error::NoServer);
                }
                let seen = self
                    .ctrl
                    .welcome
                    .load(core::sync::atomic::Ordering::Acquire);
                if seen != h.hello {
                    ring::waiting::wfe_unless_changed(&self.ctrl.welcome, seen);
                }
            };
            // Answered, but by an instance before a restart: again.
            if fresh {
                self.conn = h;
                self.mode = self.ctrl.mode.load(core::sync::atomic::Ordering::Relaxed);
                self.ring = Client::new(self.region);
                self.next_tag = 1;
                return Ok(());
            }
        }
    }

    /// Whether the server still serves this connection: the same instance
    /// that welcomed it, and its welcome not withdrawn. A new instance means
    /// connecting again at once ([`Error::Restarted`]).
    pub fn check(&mut self) -> Result<(), Error> {
        match self.ctrl.serving(self.conn) {
            Ok(()) => Ok(()),
            Err(true) => {
                self.connect()?;
                Err(Error::Restarted)
            }
            Err(false) => Err(Error::Disconnected),
        }
    }

    /// Whether the server still serves this connection (it withdraws its
    /// `welcome` when it disconnects a client that flooded its ring).
    pub fn is_connected(&self) -> bool {
        self.ctrl.serving(self.conn).is_ok()
    }

    /// Sends any request (a test may send malformed ones); waits for room
    /// in the ring first.
    pub fn send_raw(&mut self, req: &Request) -> Result<(), Error> {
        self.check()?;
        while self.ring.send(req).is_err() {
            // Only reached with a full ring: an answer makes room.
            let _ = self.receive()?;
        }
        self.wake_server();
        Ok(())
    }

    /// After publishing: the server's event (`sev`: a server polling in
    /// `wfe`), and its wake notification if it said it is blocked (one
    /// system call, only then; docs/kernel-cores.md, *Waiting*).
    fn wake_server(&self) {
        ring::waiting::wake();
        if let Some(w) = self.server_wake {
            if self.ctrl.server_sleeps() {
                #[cfg(target_arch = "aarch64")]
                let _ = ulib::cap::signal(w, 1);
                #[cfg(not(target_arch = "aarch64"))]
                let _ = w; // host tests: no kernel; never set there
            }
        }
    }

    /// The next response. Checks the server's epoch and welcome while it
    /// waits: a restart gives [`Error::Restarted`], a disconnection
    /// [`Error::Disconnected`], never a hang.
    pub fn receive(&mut self) -> Result<Response, Error> {
        if self.ring.outstanding() == 0 {
            return Err(Error::Ring(ResponseError::NothingOutstanding));
        }
        loop {
            for _ in 0..self.spins.max(1) {
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
        self.ctrl.begin_sleep();
        match self.ring.poll() {
            Ok(None) => {}
            polled => {
                self.ctrl.end_sleep();
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
        self.ctrl.end_sleep();
        Ok(None)
    }

    /// One request and its response, whatever its status.
    pub fn call(&mut self, req: &Request) -> Result<Response, Error> {
        self.send_raw(req)?;
        self.receive()
    }
}
