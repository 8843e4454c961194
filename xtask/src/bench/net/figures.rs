//! `bench net`'s tables and SVG figures: the web server's requests/s and
//! latency by application cores (ours in configurations 1 and 2 beside
//! Linux), and the UDP echo's achieved rate against the rate requested.

use super::udp::{self, Step};
use super::{Cell, Sweep, CONNECTIONS, CORES};
use crate::bench::svg::{plot, plot_x, Line};

/// A line's points: x, median, min, max.
type Points = Vec<(u32, f64, f64, f64)>;

/// Median, min, max (of a non-empty list).
fn mmm(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// The peers' columns and legends: ours 1, ours 2, Linux.
const PEERS: [(&str, u32, &str); 3] = [
    ("ours", 1, "ours, config 1"),
    ("ours", 2, "ours, config 2"),
    ("Linux", 0, "Linux"),
];

fn find<'a>(cells: &'a [Cell], p: (&str, u32), cores: u32, conns: usize) -> Option<&'a Cell> {
    cells
        .iter()
        .find(|c| (c.peer, c.config) == p && c.cores == cores && c.connections == conns)
}

/// The summary: per core count and connection count, each peer's
/// requests/s (median [min, max] over the runs), its median p50 and p99,
/// each configuration of ours over Linux, and the host's load.
pub fn table(cells: &[Cell]) -> String {
    let mut t = String::from(
        "web server, GET /1k, keep-alive, closed loop (wall time under MTTCG on a loaded host: not evidence; see docs/benchmarks.md)\n\
         ours config 2: connections spread over one forwarded port per worker; config 1 and Linux: one port\n\
         cores conns | ours config 1: req/s [min, max]  p50 us  p99 us | ours config 2: req/s [min, max]  p50 us  p99 us | Linux: req/s [min, max]  p50 us  p99 us | c1/Linux c2/Linux | host load\n",
    );
    for &cores in &CORES {
        for &conns in &CONNECTIONS {
            if !PEERS
                .iter()
                .any(|p| find(cells, (p.0, p.1), cores, conns).is_some())
            {
                continue;
            }
            let show = |c: Option<&Cell>| match c {
                None => (format!("{:>24} {:>7} {:>7}", "-", "-", "-"), None),
                Some(c) => {
                    let (m, lo, hi) = mmm(c.runs.iter().map(|r| r.requests_per_s).collect());
                    let (p50, _, _) = mmm(c.runs.iter().map(|r| r.p50_us).collect());
                    let (p99, _, _) = mmm(c.runs.iter().map(|r| r.p99_us).collect());
                    (
                        format!("{m:>7.0} [{lo:>6.0}, {hi:>6.0}]   {p50:>7.0} {p99:>7.0}"),
                        Some(m),
                    )
                }
            };
            let cols: Vec<_> = PEERS
                .iter()
                .map(|p| show(find(cells, (p.0, p.1), cores, conns)))
                .collect();
            let ratio = |a: Option<f64>| match (a, cols[2].1) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
                _ => "-".into(),
            };
            let load: Vec<f64> = cells
                .iter()
                .filter(|c| c.cores == cores && c.connections == conns)
                .flat_map(|c| c.host_load.iter().copied())
                .collect();
            let load = if load.is_empty() {
                "-".into()
            } else {
                format!("{:.1}", mmm(load).0)
            };
            t += &format!(
                "{cores:>5} {conns:>5} | {} | {} | {} | {:>8} {:>8} | {load}\n",
                cols[0].0,
                cols[1].0,
                cols[2].0,
                ratio(cols[0].1),
                ratio(cols[1].1)
            );
        }
    }
    t
}

/// The UDP table: per size and requested rate, each peer's echoed rate
/// (median over the runs) and loss.
pub fn udp_table(sweeps: &[Sweep]) -> String {
    let mut t = String::from(
        "udp echo, achieved (echoed payload) against requested rate, Mb/s, median over runs (wall time under MTTCG: not evidence)\n\
         size    req | ours config 1: sent  echoed  loss | ours config 2: sent  echoed  loss |  Linux: sent  echoed  loss\n",
    );
    for &size in &udp::SIZES {
        for &rate in &udp::RATES_MBPS {
            let mut row = format!("{size:>4} {rate:>6}");
            let mut any = false;
            for p in PEERS {
                match steps(sweeps, (p.0, p.1), size, rate) {
                    v if v.is_empty() => row += &format!(" | {:>19} {:>7} {:>5}", "-", "-", "-"),
                    v => {
                        any = true;
                        let (sent, _, _) = mmm(v.iter().map(|s| s.offered_mbps).collect());
                        let (got, _, _) = mmm(v.iter().map(|s| s.achieved_mbps).collect());
                        let (loss, _, _) = mmm(v.iter().map(|s| s.loss * 100.0).collect());
                        row += &format!(" | {sent:>19.1} {got:>7.1} {loss:>4.0}%");
                    }
                }
            }
            if any {
                t += &row;
                t += "\n";
            }
        }
    }
    t
}

