//! Building and packing a kernel image.
//!
//! `cargo build` the kernel for a board in the image's build (one of two:
//! [`KernelBuild`]; one build serves every image of that board: the
//! image's tasks are not compiled in, and what the test build does at run
//! time is chosen by the archive), check that the ELF carries a defmt table,
//! then pack the ELF's loadable segments and, after them, the image's task
//! archive as the kernel's payload into the raw image the board boots
//! (`kernel.img` on virt, `kernel8.img` on the Pi 4) under
//! `target/images/<image>/<board>/`, next to a copy of the ELF.
//!
//! The payload sits where `.bss` begins (`__bss_start`): a 16-byte header
//! ([`PAYLOAD_MAGIC`], length) and the archive, padded to 16 bytes. The
//! kernel's first instructions move it past `.bss` (to `__kernel_end`)
//! before zeroing `.bss`, and the arm64 Image header's `image_size` is
//! patched to cover it there, so a loader keeps its own data clear of it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use anyhow::{bail, Context, Result};
use defmt_decoder::Table;
use object::elf::{
    FileHeader64, EM_AARCH64, PT_LOAD, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS,
};
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
use object::Endianness;

use crate::cli::Board;
use crate::image::Image;

/// The kernel's target: no FP/SIMD in the kernel, so no lazy FP state.
pub const TARGET: &str = "aarch64-unknown-none-softfloat";
/// A raw image larger than this means segments were linked far apart.
const MAX_IMAGE_BYTES: u64 = 64 << 20;
/// The payload header's magic: "KMLPAYLD" (boot.s `PAYLOAD_MAGIC`).
pub const PAYLOAD_MAGIC: &[u8; 8] = b"KMLPAYLD";
/// The longest payload the kernel takes (boot.s `PAYLOAD_MAX`).
const PAYLOAD_MAX: usize = 64 << 20;
/// Where the arm64 Image header keeps `image_size`, and its magic.
const IMAGE_SIZE_AT: usize = 16;
const IMAGE_MAGIC_AT: usize = 56;

/// The kernel builds of a board: at most these two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KernelBuild {
    /// The kernel every image runs on unless it asks for more: no hooks,
    /// no experimental calls.
    Standard,
    /// The standard kernel plus the fault-injection hooks and the
    /// in-kernel block baseline (its experimental calls), each used only
    /// when the image's archive asks (feature `test-build`).
    Test,
}

impl KernelBuild {
    pub const ALL: [KernelBuild; 2] = [KernelBuild::Standard, KernelBuild::Test];

    /// Its name in an image file (`[kernel] build`).
    pub fn name(self) -> &'static str {
        match self {
            KernelBuild::Standard => "standard",
            KernelBuild::Test => "test",
        }
    }

    pub fn parse(name: &str) -> Option<KernelBuild> {
        KernelBuild::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The kernel's cargo features for it on `board`.
    pub fn features(self, board: Board) -> String {
        match self {
            KernelBuild::Standard => board.feature().to_string(),
            KernelBuild::Test => format!("{},test-build", board.feature()),
        }
    }
}

/// Kernel `cargo build` invocations this process made (reported by
/// `cargo xtask test`).
pub static KERNEL_BUILDS: AtomicUsize = AtomicUsize::new(0);

/// A built and packed image.
#[derive(Clone)]
pub struct Built {
    /// `target/images/<image>/<board>/kernel.elf`.
    pub elf: PathBuf,
    /// The raw image: `kernel.img` (virt) or `kernel8.img` (rpi4).
    pub raw: PathBuf,
    /// The ELF's defmt table, to decode the log UART.
    pub table: Table,
    /// The disk its runs get (`crate::disk`: virtio or an SD card), if
    /// the image has a block device.
    pub disk: Option<crate::disk::Disk>,
    /// Whether its runs get a network card (`crate::net`): the image
    /// grants `device:virtio-net`.
    pub net: bool,
}

/// The workspace root (xtask lives in `<root>/xtask`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or `<root>/target`).
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// The raw image's file name on a board.
pub fn raw_name(board: Board) -> &'static str {
    match board {
        Board::Virt | Board::Imx8mp => "kernel.img",
        Board::Rpi4 => "kernel8.img",
    }
}

/// Builds the kernel for `board` in `image`'s build, then packs it.
pub fn build(root: &Path, image: &Image, board: Board) -> Result<Built> {
    build_patched(root, image, board, &|_| Ok(()))
}

