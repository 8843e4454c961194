//! What a client of the network service links (the server,
//! `servers/net/server`, links it too): the socket-level protocol and the
//! client library ([`client`]). No driver code and no TCP/IP stack: in this
//! configuration (docs/network.md, configuration 1) the stack runs on the
//! kernel core beside the driver, and clients ask it for sockets.
//!
//! A client and the server share one 2 MiB range, linked by exactly those
//! two tasks; the image connects them (`uses = ["net"]`, `provides =
//! "net"`) and xtask tells both ends where the range is (their `ulib::bind`
//! bindings). Its layout is the block service's:
//!
//! | offset | bytes | what |
//! | --- | --- | --- |
//! | 0 | 64 | [`Ctrl`] server line: `epoch`, `welcome`, `closed` (written by the server) |
//! | 64 | 64 | [`Ctrl`] client line: `hello`, `sleeping` (written by the client) |
//! | 2 KiB | 2 KiB | the ring pair: [`RING_SLOTS`] request and response slots (`ring::Region`) |
//! | 4 KiB | [`DATA_LEN`] | the client's data buffer; requests name windows of it |
//!
//! Connecting, epochs and `closed` are the connection layer's (`conn`), as
//! in the block service (docs/block.md): the client bumps `hello`, the server answers with
//! `welcome = hello` on fresh rings and drops whatever the earlier
//! connection held (its sockets are closed).
//!
//! Requests ([`Op`]) name sockets by a [`Handle`] the server gave out; a
//! handle is only good on the connection of the client it was given to.
//! [`validate`] is the server's whole check of a request's shape (lengths,
//! ports, reserved arguments); the server then checks the handle against its
//! own socket table.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

pub mod client;
pub mod frames;

use ring::{BufRange, Incoming, Status};

/// The range's layout and control words: the connection layer's standard
/// ones (`servers/lib/conn`), as the block service's.
pub use conn::{
    Ctrl, CTRL_OFFSET, DATA_LEN, DATA_OFFSET, MAX_CLIENTS, RANGE_SIZE, REGION_LEN, REGION_OFFSET,
    RING_SLOTS,
};

/// The mode word of a welcome (`conn::Ctrl::mode`): the server runs the
/// stack and speaks the socket protocol ([`Op`]; configuration 1).
pub const MODE_SOCKETS: u64 = 1;
/// The mode word of a welcome: the server passes raw frames ([`frames`];
/// configuration 2) and the client runs its own stack.
pub const MODE_FRAMES: u64 = 2;

/// The socket calls an application makes, whichever configuration serves
/// them: the server's stack ([`client::Net`]) or the client's own
/// (`net-local`). Each call waits until it can be answered.
pub trait Sockets {
    /// A UDP socket bound to `port`.
    fn udp_bind(&mut self, port: u16) -> Result<Handle, client::Error>;
    /// Sends `data` (at most [`MAX_DATAGRAM`] bytes) as one datagram.
    fn udp_send(&mut self, s: Handle, to: Endpoint, data: &[u8]) -> Result<(), client::Error>;
    /// Waits for one datagram; its bytes copied into `buf` (a longer one
    /// is cut) and its source.
    fn udp_recv(&mut self, s: Handle, buf: &mut [u8]) -> Result<(usize, Endpoint), client::Error>;
    /// A TCP listener on `port` holding up to `backlog` pending connections.
    fn tcp_listen(&mut self, port: u16, backlog: u64) -> Result<Handle, client::Error>;
    /// Waits for the next connection of `listener`.
    fn tcp_accept(&mut self, listener: Handle) -> Result<(Handle, Endpoint), client::Error>;
    /// Sends all of `data` on connection `s`.
    fn tcp_send(&mut self, s: Handle, data: &[u8]) -> Result<(), client::Error>;
    /// Waits for data on connection `s`: bytes copied into `buf`, 0 once
    /// the peer closed its side and everything was read.
    fn tcp_recv(&mut self, s: Handle, buf: &mut [u8]) -> Result<usize, client::Error>;
    /// A TCP connection to `to` (an active open, [`Op::TcpConnect`]): its
    /// handle at once; sends and receives on it wait for the handshake,
    /// and fail with `CLOSED` if the peer refused it or never answered.
    fn tcp_connect(&mut self, to: Endpoint) -> Result<Handle, client::Error>;
    /// Closes socket `s` (a connection sends FIN after what is queued).
    fn close(&mut self, s: Handle) -> Result<(), client::Error>;
    /// The client is done: its sockets are closed.
    fn done(&mut self) -> Result<(), client::Error>;
}

