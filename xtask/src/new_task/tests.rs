//! Host tests of `cargo xtask new-task`, and a check of its chapter,
//! docs/writing-tasks.md, against the user library: every call of a
//! `ulib` system-call wrapper the chapter shows (in its code and in its
//! tables) names a wrapper that exists, with as many arguments as the
//! wrapper takes. The chapter's snippets are condensed, so they are not
//! compiled; this keeps their calls from drifting from the library.

use super::*;
use std::collections::BTreeMap;

/// The public functions of a Rust source and how many parameters each
/// takes (`pub fn NAME(a: A, b: B) -> ...`, over several lines too).
pub fn functions(src: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut rest = src;
    while let Some(at) = rest.find("pub fn ") {
        rest = &rest[at + "pub fn ".len()..];
        let Some(open) = rest.find('(') else { break };
        let name = rest[..open].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(args) = balanced(&rest[open..], true) {
            out.insert(name.to_string(), count_args(args, true));
        }
    }
    out
}

/// Whether `c` opens (`Some(true)`) or closes (`Some(false)`) a bracket;
/// `<` and `>` only in `angle` text (a signature's generics; in a call
/// they are shifts and comparisons).
fn bracket(c: char, angle: bool) -> Option<bool> {
    match c {
        '(' | '[' | '{' => Some(true),
        ')' | ']' | '}' => Some(false),
        '<' if angle => Some(true),
        '>' if angle => Some(false),
        _ => None,
    }
}

/// The text between the parenthesis `s` starts with and its match.
fn balanced(s: &str, angle: bool) -> Option<&str> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match bracket(c, angle) {
            Some(true) => depth += 1,
            Some(false) => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(&s[1..i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Top-level comma-separated items of `args` (a trailing comma allowed).
fn count_args(args: &str, angle: bool) -> usize {
    let mut depth = 0usize;
    let mut n = 0;
    let mut item = false;
    for c in args.chars() {
        match (c, bracket(c, angle)) {
            (_, Some(true)) => {
                depth += 1;
                item = true
            }
            (_, Some(false)) => depth = depth.saturating_sub(1),
            (',', None) if depth == 0 => {
                n += usize::from(item);
                item = false;
            }
            (c, None) if !c.is_whitespace() => item = true,
            _ => {}
        }
    }
    n + usize::from(item)
}

/// Every call `NAME(...)` of a name in `wrappers` in `text` (not preceded
/// by a letter, digit, `_` or `.`: a method of another type is not one),
/// with its argument count.
pub fn calls<'a>(text: &'a str, wrappers: &BTreeMap<String, usize>) -> Vec<(&'a str, usize)> {
    let mut out = Vec::new();
    for (i, _) in text.char_indices() {
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let rest = &text[i..];
        let Some(open) = rest.find('(') else { continue };
        let name = &rest[..open];
        if !wrappers.contains_key(name) {
            continue;
        }
        if let Some(args) = balanced(&rest[open..], false) {
            out.push((name, count_args(args, false)));
        }
    }
    out
}

/// The problems of docs/writing-tasks.md under `root`: calls of unknown
/// arity.
pub fn check(root: &Path) -> Vec<String> {
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let mut wrappers = functions(&read("servers/lib/ulib/src/cap.rs"));
    wrappers.extend(functions(&read("servers/lib/ulib/src/sys.rs")));
    let chapter = read("docs/writing-tasks.md");
    let mut problems = Vec::new();
    let found = calls(&chapter, &wrappers);
    for (name, n) in &found {
        let want = wrappers[*name];
        if *n != want {
            problems.push(format!(
                "docs/writing-tasks.md calls {name} with {n} arguments; ulib's takes {want}"
            ));
        }
    }
    if found.len() < 10 {
        problems.push(format!(
            "docs/writing-tasks.md shows only {} ulib calls: is the parser still right?",
            found.len()
        ));
    }
    problems
}

#[test]
fn names_members_and_layout_rows() {
    assert!(check_name("my-app2").is_ok());
    for bad in ["", "My", "2x", "a_b", "a-very-long-name-past-24-bytes"] {
        assert!(check_name(bad).is_err(), "{bad:?}");
    }
    let m = "[workspace]\nmembers = [\n    \"xtask\",\n]\nx = 1\n";
    assert_eq!(
        add_member(m, "servers/apps/a").unwrap(),
        "[workspace]\nmembers = [\n    \"xtask\",\n    \"servers/apps/a\",\n]\nx = 1\n"
    );
    let r = "| a | b |\n| `tests/tasks/*` | tasks: `x`, `y` |\n| c | d |\n";
    assert_eq!(
        add_to_layout(r, "tests/tasks", "z").unwrap(),
        "| a | b |\n| `tests/tasks/*` | tasks: `x`, `y`, `z` |\n| c | d |\n"
    );
    assert!(add_to_layout(r, "bench/tasks", "z").is_err());
}

#[test]
fn signatures_and_calls_are_counted() {
    let src = "pub fn map(\n    range: CPtr,\n    va: u64,\n) -> Result<(), Error> {}\n\
                   pub fn free_slot() -> Option<CPtr> {}\n\
                   pub fn f(a: Option<(u8, u8)>, b: impl Fn(u8, u8)) {}\n";
    let w = functions(src);
    assert_eq!(w["map"], 2);
    assert_eq!(w["free_slot"], 0);
    assert_eq!(w["f"], 2);
    let text = "map(a, 2 << 20)?; x.map(|v| v); free_slot()?; remap(a); map(f(a, b), c, d,)";
    assert_eq!(
        calls(text, &w),
        vec![("map", 2), ("free_slot", 0), ("map", 3), ("f", 2)]
    );
}

#[test]
fn the_chapter_calls_ulib_as_it_is() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let problems = check(root);
    assert!(problems.is_empty(), "{problems:#?}");
}
