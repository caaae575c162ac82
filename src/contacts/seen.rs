//! The row identities a scan has met, kept as 64-bit fingerprints: all that duplicate detection
//! holds per row.
//!
//! A key (the key column's value, or the number in E.164) is hashed with SipHash under keys drawn
//! at random for each scan; the table maps that fingerprint to the line the key was first seen
//! on. An entry is 12 bytes (the fingerprint as two `u32`s, so nothing pads it to 16), in open
//! tables probed in order, each kept at most 4/5 full (not to a power of two): 16 bytes a row, 15
//! MiB for a million rows, when the scan's estimate of its rows holds. (A `HashMap` of the same
//! entries took 27 MiB: a control byte more an entry, and at a million rows a table of 2²¹ slots.)
//!
//! The table is 64 parts, chosen by a fingerprint's top bits, each sized and grown on its own: a
//! part being rebuilt holds its old and new slots for a moment, a 64th of the whole, so the table
//! can grow as the scan's estimate of its rows changes without ever holding two copies of itself.
//!
//! Two different keys share a fingerprint with a chance of about n²/2⁶⁵ for n rows (3·10⁻⁸ for
//! a million): the later row would then be reported as repeating the earlier one, and the report
//! names both lines. Lines past 4,294,967,295 are remembered as that line.

use std::hash::{BuildHasher, RandomState};

/// The fingerprint's top bits that choose its part of the table.
const PART_BITS: u32 = 6;

/// Parts of the table.
const PARTS: usize = 1 << PART_BITS;

/// The fewest slots a part starts with.
const MIN_SLOTS: usize = 64;

/// Keys seen so far, and the line each was first seen on.
#[derive(Debug)]
pub struct Seen {
    parts: Vec<Part>,
    hasher: RandomState,
}

impl Default for Seen {
    fn default() -> Seen {
        Seen {
            parts: (0..PARTS).map(|_| Part::default()).collect(),
            hasher: RandomState::new(),
        }
    }
}

/// One part: an open table probed in order.
#[derive(Debug, Default)]
struct Part {
    slots: Vec<Slot>,
    len: usize,
}

/// A fingerprint (never 0) and its first line; all zeros is an empty slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Slot([u32; 3]);

impl Slot {
    fn new(hash: u64, line: u32) -> Slot {
        let [high, low] = fingerprint(hash);
        Slot([high, low, line])
    }

    fn fingerprint(self) -> [u32; 2] {
        [self.0[0], self.0[1]]
    }

    fn hash(self) -> u64 {
        let [high, low] = self.fingerprint();
        (u64::from(high) << 32) | u64::from(low)
    }
}

/// A hash as a slot keeps it: two `u32`s, so that nothing pads a slot to 16 bytes.
fn fingerprint(hash: u64) -> [u32; 2] {
    [(hash >> 32) as u32, hash as u32]
}

impl Seen {
    /// Makes room for about `keys` keys in all. `keys` is an estimate, made again as a scan goes
    /// on: a part is rebuilt only when its share of `keys` would fill it past 4/5, and then with
    /// a sixteenth to spare, so that estimates a little apart do not rebuild it each time.
    pub fn reserve(&mut self, keys: usize) {
        let needed = keys.div_ceil(PARTS).saturating_mul(5) / 4;
        for part in &mut self.parts {
            if needed > part.slots.len() {
                part.rebuild(needed / 16 * 17);
            }
        }
    }

    /// The line `key` was first seen on, or `None` when it is new (and is now remembered as
    /// first seen on `line`).
    pub fn first_line(&mut self, key: &str, line: u64) -> Option<u64> {
        let hash = self.hasher.hash_one(key).max(1);
        let part = &mut self.parts[(hash >> (64 - PART_BITS)) as usize];
        if (part.len + 1) * 5 > part.slots.len() * 4 {
            part.rebuild((part.slots.len() * 3 / 2).max(MIN_SLOTS));
        }
        let line = u32::try_from(line).unwrap_or(u32::MAX);
        match part.find(hash) {
            Ok(first) => Some(u64::from(first)),
            Err(empty) => {
                part.slots[empty] = Slot::new(hash, line);
                part.len += 1;
                None
            }
        }
    }

    /// How many keys it holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len).sum()
    }

    /// How many slots it holds.
    #[cfg(test)]
    fn slots(&self) -> usize {
        self.parts.iter().map(|p| p.slots.len()).sum()
    }
}

impl Part {
    /// The first line of fingerprint `hash`, or the empty slot where it goes.
    fn find(&self, hash: u64) -> Result<u32, usize> {
        let fingerprint = fingerprint(hash);
        let n = self.slots.len();
        // The hash below the bits that chose the part, scaled onto it: no power of two needed.
        let mut i = ((u128::from(hash << PART_BITS) * n as u128) >> 64) as usize;
        loop {
            let slot = self.slots[i];
            if slot == Slot::default() {
                return Err(i);
            }
            if slot.fingerprint() == fingerprint {
                return Ok(slot.0[2]);
            }
            i = if i + 1 == n { 0 } else { i + 1 };
        }
    }

    /// Moves every entry into a table of `slots` slots.
    fn rebuild(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); slots]);
        for slot in old.into_iter().filter(|s| *s != Slot::default()) {
            if let Err(empty) = self.find(slot.hash()) {
                self.slots[empty] = slot;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_new_once_and_then_names_its_first_line() {
        let mut seen = Seen::default();
        assert_eq!(seen.first_line("A-1", 2), None);
        assert_eq!(seen.first_line("A-2", 3), None);
        assert_eq!(seen.first_line("A-1", 7), Some(2));
        assert_eq!(seen.first_line("A-1", 9), Some(2));
        assert_eq!(seen.first_line("+14155550101", u64::MAX), None);
        assert_eq!(
            seen.first_line("+14155550101", 10),
            Some(u64::from(u32::MAX))
        );
    }

    #[test]
    fn a_reservation_sizes_every_part_and_is_not_redone_for_a_close_estimate() {
        let mut seen = Seen::default();
        seen.reserve(1_000_000);
        let slots = seen.slots();
        assert!((1_300_000..1_350_000).contains(&slots), "{slots}");
        seen.reserve(1_050_000);
        assert_eq!(seen.slots(), slots, "within a sixteenth: not rebuilt");
        seen.reserve(1_100_000);
        assert!(seen.slots() > slots);
    }

    #[test]
    fn an_entry_takes_twelve_bytes() {
        assert_eq!(size_of::<Slot>(), 12);
    }

    #[test]
    fn many_keys_keep_their_first_lines_across_growth_and_reservation() {
        for reserved in [0, 50_000, 200_000] {
            let mut seen = Seen::default();
            seen.reserve(reserved);
            for i in 0..100_000u64 {
                assert_eq!(seen.first_line(&format!("K{i}"), i + 2), None, "K{i}");
            }
            for i in (0..100_000u64).step_by(7) {
                assert_eq!(seen.first_line(&format!("K{i}"), 999_999), Some(i + 2));
            }
            assert_eq!(seen.len(), 100_000);
            for part in &seen.parts {
                assert!(part.slots.len() * 4 >= part.len * 5, "at most 4/5 full");
            }
        }
    }
}
