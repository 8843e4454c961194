//! The loader on the board: UART0 and GPIO set-up, the receive loop, the
//! jump. Runs at the firmware's EL (EL2) with the MMU and caches off, so
//! physical addresses are used directly and every data access is a Device
//! access: payload bytes are moved with single-byte volatile accesses (the
//! target is `+strict-align`, so no unaligned access is generated).

use core::arch::{asm, global_asm};
use core::fmt::{self, Write};

use aarch64_cpu::registers::{CurrentEL, CNTFRQ_EL0, CNTPCT_EL0};
use chainload::{
    Config, Event, Limits, Nak, Receiver, BANNER, CHAINLOADED_MAGIC, CONFIG_OFFSET,
    IDLE_TIMEOUT_MS, KERNEL_BAUD, LOAD_ADDR, MAX_IMAGE, QUIET_MS, READY_INTERVAL_MS, RUN_ADDR,
    RUN_LIMIT,
};
use drivers::bcm_gpio::BcmGpio;
use drivers::pl011::Pl011;
use drivers::SerialWrite;
use tock_registers::interfaces::Readable;

global_asm!(include_str!("start.s"));

/// UART0 (PL011) and the GPIO block, in the Pi 4's low-peripheral map.
const UART0: usize = 0xfe20_1000;
const GPIO: usize = 0xfe20_0000;
/// Only a DTB in the first GiB of RAM is read (anything else is not one).
const RAM_LOW_END: u64 = 0x4000_0000;
const FDT_MAGIC: u32 = 0xd00d_feed;

/// UART0 as a `fmt::Write` (bytes go out as given: lines end in `\r\n`).
struct Uart(Pl011);

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            self.0.write_byte(b);
        }
        Ok(())
    }
}

/// Counter time in ticks and the ticks in one millisecond.
struct Clock {
    per_ms: u64,
}

impl Clock {
    fn new() -> Clock {
        // The Pi 4 firmware sets 54 MHz; never divide by a zero CNTFRQ.
        let freq = match CNTFRQ_EL0.get() {
            0 => 54_000_000,
            f => f,
        };
        Clock {
            per_ms: (freq / 1000).max(1),
        }
    }
    fn now(&self) -> u64 {
        CNTPCT_EL0.get()
    }
    fn since_ms(&self, t: u64) -> u64 {
        self.now().wrapping_sub(t) / self.per_ms
    }
}

/// UART0 to GPIO 14 (TXD0) / 15 (RXD0), ALT0, pull-up on RX so an
/// unconnected line reads idle, as the kernel does: no `dtoverlay` needed.
/// GPIO 32/33 (UART0 on ALT3, the Bluetooth chip's lines) become inputs so
/// UART0's receiver listens to the header pins only.
fn route_uart0() {
    // Safety: GPIO is the BCM2711 GPIO block's physical address, and with
    // the MMU off physical addresses are used as they are.
    unsafe { BcmGpio::new(GPIO) }.route_uart0_to_header();
}

fn read_u8(addr: u64) -> u8 {
    // Safety: callers pass addresses inside this loader's own image or the
    // first GiB of RAM (always present on a Pi 4); MMU off: PA = VA.
    unsafe { (addr as *const u8).read_volatile() }
}

/// The line settings in this loader's own image (patched by xtask).
fn own_config() -> Config {
    let mut head = [0u8; CONFIG_OFFSET + 16];
    for (i, b) in head.iter_mut().enumerate() {
        *b = read_u8(RUN_ADDR + i as u64);
    }
    match Config::read(&head) {
        Some(c) if c.baud != 0 && c.clock_hz != 0 => c,
        _ => Config {
            baud: chainload::DEFAULT_BAUD,
            clock_hz: chainload::UART_CLOCK_HZ,
        },
    }
}

/// The DTB's `totalsize`, if `dtb` points at a flattened device tree.
fn dtb_size(dtb: u64) -> Option<u64> {
    if dtb == 0 || dtb & 3 != 0 || dtb + 8 > RAM_LOW_END {
        return None;
    }
    let be32 = |at: u64| u32::from_be_bytes(core::array::from_fn(|i| read_u8(at + i as u64)));
    (be32(dtb) == FDT_MAGIC).then(|| be32(dtb + 4) as u64)
}

/// The loader's entry in Rust, at its link address (from start.s).
#[no_mangle]
extern "C" fn loader_main(dtb: u64, loaded_at: u64) -> ! {
    let config = own_config();
    route_uart0();
    // Safety: UART0's physical address; MMU off. Only this core runs.
    let mut uart = Uart(unsafe { Pl011::new(UART0) });
    uart.0.init(config.clock_hz, config.baud);
    let el = CurrentEL.get() >> 2 & 3;
    let size = dtb_size(dtb);
    let _ = write!(
        uart,
        "\r\n{BANNER}: EL{el}, loaded at {loaded_at:#x}, running at {RUN_ADDR:#x}; \
         UART0 {} 8N1; kernel to {LOAD_ADDR:#x}, at most {MAX_IMAGE} bytes; ",
        config.baud
    );
    let _ = match size {
        Some(s) => write!(uart, "DTB at {dtb:#x} ({s} bytes)\r\n"),
        None => write!(uart, "no DTB in x0 ({dtb:#x})\r\n"),
    };
    if let Some(s) = size.filter(|&s| dtb < RUN_ADDR + RUN_LIMIT && RUN_ADDR < dtb + s) {
        let _ = write!(
            uart,
            "warning: the DTB ({s} bytes at {dtb:#x}) overlaps this loader at {RUN_ADDR:#x}: \
             set device_tree_address in config.txt\r\n"
        );
    }
    let limits = Limits::new(size.map(|s| (dtb, s)));
    serve(&mut uart, Receiver::new(limits), config, dtb)
}

