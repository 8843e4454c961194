//! An SD Host Controller (SD Host Controller Simplified Specification,
//! version 3.00) driven by polling and programmed I/O. Every register is
//! read and written 32 bits at a time (the BCM2835 Arasan controller drops
//! narrower writes; EMMC2 and QEMU's `generic-sdhci` accept them too):
//! the 16-bit Transfer Mode is written with the Command in one store,
//! which is what starts a command.

/// Register offsets (32-bit words).
mod reg {
    pub const BLOCK: usize = 0x04; // Block Size (15:0), Block Count (31:16)
    pub const ARGUMENT: usize = 0x08;
    pub const COMMAND: usize = 0x0c; // Transfer Mode (15:0), Command (31:16)
    pub const RESPONSE: usize = 0x10; // four words
    pub const DATA: usize = 0x20; // Buffer Data Port
    pub const PRESENT: usize = 0x24;
    pub const HOST: usize = 0x28; // Host Control 1, Power Control, Block Gap, Wakeup
    pub const CLOCK: usize = 0x2c; // Clock Control, Timeout Control, Software Reset
    pub const STATUS: usize = 0x30; // Normal (15:0) and Error (31:16) Interrupt Status
    pub const STATUS_ENABLE: usize = 0x34;
    pub const SIGNAL_ENABLE: usize = 0x38;
    pub const CAPABILITIES: usize = 0x40;
    pub const VERSION: usize = 0xfc; // Host Controller Version (31:16)
}

/// Present State bits.
const CMD_INHIBIT: u32 = 1 << 0;
const DAT_INHIBIT: u32 = 1 << 1;
pub const CARD_INSERTED: u32 = 1 << 16;
/// Normal Interrupt Status bits (the error bits are the upper half).
const CMD_COMPLETE: u32 = 1 << 0;
const TRANSFER_COMPLETE: u32 = 1 << 1;
const WRITE_READY: u32 = 1 << 4;
const READ_READY: u32 = 1 << 5;
const CARD_REMOVED: u32 = 1 << 7;
const ERROR: u32 = 1 << 15;
/// Error Interrupt Status bits (shifted into the upper half).
const CMD_TIMEOUT: u32 = 1 << 16;
const CMD_CRC: u32 = 1 << 17;
const DATA_TIMEOUT: u32 = 1 << 20;
const DATA_CRC: u32 = 1 << 21;
/// Software Reset bits, in the CLOCK word: all, command line, data line.
const RESET_ALL: u32 = 1 << 24;
const RESET_CMD: u32 = 1 << 25;
const RESET_DAT: u32 = 1 << 26;
/// Clock Control bits.
const CLOCK_INTERNAL: u32 = 1 << 0;
const CLOCK_STABLE: u32 = 1 << 1;
const CLOCK_CARD: u32 = 1 << 2;
/// Timeout Control: the longest data timeout (TMCLK × 2^27).
const DATA_TIMEOUT_MAX: u32 = 0xe << 16;
/// Power Control: 3.3 V, bus power on (in the HOST word).
const POWER_33V_ON: u32 = (0b111 << 1 | 1) << 8;
/// Host Control 1: 4-bit data bus.
const HOST_4BIT: u32 = 1 << 1;
/// Transfer Mode bits.
const MODE_COUNT: u32 = 1 << 1;
const MODE_AUTO_CMD12: u32 = 1 << 2;
const MODE_READ: u32 = 1 << 4;
const MODE_MULTI: u32 = 1 << 5;

/// Bytes per block on the card (every card since SDHC: fixed).
pub const BLOCK: usize = 512;

/// How a command's response looks (SD Physical Layer, 4.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resp {
    /// No response (CMD0).
    None,
    /// R2: 136 bits (CID, CSD), CRC checked.
    R2,
    /// R3: the OCR, no CRC or index (ACMD41).
    R3,
    /// R1, R6, R7: 48 bits, CRC and index checked.
    R1,
    /// R1b: R1, then the card holds DAT0 busy.
    R1b,
}

