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
//! sends raw requests ([`Conn::send_raw`]) with windows of its own.
//!
//! **Connecting and restarts** are the block library's (docs/block.md): a
//! new server instance fails the outstanding call with
//! [`Error::Restarted`] once the library has connected to it; sockets do
//! not survive a restart (the caller binds or listens again).

use crate::{Endpoint, Handle, Op, DATA_LEN};
use crate::{MAX_DATAGRAM, MAX_STREAM_CHUNK};
use conn::client::Conn;
use ring::{Request, Response, Status};

/// Why a call failed: the connection library's errors.
pub use conn::client::Error;

ulib::bind! {
    /// This task's connection to the network service, if the image gives
    /// it one (`uses = ["net"]`).
    static NET: Client = "net";
}

/// This task's connection to the network service (`uses = ["net"]`),
/// connected, whichever configuration the server runs (`Conn::mode`:
/// [`crate::MODE_SOCKETS`], [`crate::MODE_FRAMES`]); a wait that polled
/// long enough blocks in the kernel on the connection's wake notification
/// (the core goes to its other tasks), as block and console clients do.
///
/// # Safety
///
/// No other connection to the service may be made in this task while this
/// one lives (its range is touched by one `Conn` only).
pub unsafe fn attach_conn() -> Result<Conn, Error> {
    // Safety: `NET` is this task's binding of the service (the image links
    // its range for the task's whole life, shared with the server only, in
    // the standard layout); the caller promises no other `Conn` uses it.
    unsafe { Conn::attach(NET.get(), conn::STANDARD, true) }
}

/// One client's connection to the network server.
pub struct Net {
    conn: Conn,
}

/// A `Net` is its connection ([`Conn`]: `connect`, `is_connected`,
/// `send_raw`, `receive`, `call`) with the network service's calls on top.
impl core::ops::Deref for Net {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl core::ops::DerefMut for Net {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Net {
    /// Attaches to the server through the connection the image gives this
    /// task (`uses = ["net"]`) and connects ([`Conn::connect`]);
    /// [`Error::NotConnected`] without one. A wait that polled long enough
    /// blocks on the connection's wake notification.
    ///
    /// # Safety
    ///
    /// No other `Net` may be made in this task while this one lives (the
    /// connection's range is touched by one `Net` only).
    pub unsafe fn attach() -> Result<Net, Error> {
        // Safety: the caller's promise.
        Net::from_conn(unsafe { attach_conn() }?)
    }

    /// The socket calls over `conn`, a connection to a server that offers
    /// them ([`crate::MODE_SOCKETS`]); [`Error::OtherMode`] if it passes
    /// raw frames instead.
    pub fn from_conn(conn: Conn) -> Result<Net, Error> {
        if conn.mode() != crate::MODE_SOCKETS {
            return Err(Error::OtherMode);
        }
        Ok(Net { conn })
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
        // Safety: the caller's promise, and the service's layout is the
        // standard one.
        Net::from_conn(unsafe { Conn::at(base, conn::STANDARD, None) }?)
    }

