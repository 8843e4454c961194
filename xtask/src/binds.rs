//! Bindings: the values an image gives each task by name, written into the
//! task's program when the image is packed (the task side is
//! `servers/lib/ulib/src/bind.rs`; docs/images.md, Bindings).
//!
//! A program declares a binding as a static under the symbol
//! `__bind:KIND:NAME`, holding a placeholder. For each `[[task]]` entry
//! xtask finds those symbols in the task's ELF, and writes into a copy of
//! it what the image gives that entry:
//!
//! | kind | name | value (u64 words after the word 1 = bound) |
//! | --- | --- | --- |
//! | `Slot` | a cap's `as`, or its object's name | the root slot |
//! | `Range` | a `[[range]]` the task links or holds | base, size |
//! | `Client` | a service the task `uses` | its range's base, its index, its wake notification's slot, the server's wake notification's slot (`SERVICE.wake`, 64 = none) |
//! | `Server` | the service the task `provides` | client count, the `SERVICE.ends` slot (64 = none), then per client: base, index, core, its wake notification's slot; then the `SERVICE.wake` slot (64 = none) |
//! | `Value` | a key of the task's `values = { ... }` | the number |
//!
//! A connection the image gives and the program does not declare is an
//! error (the image and the program disagree); a declared binding the
//! image does not give stays unbound, and the program sees `None`.

use anyhow::{bail, Context, Result};
use object::{Object, ObjectSegment, ObjectSymbol};

use crate::image::{Image, ObjectRef};
use kerncore::bootimage::FIRST_GRANT_SLOT;

/// `ulib::bind::UNBOUND_MAGIC`: the first word of every placeholder.
const UNBOUND_MAGIC: u64 = u64::from_le_bytes(*b"UNBOUND\0");
/// `ulib::bind::MAX_CLIENTS`.
const MAX_CLIENTS: usize = crate::image::conns::MAX_CLIENTS;
/// "No slot" in a `Server` value.
const NO_SLOT: u64 = 64;

/// A binding kind and its size in words (with the bound word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Slot,
    Range,
    Client,
    Server,
    Value,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "Slot" => Kind::Slot,
            "Range" => Kind::Range,
            "Client" => Kind::Client,
            "Server" => Kind::Server,
            "Value" => Kind::Value,
            _ => return None,
        })
    }

    fn words(self) -> usize {
        match self {
            Kind::Slot | Kind::Value => 2,
            Kind::Range => 3,
            Kind::Client => 5,
            Kind::Server => 4 + 4 * MAX_CLIENTS,
        }
    }
}

/// One binding an image gives a task: kind, name, value words (without
/// the bound word).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Given {
    pub kind: Kind,
    pub name: String,
    pub words: Vec<u64>,
}

/// Everything the image gives task `i`.
pub fn given(image: &Image, i: usize) -> Vec<Given> {
    let t = &image.tasks[i];
    let mut out = Vec::new();
    let mut give = |kind, name: &str, words: Vec<u64>| {
        out.push(Given {
            kind,
            name: name.to_string(),
            words,
        })
    };
    for (k, (cap, name)) in t.caps.iter().zip(&t.cap_names).enumerate() {
        give(
            Kind::Slot,
            name,
            vec![u64::from(FIRST_GRANT_SLOT) + k as u64],
        );
        if let ObjectRef::Range(j) = cap.object {
            if !t.ranges.contains(&j) {
                let r = &image.ranges[j];
                give(Kind::Range, &r.name, vec![r.base, r.size]);
            }
        }
    }
    for &j in &t.ranges {
        let r = &image.ranges[j];
        give(Kind::Range, &r.name, vec![r.base, r.size]);
    }
    for (name, value) in &t.values {
        give(Kind::Value, name, vec![*value]);
    }
    let slot_of = |j: usize| {
        t.caps
            .iter()
            .position(|c| c.object == ObjectRef::Notification(j))
            .map_or(NO_SLOT, |k| u64::from(FIRST_GRANT_SLOT) + k as u64)
    };
    for s in &image.services {
        if s.server == i {
            let ends = s.ends.map_or(NO_SLOT, slot_of);
            let mut words = vec![s.clients.len() as u64, ends];
            for n in 0..MAX_CLIENTS {
                match s.clients.get(n) {
                    Some(&c) => words.extend([
                        image.ranges[s.first_range + n].base,
                        n as u64,
                        u64::from(image.tasks[c].core),
                        slot_of(s.first_wake + n),
                    ]),
                    None => words.extend([0, 0, 0, NO_SLOT]),
                }
            }
            words.push(s.wake.map_or(NO_SLOT, slot_of));
            give(Kind::Server, &s.name, words);
        }
        if let Some(n) = s.clients.iter().position(|&c| c == i) {
            give(
                Kind::Client,
                &s.name,
                vec![
                    image.ranges[s.first_range + n].base,
                    n as u64,
                    slot_of(s.first_wake + n),
                    s.wake.map_or(NO_SLOT, slot_of),
                ],
            );
        }
    }
    out
}

/// A binding the program declares: kind, name, and where its words are in
/// the ELF file.
#[derive(Debug)]
struct Declared {
    kind: Kind,
    name: String,
    offset: usize,
}

