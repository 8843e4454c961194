//! The board this kernel is built for, chosen by a cargo feature
//! (`board-virt` or `board-rpi4`): one place, as Hubris chooses its arch.

#[cfg(all(feature = "board-virt", feature = "board-rpi4"))]
compile_error!("choose one board feature: board-virt or board-rpi4");
#[cfg(not(any(feature = "board-virt", feature = "board-rpi4")))]
compile_error!("choose a board feature: board-virt or board-rpi4");

#[cfg(feature = "board-virt")]
pub type Current = qemu_virt::QemuVirt;
#[cfg(feature = "board-rpi4")]
pub type Current = rpi4::RaspberryPi4;