    /// One request with a window of `len` bytes at the buffer's start;
    /// the response if its status is OK.
    fn request(&mut self, op: Op, len: usize, args: [u64; 4]) -> Result<Response, Error> {
        let tag = self.conn.tag();
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
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), self.conn.data(), n) };
    }

    /// The next response if one is there, without waiting (for a client
    /// with several requests in flight and other work between them);
    /// restarts and disconnections as [`Conn::receive`].
    pub fn poll(&mut self) -> Result<Option<Response>, Error> {
        if self.conn.outstanding() == 0 {
            self.conn.check()?;
            return Ok(None);
        }
        match self.conn.try_receive()? {
            Some(r) => Ok(Some(r)),
            None => self.conn.check().map(|()| None),
        }
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
        // Safety: `offset + n <= DATA_LEN`, inside the buffer at `data()`,
        // which only this `Net` writes on the client's side; the caller
        // promises the server is not using these bytes.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), self.conn.data().add(offset), n) };
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
        unsafe {
            core::ptr::copy_nonoverlapping(self.conn.data().add(offset), dst.as_mut_ptr(), n)
        };
        n
    }

    /// Copies `n` bytes from the data buffer's start into `dst`.
    fn get(&self, dst: &mut [u8], n: usize) -> usize {
        let n = n.min(dst.len()).min(DATA_LEN);
        // Safety: the window the server answered (it no longer writes it:
        // no request is outstanding), inside the DATA_LEN-byte buffer.
        unsafe { core::ptr::copy_nonoverlapping(self.conn.data(), dst.as_mut_ptr(), n) };
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
            return Err(Error::BadLength);
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
            return Err(Error::BadLength);
        }
        let r = self.request(Op::TcpRecv, len, [s.0, 0, 0, 0])?;
        Ok(self.get(buf, r.len as usize))
    }

    /// A TCP connection to `to` (an active open, [`Op::TcpConnect`]): its
    /// handle at once; sends and receives on it wait for the handshake,
    /// and fail with `CLOSED` if the peer refused it or never answered.
    pub fn tcp_connect(&mut self, to: Endpoint) -> Result<Handle, Error> {
        let r = self.request(
            Op::TcpConnect,
            0,
            [to.addr_word(), u64::from(to.port), 0, 0],
        )?;
        Ok(Handle(r.values[0]))
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

impl crate::Sockets for Net {
    fn udp_bind(&mut self, port: u16) -> Result<Handle, Error> {
        Net::udp_bind(self, port)
    }
    fn udp_send(&mut self, s: Handle, to: Endpoint, data: &[u8]) -> Result<(), Error> {
        Net::udp_send(self, s, to, data)
    }
    fn udp_recv(&mut self, s: Handle, buf: &mut [u8]) -> Result<(usize, Endpoint), Error> {
        Net::udp_recv(self, s, buf)
    }
    fn tcp_listen(&mut self, port: u16, backlog: u64) -> Result<Handle, Error> {
        Net::tcp_listen(self, port, backlog)
    }
    fn tcp_accept(&mut self, listener: Handle) -> Result<(Handle, Endpoint), Error> {
        Net::tcp_accept(self, listener)
    }
    fn tcp_send(&mut self, s: Handle, data: &[u8]) -> Result<(), Error> {
        Net::tcp_send(self, s, data)
    }
    fn tcp_recv(&mut self, s: Handle, buf: &mut [u8]) -> Result<usize, Error> {
        Net::tcp_recv(self, s, buf)
    }
    fn tcp_connect(&mut self, to: Endpoint) -> Result<Handle, Error> {
        Net::tcp_connect(self, to)
    }
    fn close(&mut self, s: Handle) -> Result<(), Error> {
        Net::close(self, s)
    }
    fn done(&mut self) -> Result<(), Error> {
        Net::done(self)
    }
}

impl crate::Pipelined for Net {
    fn send_raw(&mut self, req: &Request) -> Result<(), Error> {
        self.conn.send_raw(req)
    }
    fn poll(&mut self) -> Result<Option<Response>, Error> {
        Net::poll(self)
    }
    fn nap(&mut self) {
        self.conn.nap()
    }
    fn sleep(&mut self) {
        self.conn.sleep()
    }
    fn outstanding(&self) -> usize {
        self.conn.outstanding()
    }
    unsafe fn write_data(&mut self, offset: usize, src: &[u8]) {
        // Safety: the caller's promise, the same as `Net::write_data`'s.
        unsafe { Net::write_data(self, offset, src) }
    }
    unsafe fn read_data(&self, offset: usize, dst: &mut [u8]) -> usize {
        // Safety: the caller's promise, the same as `Net::read_data`'s.
        unsafe { Net::read_data(self, offset, dst) }
    }
    fn listen_shared(&mut self, port: u16, backlog: u64) -> Result<Handle, Error> {
        Net::tcp_listen_shared(self, port, backlog)
    }
    fn finish(&mut self) -> Result<(), Error> {
        Net::done(self)
    }
}
