//! Enveloped XML-DSig with SM2/SM3 (国密), as CEB621/623/625 with `appStatus` 2 require.
//!
//! Algorithms (CBEC.md §1.3): C14N `http://www.w3.org/TR/2001/REC-xml-c14n-20010315`, SignatureMethod
//! `http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3`, DigestMethod
//! `http://www.chinaport.gov.cn/2022/04/xmldsig#sm3`, one `Reference URI=""` with the
//! enveloped-signature transform, and `KeyInfo{KeyName}`.
//!
//! # Canonicalization
//!
//! We only sign XML that [`crate::emit::to_xml`] produced, and that output is already in Canonical
//! XML 1.0 form (see the rules in [`crate::emit`]). So:
//!
//! * the canonical form of the document minus the signature is the bytes from the root start tag
//!   to the root end tag, with the `ds:Signature` element cut out. C14N drops the XML declaration
//!   and whitespace outside the root; the signature is inserted directly before the root end tag
//!   with no whitespace of its own, so cutting it out restores the exact emitted bytes;
//! * `ds:Signature` declares `xmlns:ds` itself, so no declaration is left behind when it is cut;
//! * the canonical form of `SignedInfo` is the element as written (start-end pairs, no whitespace,
//!   attributes `Algorithm`/`URI` alone on their elements) with the in-scope namespace declarations
//!   that inclusive C14N renders on the apex element: those of the root (e.g. `xmlns:ceb`) plus
//!   `xmlns:ds`, sorted by prefix, default namespace first.
//!
//! `verify` applies the same rules, so it accepts only documents whose signed body is in canonical
//! form, which is what we emit; a re-indented or re-serialized document fails with a digest error.
//! Verification of third-party signatures with a general C14N is out of scope.
//!
//! SM2 uses the default distinguishing identifier `1234567812345678` (GM/T 0009) and SM3 over
//! `Z || message`; `SignatureValue` is the base64 of the 64-byte `r || s`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::elliptic_curve::Generate as _;
use sm2::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _};
use sm2::pkcs8::{EncodePublicKey as _, LineEnding};
use sm3::Digest as _;

use crate::dom::DSIG_NAMESPACE;

/// Canonical XML 1.0 (inclusive, without comments).
pub const C14N_ALGORITHM: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// China e-port SM2-with-SM3 signature method.
pub const SM2_SM3_SIGNATURE_METHOD: &str = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3";
/// China e-port SM3 digest method.
pub const SM3_DIGEST_METHOD: &str = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3";
/// W3C enveloped-signature transform.
pub const ENVELOPED_SIGNATURE_TRANSFORM: &str =
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// SM2 distinguishing identifier used when no other is agreed (GM/T 0009-2012).
pub const DEFAULT_DISTID: &str = "1234567812345678";
/// Largest document `sign`/`verify` look at; matches the parser's default limit.
const DOCUMENT_BYTES_MAX: usize = 10 * 1024 * 1024;

/// Why signing or verification failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The key PEM could not be read, or the key is not a valid SM2 key.
    #[error("sign.key_invalid: {detail}")]
    KeyInvalid {
        /// What was wrong.
        detail: String,
    },
    /// The operating system's random source failed while generating a key.
    #[error("sign.key_generation: {detail}")]
    KeyGeneration {
        /// What was wrong.
        detail: String,
    },
    /// The document is not well-formed XML, or too large.
    #[error("sign.malformed: {detail}")]
    Malformed {
        /// What was wrong.
        detail: String,
    },
    /// `sign` was given a document that already has a `ds:Signature`.
    #[error("sign.already_signed: the document already carries a ds:Signature")]
    AlreadySigned,
    /// `verify` found no `ds:Signature` under the root.
    #[error("sign.missing_signature: no ds:Signature under the root element")]
    MissingSignature,
    /// The `SignedInfo` is not the one this crate writes (other algorithms or layout).
    #[error("sign.unsupported_signed_info: SignedInfo does not use C14N + SM2/SM3 as we write it")]
    UnsupportedSignedInfo,
    /// The document body does not hash to `DigestValue`: it was changed after signing.
    #[error("sign.digest_mismatch: document digest does not match DigestValue")]
    DigestMismatch,
    /// `SignatureValue` is not a valid SM2 signature of `SignedInfo` under the given key.
    #[error("sign.bad_signature: SignatureValue does not verify")]
    BadSignature,
}

