//! The disk check: after a run of an image with a block device, the disk
//! file must hold `blk_api::pattern` in the sector runs the case names.

use crate::Case;
use blk_api::{pattern, SECTOR};

/// Problems with `disk` (the disk file's bytes) for `case`, each one line.
pub fn check_disk(case: &Case, disk: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    for &(first, count) in case.disk_pattern {
        let start = first as usize * SECTOR;
        let end = (first + count) as usize * SECTOR;
        let Some(bytes) = disk.get(start..end) else {
            problems.push(format!(
                "disk file has {} sectors, wanted sectors {first}..{}",
                disk.len() / SECTOR,
                first + count
            ));
            continue;
        };
        if let Some((s, i, b)) = pattern::mismatch(first, bytes) {
            problems.push(format!(
                "disk file: sector {s} byte {i} is {b:#04x}, not the pattern's {:#04x} (sectors {first}..{} checked)",
                pattern::byte(s, i),
                first + count
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNS: &[(u64, u64)] = &[(2, 3), (10, 1)];

    #[test]
    fn pattern_found_or_reported() {
        let case = Case {
            disk_pattern: RUNS,
            ..Case::BASE
        };
        let mut disk = vec![0u8; 16 * SECTOR];
        assert_eq!(check_disk(&case, &disk).len(), 2);
        pattern::fill(2, &mut disk[2 * SECTOR..5 * SECTOR]);
        pattern::fill(10, &mut disk[10 * SECTOR..11 * SECTOR]);
        assert!(check_disk(&case, &disk).is_empty());
        disk[4 * SECTOR + 7] ^= 0xff;
        let p = check_disk(&case, &disk);
        assert!(p.len() == 1 && p[0].contains("sector 4 byte 7"), "{p:?}");
        assert!(check_disk(&case, &disk[..8 * SECTOR])
            .iter()
            .any(|p| p.contains("has 8 sectors")));
    }
}
