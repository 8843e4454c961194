//! Building an image's tasks and packing them into the archive packed
//! beside the kernel (format: `kerncore::bootimage`; `build` puts it in
//! the boot image as the kernel's payload).

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::build::{target_dir, TARGET};
use crate::image::{
    CapSpec, DeviceSpec, Image, InterruptSpec, ObjectRef, RangeSpec, ShareSpec, TaskSpec,
};

use kerncore::bootimage::{
    Archive, Expect, KernelOptions, ObjectKind, ENTRY, FIRST_GRANT_SLOT, FLAG_OPTIONAL,
    FLAG_SERVER, HEADER, MAGIC, NAME_LEN,
};

/// Builds every task crate of `image` and returns its archive (empty when
/// the image has no tasks and no objects).
pub fn build_archive(root: &Path, image: &Image) -> Result<Vec<u8>> {
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
            elfs.push((c.to_string(), elf, bytes));
        }
    }
    // Each entry's own copy of its program, with its bindings written in
    // (the archive still stores identical copies once).
    let mut programs = Vec::new();
    for (i, t) in image.tasks.iter().enumerate() {
        let (_, path, bytes) = elfs
            .iter()
            .find(|(n, _, _)| *n == t.name)
            .context("task built")?;
        let entry = format!("images/{}.toml: task[{i}] ({})", image.name, t.name);
        crate::build::check_task_link(bytes)
            .with_context(|| format!("{entry}: {}", path.display()))?;
        let patched = crate::binds::patch(bytes, image, i).with_context(|| entry.clone())?;
        let stripped = strip(&patched).with_context(|| format!("{entry}: {}", path.display()))?;
        programs.push(stripped);
    }
    let entries: Vec<Entry> = image
        .tasks
        .iter()
        .zip(&programs)
        .map(|(t, elf)| Entry::of(t, elf))
        .collect();
    let layout = Layout::of(image);
    if entries.is_empty() && layout.is_empty() {
        return Ok(Vec::new());
    }
    let bytes = archive(&entries, &layout)?;
    if let Err(e) = Archive::parse(&bytes) {
        bail!(
            "image {}: the kernel would refuse its archive: {e:?}",
            image.name
        );
    }
    Ok(bytes)
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
    /// Its kernel core's server.
    pub server: bool,
    /// Bit `j`: links shared range `j`.
    pub links: u8,
    /// Grants to its root share (slots 2, 3, ...).
    pub caps: &'a [CapSpec],
    /// Notification index and bits signalled when the task ends, in
    /// notification order.
    pub on_exit: &'a [(usize, u64)],
    /// Left out, without failing the run, where its core does not exist.
    pub optional: bool,
    /// What the run expects of it.
    pub expect: Expect,
    pub elf: &'a [u8],
}

impl<'a> Entry<'a> {
    /// Task `t` of an image, running `elf`.
    pub fn of(t: &'a TaskSpec, elf: &'a [u8]) -> Entry<'a> {
        Entry {
            name: t.name.as_str(),
            core: t.core,
            priority: t.priority,
            server: t.server,
            links: t.ranges.iter().fold(0u8, |m, &j| m | 1 << j),
            caps: &t.caps,
            on_exit: &t.on_exit,
            optional: t.optional,
            expect: t.expect,
            elf,
        }
    }
}

/// Everything of an image the archive holds besides its tasks.
#[derive(Default)]
pub struct Layout<'a> {
    /// The header's kernel options (what the run asks of the test build).
    pub options: KernelOptions,
    pub ranges: &'a [RangeSpec],
    pub shares: &'a [ShareSpec],
    pub notifications: &'a [String],
    pub devices: &'a [DeviceSpec],
    pub interrupts: &'a [InterruptSpec],
    pub kernel_cores: &'a [u32],
}

