//! Validated value types: each has a `parse` constructor, so a value that exists is well formed.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Why a piece of raw CEB text is not a valid value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Required text is missing or blank.
    #[error("value is required")]
    Empty,
    /// Text longer than the CEB field allows.
    #[error("at most {max} characters allowed, got {actual}")]
    TooLong {
        /// Maximum number of characters.
        max: usize,
        /// Characters present.
        actual: usize,
    },
    /// Fixed-length field of the wrong length.
    #[error("exactly {expected} characters expected, got {actual}")]
    WrongLength {
        /// Required number of characters.
        expected: usize,
        /// Characters present.
        actual: usize,
    },
    /// Characters outside the allowed set.
    #[error("{what}: {detail}")]
    Pattern {
        /// What kind of value was expected.
        what: &'static str,
        /// Which rule was broken.
        detail: &'static str,
    },
    /// Not a plain decimal number.
    #[error("not a decimal number: {0:?}")]
    Decimal(String),
    /// More integer digits than N19,5 allows.
    #[error("at most {max} integer digits allowed")]
    IntegerDigits {
        /// Maximum integer digits.
        max: u32,
    },
    /// More fraction digits than N19,5 allows.
    #[error("at most {max} fraction digits allowed")]
    FractionDigits {
        /// Maximum fraction digits.
        max: u32,
    },
    /// A negative amount where the spec needs zero or more.
    #[error("must not be negative")]
    Negative,
    /// Zero or negative where the spec needs more than zero.
    #[error("must be greater than zero")]
    NotPositive,
    /// A business key (an enterprise code, order, payment, waybill or inventory number) with
    /// leading or trailing whitespace: keys are compared byte for byte across documents, topics
    /// and tables, so a padded key would name another order than its sender meant.
    #[error("a key must not start or end with whitespace")]
    Whitespace,
    /// A control character (NUL, line feed, ...) inside a business key.
    #[error("a key must not contain control characters")]
    Control,
    /// Not a valid timestamp in the given CEB format.
    #[error("not a valid {format} timestamp")]
    Timestamp {
        /// The expected format, e.g. `YYYYMMDDhhmmss`.
        format: &'static str,
    },
}

impl FormatError {
    /// Stable problem code of this error (documented `bg.format.*` codes).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "bg.format.empty",
            Self::TooLong { .. } => "bg.format.too_long",
            Self::WrongLength { .. } => "bg.format.length",
            Self::Pattern { .. } => "bg.format.pattern",
            Self::Decimal(_) => "bg.format.decimal",
            Self::IntegerDigits { .. } => "bg.format.integer_digits",
            Self::FractionDigits { .. } => "bg.format.fraction_digits",
            Self::Negative => "bg.format.negative",
            Self::NotPositive => "bg.format.not_positive",
            Self::Whitespace => "bg.format.whitespace",
            Self::Control => "bg.format.control",
            Self::Timestamp { .. } => "bg.format.timestamp",
        }
    }
}

/// Required text of at most `max` characters, trimmed.
pub fn text(raw: &str, max: usize) -> Result<String, FormatError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(FormatError::Empty);
    }
    let actual = trimmed.chars().count();
    if actual > max {
        return Err(FormatError::TooLong { max, actual });
    }
    Ok(trimmed.to_owned())
}

/// A required business key of at most `max` characters, taken as sent: unlike [`text`], it is
/// never trimmed. Surrounding whitespace and control characters are refused, because the same
/// key travels in the Kafka record key, the envelope and the body, and is compared byte for byte.
pub fn key_text(raw: &str, max: usize) -> Result<String, FormatError> {
    if raw.trim().is_empty() {
        return Err(FormatError::Empty);
    }
    if raw.trim() != raw {
        return Err(FormatError::Whitespace);
    }
    if raw.chars().any(char::is_control) {
        return Err(FormatError::Control);
    }
    let actual = raw.chars().count();
    if actual > max {
        return Err(FormatError::TooLong { max, actual });
    }
    Ok(raw.to_owned())
}

fn fixed_digits(raw: &str, len: usize, what: &'static str) -> Result<String, FormatError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(FormatError::Empty);
    }
    let actual = trimmed.chars().count();
    if actual != len {
        return Err(FormatError::WrongLength {
            expected: len,
            actual,
        });
    }
    if !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FormatError::Pattern {
            what,
            detail: "digits only",
        });
    }
    Ok(trimmed.to_owned())
}

