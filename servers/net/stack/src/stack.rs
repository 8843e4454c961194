//! The TCP/IP stack: smoltcp's interface over a [`Link`] (the card, on
//! the kernel core; a client's raw-frame connection), a fixed pool of sockets (no heap: every buffer is in this
//! task's memory from the start), and the table that says which client
//! holds which socket. Clients name sockets by `net_api::Handle`s; every
//! operation checks that the handle names a live socket of the right kind
//! that this client holds, so a client reaches only its own sockets.
//!
//! A TCP listener with a backlog of `b` is `b` smoltcp sockets listening on
//! its port (smoltcp hands an incoming SYN to one that listens); an accept
//! turns an established one into a connection and puts a fresh socket in
//! its place, if the pool and the client's share allow.

mod connect;

use net_api::{status, Endpoint, Handle, MAX_BACKLOG, MAX_CLIENTS};
use ring::{BufRange, SharedBuf, Status};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy;
use smoltcp::socket::{tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Address};

/// TCP sockets in the pool.
pub const TCP_SOCKETS: usize = 24;
/// UDP sockets in the pool.
pub const UDP_SOCKETS: usize = 4;
/// Listeners at once.
pub const LISTENERS: usize = 4;
/// Most sockets one client holds (listening members count): one client
/// cannot take the whole pool.
pub const PER_CLIENT: usize = 8;
/// Bytes of each TCP socket's receive and of its send buffer.
pub const TCP_BUF: usize = 8 * 1024;
/// Bytes of each UDP socket's receive and of its send buffer.
pub const UDP_BUF: usize = 8 * 1024;
/// How long a listening socket waits, after a SYN, for the handshake to
/// finish: a SYN never followed by its ACK (a SYN flood) gives the socket
/// back to its listener then, so half-open connections cannot hold a
/// listener's backlog for good (without it, net-wire-virt's flood left
/// the echo port unreachable). Cleared once the connection is accepted.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// Datagrams each UDP buffer holds.
const UDP_PACKETS: usize = 8;

/// The guest's address on QEMU's user network (its DHCP server's first
/// address, to which `hostfwd` forwards), its prefix and the gateway.
pub const ADDRESS: [u8; 4] = [10, 0, 2, 15];
/// The network's prefix length.
pub const PREFIX: u8 = 24;
/// The gateway (QEMU's user network).
pub const GATEWAY: [u8; 4] = [10, 0, 2, 2];

/// What an Ethernet frame device of this service offers the stack: frames
/// of at most `mtu` bytes, `burst` sent at once.
pub fn ethernet(mtu: usize, burst: usize) -> phy::DeviceCapabilities {
    let mut caps = phy::DeviceCapabilities::default();
    caps.medium = phy::Medium::Ethernet;
    caps.max_transmission_unit = mtu;
    caps.max_burst_size = Some(burst);
    caps
}

/// A frame device the stack runs over.
pub trait Link: phy::Device {
    /// Called after each run of the stack: the device may take back the
    /// buffers the stack was lent.
    fn after_poll(&mut self) {}
    /// Whether the device's interrupt wakes the server for whatever the
    /// device does next (a frame in, a transmission done): then the server
    /// may block in the kernel instead of polling it.
    fn interrupts(&self) -> bool {
        false
    }
    /// After the server woke from blocking: clears the device's interrupt
    /// status and re-arms its interrupt (`InterruptAck`).
    fn rearm(&mut self) {}
}

/// Handle kinds (bits 12..16 of a handle).
const KIND_UDP: u64 = 1;
const KIND_TCP: u64 = 2;
const KIND_LISTENER: u64 = 3;

/// Every socket buffer, in this task's memory.
struct Storage {
    sockets: [SocketStorage<'static>; TCP_SOCKETS + UDP_SOCKETS],
    tcp: [[[u8; TCP_BUF]; 2]; TCP_SOCKETS],
    udp_meta: [[[udp::PacketMetadata; UDP_PACKETS]; 2]; UDP_SOCKETS],
    udp: [[[u8; UDP_BUF]; 2]; UDP_SOCKETS],
}

static mut STORAGE: Storage = Storage {
    sockets: [SocketStorage::EMPTY; TCP_SOCKETS + UDP_SOCKETS],
    tcp: [[[0; TCP_BUF]; 2]; TCP_SOCKETS],
    udp_meta: [[[udp::PacketMetadata::EMPTY; UDP_PACKETS]; 2]; UDP_SOCKETS],
    udp: [[[0; UDP_BUF]; 2]; UDP_SOCKETS],
};

/// Who holds a TCP socket of the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TcpUse {
    Free,
    /// Listening for listener `l`.
    Member {
        l: usize,
    },
    /// A connection client `owner` accepted.
    Conn {
        owner: usize,
    },
    /// Closed by its client, or dropped: back in the pool once smoltcp
    /// says `Closed`.
    Closing,
}

