//! Wire helpers shared by the builders and parsers: UPS's one-or-many lists, string
//! scalars, money and dates, and the 1Z tracking-number check digit.
//!
//! UPS (UPS-REFERENCE §0) sends every PascalCase scalar as a JSON string and sends a bare
//! object where the schema declares an array when the list has one item (legacy
//! versions, and sometimes current ones). Everything here is pure; no I/O.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::str::FromStr;

/// A list field as UPS sends it: a bare item or an array. Always read through [`one_or_many`].
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}

impl<T> From<OneOrMany<T>> for Vec<T> {
    fn from(v: OneOrMany<T>) -> Vec<T> {
        v.into_vec()
    }
}

/// `#[serde(default, deserialize_with = "one_or_many")]` for `Vec<T>` fields: accepts a bare
/// item, an array or `null`.
pub fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let v = Option::<OneOrMany<T>>::deserialize(d)?;
    Ok(v.map(OneOrMany::into_vec).unwrap_or_default())
}

/// A scalar UPS should send as a string but may send as a number: read either as `String`
/// (`null` → `""`; a number, boolean, object or array → its JSON text).
pub fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    lenient_cow(d).map(Cow::into_owned)
}

/// [`lenient_string`] borrowing from the input where it can (a string without escapes, read
/// from bytes or from a `&Value`): a label's base64 is decoded from the answer's own bytes,
/// never copied first.
pub fn lenient_cow<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
    d.deserialize_any(LenientVisitor)
}

struct LenientVisitor;

impl<'de> Visitor<'de> for LenientVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string (or a number)")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // As `serde_json::Value`'s text of the number (what this read before).
        Ok(Cow::Owned(serde_json::Value::from(v).to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(""))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(""))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        lenient_cow(d)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(a))?;
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(a))?;
        Ok(Cow::Owned(v.to_string()))
    }
}

/// Parse a UPS money string (`"13.58"`) as a decimal. Never goes through a float.
pub fn parse_money(s: &str) -> Option<Decimal> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    Decimal::from_str(t).ok()
}

/// Money as UPS wants it: a string with exactly two decimals.
pub fn money_str(d: Decimal) -> String {
    let r = d.round_dp(2);
    format!("{r:.2}")
}

/// A decimal as a short UPS string: trailing zeros removed (`5.50` → `"5.5"`, `5.0` → `"5"`).
pub fn decimal_str(d: Decimal) -> String {
    d.normalize().to_string()
}

/// UPS date `YYYYMMDD`.
pub fn ups_date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// Parse UPS `YYYYMMDD`.
pub fn parse_ups_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y%m%d").ok()
}

/// The 1Z check digit over the 15 characters after `1Z` (UPS-REFERENCE §11): digits as
/// is, letters `(ASCII − 63) mod 10`; odd positions summed, even positions doubled;
/// check = `(10 − sum mod 10) mod 10`.
pub fn one_z_check_digit(body15: &str) -> Option<u32> {
    if body15.len() != 15 {
        return None;
    }
    let mut sum = 0u32;
    for (i, c) in body15.chars().enumerate() {
        let v = if c.is_ascii_digit() {
            c.to_digit(10)?
        } else if c.is_ascii_uppercase() {
            (c as u32 - 63) % 10
        } else {
            return None;
        };
        // Positions are 1-based: index 0 is position 1 (odd).
        sum += if i % 2 == 1 { 2 * v } else { v };
    }
    Some((10 - sum % 10) % 10)
}

/// True when `s` is an 18-character 1Z number whose check digit verifies.
pub fn is_valid_1z(s: &str) -> bool {
    if s.len() != 18 || !s.starts_with("1Z") || !s.is_ascii() {
        return false;
    }
    let body = &s[2..17];
    let last = s.as_bytes()[17] as char;
    match (one_z_check_digit(body), last.to_digit(10)) {
        (Some(c), Some(l)) => c == l,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Holder {
        #[serde(default, deserialize_with = "one_or_many")]
        items: Vec<u32>,
    }

    #[test]
    fn one_or_many_accepts_object_array_null_and_absent() {
        let h: Holder = serde_json::from_str(r#"{"items": 3}"#).unwrap();
        assert_eq!(h.items, vec![3]);
        let h: Holder = serde_json::from_str(r#"{"items": [1,2]}"#).unwrap();
        assert_eq!(h.items, vec![1, 2]);
        let h: Holder = serde_json::from_str(r#"{"items": null}"#).unwrap();
        assert!(h.items.is_empty());
        let h: Holder = serde_json::from_str(r#"{}"#).unwrap();
        assert!(h.items.is_empty());
    }

    #[derive(Deserialize)]
    struct Lenient<'a> {
        #[serde(default, deserialize_with = "lenient_string")]
        a: String,
        #[serde(borrow, default, deserialize_with = "lenient_cow")]
        b: Cow<'a, str>,
    }

    /// Guards the lenient scalar reader: strings, numbers, booleans, null and absent read as
    /// before (a number's JSON text), and a plain string is borrowed from the bytes.
    #[test]
    fn lenient_scalars_read_every_shape() {
        let l: Lenient = serde_json::from_str(r#"{"a": 5, "b": "QUJD"}"#).unwrap();
        assert_eq!(l.a, "5");
        assert!(matches!(l.b, Cow::Borrowed("QUJD")));
        let l: Lenient = serde_json::from_str(r#"{"a": 2.5, "b": "x\ny"}"#).unwrap();
        assert_eq!(l.a, "2.5");
        assert_eq!(l.b, "x\ny");
        let l: Lenient = serde_json::from_str(r#"{"a": null, "b": true}"#).unwrap();
        assert_eq!(l.a, "");
        assert_eq!(l.b, "true");
        let l: Lenient = serde_json::from_str(r#"{"a": {"k": [1]}}"#).unwrap();
        assert_eq!(l.a, r#"{"k":[1]}"#);
        assert_eq!(l.b, "");
        let v = serde_json::json!({"a": -3, "b": "QUJD"});
        let l = Lenient::deserialize(&v).unwrap();
        assert_eq!(l.a, "-3");
        assert!(matches!(l.b, Cow::Borrowed("QUJD")));
    }

    #[test]
    fn money_is_decimal_and_two_places() {
        assert_eq!(parse_money("13.58"), Some(Decimal::new(1358, 2)));
        assert_eq!(parse_money(""), None);
        assert_eq!(money_str(Decimal::new(100, 0)), "100.00");
        assert_eq!(money_str(Decimal::new(49_505, 3)), "49.50");
        assert_eq!(decimal_str(Decimal::new(550, 2)), "5.5");
        assert_eq!(decimal_str(Decimal::new(50, 1)), "5");
    }

    #[test]
    fn one_z_check_digits_verify() {
        assert!(is_valid_1z("1Z999AA10123456784"));
        assert!(is_valid_1z("1ZCIETST0111111114"));
        assert!(is_valid_1z("1ZCIETST0422222228"));
        assert!(!is_valid_1z("1Z999AA10123456785"));
        assert!(!is_valid_1z("1Z999AA1012345678"));
        assert!(!is_valid_1z("2Z999AA10123456784"));
    }
}
