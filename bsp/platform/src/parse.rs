//! Interpreting a DTB as a [`Platform`].
//!
//! [`parse`] never panics, whatever the bytes: every read is bounds-checked
//! and every sum overflow-checked (the lints below, inherited by every
//! submodule, deny indexing and unchecked arithmetic), and a blob that is not a well-formed FDT is an error. Every
//! [`Region`] returned satisfies `base + size <= u64::MAX + 1`, so
//! [`Region::end`] cannot overflow.
//!
//! Each fact is read the way Linux reads it (`status`, `#address-cells`
//! defaults, `ranges` translation, interrupt-parent lookup), so a DTB that
//! boots Linux describes the same machine here.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

mod blob;
mod index;
mod irq;
mod node;
mod translate;
mod uart;

use blob::Blob;
use index::Index;
use node::{first_str, u32_value, Node};
use translate::{number, raw_reg, reg};

use crate::{
    Conduit, Cpu, EnableMethod, Error, Gic, Platform, Psci, Region, Timer, Uart, UartKind,
    VirtioMmio, MAX_CPUS, MAX_REGIONS, MAX_VIRTIO,
};

/// Every GIC: GICv2 / GIC-400, then GICv3.
const GIC: &[&str] = &[
    "arm,gic-400",
    "arm,cortex-a15-gic",
    "arm,cortex-a9-gic",
    "arm,gic-v3",
];
const GIC_V3: &[&str] = &["arm,gic-v3"];
const TIMER: &[&str] = &["arm,armv8-timer", "arm,armv7-timer"];
const PSCI: &[&str] = &["arm,psci", "arm,psci-0.2", "arm,psci-1.0"];
/// PSCI versions with standard function IDs (SYSTEM_OFF among them).
const PSCI_0_2: &[&str] = &["arm,psci-0.2", "arm,psci-1.0"];
const VIRTIO_MMIO: &[&str] = &["virtio,mmio"];
const WATCHDOG: &[&str] = &["brcm,bcm2835-pm-wdt", "brcm,bcm2835-pm"];
const BCM_GPIO: &[&str] = &["brcm,bcm2711-gpio", "brcm,bcm2835-gpio"];
/// The VideoCore mailbox of the Raspberry Pi firmware.
const MAILBOX: &[&str] = &["brcm,bcm2835-mbox"];
/// SD card controllers, in the order [`Platform::sdhci`] lists them.
const SDHCI: [&[&str]; 2] = [&["brcm,bcm2711-emmc2"], &["brcm,bcm2835-sdhci"]];

/// Every list a node is looked up by (the [`Index`] keeps those nodes).
const WANTED: &[&[&str]] = &[
    GIC,
    TIMER,
    PSCI,
    VIRTIO_MMIO,
    WATCHDOG,
    BCM_GPIO,
    MAILBOX,
    SDHCI[0],
    SDHCI[1],
    uart::PL011,
    uart::IMX,
    uart::MINI_UART,
    uart::AUX,
];

/// SMC64 `CPU_ON`, the standard ID since PSCI 0.2.
const PSCI_CPU_ON: u32 = 0xC400_0003;
/// SMC32 `SYSTEM_OFF` (PSCI >= 0.2).
const PSCI_SYSTEM_OFF: u32 = 0x8400_0008;

