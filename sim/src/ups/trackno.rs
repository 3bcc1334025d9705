//! 1Z tracking numbers: `1Z` + 6-char shipper number + 2-char service + 7 digits + check
//! digit (18 characters, uppercase). UPS-REFERENCE §11.
//!
//! Check digit over the 15 characters after `1Z`: digits as-is, letters `(ASCII − 63) mod 10`;
//! sum of odd positions + 2 × sum of even positions; check = `(10 − sum mod 10) mod 10`.

use std::sync::atomic::{AtomicU64, Ordering};

fn char_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some((u32::from(c) - 63) % 10),
        _ => None,
    }
}

/// The check digit for the 15 characters after `1Z` (None when a character is not `0-9A-Z`).
pub fn check_digit(body15: &str) -> Option<u8> {
    let b = body15.as_bytes();
    if b.len() != 15 {
        return None;
    }
    let mut sum = 0u32;
    for (i, c) in b.iter().enumerate() {
        let v = char_value(*c)?;
        // positions are 1-based: odd positions count once, even positions twice
        sum += if i % 2 == 0 { v } else { 2 * v };
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// True when `n` is an 18-character uppercase `1Z…` number whose last digit checks.
pub fn check_digit_valid(n: &str) -> bool {
    if n.len() != 18 || !n.starts_with("1Z") {
        return false;
    }
    let last = n.as_bytes()[17];
    if !last.is_ascii_digit() {
        return false;
    }
    check_digit(&n[2..17]) == Some(last - b'0')
}

/// Generates unique, valid 1Z numbers for one simulator instance.
#[derive(Debug)]
pub struct Generator {
    next: AtomicU64,
}

impl Generator {
    /// `start` picks where the 7-digit serial begins (spawn uses a random start so two
    /// simulator runs rarely reuse numbers).
    pub fn new(start: u64) -> Generator {
        Generator {
            next: AtomicU64::new(start % 10_000_000),
        }
    }

    /// A new number for `shipper` (6 chars, uppercased, padded/truncated) and `service`
    /// (2 chars, e.g. `03`).
    pub fn next(&self, shipper: &str, service: &str) -> String {
        let serial = self.next.fetch_add(1, Ordering::Relaxed) % 10_000_000;
        make(shipper, service, serial)
    }
}

/// Build the 1Z number for a shipper, service and 7-digit serial.
pub fn make(shipper: &str, service: &str, serial: u64) -> String {
    let mut shipper: String = shipper
        .to_ascii_uppercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(6)
        .collect();
    while shipper.len() < 6 {
        shipper.push('0');
    }
    let mut service: String = service
        .to_ascii_uppercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(2)
        .collect();
    while service.len() < 2 {
        service.insert(0, '0');
    }
    let body = format!("{shipper}{service}{:07}", serial % 10_000_000);
    let check = check_digit(&body).expect("body is 15 alphanumeric chars");
    format!("1Z{body}{check}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers_verify() {
        assert!(check_digit_valid("1Z999AA10123456784"));
        assert!(check_digit_valid("1ZCIETST0111111114"));
        assert!(check_digit_valid("1ZCIETST0422222228"));
        assert!(check_digit_valid("1Z123X560300000018"));
        assert!(check_digit_valid("1Z123X560100000030"));
        assert!(check_digit_valid("1Z123X560100000049"));
    }

    #[test]
    fn wrong_digit_or_shape_fails() {
        assert!(!check_digit_valid("1Z999AA10123456785"));
        assert!(!check_digit_valid("1Z999AA1012345678"));
        assert!(!check_digit_valid("1z999AA10123456784"));
        assert!(!check_digit_valid("1Z999AA1012345678X"));
        assert!(!check_digit_valid("1Z999aa10123456784"));
    }

    #[test]
    fn generator_makes_valid_unique_numbers() {
        let g = Generator::new(9_999_998);
        let a = g.next("123X56", "03");
        let b = g.next("123X56", "03");
        let c = g.next("123x56", "3");
        assert_ne!(a, b);
        for n in [&a, &b, &c] {
            assert_eq!(n.len(), 18);
            assert!(n.starts_with("1Z123X5603"), "{n}");
            assert!(check_digit_valid(n), "{n}");
        }
        assert_eq!(make("123X56", "03", 1), "1Z123X560300000018");
    }
}