macro_rules! string_newtype_common {
    ($name:ident) => {
        impl $name {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = FormatError;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// An enterprise's customs registration code (C..18: platform, e-commerce, payment, logistics,
/// agent, area codes), ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CustomsCode(String);

impl CustomsCode {
    /// Parses a C..18 alphanumeric code (never trimmed: see [`key_text`]).
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        let code = key_text(raw, 18)?;
        if !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(FormatError::Pattern {
                what: "customs code",
                detail: "ASCII letters and digits only",
            });
        }
        Ok(Self(code))
    }
}
string_newtype_common!(CustomsCode);

/// A 4-digit customs office code (JGS/T 18), used for `customsCode` and `portCode`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CustomsOffice(String);

impl CustomsOffice {
    /// Parses exactly 4 digits.
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        fixed_digits(raw, 4, "customs office").map(Self)
    }
}
string_newtype_common!(CustomsOffice);

/// A platform order number (C..60).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OrderNo(String);

impl OrderNo {
    /// Parses non-blank text of at most 60 characters (never trimmed: see [`key_text`]).
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        key_text(raw, 60).map(Self)
    }
}
string_newtype_common!(OrderNo);

/// The business key of an order: platform code and order number. Its `Display` form
/// `ebpCode/orderNo` is the Kafka message key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OrderKey {
    /// Platform (`ebpCode`).
    pub ebp_code: CustomsCode,
    /// Order number (`orderNo`).
    pub order_no: OrderNo,
}

impl OrderKey {
    /// Builds a key from its parts.
    pub fn new(ebp_code: CustomsCode, order_no: OrderNo) -> Self {
        Self { ebp_code, order_no }
    }

    /// Parses the `ebpCode/orderNo` form. The split is at the first `/`, since a customs code
    /// never contains one but an order number may.
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        let (ebp, order) = raw.split_once('/').ok_or(FormatError::Pattern {
            what: "order key",
            detail: "expected ebpCode/orderNo",
        })?;
        Ok(Self {
            ebp_code: CustomsCode::parse(ebp)?,
            order_no: OrderNo::parse(order)?,
        })
    }
}

impl fmt::Display for OrderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ebp_code, self.order_no)
    }
}

/// A 10-digit HS code (`gcode`): 8-digit tariff line plus 2 supplementary digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HsCode(String);

impl HsCode {
    /// Parses exactly 10 digits.
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        fixed_digits(raw, 10, "HS code").map(Self)
    }

    /// The 8-digit tariff line, the key of the positive list.
    pub fn tariff_line(&self) -> TariffLine {
        TariffLine(self.0[..8].to_owned())
    }

    /// The HS chapter (first two digits), e.g. 33 for cosmetics.
    pub fn chapter(&self) -> u8 {
        self.tariff_line().chapter()
    }
}
string_newtype_common!(HsCode);

/// An 8-digit tariff line (税则号列), the key of the positive list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TariffLine(String);

impl TariffLine {
    /// Parses exactly 8 digits.
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        fixed_digits(raw, 8, "tariff line").map(Self)
    }

    /// The HS chapter (first two digits).
    pub fn chapter(&self) -> u8 {
        // Both bytes are ASCII digits by construction.
        let bytes = self.0.as_bytes();
        (bytes[0] - b'0') * 10 + (bytes[1] - b'0')
    }
}
string_newtype_common!(TariffLine);

/// The kind of document a pre-entry number belongs to; its letter is the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PreNoKind {
    /// `B`: inventory (CEB621).
    Inventory,
    /// `C`: cancellation (CEB623).
    Cancellation,
    /// `T`: return (CEB625).
    Refund,
}

impl PreNoKind {
    /// The prefix letter.
    pub fn letter(self) -> char {
        match self {
            Self::Inventory => 'B',
            Self::Cancellation => 'C',
            Self::Refund => 'T',
        }
    }

    fn from_letter(letter: char) -> Option<Self> {
        match letter {
            'B' => Some(Self::Inventory),
            'C' => Some(Self::Cancellation),
            'T' => Some(Self::Refund),
            _ => None,
        }
    }
}

