//! Tests of the archive's reader: a writer of its own (`Spec`, written
//! independently of xtask's) and what a good archive decodes to; what
//! a bad one is refused with (`refused.rs`), and hostile bytes
//! (`hostile.rs`).

use super::*;
extern crate std;
use std::vec::Vec;

/// A test archive, written independently of xtask's writer.
#[derive(Default)]
struct Spec<'a> {
    /// (name, core, priority, flags, elf)
    tasks: Vec<(&'a str, u32, u16, u16, &'a [u8])>,
    /// (name, base, size)
    ranges: Vec<(&'a str, u64, u64)>,
    shares: Vec<&'a str>,
    notifications: Vec<&'a str>,
    /// (name, kind)
    devices: Vec<(&'a str, u32)>,
    /// Device `j`'s interrupt: (j, holder task + 1, notification, bits).
    interrupts: Vec<(usize, u32, u32, u64)>,
    /// (holder kind, object kind, rights, holder, object, slot)
    caps: Vec<[u32; 6]>,
    /// (task, notification, bits)
    exits: Vec<(u32, u32, u64)>,
    kernel_cores: u64,
}

fn name(out: &mut Vec<u8>, n: &str) {
    let mut b = [0u8; NAME_LEN];
    b[..n.len()].copy_from_slice(n.as_bytes());
    out.extend_from_slice(&b);
}

fn pad_entry(out: &mut Vec<u8>) {
    out.resize(out.len().next_multiple_of(ENTRY), 0);
}

impl Spec<'_> {
    fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        for n in [
            self.tasks.len(),
            self.ranges.len(),
            self.shares.len(),
            self.notifications.len(),
            self.devices.len(),
            self.caps.len(),
        ] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        out.extend_from_slice(&self.kernel_cores.to_le_bytes());
        out.extend_from_slice(&(self.exits.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        let entries = self.tasks.len()
            + self.ranges.len()
            + self.shares.len()
            + self.notifications.len()
            + self.devices.len()
            + self.caps.len()
            + self.exits.len();
        let mut off = HEADER + entries * ENTRY;
        for (n, core, prio, flags, elf) in &self.tasks {
            name(&mut out, n);
            out.extend_from_slice(&core.to_le_bytes());
            out.extend_from_slice(&prio.to_le_bytes());
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&(off as u64).to_le_bytes());
            out.extend_from_slice(&(elf.len() as u64).to_le_bytes());
            off += elf.len();
        }
        for (n, base, size) in &self.ranges {
            name(&mut out, n);
            out.extend_from_slice(&base.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            pad_entry(&mut out);
        }
        for n in self.shares.iter().chain(&self.notifications) {
            name(&mut out, n);
            pad_entry(&mut out);
        }
        for (j, (n, kind)) in self.devices.iter().enumerate() {
            name(&mut out, n);
            out.extend_from_slice(&kind.to_le_bytes());
            if let Some((_, task, note, bits)) = self.interrupts.iter().find(|i| i.0 == j) {
                out.extend_from_slice(&task.to_le_bytes());
                out.extend_from_slice(&note.to_le_bytes());
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&bits.to_le_bytes());
            }
            pad_entry(&mut out);
        }
        for [hk, ok, rights, holder, object, slot] in &self.caps {
            out.extend_from_slice(&[*hk as u8, *ok as u8, *rights as u8, 0]);
            for w in [holder, object, slot] {
                out.extend_from_slice(&w.to_le_bytes());
            }
            pad_entry(&mut out);
        }
        for (task, notification, bits) in &self.exits {
            out.extend_from_slice(&task.to_le_bytes());
            out.extend_from_slice(&notification.to_le_bytes());
            out.extend_from_slice(&bits.to_le_bytes());
            pad_entry(&mut out);
        }
        for (.., elf) in &self.tasks {
            out.extend_from_slice(elf);
        }
        out
    }
}

fn tasks_only<'a>(tasks: &[(&'a str, u32, u16, &'a [u8])]) -> Vec<u8> {
    Spec {
        tasks: tasks.iter().map(|&(n, c, p, e)| (n, c, p, 0, e)).collect(),
        ..Spec::default()
    }
    .build()
}

/// Holder kinds, object kinds and rights as the archive writes them.
const T: u32 = 1;
const S: u32 = 2;
const SEG: u32 = ObjectKind::Segment as u32;
const RANGE: u32 = ObjectKind::AddressRange as u32;
const SHARE: u32 = ObjectKind::Share as u32;
const NOTE: u32 = ObjectKind::Notification as u32;
const TASK: u32 = ObjectKind::Task as u32;

