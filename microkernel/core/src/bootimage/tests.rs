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
fn hostile_archives_are_refused() {
    assert_eq!(Archive::parse(b"").map(|a| a.len()), Ok(0));
    assert_eq!(
        Archive::parse(b"KTASKS0").err(),
        Some(ArchiveError::BadMagic)
    );
    let mut b = tasks_only(&[("a", 0, 0, b"xyz")]);
    b[..8].copy_from_slice(b"KTASKS03"); // the previous format
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadMagic));
    let mut b = tasks_only(&[("a", 0, 0, b"xyz")]);
    b[8] = 5; // claims 5 entries
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::Truncated));
    let mut b = tasks_only(&[("a", 0, 0, b"xyz")]);
    b[28..32].copy_from_slice(&u32::MAX.to_le_bytes()); // u32::MAX caps
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::Truncated));
    let mut b = tasks_only(&[("a", 0, 0, b"xyz")]);
    b[40..44].copy_from_slice(&u32::MAX.to_le_bytes()); // u32::MAX exit signals
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::Truncated));
    let mut b = tasks_only(&[("a", 0, 0, b"xyz")]);
    b[..8].copy_from_slice(b"KTASKS04"); // the previous format
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadMagic));
    let mut b = tasks_only(&[("a", 0, 0, b"xyz")]);
    b[HEADER + 40] = 200; // size past the end
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadExtent(0)));
    let mut b = tasks_only(&[("a", 0, 0, b"xyz")]);
    b[HEADER] = 0xff; // not UTF-8
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadName(0)));
    let mut b = tasks_only(&[("a", 0, 0, b"xyz")]);
    b[47] = 1; // an options bit nobody defined
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadHeader));
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

fn refused(spec: &Spec) -> ArchiveError {
    Archive::parse(&spec.build()).expect_err("must be refused")
}

#[test]
fn bad_flags_and_kernel_cores() {
    let mut s = full();
    s.tasks[2].3 = 1 << 5; // an unknown flag
    assert_eq!(refused(&s), ArchiveError::BadFlags(2));
    let mut s = full();
    s.tasks[2].3 = 1; // the old supervisor flag: reserved now
    assert_eq!(refused(&s), ArchiveError::BadFlags(2));
    let mut s = full();
    s.tasks[2].3 = 3 << EXPECT_SHIFT; // an expectation with no meaning
    assert_eq!(refused(&s), ArchiveError::BadFlags(2));
    let mut s = full();
    s.tasks[2].3 = FLAG_OPTIONAL | Expect::Any.flags();
    let a = s.build();
    let t = Archive::parse(&a).unwrap().entry(2).unwrap();
    assert!(t.is_optional() && t.expect() == Expect::Any);
    let mut s = full();
    s.tasks[2].3 = Expect::Fault.flags();
    let a = s.build();
    assert_eq!(
        Archive::parse(&a).unwrap().entry(2).unwrap().expect(),
        Expect::Fault
    );
    assert_eq!(
        Archive::parse(&full().build())
            .unwrap()
            .entry(2)
            .unwrap()
            .expect(),
        Expect::Exit0
    );
    let mut s = full();
    s.tasks[2].3 = 1 << 9; // links range 1 of 1
    assert_eq!(refused(&s), ArchiveError::BadFlags(2));
    let mut s = full();
    s.tasks[2].3 = FLAG_SERVER; // a server on core 1, not a kernel core
    assert_eq!(refused(&s), ArchiveError::BadKernelCore(2));
    let mut s = full();
    s.tasks[2].1 = 3; // an ordinary task on kernel core 3
    assert_eq!(refused(&s), ArchiveError::BadKernelCore(2));
    let mut s = full();
    s.tasks[2] = ("again", 3, 1, FLAG_SERVER, b""); // two servers on core 3
    assert_eq!(refused(&s), ArchiveError::BadKernelCore(2));
    let mut s = full();
    s.tasks[1].1 = 70; // a server on a core past the mask
    assert_eq!(refused(&s), ArchiveError::BadKernelCore(1));
    let mut s = full();
    s.kernel_cores = 1 << 63 | 1 << 3; // a kernel core with no task is fine
    assert!(Archive::parse(&s.build()).is_ok());
}

