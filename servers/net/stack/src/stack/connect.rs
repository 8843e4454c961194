//! Active open (`TcpConnect`): a TCP connection a client starts. The
//! socket comes from the same pool and counts against the same share as
//! an accepted one; once made it is a connection like any other
//! (`TcpUse::Conn`), so send, receive and close are the same calls.
//!
//! The local port is not asked for: it is `EPHEMERAL + index × PORTS_PER +
//! generation mod PORTS_PER`, so two live sockets never share one (their
//! indices differ) and a socket used again starts from a new port (its
//! generation moved), not the four-tuple its last connection may still
//! hold in the peer's TIME-WAIT.

use super::{handle, Stack, TcpUse, HANDSHAKE_TIMEOUT, KIND_TCP, PER_CLIENT, TCP_SOCKETS};
use net_api::{status, Endpoint, Handle};
use ring::Status;
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpEndpoint};

/// The first local port of an active open (IANA's dynamic range).
const EPHEMERAL: u16 = 49152;
/// Local ports of each pool socket.
const PORTS_PER: u16 = 512;

const _: () = assert!(EPHEMERAL as usize + TCP_SOCKETS * PORTS_PER as usize <= 65536);

impl<D: super::Link> Stack<D> {
    /// A connection from client `c` to `to`, in SYN-SENT: its handle.
    /// The handshake then runs in the stack; until it ends, sends and
    /// receives on the handle wait (`tcp_send`, `tcp_recv`); a peer that
    /// refuses (RST) or does not answer within the handshake timeout
    /// leaves it closed (`CLOSED`).
    pub fn tcp_connect(&mut self, c: usize, to: Endpoint) -> Result<Handle, Status> {
        if self.held_by(c) >= PER_CLIENT {
            return Err(status::NO_SOCKETS);
        }
        let i = self
            .tcp
            .iter()
            .position(|t| t.1 == TcpUse::Free)
            .ok_or(status::NO_SOCKETS)?;
        let gen = self.tcp[i].2.wrapping_add(1);
        let local = EPHEMERAL + i as u16 * PORTS_PER + gen % PORTS_PER;
        let [a, b, cc, d] = to.addr;
        let remote = IpEndpoint::new(IpAddress::v4(a, b, cc, d), to.port);
        let s = self.set.get_mut::<tcp::Socket>(self.tcp[i].0);
        s.abort();
        // smoltcp resets it if the peer does not answer the SYN within
        // this, or sends nothing for this long while data waits for it
        // (an idle connection with nothing to send never times out).
        s.set_timeout(Some(HANDSHAKE_TIMEOUT));
        s.connect(self.iface.context(), remote, local)
            .map_err(|_| status::STACK)?;
        let t = &mut self.tcp[i];
        t.1 = TcpUse::Conn { owner: c };
        t.2 = gen;
        Ok(handle(KIND_TCP, i, gen))
    }
}
