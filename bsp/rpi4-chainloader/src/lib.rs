//! The serial chainloader's wire protocol, shared by the loader (the board
//! side, `src/main.rs`) and `cargo xtask hil` (the host side), so both ends
//! run the same code. `no_std`, no `unsafe`, tested on the host.
//!
//! One transfer, over UART0 at the configured baud rate, 8N1:
//!
//! ```text
//! loader: "kml-chainloader v1: ...\r\n"          once, at start
//! loader: "KML:READY\r\n"                         every 500 ms while idle
//! host:   header (16 bytes): "KMLI", size u32 LE, CRC-32 of the payload
//!         u32 LE, CRC-32 of the 12 bytes before it u32 LE
//! loader: "KML:GO <size>\r\n"   or   "KML:NAK <reason>\r\n"
//! host:   the payload (size bytes), written by the loader to LOAD_ADDR
//! loader: "KML:OK <crc>\r\n"    or   "KML:NAK <reason>\r\n"
//! ```
//!
//! After `KML:OK` the loader jumps to the payload; after a NAK it drains the
//! line until it is quiet and announces `KML:READY` again, and the host sends
//! the header anew. CRC-32 is the IEEE 802.3 / zlib one (reflected polynomial
//! 0xEDB88320, initial value and final XOR 0xFFFFFFFF).
#![no_std]
#![forbid(unsafe_code)]
#![forbid(unsafe_op_in_unsafe_fn)]

mod receiver;

use core::fmt;

pub use receiver::{Event, Limits, Receiver};

/// Where the payload (the kernel) is written and entered: the Pi 4
/// firmware's `kernel8.img` address, the kernel's `text_offset`.
pub const LOAD_ADDR: u64 = 0x8_0000;
/// Where the loader copies itself and runs (link address, `link.ld`): RAM
/// on every Pi 4 and on QEMU `raspi4b`, clear of QEMU's DTB at 0x0800_0000.
pub const RUN_ADDR: u64 = 0x0200_0000;
/// Bytes the loader's home holds (code, data, `.bss`, stack).
pub const RUN_LIMIT: u64 = 0x20_0000;
/// Largest payload: from LOAD_ADDR up to the loader's own home.
pub const MAX_IMAGE: u32 = (RUN_ADDR - LOAD_ADDR) as u32;
/// x1 for the kernel: "started by the chainloader" (the kernel's
/// `boot::CHAINLOADED_MAGIC`, "KMLCHAIN").
pub const CHAINLOADED_MAGIC: u64 = 0x4e49_4148_434c_4d4b;
/// The loader's baud rate unless `cargo xtask flash --baud` patched it.
pub const DEFAULT_BAUD: u32 = 115_200;
/// The rate the kernel programs its console to: the loader switches to it
/// before the jump, so the kernel's earliest output is readable.
pub const KERNEL_BAUD: u32 = 115_200;
/// UART0 reference clock on a Pi 4 (`init_uart_clock` default).
pub const UART_CLOCK_HZ: u32 = 48_000_000;

/// First words of the loader's announcement line.
pub const BANNER: &str = "kml-chainloader v1";
/// The request token, one line, repeated while the loader waits.
pub const READY: &str = "KML:READY";
const GO: &str = "KML:GO";
const OK: &str = "KML:OK";
const NAK: &str = "KML:NAK";
/// How often the loader repeats [`READY`] while idle.
pub const READY_INTERVAL_MS: u64 = 500;
/// Silence in the middle of a header or payload that aborts it (NAK timeout).
pub const IDLE_TIMEOUT_MS: u64 = 2_000;
/// After a NAK, the loader discards input until the line is this quiet.
pub const QUIET_MS: u64 = 300;

/// The header's first four bytes.
pub const MAGIC: [u8; 4] = *b"KMLI";
pub const HEADER_LEN: usize = 16;

/// The configuration block in the loader image, after the 64-byte arm64
/// Image header: `KMLCFG01`, baud u32 LE, UART clock u32 LE.
pub const CONFIG_OFFSET: usize = 0x40;
pub const CONFIG_MAGIC: [u8; 8] = *b"KMLCFG01";
const CONFIG_LEN: usize = 16;

/// The loader's line settings, read from its own image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub baud: u32,
    pub clock_hz: u32,
}

impl Config {
    /// Reads the block from the start of a loader image.
    pub fn read(image: &[u8]) -> Option<Config> {
        let block = image.get(CONFIG_OFFSET..CONFIG_OFFSET + CONFIG_LEN)?;
        if block[..8] != CONFIG_MAGIC {
            return None;
        }
        Some(Config {
            baud: le32(&block[8..12]),
            clock_hz: le32(&block[12..16]),
        })
    }

    /// Writes `self` into a loader image that has the block.
    pub fn write(&self, image: &mut [u8]) -> Result<(), &'static str> {
        if Config::read(image).is_none() {
            return Err("not a chainloader image (no KMLCFG01 block at 0x40)");
        }
        image[CONFIG_OFFSET + 8..CONFIG_OFFSET + 12].copy_from_slice(&self.baud.to_le_bytes());
        image[CONFIG_OFFSET + 12..CONFIG_OFFSET + 16].copy_from_slice(&self.clock_hz.to_le_bytes());
        Ok(())
    }
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC_TABLE: [u32; 256] = crc_table();

/// A running CRC-32 (IEEE 802.3, as zlib's `crc32`).
#[derive(Clone, Copy, Debug)]
pub struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Crc32::new()
    }
}

impl Crc32 {
    pub const fn new() -> Crc32 {
        Crc32(0xffff_ffff)
    }
    pub fn byte(&mut self, b: u8) {
        self.0 = CRC_TABLE[((self.0 ^ b as u32) & 0xff) as usize] ^ (self.0 >> 8);
    }
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.byte(b);
        }
    }
    pub fn finish(&self) -> u32 {
        !self.0
    }
}

/// CRC-32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.update(bytes);
    c.finish()
}

/// What the host announces before the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub size: u32,
    pub crc: u32,
}

impl Header {
    /// The header for a payload.
    pub fn for_payload(payload: &[u8]) -> Header {
        Header {
            size: payload.len() as u32,
            crc: crc32(payload),
        }
    }

    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..4].copy_from_slice(&MAGIC);
        h[4..8].copy_from_slice(&self.size.to_le_bytes());
        h[8..12].copy_from_slice(&self.crc.to_le_bytes());
        let check = crc32(&h[..12]);
        h[12..].copy_from_slice(&check.to_le_bytes());
        h
    }

    /// Checks the magic and the header's own CRC.
    pub fn decode(h: &[u8; HEADER_LEN]) -> Result<Header, Nak> {
        if h[..4] != MAGIC || crc32(&h[..12]) != le32(&h[12..16]) {
            return Err(Nak::BadHeader);
        }
        Ok(Header {
            size: le32(&h[4..8]),
            crc: le32(&h[8..12]),
        })
    }
}

/// Why the loader refused a transfer (`KML:NAK <token> <detail>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nak {
    /// The header's magic or CRC is wrong (line noise, wrong speed).
    BadHeader,
    /// A zero-byte payload.
    Empty,
    /// Larger than the room between LOAD_ADDR and the loader.
    TooLarge { size: u32, max: u32 },
    /// The image (with its `.bss`, from its arm64 header) would overwrite
    /// the device tree the firmware placed at `dtb`.
    OverlapsDtb { end: u64, dtb: u64 },
    /// The line went quiet in the middle of a transfer.
    Timeout { received: u32, size: u32 },
    /// The payload's CRC-32 differs from the header's.
    BadCrc { got: u32, want: u32 },
}

impl Nak {
    /// The reason's first word on the wire.
    pub fn token(&self) -> &'static str {
        match self {
            Nak::BadHeader => "bad-header",
            Nak::Empty => "empty",
            Nak::TooLarge { .. } => "too-large",
            Nak::OverlapsDtb { .. } => "overlaps-dtb",
            Nak::Timeout { .. } => "timeout",
            Nak::BadCrc { .. } => "bad-crc",
        }
    }
}

impl fmt::Display for Nak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())?;
        match *self {
            Nak::BadHeader | Nak::Empty => Ok(()),
            Nak::TooLarge { size, max } => write!(f, " {size} bytes > max {max}"),
            Nak::OverlapsDtb { end, dtb } => {
                write!(f, " image ends at {end:#x}, DTB at {dtb:#x}")
            }
            Nak::Timeout { received, size } => {
                write!(f, " after {received} of {size} bytes")
            }
            Nak::BadCrc { got, want } => write!(f, " got {got:#010x} want {want:#010x}"),
        }
    }
}

/// A line the loader sends, as the host reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply<'a> {
    /// The announcement (the rest of the line is informative).
    Banner(&'a str),
    Ready,
    Go(u32),
    Ok(u32),
    /// The reason, starting with its token.
    Nak(&'a str),
}

/// Parses one line (any line ending removed) the loader may have sent; junk
/// before the token is ignored (e.g. noise from a board reset).
pub fn parse_reply(line: &str) -> Option<Reply<'_>> {
    if let Some(at) = line.find(BANNER) {
        return Some(Reply::Banner(line[at..].trim_end()));
    }
    let line = &line[line.find("KML:")?..];
    let line = line.trim_end();
    let rest = |token: &str| line.strip_prefix(token).map(str::trim);
    if line == READY {
        Some(Reply::Ready)
    } else if let Some(n) = rest(GO) {
        n.parse().ok().map(Reply::Go)
    } else if let Some(n) = rest(OK) {
        u32::from_str_radix(n.trim_start_matches("0x"), 16)
            .ok()
            .map(Reply::Ok)
    } else {
        rest(NAK).map(Reply::Nak)
    }
}

/// Writes the loader's lines (the board side uses these, so the host's
/// parser and the loader agree by construction).
pub fn write_go(w: &mut impl fmt::Write, size: u32) -> fmt::Result {
    write!(w, "{GO} {size}\r\n")
}

pub fn write_ok(w: &mut impl fmt::Write, crc: u32) -> fmt::Result {
    write!(w, "{OK} {crc:#010x}\r\n")
}

pub fn write_nak(w: &mut impl fmt::Write, nak: &Nak) -> fmt::Result {
    write!(w, "{NAK} {nak}\r\n")
}

pub fn write_ready(w: &mut impl fmt::Write) -> fmt::Result {
    write!(w, "{READY}\r\n")
}