/// Every kind of entry: a server on kernel core 3, a supervisor, a
/// shared share holding a range and a notification, grants to tasks.
fn full() -> Spec<'static> {
    Spec {
        tasks: std::vec![
            ("hello", 0, 1, 1 << 8, b"ELF-A"),
            ("console", 3, 2, FLAG_SERVER, b"ELF-BB"),
            ("hello", 1, 1, 0, b""),
        ],
        ranges: std::vec![("shm", 0x1_0000_0000, 2 << 20)],
        shares: std::vec!["pool"],
        notifications: std::vec!["bell", "gong"],
        devices: std::vec![("uart", 1), ("virtio-blk", 2)],
        interrupts: std::vec![(1, 2, 1, 1 << 8)],
        caps: std::vec![
            [T, SHARE, 0b1011, 0, 0, 2],
            [T, SHARE, 0b0011, 1, 0, 2],
            [T, SEG, 0b0011, 1, 0, 3],
            [T, SEG, 0b0011, 1, 1, 62],
            [T, TASK, 0b0101, 1, 2, 63],
            [S, RANGE, 0b0011, 0, 0, 0],
            [S, NOTE, 0b1011, 0, 1, 1],
        ],
        exits: std::vec![(0, 1, 0b10), (2, 0, 1), (2, 1, 1 << 40)],
        kernel_cores: 1 << 3,
    }
}

#[test]
fn round_trip() {
    let bytes = tasks_only(&[("hello", 0, 1, b"ELF-A"), ("worker", 3, 2, b"ELF-BB")]);
    let a = Archive::parse(&bytes).unwrap();
    let v: Vec<_> = a.iter().collect();
    assert_eq!(v.len(), 2);
    assert_eq!(
        v[0],
        TaskEntry {
            name: "hello",
            core: 0,
            priority: 1,
            flags: 0,
            elf: b"ELF-A"
        }
    );
    assert_eq!(v[1].name, "worker");
    assert_eq!(v[1].elf, b"ELF-BB");
    assert_eq!(a.kernel_cores(), 0);
    assert_eq!((a.share_count(), a.cap_count()), (0, 0));
}

#[test]
fn every_section_round_trips() {
    let bytes = full().build();
    let a = Archive::parse(&bytes).expect("parses");
    assert_eq!(a.kernel_cores(), 0b1000);
    assert_eq!(a.len(), 3);
    let console = a.entry(1).unwrap();
    assert!(console.is_server());
    assert_eq!(console.elf, b"ELF-BB");
    let hello = a.entry(0).unwrap();
    assert!(!hello.is_server() && hello.links() == 1);
    assert_eq!(a.range(0).map(|r| r.name), Some("shm"));
    assert_eq!(a.share_count(), 1);
    assert_eq!(a.share(0), Some(NamedEntry { name: "pool" }));
    assert_eq!(a.share(1), None);
    assert_eq!(a.notification_count(), 2);
    assert_eq!(a.notification(1), Some(NamedEntry { name: "gong" }));
    assert_eq!(a.notification(2), None);
    assert_eq!(a.device_count(), 2);
    assert_eq!(
        a.device(1),
        Some(DeviceEntry {
            name: "virtio-blk",
            kind: DeviceKind::VirtioBlk,
            interrupt: Some(DeviceInterrupt {
                task: 1,
                notification: 1,
                bits: 1 << 8
            })
        })
    );
    assert_eq!(a.device(2), None);
    assert_eq!(a.cap_count(), 7);
    let rw = Rights::READ.union(Rights::WRITE);
    assert_eq!(
        a.cap(0),
        Ok(CapEntry {
            holder: Holder::Task(0),
            object: ImageObject::Share(0),
            rights: rw.union(Rights::GRANT),
            slot: FIRST_GRANT_SLOT,
        })
    );
    assert_eq!(
        a.cap(3).map(|c| (c.object, c.slot)),
        Ok((ImageObject::Device(1), 62))
    );
    assert_eq!(a.cap(3).map(|c| c.object.kind()), Ok(ObjectKind::Segment));
    assert_eq!(
        a.cap(4),
        Ok(CapEntry {
            holder: Holder::Task(1),
            object: ImageObject::Task(2),
            rights: Rights::READ.union(Rights::EXECUTE),
            slot: 63,
        })
    );
    assert_eq!(a.cap(4).map(|c| c.object.kind()), Ok(ObjectKind::Task));
    assert_eq!(
        a.cap(6),
        Ok(CapEntry {
            holder: Holder::Share(0),
            object: ImageObject::Notification(1),
            rights: rw.union(Rights::GRANT),
            slot: 1,
        })
    );
    assert_eq!(a.cap(7), Err(ArchiveError::NoSuchEntry(7)));
    assert_eq!(a.entry(3), Err(ArchiveError::NoSuchEntry(3)));
    assert_eq!(a.caps().count(), 7);
    let exits = |t| a.exit_signals(t).collect::<Vec<_>>();
    assert_eq!(exits(0), [(1, 0b10)]);
    assert_eq!(exits(1), []);
    assert_eq!(exits(2), [(0, 1), (1, 1 << 40)]);
    assert_eq!(exits(3), []);
    assert_eq!((ROOT_SLOT_RANGE, ROOT_SLOT_SHARE, SHARE_SLOTS), (0, 1, 64));
}