#[test]
fn bad_objects() {
    // Entries: 3 tasks, range 3, share 4, notifications 5-6, devices 7-8, caps 9-14.
    let mut s = full();
    s.devices[1].1 = 7; // no such device kind (1 UART, 2 virtio-blk, 3 the console lock page, 4 virtio-net, 5 SDHCI, 6 mailbox)
    assert_eq!(refused(&s), ArchiveError::BadDevice(8));
    let mut s = full();
    s.devices[0].0 = "";
    assert_eq!(refused(&s), ArchiveError::BadName(7), "an empty name");
    let mut s = full();
    s.devices[0].0 = "ok\r\nexit status 0";
    assert_eq!(
        refused(&s),
        ArchiveError::BadName(7),
        "a forged console line"
    );
    let mut s = full();
    s.devices[0].0 = "name with space";
    assert_eq!(refused(&s), ArchiveError::BadName(7));
    let mut s = full();
    s.devices[0].0 = "virtio-blk_0.a";
    assert!(Archive::parse(&s.build()).is_ok());
    // A device's interrupt: a task and a notification of the archive,
    // bits, and only a virtio device's or the console UART's.
    for (i, why) in [
        ((1, 4, 1, 1), "no such task"),
        ((1, 2, 2, 1), "no such notification"),
        ((1, 2, 1, 0), "no bits"),
    ] {
        let mut s = full();
        s.interrupts = std::vec![i];
        assert_eq!(refused(&s), ArchiveError::BadDevice(7 + i.0), "{why}");
    }
    let mut b = full().build();
    b[HEADER + 1] = 0; // "a\0" then a byte after the NUL
    b[HEADER + 2] = b'x';
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadName(0)));
    let mut b = full().build();
    b[HEADER + 4 * ENTRY] = 0xc0; // share name not UTF-8
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadName(4)));
    let mut b = full().build();
    b[HEADER + 6 * ENTRY + 30] = 1; // notification rest not 0
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadReserved(6)));
    let mut b = full().build();
    b[HEADER + 3 * ENTRY + 41] = 1; // range reserved not 0
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadReserved(3)));
    let mut b = full().build();
    b[HEADER + 7 * ENTRY + 32] = 1; // device without an interrupt: rest not 0
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadReserved(7)));
    let mut b = full().build();
    b[HEADER + 8 * ENTRY + 36] = 1; // an interrupt's pad not 0
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadReserved(8)));
    let mut b = full().build();
    b[HEADER + 9 * ENTRY + 3] = 1; // cap pad not 0
    assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadReserved(9)));
    let mut b = full().build();
    b[HEADER + 10 * ENTRY + 47] = 1; // cap rest not 0
    assert_eq!(
        Archive::parse(&b).err(),
        Some(ArchiveError::BadReserved(10))
    );
}

#[test]
fn bad_caps() {
    let cases: [(usize, [u32; 6], CapProblem); 13] = [
        (0, [3, SHARE, 1, 0, 0, 2], CapProblem::HolderKind),
        (0, [T, SHARE, 1, 3, 0, 2], CapProblem::HolderIndex),
        (5, [S, RANGE, 1, 1, 0, 0], CapProblem::HolderIndex),
        (0, [T, 9, 1, 0, 0, 2], CapProblem::ObjectKind),
        (0, [T, 0, 1, 0, 0, 2], CapProblem::ObjectKind),
        (4, [T, TASK, 1, 1, 3, 63], CapProblem::ObjectIndex), // no task 3
        (0, [T, SHARE, 1, 0, 1, 2], CapProblem::ObjectIndex),
        (2, [T, SEG, 1, 1, 2, 3], CapProblem::ObjectIndex),
        (6, [S, NOTE, 1, 0, 2, 1], CapProblem::ObjectIndex),
        (0, [T, SHARE, 0, 0, 0, 2], CapProblem::Rights),
        (0, [T, SHARE, 0x10, 0, 0, 2], CapProblem::Rights),
        (0, [T, SHARE, 1, 0, 0, 1], CapProblem::Slot), // a reserved root slot
        (5, [S, RANGE, 1, 0, 0, 64], CapProblem::Slot),
    ];
    for (j, cap, problem) in cases {
        let mut s = full();
        s.caps[j] = cap;
        assert_eq!(
            refused(&s),
            ArchiveError::BadCap {
                entry: 9 + j,
                problem
            },
            "cap {j} = {cap:?}"
        );
    }
    let mut s = full();
    s.caps[1][5] = 3; // task 1 slot 3 given twice
    s.caps[2][5] = 3;
    assert_eq!(
        refused(&s),
        ArchiveError::BadCap {
            entry: 11,
            problem: CapProblem::Order
        }
    );
    let mut s = full();
    s.caps.swap(0, 5); // a share's cap before a task's
    assert_eq!(
        refused(&s),
        ArchiveError::BadCap {
            entry: 10,
            problem: CapProblem::Order
        }
    );
}

