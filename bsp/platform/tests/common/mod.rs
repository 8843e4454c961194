//! Shared by the integration tests: reading fixtures and building small
//! DTBs by hand.
#![allow(dead_code)]

use platform::{Region, Uart, UartKind};

/// The bytes of `tests/fixtures/<name>` (at the workspace root).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A minimal FDT writer (version 17), enough to state edge cases precisely.
#[derive(Default)]
pub struct Dt {
    structs: Vec<u8>,
    strings: Vec<u8>,
    reservations: Vec<(u64, u64)>,
}

impl Dt {
    pub fn new() -> Self {
        Self::default()
    }

    fn word(&mut self, w: u32) -> &mut Self {
        self.structs.extend_from_slice(&w.to_be_bytes());
        self
    }

    fn pad(&mut self) {
        while !self.structs.len().is_multiple_of(4) {
            self.structs.push(0);
        }
    }

    pub fn begin(&mut self, name: &str) -> &mut Self {
        self.word(1);
        self.structs.extend_from_slice(name.as_bytes());
        self.structs.push(0);
        self.pad();
        self
    }

    pub fn end(&mut self) -> &mut Self {
        self.word(2)
    }

    pub fn nop(&mut self) -> &mut Self {
        self.word(4)
    }

    pub fn prop(&mut self, name: &str, value: &[u8]) -> &mut Self {
        let offset = match self
            .strings
            .windows(name.len() + 1)
            .position(|w| &w[..name.len()] == name.as_bytes() && w[name.len()] == 0)
        {
            Some(at) => at,
            None => {
                let at = self.strings.len();
                self.strings.extend_from_slice(name.as_bytes());
                self.strings.push(0);
                at
            }
        };
        self.word(3).word(value.len() as u32).word(offset as u32);
        self.structs.extend_from_slice(value);
        self.pad();
        self
    }

    pub fn cells(&mut self, name: &str, cells: &[u32]) -> &mut Self {
        let bytes: Vec<u8> = cells.iter().flat_map(|c| c.to_be_bytes()).collect();
        self.prop(name, &bytes)
    }

    pub fn strs(&mut self, name: &str, strings: &[&str]) -> &mut Self {
        let bytes: Vec<u8> = strings.iter().flat_map(|s| s.bytes().chain([0])).collect();
        self.prop(name, &bytes)
    }

    pub fn reserve(&mut self, address: u64, size: u64) -> &mut Self {
        self.reservations.push((address, size));
        self
    }

    /// The blob: header, reservation block, structure block, strings.
    pub fn build(&mut self) -> Vec<u8> {
        let mut structs = self.structs.clone();
        structs.extend_from_slice(&9u32.to_be_bytes());
        let off_rsvmap = 40u32;
        let rsv_len = 16 * (self.reservations.len() as u32 + 1);
        let off_struct = off_rsvmap + rsv_len;
        let off_strings = off_struct + structs.len() as u32;
        let total = off_strings + self.strings.len() as u32;
        let mut out = Vec::new();
        for w in [
            0xd00d_feed,
            total,
            off_struct,
            off_strings,
            off_rsvmap,
            17,
            16,
            0,
            self.strings.len() as u32,
            structs.len() as u32,
        ] {
            out.extend_from_slice(&w.to_be_bytes());
        }
        for &(a, s) in self.reservations.iter().chain([&(0, 0)]) {
            out.extend_from_slice(&a.to_be_bytes());
            out.extend_from_slice(&s.to_be_bytes());
        }
        out.extend_from_slice(&structs);
        out.extend_from_slice(&self.strings);
        out
    }
}

/// Writes the parts of a minimal bootable tree around `body`: root cells
/// 2/2, one GICv2 (phandle 1) as the root's interrupt parent, a timer, one
/// core, 1 GiB at 0x40000000, and `body` for the nodes under test. The
/// console must come from `body`.
pub fn machine(body: impl FnOnce(&mut Dt)) -> Vec<u8> {
    machine_with_timer(&[1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4], body)
}

/// [`machine`] with the timer's `interrupts` cells given.
pub fn machine_with_timer(timer: &[u32], body: impl FnOnce(&mut Dt)) -> Vec<u8> {
    let mut dt = Dt::new();
    dt.begin("")
        .cells("#address-cells", &[2])
        .cells("#size-cells", &[2])
        .cells("interrupt-parent", &[1])
        .strs("compatible", &["test,machine"]);
    dt.begin("memory@40000000")
        .strs("device_type", &["memory"])
        .cells("reg", &[0, 0x4000_0000, 0, 0x4000_0000])
        .end();
    dt.begin("intc@8000000")
        .strs("compatible", &["arm,cortex-a15-gic"])
        .cells("#interrupt-cells", &[3])
        .prop("interrupt-controller", &[])
        .cells(
            "reg",
            &[0, 0x0800_0000, 0, 0x1_0000, 0, 0x0801_0000, 0, 0x1_0000],
        )
        .cells("phandle", &[1])
        .end();
    dt.begin("timer")
        .strs("compatible", &["arm,armv8-timer"])
        .cells("interrupts", timer)
        .end();
    dt.begin("cpus")
        .cells("#address-cells", &[1])
        .cells("#size-cells", &[0]);
    dt.begin("cpu@0")
        .strs("device_type", &["cpu"])
        .cells("reg", &[0])
        .end();
    dt.end();
    body(&mut dt);
    dt.end();
    dt.build()
}

/// A PL011 node at root level (root cells 2/2).
pub fn pl011(dt: &mut Dt, base: u32) {
    dt.begin(&format!("pl011@{base:x}"))
        .strs("compatible", &["arm,pl011", "arm,primecell"])
        .cells("reg", &[0, base, 0, 0x1000])
        .end();
}

pub const fn region(base: u64, size: u64) -> Region {
    Region { base, size }
}

pub fn uart(base: u64, size: u64) -> Uart {
    Uart {
        kind: UartKind::Pl011,
        base,
        size,
        clock_hz: None,
    }
}

pub fn ok(dtb: &[u8]) -> platform::Platform {
    platform::parse(dtb).unwrap_or_else(|e| panic!("{e:?}"))
}

/// A `/soc`-style bus (1 address cell, 1 size cell) under the root with
/// `ranges`, holding `inner`.
pub fn soc(dt: &mut Dt, ranges: Option<&[u32]>, inner: impl FnOnce(&mut Dt)) {
    dt.begin("soc")
        .cells("#address-cells", &[1])
        .cells("#size-cells", &[1]);
    if let Some(r) = ranges {
        dt.cells("ranges", r);
    }
    inner(dt);
    dt.end();
}

pub fn soc_pl011(dt: &mut Dt, name: &str, base: u32) {
    dt.begin(name)
        .strs("compatible", &["arm,pl011"])
        .cells("reg", &[base, 0x200])
        .end();
}

/// The Raspberry Pi 4's `/soc` ranges.
pub const PI_RANGES: &[u32] = &[
    0x7e00_0000,
    0,
    0xfe00_0000,
    0x0180_0000, //
    0x7c00_0000,
    0,
    0xfc00_0000,
    0x0200_0000, //
    0x4000_0000,
    0,
    0xff80_0000,
    0x0080_0000,
];