impl SignError {
    /// Stable machine-readable code, e.g. `sign.digest_mismatch`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::KeyInvalid { .. } => "sign.key_invalid",
            Self::KeyGeneration { .. } => "sign.key_generation",
            Self::Malformed { .. } => "sign.malformed",
            Self::AlreadySigned => "sign.already_signed",
            Self::MissingSignature => "sign.missing_signature",
            Self::UnsupportedSignedInfo => "sign.unsupported_signed_info",
            Self::DigestMismatch => "sign.digest_mismatch",
            Self::BadSignature => "sign.bad_signature",
        }
    }
}

/// An SM2 private key for signing declarations.
pub struct SigningKey {
    secret: sm2::SecretKey,
    signer: sm2::dsa::SigningKey,
}

impl std::fmt::Debug for SigningKey {
    // The secret must never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh key from the operating system's random source (tests, demo).
    pub fn generate() -> Result<Self, SignError> {
        let secret = sm2::SecretKey::try_generate().map_err(|e| SignError::KeyGeneration {
            detail: e.to_string(),
        })?;
        Self::from_secret(secret)
    }

    /// Reads an unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) holding an SM2 key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, SignError> {
        let secret = sm2::SecretKey::from_pkcs8_pem(pem).map_err(|e| SignError::KeyInvalid {
            detail: e.to_string(),
        })?;
        Self::from_secret(secret)
    }

    /// Writes the key as an unencrypted PKCS#8 PEM. The result is a secret.
    pub fn to_pkcs8_pem(&self) -> Result<String, SignError> {
        let pem = self
            .secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| SignError::KeyInvalid {
                detail: e.to_string(),
            })?;
        Ok(pem.to_string())
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            inner: self.signer.verifying_key().clone(),
        }
    }

    fn from_secret(secret: sm2::SecretKey) -> Result<Self, SignError> {
        let signer = sm2::dsa::SigningKey::new(DEFAULT_DISTID, &secret).map_err(|e| {
            SignError::KeyInvalid {
                detail: e.to_string(),
            }
        })?;
        Ok(Self { secret, signer })
    }
}

/// An SM2 public key for verifying signatures.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    inner: sm2::dsa::VerifyingKey,
}

impl VerifyingKey {
    /// Reads a SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`) holding an SM2 key.
    pub fn from_public_key_pem(pem: &str) -> Result<Self, SignError> {
        let public =
            sm2::PublicKey::from_public_key_pem(pem).map_err(|e| SignError::KeyInvalid {
                detail: e.to_string(),
            })?;
        let inner = sm2::dsa::VerifyingKey::new(DEFAULT_DISTID, public).map_err(|e| {
            SignError::KeyInvalid {
                detail: e.to_string(),
            }
        })?;
        Ok(Self { inner })
    }

    /// Writes the key as a SubjectPublicKeyInfo PEM.
    pub fn to_public_key_pem(&self) -> Result<String, SignError> {
        let public = sm2::PublicKey::from_affine(*self.inner.as_affine()).map_err(|e| {
            SignError::KeyInvalid {
                detail: e.to_string(),
            }
        })?;
        public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| SignError::KeyInvalid {
                detail: e.to_string(),
            })
    }
}

/// Signs a document produced by [`crate::emit::to_xml`], inserting `ds:Signature` as the last
/// child of the root. `key_name` goes into `KeyInfo/KeyName` (e.g. the certificate number).
pub fn sign(xml: &str, key: &SigningKey, key_name: &str) -> Result<String, SignError> {
    let layout = Layout::of(xml)?;
    if layout.signature.is_some() {
        return Err(SignError::AlreadySigned);
    }
    let body = &xml[layout.root_start..layout.root_end];
    let signed_info = signed_info_element(&digest_base64(&[body]));
    let canonical = canonical_signed_info(&signed_info, &layout.root_namespaces);
    let signature: sm2::dsa::Signature = key.signer.sign(canonical.as_bytes());
    let signature_value = BASE64.encode(signature.to_bytes());
    let element = signature_element(&signed_info, &signature_value, key_name);
    let at = layout.root_close_start;
    Ok(format!("{}{element}{}", &xml[..at], &xml[at..]))
}

