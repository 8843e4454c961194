//! [`Local`]: the socket calls over this task's own stack, and [`attach`],
//! which picks the configuration the server offers.

use crate::link::Link;
use crate::pipe::{Pipe, PIPE_OFFSET};
use conn::client::{Conn, Error};
use core::sync::atomic::AtomicU8;
use net_api::client::Net;
use net_api::frames::{self, FrameOp};
use net_api::{Endpoint, Handle, Sockets, MAX_DATAGRAM, MAX_STREAM_CHUNK};
use net_stack::Stack;
use ring::{BufRange, Request, SharedBuf, Status};

/// This task's one client index in its own stack.
pub(crate) const ME: usize = 0;
/// Turns of the loop with nothing done before it sleeps in `wfe`.
const IDLE_SPINS: u32 = 16;
/// How long (milliseconds) `done` lets closing connections finish.
const LINGER_MS: i64 = 2000;

/// The bytes between the caller's buffers and the stack (whose calls
/// take windows of a `SharedBuf`, as the server's do).
static BOUNCE: [AtomicU8; MAX_STREAM_CHUNK] = [const { AtomicU8::new(0) }; MAX_STREAM_CHUNK];

/// A connection to the network service in whichever configuration its
/// server runs.
#[allow(clippy::large_enum_variant)] // one per task, made once
pub enum Any {
    /// Configuration 1: the server's stack.
    Remote(Net),
    /// Configuration 2: this task's stack over raw frames.
    Local(Local),
}

/// This task's connection to the network service (`uses = ["net"]`), in
/// the configuration the server's welcome offers.
///
/// # Safety
///
/// Call once: the connection's range is touched by the one connection this
/// makes, and [`Local`] takes the task's socket storage.
pub unsafe fn attach() -> Result<Any, Error> {
    // Safety: the caller's promise.
    let conn = unsafe { net_api::client::attach_conn() }?;
    if conn.mode() == net_api::MODE_FRAMES {
        // Safety: the caller's promise (once per task).
        Ok(Any::Local(unsafe { Local::new(conn) }?))
    } else {
        Ok(Any::Remote(Net::from_conn(conn)?))
    }
}

/// The socket calls over this task's own stack.
pub struct Local {
    pub(crate) stack: Stack<Link>,
    buf: SharedBuf<'static>,
    idle: u32,
    /// The requests in flight of `net_api::Pipelined` (crate::pipe).
    pub(crate) pipe: Pipe,
    /// The windows those requests name: the connection's data buffer
    /// after the link's slots.
    pub(crate) window_buf: SharedBuf<'static>,
}

/// A window of `len` bytes at the bounce buffer's start.
fn window(len: usize) -> BufRange {
    let len = len.min(MAX_STREAM_CHUNK);
    BufRange::check(0, len as u32, MAX_STREAM_CHUNK).expect("no longer than the bounce buffer")
}

impl Local {
    /// The stack over `conn`, a connection to a raw-frame server: asks the
    /// server for this client's addresses and starts the stack.
    ///
    /// # Safety
    ///
    /// Once per task: the stack takes the task's socket storage.
    pub unsafe fn new(mut conn: Conn) -> Result<Local, Error> {
        if conn.mode() != net_api::MODE_FRAMES {
            return Err(Error::OtherMode);
        }
        let tag = conn.tag();
        let r = conn.call(&Request {
            opcode: FrameOp::Info as u32,
            len: 0,
            tag,
            offset: 0,
            args: [0; 4],
        })?;
        if r.status != Status::OK {
            return Err(Error::Status(r.status));
        }
        let mac = frames::mac_of(r.values[0]);
        let addr = (r.values[1] as u32).to_be_bytes();
        let len = conn.data_len().saturating_sub(PIPE_OFFSET);
        // Safety: the connection's data buffer is `data_len()` bytes at
        // `data()`, mapped read/write for the task's life (the image's
        // range); the link touches only its first PIPE_OFFSET bytes, and
        // the rest is reached only through this buffer (byte-atomically).
        let window_buf = unsafe { SharedBuf::from_raw(conn.data().add(PIPE_OFFSET), len) };
        let stack = Stack::new(Link::new(conn), mac, addr);
        Ok(Local {
            stack,
            buf: SharedBuf::new(&BOUNCE),
            idle: 0,
            pipe: Pipe::new(),
            window_buf,
        })
    }

    /// The link's frame counts.
    pub fn counts(&self) -> crate::link::Counts {
        self.stack.dev.counts
    }

    /// One turn: frames in and out, the stack's timers.
    fn turn(&mut self) -> Result<(), Error> {
        let mut busy = self.stack.dev.pump();
        busy |= self.stack.poll();
        busy |= self.stack.dev.pump();
        if let Some(e) = self.stack.dev.error.take() {
            return Err(e);
        }
        self.idle = if busy { 0 } else { self.idle + 1 };
        if self.idle > IDLE_SPINS {
            self.rest();
        } else if !busy {
            ulib::wait::relax();
        }
        Ok(())
    }

