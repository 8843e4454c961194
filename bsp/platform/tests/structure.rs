//! Which malformed or incomplete trees are refused, and with which error;
//! and that NOP tokens, which QEMU leaves where it deletes nodes, change
//! nothing.

mod common;

use common::*;
use platform::{parse, Error};

#[test]
fn missing_essentials() {
    let mut dt = Dt::new();
    dt.begin("")
        .cells("#address-cells", &[2])
        .cells("#size-cells", &[2])
        .end();
    assert_eq!(parse(&dt.build()).unwrap_err(), Error::NoMemory);

    // Strip one node from the minimal machine by renaming its compatible.
    let base = machine(|dt| pl011(dt, 0x0900_0000));
    let replace = |from: &str, to: &str| {
        let mut dtb = base.clone();
        let at = dtb
            .windows(from.len())
            .position(|w| w == from.as_bytes())
            .unwrap();
        dtb[at..at + to.len()].copy_from_slice(to.as_bytes());
        dtb
    };
    assert_eq!(
        parse(&replace("arm,cortex-a15-gic", "arm,cortex-a15-xxx")).unwrap_err(),
        Error::NoGic
    );
    assert_eq!(
        parse(&replace("arm,armv8-timer", "arm,armv8-xxxxx")).unwrap_err(),
        Error::NoTimer
    );

    // The only GIC has one `reg` entry.
    let mut dt = Dt::new();
    dt.begin("")
        .cells("#address-cells", &[2])
        .cells("#size-cells", &[2]);
    dt.begin("memory").cells("reg", &[0, 0, 0, 0x1000]).end();
    dt.begin("cpus")
        .cells("#address-cells", &[1])
        .cells("#size-cells", &[0]);
    dt.begin("cpu@0")
        .strs("device_type", &["cpu"])
        .cells("reg", &[0])
        .end()
        .end();
    dt.begin("gic")
        .strs("compatible", &["arm,gic-400"])
        .cells("#interrupt-cells", &[3])
        .cells("phandle", &[1])
        .cells("reg", &[0, 0x1000, 0, 0x1000]);
    dt.end();
    dt.end();
    assert_eq!(parse(&dt.build()).unwrap_err(), Error::NoGic);

    // A timer with three interrupts.
    let short_timer =
        machine_with_timer(&[1, 13, 4, 1, 14, 4, 1, 11, 4], |dt| pl011(dt, 0x0900_0000));
    assert_eq!(parse(&short_timer).unwrap_err(), Error::NoTimer);
}

/// The same minimal machine, with NOP tokens wherever the format allows
/// them: where QEMU `fdt_nop_node`s a node (first, middle and last child),
/// between properties, and around the root.
#[test]
fn nop_tokens_anywhere() {
    let plain = machine(|dt| {
        soc(dt, Some(PI_RANGES), |dt| {
            soc_pl011(dt, "serial@7e201000", 0x7e20_1000)
        });
        pl011(dt, 0x0904_0000);
    });
    let mut dt = Dt::new();
    dt.nop().begin("").nop();
    dt.cells("#address-cells", &[2])
        .nop()
        .nop()
        .cells("#size-cells", &[2]);
    dt.cells("interrupt-parent", &[1])
        .strs("compatible", &["test,machine"])
        .nop();
    dt.nop().nop().nop(); // a deleted first child
    dt.begin("memory@40000000")
        .strs("device_type", &["memory"])
        .nop()
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
        .nop()
        .end();
    dt.nop().nop(); // a deleted middle child
    dt.begin("timer")
        .strs("compatible", &["arm,armv8-timer"])
        .cells("interrupts", &[1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4])
        .end();
    dt.begin("cpus")
        .cells("#address-cells", &[1])
        .cells("#size-cells", &[0]);
    dt.nop()
        .begin("cpu@0")
        .strs("device_type", &["cpu"])
        .cells("reg", &[0])
        .end()
        .nop();
    dt.end();
    dt.begin("soc")
        .cells("#address-cells", &[1])
        .cells("#size-cells", &[1]);
    dt.cells("ranges", PI_RANGES).nop();
    dt.begin("serial@7e201000")
        .strs("compatible", &["arm,pl011"])
        .cells("reg", &[0x7e20_1000, 0x200])
        .end();
    dt.nop().end();
    pl011(&mut dt, 0x0904_0000);
    dt.nop().nop(); // a deleted last child
    dt.end().nop();
    let with_nops = dt.build();

    let (a, b) = (ok(&plain), ok(&with_nops));
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    // No serial0 alias: the lowest address is the console.
    assert_eq!(b.console, uart(0x0904_0000, 0x1000));
    assert_eq!(b.log, Some(uart(0xfe20_1000, 0x200)));
}

