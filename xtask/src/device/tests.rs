//! The refusals, with made-up /proc/mounts and /proc/swaps content.

use super::*;

fn disk(name: &str, parts: &[&str]) -> Disk {
    Disk {
        path: PathBuf::from(format!("/dev/{name}")),
        name: name.to_string(),
        partitions: parts.iter().map(|p| p.to_string()).collect(),
        bytes: Some(16_000_000_000),
        model: "Card Reader".into(),
    }
}

/// In these tests a source's name is its last path component, except for
/// the by-uuid link below, which "resolves" to sdb1.
fn name_of(source: &str) -> String {
    if source == "/dev/disk/by-uuid/1234-ABCD" {
        return "sdb1".into();
    }
    source.rsplit('/').next().unwrap_or("").to_string()
}

const SYSTEM: &str = "\
/dev/sda2 / ext4 rw,relatime 0 0
proc /proc proc rw 0 0
/dev/sda1 /boot/efi vfat rw 0 0
tmpfs /tmp tmpfs rw 0 0
";
const NO_SWAP: &str = "Filename\tType\tSize\tUsed\tPriority\n";

fn why(d: &Disk, mounts: &str, swaps: &str, root: Option<&str>) -> Option<String> {
    refusal(d, mounts, swaps, root, &name_of)
}

#[test]
fn an_unmounted_card_may_be_written() {
    assert_eq!(
        why(
            &disk("sdb", &["sdb1", "sdb2"]),
            SYSTEM,
            NO_SWAP,
            Some("sda")
        ),
        None
    );
    // sdaa is not a partition of sda, nor mmcblk01 one of mmcblk0.
    let mounts = "/dev/sdaa1 /media/x vfat rw 0 0\n/dev/mmcblk01 /media/y vfat rw 0 0\n";
    assert_eq!(why(&disk("sda", &[]), mounts, NO_SWAP, None), None);
    assert_eq!(why(&disk("mmcblk0", &[]), mounts, NO_SWAP, None), None);
}

#[test]
fn a_mounted_partition_is_refused() {
    let mounts = format!("{SYSTEM}/dev/sdb1 /media/me/bootfs vfat rw 0 0\n");
    let w = why(&disk("sdb", &["sdb1"]), &mounts, NO_SWAP, Some("sda")).expect("refused");
    assert_eq!(
        w,
        "/dev/sdb is mounted (/dev/sdb1 on /media/me/bootfs): unmount it first (sudo umount /dev/sdb*)"
    );
    // Known by the kernel's naming even when /sys listed no partitions, and
    // through a by-uuid link; mount points with spaces are unescaped.
    let mounts = "/dev/mmcblk0p2 /media/my\\040card ext4 rw 0 0\n";
    let w = why(&disk("mmcblk0", &[]), mounts, NO_SWAP, None).expect("refused");
    assert!(w.contains("/dev/mmcblk0p2 on /media/my card"), "{w}");
    let mounts = "/dev/disk/by-uuid/1234-ABCD /mnt vfat rw 0 0\n";
    assert!(why(&disk("sdb", &[]), mounts, NO_SWAP, None).is_some());
    let mounts = "/dev/sdb /mnt vfat rw 0 0\n";
    assert!(why(&disk("sdb", &[]), mounts, NO_SWAP, None).is_some());
}

#[test]
fn the_running_system_is_refused() {
    let w = why(&disk("sda", &["sda1", "sda2"]), SYSTEM, NO_SWAP, None).expect("refused");
    assert_eq!(
        w,
        "/dev/sda holds the running system: /dev/sda2 is mounted on /"
    );
    // `/dev/root` in /proc/mounts names nothing: the device number does.
    let mounts = "/dev/root / ext4 rw 0 0\n";
    let w = why(
        &disk("mmcblk0", &["mmcblk0p1"]),
        mounts,
        NO_SWAP,
        Some("mmcblk0"),
    )
    .expect("refused");
    assert!(
        w.contains("holds the running system (the root file system is on it)"),
        "{w}"
    );
    let mounts = "/dev/nvme0n1p3 /home ext4 rw 0 0\n";
    let w = why(&disk("nvme0n1", &[]), mounts, NO_SWAP, None).expect("refused");
    assert!(
        w.contains("running system: /dev/nvme0n1p3 is mounted on /home"),
        "{w}"
    );
}

#[test]
fn swap_is_refused() {
    let swaps = format!("{NO_SWAP}/dev/sdb2 partition 1048572 0 -2\n");
    let w = why(&disk("sdb", &["sdb1", "sdb2"]), SYSTEM, &swaps, Some("sda")).expect("refused");
    assert_eq!(
        w,
        "/dev/sdb is in use as swap (/dev/sdb2): sudo swapoff /dev/sdb2"
    );
}

#[test]
fn partition_names() {
    assert!(is_partition_name("sdb", "sdb1"));
    assert!(is_partition_name("sdb", "sdb15"));
    assert!(is_partition_name("mmcblk0", "mmcblk0p1"));
    assert!(is_partition_name("nvme0n1", "nvme0n1p2"));
    assert!(!is_partition_name("sdb", "sdb"));
    assert!(!is_partition_name("sdb", "sdbc"));
    assert!(!is_partition_name("mmcblk0", "mmcblk01"));
    assert!(!is_partition_name("sda", "sdb1"));
}

#[test]
fn a_regular_file_is_not_a_device() {
    let err = format!("{:#}", check(Path::new("/etc/hostname")).unwrap_err());
    assert!(err.contains("not a block device (use --out FILE"), "{err}");
}