#[test]
fn kernel_options_decode_only_what_they_define() {
    for hook in Hook::ALL {
        for block_in_kernel in [false, true] {
            for cycle_counter in [false, true] {
                let o = KernelOptions {
                    hook,
                    block_in_kernel,
                    cycle_counter,
                };
                assert_eq!(KernelOptions::decode(o.encode()), Some(o));
                assert_eq!(
                    o.needs_test_build(),
                    hook != Hook::None || block_in_kernel,
                    "the cycle counter needs no test build"
                );
            }
        }
    }
    assert_eq!(KernelOptions::decode(0), Some(KernelOptions::NONE));
    assert_eq!(KernelOptions::decode(5), None, "hook 5 is not defined");
    assert_eq!(
        KernelOptions::decode(1 << 10),
        None,
        "bit 10 is not defined"
    );
    assert_eq!(KernelOptions::decode(1 << 31), None);
    let mut b = tasks_only(&[("a", 0, 0, b"xyz")]);
    assert_eq!(Archive::parse(&b).unwrap().options(), KernelOptions::NONE);
    b[44..48].copy_from_slice(&(Hook::Hang as u32 | OPTION_BLOCK_IN_KERNEL).to_le_bytes());
    let o = Archive::parse(&b).unwrap().options();
    assert_eq!((o.hook, o.block_in_kernel), (Hook::Hang, true));
    b[44] = 9; // hook 9
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadHeader));
}

#[test]
fn at_most_eight_tasks_per_core() {
    let elf: &[u8] = b"x";
    let eight: Vec<(&str, u32, u16, &[u8])> = (0..8).map(|_| ("t", 1, 1, elf)).collect();
    assert_eq!(Archive::parse(&tasks_only(&eight)).unwrap().len(), 8);
    let mut nine = eight.clone();
    nine.insert(3, ("u", 2, 1, elf));
    nine.push(("t", 1, 1, elf));
    assert_eq!(
        Archive::parse(&tasks_only(&nine)).err(),
        Some(ArchiveError::TooManyTasks(9))
    );
}

mod hostile;
mod refused;

/// The written-out `Debug` of `ArchiveError` prints what the derived one
/// printed (console lines and host messages keep their text).
#[test]
fn archive_error_debug_is_the_derived_text() {
    use std::format;
    let cases = [
        (ArchiveError::BadMagic, "BadMagic"),
        (ArchiveError::BadHeader, "BadHeader"),
        (ArchiveError::Truncated, "Truncated"),
        (ArchiveError::BadName(3), "BadName(3)"),
        (ArchiveError::BadExtent(0), "BadExtent(0)"),
        (ArchiveError::BadReserved(12), "BadReserved(12)"),
        (ArchiveError::BadFlags(1), "BadFlags(1)"),
        (ArchiveError::TooManyTasks(9), "TooManyTasks(9)"),
        (ArchiveError::BadKernelCore(2), "BadKernelCore(2)"),
        (ArchiveError::BadDevice(4), "BadDevice(4)"),
        (
            ArchiveError::BadCap {
                entry: 7,
                problem: CapProblem::Rights,
            },
            "BadCap { entry: 7, problem: Rights }",
        ),
        (ArchiveError::BadExitSignal(5), "BadExitSignal(5)"),
        (
            ArchiveError::NoSuchEntry(usize::MAX),
            "NoSuchEntry(18446744073709551615)",
        ),
    ];
    for (e, want) in cases {
        assert_eq!(format!("{e:?}"), want);
    }
}