/// The socket protocol with several requests in flight (the web workers:
/// a receive or a send per connection and an accept), whichever
/// configuration serves them: the server's stack ([`client::Net`], the
/// requests go over the ring) or the client's own (`net_local::Local`,
/// which validates and holds them as the server would). Requests are
/// [`Op`]s with windows of the data buffer that [`Pipelined::write_data`]
/// and [`Pipelined::read_data`] reach; each answer carries its request's
/// tag.
pub trait Pipelined {
    /// Sends request `req`; keep [`Pipelined::outstanding`] below
    /// [`RING_SLOTS`].
    fn send_raw(&mut self, req: &ring::Request) -> Result<(), client::Error>;
    /// The next answer if there is one, without waiting.
    fn poll(&mut self) -> Result<Option<ring::Response>, client::Error>;
    /// Sleeps until an answer may have come or the timer's event stream
    /// ticks (a bounded nap).
    fn nap(&mut self);
    /// Waits until an answer may have come, blocking in the kernel where
    /// the configuration allows it (the server's stack: the connection's
    /// wake notification, `conn::client::Conn::sleep`; a task running its
    /// own stack too while none of its stack's timers is due, and naps
    /// otherwise, so that they fire on time). May return with nothing
    /// new.
    fn sleep(&mut self);
    /// Requests sent and not yet answered by [`Pipelined::poll`].
    fn outstanding(&self) -> usize;
    /// Copies `src` into the data buffer at `offset` (cut at its end).
    ///
    /// # Safety
    ///
    /// No outstanding request's window overlaps `offset .. offset +
    /// src.len()`.
    unsafe fn write_data(&mut self, offset: usize, src: &[u8]);
    /// Copies bytes of the data buffer at `offset` into `dst` (cut at its
    /// end); the bytes copied.
    ///
    /// # Safety
    ///
    /// As [`Pipelined::write_data`]: no outstanding request's window
    /// overlaps the bytes read.
    unsafe fn read_data(&self, offset: usize, dst: &mut [u8]) -> usize;
    /// A TCP listener on `port` that shares the port with other clients'
    /// shared listeners where the stack is shared (configuration 1); in
    /// configuration 2 the task's stack is its own and the port simply its.
    fn listen_shared(&mut self, port: u16, backlog: u64) -> Result<Handle, client::Error>;
    /// The client is done: its sockets are closed (no request may be
    /// outstanding).
    fn finish(&mut self) -> Result<(), client::Error>;
}

/// Most payload bytes of one UDP datagram (an Ethernet MTU of 1500 less the
/// IPv4 and UDP headers: no fragmentation).
pub const MAX_DATAGRAM: usize = 1472;
/// Most bytes one TCP send or receive request moves.
pub const MAX_STREAM_CHUNK: usize = 64 * 1024;
/// Most pending connections a TCP listener holds (its backlog).
pub const MAX_BACKLOG: u64 = 4;

/// A socket, as the server names it to the client that owns it: the
/// server's socket index in the low 16 bits, a generation above, so a
/// stale handle of a closed socket does not name its next owner's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle(pub u64);

/// An IPv4 endpoint: address (network order bytes) and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The address, `a.b.c.d` as `[a, b, c, d]`.
    pub addr: [u8; 4],
    /// The port.
    pub port: u16,
}

impl Endpoint {
    /// The address as the `u64` argument requests carry (`u32::from_be_bytes`).
    pub fn addr_word(&self) -> u64 {
        u64::from(u32::from_be_bytes(self.addr))
    }

    /// From a request's or response's words; `None` if they do not fit.
    pub fn from_words(addr: u64, port: u64) -> Option<Endpoint> {
        Some(Endpoint {
            addr: u32::try_from(addr).ok()?.to_be_bytes(),
            port: u16::try_from(port).ok()?,
        })
    }
}