/// Reads everything the kernel needs from a flattened device tree.
///
/// `dtb` may extend past the blob (only the header's `totalsize` bytes are
/// read) but must not be shorter.
///
/// The [`Platform`] is filled in place, field by field, in the order the
/// facts are checked (so the first missing fact is the error): each list
/// is pushed into where it ends up rather than returned through a
/// `Result` and moved, which cost the kernel about 80 `memcpy` calls of up
/// to 8 KiB each (issue 12's size goal, docs/measurements-syscalls.md).
/// The placeholders of the fields not yet read are never seen: on an
/// error the value is dropped.
pub fn parse(dtb: &[u8]) -> Result<Platform, Error> {
    let blob = Blob::new(dtb)?;
    let root = blob.root().ok_or(Error::BadDtb)?;
    let idx = Index::new(&blob, WANTED);
    let none = Region { base: 0, size: 0 };
    let mut p = Platform {
        model_compatible: heapless::String::new(),
        memory: heapless::Vec::new(),
        reserved: heapless::Vec::new(),
        cpus: heapless::Vec::new(),
        gic: Gic::V2 {
            dist: none,
            cpu: none,
        },
        timer: Timer {
            secure_phys_intid: 0,
            phys_intid: 0,
            virt_intid: 0,
            hyp_intid: 0,
        },
        time_limit_s: None,
        psci: None,
        console: Uart {
            kind: UartKind::Pl011,
            base: 0,
            size: 0,
            clock_hz: None,
        },
        console_intid: None,
        log: None,
        virtio_mmio: heapless::Vec::new(),
        watchdog: None,
        bcm_gpio: None,
        sdhci: heapless::Vec::new(),
        mailbox: None,
    };
    memory(&idx, &mut p.memory)?;
    reserved(&blob, &idx, &mut p.reserved)?;
    p.psci = psci(&idx);
    cpus(&idx, p.psci.is_some(), &mut p.cpus)?;
    let gic_node = gic(&idx, &mut p.gic)?;
    p.timer = timer(&blob, &idx, &gic_node)?;
    (p.console, p.log, p.console_intid) = uart::console_and_log(&blob, &idx, &gic_node)?;
    model_compatible(&root, &mut p.model_compatible);
    p.time_limit_s = time_limit(&idx);
    virtio_mmio(&blob, &idx, &gic_node, &mut p.virtio_mmio)?;
    p.watchdog = first_reg(&idx, WATCHDOG)?;
    p.bcm_gpio = first_reg(&idx, BCM_GPIO)?;
    sdhci(&idx, &mut p.sdhci)?;
    p.mailbox = first_reg(&idx, MAILBOX)?;
    Ok(p)
}

/// The first `reg` entry of the first available node compatible with any
/// of `with`, if there is such a node and it has one.
fn first_reg<'a>(idx: &Index<'a>, with: &'a [&'a str]) -> Result<Option<Region>, Error> {
    match first_available(idx, with) {
        Some(n) => reg(&n, 0),
        None => Ok(None),
    }
}

/// `timeout=S` in `/chosen/bootargs` (words split at spaces; the property
/// ends at its first NUL).
fn time_limit(idx: &Index<'_>) -> Option<u32> {
    let args = idx.by_path("/chosen")?.prop("bootargs")?;
    let args = args.split(|&b| b == 0).next()?;
    let args = core::str::from_utf8(args).ok()?;
    args.split(' ')
        .find_map(|w| w.strip_prefix("timeout="))
        .and_then(|s| s.parse().ok())
}

/// Every available SD card controller: EMMC2 kinds first (see
/// [`Platform::sdhci`]); more than [`crate::MAX_SDHCI`] are not listed.
fn sdhci(
    idx: &Index<'_>,
    found: &mut heapless::Vec<Region, { crate::MAX_SDHCI }>,
) -> Result<(), Error> {
    for kind in SDHCI {
        for node in idx.compatible(kind) {
            if let Some(region) = reg(&node, 0)? {
                let _ = found.push(region);
            }
        }
    }
    Ok(())
}

/// The size of the DTB at `ptr` from its header (`totalsize`), so that the
/// caller can make the slice [`parse`] takes. `None` if `ptr` is null, the
/// magic number is wrong, or the size is smaller than a header. Only the
/// first 8 bytes are read; nothing else is checked (that is [`parse`]'s
/// job). QEMU `virt` blobs say 1 MiB.
///
/// # Safety
///
/// `ptr` must be null or valid for reads of 8 bytes. It need not be aligned.
pub unsafe fn dtb_size(ptr: *const u8) -> Option<usize> {
    if ptr.is_null() {
        return None;
    }
    // Safety: the caller guarantees 8 readable bytes at `ptr`, and `[u8; 8]`
    // has alignment 1, so any address is suitably aligned.
    let head = unsafe { ptr.cast::<[u8; 8]>().read() };
    if blob::be32(&head, 0)? != blob::FDT_MAGIC {
        return None;
    }
    let size = usize::try_from(blob::be32(&head, 4)?).ok()?;
    (size >= blob::HEADER_LEN).then_some(size)
}

/// Puts the first string of the root's `compatible` (cut to 64 bytes, at
/// a character boundary) in the empty `model`; leaves it empty if there is
/// none.
fn model_compatible(root: &Node<'_>, model: &mut heapless::String<64>) {
    if let Some(first) = root.prop("compatible").and_then(first_str) {
        for c in first.chars() {
            if model.push(c).is_err() {
                break;
            }
        }
    }
}

