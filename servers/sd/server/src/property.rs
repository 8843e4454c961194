//! The Raspberry Pi firmware's property interface (the VideoCore
//! mailbox's channel 8), the one call the SD server makes: GET_CLOCK_RATE
//! (tag 0x0003_0002) for the clock feeding its SDHCI controller. A message
//! is a buffer of 32-bit words, 16-byte aligned, that the firmware reads
//! and answers in place: total size, request/response code, then tags
//! (id, value buffer size, request/response code, value words), then an
//! end tag 0. Building and checking a message are pure functions, tested
//! on the host; `mailbox` moves it.

/// GET_CLOCK_RATE: value = clock id, answered with clock id and rate (Hz).
pub const GET_CLOCK_RATE: u32 = 0x0003_0002;
/// The firmware's clock ids of the two SD host controllers.
pub const CLOCK_EMMC: u32 = 1;
pub const CLOCK_EMMC2: u32 = 12;
/// Words in a GET_CLOCK_RATE message.
pub const WORDS: usize = 8;

/// The buffer's request code, and the firmware's answers to it.
const REQUEST: u32 = 0;
const ANSWERED: u32 = 0x8000_0000;
const PARSE_ERROR: u32 = 0x8000_0001;
/// A tag's request/response word: bit 31 set once answered, the value
/// length in the rest.
const TAG_ANSWERED: u32 = 1 << 31;

/// Why the firmware's answer gives no clock rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropertyError {
    /// The buffer was not marked answered (its code word).
    NotAnswered(u32),
    /// The firmware could not parse the request.
    Refused,
    /// The tag was not answered, or with fewer than 8 bytes.
    TagNotAnswered(u32),
    /// The answer is for another clock (the id it names).
    WrongClock(u32),
    /// The clock is off or unknown to the firmware (rate 0).
    ZeroRate,
}

/// The message asking the rate of firmware clock `clock`.
pub fn clock_rate_request(clock: u32) -> [u32; WORDS] {
    [
        (WORDS * 4) as u32,
        REQUEST,
        GET_CLOCK_RATE,
        8,
        REQUEST,
        clock,
        0,
        0,
    ]
}

/// The rate in Hz the firmware answered in `m` for `clock`.
pub fn clock_rate_answer(m: &[u32; WORDS], clock: u32) -> Result<u32, PropertyError> {
    match m[1] {
        ANSWERED => {}
        PARSE_ERROR => return Err(PropertyError::Refused),
        other => return Err(PropertyError::NotAnswered(other)),
    }
    if m[4] & TAG_ANSWERED == 0 || m[4] & !TAG_ANSWERED < 8 {
        return Err(PropertyError::TagNotAnswered(m[4]));
    }
    if m[5] != clock {
        return Err(PropertyError::WrongClock(m[5]));
    }
    match m[6] {
        0 => Err(PropertyError::ZeroRate),
        hz => Ok(hz),
    }
}

/// The firmware clock feeding the BCM2711 SDHCI controller whose
/// registers are at physical address `pa` (the page `device:sdhci`
/// granted): EMMC2 (the Pi 4's card slot) or the Arasan SDHCI (EMMC,
/// where QEMU `raspi4b` puts its card); `None` for any other.
pub fn clock_of_controller(pa: u64) -> Option<u32> {
    match pa {
        0xfe34_0000 => Some(CLOCK_EMMC2),
        0xfe30_0000 => Some(CLOCK_EMMC),
        _ => None,
    }
}

/// The controller's base clock in Hz: the firmware's rate when it was
/// asked and answered (it set the clock up; Linux too takes EMMC2's rate
/// from the clock tree, not from the controller), else the Capabilities
/// register's base clock field (`capabilities_mhz`, 0: not given), else
/// none.
pub fn base_clock(firmware_hz: Option<u32>, capabilities_mhz: u32) -> Option<u32> {
    match (firmware_hz, capabilities_mhz) {
        (Some(hz), _) => Some(hz),
        (None, 0) => None,
        (None, mhz) => mhz.checked_mul(1_000_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the firmware leaves in the buffer for a rate of `hz`.
    fn answered(clock: u32, hz: u32) -> [u32; WORDS] {
        let mut m = clock_rate_request(clock);
        m[1] = ANSWERED;
        m[4] = TAG_ANSWERED | 8;
        m[6] = hz;
        m
    }

    #[test]
    fn the_request_is_one_tag_and_an_end_tag() {
        let m = clock_rate_request(CLOCK_EMMC2);
        assert_eq!(m, [32, 0, 0x0003_0002, 8, 0, 12, 0, 0]);
    }

    #[test]
    fn answers_are_checked() {
        assert_eq!(
            clock_rate_answer(&answered(1, 50_000_000), 1),
            Ok(50_000_000)
        );
        let unanswered = clock_rate_request(1);
        assert_eq!(
            clock_rate_answer(&unanswered, 1),
            Err(PropertyError::NotAnswered(0))
        );
        let mut refused = answered(1, 5);
        refused[1] = PARSE_ERROR;
        assert_eq!(clock_rate_answer(&refused, 1), Err(PropertyError::Refused));
        let mut tag = answered(1, 5);
        tag[4] = 8;
        assert_eq!(
            clock_rate_answer(&tag, 1),
            Err(PropertyError::TagNotAnswered(8))
        );
        tag[4] = TAG_ANSWERED | 4;
        assert!(matches!(
            clock_rate_answer(&tag, 1),
            Err(PropertyError::TagNotAnswered(_))
        ));
        assert_eq!(
            clock_rate_answer(&answered(12, 5), 1),
            Err(PropertyError::WrongClock(12))
        );
        assert_eq!(
            clock_rate_answer(&answered(1, 0), 1),
            Err(PropertyError::ZeroRate)
        );
    }

    #[test]
    fn the_firmware_first_then_the_capabilities_never_a_guess() {
        assert_eq!(base_clock(Some(50_000_000), 52), Some(50_000_000));
        assert_eq!(base_clock(Some(100_000_000), 0), Some(100_000_000));
        assert_eq!(base_clock(None, 52), Some(52_000_000));
        assert_eq!(base_clock(None, 0), None);
    }

    #[test]
    fn controllers_and_their_clocks() {
        assert_eq!(clock_of_controller(0xfe34_0000), Some(CLOCK_EMMC2));
        assert_eq!(clock_of_controller(0xfe30_0000), Some(CLOCK_EMMC));
        assert_eq!(clock_of_controller(0xfe20_2000), None);
    }
}
