//! Masking and keyed hashing of personal data (ID numbers, phones) before it reaches a log, the
//! review UI or a quota lookup.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Keeps the first `head` and last `tail` characters and masks the rest with `*`. Values too
/// short to keep both ends are masked entirely, since a partly shown short value leaks most of it.
fn mask_middle(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let masked = chars.len() - head - tail;
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(masked));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Masks an ID number, keeping the first 4 and last 4 characters:
/// `110101199003071234` → `1101**********1234`.
pub fn mask_id_number(id_number: &str) -> String {
    mask_middle(id_number.trim(), 4, 4)
}

/// Masks a phone number, keeping the first 3 and last 4 characters:
/// `13812345678` → `138****5678`.
pub fn mask_phone(phone: &str) -> String {
    mask_middle(phone.trim(), 3, 4)
}

/// Masks a person's name, keeping only the first character: `张三丰` → `张**`.
pub fn mask_name(name: &str) -> String {
    mask_middle(name.trim(), 1, 0)
}

/// Masks an address, keeping the first 6 characters (province and city, as a rule) and
/// replacing the rest with four `*` whatever its length, so the length does not leak either:
/// `重庆市渝北区两路街道1号` → `重庆市渝北区****`.
pub fn mask_address(address: &str) -> String {
    let kept: String = address.trim().chars().take(6).collect();
    format!("{kept}****")
}

/// Keyed hash (HMAC-SHA256, lower-case hex) of an ID number, the lookup key of the buyer's
/// annual quota, so the plain number is never stored. The number is trimmed and upper-cased
/// first because the check character `X` is written both ways.
pub fn hash_id_number(key: &[u8], id_number: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        // HMAC accepts keys of any length; this branch cannot be taken.
        unreachable!("HMAC-SHA256 accepts keys of any length")
    };
    mac.update(id_number.trim().to_uppercase().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_id_numbers_and_phones() {
        assert_eq!(mask_id_number("110101199003071234"), "1101**********1234");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("1234567"), "*******");
        assert_eq!(mask_id_number(""), "");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("A"), "*");
        assert_eq!(mask_address("重庆市渝北区两路街道1号"), "重庆市渝北区****");
        assert_eq!(mask_address("渝北"), "渝北****");
    }

    #[test]
    fn hash_is_keyed_stable_and_case_insensitive() {
        let a = hash_id_number(b"k1", "11010119900307123x");
        assert_eq!(a, hash_id_number(b"k1", " 11010119900307123X "));
        assert_ne!(a, hash_id_number(b"k2", "11010119900307123X"));
        assert_eq!(a.len(), 64);
        // RFC 4231 test case 2 pins the algorithm.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
