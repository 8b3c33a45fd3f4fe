//! Identifiers and deterministic hashing for the generated tenant.
//!
//! Keka ids are lowercase hyphenated GUIDs. [`Guid`] formats a random `u128` that way (with
//! the version-4 and variant bits set so it looks like a real `Guid.NewGuid()`), which avoids
//! a UUID dependency. [`mix`] derives stable pseudo-random numbers from a key, for data that
//! is computed on the fly (attendance) instead of being stored.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Serialize, Serializer};

/// A GUID, displayed as `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx` in lowercase.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(u128);

impl Guid {
    /// Draws a version-4-looking GUID from `rng`.
    pub fn random<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::from_bits(rng.random::<u128>())
    }

    /// A version-4-looking GUID whose random bits come from `bits`.
    pub fn from_bits(bits: u128) -> Self {
        const VERSION_MASK: u128 = 0xf << 76;
        const VARIANT_MASK: u128 = 0x3 << 62;
        Self((bits & !VERSION_MASK & !VARIANT_MASK) | (0x4 << 76) | (0x2 << 62))
    }

    /// The GUID as a key for [`mix`] and [`unit`]: values derived from a record's id, not drawn from the tenant's
    /// generator, leave every other generated value as it was.
    pub(crate) fn key(self) -> [u64; 2] {
        [(self.0 >> 64) as u64, self.0 as u64]
    }

    /// A GUID derived from a key, stable across runs (used for on-the-fly rows).
    pub fn derived(key: &[u64]) -> Self {
        let high = mix(key, 0x9e37_79b9);
        let low = mix(key, 0x7f4a_7c15);
        Self::from_bits((u128::from(high) << 64) | u128::from(low))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            (v >> 96) as u32,
            (v >> 80) as u16,
            (v >> 64) as u16,
            (v >> 48) as u16,
            v & 0xffff_ffff_ffff
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Guid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Error for a string that is not a GUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAGuid;

impl FromStr for Guid {
    type Err = NotAGuid;

    /// Accepts the hyphenated form (any case, optionally in braces) and the 32-digit form.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let s = s.strip_prefix('{').and_then(|inner| inner.strip_suffix('}')).unwrap_or(s);
        let hex: String = match s.len() {
            36 => {
                let bytes = s.as_bytes();
                if [8, 13, 18, 23].iter().any(|&i| bytes[i] != b'-') {
                    return Err(NotAGuid);
                }
                s.chars().filter(|c| *c != '-').collect()
            }
            32 => s.to_owned(),
            _ => return Err(NotAGuid),
        };
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(NotAGuid);
        }
        u128::from_str_radix(&hex, 16).map(Guid).map_err(|_| NotAGuid)
    }
}

/// SplitMix64 finaliser: a cheap, well-distributed 64-bit mixing function.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes a key (e.g. `[seed, employee, day]`) and a salt into a pseudo-random `u64`.
pub(crate) fn mix(key: &[u64], salt: u64) -> u64 {
    key.iter().fold(splitmix(salt), |acc, &k| splitmix(acc ^ splitmix(k)))
}

/// A uniform float in `[0, 1)` from a key and salt.
pub(crate) fn unit(key: &[u64], salt: u64) -> f64 {
    // 53 random bits fill an f64 mantissa exactly.
    (mix(key, salt) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn formats_and_parses_round_trip() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            let g = Guid::random(&mut rng);
            let s = g.to_string();
            assert_eq!(s.len(), 36);
            assert_eq!(&s[14..15], "4", "version nibble in {s}");
            assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"), "variant in {s}");
            assert_eq!(s, s.to_lowercase());
            assert_eq!(s.parse::<Guid>(), Ok(g));
            assert_eq!(s.to_uppercase().parse::<Guid>(), Ok(g));
            assert_eq!(format!("{{{s}}}").parse::<Guid>(), Ok(g));
        }
        assert!("not-a-guid".parse::<Guid>().is_err());
        assert!("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz".parse::<Guid>().is_err());
    }

    #[test]
    fn derived_is_stable_and_key_sensitive() {
        assert_eq!(Guid::derived(&[1, 2, 3]), Guid::derived(&[1, 2, 3]));
        assert_ne!(Guid::derived(&[1, 2, 3]), Guid::derived(&[1, 2, 4]));
        let u = unit(&[5, 6], 7);
        assert!((0.0..1.0).contains(&u));
    }
}
