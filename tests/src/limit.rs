//! Whole-console checks of the time-limit image (images/time-limit.toml):
//! the report the kernel prints when the run's time runs out, and the
//! stream `forever` prints through the console server meanwhile. The
//! report must come out whole, between whole server lines
//! (docs/console.md, *Panics* and *The time limit*).

/// images/time-limit.toml: the report names every task of every core
/// with its state (the report's form: [`report`]).
pub(crate) const TIME_LIMIT: &[&str] = &[
    "time limit: 10 s",
    "core 0: task forever (priority 1):",
    "core 1: task forever (priority 2): running",
    "core 1: task hello (priority 1): ready, not running",
    "core 2: task hello (priority 1): blocked in Wait on notification never",
    "core 2: task crasher (priority 1): faulted",
    "core 2: task hello (priority 1): ended: exited with status 0",
    "core 3: task console (priority 1):",
];

/// Line `i` of the stream `tests/tasks/forever` prints through the console
/// server (its `line`).
pub fn forever_line(i: u64) -> String {
    let payload: String = (0..40)
        .map(|k| (b'a' + ((i * 7 + k) % 26) as u8) as char)
        .collect();
    format!("forever: line {i:06} {payload}")
}

/// Every line holding `forever:` is a whole line of the stream, the
/// stream is numbered 0, 1, 2, ... without a gap or a repeat, and at least
/// one line came out.
pub fn forever_stream(lines: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut next = 0u64;
    for l in lines.iter().filter(|l| l.contains("forever:")) {
        let n = l
            .strip_prefix("forever: line ")
            .and_then(|r| r.get(..6))
            .and_then(|d| d.parse::<u64>().ok());
        match n {
            Some(n) if *l == forever_line(n) && n == next => next += 1,
            Some(n) if *l == forever_line(n) => {
                problems.push(format!("stream line {n} where line {next} was due"));
                next = n + 1;
            }
            _ => problems.push(format!("stream line not whole: `{l}`")),
        }
    }
    if next == 0 && problems.is_empty() {
        problems.push("no line of forever's console stream".to_string());
    }
    problems.truncate(20);
    problems
}

/// The report's first line ends with this.
pub const REPORT_HEADER_END: &str = "noticed); every task on each core:";

/// Whether `l` is a line of the report's body: `core N: no task`, or
/// `core N: task NAME (priority P): STATE` with a state the kernel names
/// (`task::report`).
pub fn is_report_line(l: &str) -> bool {
    let Some((n, rest)) = l.strip_prefix("core ").and_then(|r| r.split_once(": ")) else {
        return false;
    };
    if n.parse::<u32>().is_err() {
        return false;
    }
    if rest == "no task" {
        return true;
    }
    let Some((name, rest)) = rest
        .strip_prefix("task ")
        .and_then(|r| r.split_once(" (priority "))
    else {
        return false;
    };
    let Some((p, state)) = rest.split_once("): ") else {
        return false;
    };
    let named = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let state_ok = ["running", "ready, not running", "faulted", "ended: stopped"].contains(&state)
        || state.starts_with("blocked in Wait on notification ")
        || state.starts_with("blocked in Wait on a notification made at run time (object ")
        || state.starts_with("ended: exited with status ")
        || state == "ended: exited (its status is on its exit line)";
    named && p.parse::<u16>().is_ok() && state_ok && !state.contains("forever:")
}

/// The report: one header line `TIME LIMIT: the run's S s are over (core N
/// noticed); ...`, then only lines of the report's body
/// ([`is_report_line`]) up to `exit status 104`. The kernel starts the
/// report with a newline, so after a whole line an empty line comes
/// before the header; anything else there is a line the report cut.
pub fn report(lines: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let headers: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains("TIME LIMIT"))
        .collect();
    let &[at] = headers.as_slice() else {
        return vec![format!(
            "{} lines name the TIME LIMIT, want one",
            headers.len()
        )];
    };
    let header = lines[at];
    match at.checked_sub(1).map(|i| lines[i]) {
        Some("") => {}
        Some(cut) => problems.push(format!("the report cut a line: `{cut}`")),
        None => problems.push("the report is the console's first line".to_string()),
    }
    if !(header.starts_with("TIME LIMIT: the run's ") && header.ends_with(REPORT_HEADER_END)) {
        problems.push(format!("report header not whole: `{header}`"));
    }
    let mut ended = false;
    for l in &lines[at + 1..] {
        if *l == "exit status 104" {
            ended = true;
            break;
        }
        if !is_report_line(l) {
            problems.push(format!("report line not whole: `{l}`"));
        }
    }
    if !ended {
        problems.push("the report does not end with `exit status 104`".to_string());
    }
    problems
}