#[test]
fn malformed_structure_is_bad_dtb() {
    let finish = |f: fn(&mut Dt)| {
        let mut dt = Dt::new();
        f(&mut dt);
        parse(&dt.build()).unwrap_err()
    };
    // A property after a child node.
    assert_eq!(
        finish(|dt| {
            dt.begin("").begin("a").end().cells("x", &[1]).end();
        }),
        Error::BadDtb
    );
    // Two roots.
    assert_eq!(
        finish(|dt| {
            dt.begin("").end().begin("").end();
        }),
        Error::BadDtb
    );
    // Unbalanced.
    assert_eq!(
        finish(|dt| {
            dt.begin("").begin("a").end();
        }),
        Error::BadDtb
    );
    assert_eq!(
        finish(|dt| {
            dt.begin("").end().end();
        }),
        Error::BadDtb
    );
    // No root at all, or a property outside it.
    assert_eq!(finish(|_| {}), Error::BadDtb);
    assert_eq!(
        finish(|dt| {
            dt.cells("x", &[1]).begin("").end();
        }),
        Error::BadDtb
    );
    // Too deep (17 levels).
    assert_eq!(
        finish(|dt| {
            (0..17).for_each(|_| {
                dt.begin("n");
            });
            (0..17).for_each(|_| {
                dt.end();
            });
        }),
        Error::BadDtb
    );
    // An unknown token.
    let mut dt = Dt::new();
    dt.begin("").end();
    let mut dtb = dt.build();
    let end = dtb.len() - 4; // the FDT_END word (the strings block is empty)
    dtb[end..].copy_from_slice(&7u32.to_be_bytes());
    assert_eq!(parse(&dtb).unwrap_err(), Error::BadDtb);
}

#[test]
fn header_checks() {
    let good = machine(|dt| pl011(dt, 0x0900_0000));
    // Extra bytes after the blob are ignored; a short buffer is refused.
    let mut longer = good.clone();
    longer.extend_from_slice(&[0xff; 64]);
    assert!(parse(&longer).is_ok());
    assert_eq!(parse(&good[..good.len() - 1]).unwrap_err(), Error::BadDtb);
    assert_eq!(parse(&[]).unwrap_err(), Error::BadDtb);
    let with = |field: usize, value: u32| {
        let mut d = good.clone();
        d[field * 4..field * 4 + 4].copy_from_slice(&value.to_be_bytes());
        parse(&d).unwrap_err()
    };
    assert_eq!(with(0, 0xfeed_d00d), Error::BadDtb); // magic
    assert_eq!(with(1, 39), Error::BadDtb); // totalsize below a header
    assert_eq!(with(2, u32::MAX), Error::BadDtb); // off_dt_struct
    assert_eq!(with(3, u32::MAX - 2), Error::BadDtb); // off_dt_strings
    assert_eq!(with(4, u32::MAX), Error::BadDtb); // off_mem_rsvmap
    assert_eq!(with(5, 16), Error::BadDtb); // version
    assert_eq!(with(6, 18), Error::BadDtb); // last_comp_version
    assert_eq!(with(8, u32::MAX), Error::BadDtb); // size_dt_strings
    assert_eq!(with(9, u32::MAX), Error::BadDtb); // size_dt_struct
}

/// Node and property names must be UTF-8 (checked once, in the grammar
/// check): a name with a byte that is not is a bad blob; a name with a
/// character that is not ASCII is fine.
#[test]
fn names_must_be_utf8() {
    let with = |node: &str, prop: &str| {
        machine(|dt| {
            pl011(dt, 0x0900_0000);
            dt.begin(node).prop(prop, &[]).end();
        })
    };
    assert!(parse(&with("n\u{e9}de", "pr\u{f6}p")).is_ok());
    for (node, prop) in [("xnode", "plain"), ("plain", "xprop")] {
        let mut dtb = with(node, prop);
        let target = if node.starts_with('x') { node } else { prop };
        let at = dtb
            .windows(target.len())
            .position(|w| w == target.as_bytes())
            .expect("name in blob");
        dtb[at + 1] = 0xff;
        assert_eq!(parse(&dtb).err(), Some(Error::BadDtb), "{target}");
    }
}
