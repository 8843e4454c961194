//! Host tests of `cargo xtask test`: filters, the case table's shape, the
//! verdict helpers.

use super::*;

#[test]
fn a_card_check_finds_the_pattern_and_any_write_outside_the_data_partition() {
    use crate::disk::{boot_copy, prepare, Disk, DiskKind};
    use blk_api::{pattern, SECTOR};
    let dir = std::env::temp_dir().join(format!("xtask-cardcheck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (kernel, dtb) = (dir.join("kernel8.img"), dir.join("x.dtb"));
    std::fs::write(&kernel, vec![0x17; 5000]).unwrap();
    std::fs::write(&dtb, b"dtb").unwrap();
    let path = dir.join("c.img");
    let disk = Disk {
        path: path.clone(),
        kind: DiskKind::SdCard { kernel, dtb },
        iops_limit: None,
    };
    prepare(&disk, false).unwrap();
    let case = Case {
        disk_pattern: &[(0, 2), (100, 1)],
        ..Case::BASE
    };
    let mut card = std::fs::read(&path).unwrap();
    let (_, data) = crate::sdimage::partitions(&card).unwrap();
    let at = |s: u64| ((data.start + s) as usize) * SECTOR;
    assert_eq!(check_card(&case, &path, &card).len(), 2, "no pattern yet");
    pattern::fill(0, &mut card[at(0)..at(2)]);
    pattern::fill(100, &mut card[at(100)..at(101)]);
    assert_eq!(check_card(&case, &path, &card), Vec::<String>::new());
    let mut boot = card.clone();
    boot[(2048 + 5) * SECTOR] ^= 1;
    let p = check_card(&case, &path, &boot);
    assert!(
        p.len() == 1 && p[0].contains("boot partition changed"),
        "{p:?}"
    );
    let mut past = card.clone();
    past[at(data.sectors) + 3] = 1;
    let p = check_card(&case, &path, &past);
    assert!(
        p.len() == 1 && p[0].contains("past the data partition"),
        "{p:?}"
    );
    std::fs::remove_file(boot_copy(&path)).unwrap();
    assert!(check_card(&case, &path, &card)[0].contains("cannot read"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn test_result_lines() {
    assert_eq!(
        parse_test_result("test result: ok. 15 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s"),
        Some((15, 0))
    );
    assert_eq!(
        parse_test_result(
            "test result: FAILED. 14 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out"
        ),
        Some((14, 1))
    );
    assert_eq!(parse_test_result("running 15 tests"), None);
}

/// A filter that selects nothing is a usage error (exit status 2)
/// before anything is built or run, not "no QEMU case matches" and a
/// run of the host tests.
#[test]
fn a_filter_matching_nothing_is_a_usage_error() {
    let root = build::workspace_root();
    let err = match prepare(&root, Some("nonexistent-name")) {
        Ok(cases) => panic!("accepted, {} cases", cases.len()),
        Err(e) => e,
    };
    let usage = err
        .downcast_ref::<UsageError>()
        .unwrap_or_else(|| panic!("not a usage error: {err:#}"));
    assert!(
        usage.0.contains("no test matches \"nonexistent-name\""),
        "{usage}"
    );
    assert!(usage.0.contains("closest: "), "{usage}");
    assert!(!usage.0.contains('\n'), "{usage}");
    // Each kind of entry still selects.
    for filter in [
        "boot-rpi4",
        "bench-smoke",
        "hil-no-answer",
        "hil",
        "smp16",
        "",
    ] {
        check_filter(filter, &entry_names()).expect(filter);
    }
}

#[test]
fn the_closest_names_are_named() {
    let names = entry_names();
    let first = |filter: &str| closest(filter, &names, 5)[0];
    assert_eq!(first("consol-virt"), "console-virt");
    assert_eq!(first("boot-a76"), "boot-virt-smp4-a76-gic3");
    assert_eq!(first("capchek"), "capcheck-virt");
    assert_eq!(first("hil-wrong-bauds"), "hil-wrong-baud");
    assert_eq!(first("stack-overflow-rpi5"), "stack-overflow-rpi4");
    assert_eq!(closest("x", &names, 5).len(), 5);
    let err = check_filter("panik-rpi4", &names).unwrap_err().0;
    assert!(err.contains("closest: panic-rpi4, "), "{err}");
    assert_eq!(err.matches(", ").count(), 4, "five names: {err}");
}

#[test]
fn substring_distances() {
    assert_eq!(substring_distance("virt", "boot-virt-smp4"), 0);
    assert_eq!(substring_distance("vrit", "boot-virt"), 2);
    assert_eq!(substring_distance("consol", "console-virt"), 0);
    assert_eq!(substring_distance("consolx", "console-virt"), 1);
    assert_eq!(substring_distance("abc", ""), 3);
    assert_eq!(substring_distance("", "abc"), 0);
}

#[test]
fn whole_table_prepares() {
    let root = build::workspace_root();
    let all = prepare(&root, None).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(all.len(), CASES.len());
    let rpi4 = prepare(&root, Some("rpi4")).expect("valid");
    assert!(!rpi4.is_empty() && rpi4.iter().all(|p| p.machine.board == Board::Rpi4));
}
