//! The web server's case (images/web.toml; docs/network.md, *The web
//! server*): what its console must show, the host's traffic, and the
//! check that the three workers between them answered exactly the
//! requests the host made.

use crate::NetTraffic;

/// Connections xtask's web step opens at once in its concurrency step
/// (a case may ask for fewer: `NetTraffic::web_at_once`).
pub const WEB_CONCURRENT: usize = 6;
/// Requests xtask's web step makes (xtask/src/web.rs checks its own
/// count against this) with `at_once` concurrent connections: 8 on one
/// keep-alive connection, 3 pipelined, 6 refused or after a refusal, 25
/// on each concurrent connection.
pub const fn web_requests(at_once: usize) -> u64 {
    8 + 3 + 6 + at_once as u64 * 25
}
/// Connections it opens: 1 + 1 + 5 + `at_once`.
pub const fn web_connections(at_once: usize) -> u64 {
    1 + 1 + 5 + at_once as u64
}
/// Requests and connections of the web step at [`WEB_CONCURRENT`].
pub const WEB_REQUESTS: u64 = web_requests(WEB_CONCURRENT);
/// Connections it opens at [`WEB_CONCURRENT`].
pub const WEB_CONNECTIONS: u64 = web_connections(WEB_CONCURRENT);
/// web-raw-virt's concurrency: its one reachable worker listens with 2
/// sockets and its stack is its own, so a burst of more SYNs than that is
/// reset (smoltcp keeps no SYN queue); configuration 1's three workers
/// listen with 6 between them.
pub const WEB_RAW_AT_ONCE: usize = 2;

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
    served_by(lines, 0..3, WEB_CONCURRENT)
}

/// web-bench-virt (the generated image `web-bench-2` that `cargo xtask
/// bench net` boots): its two workers listen with 4 sockets between them.
pub const WEB_BENCH_AT_ONCE: usize = 4;

/// The generated bench image `web-bench-2`: two workers serve, `q` stops
/// them (the console's worker wakes the other), the server ends, nothing
/// leaks.
pub(crate) const WEB_BENCH: &[&str] = &[
    "[web@0] web: core 0 serving http on port 80 (Ctrl-C or q on the console stops it)",
    "[web@1] web: core 1 serving http on port 80",
    "task web on core 0 exited with status 0",
    "task web on core 1 exited with status 0",
    "[net@3] net server: free sockets at the end:",
    "task net on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// The host's traffic in web-bench-virt.
pub(crate) const WEB_BENCH_TRAFFIC: NetTraffic = NetTraffic {
    ready: &["web: core 0 serving http", "web: core 1 serving http"],
    web: true,
    web_at_once: WEB_BENCH_AT_ONCE,
    after: "q",
    ..NetTraffic::NONE
};

/// web-bench-virt: as [`web_served`], for the bench image's two workers.
pub(crate) fn web_bench_served(lines: &[&str]) -> Vec<String> {
    served_by(lines, 0..2, WEB_BENCH_AT_ONCE)
}

/// The workers on `cores` served exactly the host's web step at
/// `at_once` concurrent connections, and the pool is whole at the end.
fn served_by(lines: &[&str], cores: core::ops::Range<usize>, at_once: usize) -> Vec<String> {
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
    let (conns, reqs) = worker_totals(lines, cores, &mut problems);
    let made = (web_connections(at_once), web_requests(at_once));
    if problems.is_empty() && (conns, reqs) != made {
        problems.push(format!(
            "the workers served {conns} connections and {reqs} requests; the host made {} and {}",
            made.0, made.1
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
    reports(lines, cores, problems)
        .iter()
        .fold((0, 0), |(c, q), &(a, b)| (c + a, q + b))
}

/// images/web-raw.toml: the web server over raw frames (configuration
/// 2): two workers, each with its own stack and address; the host's
/// traffic goes to web0 (10.0.2.15), then `q` stops both, the server and
/// the run end, and nothing leaks.
pub(crate) const WEB_RAW: &[&str] = &[
    "[net@3] net server: raw frames, mac 52:54:00:12:34:56, 2 client(s)",
    "[web@0] web: core 0 serving http on port 80 (Ctrl-C or q on the console stops it)",
    "[web@1] web: core 1 serving http on port 80",
    "task web on core 0 exited with status 0",
    "task web on core 1 exited with status 0",
    "task net on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// The host's traffic in web-raw-virt: the web checks once both workers
/// are up, then `q` on the console.
pub(crate) const WEB_RAW_TRAFFIC: NetTraffic = NetTraffic {
    ready: &["web: core 0 serving http", "web: core 1 serving http"],
    web: true,
    web_at_once: WEB_RAW_AT_ONCE,
    after: "q",
    ..NetTraffic::NONE
};

/// Each worker's report: (connections, requests), if it reported once.
fn reports(
    lines: &[&str],
    cores: core::ops::Range<usize>,
    problems: &mut Vec<String>,
) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
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
            (&[c, r], true) => out.push((c, r)),
            _ => problems.push(format!("worker {core}: unreadable report {line:?}")),
        }
    }
    out
}

/// web-raw-virt: web0, the one the host reaches, served exactly the
/// host's connections and requests; web1, whose address nothing forwards
/// to, none; and the server's frame counts show web0 given and sending
/// frames (its own: the server refuses other source addresses).
pub(crate) fn web_raw_served(lines: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let r = reports(lines, 0..2, &mut problems);
    let made = (
        web_connections(WEB_RAW_AT_ONCE),
        web_requests(WEB_RAW_AT_ONCE),
    );
    if problems.is_empty() && r != [made, (0, 0)] {
        problems.push(format!(
            "the workers served (connections, requests) {r:?}; the host made {made:?} to web0 and none to web1"
        ));
    }
    let counts = lines.iter().find_map(|l| {
        let rest = l.strip_prefix("[net@3] net server: client 0: ")?;
        let (delivered, rest) = rest.split_once(" frames delivered, ")?;
        let sent = rest.split_once(" lost (no receive buffer), ")?.1;
        let sent = sent.strip_suffix(" sent")?;
        Some((delivered.parse::<u64>().ok()?, sent.parse::<u64>().ok()?))
    });
    match counts {
        Some((d, s)) if d > 0 && s > 0 => {}
        c => problems.push(format!("web0's frame counts: {c:?}")),
    }
    problems
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

    #[test]
    fn raw_served_adds_up() {
        let good = [
            "[web@0] web: core 0 stopped: 9 connections, 67 requests answered",
            "[web@1] web: core 1 stopped: 0 connections, 0 requests answered",
            "[net@3] net server: client 0: 900 frames delivered, 0 lost (no receive buffer), 800 sent",
        ];
        assert!(
            web_raw_served(&good).is_empty(),
            "{:?}",
            web_raw_served(&good)
        );
        let mut short = good;
        short[0] = "[web@0] web: core 0 stopped: 9 connections, 66 requests answered";
        assert!(web_raw_served(&short)[0].contains("served"));
        assert!(web_raw_served(&[good[0], good[2]])[0].contains("worker 1 reported 0 times"));
        let mut silent = good;
        silent[2] =
            "[net@3] net server: client 0: 0 frames delivered, 0 lost (no receive buffer), 0 sent";
        assert!(web_raw_served(&silent)[0].contains("frame counts"));
    }
}
