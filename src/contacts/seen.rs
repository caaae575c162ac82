//! The row identities a scan has met, kept as 64-bit fingerprints: all that duplicate detection
//! holds per row.
//!
//! A key (the key column's value, or the number in E.164) is hashed with SipHash under keys drawn
//! at random for each scan; the table maps that fingerprint to the line the key was first seen
//! on. An entry is 12 bytes (the fingerprint as two `u32`s, so nothing pads it to 16) and a
//! control byte, in a table of a power of two slots at most 7/8 full: 15 to 30 bytes a row,
//! 27 MiB for a million rows (40 MiB while the table doubles).
//!
//! Two different keys share a fingerprint with a chance of about n²/2⁶⁵ for n rows (3·10⁻⁸ for
//! a million): the later row would then be reported as repeating the earlier one, and the report
//! names both lines. Lines past 4,294,967,295 are remembered as that line.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};

/// Keys seen so far, and the line each was first seen on.
#[derive(Debug, Default)]
pub struct Seen {
    first_lines: HashMap<Fingerprint, u32, BuildHasherDefault<AlreadyHashed>>,
    hasher: RandomState,
}

impl Seen {
    /// Makes room for `keys` keys at once, so the table need not double later (for a while,
    /// both tables would be held).
    pub fn reserve(&mut self, keys: usize) {
        self.first_lines.reserve(keys);
    }

    /// The line `key` was first seen on; `None` when it is new, and then it is remembered as
    /// seen on `line`.
    pub fn first_line(&mut self, key: &str, line: u64) -> Option<u64> {
        let hash = self.hasher.hash_one(key);
        // Split so the entry aligns to 4 bytes: (u64, u32) would be padded to 16.
        let fingerprint = Fingerprint([(hash >> 32) as u32, hash as u32]);
        match self.first_lines.entry(fingerprint) {
            Entry::Occupied(first) => Some(u64::from(*first.get())),
            Entry::Vacant(slot) => {
                slot.insert(u32::try_from(line).unwrap_or(u32::MAX));
                None
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint([u32; 2]);

impl Hash for Fingerprint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64((u64::from(self.0[0]) << 32) | u64::from(self.0[1]));
    }
}

/// The fingerprint is already a hash: the table uses it as it is.
#[derive(Debug, Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, _: &[u8]) {
        unreachable!("a fingerprint hashes as one u64");
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
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
    fn an_entry_takes_twelve_bytes() {
        assert_eq!(size_of::<(Fingerprint, u32)>(), 12);
    }
}
