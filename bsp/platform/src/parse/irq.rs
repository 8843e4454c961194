//! Interrupt specifiers: which controller a node's `interrupts` go to, and
//! the GIC binding's three cells `<type number flags>` as an INTID.

use super::blob::Blob;
use super::node::{u32_value, Node};
use super::translate::number;
use crate::Error;

/// Most `interrupt-parent` / tree-parent steps followed before giving up
/// (a phandle cycle would otherwise never end).
const MAX_HOPS: usize = 32;
/// Cells per interrupt in the GIC binding.
const GIC_CELLS: u32 = 3;
/// First INTID of the shared peripheral interrupts (binding type 0).
const SPI_BASE: u32 = 32;
/// First INTID of the private peripheral interrupts (binding type 1).
const PPI_BASE: u32 = 16;
/// SPIs 0..988 are INTIDs 32..1020 (1020..1023 are special).
const SPI_COUNT: u32 = 988;
const PPI_COUNT: u32 = 16;

/// The controller `node`'s interrupts are delivered to, found as Linux's
/// `of_irq_find_parent` does: follow `interrupt-parent` if the node has one,
/// else go to the tree parent, until a node with `#interrupt-cells`.
///
/// `gic` short-cuts the common case, a phandle naming the GIC, which would
/// otherwise cost a walk over the whole tree per interrupt.
fn interrupt_parent<'a>(blob: &Blob<'a>, node: &Node<'a>, gic: &Node<'a>) -> Option<Node<'a>> {
    let gic_phandle = gic
        .prop("phandle")
        .or_else(|| gic.prop("linux,phandle"))
        .and_then(u32_value);
    let mut current = *node;
    for _ in 0..MAX_HOPS {
        let next = match current.prop("interrupt-parent").map(u32_value) {
            Some(Some(phandle)) if Some(phandle) == gic_phandle => *gic,
            Some(phandle) => blob.by_phandle(phandle?)?,
            None => current.parent()?,
        };
        if next.prop("#interrupt-cells").is_some() {
            return Some(next);
        }
        current = next;
    }
    None
}

/// Interrupt `index` of `node` as a GIC INTID. The node's interrupt parent
/// must be `gic` (with `#interrupt-cells = <3>`): `<0 n flags>` is SPI `n`,
/// INTID 32 + n; `<1 n flags>` is PPI `n`, INTID 16 + n. The flags (trigger,
/// and on GICv2 a CPU mask) are not kept.
pub(super) fn gic_intid<'a>(
    blob: &Blob<'a>,
    node: &Node<'a>,
    gic: &Node<'a>,
    index: usize,
) -> Result<u32, Error> {
    let parent = interrupt_parent(blob, node, gic).ok_or(Error::BadInterrupt)?;
    let cells = parent.prop("#interrupt-cells").and_then(u32_value);
    if !parent.is(gic) || cells != Some(GIC_CELLS) {
        return Err(Error::BadInterrupt);
    }
    let interrupts = node.prop("interrupts").ok_or(Error::BadInterrupt)?;
    let first = index
        .checked_mul(GIC_CELLS as usize)
        .ok_or(Error::BadInterrupt)?;
    let cell = |i: usize| {
        let at = first.checked_add(i).ok_or(Error::BadInterrupt)?;
        number(interrupts, at, 1).map_err(|_| Error::BadInterrupt)
    };
    let (kind, n) = (cell(0)?, cell(1)?);
    match kind {
        0 if n < u64::from(SPI_COUNT) => Ok(SPI_BASE.saturating_add(n as u32)),
        1 if n < u64::from(PPI_COUNT) => Ok(PPI_BASE.saturating_add(n as u32)),
        _ => Err(Error::BadInterrupt),
    }
}
