//! The card image with stand-in firmware: table, FAT32, exact files; and
//! `flash`'s argument checks.

use super::*;
use crate::firmware::Firmware;
use crate::flash::{boot_files, validate, FlashArgs, CONFIG_TXT};

fn files() -> Vec<BootFile> {
    let fw = Firmware {
        files: vec![
            ("start4.elf".into(), vec![0x45; 300_000]),
            ("fixup4.dat".into(), b"fixup".to_vec()),
        ],
        source: "test".into(),
    };
    let kernel: Vec<u8> = (0..70_000u32).map(|i| (i % 253) as u8).collect();
    boot_files(kernel, &fw, b"\xd0\x0d\xfe\xed dtb".to_vec())
}

#[test]
fn the_card_has_a_fat32_partition_with_exactly_the_files_then_data() {
    let files = files();
    let image = build(&files, DEFAULT_DATA_SECTORS).expect("build");
    let (part, data) = verify(&image, &files).expect("verify");
    assert_eq!(
        part,
        Partition {
            kind: 0x0c,
            start: 2048,
            sectors: 131_072
        }
    );
    assert_eq!(
        data,
        Partition {
            kind: 0xda,
            start: 2048 + 131_072,
            sectors: 16_384
        }
    );
    assert_eq!(image.len() as u64, (2048 + 131_072 + 16_384) * 512);
    assert!(image[(data.start * SECTOR) as usize..]
        .iter()
        .all(|&b| b == 0));
    // Legacy CHS of LBA 2048 in 255/63 geometry: cylinder 0, head 32, sector 33.
    assert_eq!(image[447..450], [32, 33, 0]);
    // Reproducible.
    assert_eq!(build(&files, DEFAULT_DATA_SECTORS).expect("again"), image);
    // The data partition's size is the caller's; the boot partition stays.
    let small = build(&files, 2048).expect("1 MiB of data");
    assert_eq!(partitions(&small).expect("table").1.sectors, 2048);
    assert_eq!(
        small[(PART_START * SECTOR) as usize..(data.start * SECTOR) as usize],
        image[(PART_START * SECTOR) as usize..(data.start * SECTOR) as usize]
    );
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "start4.elf",
            "fixup4.dat",
            "bcm2711-rpi-4-b.dtb",
            "config.txt",
            "kernel8.img"
        ]
    );
}

#[test]
fn verification_catches_damage() {
    let files = files();
    let image = build(&files, 2048).expect("build");
    let mut other = files.clone();
    other[4].bytes[1000] ^= 1;
    let err = format!("{:#}", verify(&image, &other).unwrap_err());
    assert!(err.contains("kernel8.img differs"), "{err}");
    let mut fewer = files.clone();
    fewer.remove(1);
    let err = format!("{:#}", verify(&image, &fewer).unwrap_err());
    assert!(err.contains("unexpected file fixup4.dat"), "{err}");
    let mut bad = image.clone();
    bad[446 + 4] = 0x83;
    let err = format!("{:#}", verify(&bad, &files).unwrap_err());
    assert!(err.contains("not 0x0c"), "{err}");
    let mut bad = image.clone();
    bad[446 + 16 + 4] = 0x83;
    let err = format!("{:#}", verify(&bad, &files).unwrap_err());
    assert!(err.contains("not 0xda"), "{err}");
    bad[446 + 16 + 12] = 0xff; // past the image
    let err = format!("{:#}", verify(&bad, &files).unwrap_err());
    assert!(err.contains("partition 2 ends at byte"), "{err}");
    bad[510] = 0;
    assert!(partitions(&bad).is_err());
}

#[test]
fn fsck_fat_accepts_the_volume_when_installed() {
    let Ok(out) = std::process::Command::new("fsck.fat")
        .arg("--help")
        .output()
    else {
        eprintln!("fsck.fat not installed (dosfstools): skipped");
        return;
    };
    let _ = out;
    let image = build(&files(), 2048).expect("build");
    let dir = crate::build::target_dir(&crate::build::workspace_root()).join("xtask");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(format!("fat-{}.img", std::process::id()));
    std::fs::write(&path, &image[(PART_START * SECTOR) as usize..]).expect("write");
    let out = std::process::Command::new("fsck.fat")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("fsck.fat");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("uninitialized"), "{text}");
}

#[test]
fn config_txt_boots_a_64_bit_kernel_at_its_address() {
    for line in [
        "arm_64bit=1",
        "enable_uart=1",
        "kernel=kernel8.img",
        "kernel_address=0x80000",
    ] {
        assert!(CONFIG_TXT.lines().any(|l| l == line), "{line}");
    }
    assert!(!CONFIG_TXT.lines().any(|l| l.starts_with("dtoverlay")));
}

#[test]
fn flash_arguments_are_checked_first() {
    let args = |board: Option<&str>, baud: Option<u32>, out: &str| FlashArgs {
        board: board.map(String::from),
        out: Some(out.into()),
        device: None,
        chainloader: baud.is_some(),
        image: None,
        firmware: None,
        baud,
        data_size: None,
        yes: false,
    };
    assert!(validate(&args(None, None, "/tmp/card.img")).is_ok());
    assert!(validate(&args(Some("rpi4"), Some(921_600), "/tmp/card.img")).is_ok());
    let e = validate(&args(Some("virt"), None, "/tmp/card.img")).unwrap_err();
    assert!(e.0.contains("only rpi4 boots from an SD card"), "{e}");
    for (size, sectors) in [("8M", 16_384), ("1M", 2048), ("1g", 2_097_152)] {
        let a = FlashArgs {
            data_size: Some(size.into()),
            ..args(None, None, "/tmp/card.img")
        };
        assert_eq!(crate::flash::data_sectors(&a).expect(size), sectors);
    }
    for size in ["0", "2T", "lots"] {
        let a = FlashArgs {
            data_size: Some(size.into()),
            ..args(None, None, "/tmp/card.img")
        };
        let e = validate(&a).unwrap_err();
        assert!(e.0.starts_with("--data-size"), "{e}");
    }
    let e = validate(&args(None, Some(100), "/tmp/card.img")).unwrap_err();
    assert!(e.0.starts_with("--baud 100"), "{e}");
    // /dev/loop0 exists on most Linux machines; any block device will do.
    if let Some(dev) = ["/dev/loop0", "/dev/sda", "/dev/vda"]
        .into_iter()
        .find(|d| std::path::Path::new(d).exists())
    {
        let e = validate(&args(None, None, dev)).unwrap_err();
        assert!(e.0.contains("a block device; use --device"), "{e}");
    }
}
