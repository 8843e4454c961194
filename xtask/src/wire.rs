//! Bad traffic from the wire (docs/network-tests.md, *Bad traffic from the
//! wire*). QEMU's user networking rebuilds every packet, so for these
//! cases the card is on a socket netdev instead: QEMU sends each frame the
//! guest transmits as one UDP datagram to 127.0.0.1:`host` and takes each
//! datagram arriving at 127.0.0.1:`qemu` as a frame from the wire. The
//! host step here is the whole network the guest sees: it answers ARP for
//! the gateway (10.0.2.2), injects bounded batches of bad frames, then
//! proves the guest still serves with its own small UDP and TCP client
//! (checksums computed here), byte for byte. Nothing leaves 127.0.0.1 and
//! every wait is bounded.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use qemu_tests::NetTraffic;

use crate::net::{Guests, Ports};

mod frames;
use frames::*;

/// SYNs of the flood.
const SYN_FLOOD: u16 = 300;
/// Frames of each other kind of bad traffic.
const BATCH: usize = 64;
/// The pause after each bad frame.
const PACE: Duration = Duration::from_millis(2);
/// The segment size the host's TCP client sends.
const MSS: usize = 1000;

/// Ports for a run on the wire: `udp` is the host's (QEMU sends there),
/// `tcp` QEMU's (the host sends there). Both free on 127.0.0.1 now.
pub fn pick() -> Result<Ports> {
    let a = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).context("picking a UDP port")?;
    let b = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).context("picking a UDP port")?;
    Ok(Ports {
        udp: a.local_addr()?.port(),
        tcp: b.local_addr()?.port(),
        // No web server on the wire.
        http: 0,
    })
}

/// QEMU's arguments: the card on a UDP socket netdev of 127.0.0.1.
pub fn qemu_args(p: Ports) -> Vec<String> {
    vec![
        "-netdev".into(),
        format!(
            "socket,id=net0,udp=127.0.0.1:{},localaddr=127.0.0.1:{}",
            p.udp, p.tcp
        ),
        "-device".into(),
        "virtio-net-device,netdev=net0".into(),
    ]
}

/// The host's end of the wire.
struct Wire {
    sock: UdpSocket,
    qemu: SocketAddr,
    sent: usize,
    paced: bool,
    /// Frames read while sending, not yet taken by `recv`.
    pending: std::collections::VecDeque<Got>,
    /// Where the UDP and the TCP echo task are.
    udp_to: Target,
    tcp_to: Target,
}

impl Wire {
    fn send(&mut self, frame: &[u8]) -> Result<(), String> {
        self.sent += 1;
        // Paced: QEMU reads the socket only while the card has a free
        // receive buffer, and a burst would overflow the socket's buffer on
        // the host (lost before the guest ever saw it).
        if self.paced {
            std::thread::sleep(PACE);
            // What the guest sent meanwhile, before the host's socket
            // buffer overflows.
            self.sock
                .set_nonblocking(true)
                .map_err(|e| format!("wire: {e}"))?;
            let mut buf = [0u8; 2048];
            while let Ok(n) = self.sock.recv(&mut buf) {
                if let Some(g) = self.parse(&buf[..n])? {
                    self.pending.push_back(g);
                }
            }
            self.sock
                .set_nonblocking(false)
                .map_err(|e| format!("wire: {e}"))?;
        }
        self.sock
            .send_to(frame, self.qemu)
            .map(|_| ())
            .map_err(|e| format!("wire: send: {e}"))
    }

    /// The next frame from the guest the host cares about, until
    /// `deadline`; answers the guest's ARP requests for the gateway.
    fn recv(&mut self, deadline: Instant) -> Result<Option<Got>, String> {
        if let Some(g) = self.pending.pop_front() {
            return Ok(Some(g));
        }
        let mut buf = [0u8; 2048];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.sock
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .map_err(|e| format!("wire: {e}"))?;
            let n = match self.sock.recv(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(format!("wire: recv: {e}")),
            };
            if let Some(g) = self.parse(&buf[..n])? {
                return Ok(Some(g));
            }
        }
    }

    /// A frame from the guest: what the host cares about; an ARP request
    /// for the gateway is answered here.
    fn parse(&mut self, f: &[u8]) -> Result<Option<Got>, String> {
        match frames::parse(f) {
            Some(Got::ArpRequest { mac, ip }) => {
                self.send(&arp(2, mac, HOST_IP, ip))?;
                Ok(None)
            }
            g => Ok(g),
        }
    }

    /// Reads everything the guest sends for `d`, answering ARP.
    fn drain(&mut self, d: Duration) -> Result<(), String> {
        let until = Instant::now() + d;
        while self.recv(until)?.is_some() {}
        Ok(())
    }
}