/// Verifies the enveloped signature of a document signed by [`sign`]: the digest of the body and
/// the SM2 signature of `SignedInfo` under `key`. Any change to the body or the signature fails.
pub fn verify(xml: &str, key: &VerifyingKey) -> Result<(), SignError> {
    let layout = Layout::of(xml)?;
    let signature = layout
        .signature
        .clone()
        .ok_or(SignError::MissingSignature)?;
    let signed_info_range = layout
        .signed_info
        .clone()
        .ok_or(SignError::UnsupportedSignedInfo)?;
    let digest_value = layout.digest_value.trim();
    let signed_info = &xml[signed_info_range];
    if signed_info != signed_info_element(digest_value) {
        return Err(SignError::UnsupportedSignedInfo);
    }
    let before = &xml[layout.root_start..signature.start];
    let after = &xml[signature.end..layout.root_end];
    if digest_base64(&[before, after]) != digest_value {
        return Err(SignError::DigestMismatch);
    }
    let compact: String = layout.signature_value.split_whitespace().collect();
    let bytes = BASE64
        .decode(compact)
        .map_err(|_| SignError::BadSignature)?;
    let value = sm2::dsa::Signature::from_slice(&bytes).map_err(|_| SignError::BadSignature)?;
    let canonical = canonical_signed_info(signed_info, &layout.root_namespaces);
    key.inner
        .verify(canonical.as_bytes(), &value)
        .map_err(|_| SignError::BadSignature)
}

fn digest_base64(parts: &[&str]) -> String {
    let mut hasher = sm3::Sm3::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    BASE64.encode(hasher.finalize())
}

/// `SignedInfo` exactly as written into the document (and as `verify` expects it).
fn signed_info_element(digest_value: &str) -> String {
    format!(
        "<ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"{C14N_ALGORITHM}\"></ds:CanonicalizationMethod>\
         <ds:SignatureMethod Algorithm=\"{SM2_SM3_SIGNATURE_METHOD}\"></ds:SignatureMethod>\
         <ds:Reference URI=\"\"><ds:Transforms>\
         <ds:Transform Algorithm=\"{ENVELOPED_SIGNATURE_TRANSFORM}\"></ds:Transform>\
         </ds:Transforms>\
         <ds:DigestMethod Algorithm=\"{SM3_DIGEST_METHOD}\"></ds:DigestMethod>\
         <ds:DigestValue>{digest_value}</ds:DigestValue>\
         </ds:Reference></ds:SignedInfo>"
    )
}

/// Inclusive C14N of `SignedInfo` as a document subset: its apex element carries every in-scope
/// namespace declaration (the root's plus `xmlns:ds`), sorted by prefix, default first.
fn canonical_signed_info(signed_info: &str, root_namespaces: &[(String, String)]) -> String {
    let mut namespaces: Vec<(&str, &str)> = root_namespaces
        .iter()
        .filter(|(prefix, _)| prefix != "ds")
        .map(|(prefix, uri)| (prefix.as_str(), uri.as_str()))
        .collect();
    namespaces.push(("ds", DSIG_NAMESPACE));
    namespaces.sort_unstable();
    let mut declarations = String::new();
    for (prefix, uri) in namespaces {
        let uri = escape_attribute(uri);
        if prefix.is_empty() {
            declarations.push_str(&format!(" xmlns=\"{uri}\""));
        } else {
            declarations.push_str(&format!(" xmlns:{prefix}=\"{uri}\""));
        }
    }
    let rest = signed_info
        .strip_prefix("<ds:SignedInfo")
        .unwrap_or(signed_info);
    format!("<ds:SignedInfo{declarations}{rest}")
}

fn signature_element(signed_info: &str, signature_value: &str, key_name: &str) -> String {
    let key_name = escape_text(key_name);
    format!(
        "<ds:Signature xmlns:ds=\"{DSIG_NAMESPACE}\">{signed_info}\
         <ds:SignatureValue>{signature_value}</ds:SignatureValue>\
         <ds:KeyInfo><ds:KeyName>{key_name}</ds:KeyName></ds:KeyInfo></ds:Signature>"
    )
}

fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\r', "&#xD;")
}

fn escape_attribute(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

/// Byte positions in a document that signing and verification need.
#[derive(Debug, Default)]
struct Layout {
    root_start: usize,
    root_close_start: usize,
    root_end: usize,
    /// Namespace declarations on the root start tag: (prefix, URI), "" for the default.
    root_namespaces: Vec<(String, String)>,
    /// The `ds:Signature` child of the root, start tag to end tag inclusive.
    signature: Option<std::ops::Range<usize>>,
    signed_info: Option<std::ops::Range<usize>>,
    digest_value: String,
    signature_value: String,
}

/// Which signature element's text is being collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collect {
    Nothing,
    DigestValue,
    SignatureValue,
}

