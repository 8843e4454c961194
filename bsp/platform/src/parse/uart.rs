//! Choosing the console and the log UART.
//!
//! The console is a PL011 when the DTB has one: the one alias `serial0`
//! names if that is an available PL011, else the available PL011 at the
//! lowest address. A DTB without an available PL011 (NXP i.MX) gets an
//! i.MX UART: the one `/chosen/stdout-path` names if that is an available
//! i.MX UART, else the available one at the lowest address. The log UART is
//! the available PL011 at the lowest address other than the console (QEMU
//! `virt` with two `-serial`), else the BCM2835 mini UART (Raspberry Pi),
//! else the available i.MX UART at the lowest address other than the
//! console, else none.
//!
//! Nodes whose `status` says they are not in use are never chosen, the mini
//! UART included: on a real board a disabled UART may not be routed to any
//! pins, and losing the log channel is harmless, while writing to a block
//! the firmware left off is not. (QEMU `raspi4b` models the mini UART
//! whatever the DTB says; the Debian `bcm2711-rpi-4-b.dtb` has it `"okay"`.)

use super::blob::Blob;
use super::index::Index;
use super::node::{first_str, u32_value, Node};
use super::translate::reg;
use crate::{Error, Uart, UartKind};

pub(super) const PL011: &[&str] = &["arm,pl011"];
/// The i.MX UART (i.MX 6 and later; `fsl,imx21-uart` is the family).
pub(super) const IMX: &[&str] = &["fsl,imx6q-uart", "fsl,imx21-uart"];
pub(super) const MINI_UART: &[&str] = &["brcm,bcm2835-aux-uart"];
pub(super) const AUX: &[&str] = &["brcm,bcm2835-aux"];
const FIXED_CLOCK: &[&str] = &["fixed-clock"];
/// AUX_ENABLES: offset of the enable register in the AUX block.
const AUX_ENABLES: u64 = 4;

/// The console, if there is one the log UART, and the console's
/// interrupt as a GIC INTID if its node gives one the GIC `gic` takes.
pub(super) fn console_and_log<'a>(
    blob: &Blob<'a>,
    idx: &Index<'a>,
    gic: &Node<'a>,
) -> Result<(Uart, Option<Uart>, Option<u32>), Error> {
    let aliased = idx
        .by_path("/aliases")
        .and_then(|aliases| aliases.prop("serial0"))
        .and_then(first_str)
        .and_then(|path| idx.by_path(path))
        .filter(|n| n.compatible_with(PL011) && n.available());
    let console_node = match aliased {
        Some(node) => Some((node, UartKind::Pl011)),
        None => lowest(idx, PL011, None)?.map(|n| (n, UartKind::Pl011)),
    };
    let (console_node, kind) = match console_node {
        Some(found) => found,
        None => {
            let chosen = stdout_path(idx).filter(|n| n.compatible_with(IMX) && n.available());
            let node = match chosen {
                Some(node) => node,
                None => lowest(idx, IMX, None)?.ok_or(Error::NoConsole)?,
            };
            (node, UartKind::Imx)
        }
    };
    let console = uart(blob, &console_node, kind)?;
    let intid = super::irq::gic_intid(blob, &console_node, gic, 0).ok();
    let log = match lowest(idx, PL011, Some(&console_node))? {
        Some(node) => Some(uart(blob, &node, UartKind::Pl011)?),
        None => match mini_uart(blob, idx)? {
            Some(mini) => Some(mini),
            None => match lowest(idx, IMX, Some(&console_node))? {
                Some(node) => Some(uart(blob, &node, UartKind::Imx)?),
                None => None,
            },
        },
    };
    Ok((console, log, intid))
}

/// The node `/chosen/stdout-path` names: an absolute path or an alias,
/// either followed by `:options`.
fn stdout_path<'a>(idx: &Index<'a>) -> Option<Node<'a>> {
    let value = idx
        .by_path("/chosen")?
        .prop("stdout-path")
        .and_then(first_str)?;
    let name = value.split(':').next()?;
    if name.starts_with('/') {
        return idx.by_path(name);
    }
    let path = idx.by_path("/aliases")?.prop(name).and_then(first_str)?;
    idx.by_path(path)
}

/// The available UART compatible with `with` at the lowest address, other
/// than `except`.
fn lowest<'a>(
    idx: &Index<'a>,
    with: &'a [&'a str],
    except: Option<&Node<'_>>,
) -> Result<Option<Node<'a>>, Error> {
    let mut best: Option<(u64, Node<'a>)> = None;
    for node in idx.compatible(with) {
        if except.is_some_and(|e| e.is(&node)) {
            continue;
        }
        let base = reg(&node, 0)?.ok_or(Error::BadReg)?.base;
        if best.as_ref().is_none_or(|(b, _)| base < *b) {
            best = Some((base, node));
        }
    }
    Ok(best.map(|(_, node)| node))
}

/// The mini UART, if it and the AUX block that gates it are both available.
fn mini_uart<'a>(blob: &Blob<'a>, idx: &Index<'a>) -> Result<Option<Uart>, Error> {
    let Some(node) = idx.compatible(MINI_UART).next() else {
        return Ok(None);
    };
    let Some(aux) = idx.compatible(AUX).next() else {
        return Ok(None);
    };
    let aux_base = reg(&aux, 0)?.ok_or(Error::BadReg)?.base;
    let aux_enables = aux_base.checked_add(AUX_ENABLES).ok_or(Error::BadReg)?;
    uart(blob, &node, UartKind::MiniUart { aux_enables }).map(Some)
}

/// `node` as a UART of `kind`: its first `reg` entry and its clock.
fn uart(blob: &Blob<'_>, node: &Node<'_>, kind: UartKind) -> Result<Uart, Error> {
    let region = reg(node, 0)?.ok_or(Error::BadReg)?;
    Ok(Uart {
        kind,
        base: region.base,
        size: region.size,
        clock_hz: fixed_clock_hz(blob, node),
    })
}

/// The rate of the first clock in `node`'s `clocks`, if that clock is a
/// `fixed-clock` (QEMU's 24 MHz `apb-pclk`). Clocks set by firmware (the
/// Raspberry Pi's CPRMAN) have no rate in the DTB.
fn fixed_clock_hz(blob: &Blob<'_>, node: &Node<'_>) -> Option<u32> {
    let phandle = super::translate::number(node.prop("clocks")?, 0, 1).ok()?;
    let clock = blob.by_phandle(u32::try_from(phandle).ok()?)?;
    if !clock.compatible_with(FIXED_CLOCK) {
        return None;
    }
    clock.prop("clock-frequency").and_then(u32_value)
}
