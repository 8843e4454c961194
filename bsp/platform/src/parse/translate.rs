//! `reg` and `ranges`: from a bus address in a node's `reg` to the CPU
//! physical address, through every enclosing bus.
//!
//! A node's `reg` is in its parent's address space (`#address-cells` /
//! `#size-cells` of the parent). Each bus above maps its children's space into
//! its own parent's with `ranges` (`<child-address parent-address size>`
//! triples); an empty `ranges` is the identity and a missing one means the
//! space is not reachable from the CPU. The root's space is the CPU's. On the
//! Raspberry Pi 4 this turns `/soc`'s bus address 0x7e201000 into
//! 0xfe201000.

use super::blob::be32;
use super::node::{u32_value, Node};
use crate::{Error, Region};

/// Widest address or size read: two cells, 64 bits.
const MAX_CELLS: usize = 2;

/// The `#address-cells` / `#size-cells` a node gives its children.
#[derive(Clone, Copy)]
pub(super) struct Cells {
    pub address: usize,
    pub size: usize,
}

impl Cells {
    /// Cells of `node`'s children; the devicetree specification's defaults
    /// (2 and 1) when absent.
    pub fn of(node: &Node<'_>) -> Result<Self, Error> {
        let read = |name, default| match node.prop(name) {
            None => Ok(default),
            Some(v) => u32_value(v).map(|n| n as usize).ok_or(Error::BadReg),
        };
        Ok(Self {
            address: read("#address-cells", 2)?,
            size: read("#size-cells", 1)?,
        })
    }
}

/// A number of `cells` big-endian cells starting at cell `index` of `value`.
pub(super) fn number(value: &[u8], index: usize, cells: usize) -> Result<u64, Error> {
    if cells > MAX_CELLS {
        return Err(Error::BadReg);
    }
    (0..cells).try_fold(0u64, |acc, i| {
        let at = index
            .checked_add(i)
            .and_then(|c| c.checked_mul(4))
            .ok_or(Error::BadReg)?;
        let cell = be32(value, at).ok_or(Error::BadReg)?;
        Ok(acc.checked_shl(32).unwrap_or(0) | u64::from(cell))
    })
}

/// Entry `index` of `node`'s `reg`, untranslated: `(address, size)` in the
/// parent's bus space. `Ok(None)` when there is no such entry.
pub(super) fn raw_reg(node: &Node<'_>, index: usize) -> Result<Option<(u64, u64)>, Error> {
    let Some(reg) = node.prop("reg") else {
        return Ok(None);
    };
    let parent = node.parent().ok_or(Error::BadReg)?;
    let cells = Cells::of(&parent)?;
    let stride = cells.address.checked_add(cells.size).ok_or(Error::BadReg)?;
    let stride_bytes = stride.checked_mul(4).ok_or(Error::BadReg)?;
    if stride == 0 || reg.len().checked_rem(stride_bytes) != Some(0) {
        return Err(Error::BadReg);
    }
    let first = index.checked_mul(stride).ok_or(Error::BadReg)?;
    if first.checked_mul(4).is_none_or(|at| at >= reg.len()) {
        return Ok(None);
    }
    let address = number(reg, first, cells.address)?;
    let size = number(
        reg,
        first.checked_add(cells.address).ok_or(Error::BadReg)?,
        cells.size,
    )?;
    Ok(Some((address, size)))
}

/// Entry `index` of `node`'s `reg`, translated to a CPU physical region.
/// `Ok(None)` when there is no such entry; `Err(BadReg)` when the entry is
/// malformed, not reachable from the CPU, or wraps past the top of the
/// address space.
pub(super) fn reg(node: &Node<'_>, index: usize) -> Result<Option<Region>, Error> {
    let Some((address, size)) = raw_reg(node, index)? else {
        return Ok(None);
    };
    let base = translate(node, address)?;
    base.checked_add(size).ok_or(Error::BadReg)?;
    Ok(Some(Region { base, size }))
}

/// Maps `address`, in the space `node`'s `reg` uses, up to the CPU's.
fn translate(node: &Node<'_>, mut address: u64) -> Result<u64, Error> {
    let mut bus = node.parent().ok_or(Error::BadReg)?;
    // Each step moves one level up, so this ends at the root.
    while let Some(above) = bus.parent() {
        let ranges = bus.prop("ranges").ok_or(Error::BadReg)?;
        if !ranges.is_empty() {
            address = through_ranges(
                ranges,
                Cells::of(&bus)?,
                Cells::of(&above)?.address,
                address,
            )?;
        }
        bus = above;
    }
    Ok(address)
}

/// One level of translation: find the `ranges` entry covering `address`.
fn through_ranges(
    ranges: &[u8],
    child: Cells,
    parent_address: usize,
    address: u64,
) -> Result<u64, Error> {
    let stride = child
        .address
        .checked_add(parent_address)
        .and_then(|n| n.checked_add(child.size))
        .ok_or(Error::BadReg)?;
    let stride_bytes = stride.checked_mul(4).ok_or(Error::BadReg)?;
    if stride == 0 || ranges.len().checked_rem(stride_bytes) != Some(0) {
        return Err(Error::BadReg);
    }
    let entries = ranges
        .len()
        .checked_div(stride_bytes)
        .ok_or(Error::BadReg)?;
    for entry in 0..entries {
        let first = entry.checked_mul(stride).ok_or(Error::BadReg)?;
        let child_base = number(ranges, first, child.address)?;
        let parent_at = first.checked_add(child.address).ok_or(Error::BadReg)?;
        let parent_base = number(ranges, parent_at, parent_address)?;
        let size_at = parent_at.checked_add(parent_address).ok_or(Error::BadReg)?;
        let size = number(ranges, size_at, child.size)?;
        if let Some(offset) = address.checked_sub(child_base).filter(|&o| o < size) {
            return parent_base.checked_add(offset).ok_or(Error::BadReg);
        }
    }
    Err(Error::BadReg)
}