#[derive(Clone, Copy, Debug)]
struct Listener {
    owner: usize,
    port: u16,
    /// Shares its port with other clients' shared listeners (each SYN goes
    /// to whichever listening socket smoltcp finds first).
    shared: bool,
    members: [Option<usize>; MAX_BACKLOG as usize],
}

/// The interface, the sockets and who holds them.
pub struct Stack<D: Link> {
    /// The frame device.
    pub dev: D,
    iface: Interface,
    set: SocketSet<'static>,
    tcp: [(SocketHandle, TcpUse, u16); TCP_SOCKETS],
    udp: [(SocketHandle, Option<usize>, u16); UDP_SOCKETS],
    listeners: [(Option<Listener>, u16); LISTENERS],
}

/// What a handle names, once checked.
enum Named {
    Udp(usize),
    Tcp(usize),
    Listener(usize),
}

fn handle(kind: u64, index: usize, gen: u16) -> Handle {
    Handle(u64::from(gen) << 16 | kind << 12 | index as u64)
}

/// The current time for the stack, from the virtual counter.
pub fn now() -> Instant {
    let (t, f) = counter();
    Instant::from_micros((t as u128 * 1_000_000 / f.max(1) as u128) as i64)
}

/// The virtual counter and its frequency.
fn counter() -> (u64, u64) {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter and its
    // frequency; no memory is touched.
    unsafe {
        core::arch::asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f, options(nomem, nostack))
    };
    (t, f)
}

