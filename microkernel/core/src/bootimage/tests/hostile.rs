//! Hostile bytes: bad headers, and truncated or bit-flipped archives,
//! which the reader refuses or parses without ever panicking (every
//! accessor is walked on whatever it accepts).

use super::*;

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
