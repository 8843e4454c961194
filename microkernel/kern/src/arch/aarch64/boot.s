// Boot path of every core, from the firmware's hand-off to Rust in the high
// half. Position-independent until the MMU is on: only PC-relative (adrp)
// addressing and literal-pool constants (link-time values) are used.
//
// Primary core: x0 = DTB physical address (Linux arm64 boot protocol);
// x1 = boot flags: 0 from firmware and QEMU, CHAINLOADED_MAGIC (boot.rs)
// when the serial chainloader started us.
// Secondary cores: enter at _secondary_entry with the MMU off at the boot
// core's EL; x0 is ignored (the spin table gives 0) and the core finds its
// logical id by looking its MPIDR up in SECONDARY_BOOT.

.equ KERNEL_L0_INDEX, 511
.equ KERNEL_L1_INDEX, 510
.equ WINDOW_L1_INDEX, 509
.equ BOOT_L3_TABLES, 8
// Page/block attributes: AF | SH=inner | AttrIndx 0 (normal WB) | UXN.
.equ PAGE_RWX,  0x0040000000000703
.equ BLOCK_RWX, 0x0040000000000701
// MAIR: 0 = normal WB RW-allocate, 1 = Device-nGnRE, 2 = normal non-cacheable.
.equ MAIR_VALUE, 0x4404ff
// TCR: T0SZ=T1SZ=16 (48-bit), 4 KiB granules, inner-shareable WB WA walks.
.equ TCR_BASE, 0xB5103510
// SCTLR_EL1: RES1 bits, MMU off.
.equ SCTLR_MMU_OFF, 0x30d00800
// ... plus M, C, SA, SA0, I, nTWE: `wfe` at EL0 waits instead of
// trapping (ring servers and clients sleep in it; `wfi` still traps), and
// UCI: EL0 may clean and invalidate by address (`dc civac`, `dc cvac`,
// `dc cvau`, `ic ivau`) memory it can read, as a driver server sharing a
// buffer with a device that does not snoop the caches must (the Pi 4's
// VideoCore mailbox: docs/block.md); `dc ivac` stays EL1's.
.equ SCTLR_MMU_ON, 0x34d4181d
.equ MPIDR_AFF_MASK, 0xff00ffffff
// The payload header's magic, "KMLPAYLD" little-endian (xtask build.rs
// PAYLOAD_MAGIC), and the longest payload taken (mm::PAYLOAD_MAX).
.equ PAYLOAD_MAGIC, 0x444c5941504c4d4b
.equ PAYLOAD_MAX, 0x4000000
// Offsets in SECONDARY_BOOT (see smp.rs).
.equ SB_NCPUS, 0
.equ SB_TTBR1, 8
.equ SB_MPIDRS, 16
.equ SB_STACKS, 16 + 8 * 16

.section .text.head, "ax"
.global _start
_start:
    // Linux arm64 Image header: QEMU and the Pi firmware load the image at
    // RAM base + text_offset (0x80000) and pass the DTB in x0.
    b       primary_entry
    .long   0
    .quad   0x80000             // text_offset
    .quad   __image_size        // image_size (includes .bss)
    .quad   0x2                 // flags: little-endian, 4 KiB pages
    .quad   0, 0, 0
    .ascii  "ARM\x64"
    .long   0

