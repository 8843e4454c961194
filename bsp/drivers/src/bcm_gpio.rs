//! BCM2711 GPIO pin functions and pulls: just enough to route UART0 (the
//! PL011 console) to header pins 8/10 (GPIO 14/15) on a real Raspberry Pi 4,
//! whose upstream DTB gives those pins to the mini UART and UART0 to the
//! Bluetooth chip. QEMU ignores pin functions.

/// A pin function (GPFSELn field value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Input = 0b000,
    Output = 0b001,
    Alt0 = 0b100,
    Alt5 = 0b010,
}

/// A pin's pull resistor (BCM2711 GPIO_PUP_PDN_CNTRL_REGn encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    None = 0b00,
    Up = 0b01,
    Down = 0b10,
}

const GPFSEL0: usize = 0x00;
const GPIO_PUP_PDN_CNTRL_REG0: usize = 0xe4;

/// The GPIO block at a mapped address.
pub struct BcmGpio {
    base: usize,
}

impl BcmGpio {
    /// # Safety
    /// `base` must be the mapped virtual address (device memory) of the
    /// BCM2711 GPIO block, with its whole 4 KiB page mapped (the pull
    /// registers lie past the 0xb4 bytes the DTB names).
    pub const unsafe fn new(base: usize) -> Self {
        BcmGpio { base }
    }

    fn rmw(&self, offset: usize, shift: usize, width: usize, value: u32) {
        let reg = (self.base + offset) as *mut u32;
        let mask = ((1u32 << width) - 1) << shift;
        // Safety: `new`'s caller guaranteed the block is mapped; `offset`
        // is one of this block's registers.
        unsafe {
            let v = reg.read_volatile();
            reg.write_volatile((v & !mask) | (value << shift));
        }
    }

    /// Selects `function` for `pin` (0..=57).
    pub fn set_function(&self, pin: usize, function: Function) {
        self.rmw(GPFSEL0 + 4 * (pin / 10), 3 * (pin % 10), 3, function as u32);
    }

    /// Sets `pin`'s pull resistor.
    pub fn set_pull(&self, pin: usize, pull: Pull) {
        self.rmw(
            GPIO_PUP_PDN_CNTRL_REG0 + 4 * (pin / 16),
            2 * (pin % 16),
            2,
            pull as u32,
        );
    }

    /// UART0 to the header: GPIO 14 (TXD0) / 15 (RXD0) on ALT0, pull-up on
    /// RX so an unconnected line reads idle, and GPIO 32/33 (where the
    /// upstream DTB routes UART0, to the Bluetooth chip) back to inputs, so
    /// UART0 listens to the header pins only. What `dtoverlay=disable-bt`
    /// would do.
    pub fn route_uart0_to_header(&self) {
        self.set_pull(14, Pull::None);
        self.set_pull(15, Pull::Up);
        self.set_function(14, Function::Alt0);
        self.set_function(15, Function::Alt0);
        self.set_function(32, Function::Input);
        self.set_function(33, Function::Input);
    }
}