/// The requests. `args[0]` is a port for the binding calls and a socket
/// handle for the others; unused arguments must be 0.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A UDP socket bound to port `args[0]` (1..=65535); answered with
    /// `values[0]` = its handle.
    UdpBind = 1,
    /// Sends the window (1..=[`MAX_DATAGRAM`] bytes) as one datagram from
    /// socket `args[0]` to address `args[1]`, port `args[2]`. Answered once
    /// the stack has queued it (`len` = bytes).
    UdpSend = 2,
    /// Receives one datagram on socket `args[0]` into the window (at least 1
    /// byte). Held until one arrives; `len` = bytes copied (a longer
    /// datagram is cut), `values[0..3]` = source address, source port, the
    /// datagram's whole length.
    UdpRecv = 3,
    /// A TCP listener on port `args[0]` with a backlog of `args[1]`
    /// (1..=[`MAX_BACKLOG`]) connections; answered with its handle.
    TcpListen = 4,
    /// The next connection of listener `args[0]`. Held until one is
    /// established; `values[0..3]` = the connection's handle, the peer's
    /// address and port.
    TcpAccept = 5,
    /// Queues the window (1..=[`MAX_STREAM_CHUNK`] bytes) on connection
    /// `args[0]`. Held until the socket takes at least one byte; `len` =
    /// bytes taken (send the rest again).
    TcpSend = 6,
    /// Receives into the window (1..=[`MAX_STREAM_CHUNK`] bytes) from
    /// connection `args[0]`. Held until data arrives; `len` = bytes, 0 when
    /// the peer closed its side and everything was read.
    TcpRecv = 7,
    /// Closes socket `args[0]` (a connection sends FIN after what is
    /// queued; a listener drops its pending connections). The handle is
    /// invalid from now on; requests still held on it are answered
    /// [`status::BAD_HANDLE`].
    Close = 8,
    /// The client is done: every socket it holds is closed and the server
    /// stops reading its ring.
    Done = 9,
    /// `args[0]` = IPv4 address, `args[1]` = port: an active open (a TCP
    /// connection this client starts, from a local port the server
    /// picks). Answered at once with `values[0]` = the connection's handle
    /// (as [`Op::TcpAccept`] gives); sends and receives on it are held
    /// until the handshake ends, and fail [`status::CLOSED`] if the peer
    /// refused or never answered.
    TcpConnect = 10,
}

impl TryFrom<u32> for Op {
    type Error = ();

    fn try_from(v: u32) -> Result<Op, ()> {
        Ok(match v {
            1 => Op::UdpBind,
            2 => Op::UdpSend,
            3 => Op::UdpRecv,
            4 => Op::TcpListen,
            5 => Op::TcpAccept,
            6 => Op::TcpSend,
            7 => Op::TcpRecv,
            8 => Op::Close,
            9 => Op::Done,
            10 => Op::TcpConnect,
            _ => return Err(()),
        })
    }
}

/// The server's own statuses (`ring`'s are below [`Status::USER`]).
pub mod status {
    use ring::Status;

    /// The window's length is out of the opcode's bounds.
    pub const BAD_LENGTH: Status = Status(Status::USER.0);
    /// The handle names no socket of this client, or a socket of another
    /// kind than the opcode needs.
    pub const BAD_HANDLE: Status = Status(Status::USER.0 + 1);
    /// A port, address, backlog or reserved argument out of range.
    pub const BAD_ARGUMENT: Status = Status(Status::USER.0 + 2);
    /// The port is bound already.
    pub const IN_USE: Status = Status(Status::USER.0 + 3);
    /// No free socket (the server's pool, or this client's share of it).
    pub const NO_SOCKETS: Status = Status(Status::USER.0 + 4);
    /// The socket was closed (by this client, or the connection by the
    /// peer: reset, or nothing more can be sent).
    pub const CLOSED: Status = Status(Status::USER.0 + 5);
    /// The stack refused the operation (no route, buffer state).
    pub const STACK: Status = Status(Status::USER.0 + 6);
}