impl<D: Link> Stack<D> {
    /// The stack over `dev` with Ethernet address `mac` and IPv4 address
    /// `addr` (on [`PREFIX`], routed by [`GATEWAY`]), with every socket
    /// made. Call once per task instance (it takes the task's socket
    /// storage).
    pub fn new(mut dev: D, mac: [u8; 6], addr: [u8; 4]) -> Stack<D> {
        let mut config = Config::new(EthernetAddress(mac).into());
        config.random_seed = counter().0;
        let mut iface = Interface::new(config, &mut dev, now());
        let [a, b, c, d] = addr;
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::v4(a, b, c, d), PREFIX));
        });
        let [a, b, c, d] = GATEWAY;
        let _ = iface
            .routes_mut()
            .add_default_ipv4_route(Ipv4Address::new(a, b, c, d));
        // Safety: `new` is called once in the task's life (by `run`), so this
        // is the only reference ever made to STORAGE; it lives for the
        // task's life, as the sockets borrowing it do.
        let st = unsafe { &mut *core::ptr::addr_of_mut!(STORAGE) };
        let mut set = SocketSet::new(&mut st.sockets[..]);
        let mut tcp = [(SocketHandle::default(), TcpUse::Free, 0); TCP_SOCKETS];
        for (t, [rx, tx]) in tcp.iter_mut().zip(st.tcp.iter_mut()) {
            let s = tcp::Socket::new(
                tcp::SocketBuffer::new(&mut rx[..]),
                tcp::SocketBuffer::new(&mut tx[..]),
            );
            t.0 = set.add(s);
        }
        let mut udp = [(SocketHandle::default(), None, 0); UDP_SOCKETS];
        for ((u, [mrx, mtx]), [rx, tx]) in udp
            .iter_mut()
            .zip(st.udp_meta.iter_mut())
            .zip(st.udp.iter_mut())
        {
            let s = udp::Socket::new(
                udp::PacketBuffer::new(&mut mrx[..], &mut rx[..]),
                udp::PacketBuffer::new(&mut mtx[..], &mut tx[..]),
            );
            u.0 = set.add(s);
        }
        Stack {
            dev,
            iface,
            set,
            tcp,
            udp,
            listeners: [(None, 0); LISTENERS],
        }
    }

    /// Runs the stack: frames in, timers, frames out. Whether anything
    /// changed.
    pub fn poll(&mut self) -> bool {
        let r = self.iface.poll(now(), &mut self.dev, &mut self.set);
        self.dev.after_poll();
        // Sockets closed by their clients go back to the pool once done.
        for t in self.tcp.iter_mut() {
            if t.1 == TcpUse::Closing
                && self.set.get::<tcp::Socket>(t.0).state() == tcp::State::Closed
            {
                t.1 = TcpUse::Free;
            }
        }
        r != smoltcp::iface::PollResult::None
    }

    /// Sockets client `c` holds (listening members count).
    fn held_by(&self, c: usize) -> usize {
        let tcp = self
            .tcp
            .iter()
            .filter(|t| match t.1 {
                TcpUse::Conn { owner } => owner == c,
                TcpUse::Member { l } => self.listeners[l].0.is_some_and(|l| l.owner == c),
                _ => false,
            })
            .count();
        tcp + self.udp.iter().filter(|u| u.1 == Some(c)).count()
    }

    /// What `h` names, if it is a live socket of client `c`.
    fn named(&self, c: usize, h: Handle) -> Option<Named> {
        let (gen, kind, i) = (
            (h.0 >> 16) as u16,
            (h.0 >> 12) & 0xf,
            (h.0 & 0xfff) as usize,
        );
        if h.0 >> 32 != 0 {
            return None;
        }
        match kind {
            KIND_UDP => {
                let u = self.udp.get(i)?;
                (u.1 == Some(c) && u.2 == gen).then_some(Named::Udp(i))
            }
            KIND_TCP => {
                let t = self.tcp.get(i)?;
                (t.1 == TcpUse::Conn { owner: c } && t.2 == gen).then_some(Named::Tcp(i))
            }
            KIND_LISTENER => {
                let l = self.listeners.get(i)?;
                (l.0.is_some_and(|l| l.owner == c) && l.1 == gen).then_some(Named::Listener(i))
            }
            _ => None,
        }
    }

    /// A UDP socket on `port` for client `c`.
    pub fn udp_bind(&mut self, c: usize, port: u16) -> Result<Handle, Status> {
        let taken = self
            .udp
            .iter()
            .any(|u| u.1.is_some() && self.set.get::<udp::Socket>(u.0).endpoint().port == port);
        if taken {
            return Err(status::IN_USE);
        }
        if self.held_by(c) >= PER_CLIENT {
            return Err(status::NO_SOCKETS);
        }
        let i = self
            .udp
            .iter()
            .position(|u| u.1.is_none())
            .ok_or(status::NO_SOCKETS)?;
        let u = &mut self.udp[i];
        let s = self.set.get_mut::<udp::Socket>(u.0);
        s.close();
        s.bind(port).map_err(|_| status::STACK)?;
        u.1 = Some(c);
        u.2 = u.2.wrapping_add(1);
        Ok(handle(KIND_UDP, i, u.2))
    }

    /// Queues the window as one datagram; `None` while the socket's send
    /// buffer has no room (the request waits).
    pub fn udp_send(
        &mut self,
        c: usize,
        h: Handle,
        to: Endpoint,
        buf: &SharedBuf<'_>,
        win: BufRange,
    ) -> Result<Option<usize>, Status> {
        let Some(Named::Udp(i)) = self.named(c, h) else {
            return Err(status::BAD_HANDLE);
        };
        let s = self.set.get_mut::<udp::Socket>(self.udp[i].0);
        let [a, b, cc, d] = to.addr;
        let ep = IpEndpoint::new(IpAddress::v4(a, b, cc, d), to.port);
        match s.send(win.len(), ep) {
            Ok(dst) => Ok(buf.copy_out(win, dst)),
            Err(udp::SendError::BufferFull) => Ok(None),
            Err(_) => Err(status::STACK),
        }
    }

    /// One datagram into the window: bytes copied, source, whole length;
    /// `None` while none has arrived.
    pub fn udp_recv(
        &mut self,
        c: usize,
        h: Handle,
        buf: &SharedBuf<'_>,
        win: BufRange,
    ) -> Result<Option<(usize, Endpoint, usize)>, Status> {
        let Some(Named::Udp(i)) = self.named(c, h) else {
            return Err(status::BAD_HANDLE);
        };
        let s = self.set.get_mut::<udp::Socket>(self.udp[i].0);
        let Ok((data, meta)) = s.recv() else {
            return Ok(None);
        };
        let n = buf.copy_in(win, data).unwrap_or(0);
        Ok(Some((n, endpoint(meta.endpoint), data.len())))
    }

    /// A listener on `port` with `backlog` listening sockets; `shared`:
    /// other clients' listeners may share the port if they share too (a
    /// client never listens twice on one port).
    pub fn tcp_listen(
        &mut self,
        c: usize,
        port: u16,
        backlog: usize,
        shared: bool,
    ) -> Result<Handle, Status> {
        if self.listeners.iter().any(|l| {
            l.0.is_some_and(|l| l.port == port && (!shared || !l.shared || l.owner == c))
        }) {
            return Err(status::IN_USE);
        }
        let free = self.tcp.iter().filter(|t| t.1 == TcpUse::Free).count();
        if backlog > free || self.held_by(c) + backlog > PER_CLIENT {
            return Err(status::NO_SOCKETS);
        }
        let li = self
            .listeners
            .iter()
            .position(|l| l.0.is_none())
            .ok_or(status::NO_SOCKETS)?;
        let mut l = Listener {
            owner: c,
            port,
            shared,
            members: [None; MAX_BACKLOG as usize],
        };
        for m in l.members.iter_mut().take(backlog) {
            *m = self.new_member(li, port);
        }
        let e = &mut self.listeners[li];
        *e = (Some(l), e.1.wrapping_add(1));
        Ok(handle(KIND_LISTENER, li, e.1))
    }

    /// A free TCP socket listening on `port` for listener `li`.
    fn new_member(&mut self, li: usize, port: u16) -> Option<usize> {
        let i = self.tcp.iter().position(|t| t.1 == TcpUse::Free)?;
        let s = self.set.get_mut::<tcp::Socket>(self.tcp[i].0);
        s.abort();
        s.set_timeout(Some(HANDSHAKE_TIMEOUT));
        s.listen(port).ok()?;
        self.tcp[i].1 = TcpUse::Member { l: li };
        Some(i)
    }

    /// An established connection of listener `h`, now client `c`'s:
    /// its handle and peer; `None` while there is none.
    pub fn tcp_accept(
        &mut self,
        c: usize,
        h: Handle,
    ) -> Result<Option<(Handle, Endpoint)>, Status> {
        let Some(Named::Listener(li)) = self.named(c, h) else {
            return Err(status::BAD_HANDLE);
        };
        let Some(mut l) = self.listeners[li].0 else {
            return Err(status::BAD_HANDLE);
        };
        let mut found = None;
        for m in l.members.iter_mut() {
            let Some(i) = *m else { continue };
            let s = self.set.get_mut::<tcp::Socket>(self.tcp[i].0);
            match s.state() {
                tcp::State::Listen | tcp::State::SynReceived => {}
                tcp::State::Closed => {
                    // A handshake that failed: listen again.
                    let _ = s.listen(l.port);
                }
                _ if found.is_none() => {
                    found = Some(i);
                    *m = None;
                }
                _ => {}
            }
        }
        let Some(i) = found else {
            return Ok(None);
        };
        let t = &mut self.tcp[i];
        t.1 = TcpUse::Conn { owner: c };
        self.set.get_mut::<tcp::Socket>(t.0).set_timeout(None);
        t.2 = t.2.wrapping_add(1);
        let gen = t.2;
        let peer = self.set.get::<tcp::Socket>(t.0).remote_endpoint();
        // Refill the backlog if the pool and the client's share allow.
        if self.held_by(c) < PER_CLIENT {
            if let Some(slot) = l.members.iter_mut().find(|m| m.is_none()) {
                *slot = self.new_member(li, l.port);
            }
        }
        self.listeners[li].0 = Some(l);
        let peer = peer.map_or(
            Endpoint {
                addr: [0; 4],
                port: 0,
            },
            endpoint,
        );
        Ok(Some((handle(KIND_TCP, i, gen), peer)))
    }

    /// Queues as much of the window as fits; `None` while nothing fits.
    pub fn tcp_send(
        &mut self,
        c: usize,
        h: Handle,
        buf: &SharedBuf<'_>,
        win: BufRange,
    ) -> Result<Option<usize>, Status> {
        let Some(Named::Tcp(i)) = self.named(c, h) else {
            return Err(status::BAD_HANDLE);
        };
        let s = self.set.get_mut::<tcp::Socket>(self.tcp[i].0);
        if !s.may_send() {
            // An active open still in its handshake: wait (`connect.rs`).
            if s.state() == tcp::State::SynSent {
                return Ok(None);
            }
            return Err(status::CLOSED);
        }
        let n = s
            .send(|dst| {
                let n = buf.copy_out(win, dst).unwrap_or(0);
                (n, n)
            })
            .map_err(|_| status::CLOSED)?;
        Ok((n > 0).then_some(n))
    }

    /// Received bytes into the window; `Some(0)` at the end of the
    /// stream, `None` while nothing has arrived.
    pub fn tcp_recv(
        &mut self,
        c: usize,
        h: Handle,
        buf: &SharedBuf<'_>,
        win: BufRange,
    ) -> Result<Option<usize>, Status> {
        let Some(Named::Tcp(i)) = self.named(c, h) else {
            return Err(status::BAD_HANDLE);
        };
        let s = self.set.get_mut::<tcp::Socket>(self.tcp[i].0);
        match s.recv(|src| {
            let n = buf.copy_in(win, src).unwrap_or(0);
            (n, n)
        }) {
            Ok(0) => Ok(None),
            Ok(n) => Ok(Some(n)),
            Err(tcp::RecvError::Finished) => Ok(Some(0)),
            Err(tcp::RecvError::InvalidState) => match s.state() {
                // Not established yet (an accepted socket always is).
                tcp::State::SynReceived | tcp::State::SynSent => Ok(None),
                _ => Err(status::CLOSED),
            },
        }
    }

    /// Closes socket `h` of client `c`: a connection gracefully (FIN), a
    /// listener by dropping its pending connections.
    pub fn close(&mut self, c: usize, h: Handle) -> Result<(), Status> {
        match self.named(c, h).ok_or(status::BAD_HANDLE)? {
            Named::Udp(i) => self.close_udp(i),
            Named::Tcp(i) => self.close_tcp(i, false),
            Named::Listener(li) => self.close_listener(li),
        }
        Ok(())
    }

    fn close_udp(&mut self, i: usize) {
        self.set.get_mut::<udp::Socket>(self.udp[i].0).close();
        self.udp[i].1 = None;
    }

    fn close_tcp(&mut self, i: usize, abort: bool) {
        let s = self.set.get_mut::<tcp::Socket>(self.tcp[i].0);
        if abort {
            s.abort();
        } else {
            s.close();
        }
        self.tcp[i].1 = TcpUse::Closing;
    }

    fn close_listener(&mut self, li: usize) {
        if let Some(l) = self.listeners[li].0.take() {
            for i in l.members.into_iter().flatten() {
                self.close_tcp(i, true);
            }
        }
    }

    /// Drops every socket of client `c`: gracefully when it said `Done`,
    /// by reset when it died or connected again. Returns how many sockets
    /// of the pool it held (a listener's listening sockets count).
    pub fn drop_client(&mut self, c: usize, graceful: bool) -> usize {
        let held = self.held_by(c);
        for i in 0..UDP_SOCKETS {
            if self.udp[i].1 == Some(c) {
                self.close_udp(i);
            }
        }
        for i in 0..TCP_SOCKETS {
            if self.tcp[i].1 == (TcpUse::Conn { owner: c }) {
                self.close_tcp(i, !graceful);
            }
        }
        for li in 0..LISTENERS {
            if self.listeners[li].0.is_some_and(|l| l.owner == c) {
                self.close_listener(li);
            }
        }
        held
    }

    /// Free sockets of the pool: TCP, UDP.
    pub fn free(&self) -> (usize, usize) {
        (
            self.tcp.iter().filter(|t| t.1 == TcpUse::Free).count(),
            self.udp.iter().filter(|u| u.1.is_none()).count(),
        )
    }

    /// Whether the server may block until the device's interrupt or a
    /// client wakes it: the device interrupts, and no socket has a timer
    /// due (smoltcp's `poll_delay` is none: no retransmission, delayed
    /// acknowledgement, TIME-WAIT or ARP wait pending). With a timer
    /// pending the server polls, so that the timer fires on time (the
    /// kernel has no timed wait).
    pub fn may_block(&mut self) -> bool {
        self.dev.interrupts() && self.iface.poll_delay(now(), &self.set).is_none()
    }

    /// The device's interrupt, after the server woke ([`Link::rearm`]).
    pub fn rearm(&mut self) {
        self.dev.rearm();
    }

    /// Whether every connection a client closed has finished closing.
    pub fn quiet(&self) -> bool {
        self.tcp.iter().all(|t| t.1 == TcpUse::Free)
    }
}

const _: () = assert!(MAX_CLIENTS <= 0xfff);

fn endpoint(ep: IpEndpoint) -> Endpoint {
    let addr = match ep.addr {
        IpAddress::Ipv4(a) => a.octets(),
    };
    Endpoint {
        addr,
        port: ep.port,
    }
}