/// The host step of a wire case: ARP, the bad traffic, then the UDP echo
/// of `t.udp` and `quit`, then one TCP connection per `t.tcp`, each
/// echoed byte for byte. What was done (one line each) or the first
/// problem.
pub fn check(ports: Ports, guests: Guests, t: &NetTraffic) -> Result<Vec<String>, String> {
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, ports.udp))
        .map_err(|e| format!("wire: bind 127.0.0.1:{}: {e}", ports.udp))?;
    let mut w = Wire {
        sock,
        qemu: SocketAddr::from((Ipv4Addr::LOCALHOST, ports.tcp)),
        sent: 0,
        paced: false,
        pending: Default::default(),
        udp_to: Target::at(guests.udp),
        tcp_to: Target::at(guests.tcp),
    };
    let mut done = Vec::new();
    for ip in [guests.udp, guests.tcp] {
        if !arp_probe(&mut w, ip)? {
            let [a, b, c, d] = ip;
            return Err(format!(
                "wire: the guest never answered ARP for {a}.{b}.{c}.{d}"
            ));
        }
    }
    done.push("wire: the guest answers ARP for each echo task's address".to_string());
    done.push(bad_traffic(&mut w)?);
    done.push(udp_echo(&mut w, t.udp)?);
    for (k, &len) in t.tcp.iter().enumerate() {
        done.push(tcp_echo(&mut w, k, len)?);
    }
    Ok(done)
}

