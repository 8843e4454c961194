//! The web server's case (images/web.toml; docs/network.md, *The web
//! server*): what its console must show, the host's traffic, and the
//! check that the three workers between them answered exactly the
//! requests the host made.

use crate::NetTraffic;

/// Requests xtask's web step makes (xtask/src/web.rs checks its own
/// count against this): 8 on one keep-alive connection, 3 pipelined, 6
/// refused or after a refusal, 6 concurrent connections of 25.
pub const WEB_REQUESTS: u64 = 8 + 3 + 6 + 6 * 25;
/// Connections it opens: 1 + 1 + 5 + 6.
pub const WEB_CONNECTIONS: u64 = 1 + 1 + 5 + 6;

/// images/web.toml: three workers serve, then `q` on the console stops
/// them, the network server ends, and nothing leaks.
pub(crate) const WEB: &[&str] = &[
    "[web@0] web: core 0 serving http on port 80 (Ctrl-C or q on the console stops it)",
    "[web@1] web: core 1 serving http on port 80",
    "[web@2] web: core 2 serving http on port 80",
    "task web on core 0 exited with status 0",
    "task web on core 1 exited with status 0",
    "task web on core 2 exited with status 0",
    "[net@3] net server: free sockets at the end:",
    "task net on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// The host's traffic in web-virt: the web checks once every worker is
/// up, then `q` on the console.
pub(crate) const WEB_TRAFFIC: NetTraffic = NetTraffic {
    ready: &[
        "web: core 0 serving http",
        "web: core 1 serving http",
        "web: core 2 serving http",
    ],
    web: true,
    after: "q",
    ..NetTraffic::NONE
};

/// Every worker (cores 0-2) reports once, their connections and requests
/// add up to what the host made, and every socket is back in the network
/// server's pool (its end waits out smoltcp's 10 s TIME-WAIT of the
/// connections the guest closed first, so none is held back).
pub(crate) fn web_served(lines: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let prefix = "[net@3] net server: free sockets at the end: ";
    let pool = lines.iter().find_map(|l| l.strip_prefix(prefix));
    let nums: Vec<usize> = pool
        .unwrap_or_default()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    match nums[..] {
        [24, 24, 4, 4] => {}
        _ => problems.push(format!(
            "the network server's pool at the end: {pool:?}; expected 24 of 24 TCP, 4 of 4 UDP"
        )),
    }
    let (conns, reqs) = worker_totals(lines, 0..3, &mut problems);
    if problems.is_empty() && (conns, reqs) != (WEB_CONNECTIONS, WEB_REQUESTS) {
        problems.push(format!(
            "the workers served {conns} connections and {reqs} requests; the host made {WEB_CONNECTIONS} and {WEB_REQUESTS}"
        ));
    }
    problems
}

/// The connections and requests the workers on `cores` reported
/// (`web: core C stopped: K connections, R requests answered`), added
/// up; a worker that reported other than once, or unreadably, is a
/// problem.
pub(crate) fn worker_totals(
    lines: &[&str],
    cores: core::ops::Range<usize>,
    problems: &mut Vec<String>,
) -> (u64, u64) {
    let (mut conns, mut reqs) = (0, 0);
    for core in cores {
        let prefix = format!("[web@{core}] web: core {core} stopped: ");
        let found: Vec<_> = lines
            .iter()
            .filter_map(|l| l.strip_prefix(&prefix))
            .collect();
        let [line] = found[..] else {
            problems.push(format!(
                "worker {core} reported {} times, not once",
                found.len()
            ));
            continue;
        };
        let nums: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|w| w.parse().ok())
            .collect();
        match (&nums[..], line.ends_with(" requests answered")) {
            (&[c, r], true) => {
                conns += c;
                reqs += r;
            }
            _ => problems.push(format!("worker {core}: unreadable report {line:?}")),
        }
    }
    (conns, reqs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_adds_up() {
        let good = [
            "[web@0] web: core 0 stopped: 5 connections, 60 requests answered",
            "[web@1] web: core 1 stopped: 4 connections, 57 requests answered",
            "[web@2] web: core 2 stopped: 4 connections, 50 requests answered",
            "[net@3] net server: free sockets at the end: 24 of 24 TCP, 4 of 4 UDP",
        ];
        assert!(web_served(&good).is_empty(), "{:?}", web_served(&good));
        let short = [good[0], good[1], good[3]];
        assert!(web_served(&short)[0].contains("worker 2 reported 0 times"));
        let mut wrong = good;
        wrong[2] = "[web@2] web: core 2 stopped: 4 connections, 49 requests answered";
        assert!(web_served(&wrong)[0].contains("166 requests"));
        let twice = [good[0], good[1], good[2], good[2], good[3]];
        assert!(web_served(&twice)[0].contains("worker 2 reported 2 times"));
        let mut leak = good;
        leak[3] = "[net@3] net server: free sockets at the end: 23 of 24 TCP, 4 of 4 UDP";
        assert!(web_served(&leak)[0].contains("pool at the end"));
        let mut udp = good;
        udp[3] = "[net@3] net server: free sockets at the end: 24 of 24 TCP, 3 of 4 UDP";
        assert!(web_served(&udp)[0].contains("pool at the end"));
    }
}
