//! Answering a request the stack held (a receive until data arrives, a
//! send until the buffer has room, an accept until a connection is
//! established): what a client of the socket protocol gets back, whoever
//! runs the stack. Configuration 2's pipelined client library
//! (`net_local`) answers its task's own requests with it.

use crate::stack::{Link, Stack};
use net_api::{status, Checked};
use ring::{SharedBuf, Status};

/// A held request's answer: bytes produced and the answer's values, or a
/// status.
pub type Answer = Result<(usize, [u64; 5]), Status>;

impl<D: Link> Stack<D> {
    /// What client `c`'s held request `req` (windows of `buf`) is answered
    /// now: `None` while it must wait. The requests answered when they
    /// arrive (bind, listen, connect, close, done) are never held: `STACK`.
    pub fn answer_held(&mut self, c: usize, buf: &SharedBuf<'_>, req: &Checked) -> Option<Answer> {
        let r = match *req {
            Checked::UdpSend { socket, to, buf: w } => self
                .udp_send(c, socket, to, buf, w)
                .map(|o| o.map(|n| (n, [0; 5]))),
            Checked::UdpRecv { socket, buf: w } => self.udp_recv(c, socket, buf, w).map(|o| {
                o.map(|(n, from, whole)| {
                    let v = [from.addr_word(), u64::from(from.port), whole as u64, 0, 0];
                    (n, v)
                })
            }),
            Checked::TcpAccept { listener } => self.tcp_accept(c, listener).map(|o| {
                o.map(|(conn, peer)| (0, [conn.0, peer.addr_word(), u64::from(peer.port), 0, 0]))
            }),
            Checked::TcpSend { socket, buf: w } => self
                .tcp_send(c, socket, buf, w)
                .map(|o| o.map(|n| (n, [0; 5]))),
            Checked::TcpRecv { socket, buf: w } => self
                .tcp_recv(c, socket, buf, w)
                .map(|o| o.map(|n| (n, [0; 5]))),
            Checked::UdpBind { .. }
            | Checked::TcpListen { .. }
            | Checked::TcpConnect { .. }
            | Checked::Close { .. }
            | Checked::Done => Err(status::STACK),
        };
        match r {
            Ok(Some(x)) => Some(Ok(x)),
            Ok(None) => None,
            Err(st) => Some(Err(st)),
        }
    }
}
