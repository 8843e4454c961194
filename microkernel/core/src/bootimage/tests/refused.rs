//! Archives the reader refuses, field by field: flags and kernel cores,
//! objects, capabilities, exit signals, each with the error and entry it
//! names.

use super::*;

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
