//! Host tests that docs/ names what the code defines: every system call,
//! error, event, task state, object kind and right of the ABI crate with
//! its number (docs/syscalls.md, docs/capabilities.md), and every key and
//! keyword an image file may hold (docs/images.md). A variant or key added
//! to the code and not to the manual, or a number changed in one only,
//! fails here. The tables are read by their shape: rows of `| cell | ... |`
//! after a heading.

use abi::{Error, Event, ObjectKind, Rights, Syscall, TaskState};

use crate::build::KernelBuild;
use crate::cli::Board;
use crate::image::caps::board_devices;
use kerncore::bootimage::Hook;

/// The text of `docs/NAME`.
fn doc(name: &str) -> String {
    let path = crate::build::workspace_root().join("docs").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The rows of the first table after the line `heading` (header and
/// separator rows left out), each as its cells, trimmed. `heading` may
/// also be a table's own header row.
fn table_after(text: &str, heading: &str) -> Vec<Vec<String>> {
    let mut lines = text.lines().skip_while(|l| l.trim() != heading).peekable();
    assert!(lines.peek().is_some(), "no heading {heading:?}");
    if !heading.starts_with('|') {
        lines.next();
    }
    let rows: Vec<Vec<String>> = lines
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let inner = l.trim().trim_start_matches('|').trim_end_matches('|');
            inner.split(" | ").map(|c| c.trim().to_string()).collect()
        })
        .collect();
    assert!(rows.len() > 2, "no table after {heading:?}");
    rows.into_iter().skip(2).collect()
}

/// `(number, name)` of every row whose first cell is a number and whose
/// second is a `` `Name` `` (other rows are left out).
fn numbered_rows(rows: &[Vec<String>]) -> Vec<(u64, String)> {
    rows.iter()
        .filter_map(|r| {
            let n = r.first()?;
            let n = match n.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok()?,
                None => n.parse().ok()?,
            };
            let name = r.get(1)?.split('`').nth(1)?.to_string();
            Some((n, name))
        })
        .collect()
}

/// Checks that the table after `heading` in `text` lists exactly `want`
/// (number, name), in any order.
fn lists_exactly(what: &str, text: &str, heading: &str, want: &[(u64, String)]) {
    let mut got = numbered_rows(&table_after(text, heading));
    let mut want = want.to_vec();
    got.sort();
    want.sort();
    assert_eq!(
        got, want,
        "{what}: the table after {heading:?} differs from the code"
    );
}

#[test]
fn syscalls_md_lists_every_call_error_event_and_task_state() {
    let text = doc("syscalls.md");
    let calls: Vec<(u64, String)> = Syscall::ALL
        .iter()
        .map(|c| (*c as u64, format!("{c:?}")))
        .collect();
    lists_exactly("Syscall", &text, "## Calls", &calls);
    let errors: Vec<(u64, String)> = Error::ALL
        .iter()
        .map(|e| (*e as u64, format!("{e:?}")))
        .collect();
    lists_exactly("Error", &text, "## Errors", &errors);
    let events: Vec<(u64, String)> = Event::ALL
        .iter()
        .map(|e| (*e as u64, format!("{e:?}")))
        .collect();
    lists_exactly("Event", &text, "### Events", &events);
    let states: Vec<(u64, String)> = TaskState::ALL
        .iter()
        .map(|s| (*s as u64, format!("{s:?}")))
        .collect();
    lists_exactly("TaskState", &text, "### Task states", &states);
}

#[test]
fn capabilities_md_lists_every_object_kind_and_right() {
    let text = doc("capabilities.md");
    // "Address range" is `AddressRange`: the first cell, spaces removed.
    let mut kinds: Vec<(u64, String)> = table_after(&text, "## Objects")
        .iter()
        .map(|r| {
            let n = r[1].parse().expect("a kind number");
            (n, r[0].replace(' ', "").to_lowercase())
        })
        .collect();
    let mut want: Vec<(u64, String)> = ObjectKind::ALL
        .iter()
        .map(|k| (*k as u64, format!("{k:?}").to_lowercase()))
        .collect();
    kinds.sort();
    want.sort();
    assert_eq!(
        kinds, want,
        "capabilities.md, Objects: not the ObjectKind enum"
    );

    let named = [
        ("READ", Rights::READ),
        ("WRITE", Rights::WRITE),
        ("EXECUTE", Rights::EXECUTE),
        ("GRANT", Rights::GRANT),
    ];
    let all = named.iter().fold(Rights::NONE, |a, (_, r)| a.union(*r));
    assert_eq!(all, Rights::ALL, "a right this test does not name");
    let rows = table_after(&text, "## Rights");
    for (name, right) in named {
        let bit = right.bits().trailing_zeros().to_string();
        assert!(
            rows.iter()
                .any(|r| r[0] == format!("`{name}`") && r[1] == bit),
            "capabilities.md, Rights: no row `{name}` | {bit}"
        );
    }
    assert_eq!(
        rows.len(),
        named.len(),
        "capabilities.md, Rights: extra rows"
    );
}