/// Largest 9-digit sequence number of `preNo` and `invtNo`.
pub const SEQUENCE_MAX: u32 = 999_999_999;

/// An e-port pre-entry number: `B`/`C`/`T` + `YYYYMMDD` + 9 digits (e.g. `B20230807570793612`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PreNo(String);

impl PreNo {
    /// Builds the number from its kind, date and sequence (at most [`SEQUENCE_MAX`]).
    pub fn new(kind: PreNoKind, date: NaiveDate, sequence: u32) -> Result<Self, FormatError> {
        check_sequence(sequence)?;
        Ok(Self(format!(
            "{}{}{sequence:09}",
            kind.letter(),
            date.format("%Y%m%d")
        )))
    }

    /// Parses the 18-character form, checking the prefix and that the date exists.
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        let value = raw.trim();
        let actual = value.chars().count();
        if actual != 18 {
            return Err(FormatError::WrongLength {
                expected: 18,
                actual,
            });
        }
        let bad = FormatError::Pattern {
            what: "preNo",
            detail: "B/C/T + YYYYMMDD + 9 digits",
        };
        value
            .chars()
            .next()
            .and_then(PreNoKind::from_letter)
            .ok_or(bad.clone())?;
        let digits = &value[1..];
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad);
        }
        CebDate::parse(&digits[..8])?;
        Ok(Self(value.to_owned()))
    }

    /// The document kind given by the prefix.
    pub fn kind(&self) -> PreNoKind {
        // Validated in the constructors.
        self.0
            .chars()
            .next()
            .and_then(PreNoKind::from_letter)
            .unwrap_or(PreNoKind::Inventory)
    }
}
string_newtype_common!(PreNo);

/// A customs inventory number: customs office(4) + year(4) + `I` + 9 digits
/// (e.g. `64092023I000722460`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InvtNo(String);

impl InvtNo {
    /// Builds the number from the accepting customs office, year and sequence.
    pub fn new(customs: &CustomsOffice, year: i32, sequence: u32) -> Result<Self, FormatError> {
        check_sequence(sequence)?;
        if !(1000..=9999).contains(&year) {
            return Err(FormatError::Pattern {
                what: "invtNo",
                detail: "year must have 4 digits",
            });
        }
        Ok(Self(format!("{customs}{year}I{sequence:09}")))
    }

    /// Parses the 18-character form (never trimmed: see [`key_text`]).
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        let value = key_text(raw, 18)?;
        let value = value.as_str();
        let actual = value.chars().count();
        if actual != 18 {
            return Err(FormatError::WrongLength {
                expected: 18,
                actual,
            });
        }
        let bytes = value.as_bytes();
        let digits_ok = bytes[..8].iter().chain(&bytes[9..]).all(u8::is_ascii_digit);
        if !digits_ok || bytes[8] != b'I' {
            return Err(FormatError::Pattern {
                what: "invtNo",
                detail: "customs(4) + year(4) + I + 9 digits",
            });
        }
        Ok(Self(value.to_owned()))
    }
}
string_newtype_common!(InvtNo);

fn check_sequence(sequence: u32) -> Result<(), FormatError> {
    if sequence > SEQUENCE_MAX {
        return Err(FormatError::Pattern {
            what: "sequence",
            detail: "at most 9 digits",
        });
    }
    Ok(())
}

/// Maximum integer digits of an N19,5 value.
pub const N19_5_INTEGER_DIGITS_MAX: u32 = 14;
/// Maximum fraction digits of an N19,5 value.
pub const N19_5_FRACTION_DIGITS_MAX: u32 = 5;

/// Parses plain decimal text (`123`, `123.45`, `0.5`): no sign, exponent or grouping, at most
/// 14 integer and 5 fraction digits. A leading `-` is reported as [`FormatError::Negative`].
fn parse_n19_5(raw: &str) -> Result<Decimal, FormatError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FormatError::Empty);
    }
    let unsigned = match value.strip_prefix('-') {
        Some(rest) => {
            parse_unsigned_n19_5(rest)?;
            return Err(FormatError::Negative);
        }
        None => value,
    };
    parse_unsigned_n19_5(unsigned)
}

