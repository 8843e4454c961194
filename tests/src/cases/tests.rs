//! Host tests of the case table: names, the boot matrix, failure modes.

use super::*;

#[test]
fn names_are_unique_and_tidy() {
    for (i, case) in CASES.iter().enumerate() {
        assert!(
            !case.name.is_empty()
                && case
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "bad name {:?}",
            case.name
        );
        assert!(
            CASES[..i].iter().all(|other| other.name != case.name),
            "duplicate name {}",
            case.name
        );
    }
}

#[test]
fn boot_matrix_covers_every_value() {
    let boot = || CASES.iter().filter(|c| c.expect == Expect::Boot);
    for smp in [1, 2, 4, 8, 16] {
        assert!(
            boot().any(|c| c.board == "virt" && c.smp == smp),
            "smp {smp}"
        );
    }
    for cpu in [
        "cortex-a53",
        "cortex-a57",
        "cortex-a72",
        "max",
        "cortex-a55",
        "cortex-a76",
        "neoverse-n1",
        "a64fx",
    ] {
        assert!(boot().any(|c| c.cpu == Some(cpu)), "cpu {cpu}");
    }
    for gic in [2, 3] {
        assert!(boot().any(|c| c.gic == Some(gic)), "gic {gic}");
    }
    assert!(boot().any(|c| c.board == "virt" && c.el2));
    assert!(boot().any(|c| c.board == "virt" && !c.el2));
    for mem in ["256M", "4G"] {
        assert!(boot().any(|c| c.mem == Some(mem)), "mem {mem}");
    }
    assert!(boot().any(|c| c.board == "rpi4"));
    assert!(boot().any(|c| c.board == "imx8mp"));
}

#[test]
fn failure_modes_and_defmt_are_covered() {
    let has = |f: &dyn Fn(&Case) -> bool| CASES.iter().any(f);
    assert!(has(
        &|c| c.board == "virt" && matches!(c.expect, Expect::Panic(_))
    ));
    assert!(has(
        &|c| c.board == "rpi4" && matches!(c.expect, Expect::Panic(_))
    ));
    assert!(has(&|c| c.expect == Expect::Fault));
    assert!(has(
        &|c| matches!(c.expect, Expect::Hang(_)) && c.timeout < Duration::from_secs(15)
    ));
    assert!(has(&|c| !c.defmt.is_empty()));
}

#[test]
fn icount_is_exercised_and_reproducible() {
    let case = CASES.iter().find(|c| c.icount).expect("an icount case");
    assert!(case
        .qemu_flags()
        .join(" ")
        .ends_with("-- -icount shift=0,align=off,sleep=off"));
}

#[test]
fn qemu_flags_reproduce_the_case() {
    let case = CASES
        .iter()
        .find(|c| c.name == "boot-virt-smp8-max-gic3-4g-el2")
        .expect("case exists");
    assert_eq!(
        case.qemu_flags().join(" "),
        "--board virt --smp 8 --cpu max --gic 3 --el2 --mem 4G --image default"
    );
}