#[test]
fn images_md_documents_every_key_the_loader_accepts() {
    let text = doc("images.md");
    let fields: Vec<String> = table_after(&text, "## Fields")
        .iter()
        .map(|r| r[0].clone())
        .collect();
    let sections = [
        "kernel",
        "task",
        "range",
        "share",
        "notification",
        "machine",
    ];
    let mut documented = Vec::new();
    for (section, keys) in crate::image::keys::accepted() {
        for key in keys {
            let ok = match section {
                "" if sections.contains(&key.as_str()) => {
                    let (one, many) = (format!("`[{key}] "), format!("`[[{key}]] "));
                    fields
                        .iter()
                        .any(|f| f.starts_with(&one) || f.starts_with(&many))
                }
                "" => fields.contains(&format!("`{key}`")),
                "on_exit" | "caps" => text.contains(&format!("{key} = ")),
                _ => {
                    let cell = format!("`{section} {key}`");
                    documented.push(cell.clone());
                    fields.contains(&cell)
                }
            };
            assert!(
                ok,
                "docs/images.md does not document the key {key:?} of {}",
                if section.is_empty() {
                    "the top level"
                } else {
                    section
                }
            );
            if section.is_empty() && !sections.contains(&key.as_str()) {
                documented.push(format!("`{key}`"));
            }
        }
    }
    for f in &fields {
        assert!(
            documented.contains(f),
            "docs/images.md documents {f}, which the loader does not accept"
        );
    }
}

#[test]
fn images_md_names_every_keyword_value() {
    let text = doc("images.md");
    let rows = table_after(&text, "## Fields");
    let row = |key: &str| {
        rows.iter()
            .find(|r| r[0] == format!("`{key}`"))
            .unwrap_or_else(|| panic!("images.md: no row {key}"))
            .join(" | ")
    };
    for b in Board::ALL {
        assert!(
            row("boards").contains(&format!("\"{}\"", b.name())),
            "board {b}"
        );
    }
    for b in KernelBuild::ALL {
        let name = b.name();
        assert!(
            row("[kernel] build").contains(&format!("\"{name}\"")),
            "build {name}"
        );
    }
    for h in Hook::ALL.into_iter().filter(|h| *h != Hook::None) {
        let name = h.name();
        assert!(
            row("[kernel] hook").contains(&format!("\"{name}\"")),
            "hook {name}"
        );
    }
    for e in ["exit0", "fault", "any"] {
        assert!(
            row("[[task]] expect").contains(&format!("\"{e}\"")),
            "expect {e}"
        );
    }
    let kinds = table_after(&text, "| `object` | names |");
    for kind in ["range", "share", "notification", "task", "device"] {
        assert!(
            kinds.iter().any(|r| r[0] == format!("`{kind}:NAME`")),
            "images.md: no object kind {kind}"
        );
    }
    let devices = kinds
        .iter()
        .find(|r| r[0] == "`device:NAME`")
        .expect("a device row")
        .join(" | ");
    for b in Board::ALL {
        for d in board_devices(b) {
            assert!(
                devices.contains(&format!("`{}`", d.name)),
                "images.md: device {} of {b} not listed",
                d.name
            );
        }
    }
}

/// The image files in images/ (not the generated `kcb-*` ones, which
/// docs/kernel-cores.md describes as a matrix).
#[test]
fn images_md_describes_every_image() {
    let text = doc("images.md");
    let rows = table_after(&text, "## The images");
    let root = crate::build::workspace_root();
    let files = std::fs::read_dir(root.join("images")).expect("images/");
    let names = files.flatten().filter_map(|e| {
        let name = e.file_name().into_string().ok()?;
        Some(name.strip_suffix(".toml")?.to_string())
    });
    for name in names {
        let cell = format!("`{name}`");
        assert!(
            rows.iter().any(|r| r[0].split(", ").any(|c| c == cell)),
            "docs/images.md, The images: no row for images/{name}.toml"
        );
    }
}

#[test]
fn testing_md_names_every_qemu_case() {
    let text = doc("testing.md");
    // The i.MX cases repeat the Pi 4's: one row names them by their base.
    let imx_row = text
        .lines()
        .find(|l| l.starts_with("| `*-imx8mp`"))
        .unwrap_or("");
    for case in qemu_tests::CASES {
        let named = text.contains(&format!("`{}`", case.name))
            || case
                .name
                .strip_suffix("-imx8mp")
                .is_some_and(|base| imx_row.contains(&format!("`{base}`")));
        assert!(
            named,
            "docs/testing.md does not name the QEMU case {}",
            case.name
        );
    }
}