/// Announces, receives, answers; returns only by booting a good payload.
fn serve(uart: &mut Uart, mut rx: Receiver, config: Config, dtb: u64) -> ! {
    let clock = Clock::new();
    let mut last_ready: Option<u64> = None;
    let mut last_byte = clock.now();
    loop {
        let Some(b) = uart.0.read_byte() else {
            if rx.busy() {
                if clock.since_ms(last_byte) >= IDLE_TIMEOUT_MS {
                    if let Some(nak) = rx.timeout() {
                        refuse(uart, &clock, &nak);
                        last_ready = None;
                    }
                }
            } else if last_ready.is_none_or(|t| clock.since_ms(t) >= READY_INTERVAL_MS) {
                let _ = chainload::write_ready(uart);
                last_ready = Some(clock.now());
            }
            continue;
        };
        last_byte = clock.now();
        match rx.feed(b) {
            Event::Nothing => {}
            Event::Go(header) => {
                let _ = chainload::write_go(uart, header.size);
            }
            Event::Reject(nak) => {
                refuse(uart, &clock, &nak);
                last_ready = None;
            }
            Event::Store(offset) => store(offset, b),
            Event::Last(offset, verdict) => {
                store(offset, b);
                match verdict {
                    Ok(crc) => {
                        let _ = chainload::write_ok(uart, crc);
                        boot(uart, config, dtb, offset as u64 + 1);
                    }
                    Err(nak) => {
                        refuse(uart, &clock, &nak);
                        last_ready = None;
                    }
                }
            }
        }
    }
}

fn store(offset: u32, b: u8) {
    // Safety: the receiver accepted a header whose size is at most
    // MAX_IMAGE (so LOAD_ADDR + offset lies below RUN_ADDR, never in this
    // loader) and that does not reach the DTB; that RAM is free.
    unsafe { ((LOAD_ADDR + offset as u64) as *mut u8).write_volatile(b) }
}

/// Sends the NAK, then discards input until the line is quiet, so the
/// rest of a refused transfer is not taken for a new header.
fn refuse(uart: &mut Uart, clock: &Clock, nak: &Nak) {
    let _ = chainload::write_nak(uart, nak);
    let mut quiet_since = clock.now();
    while clock.since_ms(quiet_since) < QUIET_MS {
        if uart.0.read_byte().is_some() {
            quiet_since = clock.now();
        }
    }
}

/// Enters the payload at LOAD_ADDR as the firmware would: this EL, MMU and
/// caches off, x0 = the DTB unchanged, x1 = CHAINLOADED_MAGIC, x2 = x3 = 0.
fn boot(uart: &mut Uart, config: Config, dtb: u64, len: u64) -> ! {
    uart.0.flush();
    if config.baud != KERNEL_BAUD {
        uart.0.init(config.clock_hz, KERNEL_BAUD);
    }
    // The payload went to memory with the data cache off. Invalidate its
    // lines anyway (no write-back: memory holds the truth), so no line left
    // from before can shadow it once the kernel turns its caches on.
    let line = 4u64 << (ctr_el0() >> 16 & 0xf);
    let mut addr = LOAD_ADDR & !(line - 1);
    while addr < LOAD_ADDR + len {
        // Safety: a cache maintenance operation by address on RAM that the
        // payload occupies; it changes no architectural memory contents.
        unsafe { asm!("dc ivac, {a}", a = in(reg) addr, options(nostack, preserves_flags)) };
        addr += line;
    }
    // Safety: LOAD_ADDR holds a payload whose CRC-32 matched and which fits
    // below this loader without touching the DTB; the instruction cache is
    // invalidated so the new code is fetched. The jump never returns.
    unsafe {
        asm!(
            "dsb sy",
            "ic iallu",
            "dsb sy",
            "isb",
            "br {entry}",
            entry = in(reg) LOAD_ADDR,
            in("x0") dtb,
            in("x1") CHAINLOADED_MAGIC,
            in("x2") 0u64,
            in("x3") 0u64,
            options(noreturn, nostack)
        )
    }
}

/// CTR_EL0 (cache type: DminLine in bits 19:16, log2 of words).
fn ctr_el0() -> u64 {
    let ctr: u64;
    // Safety: reading CTR_EL0 has no side effects and is allowed at EL1+.
    unsafe { asm!("mrs {c}, ctr_el0", c = out(reg) ctr, options(nomem, nostack)) };
    ctr
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // Safety: UART0's physical address; the loader is single-threaded.
    let mut uart = Uart(unsafe { Pl011::new(UART0) });
    let _ = write!(uart, "\r\nkml-chainloader: panic: {info}\r\n");
    loop {
        aarch64_cpu::asm::wfe();
    }
}