/// Both checks.
pub fn time_limit(lines: &[&str]) -> Vec<String> {
    let mut p = report(lines);
    p.extend(forever_stream(lines));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stream: u64) -> Vec<String> {
        let mut v: Vec<String> = (0..stream).map(forever_line).collect();
        v.push(String::new());
        v.push(format!(
            "TIME LIMIT: the run's 10 s are over (core 2 {REPORT_HEADER_END}"
        ));
        v.push("core 0: task forever (priority 1): running".into());
        v.push("core 1: task hello (priority 1): blocked in Wait on notification never".into());
        v.push("core 2: no task".into());
        v.push("exit status 104".into());
        v
    }

    fn check(v: &[String]) -> Vec<String> {
        let lines: Vec<&str> = v.iter().map(String::as_str).collect();
        time_limit(&lines)
    }

    #[test]
    fn a_whole_report_after_a_whole_stream_passes() {
        assert_eq!(check(&run(5)), Vec::<String>::new());
    }

    #[test]
    fn a_report_split_by_a_server_line_fails() {
        let mut v = run(5);
        let split = forever_line(5);
        let (a, b) = split.split_at(20);
        // The server's line 5 started, the report's line came inside it.
        v[6] = format!("TIME LIMIT: the run{a}'s 10 s are over (core 2 {REPORT_HEADER_END}");
        v.insert(7, b.to_string());
        assert!(!check(&v).is_empty());
        // A server line between two report lines.
        let mut v = run(5);
        v.insert(8, forever_line(5));
        assert!(!check(&v).is_empty());
        // A fragment inside a report line.
        let mut v = run(5);
        v[7] = format!(
            "core 0: task fore{}ver (priority 1): running",
            &forever_line(5)[..10]
        );
        assert!(!check(&v).is_empty());
    }

    #[test]
    fn report_lines_are_recognised() {
        for good in [
            "core 3: no task",
            "core 0: task forever (priority 2): running",
            "core 1: task hello (priority 1): ready, not running",
            "core 2: task blk-crash (priority 1): faulted",
            "core 2: task hello (priority 1): ended: exited with status 0",
            "core 2: task hello (priority 1): ended: exited (its status is on its exit line)",
            "core 2: task hello (priority 1): ended: stopped",
            "core 2: task hello (priority 1): blocked in Wait on notification console.0",
            "core 2: task hello (priority 1): blocked in Wait on a notification made at run time (object 7)",
        ] {
            assert!(is_report_line(good), "{good}");
        }
        for bad in [
            "core x: no task",
            "core 1: task forever",
            "core 1: task forever (priority 1): spinning",
            "core 1: task (priority 1): running",
            "core 1: task hello (priority one): running",
            "forever: line 000001 core 1: no task",
        ] {
            assert!(!is_report_line(bad), "{bad}");
        }
    }

    #[test]
    fn a_server_line_cut_by_the_report_fails() {
        // The report began while the server wrote line 5; the rest of it
        // never came (as seen before the report took the shared lock).
        let mut v = run(5);
        v[5] = forever_line(5)[..12].to_string();
        assert!(!check(&v).is_empty());
        let mut v = run(5);
        v[5] = "fo".to_string();
        assert!(!check(&v).is_empty());
    }

    #[test]
    fn lost_repeated_or_missing_stream_lines_fail() {
        let mut v = run(5);
        v.remove(2);
        assert!(!check(&v).is_empty());
        let mut v = run(5);
        v.insert(3, forever_line(2));
        assert!(!check(&v).is_empty());
        assert!(!check(&run(0)).is_empty());
        let mut v = run(5);
        v.pop();
        assert!(!check(&v).is_empty());
    }
}
