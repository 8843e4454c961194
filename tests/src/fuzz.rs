//! The fuzzer's console lines (tests/tasks/fuzz): each instance's summary
//! and its statuses, read by the `fuzz-*` cases and by `cargo xtask fuzz`.

/// `fuzz ROLE CORE restart K: seed S: C calls, N results checked, F
/// failures, R registers changed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// `core` (a fuzzer) or `supervisor`.
    pub role: String,
    pub core: u32,
    pub restart: u32,
    pub seed: u64,
    pub calls: u64,
    pub checked: u64,
    pub failures: u64,
    pub clobbers: u64,
}

/// The text after a task's `[NAME@CORE] ` prefix, if the line has one.
fn body(line: &str) -> &str {
    let line = line.trim();
    match line.strip_prefix('[').and_then(|l| l.split_once("] ")) {
        Some((_, rest)) => rest,
        None => line,
    }
}

/// `fuzz ROLE CORE restart K: REST` -> (role, core, restart, REST).
fn head(line: &str) -> Option<(&str, u32, u32, &str)> {
    let rest = body(line).strip_prefix("fuzz ")?;
    let (who, rest) = rest.split_once(": ")?;
    let mut w = who.split(' ');
    let role = w.next()?;
    let core = w.next()?.parse().ok()?;
    (w.next()? == "restart").then_some(())?;
    let restart = w.next()?.parse().ok()?;
    Some((role, core, restart, rest))
}

/// Parses a summary line.
pub fn summary(line: &str) -> Option<Summary> {
    let (role, core, restart, rest) = head(line)?;
    let rest = rest.strip_prefix("seed ")?;
    let (seed, rest) = rest.split_once(": ")?;
    let seed = u64::from_str_radix(seed.strip_prefix("0x")?, 16).ok()?;
    let mut n = rest.split(", ").map(|part| {
        part.split_once(' ')
            .and_then(|(n, _)| n.parse::<u64>().ok())
    });
    Some(Summary {
        role: role.to_string(),
        core,
        restart,
        seed,
        calls: n.next()??,
        checked: n.next()??,
        failures: n.next()??,
        clobbers: n.next()??,
    })
}

/// Parses a statuses line: `(code, count)` pairs (code 16: a status that
/// is no error code).
pub fn statuses(line: &str) -> Option<Vec<(u64, u64)>> {
    let (_, _, _, rest) = head(line)?;
    let rest = rest.strip_prefix("statuses")?;
    rest.split_whitespace()
        .map(|p| {
            let (c, n) = p.split_once(':')?;
            Some((c.parse().ok()?, n.parse().ok()?))
        })
        .collect()
}

/// What a fuzz run must show: a summary, with at least `calls` calls (a
/// quarter of that for the supervisor), for a fuzzer on each of `cores`
/// cores (up to 4) and the supervisor, one from each fuzzer's restarted
/// instance, and no failure or changed register in any.
pub fn check_run(lines: &[&str], cores: u32, calls: u64) -> Vec<String> {
    let all: Vec<Summary> = lines.iter().filter_map(|l| summary(l)).collect();
    let mut problems = Vec::new();
    let wanted =
        (0..cores.min(4))
            .map(|c| ("core", c, calls))
            .chain([("supervisor", 0, calls / 4)]);
    for (role, core, least) in wanted {
        match all
            .iter()
            .find(|s| s.role == role && s.core == core && s.restart == 0)
        {
            None => problems.push(format!("no summary from the fuzz {role} on core {core}")),
            Some(s) if s.calls < least => problems.push(format!(
                "fuzz {role} {core}: {} calls, want at least {least}",
                s.calls
            )),
            Some(_) => {}
        }
    }
    // The supervisor restarts every fuzzer once they have all ended.
    for core in 0..cores.min(4) {
        if !all
            .iter()
            .any(|s| s.role == "core" && s.core == core && s.restart == 1)
        {
            problems.push(format!(
                "no summary from the restarted fuzzer on core {core}"
            ));
        }
    }
    for s in &all {
        if s.failures != 0 || s.clobbers != 0 {
            problems.push(format!(
                "fuzz {} {} restart {}: {} failures, {} registers changed",
                s.role, s.core, s.restart, s.failures, s.clobbers
            ));
        }
    }
    problems
}

/// The `fuzz-*` cases' check: the defaults of images/fuzz.toml (100 000
/// calls per core) on four cores.
pub fn fuzz_4(lines: &[&str]) -> Vec<String> {
    check_run(lines, 4, 100_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "[fuzz@2] fuzz core 2 restart 0: seed 0x1: 100012 calls, 70000 results checked, 0 failures, 0 registers changed";

    #[test]
    fn lines_parse() {
        let s = summary(GOOD).expect("parses");
        assert_eq!(
            (s.role.as_str(), s.core, s.restart, s.seed),
            ("core", 2, 0, 1)
        );
        assert_eq!(
            (s.calls, s.checked, s.failures, s.clobbers),
            (100012, 70000, 0, 0)
        );
        let st = statuses("[fuzz@0] fuzz supervisor 0 restart 0: statuses 0:10 12:5 16:1");
        assert_eq!(st, Some(vec![(0, 10), (12, 5), (16, 1)]));
        assert_eq!(summary("[fuzz@0] fuzz victim: faulted 3 times"), None);
    }

    #[test]
    fn a_run_is_judged() {
        let line = |role: &str, core: u32, calls: u64, failures: u64| {
            format!("[fuzz@{core}] fuzz {role} {core} restart 0: seed 0x1: {calls} calls, 5 results checked, {failures} failures, 0 registers changed")
        };
        let mut all: Vec<String> = (0..4).map(|c| line("core", c, 100_000, 0)).collect();
        all.push(line("supervisor", 0, 25_000, 0));
        all.extend((0..4).map(|c| line("core", c, 2_000, 0).replace("restart 0", "restart 1")));
        let lines: Vec<&str> = all.iter().map(String::as_str).collect();
        assert!(fuzz_4(&lines).is_empty(), "{:?}", fuzz_4(&lines));
        // A missing core, too few calls, a failure: each a problem.
        assert_eq!(fuzz_4(&lines[1..]).len(), 1);
        assert_eq!(fuzz_4(&lines[..5]).len(), 4, "no restarted instances");
        let short = line("core", 1, 99, 0);
        let failed = line("core", 2, 100_000, 3);
        let mut bad = lines.clone();
        bad[1] = &short;
        bad[2] = &failed;
        assert_eq!(fuzz_4(&bad).len(), 2, "{:?}", fuzz_4(&bad));
    }
}
