//! Writing a card image to a block device without destroying the wrong one:
//! only a whole disk (not a partition), never one that is mounted (the disk
//! or any partition of it, per /proc/mounts), used as swap, or holding the
//! running system (the disk behind `/`), and only after the user typed
//! `yes` (or passed `--yes`). The open uses O_EXCL, which Linux refuses for
//! a block device in use, as a last guard; the written bytes are read back.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Mount points that make a disk part of the running system.
const SYSTEM_MOUNTS: [&str; 6] = ["/", "/boot", "/boot/efi", "/usr", "/var", "/home"];

/// A whole disk, as /sys describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    /// `/dev/sdb` (symlinks resolved).
    pub path: PathBuf,
    /// `sdb`.
    pub name: String,
    /// `sdb1`, `sdb2`, ...
    pub partitions: Vec<String>,
    pub bytes: Option<u64>,
    pub model: String,
}

fn sys_read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Looks `path` up: a block device, a whole disk.
pub fn inspect(path: &Path) -> Result<Disk> {
    let shown = path.display();
    let meta = std::fs::metadata(path).with_context(|| format!("--device {shown}"))?;
    if !meta.file_type().is_block_device() {
        bail!("--device {shown}: not a block device (use --out FILE to write an image file)");
    }
    let real = std::fs::canonicalize(path).with_context(|| format!("--device {shown}"))?;
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sys = Path::new("/sys/class/block").join(&name);
    if sys.join("partition").exists() {
        let parent = std::fs::canonicalize(&sys)
            .ok()
            .and_then(|p| {
                p.parent()
                    .and_then(|d| d.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "the disk".into());
        bail!("--device {shown} is a partition: give the whole card, e.g. --device /dev/{parent}");
    }
    let mut partitions: Vec<String> = std::fs::read_dir(&sys)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("partition").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    partitions.sort();
    let bytes = sys_read(sys.join("size"))
        .and_then(|s| s.parse::<u64>().ok())
        .map(|s| s * 512);
    let model = [
        sys_read(sys.join("device/vendor")),
        sys_read(sys.join("device/model")),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    Ok(Disk {
        path: real,
        name,
        partitions,
        bytes,
        model,
    })
}

/// `part` is a partition of `disk` by the kernel's naming: `sdb1` of
/// `sdb`, `mmcblk0p1` of `mmcblk0`, `nvme0n1p2` of `nvme0n1`.
pub fn is_partition_name(disk: &str, part: &str) -> bool {
    let Some(rest) = part.strip_prefix(disk) else {
        return false;
    };
    let digits = if disk.ends_with(|c: char| c.is_ascii_digit()) {
        rest.strip_prefix('p').unwrap_or("")
    } else {
        rest
    };
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `/proc/mounts` escapes spaces and the like as `\040`.
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(c) => {
                out.push(c as char);
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out + rest
}

/// Why writing `disk` must not happen, if it must not. `mounts` and `swaps`
/// are the texts of /proc/mounts and /proc/swaps, `root_disk` the disk the
/// root file system lives on, `name_of` maps a `/dev/...` path to a device
/// name (resolving symlinks such as /dev/disk/by-uuid/...).
pub fn refusal(
    disk: &Disk,
    mounts: &str,
    swaps: &str,
    root_disk: Option<&str>,
    name_of: &dyn Fn(&str) -> String,
) -> Option<String> {
    let ours = |source: &str| {
        if !source.starts_with("/dev/") {
            return false;
        }
        let name = name_of(source);
        name == disk.name || disk.partitions.contains(&name) || is_partition_name(&disk.name, &name)
    };
    let dev = disk.path.display();
    if root_disk == Some(disk.name.as_str()) {
        return Some(format!(
            "{dev} holds the running system (the root file system is on it)"
        ));
    }
    let mut mounted = Vec::new();
    for line in mounts.lines() {
        let mut f = line.split_whitespace();
        let (Some(source), Some(point)) = (f.next(), f.next()) else {
            continue;
        };
        let (source, point) = (unescape(source), unescape(point));
        if !ours(&source) {
            continue;
        }
        if SYSTEM_MOUNTS.contains(&point.as_str()) {
            return Some(format!(
                "{dev} holds the running system: {source} is mounted on {point}"
            ));
        }
        mounted.push(format!("{source} on {point}"));
    }
    if !mounted.is_empty() {
        return Some(format!(
            "{dev} is mounted ({}): unmount it first (sudo umount {})",
            mounted.join(", "),
            disk.path.display().to_string() + "*"
        ));
    }
    for line in swaps.lines().skip(1) {
        if let Some(source) = line.split_whitespace().next().filter(|s| ours(s)) {
            return Some(format!(
                "{dev} is in use as swap ({source}): sudo swapoff {source}"
            ));
        }
    }
    None
}

/// The disk the root file system lives on (via its device number; handles
/// `/dev/root` and device-mapper), if it is a block device at all.
pub fn root_disk() -> Option<String> {
    let dev = std::fs::metadata("/").ok()?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let mut node = std::fs::canonicalize(format!("/sys/dev/block/{major}:{minor}")).ok()?;
    // Device-mapper / md: follow the first underlying device.
    for _ in 0..8 {
        let slave = std::fs::read_dir(node.join("slaves"))
            .ok()
            .and_then(|mut d| d.next()?.ok());
        match slave {
            Some(s) => node = std::fs::canonicalize(s.path()).ok()?,
            None => break,
        }
    }
    if node.join("partition").exists() {
        node = node.parent()?.to_path_buf();
    }
    node.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// Refuses (with the reason) or returns the disk to write.
pub fn check(path: &Path) -> Result<Disk> {
    let disk = inspect(path)?;
    let mounts = std::fs::read_to_string("/proc/mounts").context("reading /proc/mounts")?;
    let swaps = std::fs::read_to_string("/proc/swaps").unwrap_or_default();
    let name_of = |source: &str| {
        let p = std::fs::canonicalize(source).unwrap_or_else(|_| PathBuf::from(source));
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if let Some(why) = refusal(&disk, &mounts, &swaps, root_disk().as_deref(), &name_of) {
        bail!("refusing to write the card: {why}");
    }
    Ok(disk)
}

fn describe(disk: &Disk) -> String {
    let size = disk.bytes.map_or("unknown size".to_string(), |b| {
        format!("{:.1} GB", b as f64 / 1e9)
    });
    let model = if disk.model.is_empty() {
        "no model name".into()
    } else {
        disk.model.clone()
    };
    format!("{} ({size}, {model})", disk.path.display())
}

/// Asks before erasing (unless `yes`); refuses without a terminal to ask on.
pub fn confirm(disk: &Disk, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to overwrite {} without confirmation: pass --yes",
            describe(disk)
        );
    }
    eprint!(
        "flash: this ERASES everything on {}. Type yes to continue: ",
        describe(disk)
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .context("reading the answer")?;
    if answer.trim() != "yes" {
        bail!("not confirmed: nothing was written");
    }
    Ok(())
}

/// Writes `image` to the start of `disk`, syncs, reads it back and compares.
pub fn write(disk: &Disk, image: &[u8]) -> Result<()> {
    let dev = disk.path.display();
    if let Some(bytes) = disk.bytes.filter(|&b| b < image.len() as u64) {
        bail!("{dev} holds {bytes} bytes, the image needs {}", image.len());
    }
    let mut file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_EXCL)
        .open(&disk.path)
        .with_context(|| format!("opening {dev} (in use? O_EXCL refuses a busy device)"))?;
    for chunk in image.chunks(4 << 20) {
        file.write_all(chunk)
            .with_context(|| format!("writing {dev}"))?;
    }
    file.sync_all().with_context(|| format!("syncing {dev}"))?;
    drop(file);
    let mut back = vec![0u8; image.len()];
    let mut f = std::fs::File::open(&disk.path).with_context(|| format!("reading {dev} back"))?;
    // Drop the cached pages so the read-back comes from the card.
    let _ = nix::fcntl::posix_fadvise(
        &f,
        0,
        0,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    );
    f.read_exact(&mut back)
        .with_context(|| format!("reading {dev} back"))?;
    if back != image {
        bail!("{dev} does not read back what was written: a failing card or reader?");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
