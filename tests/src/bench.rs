//! Checks of the benchmark images' output that the suite runs: that the
//! figures `cargo xtask hil` shows on a real board are there and well
//! formed under QEMU.

/// images/bench.toml lets its task read the PMU cycle counter: every
/// benchmark line in ns has a cycles line after it, in the form
/// `bench NAME core N: C cycles total, loop L cycles; P cycles/op`, with
/// a counter that moved (C > 0).
pub(crate) fn cycles_per_op(lines: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let timed: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains(" ns/op"))
        .copied()
        .collect();
    if timed.is_empty() {
        problems.push("no `ns/op` benchmark line".to_string());
    }
    for t in timed {
        let Some((head, _)) = t.split_once(" ops, ") else {
            problems.push(format!("benchmark line without ops: `{t}`"));
            continue;
        };
        let Some((name, _)) = head.rsplit_once(": ") else {
            problems.push(format!("benchmark line without a name: `{t}`"));
            continue;
        };
        let prefix = format!("{name}: ");
        let cycles = lines
            .iter()
            .find(|l| l.starts_with(&prefix) && l.ends_with(" cycles/op"));
        let Some(c) = cycles else {
            problems.push(format!("no cycles line for `{name}`"));
            continue;
        };
        let total: Option<u64> = c[prefix.len()..]
            .split_once(" cycles total")
            .and_then(|(n, _)| n.parse().ok());
        match total {
            Some(n) if n > 0 => {}
            _ => problems.push(format!("cycles line without a moving counter: `{c}`")),
        }
    }
    problems
}

/// The storage benchmark's result lines (`RESULT name=storage ...`).
/// The workloads, in the order the client runs them.
pub const WORKLOADS: [&str; 4] = ["seq-write", "seq-read", "rand-write", "rand-read"];

/// The line the client prints once every block it wrote read back right.
pub const CHECKED: &str = "blocks of 4 KiB read back and checked";

/// One workload's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageLine {
    pub workload: String,
    pub ops: u64,
    pub bytes: u64,
    pub ns: u64,
    /// Instructions retired in the window (`instr=`, the PMU's count),
    /// when the image lets the client read it.
    pub instr: Option<u64>,
}

/// `RESULT name=storage mode=M client=0 ops=O bytes=B ns=N ... [instr=I]`.
pub fn parse_storage(line: &str) -> Option<StorageLine> {
    let rest = line.split_once("RESULT name=storage ")?.1;
    let field = |k: &str| {
        rest.split_whitespace()
            .find_map(|f| f.strip_prefix(k)?.strip_prefix('='))
    };
    Some(StorageLine {
        workload: field("mode")?.to_string(),
        ops: field("ops")?.parse().ok()?,
        bytes: field("bytes")?.parse().ok()?,
        ns: field("ns")?.parse().ok()?,
        instr: field("instr").and_then(|v| v.parse().ok()),
    })
}

/// images/storage-{virtio,sd}.toml (bench/tasks/blkbench): every
/// workload reported exactly once, in order, with requests, 4096 bytes
/// each and a time; and the client's data check passed. The case
/// `storage-rpi4` checks the format `cargo xtask hil` shows on a board;
/// `cargo xtask bench storage` the same before it reads the figures.
pub fn storage_problems(lines: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let got: Vec<StorageLine> = lines.iter().filter_map(|l| parse_storage(l)).collect();
    let names: Vec<&str> = got.iter().map(|l| l.workload.as_str()).collect();
    if names != WORKLOADS {
        out.push(format!(
            "storage result lines for {names:?}, expected one each for {WORKLOADS:?} in that order"
        ));
    }
    for l in &got {
        if l.ops == 0 || l.bytes != 4096 || l.ns == 0 {
            out.push(format!(
                "storage {}: ops={} bytes={} ns={} (want ops > 0, bytes = 4096, ns > 0)",
                l.workload, l.ops, l.bytes, l.ns
            ));
        }
    }
    let malformed = lines
        .iter()
        .filter(|l| l.contains("RESULT name=storage ") && parse_storage(l).is_none())
        .count();
    if malformed > 0 {
        out.push(format!("{malformed} malformed storage result line(s)"));
    }
    if !lines.iter().any(|l| l.contains(CHECKED)) {
        out.push(format!("no `{CHECKED}` line: the data check did not pass"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_timed_line_needs_its_cycles() {
        let ns = "[bench@0] bench null-syscall core 0: 20000 ops, 9 ns total, loop 1 ns; 0 ns/op";
        let cy =
            "[bench@0] bench null-syscall core 0: 700 cycles total, loop 80 cycles; 0 cycles/op";
        assert!(cycles_per_op(&[ns, cy]).is_empty());
        assert_eq!(cycles_per_op(&[ns]).len(), 1);
        assert_eq!(cycles_per_op(&[]).len(), 1);
        let stuck = cy.replace("700 cycles total", "0 cycles total");
        assert_eq!(cycles_per_op(&[ns, &stuck]).len(), 1);
    }

    const GOOD: &str = "\
[blkbench@0] RESULT name=storage mode=seq-write client=0 ops=256 bytes=4096 ns=6741328 t0=1 t1=2
[blkbench@0] RESULT name=storage mode=seq-read client=0 ops=256 bytes=4096 ns=7000592 t0=3 t1=4
[blkbench@0] RESULT name=storage mode=rand-write client=0 ops=256 bytes=4096 ns=6741600 t0=5 t1=6
[blkbench@0] RESULT name=storage mode=rand-read client=0 ops=256 bytes=4096 ns=7000848 t0=7 t1=8
[blkbench@0] blkbench: 256 blocks of 4 KiB read back and checked (2048 sectors on the disk)";

    fn lines(s: &str) -> Vec<&str> {
        s.lines().collect()
    }

    #[test]
    fn whole_output_passes_and_each_fault_is_found() {
        assert!(
            storage_problems(&lines(GOOD)).is_empty(),
            "{:?}",
            storage_problems(&lines(GOOD))
        );
        let missing: Vec<&str> = lines(GOOD)
            .into_iter()
            .filter(|l| !l.contains("rand-read"))
            .collect();
        assert_eq!(storage_problems(&missing).len(), 1);
        let unchecked: Vec<&str> = lines(GOOD)
            .into_iter()
            .filter(|l| !l.contains(CHECKED))
            .collect();
        assert_eq!(storage_problems(&unchecked).len(), 1);
        let zero = GOOD.replace("ns=7000592", "ns=0");
        assert_eq!(storage_problems(&lines(&zero)).len(), 1);
        let bad = GOOD.replace(
            "ops=256 bytes=4096 ns=6741600",
            "ops=x bytes=4096 ns=6741600",
        );
        // The line no longer parses: a workload missing and a malformed line.
        assert_eq!(storage_problems(&lines(&bad)).len(), 2);
        let twice = format!("{GOOD}\n{}", lines(GOOD)[0]);
        assert_eq!(storage_problems(&lines(&twice)).len(), 1);
        assert_eq!(storage_problems(&[]).len(), 2);
    }
}