impl<'a> Layout<'a> {
    pub fn of(image: &'a Image) -> Layout<'a> {
        Layout {
            options: image.options,
            ranges: &image.ranges,
            shares: &image.shares,
            notifications: &image.notifications,
            devices: &image.devices,
            interrupts: &image.interrupts,
            kernel_cores: &image.kernel_cores,
        }
    }

    fn is_empty(&self) -> bool {
        self.options == KernelOptions::NONE
            && self.ranges.is_empty()
            && self.shares.is_empty()
            && self.notifications.is_empty()
            && self.devices.is_empty()
            && self.kernel_cores.is_empty()
    }
}

/// A name, NUL-padded to [`NAME_LEN`].
fn put_name(out: &mut Vec<u8>, name: &str) -> Result<()> {
    if name.len() > NAME_LEN {
        bail!("name {name:?} longer than {NAME_LEN} bytes");
    }
    let mut n = [0u8; NAME_LEN];
    n[..name.len()].copy_from_slice(name.as_bytes());
    out.extend_from_slice(&n);
    Ok(())
}

/// Zeroes to the end of the current entry.
fn end_entry(out: &mut Vec<u8>) {
    out.resize(HEADER + (out.len() - HEADER).next_multiple_of(ENTRY), 0);
}

/// Holder kinds of a capability entry.
const HOLDER_TASK: u8 = 1;
const HOLDER_SHARE: u8 = 2;

/// One capability entry: `cap` goes to `slot` of holder `holder` of kind
/// `holder_kind`.
fn put_cap(out: &mut Vec<u8>, holder_kind: u8, holder: usize, slot: u32, cap: &CapSpec) {
    let (kind, index) = match cap.object {
        ObjectRef::Range(j) => (ObjectKind::AddressRange, j),
        ObjectRef::Share(j) => (ObjectKind::Share, j),
        ObjectRef::Notification(j) => (ObjectKind::Notification, j),
        ObjectRef::Device(j) => (ObjectKind::Segment, j),
        ObjectRef::Task(j) => (ObjectKind::Task, j),
    };
    out.extend_from_slice(&[holder_kind, kind as u8, cap.rights, 0]);
    out.extend_from_slice(&(holder as u32).to_le_bytes());
    out.extend_from_slice(&(index as u32).to_le_bytes());
    out.extend_from_slice(&slot.to_le_bytes());
    end_entry(out);
}

/// The archive bytes (format: `kerncore::bootimage`). Each distinct ELF is
/// stored once, 8-byte aligned; entries running the same program point at
/// the same bytes. Capabilities are written by holder (tasks, then
/// shares) and slot, as the kernel requires.
pub fn archive(entries: &[Entry], layout: &Layout) -> Result<Vec<u8>> {
    let caps = entries.iter().map(|e| e.caps.len()).sum::<usize>()
        + layout.shares.iter().map(|s| s.caps.len()).sum::<usize>();
    let exits = entries.iter().map(|e| e.on_exit.len()).sum::<usize>();
    let counts = [
        entries.len(),
        layout.ranges.len(),
        layout.shares.len(),
        layout.notifications.len(),
        layout.devices.len(),
        caps,
        exits,
    ];
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    for n in &counts[..6] {
        out.extend_from_slice(&u32::try_from(*n)?.to_le_bytes());
    }
    let kernel_cores = layout.kernel_cores.iter().try_fold(0u64, |m, &c| {
        1u64.checked_shl(c)
            .map(|bit| m | bit)
            .with_context(|| format!("kernel core {c} past the mask"))
    })?;
    out.extend_from_slice(&kernel_cores.to_le_bytes());
    out.extend_from_slice(&u32::try_from(exits)?.to_le_bytes());
    out.extend_from_slice(&layout.options.encode().to_le_bytes());
    let mut blobs: Vec<&[u8]> = Vec::new();
    let mut blob_offsets: Vec<usize> = Vec::new();
    let mut offset = (HEADER + counts.iter().sum::<usize>() * ENTRY).next_multiple_of(8);
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
        put_name(&mut out, name).context("task")?;
        out.extend_from_slice(&core.to_le_bytes());
        out.extend_from_slice(&priority.to_le_bytes());
        let flags = if e.server { FLAG_SERVER } else { 0 }
            | if e.optional { FLAG_OPTIONAL } else { 0 }
            | e.expect.flags()
            | (e.links as u16) << 8;
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&(at as u64).to_le_bytes());
        out.extend_from_slice(&(elf.len() as u64).to_le_bytes());
    }
    for r in layout.ranges {
        put_name(&mut out, &r.name).context("range")?;
        out.extend_from_slice(&r.base.to_le_bytes());
        out.extend_from_slice(&r.size.to_le_bytes());
        end_entry(&mut out);
    }
    for name in layout
        .shares
        .iter()
        .map(|s| &s.name)
        .chain(layout.notifications)
    {
        put_name(&mut out, name).context("share or notification")?;
        end_entry(&mut out);
    }
    for (j, d) in layout.devices.iter().enumerate() {
        put_name(&mut out, d.name).context("device")?;
        out.extend_from_slice(&d.kind.raw().to_le_bytes());
        if let Some(i) = layout.interrupts.iter().find(|i| i.device == j) {
            out.extend_from_slice(&u32::try_from(i.task + 1)?.to_le_bytes());
            out.extend_from_slice(&u32::try_from(i.notification)?.to_le_bytes());
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&i.bits.to_le_bytes());
        }
        end_entry(&mut out);
    }
    for (i, e) in entries.iter().enumerate() {
        for (slot, cap) in (FIRST_GRANT_SLOT..).zip(e.caps) {
            put_cap(&mut out, HOLDER_TASK, i, slot, cap);
        }
    }
    for (j, s) in layout.shares.iter().enumerate() {
        for (slot, cap) in (0..).zip(&s.caps) {
            put_cap(&mut out, HOLDER_SHARE, j, slot, cap);
        }
    }
    for (i, e) in entries.iter().enumerate() {
        for &(notification, bits) in e.on_exit {
            out.extend_from_slice(&u32::try_from(i)?.to_le_bytes());
            out.extend_from_slice(&u32::try_from(notification)?.to_le_bytes());
            out.extend_from_slice(&bits.to_le_bytes());
            end_entry(&mut out);
        }
    }
    for elf in blobs {
        out.resize(out.len().next_multiple_of(8), 0);
        out.extend_from_slice(elf);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{archive, Entry, Expect, Layout};
    use crate::image::{CapSpec, DeviceSpec, ObjectRef, RangeSpec, ShareSpec};
    use kerncore::bootimage::{
        Archive, CapEntry, DeviceEntry, DeviceKind, Holder, ImageObject, NamedEntry, Rights,
        TaskEntry,
    };

    fn e<'a>(name: &'a str, core: u32, priority: u16, optional: bool, elf: &'a [u8]) -> Entry<'a> {
        Entry {
            name,
            core,
            priority,
            server: false,
            links: 0,
            caps: &[],
            on_exit: &[],
            optional,
            expect: Expect::Exit0,
            elf,
        }
    }

    #[test]
    fn the_kernel_reads_what_xtask_writes() {
        let bytes = archive(
            &[
                e("hello", 0, 1, false, b"ELF1"),
                e("hello", 2, 3, true, b"ELF22"),
                e("again", 1, 1, false, b"ELF1"),
            ],
            &Layout::default(),
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
                    flags: 4,
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
        // One copy of each distinct ELF, after the 48-byte header and 3 entries.
        assert_eq!(bytes.len(), (48 + 3 * 48) + 8 + 5);
        assert_eq!(a.kernel_cores(), 0);
    }

    #[test]
    fn shares_notifications_devices_and_caps_round_trip() {
        let rw = (Rights::READ.union(Rights::WRITE)).bits();
        let rwg = rw | Rights::GRANT.bits();
        let cap = |object, rights| CapSpec { object, rights };
        let pool_caps = [
            cap(ObjectRef::Range(0), rw),
            cap(ObjectRef::Notification(1), rwg),
        ];
        let shares = [ShareSpec {
            name: "pool".to_string(),
            caps: pool_caps.to_vec(),
        }];
        let console_caps = [cap(ObjectRef::Share(0), rwg), cap(ObjectRef::Device(0), rw)];
        let client_caps = [cap(ObjectRef::Share(0), rw), cap(ObjectRef::Task(1), 0b101)];
        let mut console = e("console", 3, 2, false, b"ELF-C");
        console.server = true;
        console.caps = &console_caps;
        let mut client = e("hello", 0, 1, false, b"ELF-H");
        client.caps = &client_caps;
        client.links = 1;
        client.on_exit = &[(0, 1), (1, 0b100)];
        let ranges = [RangeSpec {
            name: "shm".to_string(),
            base: 0x1_0000_0000,
            size: 2 << 20,
        }];
        let notifications = ["ding".to_string(), "bell".to_string()];
        let devices = [DeviceSpec {
            name: "uart",
            kind: DeviceKind::Uart,
        }];
        let layout = Layout {
            options: kerncore::bootimage::KernelOptions::NONE,
            ranges: &ranges,
            shares: &shares,
            notifications: &notifications,
            devices: &devices,
            interrupts: &[],
            kernel_cores: &[3],
        };
        let bytes = archive(&[client, console], &layout).expect("archive");
        let a = Archive::parse(&bytes).expect("parses");
        assert_eq!(a.kernel_cores(), 1 << 3);
        assert_eq!(
            a.entry(1).map(|t| (t.is_server(), t.elf)),
            Ok((true, &b"ELF-C"[..]))
        );
        assert_eq!(a.entry(0).map(|t| t.links()), Ok(1));
        let exits = |t| a.exit_signals(t).collect::<Vec<_>>();
        assert_eq!(exits(0), [(0, 1), (1, 0b100)]);
        assert_eq!(exits(1), []);
        assert_eq!(a.range(0).map(|r| r.base), Some(0x1_0000_0000));
        assert_eq!(a.share(0), Some(NamedEntry { name: "pool" }));
        assert_eq!(a.notification(1), Some(NamedEntry { name: "bell" }));
        assert_eq!(
            a.device(0),
            Some(DeviceEntry {
                name: "uart",
                kind: DeviceKind::Uart,
                interrupt: None
            })
        );
        let r = |bits| Rights::from_bits(bits).expect("rights");
        let caps: Vec<CapEntry> = a.caps().collect();
        let want = |holder, object, rights, slot| CapEntry {
            holder,
            object,
            rights: r(rights),
            slot,
        };
        assert_eq!(
            caps,
            [
                want(Holder::Task(0), ImageObject::Share(0), rw as u64, 2),
                want(Holder::Task(0), ImageObject::Task(1), 0b101, 3),
                want(Holder::Task(1), ImageObject::Share(0), rwg as u64, 2),
                want(Holder::Task(1), ImageObject::Device(0), rw as u64, 3),
                want(Holder::Share(0), ImageObject::Range(0), rw as u64, 0),
                want(
                    Holder::Share(0),
                    ImageObject::Notification(1),
                    rwg as u64,
                    1
                ),
            ]
        );
    }

    #[test]
    fn shipped_images_pack_into_archives_the_kernel_accepts() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace");
        for name in crate::image::available(root) {
            let image = crate::image::load(root, &name).expect("loads");
            let entries: Vec<Entry> = image.tasks.iter().map(|t| Entry::of(t, b"ELF")).collect();
            let bytes = archive(&entries, &Layout::of(&image)).expect("archive");
            let a = Archive::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(a.len(), image.tasks.len(), "{name}");
            assert_eq!(
                a.cap_count(),
                image.tasks.iter().map(|t| t.caps.len()).sum::<usize>()
                    + image.shares.iter().map(|s| s.caps.len()).sum::<usize>(),
                "{name}"
            );
        }
    }
}
