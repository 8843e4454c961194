//! Connections the guest opens, in both configurations
//! (images/net-connect.toml, net-connect-raw.toml; docs/network-tests.md,
//! *Connections the guest opens*): the host asks `net-connect` over UDP
//! for a connection to a port of its own, the guest opens it
//! (`TcpConnect`: the server's stack, or in configuration 2 its own) and
//! echoes what the host sends on it.

use crate::NetTraffic;

/// Configuration 1: the connections go through the server's stack, whose
/// pool is whole at the end (the guest closed second: no TIME-WAIT).
pub(crate) const CONNECT: &[&str] = &[
    "[net@3] net server: 10.0.2.15 mac 52:54:00:12:34:56, 1 client(s)",
    "[net-connect@0] net-connect: ready on udp port 7",
    "[net-connect@0] net-connect: connection 1: 3000 bytes echoed, closed after the host's FIN",
    "[net-connect@0] net-connect: connection 2: 20000 bytes echoed, closed after the host's FIN",
    "[net-connect@0] net-connect: 2 connection(s) opened, then quit",
    "task net-connect on core 0 exited with status 0",
    "[net@3] net server: free sockets at the end: 24 of 24 TCP, 4 of 4 UDP",
    "task net on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// Configuration 2: the connections live in the task's own stack.
pub(crate) const CONNECT_RAW: &[&str] = &[
    "[net@3] net server: raw frames, mac 52:54:00:12:34:56, 1 client(s)",
    "[net-connect@0] net-connect: ready on udp port 7",
    "[net-connect@0] net-connect: connection 1: 3000 bytes echoed, closed after the host's FIN",
    "[net-connect@0] net-connect: connection 2: 20000 bytes echoed, closed after the host's FIN",
    "[net-connect@0] net-connect: 2 connection(s) opened, then quit",
    "task net-connect on core 0 exited with status 0",
    "task net on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// Two connections the guest opens, of 3000 and 20 000 bytes each way
/// (more than a socket's 8 KiB buffers), then `quit`.
pub(crate) const CONNECT_TRAFFIC: NetTraffic = NetTraffic {
    ready: &["net-connect: ready on udp port 7"],
    connect: &[3000, 20_000],
    ..NetTraffic::NONE
};