/// Every run's step of peer `p` at `size` and `rate`.
fn steps(sweeps: &[Sweep], p: (&str, u32), size: usize, rate: u32) -> Vec<Step> {
    sweeps
        .iter()
        .filter(|s| (s.peer, s.config) == p)
        .flat_map(|s| s.steps.iter())
        .filter(|s| s.size == size && s.requested_mbps == f64::from(rate))
        .cloned()
        .collect()
}

/// The figures, by file name: per connection count, requests/s and
/// latency (p50, p99) by application cores; per datagram size, the
/// achieved rate against the rate requested.
pub fn svgs(cells: &[Cell], sweeps: &[Sweep]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let sub = "virt under MTTCG on a loaded 2-core host: wall time, not evidence; median, whiskers min-max";
    for &conns in &CONNECTIONS {
        let series = |f: &dyn Fn(&Cell) -> Vec<f64>| -> Vec<(usize, Points)> {
            PEERS
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let pts = CORES
                        .iter()
                        .filter_map(|&c| find(cells, (p.0, p.1), c, conns))
                        .map(|c| {
                            let (m, lo, hi) = mmm(f(c));
                            (c.cores, m, lo, hi)
                        })
                        .collect();
                    (i, pts)
                })
                .filter(|(_, pts): &(usize, Vec<_>)| !pts.is_empty())
                .collect()
        };
        let rps = series(&|c| c.runs.iter().map(|r| r.requests_per_s).collect());
        if rps.is_empty() {
            continue;
        }
        let lines: Vec<Line> = rps
            .into_iter()
            .map(|(i, points)| Line {
                label: PEERS[i].2.into(),
                points,
                dashed: PEERS[i].0 == "Linux",
                color: i,
            })
            .collect();
        out.push((
            format!("net-web-rps-c{conns}.svg"),
            plot(
                &format!("Web server, GET /1k, {conns} keep-alive connection(s)"),
                sub,
                "requests/s",
                &lines,
            ),
        ));
        let mut lines = Vec::new();
        for (q, name) in [(0, "p50"), (1, "p99")] {
            let pct = move |c: &Cell| -> Vec<f64> {
                c.runs
                    .iter()
                    .map(|r| if q == 0 { r.p50_us } else { r.p99_us })
                    .collect()
            };
            for (i, points) in series(&pct) {
                lines.push(Line {
                    label: format!("{} {name}", PEERS[i].2),
                    points,
                    dashed: q == 1,
                    color: i,
                });
            }
        }
        out.push((
            format!("net-web-latency-c{conns}.svg"),
            plot(
                &format!("Web server latency, {conns} connection(s) (p99 dashed)"),
                sub,
                "latency (us)",
                &lines,
            ),
        ));
    }
    for &size in &udp::SIZES {
        let mut lines: Vec<Line> = PEERS
            .iter()
            .enumerate()
            .map(|(i, p)| Line {
                label: p.2.into(),
                points: udp::RATES_MBPS
                    .iter()
                    .filter_map(|&r| {
                        let v = steps(sweeps, (p.0, p.1), size, r);
                        (!v.is_empty()).then(|| {
                            let (m, lo, hi) = mmm(v.iter().map(|s| s.achieved_mbps).collect());
                            (r, m, lo, hi)
                        })
                    })
                    .collect(),
                dashed: p.0 == "Linux",
                color: i,
            })
            .filter(|l| !l.points.is_empty())
            .collect();
        if lines.is_empty() {
            continue;
        }
        lines.push(Line {
            label: "requested".into(),
            points: udp::RATES_MBPS
                .iter()
                .map(|&r| (r, f64::from(r), f64::from(r), f64::from(r)))
                .collect(),
            dashed: true,
            color: 5,
        });
        out.push((
            format!("net-udp-{size}.svg"),
            plot_x(
                &format!("UDP echo, {size}-byte datagrams: echoed against requested rate"),
                sub,
                "requested rate (Mb/s of payload)",
                "echoed (Mb/s of payload)",
                &lines,
            ),
        ));
    }
    out
}
