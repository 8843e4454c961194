//! Connections: a task that `provides = "SERVICE"` and the tasks that
//! `uses = ["SERVICE"]`. xtask derives everything a connection needs, so no
//! image writes a ring address and no program a slot:
//!
//! - one 2 MiB shared range per client, `SERVICE.N` (N = the client's index,
//!   in image order), linked by that client and the server only, at
//!   [`CONN_BASE`] + service × 1 GiB + N × 2 MiB;
//! - one notification `SERVICE.ends`, granted to the server (read), on
//!   which every client has an exit signal `1 << N`, so the server learns
//!   of a client that ended without closing and never waits for it;
//! - one notification `SERVICE.wake`, the **server's wake** notification:
//!   granted to the server (read: it blocks there) and to every client
//!   (write: it signals it after a request when the server said it
//!   sleeps), with an exit signal `1 << N` of every client on it too, so a
//!   server blocked there hears of an end; an image may deliver a device's
//!   interrupt there as well (`interrupt` on the server's device grant);
//! - one notification `SERVICE.N` per client, its **wake** notification:
//!   granted to client N (read: it blocks there) and to the server (write:
//!   it signals a client that said it is sleeping), with an exit signal of
//!   the server's (bit 0) on each, so a client blocked on a server that
//!   ended wakes;
//! - the bindings (`xtask/src/binds.rs`): `Server:SERVICE` for the server,
//!   `Client:SERVICE` for each client.

use crate::image::RangeEntry;

/// Where the connections' ranges start: 256 GiB, above any range an image
/// writes by hand today; each service has its own 1 GiB.
pub const CONN_BASE: u64 = 0x40_0000_0000;
/// Bytes of a connection's range: one L3 page-table page.
pub const CONN_SIZE: u64 = 2 << 20;
/// Most clients of one service (`ulib::bind::MAX_CLIENTS`).
pub const MAX_CLIENTS: usize = 8;

/// One service of an image, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: String,
    /// Index of the task that provides it.
    pub server: usize,
    /// Indices of its clients' tasks, in image order (client N = `clients[N]`).
    pub clients: Vec<usize>,
    /// Index into the image's ranges of client N's range: `first_range + N`.
    pub first_range: usize,
    /// Index into the image's notifications of `SERVICE.ends` (none
    /// without clients).
    pub ends: Option<usize>,
    /// Index into the image's notifications of `SERVICE.wake` (none
    /// without clients).
    pub wake: Option<usize>,
    /// Index into the image's notifications of client N's wake
    /// notification `SERVICE.N`: `first_wake + N`.
    pub first_wake: usize,
}

/// What a task entry says about connections, as written.
pub struct Ends<'a> {
    pub provides: Option<&'a str>,
    pub uses: &'a [String],
    /// For error lines: `task[i] (crate)`.
    pub entry: String,
}

/// What the connections add to an image.
#[derive(Debug)]
pub struct Derived {
    pub services: Vec<ServiceSpec>,
    /// Appended after the image's own ranges.
    pub ranges: Vec<RangeEntry>,
    /// Appended after the image's own notifications.
    pub notifications: Vec<String>,
}

