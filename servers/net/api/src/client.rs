//! The network service's client library.
//!
//! A task the image connects to the network service (`uses = ["net"]`:
//! xtask gives it a 2 MiB range shared with the network server only)
//! attaches with [`Net::attach`] and then asks for sockets: UDP
//! ([`Net::udp_bind`], [`Net::udp_send`], [`Net::udp_recv`]) and TCP
//! ([`Net::tcp_listen`], [`Net::tcp_accept`], [`Net::tcp_send`],
//! [`Net::tcp_recv`]), and [`Net::close`]s them; [`Net::done`] tells the
//! server it is finished. No system call on the way: a request is one ring
//! slot, its data goes through the range's data buffer, the answer is one
//! response slot. This library keeps one request outstanding at a time
//! (its data at the buffer's start); a client that wants more in flight
//! sends raw requests ([`Net::send_raw`]) with windows of its own.
//!
//! **Connecting and restarts** are the block library's (docs/block.md): a
//! new server instance fails the outstanding call with
//! [`Error::Restarted`] once the library has connected to it; sockets do
//! not survive a restart (the caller binds or listens again).

use crate::{Ctrl, Endpoint, Handle, Op, CTRL_OFFSET, DATA_LEN, DATA_OFFSET, RING_SLOTS};
use crate::{MAX_DATAGRAM, MAX_STREAM_CHUNK};
use core::sync::atomic::Ordering::{Acquire, Release};
use ring::{Client, Region, Request, Response, ResponseError, Status};

/// Why a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The server answered with this status (`crate::status` or
    /// `ring::Status`).
    Status(Status),
    /// The response ring held something a correct server never writes.
    Ring(ResponseError),
    /// A buffer longer than the request allows.
    TooLong,
    /// The ring's region could not be laid out (a build error).
    Layout,
    /// The server restarted: the request outstanding was lost and every
    /// socket with it. The client is connected to the new instance already.
    Restarted,
    /// The server did not answer a connection in time.
    NoServer,
    /// The server withdrew its `welcome` (this client flooded its ring):
    /// [`Net::connect`] starts again.
    Disconnected,
    /// The image does not connect this task to the network service.
    NotConnected,
}

ulib::bind! {
    /// This task's connection to the network service, if the image gives
    /// it one (`uses = ["net"]`).
    static NET: Client = "net";
}

/// Polls of the response ring before sleeping in `wfe` (and checking the
/// server's epoch and welcome).
const SPINS: u32 = 1000;
/// How long (counter seconds) to wait for a server to answer `hello`: a
/// restarted server first sets its device up again.
#[cfg(target_arch = "aarch64")]
const CONNECT_TIMEOUT_S: u64 = 10;
/// Off aarch64 (host tests), the same bound as a number of polls.
#[cfg(not(target_arch = "aarch64"))]
const CONNECT_POLLS: u64 = 1 << 32;

/// A deadline for [`Net::connect`]: `expired()` once it has passed.
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
/// Wakes the server if it sleeps in `wfe` (a no-op off aarch64, where the
/// host tests run).
fn wake_server() {
    ring::waiting::wake();
}

/// One client's connection to the network server.
pub struct Net {
    ctrl: &'static Ctrl,
    region: Region<'static>,
    ring: Client<'static>,
    data: *mut u8,
    next_tag: u64,
    /// The server's epoch when this client last connected.
    epoch: u64,
    /// The `hello` of this connection.
    hello: u64,
}

impl Net {
    /// Attaches to the server through the connection the image gives this
    /// task (`uses = ["net"]`) and connects ([`Net::connect`]);
    /// [`Error::NotConnected`] without one.
    ///
    /// # Safety
    ///
    /// No other `Net` may be made in this task while this one lives (the
    /// connection's range is touched by one `Net` only).
    pub unsafe fn attach() -> Result<Net, Error> {
        let end = NET.get().ok_or(Error::NotConnected)?;
        // Safety: the image links the connection's 2 MiB range read/write
        // at `end.base` in this task for its whole life, shared with the
        // network server only; the caller promises no other `Net` uses it.
        unsafe { Net::at(end.base as *mut u8) }
    }