    /// Nothing to do: blocks in the kernel on the connection's wake
    /// notification until the server answers (a frame in, a send done), if
    /// no timer of the stack is due (`Stack::may_block`: the kernel has no
    /// timed wait); otherwise sleeps in `wfe` until an event (the server's
    /// `sev` after an answer, the timer's event stream, which runs the
    /// stack's timers), as it does while frames the link took wait for the
    /// stack. The caller looks again after either.
    pub(crate) fn rest(&mut self) {
        if !self.stack.dev.unread() && self.stack.may_block() {
            self.stack.dev.conn().sleep();
        } else {
            ulib::wait::wfe();
        }
    }

    /// Runs the stack until `f` has an answer.
    fn until<T>(
        &mut self,
        mut f: impl FnMut(&mut Stack<Link>, &SharedBuf<'static>) -> Result<Option<T>, Status>,
    ) -> Result<T, Error> {
        loop {
            if let Some(x) = f(&mut self.stack, &self.buf).map_err(Error::Status)? {
                return Ok(x);
            }
            self.turn()?;
        }
    }
}

impl Sockets for Local {
    fn udp_bind(&mut self, port: u16) -> Result<Handle, Error> {
        self.stack.udp_bind(ME, port).map_err(Error::Status)
    }

    fn udp_send(&mut self, s: Handle, to: Endpoint, data: &[u8]) -> Result<(), Error> {
        if data.is_empty() || data.len() > MAX_DATAGRAM {
            return Err(Error::BadLength);
        }
        let w = window(data.len());
        self.buf.copy_in(w, data);
        self.until(|st, buf| st.udp_send(ME, s, to, buf, w))?;
        // Out on the wire before the caller goes on.
        self.turn()
    }

    fn udp_recv(&mut self, s: Handle, buf: &mut [u8]) -> Result<(usize, Endpoint), Error> {
        let w = window(buf.len());
        let (n, from, _) = self.until(|st, b| st.udp_recv(ME, s, b, w))?;
        Ok((self.buf.copy_out(window(n), buf).unwrap_or(0), from))
    }

    fn tcp_listen(&mut self, port: u16, backlog: u64) -> Result<Handle, Error> {
        if backlog == 0 || backlog > net_api::MAX_BACKLOG {
            return Err(Error::Status(net_api::status::BAD_ARGUMENT));
        }
        // One client owns this stack: nobody to share a port with.
        self.stack
            .tcp_listen(ME, port, backlog as usize, false)
            .map_err(Error::Status)
    }

    fn tcp_accept(&mut self, listener: Handle) -> Result<(Handle, Endpoint), Error> {
        self.until(|st, _| st.tcp_accept(ME, listener))
    }

    fn tcp_send(&mut self, s: Handle, mut data: &[u8]) -> Result<(), Error> {
        while !data.is_empty() {
            let n = data.len().min(MAX_STREAM_CHUNK);
            let w = window(n);
            self.buf.copy_in(w, &data[..n]);
            let took = self.until(|st, buf| st.tcp_send(ME, s, buf, w))?.min(n);
            if took == 0 {
                return Err(Error::Status(Status::BAD_SEQUENCE));
            }
            data = &data[took..];
        }
        self.turn()
    }

    fn tcp_recv(&mut self, s: Handle, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Err(Error::BadLength);
        }
        let w = window(buf.len());
        let n = self.until(|st, b| st.tcp_recv(ME, s, b, w))?;
        Ok(self.buf.copy_out(window(n), buf).unwrap_or(0).min(n))
    }

    fn tcp_connect(&mut self, to: Endpoint) -> Result<Handle, Error> {
        // As the server's `validate`: neither address nor port 0.
        if to.port == 0 || to.addr == [0; 4] {
            return Err(Error::Status(net_api::status::BAD_ARGUMENT));
        }
        let h = self.stack.tcp_connect(ME, to).map_err(Error::Status)?;
        // The SYN on its way before the caller goes on.
        self.turn()?;
        Ok(h)
    }

    fn close(&mut self, s: Handle) -> Result<(), Error> {
        self.stack.close(ME, s).map_err(Error::Status)?;
        self.turn()
    }

    fn done(&mut self) -> Result<(), Error> {
        let _ = self.stack.drop_client(ME, true);
        // Let closing connections finish their handshakes, bounded.
        let until = net_stack::now().total_millis() + LINGER_MS;
        while (!self.stack.quiet() || self.stack.dev.sending())
            && net_stack::now().total_millis() < until
        {
            self.turn()?;
        }
        let conn = self.stack.dev.conn();
        let tag = conn.tag();
        conn.send_raw(&Request {
            opcode: FrameOp::Done as u32,
            len: 0,
            tag,
            offset: 0,
            args: [0; 4],
        })?;
        // Receive buffers still posted are never answered: wait for this
        // tag only.
        loop {
            let r = conn.receive()?;
            if r.tag == tag {
                return if r.status == Status::OK {
                    Ok(())
                } else {
                    Err(Error::Status(r.status))
                };
            }
        }
    }
}
