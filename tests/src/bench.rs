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

#[cfg(test)]
mod tests {
    use super::cycles_per_op;

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
}
