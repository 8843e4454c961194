//! SD card initialisation (SD Physical Layer Simplified Specification,
//! 4.2 and 4.3): reset, CMD0, CMD8, ACMD41 with HCS until the card is
//! ready, CMD2, CMD3, CMD9 (capacity), CMD7, ACMD6 (4-bit bus), CMD16 on
//! standard-capacity cards, then the data clock. Every step has a
//! deadline, and a failure says which step and why.

use crate::property::base_clock;
use crate::sdhci::{Deadline, Error, Resp, Sdhci, BLOCK};

/// Identification clock (the specification's 100-400 kHz).
const IDENT_HZ: u32 = 400_000;
/// Data clock: Default Speed.
const DATA_HZ: u32 = 25_000_000;
/// How long the card may stay busy in ACMD41 (the specification: 1 s).
const READY_MS: u64 = 1000;

/// CMD8's argument: 2.7-3.6 V, check pattern 0xaa.
const IF_COND: u32 = 0x1aa;
/// ACMD41: Host Capacity Support, and the 3.2-3.4 V window.
const HCS: u32 = 1 << 30;
const VOLTAGE_WINDOW: u32 = 0x0030_0000;
/// OCR: power-up done, Card Capacity Status.
const OCR_READY: u32 = 1 << 31;
const OCR_CCS: u32 = 1 << 30;

/// An initialised card in the transfer state, 4-bit bus.
#[derive(Clone, Copy, Debug)]
pub struct Card {
    /// Relative Card Address (CMD3).
    pub rca: u32,
    /// SDHC/SDXC: addressed by block, not by byte.
    pub high_capacity: bool,
    /// Capacity in 512-byte blocks (CSD).
    pub blocks: u64,
}

/// Which step of the initialisation failed, and how.
#[derive(Clone, Copy, Debug)]
pub struct InitError {
    pub step: &'static str,
    pub error: Error,
}

fn at<T>(step: &'static str, r: Result<T, Error>) -> Result<T, InitError> {
    r.map_err(|error| InitError { step, error })
}

/// An application command: CMD55 (with the card's address) then ACMD `index`.
fn app_command(
    host: &Sdhci,
    rca: u32,
    index: u32,
    arg: u32,
    resp: Resp,
) -> Result<[u32; 4], Error> {
    host.command(55, rca << 16, Resp::R1)?;
    host.command(index, arg, resp)
}

/// Brings the card in `host` from power-up to the transfer state; the base
/// clock is `property::base_clock`'s choice between the firmware's rate
/// (`firmware_hz`, if it was asked) and the Capabilities register's.
pub fn init(host: &Sdhci, firmware_hz: Option<u32>) -> Result<Card, InitError> {
    at("controller reset", host.init())?;
    let base = at(
        "base clock",
        base_clock(firmware_hz, host.capabilities_clock_mhz()).ok_or(Error::NoBaseClock),
    )?;
    at("identification clock", host.set_clock(base, IDENT_HZ))?;
    at("CMD0 (GO_IDLE_STATE)", host.command(0, 0, Resp::None))?;
    // CMD8: a version 2.00+ card echoes the pattern; a 1.x card does not
    // answer (a command timeout), and may not be given HCS.
    let v2 = match host.command(8, IF_COND, Resp::R1) {
        Ok(r) if r[0] & 0xfff == IF_COND => true,
        Ok(_) => {
            return at(
                "CMD8 (SEND_IF_COND)",
                Err(Error::Protocol("pattern not echoed")),
            )
        }
        Err(Error::CommandTimeout) => false,
        Err(e) => return at("CMD8 (SEND_IF_COND)", Err(e)),
    };
    let arg = VOLTAGE_WINDOW | if v2 { HCS } else { 0 };
    let deadline = Deadline::after_ms(READY_MS);
    let ocr = loop {
        let ocr = at(
            "ACMD41 (SD_SEND_OP_COND)",
            app_command(host, 0, 41, arg, Resp::R3),
        )?[0];
        if ocr & OCR_READY != 0 {
            break ocr;
        }
        if deadline.passed() {
            return at(
                "ACMD41 (SD_SEND_OP_COND)",
                Err(Error::Protocol("card stays busy")),
            );
        }
    };
    let high_capacity = v2 && ocr & OCR_CCS != 0;
    at("CMD2 (ALL_SEND_CID)", host.command(2, 0, Resp::R2))?;
    let rca = at("CMD3 (SEND_RELATIVE_ADDR)", host.command(3, 0, Resp::R1))?[0] >> 16;
    let csd = at("CMD9 (SEND_CSD)", host.command(9, rca << 16, Resp::R2))?;
    let blocks = at(
        "CSD",
        crate::csd::blocks(csd).ok_or(Error::Protocol("unknown CSD structure")),
    )?;
    at("CMD7 (SELECT_CARD)", host.command(7, rca << 16, Resp::R1b))?;
    at(
        "ACMD6 (SET_BUS_WIDTH)",
        app_command(host, rca, 6, 2, Resp::R1),
    )?;
    host.set_4bit();
    if !high_capacity {
        at(
            "CMD16 (SET_BLOCKLEN)",
            host.command(16, BLOCK as u32, Resp::R1),
        )?;
    }
    at("data clock", host.set_clock(base, DATA_HZ))?;
    Ok(Card {
        rca,
        high_capacity,
        blocks,
    })
}

impl Card {
    /// The card address of block `block` (a byte address on standard
    /// capacity cards).
    pub fn address(&self, block: u64) -> Option<u32> {
        let a = if self.high_capacity {
            block
        } else {
            block.checked_mul(BLOCK as u64)?
        };
        u32::try_from(a).ok()
    }
}