fn parse_unsigned_n19_5(value: &str) -> Result<Decimal, FormatError> {
    let (integer, fraction) = value.split_once('.').unwrap_or((value, ""));
    let well_formed = !integer.is_empty()
        && integer.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !(value.contains('.') && fraction.is_empty());
    if !well_formed {
        return Err(FormatError::Decimal(value.to_owned()));
    }
    let significant = integer.trim_start_matches('0');
    if significant.len() > N19_5_INTEGER_DIGITS_MAX as usize {
        return Err(FormatError::IntegerDigits {
            max: N19_5_INTEGER_DIGITS_MAX,
        });
    }
    if fraction.len() > N19_5_FRACTION_DIGITS_MAX as usize {
        return Err(FormatError::FractionDigits {
            max: N19_5_FRACTION_DIGITS_MAX,
        });
    }
    Decimal::from_str_exact(value).map_err(|_| FormatError::Decimal(value.to_owned()))
}

/// Checks that a computed decimal fits N19,5 and is not negative.
fn check_n19_5(value: Decimal) -> Result<Decimal, FormatError> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(FormatError::Negative);
    }
    let normalized = value.normalize();
    if normalized.scale() > N19_5_FRACTION_DIGITS_MAX {
        return Err(FormatError::FractionDigits {
            max: N19_5_FRACTION_DIGITS_MAX,
        });
    }
    if normalized.trunc() >= Decimal::from(10_i64.pow(N19_5_INTEGER_DIGITS_MAX)) {
        return Err(FormatError::IntegerDigits {
            max: N19_5_INTEGER_DIGITS_MAX,
        });
    }
    Ok(value)
}

macro_rules! decimal_newtype {
    ($name:ident, $what:literal) => {
        impl $name {
            /// Zero.
            pub const ZERO: Self = Self(Decimal::ZERO);

            #[doc = concat!("Parses ", $what, " text: N19,5, not negative.")]
            pub fn parse(raw: &str) -> Result<Self, FormatError> {
                parse_n19_5(raw).map(Self)
            }

            #[doc = concat!("Checks that a computed value fits ", $what, " (N19,5, not negative).")]
            pub fn new(value: Decimal) -> Result<Self, FormatError> {
                check_n19_5(value).map(Self)
            }

            /// The decimal value.
            pub fn value(self) -> Decimal {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<$name> for Decimal {
            fn from(value: $name) -> Decimal {
                value.0
            }
        }

        impl FromStr for $name {
            type Err = FormatError;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw)
            }
        }
    };
}

/// A CNY money amount: N19,5 (at most 14 integer and 5 fraction digits), never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Amount(Decimal);
decimal_newtype!(Amount, "an amount");

/// A quantity: N19,5, never negative (order lines additionally require it to be positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Quantity(Decimal);
decimal_newtype!(Quantity, "a quantity");

impl Quantity {
    /// Parses a quantity that must be greater than zero.
    pub fn parse_positive(raw: &str) -> Result<Self, FormatError> {
        let quantity = Self::parse(raw)?;
        if quantity.0.is_zero() {
            return Err(FormatError::NotPositive);
        }
        Ok(quantity)
    }
}

const DATE_TIME_FORMAT: &str = "%Y%m%d%H%M%S";
const DATE_FORMAT: &str = "%Y%m%d";

fn ascii_digits_of_len(raw: &str, len: usize) -> bool {
    raw.len() == len && raw.bytes().all(|b| b.is_ascii_digit())
}

/// A CEB `C14` timestamp `YYYYMMDDhhmmss` (e.g. `appTime`, `payTime`), Beijing local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CebDateTime(NaiveDateTime);

impl CebDateTime {
    /// Wraps a local date-time, dropping sub-second precision the format cannot hold.
    pub fn new(at: NaiveDateTime) -> Self {
        Self(at.with_nanosecond_zero())
    }

    /// Parses `YYYYMMDDhhmmss`.
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        let value = raw.trim();
        let error = FormatError::Timestamp {
            format: "YYYYMMDDhhmmss",
        };
        if !ascii_digits_of_len(value, 14) {
            return Err(error);
        }
        NaiveDateTime::parse_from_str(value, DATE_TIME_FORMAT)
            .map(Self)
            .map_err(|_| error)
    }

    /// The date-time.
    pub fn value(self) -> NaiveDateTime {
        self.0
    }
}

