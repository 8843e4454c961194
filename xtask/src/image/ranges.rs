//! `[[range]]` entries of an image file: shared address ranges.

use crate::image::{RangeEntry, RangeSpec};

/// Most shared ranges an image declares (the kernel's `shared::MAX_SHARED`).
const MAX_RANGES: usize = 8;
/// The task layout (code and data from 4 MiB, stack below 2 GiB): a shared
/// range must not overlap it.
const TASK_LAYOUT_END: u64 = 0x8000_0000;
const USER_TOP: u64 = kerncore::range::USER_TOP;

/// Checks every range; the error is one line naming the entry.
pub(crate) fn check(entries: &[RangeEntry]) -> Result<Vec<RangeSpec>, String> {
    if entries.len() > MAX_RANGES {
        return Err(format!("range: at most {MAX_RANGES} shared ranges"));
    }
    let mut out: Vec<RangeSpec> = Vec::new();
    for (i, r) in entries.iter().enumerate() {
        let entry = format!("range[{i}] ({})", r.name.escape_debug());
        crate::image::caps::check_name(&entry, &r.name)?;
        if out.iter().any(|o| o.name == r.name) {
            return Err(format!("{entry}: name used twice"));
        }
        let size = match r.size.as_str() {
            "2M" | "2MiB" => 2 << 20,
            "1G" | "1GiB" => 1 << 30,
            other => {
                return Err(format!(
                "{entry}: size {other:?}: a shared range is one page-table page, \"2M\" or \"1G\""
            ))
            }
        };
        if r.base % size != 0 {
            return Err(format!(
                "{entry}: base {:#x} is not aligned to its size {}",
                r.base, r.size
            ));
        }
        if r.base < TASK_LAYOUT_END {
            return Err(format!(
                "{entry}: base {:#x} overlaps the task layout (below {TASK_LAYOUT_END:#x})",
                r.base
            ));
        }
        if r.base.checked_add(size).is_none_or(|end| end > USER_TOP) {
            return Err(format!("{entry}: outside the user half"));
        }
        if let Some(o) = out
            .iter()
            .find(|o| r.base < o.base + o.size && o.base < r.base + size)
        {
            return Err(format!("{entry}: overlaps range {:?}", o.name));
        }
        out.push(RangeSpec {
            name: r.name.clone(),
            base: r.base,
            size,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, base: u64, size: &str) -> RangeEntry {
        RangeEntry {
            name: name.to_string(),
            base,
            size: size.to_string(),
        }
    }

    #[test]
    fn good_and_bad_ranges() {
        let ok = check(&[r("shm", 0x1_0000_0000, "2M"), r("big", 0x2_0000_0000, "1G")]).unwrap();
        assert_eq!(ok[1].size, 1 << 30);
        let e = |v: &[RangeEntry]| check(v).unwrap_err();
        assert!(e(&[r("a", 0x1_0000_0000, "4K")]).starts_with("range[0] (a): size \"4K\""));
        assert!(e(&[r("a", 0x1_0010_0000, "2M")]).contains("not aligned"));
        assert!(e(&[r("a", 0x4000_0000, "2M")]).contains("overlaps the task layout"));
        assert!(e(&[r("a", 1 << 48, "2M")]).contains("outside the user half"));
        let two = [r("a", 0x1_0000_0000, "2M"), r("b", 0x1_0000_0000, "2M")];
        assert_eq!(e(&two), "range[1] (b): overlaps range \"a\"");
        let dup = [r("a", 0x1_0000_0000, "2M"), r("a", 0x2_0000_0000, "2M")];
        assert!(e(&dup).contains("name used twice"));
    }
}
