//! The restarted network client's case (images/web-reclient.toml;
//! docs/network-tests.md, *A client restarted*): the in-guest load generator
//! faults holding its connections, is restarted, reconnects and is
//! served; what its console must show, and the check that the workers
//! served exactly what both instances asked and the pool is whole.

/// Requests the workers answer: the first instance's warm-up round (6),
/// then the second instance's warm-up (6), 16 keep-alive rounds of 6 and
/// 6 new connections (bench/tasks/webload).
pub const RECLIENT_REQUESTS: u64 = 6 + 6 + 16 * 6 + 6;
/// Connections both instances opened: 6 + 6 + 6.
pub const RECLIENT_CONNECTIONS: u64 = 6 + 6 + 6;

/// images/web-reclient.toml.
pub(crate) const WEB_RECLIENT: &[&str] = &[
    "[web@1] web: core 1 serving http on port 80",
    "[web@2] web: core 2 serving http on port 80",
    "[webload@0] webload: instance 0, 2 worker(s) listen",
    "[webload@0] webload: crashing on purpose (test build) holding 6 connections",
    "task webload on core 0 faulted: data abort",
    "task webload on core 0 restarted (restart 1)",
    "[webload@0] webload: instance 1, 2 worker(s) listen",
    "[webload@0] RESULT name=webload mode=keepalive workers=2 requests=96",
    "[webload@0] RESULT name=webload mode=newconn workers=2 requests=6",
    "[webload@0] webload: 102 requests, every answer checked",
    "task webload on core 0 exited with status 0",
    "task web on core 1 exited with status 0",
    "task web on core 2 exited with status 0",
    "[net@3] net server: 0 frames in, 0 out, 0 device errors",
    "[net@3] net server: free sockets at the end: 24 of 24 TCP, 4 of 4 UDP",
    "task net on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// The server released the dead instance's 6 connections (once, at its
/// end or at the new instance's `hello`), both workers report once, and
/// between them served exactly what the two instances asked.
pub(crate) fn reclient_served(lines: &[&str]) -> Vec<String> {
    let mut problems = crate::reclient::released(lines, "its 6 socket(s) reset");
    let (conns, reqs) = crate::web::worker_totals(lines, 1..3, &mut problems);
    if problems.is_empty() && (conns, reqs) != (RECLIENT_CONNECTIONS, RECLIENT_REQUESTS) {
        problems.push(format!(
            "the workers served {conns} connections and {reqs} requests; the generator made {RECLIENT_CONNECTIONS} and {RECLIENT_REQUESTS}"
        ));
    }
    problems
}

/// netload-virt: the generated image `webload-1` that `cargo xtask bench
/// netload` boots, under `-icount`: the generator makes every request
/// (each answer checked byte for byte in the guest) and prints both
/// phases' results, the worker stops, nothing leaks.
pub(crate) const NETLOAD: &[&str] = &[
    "[webload@0] RESULT name=webload mode=keepalive workers=1 requests=96",
    "[webload@0] RESULT name=webload mode=newconn workers=1 requests=6",
    "task webload on core 0 exited with status 0",
    "task web on core 1 exited with status 0",
    "task net on core 4 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_adds_up() {
        let good = [
            "[web@1] web: core 1 stopped: 13 connections, 93 requests answered",
            "[web@2] web: core 2 stopped: 5 connections, 21 requests answered",
            "[net@3] net server: client 0 ended without closing: its 6 socket(s) reset",
        ];
        assert!(reclient_served(&good).is_empty());
        let wrong = [
            good[0],
            "[web@2] web: core 2 stopped: 5 connections, 20 requests answered",
            good[2],
        ];
        assert!(reclient_served(&wrong)[0].contains("113 requests"));
        assert!(reclient_served(&[good[0], good[2]])[0].contains("worker 2 reported 0 times"));
        assert!(reclient_served(&good[..2])[0].contains("released"));
    }
}
