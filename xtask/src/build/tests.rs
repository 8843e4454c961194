//! Host tests of packing, section sizes and the defmt-table check, on small
//! ELF files made here.

use super::*;

const PT_NOTE: u32 = 4;
const SHT_PROGBITS: u32 = 1;

struct Seg {
    kind: u32,
    vaddr: u64,
    bytes: &'static [u8],
    memsz: u64,
}

struct Sec {
    kind: u32,
    flags: u32,
    size: u64,
}

/// A little-endian AArch64 ELF64 with these segments and sections (plus a
/// section-name string table when there are sections).
fn elf(machine: u16, segs: &[Seg], secs: &[Sec]) -> Vec<u8> {
    let mut secs: Vec<&Sec> = secs.iter().collect();
    let strtab = Sec {
        kind: 3,
        flags: 0,
        size: 1,
    };
    if !secs.is_empty() {
        secs.push(&strtab);
    }
    let phoff = 64u64;
    let shoff = phoff + 56 * segs.len() as u64;
    let mut data_at = shoff + 64 * secs.len() as u64;
    let mut out = Vec::new();
    out.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    out.extend_from_slice(&machine.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&0xffff_ffff_8000_0000u64.to_le_bytes());
    out.extend_from_slice(&phoff.to_le_bytes());
    out.extend_from_slice(&(if secs.is_empty() { 0 } else { shoff }).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    let shstrndx = secs.len().saturating_sub(1) as u16;
    for half in [
        64u16,
        56,
        segs.len() as u16,
        64,
        secs.len() as u16,
        shstrndx,
    ] {
        out.extend_from_slice(&half.to_le_bytes());
    }
    let mut payload = Vec::new();
    for seg in segs {
        for word in [seg.kind, 5] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        let fields = [
            data_at,
            seg.vaddr,
            seg.vaddr,
            seg.bytes.len() as u64,
            seg.memsz,
            0x1000,
        ];
        for field in fields {
            out.extend_from_slice(&field.to_le_bytes());
        }
        payload.extend_from_slice(seg.bytes);
        data_at += seg.bytes.len() as u64;
    }
    for sec in &secs {
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&sec.kind.to_le_bytes());
        out.extend_from_slice(&u64::from(sec.flags).to_le_bytes());
        for field in [0u64, 0, sec.size] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(&[0u8; 24]);
    }
    out.extend_from_slice(&payload);
    out
}

const BASE: u64 = 0xffff_ffff_8000_0000;

#[test]
fn packs_segments_at_their_offsets() {
    let file = elf(
        EM_AARCH64,
        &[
            Seg {
                kind: PT_LOAD,
                vaddr: BASE + 0x2000,
                bytes: b"DATA",
                memsz: 0x10,
            },
            Seg {
                kind: PT_LOAD,
                vaddr: BASE,
                bytes: b"TEXT",
                memsz: 4,
            },
            Seg {
                kind: PT_NOTE,
                vaddr: 0,
                bytes: b"NOTE",
                memsz: 4,
            },
            Seg {
                kind: PT_LOAD,
                vaddr: BASE + 0x3000,
                bytes: b"",
                memsz: 0x5000,
            },
        ],
        &[],
    );
    let raw = pack(&file).expect("packs");
    assert_eq!(
        raw.len(),
        0x2004,
        "ends at the last file byte, bss not included"
    );
    assert_eq!(&raw[..4], b"TEXT");
    assert!(raw[4..0x2000].iter().all(|&b| b == 0), "gap is zero-filled");
    assert_eq!(&raw[0x2000..], b"DATA");
}

#[test]
fn rejects_bad_elves() {
    let arm32 = elf(
        40,
        &[Seg {
            kind: PT_LOAD,
            vaddr: BASE,
            bytes: b"x",
            memsz: 1,
        }],
        &[],
    );
    assert!(
        format!("{:#}", pack(&arm32).expect_err("wrong machine")).contains("not an AArch64 ELF")
    );
    assert!(pack(b"not an elf at all, not at all, no").is_err());
    let empty = elf(
        EM_AARCH64,
        &[Seg {
            kind: PT_LOAD,
            vaddr: BASE,
            bytes: b"",
            memsz: 8,
        }],
        &[],
    );
    assert!(format!("{:#}", pack(&empty).expect_err("empty")).contains("no loadable segment"));
    let spread = elf(
        EM_AARCH64,
        &[
            Seg {
                kind: PT_LOAD,
                vaddr: 0x4000_0000,
                bytes: b"low",
                memsz: 3,
            },
            Seg {
                kind: PT_LOAD,
                vaddr: BASE,
                bytes: b"high",
                memsz: 4,
            },
        ],
        &[],
    );
    assert!(format!("{:#}", pack(&spread).expect_err("spread")).contains("wrong address"));
}

#[test]
fn section_sizes_by_kind() {
    let alloc = SHF_ALLOC;
    let file = elf(
        EM_AARCH64,
        &[],
        &[
            Sec {
                kind: 0,
                flags: 0,
                size: 0,
            },
            Sec {
                kind: SHT_PROGBITS,
                flags: alloc | SHF_EXECINSTR,
                size: 100,
            },
            Sec {
                kind: SHT_PROGBITS,
                flags: alloc,
                size: 20,
            },
            Sec {
                kind: SHT_PROGBITS,
                flags: alloc | SHF_WRITE,
                size: 3,
            },
            Sec {
                kind: SHT_NOBITS,
                flags: alloc | SHF_WRITE,
                size: 4096,
            },
            Sec {
                kind: SHT_PROGBITS,
                flags: 0,
                size: 999,
            },
        ],
    );
    assert_eq!(
        sizes(&file).expect("reads sections"),
        Sizes {
            text: 100,
            rodata: 20,
            data: 3,
            bss: 4096
        }
    );
}

#[test]
fn elf_without_defmt_is_a_loud_error() {
    let file = elf(
        EM_AARCH64,
        &[Seg {
            kind: PT_LOAD,
            vaddr: BASE,
            bytes: b"x",
            memsz: 1,
        }],
        &[],
    );
    let err = defmt_table(&file).expect_err("no table");
    assert_eq!(
        err.to_string(),
        "kernel ELF has no .defmt table: the linker script must INCLUDE defmt.x"
    );
}

#[test]
fn human_sizes() {
    assert_eq!(human(12), "12 B");
    assert_eq!(human(45_678), "44.6 KiB");
    assert_eq!(human(3 << 20), "3.0 MiB");
}

#[test]
fn a_task_must_be_linked_at_the_task_base() {
    let at = |vaddr| {
        elf(
            183,
            &[Seg {
                kind: PT_LOAD,
                vaddr,
                bytes: b"x",
                memsz: 1,
            }],
            &[],
        )
    };
    check_task_link(&at(TASK_BASE)).expect("task.ld's layout");
    let e = format!(
        "{:#}",
        check_task_link(&at(0x20_0000)).expect_err("no build script")
    );
    assert!(e.contains("linked at 0x200000, not at 0x400000"), "{e}");
    assert!(e.contains("task-build.rs"), "{e}");
    let e = format!(
        "{:#}",
        check_task_link(&at(TASK_BASE + 8)).expect_err("unaligned")
    );
    assert!(e.contains("linked at"), "{e}");
}
