// The EL1 exception vector table: 16 entries of 0x80 bytes. Each saves
// x0/x1, loads its kind (0-15, in table order) and joins the common path,
// which saves the whole frame (general registers, ELR, SPSR, SP_EL0), calls
// exception_entry(kind, &mut Frame) and restores the (possibly changed)
// frame before eret. The synchronous entry from EL0 (kind 8) first tells a
// system call from a fault: the null call is answered in the vector
// itself, and every other call takes el0_svc below, which saves only what
// Rust code may change (see there).
//
// exception_return restores a frame at sp: it is also how a core first
// enters a task (enter_frame, from code that may run with interrupts
// unmasked, such as the idle loop), so it masks them first: an
// interrupt taken after ELR_EL1/SPSR_EL1 are written would overwrite them,
// and the eret would then return into exception_return itself with an
// empty stack (a kernel data abort at the stack's top, seen once in
// console-gone-virt).
//
// The synchronous entry from EL1 on SP_EL1 (kind 4) first checks that the
// frame it is about to push does not land in a kernel stack's guard (a
// stack overflow, which would otherwise fault again on every push): see
// sync_el1 below. The constants in braces are global_asm! operands (mod.rs,
// stack.rs).

.equ FRAME_SIZE, {FRAME_SIZE}
.equ STACK_GUARD_BIT, {STACK_GUARD_BIT}
.equ STACK_SLOT_SHIFT, {STACK_SLOT_SHIFT}
.equ STACK_SLOT_BITS, {STACK_SLOT_BITS}
.equ STACKS_BASE, {STACKS_BASE}
.equ STACKS_SPAN_MASK, {STACKS_SPAN_MASK}
.equ OVERFLOW_STACK_SIZE, {OVERFLOW_STACK_SIZE}
.equ MAX_CPUS, {MAX_CPUS}
.equ SYSCALL_NULL, {SYSCALL_NULL}
.equ SYSCALL_CALLS, {SYSCALL_CALLS}
// ESR_EL1: the exception class is bits 31:26; 0x15 is SVC from AArch64.
.equ ESR_EC_SHIFT, 26
.equ ESR_EC_SVC64, 0x15

.macro VENTRY kind
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mov     x0, #\kind
    b       exception_common
.endm

.section .text.vectors, "ax"
.balign 0x800
.global exception_vectors
exception_vectors:
    VENTRY 0
    VENTRY 1
    VENTRY 2
    VENTRY 3

// Sync, EL1 on SP_EL1. Each stack slot in the stack region is 2 x 64 KiB,
// the guard below the stack, so an address in the region is in a guard
// exactly when bit STACK_GUARD_BIT is clear. SP is tested without a scratch
// register (Linux's trick): SP += x0, x0 = SP - x0 (the frame address),
// test, then undo both. A clear bit is rare (a stack outside the region:
// core 0's boot stack, an emergency stack) and is resolved out of line.
// The flags are free: the exception saved them in SPSR_EL1.
    .balign 0x80
sync_el1:
    sub     sp, sp, #FRAME_SIZE
    add     sp, sp, x0
    sub     x0, sp, x0                      // x0 = where the frame goes
    tbz     x0, #STACK_GUARD_BIT, sync_el1_check
