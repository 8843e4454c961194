//! The archive header's kernel options (offset 44): what a run asks of the
//! kernel's test build, chosen by the image (docs/images.md, The kernel
//! builds).

/// Kernel options: the hook's bits.
pub const OPTION_HOOK: u32 = 0xff;
/// Kernel options: the in-kernel block baseline.
pub const OPTION_BLOCK_IN_KERNEL: u32 = 1 << 8;
/// Kernel options: tasks may read the cycle counter (both builds).
pub const OPTION_CYCLE_COUNTER: u32 = 1 << 9;

/// A fault-injection hook of the kernel's test build: what the run
/// sequencer does once every core is online, instead of (or before) the
/// tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hook {
    /// None: the tasks run.
    #[default]
    None = 0,
    /// A deliberate panic on the last core (core 0 when it is the only one).
    Panic = 1,
    /// Core 0 reads an unmapped kernel address (an unexpected exception).
    Fault = 2,
    /// Core 0 hangs after the boot report (the run's timeout must catch it).
    Hang = 3,
    /// The last core recurses until its kernel stack reaches its guard.
    StackOverflow = 4,
}

impl Hook {
    /// Every hook, in number order.
    pub const ALL: [Hook; 5] = [
        Hook::None,
        Hook::Panic,
        Hook::Fault,
        Hook::Hang,
        Hook::StackOverflow,
    ];

    /// The hook numbered `n`, if there is one.
    pub fn from_u32(n: u32) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| *h as u32 == n)
    }

    /// Its name in an image file (`[kernel] hook`).
    pub const fn name(self) -> &'static str {
        match self {
            Hook::None => "none",
            Hook::Panic => "panic",
            Hook::Fault => "fault",
            Hook::Hang => "hang",
            Hook::StackOverflow => "stack-overflow",
        }
    }
}

/// The archive's kernel options (header offset 44), checked: what the run
/// asks of the kernel (the hook and the block baseline only the test build
/// carries; the cycle counter either build gives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KernelOptions {
    pub hook: Hook,
    /// The in-kernel block baseline's experimental calls are accepted.
    pub block_in_kernel: bool,
    /// EL0 may read PMCCNTR_EL0 (the cycle counter), on every core.
    pub cycle_counter: bool,
}

impl KernelOptions {
    /// Nothing asked: what the standard build runs.
    pub const NONE: KernelOptions = KernelOptions {
        hook: Hook::None,
        block_in_kernel: false,
        cycle_counter: false,
    };

    /// Decodes the header word; `None` for a bit or hook it does not know.
    pub fn decode(word: u32) -> Option<KernelOptions> {
        if word & !(OPTION_HOOK | OPTION_BLOCK_IN_KERNEL | OPTION_CYCLE_COUNTER) != 0 {
            return None;
        }
        Some(KernelOptions {
            hook: Hook::from_u32(word & OPTION_HOOK)?,
            block_in_kernel: word & OPTION_BLOCK_IN_KERNEL != 0,
            cycle_counter: word & OPTION_CYCLE_COUNTER != 0,
        })
    }

    /// The header word.
    pub const fn encode(self) -> u32 {
        self.hook as u32
            | if self.block_in_kernel {
                OPTION_BLOCK_IN_KERNEL
            } else {
                0
            }
            | if self.cycle_counter {
                OPTION_CYCLE_COUNTER
            } else {
                0
            }
    }

    /// Only the test build can do what it asks (a hook or the block
    /// baseline).
    pub fn needs_test_build(self) -> bool {
        self.hook != Hook::None || self.block_in_kernel
    }
}