#[test]
fn bad_exit_signals() {
    // Entries: 3 tasks, range 3, share 4, notifications 5-6, devices 7-8,
    // caps 9-15, exit signals 16-18.
    let cases: [(usize, (u32, u32, u64)); 5] = [
        (0, (3, 0, 1)), // no task 3
        (2, (2, 2, 1)), // no notification 2
        (2, (2, 1, 0)), // no bits
        (1, (0, 1, 1)), // task 0, notification 1 again
        (2, (2, 0, 1)), // task 2, notification 0 again
    ];
    for (j, exit) in cases {
        let mut s = full();
        s.exits[j] = exit;
        assert_eq!(
            refused(&s),
            ArchiveError::BadExitSignal(16 + j),
            "exit signal {j} = {exit:?}"
        );
    }
    let mut s = full();
    s.exits.swap(0, 1); // out of task order
    assert_eq!(refused(&s), ArchiveError::BadExitSignal(17));
    let mut b = full().build();
    b[HEADER + 17 * ENTRY + 20] = 1; // rest not 0
    assert_eq!(
        Archive::parse(&b).err(),
        Some(ArchiveError::BadReserved(17))
    );
}

/// Uses every accessor on every index (and past the end) of a parsed archive.
fn walk(a: &Archive) {
    for i in 0..a.len() + 2 {
        let _ = a.entry(i);
    }
    for j in 0..a.range_count() + 2 {
        let _ = a.range(j);
    }
    for j in 0..a.share_count() + 2 {
        let _ = a.share(j);
    }
    for j in 0..a.notification_count() + 2 {
        let _ = a.notification(j);
    }
    for j in 0..a.device_count() + 2 {
        let _ = a.device(j);
    }
    for j in 0..a.cap_count() + 2 {
        let _ = a.cap(j);
    }
    for i in 0..a.len() + 2 {
        let _ = a.exit_signals(i).count();
    }
    let _ = a.iter().count() + a.caps().count();
    let _ = a.kernel_cores();
}

#[test]
fn truncated_archives_never_panic() {
    for good in [
        full().build(),
        tasks_only(&[("a", 0, 0, b"xyz"), ("b", 1, 0, b"pq")]),
    ] {
        walk(&Archive::parse(&good).expect("good"));
        for n in 0..good.len() {
            if let Ok(a) = Archive::parse(&good[..n]) {
                walk(&a);
            }
        }
    }
}

#[test]
fn corrupted_archives_never_panic() {
    let good = full().build();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut accepted = 0;
    for _ in 0..20_000 {
        let mut b = good.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % b.len() as u64) as usize;
            b[at] ^= 1 << (next() % 8);
        }
        if let Ok(a) = Archive::parse(&b) {
            accepted += 1;
            walk(&a);
        }
    }
    // Flips in names, priorities, rights and ELF bytes stay valid.
    assert!(accepted > 0);
    // Every single-bit flip of the header and table.
    for at in 0..HEADER + 19 * ENTRY {
        for bit in 0..8 {
            let mut b = good.clone();
            b[at] ^= 1 << bit;
            if let Ok(a) = Archive::parse(&b) {
                walk(&a);
            }
        }
    }
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