impl Layout {
    fn of(xml: &str) -> Result<Self, SignError> {
        if xml.len() > DOCUMENT_BYTES_MAX {
            return Err(malformed("document exceeds 10 MiB"));
        }
        let mut reader = NsReader::from_str(xml);
        reader.config_mut().expand_empty_elements = true;
        let mut layout = Layout::default();
        let mut depth = 0usize;
        let mut collect = Collect::Nothing;
        let mut root_seen = false;
        loop {
            let start = position(&reader);
            let (resolved, event) = reader
                .read_resolved_event()
                .map_err(|e| malformed(&e.to_string()))?;
            let is_dsig = matches!(resolved, ResolveResult::Bound(ns) if ns.as_ref() == DSIG_NAMESPACE.as_bytes());
            let end = position(&reader);
            match event {
                Event::Start(tag) => {
                    if depth == 0 {
                        if root_seen {
                            return Err(malformed("more than one root element"));
                        }
                        root_seen = true;
                        layout.root_start = start;
                        layout.root_namespaces = namespace_declarations(&tag, reader.decoder())?;
                    }
                    collect = layout.on_start(tag.local_name().as_ref(), is_dsig, depth, start);
                    depth += 1;
                }
                Event::End(tag) => {
                    depth = depth.saturating_sub(1);
                    layout.on_end(tag.local_name().as_ref(), is_dsig, depth, start, end);
                    collect = Collect::Nothing;
                }
                Event::Text(text) => layout.on_text(collect, &text.decode().unwrap_or_default()),
                Event::DocType(_) => return Err(malformed("DOCTYPE is not accepted")),
                Event::Eof => break,
                _ => {}
            }
        }
        if !root_seen || depth != 0 {
            return Err(malformed("document has no complete root element"));
        }
        Ok(layout)
    }

    fn on_start(&mut self, name: &[u8], is_dsig: bool, depth: usize, start: usize) -> Collect {
        match (is_dsig, name, depth) {
            (true, b"Signature", 1) => self.signature = Some(start..start),
            (true, b"SignedInfo", 2) => self.signed_info = Some(start..start),
            (true, b"DigestValue", _) if self.signature.is_some() => return Collect::DigestValue,
            (true, b"SignatureValue", 2) => return Collect::SignatureValue,
            _ => {}
        }
        Collect::Nothing
    }

    fn on_end(&mut self, name: &[u8], is_dsig: bool, depth: usize, start: usize, end: usize) {
        match (is_dsig, name, depth) {
            (true, b"Signature", 1) => set_end(&mut self.signature, end),
            (true, b"SignedInfo", 2) => set_end(&mut self.signed_info, end),
            (_, _, 0) => {
                self.root_close_start = start;
                self.root_end = end;
            }
            _ => {}
        }
    }

    fn on_text(&mut self, collect: Collect, text: &str) {
        match collect {
            Collect::DigestValue => self.digest_value.push_str(text),
            Collect::SignatureValue => self.signature_value.push_str(text),
            Collect::Nothing => {}
        }
    }
}

fn set_end(range: &mut Option<std::ops::Range<usize>>, end: usize) {
    if let Some(range) = range {
        range.end = end;
    }
}

fn position(reader: &NsReader<&[u8]>) -> usize {
    // Documents are capped at 10 MiB, so the position always fits.
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

fn namespace_declarations(
    tag: &quick_xml::events::BytesStart<'_>,
    decoder: quick_xml::encoding::Decoder,
) -> Result<Vec<(String, String)>, SignError> {
    let mut namespaces = Vec::new();
    for attribute in tag.attributes() {
        let attribute = attribute.map_err(|e| malformed(&e.to_string()))?;
        let key = attribute.key.as_ref();
        let prefix = if key == b"xmlns" {
            ""
        } else if let Some(prefix) = key.strip_prefix(b"xmlns:") {
            std::str::from_utf8(prefix).map_err(|e| malformed(&e.to_string()))?
        } else {
            continue;
        };
        let value = attribute
            .decode_and_unescape_value(decoder)
            .map_err(|e| malformed(&e.to_string()))?;
        namespaces.push((prefix.to_owned(), value.into_owned()));
    }
    Ok(namespaces)
}

fn malformed(detail: &str) -> SignError {
    SignError::Malformed {
        detail: detail.replace(['\n', '\r'], " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_signed_info_carries_sorted_in_scope_namespaces() {
        let root = vec![
            ("ceb".to_owned(), "urn:ceb".to_owned()),
            (String::new(), "urn:d".to_owned()),
        ];
        let canonical = canonical_signed_info(&signed_info_element("AA=="), &root);
        assert!(canonical.starts_with(&format!(
            "<ds:SignedInfo xmlns=\"urn:d\" xmlns:ceb=\"urn:ceb\" xmlns:ds=\"{DSIG_NAMESPACE}\">"
        )));
        assert!(
            canonical
                .ends_with("<ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo>")
        );
    }
}