/// [`build`], with `patch` applied to the task archive before it is packed
/// (`cargo xtask fuzz` writes its seed into the fuzzer's program there).
pub fn build_patched(
    root: &Path,
    image: &Image,
    board: Board,
    patch: &dyn Fn(&mut [u8]) -> Result<()>,
) -> Result<Built> {
    let features = image.build.features(board);
    eprintln!(
        "build: image {} for {board} ({} kernel, features {features})",
        image.name,
        image.build.name()
    );
    let out = target_dir(root)
        .join("images")
        .join(&image.name)
        .join(board.name());
    std::fs::create_dir_all(&out).with_context(|| out.display().to_string())?;
    let mut archive = crate::tasks::build_archive(root, image)?;
    patch(&mut archive)?;
    let elf = kernel_elf(root, board, image.build)?;
    let table = defmt_table(&elf)?;
    let raw = pack_with_payload(&elf, &archive).context("packing kernel ELF")?;
    let sizes = sizes(&elf).context("reading kernel ELF sections")?;

    let elf_path = out.join("kernel.elf");
    let raw_path = out.join(raw_name(board));
    std::fs::write(&elf_path, &elf).with_context(|| elf_path.display().to_string())?;
    std::fs::write(&raw_path, &raw).with_context(|| raw_path.display().to_string())?;
    eprintln!(
        "pack: {} {} (text {}, rodata {}, data {}, bss {}, tasks {})",
        raw_path.strip_prefix(root).unwrap_or(&raw_path).display(),
        human(raw.len() as u64),
        human(sizes.text),
        human(sizes.rodata),
        human(sizes.data),
        human(sizes.bss),
        human(archive.len() as u64)
    );
    let disk = crate::disk::for_image(root, image, board, &raw_path);
    Ok(Built {
        elf: elf_path,
        raw: raw_path,
        table,
        disk,
        net: crate::net::needs_net(image),
    })
}

/// The kernel ELF of `build` for `board`: built once per process (every
/// image of the board shares it; only the archive packed beside it
/// differs), then reused.
fn kernel_elf(root: &Path, board: Board, build: KernelBuild) -> Result<Vec<u8>> {
    type Cache = Mutex<HashMap<(Board, KernelBuild), Vec<u8>>>;
    static BUILT: OnceLock<Cache> = OnceLock::new();
    let cache = BUILT.get_or_init(Default::default);
    if let Some(elf) = cache.lock().expect("cache").get(&(board, build)) {
        return Ok(elf.clone());
    }
    let features = build.features(board);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--release", "-p", "kernel", "--target", TARGET])
        .args(["--features", &features]);
    // defmt compiles out every level below DEFMT_LOG (default: error only).
    if std::env::var_os("DEFMT_LOG").is_none() {
        cmd.env("DEFMT_LOG", "info");
    }
    KERNEL_BUILDS.fetch_add(1, Ordering::Relaxed);
    let status = cmd.status().context("cannot run cargo")?;
    if !status.success() {
        bail!("building the {} kernel for {board} failed", build.name());
    }
    let built = target_dir(root).join(TARGET).join("release").join("kernel");
    let elf = std::fs::read(&built).with_context(|| built.display().to_string())?;
    cache
        .lock()
        .expect("cache")
        .insert((board, build), elf.clone());
    Ok(elf)
}

/// The defmt table, which must exist and be non-empty: without `defmt.x` the
/// kernel links, logs frames nobody can decode, and the decoder says nothing.
pub fn defmt_table(elf: &[u8]) -> Result<Table> {
    let table = Table::parse(elf).context("kernel ELF: reading the defmt table")?;
    match table {
        Some(table) if !table.is_empty() => Ok(table),
        _ => bail!("kernel ELF has no .defmt table: the linker script must INCLUDE defmt.x"),
    }
}

/// Where a task's first segment must start: `servers/lib/ulib/task.ld`'s
/// base, which the kernel's task layout expects (docs/tasks.md).
pub const TASK_BASE: u64 = 0x40_0000;

/// Refuses a task ELF not linked the way the kernel expects: its lowest
/// loadable segment must start at [`TASK_BASE`] and every loadable segment
/// at a 4 KiB page boundary (an ELF linked without the task build script
/// starts at 0x200000 with 64 KiB alignment, and would still run).
pub fn check_task_link(elf: &[u8]) -> Result<()> {
    let (header, endian) = parse_header(elf)?;
    let phdrs = header
        .program_headers(endian, elf)
        .context("bad program headers")?;
    let loads: Vec<_> = phdrs
        .iter()
        .filter(|p| p.p_type(endian) == PT_LOAD)
        .collect();
    let lowest = loads.iter().map(|p| p.p_vaddr(endian)).min();
    let hint = "its Cargo.toml must name the task build script (build = \"<path to>/servers/lib/ulib/task-build.rs\", which links with task.ld); `cargo xtask new-task NAME` makes a crate that does";
    match lowest {
        None => bail!("the task has no loadable segment"),
        Some(base) if base != TASK_BASE => {
            bail!("the task is linked at {base:#x}, not at {TASK_BASE:#x}: {hint}")
        }
        Some(_) => {}
    }
    if let Some(p) = loads
        .iter()
        .find(|p| p.p_vaddr(endian) % 4096 != 0 || p.p_align(endian) > 4096)
    {
        bail!(
            "a segment at {:#x} is aligned to {:#x}, not 4 KiB pages: {hint}",
            p.p_vaddr(endian),
            p.p_align(endian)
        );
    }
    Ok(())
}

fn parse_header(elf: &[u8]) -> Result<(&FileHeader64<Endianness>, Endianness)> {
    let header = FileHeader64::<Endianness>::parse(elf).context("not a 64-bit ELF file")?;
    let endian = header.endian().context("bad ELF byte order")?;
    if header.e_machine(endian) != EM_AARCH64 {
        bail!(
            "not an AArch64 ELF (e_machine {})",
            header.e_machine(endian)
        );
    }
    Ok((header, endian))
}