    /// Attaches through a client range at `base` (what [`Net::attach`]
    /// does with the image's address).
    ///
    /// # Safety
    ///
    /// `base` must be 4 KiB aligned, and `base .. base + RANGE_SIZE` must
    /// be readable and writable for the rest of the program, shared with the
    /// server only, and touched by nothing else here.
    pub unsafe fn at(base: *mut u8) -> Result<Net, Error> {
        // Safety: the caller's promise: the control words are atomics (any
        // bit pattern is valid), 64-byte aligned at the range's start.
        let ctrl = unsafe { &*(base.wrapping_add(CTRL_OFFSET as usize) as *const Ctrl) };
        // Safety: the caller's promise: the ring pair is reached only
        // through `ring` (atomics), the data buffer only by this `Net`.
        let region = unsafe {
            Region::from_raw(
                base.wrapping_add(crate::REGION_OFFSET as usize),
                crate::REGION_LEN,
                RING_SLOTS,
            )
        }
        .map_err(|_| Error::Layout)?;
        let mut net = Net {
            ctrl,
            region,
            ring: Client::new(region),
            data: base.wrapping_add(DATA_OFFSET as usize),
            next_tag: 1,
            epoch: 0,
            hello: 0,
        };
        net.connect()?;
        Ok(net)
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
            sleep(&self.ring.watch());
        }
    }

    /// Requests sent and not yet answered. A client with several in flight
    /// ([`Net::send_raw`]) keeps this below [`RING_SLOTS`]: `send_raw` on a
    /// full ring would wait for, and drop, a response.
    pub fn outstanding(&self) -> usize {
        self.ring.outstanding()
    }

    /// The next response if one is there, without waiting (for a client
    /// with several requests in flight and other work between them);
    /// restarts and disconnections as [`Net::receive`].
    pub fn poll(&mut self) -> Result<Option<Response>, Error> {
        if self.ring.outstanding() == 0 {
            self.check()?;
            return Ok(None);
        }
        match self.ring.poll() {
            Ok(Some(r)) => Ok(Some(r)),
            Ok(None) => self.check().map(|()| None),
            Err(e) => {
                self.check()?;
                Err(Error::Ring(e))
            }
        }
    }

    /// Sleeps until the server may have answered (a write to the response
    /// ring the exclusive monitor sees, the server's `sev`) or the timer's
    /// event stream ticks: a bounded nap, for a loop around [`Net::poll`].
    pub fn nap(&self) {
        sleep(&self.ring.watch());
    }

    /// Copies `src` into the data buffer at `offset` (cut at its end).
    ///
    /// # Safety
    ///
    /// No request still outstanding may name a window that overlaps
    /// `offset .. offset + src.len()` (the server may be reading or
    /// writing such a window).
    pub unsafe fn write_data(&mut self, offset: usize, src: &[u8]) {
        let n = src.len().min(DATA_LEN.saturating_sub(offset));
        // Safety: `offset + n <= DATA_LEN`, inside the buffer at `data`,
        // which only this `Net` writes on the client's side; the caller
        // promises the server is not using these bytes.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), self.data.add(offset), n) };
    }

    /// Copies bytes from the data buffer at `offset` into `dst` (cut at
    /// the buffer's end); the bytes copied.
    ///
    /// # Safety
    ///
    /// As [`Net::write_data`]: no outstanding request's window overlaps the
    /// bytes read.
    pub unsafe fn read_data(&self, offset: usize, dst: &mut [u8]) -> usize {
        let n = dst.len().min(DATA_LEN.saturating_sub(offset));
        // Safety: `offset + n <= DATA_LEN`, inside the buffer; the caller
        // promises the server no longer writes these bytes.
        unsafe { core::ptr::copy_nonoverlapping(self.data.add(offset), dst.as_mut_ptr(), n) };
        n
    }

    /// One request and its response, whatever its status (for tests of
    /// the server's checks).
    pub fn call(&mut self, req: &Request) -> Result<Response, Error> {
        self.send_raw(req)?;
        self.receive()
    }

    /// One request with a window of `len` bytes at the buffer's start;
    /// the response if its status is OK.
    fn request(&mut self, op: Op, len: usize, args: [u64; 4]) -> Result<Response, Error> {
        let tag = self.next_tag;
        self.next_tag += 1;
        let r = self.call(&Request {
            opcode: op as u32,
            len: len as u32,
            tag,
            offset: 0,
            args,
        })?;
        if r.status != Status::OK {
            return Err(Error::Status(r.status));
        }
        Ok(r)
    }

    /// Copies `src` to the data buffer's start.
    fn put(&mut self, src: &[u8]) {
        let n = src.len().min(DATA_LEN);
        // Safety: the data buffer is DATA_LEN bytes at `data`, written only
        // by this `Net`; no request is outstanding (one at a time), so the
        // server is not reading it.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), self.data, n) };
    }

    /// Copies `n` bytes from the data buffer's start into `dst`.
    fn get(&self, dst: &mut [u8], n: usize) -> usize {
        let n = n.min(dst.len()).min(DATA_LEN);
        // Safety: the window the server answered (it no longer writes it:
        // no request is outstanding), inside the DATA_LEN-byte buffer.
        unsafe { core::ptr::copy_nonoverlapping(self.data, dst.as_mut_ptr(), n) };
        n
    }

    /// A UDP socket bound to `port`.
    pub fn udp_bind(&mut self, port: u16) -> Result<Handle, Error> {
        let r = self.request(Op::UdpBind, 0, [u64::from(port), 0, 0, 0])?;
        Ok(Handle(r.values[0]))
    }

    /// Sends `data` (at most [`MAX_DATAGRAM`] bytes) as one datagram.
    pub fn udp_send(&mut self, s: Handle, to: Endpoint, data: &[u8]) -> Result<(), Error> {
        if data.len() > MAX_DATAGRAM {
            return Err(Error::TooLong);
        }
        self.put(data);
        let args = [s.0, to.addr_word(), u64::from(to.port), 0];
        self.request(Op::UdpSend, data.len(), args).map(|_| ())
    }

    /// Waits for one datagram; returns its bytes copied into `buf` (a
    /// longer datagram is cut) and its source.
    pub fn udp_recv(&mut self, s: Handle, buf: &mut [u8]) -> Result<(usize, Endpoint), Error> {
        let len = buf.len().min(DATA_LEN);
        let r = self.request(Op::UdpRecv, len, [s.0, 0, 0, 0])?;
        let from = Endpoint::from_words(r.values[0], r.values[1])
            .ok_or(Error::Status(Status::BAD_SEQUENCE))?;
        Ok((self.get(buf, r.len as usize), from))
    }

    /// A TCP listener on `port` holding up to `backlog` pending connections.
    pub fn tcp_listen(&mut self, port: u16, backlog: u64) -> Result<Handle, Error> {
        let r = self.request(Op::TcpListen, 0, [u64::from(port), backlog, 0, 0])?;
        Ok(Handle(r.values[0]))
    }

    /// A TCP listener on `port` that shares the port with other clients'
    /// shared listeners (one worker per core on one port): a connection
    /// goes to whichever listener's socket the stack finds listening first.
    pub fn tcp_listen_shared(&mut self, port: u16, backlog: u64) -> Result<Handle, Error> {
        let r = self.request(Op::TcpListen, 0, [u64::from(port), backlog, 1, 0])?;
        Ok(Handle(r.values[0]))
    }

    /// Waits for the next connection of `listener`.
    pub fn tcp_accept(&mut self, listener: Handle) -> Result<(Handle, Endpoint), Error> {
        let r = self.request(Op::TcpAccept, 0, [listener.0, 0, 0, 0])?;
        let peer = Endpoint::from_words(r.values[1], r.values[2])
            .ok_or(Error::Status(Status::BAD_SEQUENCE))?;
        Ok((Handle(r.values[0]), peer))
    }

    /// Sends all of `data` on connection `s`.
    pub fn tcp_send(&mut self, s: Handle, mut data: &[u8]) -> Result<(), Error> {
        while !data.is_empty() {
            let n = data.len().min(MAX_STREAM_CHUNK);
            self.put(&data[..n]);
            let r = self.request(Op::TcpSend, n, [s.0, 0, 0, 0])?;
            let took = (r.len as usize).min(n);
            if took == 0 {
                return Err(Error::Status(Status::BAD_SEQUENCE));
            }
            data = &data[took..];
        }
        Ok(())
    }

    /// Waits for data on connection `s`; the bytes copied into `buf`, 0
    /// once the peer closed its side and everything was read.
    pub fn tcp_recv(&mut self, s: Handle, buf: &mut [u8]) -> Result<usize, Error> {
        let len = buf.len().min(MAX_STREAM_CHUNK);
        if len == 0 {
            return Err(Error::TooLong);
        }
        let r = self.request(Op::TcpRecv, len, [s.0, 0, 0, 0])?;
        Ok(self.get(buf, r.len as usize))
    }

    /// Closes socket `s` (a connection sends FIN after what is queued).
    pub fn close(&mut self, s: Handle) -> Result<(), Error> {
        self.request(Op::Close, 0, [s.0, 0, 0, 0]).map(|_| ())
    }

    /// Tells the server this client is done: its sockets are closed and its
    /// ring is not read again (until it connects again).
    pub fn done(&mut self) -> Result<(), Error> {
        self.request(Op::Done, 0, [0; 4]).map(|_| ())
    }
}
