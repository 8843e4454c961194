//! Exception Syndrome Register (ESR_ELx) decoding, for the readable dump an
//! unexpected exception prints.

/// The exception class field, ESR[31:26].
pub const fn class(esr: u64) -> u8 {
    ((esr >> 26) & 0x3f) as u8
}

/// The name of exception class `ec`, as the Arm ARM words it.
pub const fn class_name(ec: u8) -> &'static str {
    match ec {
        0x00 => "unknown reason (undefined instruction)",
        0x01 => "trapped WFI/WFE",
        0x07 => "SVE/SIMD/FP access trap",
        0x0e => "illegal execution state",
        0x11 => "SVC (AArch32)",
        0x15 => "SVC (AArch64)",
        0x16 => "HVC (AArch64)",
        0x17 => "SMC (AArch64)",
        0x18 => "trapped MSR/MRS/system instruction",
        0x19 => "SVE access trap",
        0x1c => "pointer authentication failure",
        0x20 => "instruction abort from a lower EL",
        0x21 => "instruction abort at the same EL",
        0x22 => "PC alignment fault",
        0x24 => "data abort from a lower EL",
        0x25 => "data abort at the same EL",
        0x26 => "SP alignment fault",
        0x28 => "floating-point exception (AArch32)",
        0x2c => "floating-point exception (AArch64)",
        0x2f => "SError interrupt",
        0x30 => "breakpoint from a lower EL",
        0x31 => "breakpoint at the same EL",
        0x32 => "software step from a lower EL",
        0x33 => "software step at the same EL",
        0x34 => "watchpoint from a lower EL",
        0x35 => "watchpoint at the same EL",
        0x3c => "BRK instruction",
        _ => "reserved or unhandled class",
    }
}

/// For an abort (EC 0x20/0x21/0x24/0x25): the fault status code's meaning.
pub const fn abort_status(esr: u64) -> &'static str {
    match esr & 0x3f {
        0b000100..=0b000111 => "translation fault",
        0b001001..=0b001011 => "access flag fault",
        0b001101..=0b001111 => "permission fault",
        0b000000..=0b000011 => "address size fault",
        0b010000 => "synchronous external abort",
        0b100001 => "alignment fault",
        0b110000 => "TLB conflict abort",
        _ => "other fault",
    }
}

/// Whether `ec` is an instruction or data abort.
pub const fn is_abort(ec: u8) -> bool {
    matches!(ec, 0x20 | 0x21 | 0x24 | 0x25)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_kernel_data_abort() {
        // A level-3 translation fault on a read at EL1, as QEMU reports it.
        let esr = 0x9600_0007;
        assert_eq!(class(esr), 0x25);
        assert_eq!(class_name(class(esr)), "data abort at the same EL");
        assert!(is_abort(class(esr)));
        assert_eq!(abort_status(esr), "translation fault");
    }

    #[test]
    fn decodes_undefined_and_brk() {
        assert_eq!(
            class_name(class(0x0200_0000)),
            "unknown reason (undefined instruction)"
        );
        assert_eq!(class_name(class(0xf200_0000)), "BRK instruction");
    }
}