/// The first available node compatible with any of `with`.
fn first_available<'a>(idx: &Index<'a>, with: &'a [&'a str]) -> Option<Node<'a>> {
    idx.compatible(with).next()
}

/// Appends every `reg` entry of `node` to `out`.
fn push_regs(node: &Node<'_>, out: &mut heapless::Vec<Region, MAX_REGIONS>) -> Result<(), Error> {
    let mut index = 0;
    while let Some(region) = reg(node, index)? {
        out.push(region).map_err(|_| Error::TooManyRegions)?;
        index = index.checked_add(1).ok_or(Error::BadReg)?;
    }
    Ok(())
}

/// Every bank of every available `/memory` node, in address order, into
/// the empty `memory`. Banks are kept as written, a zero size included (the
/// unpatched Raspberry Pi DTB says `reg = <0 0 0>` and relies on the
/// firmware to fill it in).
fn memory(idx: &Index<'_>, memory: &mut heapless::Vec<Region, MAX_REGIONS>) -> Result<(), Error> {
    for node in idx.top() {
        let is_memory =
            node.named("memory") || node.prop("device_type").and_then(first_str) == Some("memory");
        if is_memory && node.available() {
            push_regs(&node, memory)?;
        }
    }
    if memory.is_empty() {
        return Err(Error::NoMemory);
    }
    sort_by_base(memory, |r| r.base);
    Ok(())
}

/// The header's `/memreserve/` entries and the `reg` of every available
/// `/reserved-memory` child, in address order, into the empty `reserved`.
/// (Children with only `size` and `alloc-ranges`, like the Raspberry Pi's
/// CMA pool, are requests for Linux's allocator, not reservations.)
fn reserved(
    blob: &Blob<'_>,
    idx: &Index<'_>,
    reserved: &mut heapless::Vec<Region, MAX_REGIONS>,
) -> Result<(), Error> {
    for (base, size) in blob.reservations() {
        base.checked_add(size).ok_or(Error::BadDtb)?;
        reserved
            .push(Region { base, size })
            .map_err(|_| Error::TooManyRegions)?;
    }
    if let Some(pool) = idx.by_path("/reserved-memory") {
        for child in pool.children().filter(Node::available) {
            push_regs(&child, reserved)?;
        }
    }
    sort_by_base(reserved, |r| r.base);
    Ok(())
}

/// Every `/cpus/cpu@N` with `device_type = "cpu"`, in DTB order, into the
/// empty `cpus`.
fn cpus(
    idx: &Index<'_>,
    have_psci: bool,
    cpus: &mut heapless::Vec<Cpu, MAX_CPUS>,
) -> Result<(), Error> {
    let parent = idx.by_path("/cpus").ok_or(Error::NoCpus)?;
    for node in parent.children() {
        let is_cpu =
            node.named("cpu") && node.prop("device_type").and_then(first_str) == Some("cpu");
        if !is_cpu {
            continue;
        }
        let (mpidr, _) = raw_reg(&node, 0)?.ok_or(Error::BadReg)?;
        let enable_method = enable_method(&node)?;
        if enable_method == EnableMethod::Psci && !have_psci {
            return Err(Error::BadEnableMethod);
        }
        cpus.push(Cpu {
            mpidr,
            enable_method,
        })
        .map_err(|_| Error::TooManyCpus)?;
    }
    if cpus.is_empty() {
        return Err(Error::NoCpus);
    }
    Ok(())
}

/// A core's `enable-method`. The spin-table release address is 64 bits,
/// normally as two cells; one cell is accepted too.
fn enable_method(cpu: &Node<'_>) -> Result<EnableMethod, Error> {
    let Some(method) = cpu.prop("enable-method") else {
        return Ok(EnableMethod::None);
    };
    match first_str(method) {
        Some("psci") => Ok(EnableMethod::Psci),
        Some("spin-table") => {
            let addr = cpu.prop("cpu-release-addr").ok_or(Error::BadEnableMethod)?;
            let cells = match addr.len() {
                4 => 1,
                8 => 2,
                _ => return Err(Error::BadEnableMethod),
            };
            let release_addr = number(addr, 0, cells).map_err(|_| Error::BadEnableMethod)?;
            Ok(EnableMethod::SpinTable { release_addr })
        }
        _ => Err(Error::BadEnableMethod),
    }
}

