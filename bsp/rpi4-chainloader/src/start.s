// Entry from the firmware (or QEMU raspi4b) at its load address (0x80000)
// at EL2, MMU and caches off, x0 = DTB. Position-independent until the
// `br` to the link address: only `adr` and literal-pool constants are used.
//
// Steps: park any core but core 0 (the firmware keeps the others on the
// spin table, but be safe); copy the file bytes to the link address
// (RUN_ADDR, link.ld); zero .bss there; make the copied code visible to
// instruction fetch; set the stack; continue in Rust at the link address
// with x0 = DTB, x1 = where we were loaded.

.section .text.head, "ax"
.global _start
_start:
    // arm64 Image header (64 bytes), like the kernel's.
    b       1f
    .long   0
    .quad   0x80000                 // text_offset
    .quad   __loader_file_size      // image_size
    .quad   0x2                     // flags: little-endian, 4 KiB pages
    .quad   0, 0, 0
    .ascii  "ARM\x64"
    .long   0
    // 0x40: configuration (chainload::Config), patched by
    // `cargo xtask flash --chainloader --baud N`.
    .ascii  "KMLCFG01"
    .long   115200                  // baud
    .long   48000000                // UART0 reference clock (Hz)

1:  msr     daifset, #0xf
    mrs     x4, mpidr_el1
    and     x4, x4, #0xff
    cbz     x4, 2f
3:  wfe                             // not core 0: stay out of the way
    b       3b

2:  mov     x19, x0                 // DTB, handed on unchanged
    adr     x20, _start             // load address
    ldr     x21, =__loader_start    // link (run) address
    ldr     x22, =__loader_end
    cmp     x20, x21
    b.eq    5f
    mov     x1, x20
    mov     x2, x21
4:  ldr     x3, [x1], #8            // both ends are 8-byte aligned
    str     x3, [x2], #8
    cmp     x2, x22
    b.lo    4b

5:  ldr     x1, =__bss_start
    ldr     x2, =__bss_end
6:  cmp     x1, x2
    b.hs    7f
    str     xzr, [x1], #8
    b       6b

7:  dsb     sy
    ic      iallu                   // the copy is code: no stale lines
    dsb     sy
    isb
    ldr     x1, =__stack_top
    mov     sp, x1
    mov     x0, x19
    mov     x1, x20
    ldr     x2, =loader_main
    br      x2
.ltorg