impl Resp {
    /// The Command register's response type, CRC and index check bits.
    fn bits(self) -> u32 {
        match self {
            Resp::None => 0,
            Resp::R2 => 0b01 | 1 << 3,
            Resp::R3 => 0b10,
            Resp::R1 => 0b10 | 1 << 3 | 1 << 4,
            Resp::R1b => 0b11 | 1 << 3 | 1 << 4,
        }
    }
}

/// Why a command or transfer failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Present State says no card is in the slot.
    NoCard,
    /// The card was removed (Card Removal status) during the operation.
    CardRemoved,
    /// The card did not answer the command in time (Command Timeout Error).
    CommandTimeout,
    /// The command's response failed its CRC (Command CRC Error).
    CommandCrc,
    /// No data from the card in time (Data Timeout Error).
    DataTimeout,
    /// A data block failed its CRC (Data CRC Error).
    DataCrc,
    /// Another error bit of the Error Interrupt Status (its value).
    Controller(u16),
    /// The controller did not finish (reset, clock, command, data) within
    /// the driver's own deadline: the hardware is stuck or absent.
    Stuck(&'static str),
    /// The card answered, but not as the specification says (the detail).
    Protocol(&'static str),
    /// No base clock: the Capabilities register gives none and the
    /// firmware was not asked or did not answer (docs/block.md).
    NoBaseClock,
}

/// A deadline on the virtual counter: every wait in this driver has one.
pub struct Deadline(u64, u64);

impl Deadline {
    /// `ms` milliseconds from now.
    pub fn after_ms(ms: u64) -> Deadline {
        let (t, f) = counter();
        Deadline(t, f / 1000 * ms)
    }

    pub fn passed(&self) -> bool {
        counter().0.wrapping_sub(self.0) > self.1
    }
}

/// The virtual counter and its frequency.
fn counter() -> (u64, u64) {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter and its
    // frequency; no memory is touched.
    unsafe {
        core::arch::asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f, options(nomem, nostack))
    };
    (t, f)
}

/// Command deadline: the card answers within 64 clocks; this is generous.
const COMMAND_MS: u64 = 500;
/// Data deadline per block (a write may keep the card busy for 250 ms).
const DATA_MS: u64 = 1000;

/// The controller whose registers are mapped at a base address.
pub struct Sdhci {
    base: usize,
}

impl Sdhci {
    /// The controller mapped (uncached) at `base`.
    ///
    /// # Safety
    ///
    /// `base` must map one SDHCI controller's register page, uncached, for
    /// the life of the value, and nothing else may drive that controller.
    pub unsafe fn new(base: usize) -> Sdhci {
        Sdhci { base }
    }

    fn read(&self, offset: usize) -> u32 {
        // Safety: `offset` is a register of the page `new` was promised.
        unsafe { ((self.base + offset) as *const u32).read_volatile() }
    }

    fn write(&self, offset: usize, value: u32) {
        // Safety: as in `read`; registers, not memory Rust knows about.
        unsafe { ((self.base + offset) as *mut u32).write_volatile(value) }
    }

    /// Present State.
    pub fn present(&self) -> u32 {
        self.read(reg::PRESENT)
    }

    /// Host Controller Version (0: 1.00, 1: 2.00, 2: 3.00, ...).
    pub fn version(&self) -> u32 {
        (self.read(reg::VERSION) >> 16) & 0xff
    }

    /// Base clock in MHz from the Capabilities register (0: not given).
    pub fn capabilities_clock_mhz(&self) -> u32 {
        let caps = self.read(reg::CAPABILITIES);
        if self.version() >= 2 {
            (caps >> 8) & 0xff
        } else {
            (caps >> 8) & 0x3f
        }
    }

    /// Waits until `done()` holds or `ms` pass.
    fn wait(&self, ms: u64, what: &'static str, done: impl Fn(&Self) -> bool) -> Result<(), Error> {
        let deadline = Deadline::after_ms(ms);
        loop {
            if done(self) {
                return Ok(());
            }
            if deadline.passed() {
                return Err(Error::Stuck(what));
            }
            ulib::wait::relax();
        }
    }

    /// Software Reset `bits` (in the CLOCK word) and wait for it to end.
    fn reset(&self, bits: u32) -> Result<(), Error> {
        let clock = self.read(reg::CLOCK) & 0xffff;
        self.write(reg::CLOCK, clock | DATA_TIMEOUT_MAX | bits);
        self.wait(COMMAND_MS, "software reset", |s| {
            s.read(reg::CLOCK) & bits == 0
        })
    }

    /// Resets the whole host, powers the card at 3.3 V, enables every
    /// status bit the driver polls (no interrupt signals) and clears them.
    pub fn init(&self) -> Result<(), Error> {
        self.reset(RESET_ALL)?;
        self.write(reg::HOST, POWER_33V_ON);
        // Normal: command/transfer complete, buffer ready, card removal;
        // error: every error bit.
        let enable = CMD_COMPLETE | TRANSFER_COMPLETE | WRITE_READY | READ_READY | CARD_REMOVED;
        self.write(reg::STATUS_ENABLE, enable | 0xffff << 16);
        self.write(reg::SIGNAL_ENABLE, 0);
        self.write(reg::STATUS, 0xffff_ffff);
        if self.present() & CARD_INSERTED == 0 {
            return Err(Error::NoCard);
        }
        Ok(())
    }

    /// Sets the card clock to at most `hz` from a `base` Hz base clock.
    pub fn set_clock(&self, base: u32, hz: u32) -> Result<(), Error> {
        let (base, hz) = (base.max(1), hz.max(1));
        let bits = if self.version() >= 2 {
            // 3.00: 10-bit divider N, SDCLK = base / 2N (N = 0: base).
            let n = if hz >= base {
                0
            } else {
                base.div_ceil(2 * hz).min(0x3ff)
            };
            (n & 0xff) << 8 | (n >> 8) << 6
        } else {
            // 1.00/2.00: a power of two up to 256.
            let mut div = 1;
            while div < 256 && base / div > hz {
                div *= 2;
            }
            (div / 2) << 8
        };
        self.write(reg::CLOCK, DATA_TIMEOUT_MAX);
        self.write(reg::CLOCK, DATA_TIMEOUT_MAX | bits | CLOCK_INTERNAL);
        self.wait(COMMAND_MS, "internal clock", |s| {
            s.read(reg::CLOCK) & CLOCK_STABLE != 0
        })?;
        self.write(
            reg::CLOCK,
            DATA_TIMEOUT_MAX | bits | CLOCK_INTERNAL | CLOCK_CARD,
        );
        Ok(())
    }

    /// Selects the 4-bit data bus on the host side (after ACMD6).
    pub fn set_4bit(&self) {
        let host = self.read(reg::HOST);
        self.write(reg::HOST, host | HOST_4BIT);
    }

    /// Waits for a status bit of `want`, or an error; clears what it saw.
    fn wait_status(&self, want: u32, ms: u64, what: &'static str) -> Result<(), Error> {
        let deadline = Deadline::after_ms(ms);
        loop {
            let st = self.read(reg::STATUS);
            if st & (ERROR | CARD_REMOVED) != 0 {
                self.write(reg::STATUS, st);
                // Leave the lines ready for the next command.
                let _ = self.reset(RESET_CMD | RESET_DAT);
                return Err(if st & CARD_REMOVED != 0 {
                    Error::CardRemoved
                } else if st & CMD_TIMEOUT != 0 {
                    Error::CommandTimeout
                } else if st & CMD_CRC != 0 {
                    Error::CommandCrc
                } else if st & DATA_TIMEOUT != 0 {
                    Error::DataTimeout
                } else if st & DATA_CRC != 0 {
                    Error::DataCrc
                } else {
                    Error::Controller((st >> 16) as u16)
                });
            }
            if st & want != 0 {
                self.write(reg::STATUS, st & want);
                return Ok(());
            }
            if deadline.passed() {
                let _ = self.reset(RESET_CMD | RESET_DAT);
                return Err(Error::Stuck(what));
            }
            ulib::wait::relax();
        }
    }

