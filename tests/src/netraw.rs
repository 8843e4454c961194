//! What the network cases on raw frames expect: configuration 2
//! (net-echo-raw-virt) and bad traffic from the wire (net-wire-virt),
//! docs/network-tests.md.

/// images/net-echo-raw.toml: the server passes raw frames, each echo task
/// runs its own stack on its own address; the same host traffic as
/// net-echo-virt is echoed byte for byte (the TCP connections come from
/// the gateway, as there), and the server counts each client's frames.
pub(crate) const NET_ECHO_RAW: &[&str] = &[
    "[net@3] net server: raw frames, mac 52:54:00:12:34:56, 3 client(s)",
    "[framehostile@2] framehostile: every malformed frame request refused; dying with receive buffers posted",
    "task framehostile on core 2 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "[net@3] net server: client 2 ended without closing:",
    "[udpecho@0] udpecho: ready on udp port 7",
    "[tcpecho@1] tcpecho: ready on tcp port 7",
    "[udpecho@0] udpecho: 8 datagrams (4658 bytes) echoed",
    "[tcpecho@1] tcpecho: connection 1 from 10.0.2.2: 3000 bytes echoed",
    "[tcpecho@1] tcpecho: connection 2 from 10.0.2.2: 100000 bytes echoed",
    "task net on core 3 exited with status 0",
    "memory: no frames leaked",
];

/// net-echo-raw-virt's frame counts: each of the two clients was given
/// frames (its own) and sent frames (from its own address: the server
/// refuses others).
pub(crate) fn raw_frames_2(lines: &[&str]) -> Vec<String> {
    (0..2)
        .filter_map(|i| {
            let prefix = format!("[net@3] net server: client {i}: ");
            let counts = lines.iter().find_map(|l| {
                let rest = l.strip_prefix(&prefix)?;
                let (delivered, rest) = rest.split_once(" frames delivered, ")?;
                let (_, rest) = rest.split_once(" lost (no receive buffer), ")?;
                let sent = rest.strip_suffix(" sent")?;
                Some((delivered.parse::<u64>().ok()?, sent.parse::<u64>().ok()?))
            });
            match counts {
                Some((d, s)) if d > 0 && s > 0 => None,
                Some((d, s)) => Some(format!("client {i}: {d} frames delivered, {s} sent")),
                None => Some(format!("no frame counts for client {i}")),
            }
        })
        .collect()
}

/// images/net-crash-raw.toml: the raw-frame server's first instance
/// crashes during the host's traffic and is restarted; the echo tasks'
/// own stacks keep their sockets (no "bound again" line is needed), and
/// net-crash-virt's traffic is echoed (a datagram echoed just before the
/// crash may be echoed twice: the host resends it, so udpecho's count is
/// not fixed).
pub(crate) const NET_CRASH_RAW: &[&str] = &[
    "[net-crash@3] net server: raw frames, mac 52:54:00:12:34:56, 2 client(s) (instance 1",
    // 10 answers or more: the hook runs once per serving pass, and a pass
    // may answer two requests (the host resends a datagram it saw no echo of).
    "[net-crash@3] net server: crashing on purpose (test build) after",
    "task net-crash on core 3 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "device virtio-net: reset (the task granted it ended)",
    "task net-crash on core 3 restarted (restart 1)",
    "[net-crash@3] net server: raw frames, mac 52:54:00:12:34:56, 2 client(s) (instance 2",
    "task udpecho on core 0 exited with status 0",
    "[tcpecho@1] tcpecho: connection 1 from 10.0.2.2: 3000 bytes echoed",
    "[tcpecho@1] tcpecho: connection 2 from 10.0.2.2: 20000 bytes echoed",
    "task net-crash on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// The host's traffic in net-echo-raw-virt: net-echo-virt's.
pub(crate) const NET_ECHO_RAW_TRAFFIC: crate::NetTraffic = crate::NetTraffic {
    ready: &[
        "udpecho: ready on udp port 7",
        "tcpecho: ready on tcp port 7",
        "framehostile: every malformed frame request refused",
        // Runs only once udpecho, above it on core 0, blocks in the kernel.
        "[hello@0] hello from EL0 on core 0",
    ],
    udp: crate::expect::NET_ECHO_TRAFFIC.udp,
    tcp: crate::expect::NET_ECHO_TRAFFIC.tcp,
    ..crate::NetTraffic::NONE
};

/// images/net-wire.toml under the host's bad traffic (xtask/src/wire.rs):
/// the server keeps serving, both echo tasks finish, and every socket is
/// back in the pool at the end (memory is the fixed pool: nothing grows).
pub(crate) const NET_WIRE: &[&str] = &[
    "[net@3] net server: 10.0.2.15 mac 52:54:00:12:34:56, 2 client(s)",
    "[udpecho@0] udpecho: ready on udp port 7",
    "[tcpecho@1] tcpecho: ready on tcp port 7",
    "[tcpecho@1] tcpecho: connection 1 from 10.0.2.2: 3000 bytes echoed",
    "[tcpecho@1] tcpecho: connection 2 from 10.0.2.2: 5000 bytes echoed",
    "[net@3] net server: free sockets at the end: 24 of 24 TCP, 4 of 4 UDP",
    "task net on core 3 exited with status 0",
    "memory: no frames leaked",
];

/// images/net-wire-raw.toml under the same bad traffic: the raw-frame
/// server drops the runts and oversized frames itself, each echo task's
/// own stack the rest, and both keep serving.
pub(crate) const NET_WIRE_RAW: &[&str] = &[
    "[net@3] net server: raw frames, mac 52:54:00:12:34:56, 2 client(s)",
    "[udpecho@0] udpecho: ready on udp port 7",
    "[tcpecho@1] tcpecho: ready on tcp port 7",
    "[tcpecho@1] tcpecho: connection 1 from 10.0.2.2: 3000 bytes echoed",
    "[tcpecho@1] tcpecho: connection 2 from 10.0.2.2: 5000 bytes echoed",
    "task udpecho on core 0 exited with status 0",
    "task net on core 3 exited with status 0",
    "memory: no frames leaked",
];

/// The host's traffic after the bad frames in net-wire-virt.
pub(crate) const NET_WIRE_TRAFFIC: crate::NetTraffic = crate::NetTraffic {
    ready: &[
        "udpecho: ready on udp port 7",
        "tcpecho: ready on tcp port 7",
    ],
    udp: &[1, 100, 1472],
    tcp: &[3000, 5000],
    ..crate::NetTraffic::NONE
};

#[cfg(test)]
mod tests {
    use super::raw_frames_2;

    #[test]
    fn frame_counts_are_checked() {
        let good = [
            "[net@3] net server: client 0: 11 frames delivered, 0 lost (no receive buffer), 10 sent",
            "[net@3] net server: client 1: 117 frames delivered, 1 lost (no receive buffer), 96 sent",
        ];
        assert!(raw_frames_2(&good).is_empty());
        let none_sent = [
            good[0],
            "[net@3] net server: client 1: 117 frames delivered, 1 lost (no receive buffer), 0 sent",
        ];
        assert_eq!(raw_frames_2(&none_sent).len(), 1);
        assert_eq!(raw_frames_2(&good[..1]), ["no frame counts for client 1"]);
    }
}