/// The first available GIC into `out`; returns its node (interrupt
/// specifiers must point at it).
fn gic<'a>(idx: &Index<'a>, out: &mut Gic) -> Result<Node<'a>, Error> {
    let node = first_available(idx, GIC).ok_or(Error::NoGic)?;
    let dist = reg(&node, 0)?.ok_or(Error::NoGic)?;
    let second = reg(&node, 1)?.ok_or(Error::NoGic)?;
    *out = if node.compatible_with(GIC_V3) {
        Gic::V3 {
            dist,
            redist: second,
        }
    } else {
        Gic::V2 { dist, cpu: second }
    };
    Ok(node)
}

/// The generic timer's four PPIs: secure physical, non-secure physical,
/// virtual, hypervisor.
fn timer<'a>(blob: &Blob<'a>, idx: &Index<'a>, gic: &Node<'a>) -> Result<Timer, Error> {
    let node = first_available(idx, TIMER).ok_or(Error::NoTimer)?;
    let intid = |i| irq::gic_intid(blob, &node, gic, i).map_err(|_| Error::NoTimer);
    Ok(Timer {
        secure_phys_intid: intid(0)?,
        phys_intid: intid(1)?,
        virt_intid: intid(2)?,
        hyp_intid: intid(3)?,
    })
}

/// The PSCI node, if it names a conduit this kernel can use.
fn psci(idx: &Index<'_>) -> Option<Psci> {
    let node = first_available(idx, PSCI)?;
    let conduit = match node.prop("method").and_then(first_str)? {
        "hvc" => Conduit::Hvc,
        "smc" => Conduit::Smc,
        _ => return None,
    };
    Some(Psci {
        conduit,
        cpu_on: node
            .prop("cpu_on")
            .and_then(u32_value)
            .unwrap_or(PSCI_CPU_ON),
        system_off: node.compatible_with(PSCI_0_2).then_some(PSCI_SYSTEM_OFF),
    })
}

/// Every available virtio-mmio transport, in address order, into the
/// empty `found`.
fn virtio_mmio<'a>(
    blob: &Blob<'a>,
    idx: &Index<'a>,
    gic: &Node<'a>,
    found: &mut heapless::Vec<VirtioMmio, MAX_VIRTIO>,
) -> Result<(), Error> {
    for node in idx.compatible(VIRTIO_MMIO) {
        let region = reg(&node, 0)?.ok_or(Error::BadReg)?;
        let intid = irq::gic_intid(blob, &node, gic, 0)?;
        found
            .push(VirtioMmio { region, intid })
            .map_err(|_| Error::TooManyRegions)?;
    }
    sort_by_base(found, |v| v.region.base);
    Ok(())
}

/// Sorts `items` by `base`, stably, by insertion. The lists are short (at
/// most [`MAX_VIRTIO`] entries) and sorted once a boot; core's
/// `sort_unstable_by_key` cost about 4 KiB of kernel text for its two
/// instantiations (issue 12's size goal, docs/measurements.md).
fn sort_by_base<T>(items: &mut [T], base: impl Fn(&T) -> u64) {
    for i in 1..items.len() {
        let mut j = i;
        while let Some(prev) = j.checked_sub(1) {
            match (items.get(prev), items.get(j)) {
                (Some(a), Some(b)) if base(a) > base(b) => items.swap(prev, j),
                _ => break,
            }
            j = prev;
        }
    }
}

#[cfg(test)]
mod sort_tests {
    extern crate std;
    use super::sort_by_base;
    use std::vec::Vec;

    /// Every permutation-ish input up to 9 entries, against the standard
    /// library's stable sort (equal bases keep their order).
    #[test]
    fn sorts_like_the_stable_sort() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for len in 0..=9 {
            for _ in 0..200 {
                let mut items: Vec<(u64, usize)> = (0..len)
                    .map(|i| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        (seed % 5, i)
                    })
                    .collect();
                let mut want = items.clone();
                want.sort_by_key(|e| e.0);
                sort_by_base(&mut items, |e| e.0);
                assert_eq!(items, want);
            }
        }
    }
}
