//! The end of an X.509 certificate's validity (`notAfter`), read from a PEM certificate a
//! credentials entry carries (the NetSuite M2M certificate, `certificate_pem`), so that
//! credential health knows when it expires without the admin typing the date.
//!
//! A minimal DER walk (RFC 5280 §4.1): Certificate → tbsCertificate → [version] →
//! serialNumber → signature → issuer → validity → notAfter (UTCTime or GeneralizedTime).
//! No crate: x509 parsers are heavy for one date. Anything unexpected gives `None`.

use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};

/// One DER element at the start of `b`: (tag, content, rest).
fn element(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, head) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let content = b.get(head..head.checked_add(len)?)?;
    Some((tag, content, &b[head + len..]))
}

/// `notAfter` of the first certificate in `pem`.
pub fn not_after(pem: &str) -> Option<DateTime<Utc>> {
    let body: String = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)?
        .split("-----END CERTIFICATE-----")
        .next()?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    let (0x30, cert, _) = element(&der)? else {
        return None;
    };
    let (0x30, tbs, _) = element(cert)? else {
        return None;
    };
    let mut rest = tbs;
    let (tag, _, r) = element(rest)?;
    if tag == 0xa0 {
        rest = r; // [0] version
    }
    for want in [0x02, 0x30, 0x30] {
        // serialNumber, signature, issuer
        let (tag, _, r) = element(rest)?;
        if tag != want {
            return None;
        }
        rest = r;
    }
    let (0x30, validity, _) = element(rest)? else {
        return None;
    };
    let (_, _, after) = element(validity)?; // notBefore
    let (tag, time, _) = element(after)?;
    let text = std::str::from_utf8(time).ok()?;
    let t = match tag {
        0x17 => {
            // UTCTime YYMMDDHHMMSSZ: 50–99 → 19xx (RFC 5280 §4.1.2.5.1).
            let yy: i32 = text.get(0..2)?.parse().ok()?;
            let century = if yy >= 50 { "19" } else { "20" };
            NaiveDateTime::parse_from_str(&format!("{century}{text}"), "%Y%m%d%H%M%SZ").ok()?
        }
        0x18 => NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M%SZ").ok()?,
        _ => return None,
    };
    Some(t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed P-256 test certificate (`openssl req -x509 … -days 400`), valid until
    /// 2028-01-10 22:40:55 UTC.
    const CERT: &str = include_str!("cert_test.pem");

    #[test]
    fn reads_not_after_of_a_pem_certificate() {
        assert_eq!(
            not_after(CERT).map(|t| t.to_rfc3339()),
            Some("2028-01-10T22:40:55+00:00".into())
        );
        assert_eq!(
            not_after("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
            None
        );
        assert_eq!(
            not_after("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----"),
            None
        );
    }
}