.section .text.boot, "ax"
primary_entry:
    msr     daifset, #0xf
    msr     tpidr_el1, xzr                  // no per-core data yet
    mov     x19, x0                         // DTB physical address
    mov     x21, x1                         // boot flags
    bl      el2_to_el1
    adrp    x20, __kernel_start             // physical load address

    // The payload (the task archive) that `cargo xtask` packs right after
    // .data, where .bss begins: a 16-byte header (PAYLOAD_MAGIC, length)
    // and the bytes. Move it whole past .bss, to __kernel_end, before .bss
    // is zeroed; copied backwards 16 bytes at a time, as the destination is
    // above the source and the two may overlap (the packer pads the
    // payload to 16 bytes). x23 = its length, 0 without one.
    mov     x23, #0
    adrp    x0, __bss_start
    ldr     x2, [x0]
    ldr     x3, =PAYLOAD_MAGIC
    cmp     x2, x3
    b.ne    3f
    ldr     x23, [x0, #8]
    ldr     x3, =PAYLOAD_MAX
    cmp     x23, x3
    b.hi    5f                              // absurd: leave it, run no tasks
    add     x4, x23, #31                    // header + bytes, rounded to 16
    and     x4, x4, #0xfffffffffffffff0
    adrp    x1, __kernel_end
4:  cbz     x4, 3f
    sub     x4, x4, #16
    add     x7, x0, x4
    add     x8, x1, x4
    ldp     x5, x6, [x7]
    stp     x5, x6, [x8]
    b       4b
5:  mov     x23, #0
3:
    // Zero the boot tables with aligned stores (the MMU is off: data
    // accesses are Device-nGnRnE, so no unaligned access and no `dc zva`).
    // The rest of .bss is zeroed once the MMU is on (primary_high), with
    // `dc zva` on Normal memory: 916 KiB of stores here cost ~120 k
    // instructions, and their cache invalidation ~60 k more.
    adrp    x0, __bss_start
    adrp    x1, __boot_tables_end
    bl      zero_stores
    bl      build_boot_tables
    // Drop any stale cache lines over what was written with the MMU off:
    // the boot tables and the moved payload. (The rest of .bss is zeroed
    // through the cache, which replaces whatever lines it held.)
    adrp    x0, __bss_start
    adrp    x1, __boot_tables_end
    bl      dcache_invalidate_range
    adrp    x0, __bss_end
    add     x1, x0, x23
    add     x1, x1, #16
    bl      dcache_invalidate_range

    adrp    x0, __boot_l0_id
    adrp    x1, __boot_l0_k
    bl      mmu_on
    ldr     x9, =primary_high
    br      x9

primary_high:
    ldr     x0, =__boot_stack_top
    mov     sp, x0
    // The rest of .bss: after the boot stack, page-aligned at both ends.
    ldr     x0, =__boot_stack_top
    ldr     x1, =__bss_end
    bl      zero_normal
    ldr     x0, =exception_vectors
    msr     vbar_el1, x0
    isb
    mov     x0, x19
    mov     x1, x20
    mov     x2, x21
    mov     x3, x23
    bl      kmain_primary
    b       park

.global _secondary_entry
_secondary_entry:
    msr     daifset, #0xf
    msr     tpidr_el1, xzr                  // no per-core data yet
    bl      el2_to_el1
    mrs     x1, mpidr_el1
    ldr     x2, =MPIDR_AFF_MASK
    and     x1, x1, x2
    adrp    x3, SECONDARY_BOOT
    add     x3, x3, :lo12:SECONDARY_BOOT
    ldr     x4, [x3, #SB_NCPUS]
    add     x6, x3, #SB_MPIDRS
    mov     x5, #0
1:  cmp     x5, x4
    b.hs    park                            // not a core we know: stay off
    ldr     x7, [x6, x5, lsl #3]
    cmp     x7, x1
    b.eq    2f
    add     x5, x5, #1
    b       1b
2:  mov     x21, x5                         // logical core id
    add     x6, x3, #SB_STACKS
    ldr     x22, [x6, x21, lsl #3]          // stack top (virtual)
    adrp    x0, __boot_l0_id
    ldr     x1, [x3, #SB_TTBR1]             // the kernel's final tables
    bl      mmu_on
    ldr     x9, =secondary_high
    br      x9

secondary_high:
    mov     sp, x22
    ldr     x0, =exception_vectors
    msr     vbar_el1, x0
    isb
    mov     x0, x21
    bl      kmain_secondary
    b       park

.global park
park:
    wfe
    b       park

// Leave EL2 for EL1 if entered at EL2 (QEMU virt with virtualization=on,
// Raspberry Pi 4). The kernel is the hypervisor here and gives EL1
// everything: AArch64, the physical timer and counter, the GICv3 system
// registers, FP/SIMD (no EL2 trap: whether EL0 may use it is CPACR_EL1's
// to say, below), the real MIDR/MPIDR.
el2_to_el1:
    ldr     x9, =SCTLR_MMU_OFF
    msr     sctlr_el1, x9
    mrs     x9, CurrentEL
    lsr     x9, x9, #2
    cmp     x9, #1
    b.eq    9f
    cmp     x9, #2
    b.ne    park                            // EL3: not supported
    mov     x9, #(1 << 31)                  // HCR_EL2.RW
    msr     hcr_el2, x9
    mrs     x9, cnthctl_el2
    orr     x9, x9, #3                      // EL1PCTEN | EL1PCEN
    msr     cnthctl_el2, x9
    msr     cntvoff_el2, xzr
    mrs     x9, id_aa64pfr0_el1
    ubfx    x9, x9, #24, #4                 // GIC system register interface?
    cbz     x9, 1f
    mrs     x9, icc_sre_el2
    mov     x10, #0x9                       // Enable | SRE
    orr     x9, x9, x10
    msr     icc_sre_el2, x9
    isb
1:  mrs     x9, id_aa64dfr0_el1             // a PMU (PMUVer not 0 or 0xf)?
    ubfx    x9, x9, #8, #4
    cbz     x9, 2f
    cmp     x9, #0xf
    b.eq    2f
    mrs     x9, pmcr_el0                    // MDCR_EL2: HPMN = PMCR_EL0.N (EL1
    ubfx    x9, x9, #11, #5                 // owns every counter), no TPM /
    msr     mdcr_el2, x9                    // TPMCR traps (UNKNOWN at reset)
2:  mov     x9, #0x33ff                     // CPTR_EL2: no FP/SIMD trap
    msr     cptr_el2, x9
    msr     hstr_el2, xzr
    mrs     x9, midr_el1
    msr     vpidr_el2, x9
    mrs     x9, mpidr_el1
    msr     vmpidr_el2, x9
    mov     x9, #0x3c5                      // EL1h, DAIF masked
    msr     spsr_el2, x9
    adr     x9, 9f
    msr     elr_el2, x9
    eret
// At EL1 on both paths. The EL0-visible state no task owns starts at 0
// rather than whatever firmware or a previous kernel left (both are
// UNKNOWN at reset): TPIDRRO_EL0 (EL0 reads it, only the kernel could
// write it; this kernel never does) and TPIDR_EL0 (each task's own, saved
// and restored on every switch between tasks, task/mod.rs). CPACR_EL1 = 0:
// FPEN, ZEN and SMEN trap every SIMD/FP, SVE and SME access from EL0 (and
// EL1: the kernel is built soft-float), so no task can reach the FP
// registers, FPCR or FPSR; such an access is a fault of that task.
9:  msr     cpacr_el1, xzr
    msr     tpidr_el0, xzr
    msr     tpidrro_el0, xzr
    isb
    ret

// Identity map (TTBR0) of the 1 GiB holding the image, for the instant the
// MMU turns on; the image page by page at KERNEL_VA (TTBR1); an empty L2
// "window" table Rust fills for the early console and the DTB.
build_boot_tables:
    adrp    x0, __boot_l0_id
    adrp    x1, __boot_l1_id
    lsr     x2, x20, #39
    and     x2, x2, #0x1ff
    orr     x3, x1, #3
    str     x3, [x0, x2, lsl #3]
    lsr     x2, x20, #30
    and     x2, x2, #0x1ff
    lsr     x3, x20, #30
    lsl     x3, x3, #30
    ldr     x4, =BLOCK_RWX
    orr     x3, x3, x4
    str     x3, [x1, x2, lsl #3]

    adrp    x0, __boot_l0_k
    adrp    x1, __boot_l1_k
    orr     x3, x1, #3
    str     x3, [x0, #(KERNEL_L0_INDEX * 8)]
    adrp    x2, __boot_l2_k
    orr     x3, x2, #3
    str     x3, [x1, #(KERNEL_L1_INDEX * 8)]
    adrp    x4, __boot_l2_window
    orr     x3, x4, #3
    str     x3, [x1, #(WINDOW_L1_INDEX * 8)]
    adrp    x5, __boot_l3_k
    mov     x6, #0
1:  add     x3, x5, x6, lsl #12
    orr     x3, x3, #3
    str     x3, [x2, x6, lsl #3]
    add     x6, x6, #1
    cmp     x6, #BOOT_L3_TABLES
    b.lo    1b
    ldr     x7, =__image_size
    add     x7, x7, #0xfff
    lsr     x7, x7, #12
    ldr     x4, =PAGE_RWX
    mov     x6, #0
2:  add     x3, x20, x6, lsl #12
    orr     x3, x3, x4
    str     x3, [x5, x6, lsl #3]
    add     x6, x6, #1
    cmp     x6, x7
    b.lo    2b
    ret

// x0 = TTBR0 (physical), x1 = TTBR1 (physical). Same settings on every core.
mmu_on:
    ldr     x2, =MAIR_VALUE
    msr     mair_el1, x2
    ldr     x2, =TCR_BASE
    mrs     x3, id_aa64mmfr0_el1
    and     x3, x3, #0xf                    // PARange
    mov     x4, #5                          // at most 48 bits
    cmp     x3, x4
    csel    x3, x3, x4, ls
    orr     x2, x2, x3, lsl #32             // IPS
    msr     tcr_el1, x2
    msr     ttbr0_el1, x0
    msr     ttbr1_el1, x1
    isb
    tlbi    vmalle1
    ic      iallu
    dsb     nsh
    isb
    ldr     x2, =SCTLR_MMU_ON
    msr     sctlr_el1, x2
    isb
    ret

// Zero [x0, x1), both page-aligned, mapped Normal: a `dc zva` block at a
// time (DCZID_EL0.BS, at most 2 KiB), or stores where DCZID_EL0.DZP
// prohibits it.
zero_normal:
    mrs     x2, dczid_el0
    tbnz    x2, #4, zero_stores
    and     x2, x2, #0xf
    mov     x3, #4
    lsl     x3, x3, x2
1:  cmp     x0, x1
    b.hs    2f
    dc      zva, x0
    add     x0, x0, x3
    b       1b
2:  ret

// Zero [x0, x1), both 64-byte aligned, with aligned 16-byte stores, 64
// bytes a pass (safe with the MMU off).
zero_stores:
1:  cmp     x0, x1
    b.hs    2f
    stp     xzr, xzr, [x0]
    stp     xzr, xzr, [x0, #16]
    stp     xzr, xzr, [x0, #32]
    stp     xzr, xzr, [x0, #48]
    add     x0, x0, #64
    b       1b
2:  ret

// Invalidate data cache lines over [x0, x1).
dcache_invalidate_range:
    mrs     x3, ctr_el0
    ubfx    x3, x3, #16, #4
    mov     x2, #4
    lsl     x2, x2, x3
    sub     x3, x2, #1
    bic     x0, x0, x3
1:  dc      ivac, x0
    add     x0, x0, x2
    cmp     x0, x1
    b.lo    1b
    dsb     sy
    ret

.ltorg

.section .bss.boot_tables, "aw", %nobits
.balign 4096
.global __boot_l0_id, __boot_l1_id, __boot_l0_k, __boot_l1_k, __boot_l2_k
.global __boot_l2_window, __boot_l3_k
__boot_l0_id:     .space 4096
__boot_l1_id:     .space 4096
__boot_l0_k:      .space 4096
__boot_l1_k:      .space 4096
__boot_l2_k:      .space 4096
__boot_l2_window: .space 4096
__boot_l3_k:      .space 4096 * BOOT_L3_TABLES
__boot_tables_end:
.balign 16
__boot_stack:     .space 64 * 1024
// Page-aligned: primary_high zeroes .bss from here with `dc zva`.
.balign 4096
.global __boot_stack_top
__boot_stack_top:
