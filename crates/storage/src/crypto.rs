//! Encryption at rest of personal data (ID numbers, phones, names) inside stored documents.
//!
//! Documents are stored as AES-256-GCM ciphertexts: `nonce (12 bytes) || ciphertext || tag`.
//! The key comes from configuration (`BONDGATE__SECURITY__DATA_KEY_HEX`, 64 hex digits); a
//! fresh random nonce per value means equal documents give different ciphertexts, so the table
//! reveals nothing; duplicates are recognised by a SHA-256 digest of the plaintext instead.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Nonce};
use sha2::{Digest, Sha256};

const NONCE_BYTES: usize = 12;
/// What sealing adds to a value: the nonce and the 16-byte GCM tag.
pub const SEAL_OVERHEAD_BYTES: usize = NONCE_BYTES + 16;

/// Errors of the at-rest cipher.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The key is not 32 bytes of hex.
    #[error("the data key must be 64 hex digits (32 bytes)")]
    BadKey,
    /// A stored value was tampered with, truncated, or sealed with another key.
    #[error("stored value cannot be decrypted (wrong key or tampered)")]
    Undecryptable,
}

/// Seals and opens stored documents.
#[derive(Clone)]
pub struct PayloadCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for PayloadCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PayloadCipher(..)")
    }
}

impl PayloadCipher {
    /// A cipher from a 64-hex-digit key.
    pub fn from_hex(key_hex: &str) -> Result<Self, CryptoError> {
        let key = hex::decode(key_hex.trim()).map_err(|_| CryptoError::BadKey)?;
        let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| CryptoError::BadKey)?;
        Ok(Self { cipher })
    }

    /// Encrypts `plaintext` under a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
        let ciphertext = self
            .cipher
            .encrypt(&Nonce::<Aes256Gcm>::from(nonce_bytes), plaintext)
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut sealed = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        sealed.extend_from_slice(&nonce_bytes);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Decrypts a value made by [`PayloadCipher::seal`].
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_BYTES {
            return Err(CryptoError::Undecryptable);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let nonce = Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| CryptoError::Undecryptable)?;
        self.cipher
            .decrypt(&nonce, ciphertext)
            .map_err(|_| CryptoError::Undecryptable)
    }
}

/// SHA-256 of a document's plaintext: tells a duplicate from a changed resubmission.
pub fn digest(plaintext: &[u8]) -> [u8; 32] {
    Sha256::digest(plaintext).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn seal_then_open_round_trips_and_hides_the_plaintext() {
        let cipher = PayloadCipher::from_hex(KEY).unwrap();
        let secret = b"110101199003071234";
        let sealed = cipher.seal(secret);
        assert!(!sealed.windows(secret.len()).any(|w| w == secret));
        assert_ne!(sealed, cipher.seal(secret), "nonces must differ");
        assert_eq!(cipher.open(&sealed).unwrap(), secret);
    }

    #[test]
    fn tampering_and_wrong_keys_are_detected() {
        let cipher = PayloadCipher::from_hex(KEY).unwrap();
        let mut sealed = cipher.seal(b"13812345678");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(cipher.open(&sealed).is_err());
        let other = PayloadCipher::from_hex(&"ab".repeat(32)).unwrap();
        assert!(other.open(&cipher.seal(b"x")).is_err());
        assert!(PayloadCipher::from_hex("abcd").is_err());
    }

    #[test]
    fn values_sealed_by_any_aes_256_gcm_open() {
        // Test case 14 of the GCM specification (McGrew and Viega): zero key, zero nonce, 16 zero
        // bytes. Values stored under an older release of the cipher crate open the same way.
        let cipher = PayloadCipher::from_hex(&"00".repeat(32)).unwrap();
        let sealed = hex::decode(concat!(
            "000000000000000000000000",
            "cea7403d4d606b6e074ec5d3baf39d18",
            "d0d1c8a799996bf0265b98b5d48ab919"
        ))
        .unwrap();
        assert_eq!(cipher.open(&sealed).unwrap(), [0u8; 16]);
        assert!(cipher.open(&sealed[..NONCE_BYTES - 1]).is_err());
    }
}

/// Keys protecting personal data (`[security]`, env `BONDGATE__SECURITY__*`).
///
/// The defaults are public development keys so that the demo runs out of the box; a service
/// started with them logs a warning. Production sets both from a secret store.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// AES-256-GCM key of stored documents, 64 hex digits.
    pub data_key_hex: String,
    /// HMAC-SHA256 key of buyer ID-number hashes (quota lookups, search), 64 hex digits.
    pub buyer_hash_key_hex: String,
}

/// The development data key (never use in production).
pub const DEV_DATA_KEY_HEX: &str =
    "6465762d6f6e6c792d646174612d6b65792d626f6e64676174652d3030303030";
/// The development buyer-hash key (never use in production).
pub const DEV_BUYER_HASH_KEY_HEX: &str =
    "6465762d6f6e6c792d62757965722d686173682d6b65792d626f6e6467617465";

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            data_key_hex: DEV_DATA_KEY_HEX.to_owned(),
            buyer_hash_key_hex: DEV_BUYER_HASH_KEY_HEX.to_owned(),
        }
    }
}

impl std::fmt::Debug for SecurityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecurityConfig(keys redacted)")
    }
}

impl SecurityConfig {
    /// True when a development key is in use.
    pub fn uses_dev_keys(&self) -> bool {
        self.data_key_hex == DEV_DATA_KEY_HEX || self.buyer_hash_key_hex == DEV_BUYER_HASH_KEY_HEX
    }

    /// The document cipher.
    pub fn cipher(&self) -> Result<PayloadCipher, CryptoError> {
        PayloadCipher::from_hex(&self.data_key_hex)
    }

    /// The buyer-hash key bytes.
    pub fn buyer_hash_key(&self) -> Result<Vec<u8>, CryptoError> {
        let key = hex::decode(self.buyer_hash_key_hex.trim()).map_err(|_| CryptoError::BadKey)?;
        if key.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        Ok(key)
    }
}