impl fmt::Display for CebDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format(DATE_TIME_FORMAT))
    }
}

/// A CEB `C17` receipt timestamp `YYYYMMDDhhmmssSSS` (e.g. `returnTime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CebDateTimeMillis(NaiveDateTime);

impl CebDateTimeMillis {
    /// Wraps a local date-time, truncating to milliseconds.
    pub fn new(at: NaiveDateTime) -> Self {
        let millis = at.and_utc().timestamp_subsec_millis();
        Self(at.with_nanosecond_zero() + chrono::Duration::milliseconds(i64::from(millis)))
    }

    /// Parses `YYYYMMDDhhmmssSSS`.
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        let value = raw.trim();
        let error = FormatError::Timestamp {
            format: "YYYYMMDDhhmmssSSS",
        };
        if !ascii_digits_of_len(value, 17) {
            return Err(error);
        }
        let base = NaiveDateTime::parse_from_str(&value[..14], DATE_TIME_FORMAT)
            .map_err(|_| error.clone())?;
        let millis: i64 = value[14..].parse().map_err(|_| error)?;
        Ok(Self(base + chrono::Duration::milliseconds(millis)))
    }

    /// The date-time.
    pub fn value(self) -> NaiveDateTime {
        self.0
    }
}

impl fmt::Display for CebDateTimeMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.and_utc().timestamp_subsec_millis();
        write!(f, "{}{millis:03}", self.0.format(DATE_TIME_FORMAT))
    }
}

/// A CEB `C8` date `YYYYMMDD` (e.g. `declTime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CebDate(NaiveDate);

impl CebDate {
    /// Wraps a date.
    pub fn new(date: NaiveDate) -> Self {
        Self(date)
    }

    /// Parses `YYYYMMDD`.
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        let value = raw.trim();
        let error = FormatError::Timestamp { format: "YYYYMMDD" };
        if !ascii_digits_of_len(value, 8) {
            return Err(error);
        }
        NaiveDate::parse_from_str(value, DATE_FORMAT)
            .map(Self)
            .map_err(|_| error)
    }

    /// The date.
    pub fn value(self) -> NaiveDate {
        self.0
    }

    /// The calendar year, the period of the annual quota.
    pub fn year(self) -> i32 {
        self.0.year()
    }
}

impl fmt::Display for CebDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format(DATE_FORMAT))
    }
}

trait WithNanosecondZero {
    fn with_nanosecond_zero(self) -> Self;
}