/// Checks the tasks' `provides` and `uses` and returns the services, the
/// ranges and notifications they add (appended after the image's own:
/// ranges from `ranges_before`, notifications from `notes_before`).
pub fn derive(
    tasks: &[Ends],
    ranges_before: usize,
    notes_before: usize,
) -> Result<Derived, String> {
    let mut services: Vec<ServiceSpec> = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        let Some(name) = t.provides else { continue };
        crate::image::caps::check_name(&format!("{}: provides", t.entry), name)?;
        if name.len() > kerncore::bootimage::NAME_LEN - 5 {
            return Err(format!(
                "{}: provides {name:?}: a service name is at most {} bytes (its ranges and notification are named SERVICE.N and SERVICE.ends)",
                t.entry,
                kerncore::bootimage::NAME_LEN - 5
            ));
        }
        if let Some(s) = services.iter().find(|s| s.name == name) {
            return Err(format!(
                "{}: provides {name:?}, which {} already provides",
                t.entry, tasks[s.server].entry
            ));
        }
        services.push(ServiceSpec {
            name: name.to_string(),
            server: i,
            clients: Vec::new(),
            first_range: 0,
            ends: None,
            wake: None,
            first_wake: 0,
        });
    }
    for (i, t) in tasks.iter().enumerate() {
        for (k, u) in t.uses.iter().enumerate() {
            if t.uses[..k].contains(u) {
                return Err(format!("{}: uses: {u:?} listed twice", t.entry));
            }
            let Some(s) = services.iter_mut().find(|s| &s.name == u) else {
                let known: Vec<&str> = tasks.iter().filter_map(|t| t.provides).collect();
                return Err(format!(
                    "{}: uses {u:?}, but no task provides it (provided: {})",
                    t.entry,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            };
            if s.server == i {
                return Err(format!("{}: uses {u:?}, which it provides itself", t.entry));
            }
            if s.clients.len() == MAX_CLIENTS {
                return Err(format!(
                    "{}: uses {u:?}: a service has at most {MAX_CLIENTS} clients",
                    t.entry
                ));
            }
            s.clients.push(i);
        }
    }
    let (mut ranges, mut notes) = (Vec::new(), Vec::new());
    for (k, s) in services.iter_mut().enumerate() {
        s.first_range = ranges_before + ranges.len();
        for n in 0..s.clients.len() {
            ranges.push(RangeEntry {
                name: format!("{}.{n}", s.name),
                base: CONN_BASE + k as u64 * (1 << 30) + n as u64 * CONN_SIZE,
                size: "2M".to_string(),
            });
        }
        if !s.clients.is_empty() {
            s.ends = Some(notes_before + notes.len());
            notes.push(format!("{}.ends", s.name));
            s.wake = Some(notes_before + notes.len());
            notes.push(format!("{}.wake", s.name));
        }
        s.first_wake = notes_before + notes.len();
        for n in 0..s.clients.len() {
            notes.push(format!("{}.{n}", s.name));
        }
    }
    Ok(Derived {
        services,
        ranges,
        notifications: notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t<'a>(provides: Option<&'a str>, uses: &'a [String], i: usize) -> Ends<'a> {
        Ends {
            provides,
            uses,
            entry: format!("task[{i}] (x)"),
        }
    }

    #[test]
    fn clients_get_ranges_and_exit_bits_in_image_order() {
        let con = vec!["console".to_string()];
        let both = vec!["console".to_string(), "blk".to_string()];
        let none = Vec::new();
        let tasks = [
            t(Some("console"), &none, 0),
            t(None, &con, 1),
            t(Some("blk"), &none, 2),
            t(None, &both, 3),
        ];
        let Derived {
            services: s,
            ranges: r,
            notifications: n,
        } = derive(&tasks, 1, 2).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].server, s[0].clients.clone()), (0, vec![1, 3]));
        assert_eq!((s[1].server, s[1].clients.clone()), (2, vec![3]));
        assert_eq!((s[0].first_range, s[1].first_range), (1, 3));
        assert_eq!((s[0].ends, s[1].ends), (Some(2), Some(6)));
        assert_eq!((s[0].wake, s[1].wake), (Some(3), Some(7)));
        assert_eq!((s[0].first_wake, s[1].first_wake), (4, 8));
        let names: Vec<&str> = r.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["console.0", "console.1", "blk.0"]);
        assert_eq!(r[1].base, CONN_BASE + CONN_SIZE);
        assert_eq!(r[2].base, CONN_BASE + (1 << 30));
        assert_eq!(
            n,
            [
                "console.ends",
                "console.wake",
                "console.0",
                "console.1",
                "blk.ends",
                "blk.wake",
                "blk.0"
            ]
        );
    }

    #[test]
    fn every_mistake_is_one_line() {
        let none = Vec::new();
        let nope = vec!["nope".to_string()];
        let twice = vec!["a".to_string(), "a".to_string()];
        let own = vec!["a".to_string()];
        let e = |tasks: &[Ends]| derive(tasks, 0, 0).unwrap_err();
        assert_eq!(
            e(&[t(Some("a"), &none, 0), t(None, &nope, 1)]),
            "task[1] (x): uses \"nope\", but no task provides it (provided: a)"
        );
        assert_eq!(
            e(&[t(Some("a"), &none, 0), t(None, &twice, 1)]),
            "task[1] (x): uses: \"a\" listed twice"
        );
        assert_eq!(
            e(&[t(Some("a"), &own, 0)]),
            "task[0] (x): uses \"a\", which it provides itself"
        );
        assert_eq!(
            e(&[t(Some("a"), &none, 0), t(Some("a"), &none, 1)]),
            "task[1] (x): provides \"a\", which task[0] (x) already provides"
        );
        assert!(e(&[t(Some("a b"), &none, 0)]).starts_with("task[0] (x): provides: name \"a b\""));
        let many: Vec<Ends> = (0..=MAX_CLIENTS + 1)
            .map(|i| {
                if i == 0 {
                    t(Some("a"), &none, 0)
                } else {
                    t(None, &own, i)
                }
            })
            .collect();
        assert!(e(&many).ends_with("a service has at most 8 clients"));
    }
}