/// A request that passed [`validate`]: its shape is right; handles are
/// still the client's word, to be checked against the server's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// Bind a UDP socket to `port`.
    UdpBind {
        /// The local port.
        port: u16,
    },
    /// Send `buf` from socket `socket` to `to`.
    UdpSend {
        /// The socket.
        socket: Handle,
        /// The destination.
        to: Endpoint,
        /// The payload's window.
        buf: BufRange,
    },
    /// Receive one datagram into `buf`.
    UdpRecv {
        /// The socket.
        socket: Handle,
        /// Where the datagram goes.
        buf: BufRange,
    },
    /// Listen on `port`.
    TcpListen {
        /// The local port.
        port: u16,
        /// Pending connections held.
        backlog: usize,
        /// `args[2]` = 1: the port may be shared with other clients'
        /// listeners that ask for sharing too (one worker per core, each
        /// accepting on the same port); 0: the port is this listener's.
        shared: bool,
    },
    /// Accept a connection on `listener`.
    TcpAccept {
        /// The listener.
        listener: Handle,
    },
    /// Queue `buf` on `socket`.
    TcpSend {
        /// The connection.
        socket: Handle,
        /// The data's window.
        buf: BufRange,
    },
    /// Receive into `buf` from `socket`.
    TcpRecv {
        /// The connection.
        socket: Handle,
        /// Where the data goes.
        buf: BufRange,
    },
    /// Close `socket`.
    Close {
        /// The socket.
        socket: Handle,
    },
    /// The client is done.
    Done,
    /// [`Op::TcpConnect`]: the peer (not address 0, not port 0).
    TcpConnect {
        /// Whom to connect to.
        to: Endpoint,
    },
}

/// A non-zero port, or `BAD_ARGUMENT`.
fn port(v: u64) -> Result<u16, Status> {
    match u16::try_from(v) {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(status::BAD_ARGUMENT),
    }
}

/// Checks the shape of a request `ring` decoded (known opcode, window
/// inside the client's buffer): window lengths, ports, addresses, backlog
/// and reserved arguments. `Err` is the status to answer with.
pub fn validate(req: &Incoming<Op>) -> Result<Checked, Status> {
    let [a0, a1, a2, a3] = req.args;
    let len = req.buf.len();
    let buf = req.buf;
    // How many arguments the opcode uses; the rest must be 0.
    let used = match req.opcode {
        Op::Done => 0,
        Op::UdpSend => 3,
        Op::TcpListen => 3,
        Op::TcpConnect => 2,
        _ => 1,
    };
    if req.args[used..].iter().any(|&a| a != 0) {
        return Err(status::BAD_ARGUMENT);
    }
    let _ = a3;
    let window = |min: usize, max: usize| {
        if len < min || len > max {
            Err(status::BAD_LENGTH)
        } else {
            Ok(())
        }
    };
    let socket = Handle(a0);
    Ok(match req.opcode {
        Op::UdpBind => {
            window(0, 0)?;
            Checked::UdpBind { port: port(a0)? }
        }
        Op::UdpSend => {
            window(1, MAX_DATAGRAM)?;
            let to = Endpoint::from_words(a1, a2).ok_or(status::BAD_ARGUMENT)?;
            if to.port == 0 || to.addr == [0; 4] {
                return Err(status::BAD_ARGUMENT);
            }
            Checked::UdpSend { socket, to, buf }
        }
        Op::UdpRecv => {
            window(1, DATA_LEN)?;
            Checked::UdpRecv { socket, buf }
        }
        Op::TcpListen => {
            window(0, 0)?;
            if a1 == 0 || a1 > MAX_BACKLOG || a2 > 1 {
                return Err(status::BAD_ARGUMENT);
            }
            Checked::TcpListen {
                port: port(a0)?,
                backlog: a1 as usize,
                shared: a2 == 1,
            }
        }
        Op::TcpAccept => {
            window(0, 0)?;
            Checked::TcpAccept { listener: socket }
        }
        Op::TcpSend => {
            window(1, MAX_STREAM_CHUNK)?;
            Checked::TcpSend { socket, buf }
        }
        Op::TcpRecv => {
            window(1, MAX_STREAM_CHUNK)?;
            Checked::TcpRecv { socket, buf }
        }
        Op::Close => {
            window(0, 0)?;
            Checked::Close { socket }
        }
        Op::Done => {
            window(0, 0)?;
            Checked::Done
        }
        Op::TcpConnect => {
            window(0, 0)?;
            let to = Endpoint::from_words(a0, a1).ok_or(status::BAD_ARGUMENT)?;
            if to.port == 0 || to.addr == [0; 4] {
                return Err(status::BAD_ARGUMENT);
            }
            Checked::TcpConnect { to }
        }
    })
}

#[cfg(test)]
mod tests;
