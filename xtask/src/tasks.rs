//! Building an image's tasks and packing them into the archive the kernel
//! embeds (format: `kerncore::bootimage`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::build::{target_dir, TARGET};
use crate::image::{Image, RangeSpec};

use kerncore::bootimage::{ENTRY, FLAG_SUPERVISOR, HEADER, MAGIC, NAME_LEN};

/// Builds every task crate of `image` and writes `<out>/tasks.bin`; returns
/// its absolute path (an empty file when the image has no tasks).
pub fn build_archive(root: &Path, image: &Image, out: &Path) -> Result<PathBuf> {
    let path = out.join("tasks.bin");
    let mut crates: Vec<&str> = image.tasks.iter().map(|t| t.name.as_str()).collect();
    crates.sort();
    crates.dedup();
    let mut elfs = Vec::new();
    if !crates.is_empty() {
        eprintln!("build: tasks {}", crates.join(", "));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(root)
            .args(["build", "--release", "--target", TARGET]);
        for c in &crates {
            cmd.args(["-p", c]);
        }
        let status = cmd.status().context("cannot run cargo")?;
        if !status.success() {
            bail!("building the tasks of image {} failed", image.name);
        }
        for c in &crates {
            let elf = target_dir(root).join(TARGET).join("release").join(c);
            let bytes = std::fs::read(&elf).with_context(|| elf.display().to_string())?;
            let stripped = strip(&bytes).with_context(|| format!("task {c}: {}", elf.display()))?;
            elfs.push((c.to_string(), stripped));
        }
    }
    let entries: Vec<Entry> = image
        .tasks
        .iter()
        .map(|t| {
            let elf = elfs
                .iter()
                .find(|(n, _)| *n == t.name)
                .map(|(_, b)| b.as_slice())
                .unwrap_or(&[]);
            Entry {
                name: t.name.as_str(),
                core: t.core,
                priority: t.priority,
                supervisor: t.supervisor,
                links: t.ranges.iter().fold(0u8, |m, &j| m | 1 << j),
                elf,
            }
        })
        .collect();
    let bytes = if entries.is_empty() && image.ranges.is_empty() {
        Vec::new()
    } else {
        archive(&entries, &image.ranges)?
    };
    std::fs::write(&path, bytes).with_context(|| path.display().to_string())?;
    Ok(std::path::absolute(&path).unwrap_or(path))
}

/// The ELF cut to what the kernel loads: header, program headers and the
/// loadable segments' file bytes (debug sections and the section table go;
/// the kernel never reads them, and they are most of the file).
pub fn strip(elf: &[u8]) -> Result<Vec<u8>> {
    use object::elf::{FileHeader64, PT_LOAD};
    use object::read::elf::{FileHeader, ProgramHeader};
    use object::Endianness;
    let header = FileHeader64::<Endianness>::parse(elf).context("not an ELF64 file")?;
    let endian = header.endian().context("bad ELF byte order")?;
    let phdrs = header
        .program_headers(endian, elf)
        .context("bad program headers")?;
    let phoff = header.e_phoff(endian) as usize;
    let mut end = phoff + std::mem::size_of_val(phdrs);
    for ph in phdrs.iter().filter(|p| p.p_type(endian) == PT_LOAD) {
        end = end.max((ph.p_offset(endian) + ph.p_filesz(endian)) as usize);
    }
    if end > elf.len() {
        bail!("a segment lies past the end of the file");
    }
    let mut out = elf[..end].to_vec();
    // e_shoff (0x28, 8 bytes), e_shnum (0x3c), e_shstrndx (0x3e): no sections.
    out[0x28..0x30].fill(0);
    out[0x3c..0x40].fill(0);
    Ok(out)
}

/// One task of the archive.
pub struct Entry<'a> {
    pub name: &'a str,
    pub core: u32,
    pub priority: u16,
    pub supervisor: bool,
    /// Bit `j`: links shared range `j`.
    pub links: u8,
    pub elf: &'a [u8],
}

/// The archive bytes (format: `kerncore::bootimage`). Each distinct ELF is
/// stored once, 8-byte aligned; entries running the same program point at
/// the same bytes.
pub fn archive(entries: &[Entry], ranges: &[RangeSpec]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    out.extend_from_slice(&(ranges.len() as u32).to_le_bytes());
    let mut blobs: Vec<&[u8]> = Vec::new();
    let mut blob_offsets: Vec<usize> = Vec::new();
    let mut offset = (HEADER + (entries.len() + ranges.len()) * ENTRY).next_multiple_of(8);
    for Entry { elf, .. } in entries {
        if !blobs.contains(elf) {
            blobs.push(elf);
            blob_offsets.push(offset);
            offset = (offset + elf.len()).next_multiple_of(8);
        }
    }
    for e in entries {
        let (name, core, priority, elf) = (e.name, e.core, e.priority, e.elf);
        let at = blobs
            .iter()
            .position(|b| *b == elf)
            .map(|i| blob_offsets[i])
            .unwrap_or(0);
        if name.len() > NAME_LEN {
            bail!("task name {name:?} longer than {NAME_LEN} bytes");
        }
        let mut n = [0u8; NAME_LEN];
        n[..name.len()].copy_from_slice(name.as_bytes());
        out.extend_from_slice(&n);
        out.extend_from_slice(&core.to_le_bytes());
        out.extend_from_slice(&priority.to_le_bytes());
        let flags = if e.supervisor { FLAG_SUPERVISOR } else { 0 } | (e.links as u16) << 8;
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&(at as u64).to_le_bytes());
        out.extend_from_slice(&(elf.len() as u64).to_le_bytes());
    }
    for r in ranges {
        let mut n = [0u8; NAME_LEN];
        n[..r.name.len()].copy_from_slice(r.name.as_bytes());
        out.extend_from_slice(&n);
        out.extend_from_slice(&r.base.to_le_bytes());
        out.extend_from_slice(&r.size.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
    }
    for elf in blobs {
        out.resize(out.len().next_multiple_of(8), 0);
        out.extend_from_slice(elf);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use kerncore::bootimage::{Archive, TaskEntry};

    #[test]
    fn the_kernel_reads_what_xtask_writes() {
        let e = |name, core, priority, supervisor, elf| super::Entry {
            name,
            core,
            priority,
            supervisor,
            links: 0,
            elf,
        };
        let bytes = super::archive(
            &[
                e("hello", 0, 1, false, b"ELF1"),
                e("hello", 2, 3, true, b"ELF22"),
                e("again", 1, 1, false, b"ELF1"),
            ],
            &[],
        )
        .expect("archive");
        let a = Archive::parse(&bytes).expect("parses");
        let all: Vec<TaskEntry> = a.iter().collect();
        assert_eq!(
            all,
            [
                TaskEntry {
                    name: "hello",
                    core: 0,
                    priority: 1,
                    flags: 0,
                    elf: b"ELF1"
                },
                TaskEntry {
                    name: "hello",
                    core: 2,
                    priority: 3,
                    flags: 1,
                    elf: b"ELF22"
                },
                TaskEntry {
                    name: "again",
                    core: 1,
                    priority: 1,
                    flags: 0,
                    elf: b"ELF1"
                },
            ]
        );
        // One copy of each distinct ELF.
        assert_eq!(bytes.len(), (16 + 3 * 48) + 8 + 5);
    }
}