    /// Issues command `index` with `arg`; `mode` is the Transfer Mode for a
    /// data command (0 otherwise). Returns the four response words.
    fn issue(
        &self,
        index: u32,
        arg: u32,
        resp: Resp,
        mode: Option<u32>,
    ) -> Result<[u32; 4], Error> {
        let inhibit = if mode.is_some() || resp == Resp::R1b {
            CMD_INHIBIT | DAT_INHIBIT
        } else {
            CMD_INHIBIT
        };
        self.wait(COMMAND_MS, "command line busy", |s| {
            s.present() & inhibit == 0
        })?;
        self.write(reg::STATUS, 0xffff_ffff);
        self.write(reg::ARGUMENT, arg);
        let data = if mode.is_some() { 1 << 5 } else { 0 };
        let command = index << 8 | data | resp.bits();
        self.write(reg::COMMAND, command << 16 | mode.unwrap_or(0));
        self.wait_status(CMD_COMPLETE, COMMAND_MS, "command")?;
        Ok([
            self.read(reg::RESPONSE),
            self.read(reg::RESPONSE + 4),
            self.read(reg::RESPONSE + 8),
            self.read(reg::RESPONSE + 12),
        ])
    }

    /// A command without data.
    pub fn command(&self, index: u32, arg: u32, resp: Resp) -> Result<[u32; 4], Error> {
        let r = self.issue(index, arg, resp, None)?;
        if resp == Resp::R1b {
            self.wait(DATA_MS, "card busy", |s| s.present() & DAT_INHIBIT == 0)?;
        }
        Ok(r)
    }

    /// Reads `buf.len() / 512` blocks from card address `addr` (a block
    /// number on high-capacity cards, a byte address on others): CMD17 for
    /// one block, CMD18 with Auto CMD12 for more.
    pub fn read_blocks(&self, addr: u32, buf: &mut [u8]) -> Result<(), Error> {
        let n = self.start_data(addr, buf.len(), true)?;
        for block in buf.chunks_exact_mut(BLOCK).take(n) {
            self.wait_status(READ_READY, DATA_MS, "read data")?;
            for w in block.chunks_exact_mut(4) {
                w.copy_from_slice(&self.read(reg::DATA).to_le_bytes());
            }
        }
        self.wait_status(TRANSFER_COMPLETE, DATA_MS, "read transfer")
    }

    /// Writes `buf.len() / 512` blocks at card address `addr`: CMD24 for
    /// one block, CMD25 with Auto CMD12 for more; returns once the card
    /// has taken them (Transfer Complete comes after its busy signal).
    pub fn write_blocks(&self, addr: u32, buf: &[u8]) -> Result<(), Error> {
        let n = self.start_data(addr, buf.len(), false)?;
        for block in buf.chunks_exact(BLOCK).take(n) {
            self.wait_status(WRITE_READY, DATA_MS, "write buffer")?;
            for w in block.chunks_exact(4) {
                self.write(reg::DATA, u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            }
        }
        self.wait_status(TRANSFER_COMPLETE, DATA_MS, "write transfer")
    }

    /// Sets up and issues a data command for `len` bytes; the blocks.
    fn start_data(&self, addr: u32, len: usize, read: bool) -> Result<usize, Error> {
        let n = len / BLOCK;
        if n == 0 || n > 0xffff || !len.is_multiple_of(BLOCK) {
            return Err(Error::Protocol("transfer not a whole number of blocks"));
        }
        self.write(reg::BLOCK, (n as u32) << 16 | BLOCK as u32);
        let dir = if read { MODE_READ } else { 0 };
        let (index, mode) = match (n, read) {
            (1, true) => (17, dir),
            (1, false) => (24, dir),
            (_, true) => (18, dir | MODE_COUNT | MODE_MULTI | MODE_AUTO_CMD12),
            (_, false) => (25, dir | MODE_COUNT | MODE_MULTI | MODE_AUTO_CMD12),
        };
        self.issue(index, addr, Resp::R1, Some(mode))?;
        Ok(n)
    }
}
