//! Ethernet, ARP, IPv4, UDP and TCP frames as the host step builds and
//! reads them (checksums computed here), and the deterministic noise of
//! the bad traffic.

pub const GUEST_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
pub const GUEST_IP: [u8; 4] = [10, 0, 2, 15];

/// A guest host the step talks to: its Ethernet and IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub mac: [u8; 6],
    pub ip: [u8; 4],
}

/// The guest's stack in configuration 1 (and client 0's in 2).
#[cfg(test)]
pub const GUEST: Target = Target {
    mac: GUEST_MAC,
    ip: GUEST_IP,
};

impl Target {
    /// Who has `ip` in the guest: in configuration 2 client `i` has
    /// 10.0.2.(15 + i) and the card's address plus `i`.
    pub fn at(ip: [u8; 4]) -> Target {
        let mut mac = GUEST_MAC;
        mac[5] = mac[5].wrapping_add(ip[3].wrapping_sub(GUEST_IP[3]));
        Target { mac, ip }
    }
}
pub const HOST_MAC: [u8; 6] = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
pub const HOST_IP: [u8; 4] = [10, 0, 2, 2];
pub const ECHO: u16 = crate::net::GUEST_ECHO_PORT;
pub const ETH_IPV4: u16 = 0x0800;
pub const ETH_ARP: u16 = 0x0806;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_PSH: u8 = 0x08;
pub const TCP_ACK: u8 = 0x10;
pub const TCP_FIN: u8 = 0x01;
/// A deterministic stream of bytes (xorshift).
pub struct Noise(pub u64);

impl Noise {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

pub fn sum16(data: &[u8], mut acc: u32) -> u32 {
    for c in data.chunks(2) {
        acc += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    acc
}

pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

pub fn eth(dst: [u8; 6], ty: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&HOST_MAC);
    f.extend_from_slice(&ty.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

pub fn ipv4(to: Target, proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0];
    h[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&HOST_IP);
    h.extend_from_slice(&to.ip);
    let c = fold(sum16(&h, 0));
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

pub fn pseudo(to: Target, proto: u8, len: usize) -> u32 {
    let mut p = Vec::new();
    p.extend_from_slice(&HOST_IP);
    p.extend_from_slice(&to.ip);
    p.extend_from_slice(&[0, proto]);
    p.extend_from_slice(&(len as u16).to_be_bytes());
    sum16(&p, 0)
}

pub fn udp(to: Target, sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(data);
    let c = fold(sum16(&u, pseudo(to, 17, u.len())));
    u[6..8].copy_from_slice(&(if c == 0 { 0xffff } else { c }).to_be_bytes());
    eth(to.mac, ETH_IPV4, &ipv4(to, 17, &u))
}

pub struct Seg<'a> {
    pub sport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub data: &'a [u8],
}

pub fn tcp(to: Target, s: &Seg) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&s.sport.to_be_bytes());
    t.extend_from_slice(&ECHO.to_be_bytes());
    t.extend_from_slice(&s.seq.to_be_bytes());
    t.extend_from_slice(&s.ack.to_be_bytes());
    t.extend_from_slice(&[0x50, s.flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(s.data);
    let c = fold(sum16(&t, pseudo(to, 6, t.len())));
    t[16..18].copy_from_slice(&c.to_be_bytes());
    eth(to.mac, ETH_IPV4, &ipv4(to, 6, &t))
}

pub fn arp(op: u16, tha: [u8; 6], spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4];
    a.extend_from_slice(&op.to_be_bytes());
    a.extend_from_slice(&HOST_MAC);
    a.extend_from_slice(&spa);
    a.extend_from_slice(&tha);
    a.extend_from_slice(&tpa);
    let dst = if op == 1 { [0xff; 6] } else { tha };
    eth(dst, ETH_ARP, &a)
}

/// What the host cares about in a frame from the guest.
pub enum Got {
    ArpRequest {
        mac: [u8; 6],
        ip: [u8; 4],
    },
    Udp {
        dport: u16,
        data: Vec<u8>,
    },
    Tcp {
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        data: Vec<u8>,
    },
    ArpReply {
        ip: [u8; 4],
    },
}

pub fn parse(f: &[u8]) -> Option<Got> {
    if f.len() < 14 {
        return None;
    }
    let ty = u16::from_be_bytes([f[12], f[13]]);
    let p = &f[14..];
    if ty == ETH_ARP && p.len() >= 28 {
        let op = u16::from_be_bytes([p[6], p[7]]);
        let (sha, spa, tpa) = (&p[8..14], &p[14..18], &p[24..28]);
        if op == 1 && tpa == HOST_IP {
            let mut mac = [0; 6];
            mac.copy_from_slice(sha);
            let mut ip = [0; 4];
            ip.copy_from_slice(spa);
            return Some(Got::ArpRequest { mac, ip });
        }
        let mut ip = [0; 4];
        ip.copy_from_slice(spa);
        return (op == 2).then_some(Got::ArpReply { ip });
    }
    if ty != ETH_IPV4 || p.len() < 20 || p[16..20] != HOST_IP {
        return None;
    }
    let ihl = usize::from(p[0] & 0xf) * 4;
    let total = usize::from(u16::from_be_bytes([p[2], p[3]])).min(p.len());
    if ihl < 20 || total < ihl {
        return None;
    }
    let l4 = &p[ihl..total];
    match p[9] {
        17 if l4.len() >= 8 => Some(Got::Udp {
            dport: u16::from_be_bytes([l4[2], l4[3]]),
            data: l4[8..].to_vec(),
        }),
        6 if l4.len() >= 20 => {
            let off = usize::from(l4[12] >> 4) * 4;
            Some(Got::Tcp {
                dport: u16::from_be_bytes([l4[2], l4[3]]),
                seq: u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]),
                ack: u32::from_be_bytes([l4[8], l4[9], l4[10], l4[11]]),
                flags: l4[13],
                data: l4.get(off..).unwrap_or(&[]).to_vec(),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums a header or segment with its checksum in: 0 when the checksum
    /// is right.
    fn check(data: &[u8], acc: u32) -> u16 {
        fold(sum16(data, acc))
    }

    #[test]
    fn built_frames_carry_right_checksums() {
        let f = udp(GUEST, 1234, 7, b"hello, odd length");
        assert_eq!(check(&f[14..34], 0), 0, "IPv4 header");
        let l4 = &f[34..];
        assert_eq!(check(l4, pseudo(GUEST, 17, l4.len())), 0, "UDP");
        let seg = Seg {
            sport: 9,
            seq: 1,
            ack: 2,
            flags: TCP_SYN,
            data: b"x",
        };
        let f = tcp(Target::at([10, 0, 2, 16]), &seg);
        assert_eq!(f[5], 0x57, "client 1's Ethernet address");
        let l4 = &f[34..];
        assert_eq!(
            check(l4, pseudo(Target::at([10, 0, 2, 16]), 6, l4.len())),
            0,
            "TCP"
        );
    }

    #[test]
    fn frames_from_the_guest_are_read() {
        // A reply as the guest sends it: addresses swapped.
        let mut f = udp(GUEST, 7, 5000, b"echo");
        f[26..30].copy_from_slice(&GUEST_IP);
        f[30..34].copy_from_slice(&HOST_IP);
        assert!(matches!(parse(&f), Some(Got::Udp { dport: 5000, ref data }) if data == b"echo"));
        let req = arp(1, [0; 6], GUEST_IP, HOST_IP);
        assert!(matches!(
            parse(&req),
            Some(Got::ArpRequest { ip: GUEST_IP, .. })
        ));
        assert!(parse(&f[..13]).is_none());
    }
}