/// Asks who has `ip` until the guest answers (5 tries of 2 s).
fn arp_probe(w: &mut Wire, ip: [u8; 4]) -> Result<bool, String> {
    for _ in 0..5 {
        w.send(&arp(1, [0; 6], HOST_IP, ip))?;
        let until = Instant::now() + Duration::from_secs(2);
        while let Some(g) = w.recv(until)? {
            if matches!(g, Got::ArpReply { ip: from } if from == ip) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Every kind of bad frame, in bounded batches; a datagram with a bad
/// checksum must not be echoed.
fn bad_traffic(w: &mut Wire) -> Result<String, String> {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let start = w.sent;
    w.paced = true;
    // Runts: shorter than an Ethernet header, then headers alone.
    for n in 1..=14 {
        w.send(&noise.bytes(n))?;
    }
    // Malformed IPv4: each header field broken in turn, random tails.
    let good = udp(w.udp_to, 40000, ECHO, b"malformed");
    for k in 0..BATCH {
        let mut f = good.clone();
        match k % 8 {
            0 => f[14] = 0x65,                             // version 6
            1 => f[14] = 0x43,                             // header of 12 bytes
            2 => f[16..18].copy_from_slice(&[0xff, 0xff]), // longer than the frame
            3 => f.truncate(14 + 10),                      // cut in the header
            4 => f[20] |= 0x20,                            // a fragment (more fragments)
            5 => f[14] = 0x4f,                             // 60 bytes of options
            6 => f.truncate(14 + 20 + 4),                  // cut in the UDP header
            _ => {
                let tail = noise.bytes(k);
                f.truncate(14);
                f.extend_from_slice(&tail);
            }
        }
        w.send(&f)?;
    }
    // Bad checksums: IPv4 header, UDP (with a marker that must not come
    // back), TCP SYN.
    for k in 0..BATCH {
        let mut f = udp(w.udp_to, 40001, ECHO, b"bad checksum: never echoed");
        if k % 2 == 0 {
            f[24] ^= 0x5a;
        } else {
            f[40] ^= 0x5a;
        }
        w.send(&f)?;
        let mut s = tcp(
            w.tcp_to,
            &Seg {
                sport: 41000 + k as u16,
                seq: 7,
                ack: 0,
                flags: TCP_SYN,
                data: &[],
            },
        );
        s[50] ^= 0x5a;
        w.send(&s)?;
    }
    // Oversized frames: past the MTU, past the card's buffers.
    for &n in &[1515usize, 1600, 2036, 2048, 4096, 9000, 65000] {
        let mut f = udp(w.udp_to, 40002, ECHO, &noise.bytes(n.saturating_sub(42)));
        f.resize(n, 0);
        w.send(&f)?;
    }
    // A SYN flood on the echo port, never answered.
    for k in 0..SYN_FLOOD {
        w.send(&tcp(
            w.tcp_to,
            &Seg {
                sport: 20000 + k,
                seq: noise.next() as u32,
                ack: 0,
                flags: TCP_SYN,
                data: &[],
            },
        ))?;
    }
    // Random bytes to the open ports: TCP segments of no connection with
    // random flags, and (below, each awaited) UDP datagrams.
    for k in 0..BATCH {
        let data = noise.bytes(k * 10);
        let flags = (noise.next() as u8) & !TCP_SYN;
        w.send(&tcp(
            w.tcp_to,
            &Seg {
                sport: 30000 + k as u16,
                seq: noise.next() as u32,
                ack: noise.next() as u32,
                flags,
                data: &data,
            },
        ))?;
    }
    w.paced = false;
    // Let the guest answer all that (SYN-ACKs, resets); a bad checksum's
    // datagram must not come back.
    let until = Instant::now() + Duration::from_secs(3);
    while let Some(g) = w.recv(until)? {
        if let Got::Udp { data, .. } = g {
            if data == b"bad checksum: never echoed" {
                return Err("wire: a datagram with a bad checksum was echoed".into());
            }
        }
    }
    // Random bytes to the UDP echo port: each echoed byte for byte.
    for k in 0..BATCH {
        let m = noise.bytes(1 + k * 20);
        if !echo_one(w, 40003, &m, &m)? {
            return Err(format!(
                "wire: datagram {k} of random bytes ({} bytes) to port 7 not echoed",
                m.len()
            ));
        }
    }
    let sent = w.sent - start;
    Ok(format!(
        "wire: {sent} bad frames sent (runts, malformed IPv4, bad checksums, oversized, a {SYN_FLOOD}-SYN flood, random bytes to port 7); none with a bad checksum echoed, all {BATCH} random datagrams echoed"
    ))
}

/// Datagrams of each size to the echo port, then `quit`; each echoed
/// byte for byte (5 tries of 2 s).
fn udp_echo(w: &mut Wire, sizes: &[usize]) -> Result<String, String> {
    let mut noise = Noise(7);
    let mut msgs: Vec<Vec<u8>> = sizes.iter().map(|&n| noise.bytes(n)).collect();
    msgs.push(b"quit".to_vec());
    for (i, m) in msgs.iter().enumerate() {
        let want: &[u8] = if i == sizes.len() { b"bye" } else { m };
        if !echo_one(w, 50000 + i as u16, m, want)? {
            return Err(format!(
                "wire: udp: datagram {i} ({} bytes) not echoed",
                m.len()
            ));
        }
    }
    Ok(format!(
        "wire: udp: {} datagrams echoed byte for byte after the bad traffic, then quit/bye",
        sizes.len()
    ))
}

/// Sends `m` from port `sport` to the echo port until `want` comes back
/// to `sport` (5 tries of 2 s). Whether it did.
fn echo_one(w: &mut Wire, sport: u16, m: &[u8], want: &[u8]) -> Result<bool, String> {
    for _ in 0..5 {
        w.send(&udp(w.udp_to, sport, ECHO, m))?;
        let until = Instant::now() + Duration::from_secs(2);
        while let Some(g) = w.recv(until)? {
            if let Got::Udp { dport, data } = g {
                if dport == sport && data == want {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// One TCP connection from the host's own small client: handshake (SYNs
/// retried while the flood's half-open connections time out), `len`
/// bytes in segments, the echo read in order, FIN, the guest's FIN.
fn tcp_echo(w: &mut Wire, k: usize, len: usize) -> Result<String, String> {
    let sport = 60000 + k as u16;
    let iss: u32 = 1_000_000 * (k as u32 + 1);
    let deadline = Instant::now() + Duration::from_secs(60);
    // Handshake.
    let mut rcv = None;
    while rcv.is_none() && Instant::now() < deadline {
        w.send(&tcp(
            w.tcp_to,
            &Seg {
                sport,
                seq: iss,
                ack: 0,
                flags: TCP_SYN,
                data: &[],
            },
        ))?;
        let until = Instant::now() + Duration::from_secs(1);
        while let Some(g) = w.recv(until)? {
            if let Got::Tcp {
                dport,
                seq,
                ack,
                flags,
                ..
            } = g
            {
                if dport == sport
                    && flags & (TCP_SYN | TCP_ACK) == TCP_SYN | TCP_ACK
                    && ack == iss + 1
                {
                    rcv = Some(seq.wrapping_add(1));
                    break;
                }
            }
        }
    }
    let Some(mut rcv_nxt) = rcv else {
        return Err(format!("wire: tcp: connection {k}: no SYN-ACK within 60 s"));
    };
    let data = Noise(11 + k as u64).bytes(len);
    let snd = iss.wrapping_add(1);
    let mut acked = 0usize; // bytes of ours the guest acknowledged
    let mut fin_acked = false;
    let mut echoed = Vec::new();
    let mut guest_fin = false;
    let mut last_sent = Instant::now() - Duration::from_secs(10);
    while !(guest_fin && fin_acked) {
        if Instant::now() > deadline {
            return Err(format!(
                "wire: tcp: connection {k}: {} of {len} bytes echoed, guest FIN {guest_fin}, within 60 s",
                echoed.len()
            ));
        }
        // (Re)send what is not acknowledged, and our FIN, once a second.
        if last_sent.elapsed() >= Duration::from_secs(1) {
            let mut at = acked;
            while at < len && at < acked + 8 * MSS {
                let n = (len - at).min(MSS);
                let seg = Seg {
                    sport,
                    seq: snd.wrapping_add(at as u32),
                    ack: rcv_nxt,
                    flags: TCP_ACK | TCP_PSH,
                    data: &data[at..at + n],
                };
                w.send(&tcp(w.tcp_to, &seg))?;
                at += n;
            }
            if at == len && !fin_acked && echoed.len() == len {
                let seg = Seg {
                    sport,
                    seq: snd.wrapping_add(len as u32),
                    ack: rcv_nxt,
                    flags: TCP_FIN | TCP_ACK,
                    data: &[],
                };
                w.send(&tcp(w.tcp_to, &seg))?;
            }
            last_sent = Instant::now();
        }
        let until = Instant::now() + Duration::from_millis(200);
        while let Some(g) = w.recv(until)? {
            let Got::Tcp {
                dport,
                seq,
                ack,
                flags,
                data: got,
            } = g
            else {
                continue;
            };
            if dport != sport {
                continue;
            }
            if flags & TCP_RST != 0 {
                return Err(format!("wire: tcp: connection {k}: reset by the guest"));
            }
            if flags & TCP_ACK != 0 {
                let a = ack.wrapping_sub(snd) as usize;
                if a <= len {
                    acked = acked.max(a);
                } else if a == len + 1 {
                    (acked, fin_acked) = (len, true);
                }
            }
            if seq == rcv_nxt {
                echoed.extend_from_slice(&got);
                rcv_nxt = rcv_nxt.wrapping_add(got.len() as u32);
                if flags & TCP_FIN != 0 {
                    rcv_nxt = rcv_nxt.wrapping_add(1);
                    guest_fin = true;
                }
            }
            if !got.is_empty() || flags & TCP_FIN != 0 {
                let seg = Seg {
                    sport,
                    seq: snd.wrapping_add(acked as u32 + u32::from(fin_acked)),
                    ack: rcv_nxt,
                    flags: TCP_ACK,
                    data: &[],
                };
                w.send(&tcp(w.tcp_to, &seg))?;
            }
            if echoed.len() == len && acked == len && !fin_acked {
                // Everything echoed: our FIN goes at once.
                last_sent = Instant::now() - Duration::from_secs(10);
            }
        }
    }
    if echoed != data {
        return Err(format!(
            "wire: tcp: connection {k}: the echo differs from what was sent"
        ));
    }
    w.drain(Duration::from_millis(300))?;
    Ok(format!(
        "wire: tcp: connection {k}: {len} bytes echoed byte for byte after the SYN flood, closed both ways"
    ))
}