impl WithNanosecondZero for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        // Zero is always a valid nanosecond value, so `with_nanosecond` cannot fail here.
        self.with_nanosecond(0).unwrap_or(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn order_key_displays_and_parses_as_the_kafka_key() {
        let key = OrderKey::parse("1105910159/SO1710301/A").unwrap();
        assert_eq!(key.ebp_code.as_str(), "1105910159");
        assert_eq!(key.order_no.as_str(), "SO1710301/A");
        assert_eq!(key.to_string(), "1105910159/SO1710301/A");
        assert!(OrderKey::parse("no-slash").is_err());
        assert!(OrderKey::parse("bad code!/1").is_err());
    }

    #[test]
    fn hs_code_has_an_8_digit_tariff_line_and_a_chapter() {
        let hs = HsCode::parse("3304990099").unwrap();
        assert_eq!(hs.tariff_line().as_str(), "33049900");
        assert_eq!(hs.chapter(), 33);
        assert!(HsCode::parse("330499009").is_err());
        assert!(HsCode::parse("33049900A9").is_err());
    }

    #[test]
    fn customs_codes_are_short_alphanumeric() {
        assert!(CustomsCode::parse("4403169D3W").is_ok());
        assert_eq!(CustomsCode::parse("").unwrap_err(), FormatError::Empty);
        assert!(CustomsCode::parse("1234567890123456789").is_err());
        assert!(CustomsCode::parse("44-03").is_err());
        assert!(CustomsOffice::parse("6409").is_ok());
        assert!(CustomsOffice::parse("640").is_err());
    }

    #[test]
    fn keys_are_taken_as_sent_and_padding_is_refused() {
        assert_eq!(
            OrderNo::parse(" ORDER1").unwrap_err(),
            FormatError::Whitespace
        );
        assert_eq!(
            OrderNo::parse("ORDER1\t").unwrap_err(),
            FormatError::Whitespace
        );
        assert_eq!(OrderNo::parse("OR\0DER").unwrap_err(), FormatError::Control);
        assert_eq!(
            CustomsCode::parse("4403169D3W ").unwrap_err(),
            FormatError::Whitespace
        );
        assert_eq!(
            InvtNo::parse(" 64092023I000722460").unwrap_err(),
            FormatError::Whitespace
        );
        assert_eq!(OrderNo::parse("  ").unwrap_err(), FormatError::Empty);
        assert_eq!(OrderNo::parse("订单 1").unwrap().as_str(), "订单 1");
        assert_eq!(FormatError::Whitespace.code(), "bg.format.whitespace");
    }

    #[test]
    fn pre_no_round_trips_and_checks_prefix_and_date() {
        let date = NaiveDate::from_ymd_opt(2023, 8, 7).unwrap();
        let pre = PreNo::new(PreNoKind::Inventory, date, 570_793_612).unwrap();
        assert_eq!(pre.as_str(), "B20230807570793612");
        assert_eq!(
            PreNo::parse("C20200629524696153").unwrap().kind(),
            PreNoKind::Cancellation
        );
        assert!(PreNo::parse("X20200629524696153").is_err());
        assert!(PreNo::parse("B20201329524696153").is_err());
        assert!(PreNo::new(PreNoKind::Refund, date, 1_000_000_000).is_err());
    }

    #[test]
    fn invt_no_round_trips() {
        let customs = CustomsOffice::parse("6409").unwrap();
        let invt = InvtNo::new(&customs, 2023, 722_460).unwrap();
        assert_eq!(invt.as_str(), "64092023I000722460");
        assert_eq!(InvtNo::parse("64092023I000722460").unwrap(), invt);
        assert!(InvtNo::parse("64092023X000722460").is_err());
    }

    #[test]
    fn amounts_enforce_n19_5() {
        assert_eq!(Amount::parse("410.00").unwrap().value(), dec!(410.00));
        assert_eq!(
            Amount::parse("99999999999999.99999")
                .unwrap()
                .value()
                .scale(),
            5
        );
        assert_eq!(Amount::parse("-1").unwrap_err(), FormatError::Negative);
        assert!(matches!(
            Amount::parse("100000000000000"),
            Err(FormatError::IntegerDigits { .. })
        ));
        assert!(matches!(
            Amount::parse("1.123456"),
            Err(FormatError::FractionDigits { .. })
        ));
        for bad in ["1e3", "+1", "1.", ".5", "1,000", "abc"] {
            assert!(
                matches!(Amount::parse(bad), Err(FormatError::Decimal(_))),
                "{bad}"
            );
        }
        assert_eq!(
            Quantity::parse_positive("0").unwrap_err(),
            FormatError::NotPositive
        );
        assert!(Amount::new(dec!(1.000001)).is_err());
        assert!(Amount::new(dec!(-0.01)).is_err());
    }

    #[test]
    fn timestamps_parse_and_display_in_their_formats() {
        let at = CebDateTime::parse("20230807164351").unwrap();
        assert_eq!(at.to_string(), "20230807164351");
        assert!(CebDateTime::parse("20230807246000").is_err());
        let ms = CebDateTimeMillis::parse("20230807164352831").unwrap();
        assert_eq!(ms.to_string(), "20230807164352831");
        let date = CebDate::parse("20230807").unwrap();
        assert_eq!((date.to_string().as_str(), date.year()), ("20230807", 2023));
        assert!(CebDate::parse("2023087").is_err());
    }

    proptest! {
        #[test]
        fn n19_5_text_round_trips(int in 0u64..100_000_000_000_000, frac in 0u32..100_000) {
            let text = format!("{int}.{frac:05}");
            let amount = Amount::parse(&text).unwrap();
            prop_assert_eq!(amount.to_string(), text);
        }

        #[test]
        fn pre_no_parse_inverts_new(seq in 0u32..=SEQUENCE_MAX, days in 0i64..20_000) {
            let date = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Duration::days(days);
            let pre = PreNo::new(PreNoKind::Refund, date, seq).unwrap();
            prop_assert_eq!(PreNo::parse(pre.as_str()).unwrap(), pre);
        }
    }
}
