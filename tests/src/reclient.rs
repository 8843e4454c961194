//! The restarted network client's cases in both configurations
//! (images/net-reclient.toml, net-reclient-raw.toml; docs/network-tests.md, *A
//! client restarted*): `net-reclient`'s first instance faults after 3
//! echoes, the supervisor restarts it, the new instance binds again and
//! echoes the rest of the host's datagrams.

use crate::NetTraffic;

/// Both configurations: the first instance faults after 3 echoes, the
/// second is ready, echoes the rest and quits; tcpecho's streams; no
/// leak. What differs (the server's greeting and its release line, the
/// pool) is [`reclient_released`]'s and [`reclient_raw_released`]'s.
pub(crate) const RECLIENT: &[&str] = &[
    "[net-reclient@0] net-reclient: instance 0 ready on udp port 7",
    "[net-reclient@0] net-reclient: crashing on purpose (test build) after 3 echoes, holding its socket",
    "task net-reclient on core 0 faulted: data abort",
    "task net-reclient on core 0 restarted (restart 1)",
    "[net-reclient@0] net-reclient: instance 1 ready on udp port 7",
    "[net-reclient@0] net-reclient: instance 1:",
    "task net-reclient on core 0 exited with status 0",
    "[tcpecho@1] tcpecho: connection 1 from 10.0.2.2: 3000 bytes echoed",
    "[tcpecho@1] tcpecho: connection 2 from 10.0.2.2: 20000 bytes echoed",
    "task net on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// The host's traffic: 8 datagrams (the fourth meets no socket until the
/// new instance binds: the host's retries bring it), `quit`, and two TCP
/// streams to tcpecho.
pub(crate) const RECLIENT_TRAFFIC: NetTraffic = NetTraffic {
    ready: &[
        "net-reclient: instance 0 ready on udp port 7",
        "tcpecho: ready on tcp port 7",
    ],
    udp: &[100, 200, 300, 400, 500, 600, 700, 800],
    tcp: &[3000, 20_000],
    ..NetTraffic::NONE
};

/// The server released what client 0's dead instance held: it says so
/// once, either when it saw the end (`ended without closing`) or, when
/// the new instance's `hello` came first, when it connected again.
pub(crate) fn released(lines: &[&str], what: &str) -> Vec<String> {
    let found = lines
        .iter()
        .filter(|l| {
            l.contains("net server: client 0 ended without closing: ")
                || l.contains("net server: client 0 connected again: ")
        })
        .collect::<Vec<_>>();
    match found[..] {
        [l] if l.contains(what) => Vec::new(),
        _ => vec![format!(
            "the server should say once that client 0's dead instance's {what} was released; it said {found:?}"
        )],
    }
}

/// Whether a line starts with `want`; a problem if none does.
fn has(lines: &[&str], want: &str) -> Vec<String> {
    if lines.iter().any(|l| l.starts_with(want)) {
        Vec::new()
    } else {
        vec![format!("console has no line `{want}`")]
    }
}

/// Configuration 1: the server's stack; the dead instance's one socket
/// reset; the pool whole at the end.
pub(crate) fn reclient_released(lines: &[&str]) -> Vec<String> {
    let mut p = has(
        lines,
        "[net@3] net server: 10.0.2.15 mac 52:54:00:12:34:56, 2 client(s)",
    );
    p.extend(released(lines, "its 1 socket(s) reset"));
    p.extend(has(
        lines,
        "[net@3] net server: free sockets at the end: 24 of 24 TCP, 4 of 4 UDP",
    ));
    p
}

/// Configuration 2: raw frames; the dead instance's posted receive
/// buffers dropped.
pub(crate) fn reclient_raw_released(lines: &[&str]) -> Vec<String> {
    let mut p = has(
        lines,
        "[net@3] net server: raw frames, mac 52:54:00:12:34:56, 2 client(s)",
    );
    p.extend(released(lines, "receive buffer(s)"));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_release_line_once() {
        let what = "its 1 socket(s) reset";
        let ended = ["[net@3] net server: client 0 ended without closing: its 1 socket(s) reset"];
        let again = ["[net@3] net server: client 0 connected again: its 1 socket(s) reset"];
        assert!(released(&ended, what).is_empty());
        assert!(released(&again, what).is_empty());
        assert_eq!(released(&[], what).len(), 1);
        assert_eq!(released(&[ended[0], again[0]], what).len(), 1);
        let six = ["[net@3] net server: client 0 ended without closing: its 6 socket(s) reset"];
        assert_eq!(released(&six, what).len(), 1);
        let whole = [
            "[net@3] net server: 10.0.2.15 mac 52:54:00:12:34:56, 2 client(s) (instance 1, core 3)",
            ended[0],
            "[net@3] net server: free sockets at the end: 24 of 24 TCP, 4 of 4 UDP",
        ];
        assert!(reclient_released(&whole).is_empty());
        assert_eq!(reclient_released(&whole[..2]).len(), 1);
        assert_eq!(reclient_raw_released(&whole).len(), 2);
    }
}