/// The bindings `elf` declares.
fn declared(elf: &[u8]) -> Result<Vec<Declared>> {
    let file = object::File::parse(elf).context("not an ELF file")?;
    let mut out = Vec::new();
    for sym in file.symbols() {
        let Ok(name) = sym.name() else { continue };
        let Some(rest) = name.strip_prefix("__bind:") else {
            continue;
        };
        let Some((kind, key)) = rest.split_once(':') else {
            bail!("symbol {name}: not __bind:KIND:NAME");
        };
        let Some(kind) = Kind::parse(kind) else {
            bail!("symbol {name}: unknown binding kind {kind:?} (Slot, Range, Client, Server)");
        };
        let bytes = kind.words() * 8;
        if sym.size() != bytes as u64 {
            bail!(
                "symbol {name}: {} bytes, but a {kind:?} binding has {bytes} (is ulib the same version?)",
                sym.size()
            );
        }
        let addr = sym.address();
        let Some((start, len)) = file.segments().find_map(|s| {
            let (off, len) = s.file_range();
            (addr >= s.address() && addr + bytes as u64 <= s.address() + len)
                .then(|| (off + (addr - s.address()), len))
        }) else {
            bail!("symbol {name} at {addr:#x}: not in the file's loaded bytes");
        };
        let _ = len;
        let offset = usize::try_from(start)?;
        let first = elf
            .get(offset..offset + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()));
        if first != Some(UNBOUND_MAGIC) {
            bail!("symbol {name}: not a placeholder (its first word is not UNBOUND)");
        }
        out.push(Declared {
            kind,
            name: key.to_string(),
            offset,
        });
    }
    Ok(out)
}

/// `elf` with task `i`'s bindings written in. The error says what the
/// image gives that the program does not declare.
pub fn patch(elf: &[u8], image: &Image, i: usize) -> Result<Vec<u8>> {
    let declared = declared(elf)?;
    let mut out = elf.to_vec();
    let given = given(image, i);
    for g in &given {
        let found = declared
            .iter()
            .find(|d| d.kind == g.kind && d.name == g.name);
        let Some(d) = found else {
            if matches!(g.kind, Kind::Client | Kind::Server) {
                bail!(
                    "the image makes it {} of service {:?} ({}), but its program declares no `ulib::bind!` {:?} binding named {:?}",
                    if g.kind == Kind::Client { "a client" } else { "the server" },
                    g.name,
                    if g.kind == Kind::Client { "uses" } else { "provides" },
                    g.kind,
                    g.name
                );
            }
            continue;
        };
        if given
            .iter()
            .filter(|o| o.kind == g.kind && o.name == g.name)
            .count()
            > 1
        {
            bail!(
                "its program binds {:?} {:?}, and the image gives two of that name: tell them apart with `as = \"...\"`",
                g.kind,
                g.name
            );
        }
        let mut at = d.offset;
        for w in std::iter::once(1).chain(g.words.iter().copied()) {
            out[at..at + 8].copy_from_slice(&w.to_le_bytes());
            at += 8;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_gives_both_ends_their_values() {
        let text = r#"
description = "d"
boards = ["virt"]
kernel_cores = [3]
[[task]]
crate = "console"
core = 3
server = true
provides = "console"
caps = [{ object = "device:uart", rights = "rw" }]
[[task]]
crate = "conclient"
core = 0
uses = ["console"]
[[task]]
crate = "conclient"
core = 1
uses = ["console"]
"#;
        let image =
            crate::image::parse("t", text, &["console".to_string(), "conclient".to_string()])
                .unwrap();
        let base = crate::image::conns::CONN_BASE;
        let server = given(&image, 0);
        assert_eq!(server[0].kind, Kind::Slot);
        assert_eq!((server[0].name.as_str(), server[0].words[0]), ("uart", 2));
        let lock = server.iter().find(|g| g.name == "console-lock").unwrap();
        assert_eq!(
            (lock.kind, lock.words[0]),
            (Kind::Slot, 3),
            "beside the UART"
        );
        let s = server.iter().find(|g| g.kind == Kind::Server).unwrap();
        assert_eq!(&s.words[..2], [2, 4], "two clients, ends in slot 4");
        assert_eq!(
            &s.words[2..10],
            [base, 0, 0, 6, base + (2 << 20), 1, 1, 7],
            "wake notifications in slots 6 and 7"
        );
        assert_eq!(s.words.last(), Some(&5), "its own wake in slot 5");
        let c = given(&image, 2);
        let c = c.iter().find(|g| g.kind == Kind::Client).unwrap();
        assert_eq!(
            c.words,
            [base + (2 << 20), 1, 3, 2],
            "its wake in slot 3, the server's in slot 2"
        );
        assert_eq!(
            image.tasks[2].on_exit,
            [(0, 0b10), (1, 0b10)],
            "its end on SERVICE.ends and SERVICE.wake"
        );
        assert_eq!(
            image.tasks[0].on_exit,
            [(2, 1), (3, 1)],
            "the server wakes both"
        );
    }

    #[test]
    fn values_are_given_by_name() {
        let text = r#"
description = "d"
boards = ["rpi4"]
kernel_cores = [3]
[[task]]
crate = "sd"
core = 3
server = true
values = { partition = 2, other-one = 7 }
"#;
        let image = crate::image::parse("t", text, &["sd".to_string()]).unwrap();
        let values: Vec<(String, Vec<u64>)> = given(&image, 0)
            .into_iter()
            .filter(|g| g.kind == Kind::Value)
            .map(|g| (g.name, g.words))
            .collect();
        assert_eq!(
            values,
            [
                ("other-one".to_string(), vec![7]),
                ("partition".to_string(), vec![2])
            ]
        );
        let bad = text.replace("other-one", "\"bad name\"");
        let e = crate::image::parse("t", &bad, &["sd".to_string()]).unwrap_err();
        assert!(
            format!("{e:#}").contains("values: name \"bad name\""),
            "{e:#}"
        );
    }
}