sync_el1_push:
    sub     x0, sp, x0                      // x0 = x0 again
    sub     sp, sp, x0                      // sp = where the frame goes
    stp     x0, x1, [sp, #0]
    mov     x0, #4
    b       exception_common

    VENTRY 5
    VENTRY 6
    VENTRY 7

// Sync, from EL0 (AArch64). A fault joins the common path as kind 8. A
// system call's number is in x8; the null call (the measure of the entry
// path) is answered here: status 0 in x0, every other register as it was.
// The flags are free: eret restores them from SPSR_EL1.
    .balign 0x80
el0_sync:
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mrs     x0, esr_el1
    ubfx    x0, x0, #ESR_EC_SHIFT, #6
    cmp     x0, #ESR_EC_SVC64
    b.ne    el0_fault
    cmp     x8, #SYSCALL_NULL
    b.ne    el0_svc
    ldr     x1, [sp, #8]
    add     sp, sp, #FRAME_SIZE
    mov     x0, xzr
    eret
el0_fault:
    mov     x0, #8
    b       exception_common

    VENTRY 9
    VENTRY 10
    VENTRY 11
    VENTRY 12
    VENTRY 13
    VENTRY 14
    VENTRY 15

// A system call other than the null call (x0/x1 saved at sp). Rust code
// keeps x19-x29 (callee-saved in the AAPCS64) and SP_EL0 (the kernel runs
// on SP_EL1), so only x0-x18 and x30 go into the frame before
// syscall_entry(&mut Frame), which serves the calls that neither switch
// tasks nor read the whole frame. ELR_EL1 and SPSR_EL1 stay in their
// registers: the call runs with every exception masked, and the only
// exception it can take (a kernel fault) never returns into it. It returns
// 0 when the call is done (the results are in the frame's x0-x3).
// Otherwise x19-x29 hold the caller's values again, so the frame is
// completed here and syscall_full(what, &mut Frame) runs on it (a call
// that may switch tasks, or a capability call that must wait for other
// cores), returning through exception_return like any exception
// (task/syscall.rs). The call number indexes SYSCALL_TABLE (below
// SYSCALL_CALLS; x9 is free, saved above): each capability call, CapInfo
// included, has its own function there (cap/entry.rs), the other calls
// syscall_entry, which also takes every number past the table.
el0_svc:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    str     x18, [sp, #144]
    str     x30, [sp, #240]
    mov     x0, sp
    cmp     x8, #SYSCALL_CALLS
    b.hs    el0_svc_other
    adrp    x9, {SYSCALL_TABLE}
    add     x9, x9, :lo12:{SYSCALL_TABLE}
    ldr     x9, [x9, x8, lsl #3]
    blr     x9
    cbnz    x0, el0_svc_full
el0_svc_return:
    ldr     x30, [sp, #240]
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldr     x18, [sp, #144]
    add     sp, sp, #FRAME_SIZE
    eret
el0_svc_other:
    bl      syscall_entry
    cbz     x0, el0_svc_return
el0_svc_full:
    str     x19, [sp, #152]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x1, elr_el1
    mrs     x2, spsr_el1
    mrs     x3, sp_el0
    str     x1, [sp, #248]
    stp     x2, x3, [sp, #256]
    mov     x1, sp
    bl      syscall_full
    b       exception_return

exception_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x1, elr_el1
    mrs     x2, spsr_el1
    mrs     x3, sp_el0
    stp     x30, x1, [sp, #240]
    stp     x2, x3, [sp, #256]
    mov     x1, sp
    bl      exception_entry
.global exception_return
exception_return:
    msr     daifset, #0xf
    ldp     x30, x1, [sp, #240]
    ldp     x2, x3, [sp, #256]
    msr     elr_el1, x1
    msr     spsr_el1, x2
    msr     sp_el0, x3
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    add     sp, sp, #FRAME_SIZE
    eret

// x0 = where sync_el1's frame would go (bit STACK_GUARD_BIT clear), sp =
// x0 + the interrupted x0. Outside the stack region: an ordinary frame.
// Inside: the frame would land in a guard, the stack has overflowed.
sync_el1_check:
    eor     x0, x0, #STACKS_BASE
    tst     x0, #STACKS_SPAN_MASK           // Z: in the stack region
    eor     x0, x0, #STACKS_BASE            // (eor leaves the flags alone)
    b.ne    sync_el1_push

// Nothing of the interrupted state is needed any more: this path ends in a
// panic. The slot the frame address lies in names the overflowed stack's
// core (each core runs only on its own stack); move to that core's
// emergency stack and report.
kernel_stack_overflowed:
    ubfx    x1, x0, #STACK_SLOT_SHIFT, #STACK_SLOT_BITS
    add     x1, x1, #1
    mov     x2, #OVERFLOW_STACK_SIZE
    adrp    x3, overflow_stacks
    add     x3, x3, :lo12:overflow_stacks
    madd    x3, x1, x2, x3                  // top of the slot's emergency stack
    mov     sp, x3
    add     x0, x0, #FRAME_SIZE             // sp when the exception was taken
    mov     x29, xzr
    mov     x30, xzr
    bl      kernel_stack_overflow           // stack.rs; does not return
    b       park

.section .bss.overflow_stacks, "aw", %nobits
.balign 16
overflow_stacks:
    .space  OVERFLOW_STACK_SIZE * MAX_CPUS
