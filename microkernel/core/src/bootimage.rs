//! The task archive `cargo xtask` packs into a kernel image: which task
//! ELF runs on which core, at which priority.
//!
//! Layout (all integers little-endian):
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `KTASKS03` |
//! | 8 | 4 | task count *n* |
//! | 12 | 4 | shared-range count *m* |
//! | 16 + 48 *i* | 24 | entry *i*: name, UTF-8, NUL-padded |
//! | +24 | 4 | core |
//! | +28 | 2 | priority (higher runs first) |
//! | +30 | 2 | flags: bit 0 = supervisor (receives fault reports, may restart tasks); bits 8-15 = the shared ranges it links |
//! | +32 | 8 | ELF offset from the start of the archive |
//! | +40 | 8 | ELF size |
//!
//! | 16 + 48 *n* + 48 *j* | 24 | shared range *j*: name |
//! | +24 | 8 | base (user virtual address) |
//! | +32 | 8 | size (2 MiB or 1 GiB) |
//! | +40 | 8 | reserved, 0 |
//!
//! The kernel trusts nothing here: [`Archive::parse`] checks every bound.

/// The magic.
pub const MAGIC: &[u8; 8] = b"KTASKS03";
/// Entry flag: the task is the supervisor.
pub const FLAG_SUPERVISOR: u16 = 1;
/// Bytes of the header.
pub const HEADER: usize = 16;
/// Bytes of one entry.
pub const ENTRY: usize = 48;
/// Longest task name.
pub const NAME_LEN: usize = 24;

/// One shared range of the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeEntry<'a> {
    pub name: &'a str,
    pub base: u64,
    pub size: u64,
}

/// Why an archive is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveError {
    /// Not an archive (wrong magic or shorter than its header).
    BadMagic,
    /// The entry table runs past the end.
    Truncated,
    /// Entry `n`'s name is not UTF-8.
    BadName(usize),
    /// Entry `n`'s ELF lies outside the archive.
    BadExtent(usize),
}

/// One task of the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskEntry<'a> {
    pub name: &'a str,
    pub core: u32,
    pub priority: u16,
    pub flags: u16,
    pub elf: &'a [u8],
}

/// A checked archive.
#[derive(Debug, Clone, Copy)]
pub struct Archive<'a> {
    bytes: &'a [u8],
    count: usize,
    ranges: usize,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

impl<'a> Archive<'a> {
    /// An empty archive (no tasks): what a kernel built without one has.
    pub const fn empty() -> Archive<'static> {
        Archive {
            bytes: &[],
            count: 0,
            ranges: 0,
        }
    }

    /// Checks `bytes`. An empty slice is an empty archive.
    pub fn parse(bytes: &'a [u8]) -> Result<Archive<'a>, ArchiveError> {
        if bytes.is_empty() {
            return Ok(Archive {
                bytes,
                count: 0,
                ranges: 0,
            });
        }
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err(ArchiveError::BadMagic);
        }
        let count = u32_at(bytes, 8) as usize;
        let ranges = u32_at(bytes, 12) as usize;
        let table_end = count
            .checked_add(ranges)
            .and_then(|n| n.checked_mul(ENTRY))
            .and_then(|t| t.checked_add(HEADER))
            .ok_or(ArchiveError::Truncated)?;
        if table_end > bytes.len() {
            return Err(ArchiveError::Truncated);
        }
        let a = Archive {
            bytes,
            count,
            ranges,
        };
        for j in 0..ranges {
            a.range(j).ok_or(ArchiveError::BadName(count + j))?;
        }
        for i in 0..count {
            a.entry(i)?;
        }
        Ok(a)
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Task `i` (`i < len()`).
    pub fn entry(&self, i: usize) -> Result<TaskEntry<'a>, ArchiveError> {
        let at = HEADER + i * ENTRY;
        let b = self.bytes;
        let raw_name = &b[at..at + NAME_LEN];
        let name_len = raw_name.iter().position(|&c| c == 0).unwrap_or(NAME_LEN);
        let name =
            core::str::from_utf8(&raw_name[..name_len]).map_err(|_| ArchiveError::BadName(i))?;
        let off = u64_at(b, at + 32);
        let size = u64_at(b, at + 40);
        let end = off.checked_add(size).ok_or(ArchiveError::BadExtent(i))?;
        if end > b.len() as u64 || off < (HEADER + (self.count + self.ranges) * ENTRY) as u64 {
            return Err(ArchiveError::BadExtent(i));
        }
        Ok(TaskEntry {
            name,
            core: u32_at(b, at + 24),
            priority: u16_at(b, at + 28),
            flags: u16_at(b, at + 30),
            elf: &b[off as usize..end as usize],
        })
    }

    /// Number of shared ranges.
    pub fn range_count(&self) -> usize {
        self.ranges
    }

    /// Shared range `j` (`None` past the end or with a bad name).
    pub fn range(&self, j: usize) -> Option<RangeEntry<'a>> {
        if j >= self.ranges {
            return None;
        }
        let at = HEADER + (self.count + j) * ENTRY;
        let b = self.bytes;
        let raw = &b[at..at + NAME_LEN];
        let len = raw.iter().position(|&c| c == 0).unwrap_or(NAME_LEN);
        Some(RangeEntry {
            name: core::str::from_utf8(&raw[..len]).ok()?,
            base: u64_at(b, at + 24),
            size: u64_at(b, at + 32),
        })
    }

    /// Every task, in archive order.
    pub fn iter(&self) -> impl Iterator<Item = TaskEntry<'a>> + '_ {
        (0..self.count).filter_map(|i| self.entry(i).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    fn build(tasks: &[(&str, u32, u16, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(tasks.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // no shared ranges
        let mut off = HEADER + tasks.len() * ENTRY;
        for (name, core, prio, elf) in tasks {
            let mut n = [0u8; NAME_LEN];
            n[..name.len()].copy_from_slice(name.as_bytes());
            out.extend_from_slice(&n);
            out.extend_from_slice(&core.to_le_bytes());
            out.extend_from_slice(&prio.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&(off as u64).to_le_bytes());
            out.extend_from_slice(&(elf.len() as u64).to_le_bytes());
            off += elf.len();
        }
        for (_, _, _, elf) in tasks {
            out.extend_from_slice(elf);
        }
        out
    }

    #[test]
    fn round_trip() {
        let bytes = build(&[("hello", 0, 1, b"ELF-A"), ("worker", 3, 2, b"ELF-BB")]);
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
    }

    #[test]
    fn hostile_archives_are_refused() {
        assert_eq!(Archive::parse(b"").map(|a| a.len()), Ok(0));
        assert_eq!(
            Archive::parse(b"KTASKS0").err(),
            Some(ArchiveError::BadMagic)
        );
        let mut b = build(&[("a", 0, 0, b"xyz")]);
        b[8] = 5; // claims 5 entries
        assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::Truncated));
        let mut b = build(&[("a", 0, 0, b"xyz")]);
        b[HEADER + 40] = 200; // size past the end
        assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadExtent(0)));
        let mut b = build(&[("a", 0, 0, b"xyz")]);
        b[HEADER] = 0xff; // not UTF-8
        assert_eq!(Archive::parse(&b).err(), Some(ArchiveError::BadName(0)));
        // Every truncation of a good archive is refused or shorter, never a panic.
        let good = build(&[("a", 0, 0, b"xyz"), ("b", 1, 0, b"pq")]);
        for n in 0..good.len() {
            let _ = Archive::parse(&good[..n]);
        }
    }
}
