//! The board this kernel is built for, chosen by a cargo feature
//! (`board-virt`, `board-rpi4` or `board-imx8mp`): one place, as Hubris
//! chooses its arch.

#[cfg(any(
    all(feature = "board-virt", feature = "board-rpi4"),
    all(feature = "board-virt", feature = "board-imx8mp"),
    all(feature = "board-rpi4", feature = "board-imx8mp"),
))]
compile_error!("choose one board feature: board-virt, board-rpi4 or board-imx8mp");
#[cfg(not(any(
    feature = "board-virt",
    feature = "board-rpi4",
    feature = "board-imx8mp"
)))]
compile_error!("choose a board feature: board-virt, board-rpi4 or board-imx8mp");

#[cfg(feature = "board-virt")]
pub type Current = qemu_virt::QemuVirt;
#[cfg(feature = "board-rpi4")]
pub type Current = rpi4::RaspberryPi4;
#[cfg(feature = "board-imx8mp")]
pub type Current = imx8mp::Imx8mpEvk;
