//! The data partition in the card's MBR (its sector 0): the entry the
//! image names, of type [`DATA_TYPE`], inside the card. Pure, host-tested.

/// The data partition's type: 0xda, "non-FS data".
pub const DATA_TYPE: u8 = 0xda;

/// A partition, in card blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    pub start: u64,
    pub sectors: u64,
}

/// Why the MBR has no usable data partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MbrError {
    /// The image names no MBR entry 1..4 (what it names).
    BadEntry(u64),
    /// No 55 aa signature in sector 0.
    NoMbr,
    /// The entry is not of type [`DATA_TYPE`] (its type).
    NoDataPartition(u8),
    /// The partition is empty, starts at the MBR, or ends past the card.
    OutsideCard(Partition),
}

/// Partition `number` (1..4) of `mbr`, checked against a card of
/// `card_blocks`.
pub fn data_partition(
    mbr: &[u8; 512],
    number: u64,
    card_blocks: u64,
) -> Result<Partition, MbrError> {
    if !(1..=4).contains(&number) {
        return Err(MbrError::BadEntry(number));
    }
    if mbr[510..512] != [0x55, 0xaa] {
        return Err(MbrError::NoMbr);
    }
    let at = 446 + 16 * (number as usize - 1);
    let e = &mbr[at..at + 16];
    if e[4] != DATA_TYPE {
        return Err(MbrError::NoDataPartition(e[4]));
    }
    let le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
    let p = Partition {
        start: le(&e[8..12]),
        sectors: le(&e[12..16]),
    };
    if p.start == 0 || p.sectors == 0 || p.start + p.sectors > card_blocks {
        return Err(MbrError::OutsideCard(p));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mbr(entries: &[(u8, u32, u32)]) -> [u8; 512] {
        let mut m = [0u8; 512];
        for (i, &(kind, start, sectors)) in entries.iter().enumerate() {
            let e = &mut m[446 + 16 * i..446 + 16 * (i + 1)];
            e[4] = kind;
            e[8..12].copy_from_slice(&start.to_le_bytes());
            e[12..16].copy_from_slice(&sectors.to_le_bytes());
        }
        m[510] = 0x55;
        m[511] = 0xaa;
        m
    }

    #[test]
    fn the_named_data_partition_or_why_not() {
        // As `cargo xtask flash` writes a card: boot, then 1 MiB of data.
        let m = mbr(&[(0x0c, 2048, 131_072), (0xda, 133_120, 2048)]);
        let want = Partition {
            start: 133_120,
            sectors: 2048,
        };
        assert_eq!(data_partition(&m, 2, 262_144), Ok(want));
        // The boot partition is never served, whatever the image says.
        assert_eq!(
            data_partition(&m, 1, 262_144),
            Err(MbrError::NoDataPartition(0x0c))
        );
        assert_eq!(
            data_partition(&m, 3, 262_144),
            Err(MbrError::NoDataPartition(0))
        );
        assert_eq!(data_partition(&m, 0, 262_144), Err(MbrError::BadEntry(0)));
        assert_eq!(data_partition(&m, 5, 262_144), Err(MbrError::BadEntry(5)));
        // A card smaller than the table says.
        assert_eq!(
            data_partition(&m, 2, 135_167),
            Err(MbrError::OutsideCard(want))
        );
        let mut unsigned = m;
        unsigned[511] = 0;
        assert_eq!(data_partition(&unsigned, 2, 262_144), Err(MbrError::NoMbr));
        let empty = mbr(&[(0x0c, 2048, 100), (0xda, 0, 0)]);
        assert!(matches!(
            data_partition(&empty, 2, 262_144),
            Err(MbrError::OutsideCard(_))
        ));
    }
}