/// The raw image: every PT_LOAD segment's file bytes at `p_vaddr - base`,
/// where base is the lowest `p_vaddr`; gaps are zero; it ends with the last
/// file byte (NOBITS/.bss is zeroed by the kernel itself).
pub fn pack(elf: &[u8]) -> Result<Vec<u8>> {
    let (header, endian) = parse_header(elf)?;
    let mut segments = Vec::new();
    for ph in header.program_headers(endian, elf)? {
        if ph.p_type(endian) != PT_LOAD || ph.p_filesz(endian) == 0 {
            continue;
        }
        let bytes = ph
            .data(endian, elf)
            .map_err(|()| anyhow::anyhow!("a PT_LOAD segment lies outside the file"))?;
        segments.push((ph.p_vaddr(endian), bytes));
    }
    let Some(base) = segments.iter().map(|(vaddr, _)| *vaddr).min() else {
        bail!("no loadable segment with file contents");
    };
    let mut end = base;
    for (vaddr, bytes) in &segments {
        let seg_end = vaddr
            .checked_add(bytes.len() as u64)
            .context("segment wraps the address space")?;
        end = end.max(seg_end);
    }
    let len = end - base;
    if len > MAX_IMAGE_BYTES {
        bail!("loadable segments span {len:#x} bytes from {base:#x}: is a segment linked at the wrong address?");
    }
    let mut raw = vec![0u8; len as usize];
    for (vaddr, bytes) in segments {
        let at = (vaddr - base) as usize;
        raw[at..at + bytes.len()].copy_from_slice(bytes);
    }
    Ok(raw)
}

/// The value of symbol `name` in `elf`'s symbol table.
fn symbol(elf: &[u8], name: &str) -> Result<u64> {
    use object::read::elf::Sym;
    let (header, endian) = parse_header(elf)?;
    let sections = header.sections(endian, elf)?;
    let symbols = sections.symbols(endian, elf, object::elf::SHT_SYMTAB)?;
    for sym in symbols.iter() {
        if symbols.symbol_name(endian, sym).ok() == Some(name.as_bytes()) {
            return Ok(sym.st_value(endian));
        }
    }
    bail!("kernel ELF has no symbol {name}")
}

/// The raw image ([`pack`]) with `payload` after it, where `.bss` begins
/// (see the module's doc); the Image header's `image_size` grows to cover
/// the payload once the kernel has moved it past `.bss`.
pub fn pack_with_payload(elf: &[u8], payload: &[u8]) -> Result<Vec<u8>> {
    let mut raw = pack(elf)?;
    if payload.len() > PAYLOAD_MAX {
        bail!(
            "the task archive is {} bytes; the kernel takes at most {PAYLOAD_MAX}",
            payload.len()
        );
    }
    let start = symbol(elf, "__kernel_start")?;
    let bss = symbol(elf, "__bss_start")?;
    let end = symbol(elf, "__kernel_end")?;
    let at = usize::try_from(
        bss.checked_sub(start)
            .context("__bss_start below the image")?,
    )?;
    if at < raw.len() || at % 16 != 0 {
        bail!("__bss_start ({bss:#x}) is not after the file bytes, 16-byte aligned");
    }
    if raw.get(IMAGE_MAGIC_AT..IMAGE_MAGIC_AT + 4) != Some(b"ARM\x64") {
        bail!("the kernel does not start with an arm64 Image header");
    }
    raw.resize(at, 0);
    raw.extend_from_slice(PAYLOAD_MAGIC);
    raw.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    raw.extend_from_slice(payload);
    raw.resize(raw.len().next_multiple_of(16), 0);
    let moved = (16 + payload.len() as u64).next_multiple_of(4096);
    let image_size = (end - start) + moved;
    raw[IMAGE_SIZE_AT..IMAGE_SIZE_AT + 8].copy_from_slice(&image_size.to_le_bytes());
    Ok(raw)
}

/// Bytes of allocated sections by kind.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sizes {
    pub text: u64,
    pub rodata: u64,
    pub data: u64,
    pub bss: u64,
}

pub fn sizes(elf: &[u8]) -> Result<Sizes> {
    let (header, endian) = parse_header(elf)?;
    let mut sizes = Sizes::default();
    for section in header.sections(endian, elf)?.iter() {
        let flags = section.sh_flags(endian);
        if flags & u64::from(SHF_ALLOC) == 0 {
            continue;
        }
        let size = section.sh_size(endian);
        if section.sh_type(endian) == SHT_NOBITS {
            sizes.bss += size;
        } else if flags & u64::from(SHF_EXECINSTR) != 0 {
            sizes.text += size;
        } else if flags & u64::from(SHF_WRITE) != 0 {
            sizes.data += size;
        } else {
            sizes.rodata += size;
        }
    }
    Ok(sizes)
}

/// `1234` -> `1234 B`, `45678` -> `44.6 KiB`.
fn human(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests;
