//! Tickets the door can check without the server: the QR code carries a signed payload.
//!
//! 94 bytes, big-endian: format version (1), key id (1), ticket id (16), issue number (2; +1 at each
//! reissue, so an older code is revoked), pass number (2, `ticket_types.door_no`), valid from and
//! valid until (4 each, Unix minutes; 0 and `u32::MAX` mean no limit), then the Ed25519 signature (64)
//! of `"tessera-ticket\0"` and the first 30 bytes. Written as RFC 4648 base32, upper case, without
//! padding: 151 characters, all in the QR alphanumeric set, which fits a version 6 code at level M
//! (41 × 41 modules). base64url would need byte mode and a version 8 code (49 × 49).
//!
//! The server signs (`sign`, with a key derived from `SECRET_KEY`); the browser and the server
//! verify (`verify_strict`, which also refuses small-order keys and signatures).
use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, VerifyingKey};
use uuid::Uuid;

pub const VERSION: u8 = 1;
const SIGNED_LEN: usize = 30;
pub const PAYLOAD_LEN: usize = SIGNED_LEN + 64;
/// The length of a payload's text: 94 bytes in base32.
pub const TEXT_LEN: usize = 151;
const DOMAIN: &[u8] = b"tessera-ticket\0";

/// What a signed code says of its ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claims {
    pub key_id: u8,
    pub ticket_id: Uuid,
    pub issue: u16,
    pub pass_no: u16,
    /// Unix minutes; `None` for no limit.
    pub valid_from: Option<u32>,
    pub valid_until: Option<u32>,
}

/// Why a code is not a valid signed ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a signed code (perhaps a legacy token).
    NotSigned,
    /// A format this build does not know.
    Version,
    /// No such key on this device or server.
    UnknownKey,
    /// The signature does not match: forged or damaged.
    Signature,
}

impl Claims {
    #[cfg_attr(not(feature = "ssr"), allow(dead_code))]
    fn signed_bytes(&self) -> [u8; SIGNED_LEN] {
        let mut b = [0u8; SIGNED_LEN];
        b[0] = VERSION;
        b[1] = self.key_id;
        b[2..18].copy_from_slice(self.ticket_id.as_bytes());
        b[18..20].copy_from_slice(&self.issue.to_be_bytes());
        b[20..22].copy_from_slice(&self.pass_no.to_be_bytes());
        b[22..26].copy_from_slice(&self.valid_from.unwrap_or(0).to_be_bytes());
        b[26..30].copy_from_slice(&self.valid_until.unwrap_or(u32::MAX).to_be_bytes());
        b
    }
}

fn message(signed: &[u8; SIGNED_LEN]) -> Vec<u8> {
    [DOMAIN, signed.as_slice()].concat()
}

/// A Unix-minutes value for the payload, from an instant in seconds (clamped to what fits).
pub fn minutes(unix_seconds: i64) -> u32 {
    u32::try_from(
        unix_seconds
            .div_euclid(60)
            .clamp(1, i64::from(u32::MAX - 1)),
    )
    .unwrap_or(1)
}

/// Whether `text` looks like a signed code (and not a legacy token).
pub fn is_signed(text: &str) -> bool {
    text.len() == TEXT_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// Reads a code's claims and signature without checking the signature.
pub fn parse(text: &str) -> Result<(Claims, [u8; SIGNED_LEN], Signature), Refusal> {
    if !is_signed(text) {
        return Err(Refusal::NotSigned);
    }
    let bytes = BASE32_NOPAD
        .decode(text.as_bytes())
        .map_err(|_| Refusal::NotSigned)?;
    let bytes: [u8; PAYLOAD_LEN] = bytes.try_into().map_err(|_| Refusal::NotSigned)?;
    if bytes[0] != VERSION {
        return Err(Refusal::Version);
    }
    let mut signed = [0u8; SIGNED_LEN];
    signed.copy_from_slice(&bytes[..SIGNED_LEN]);
    let mut sig = [0u8; 64];
    sig.copy_from_slice(&bytes[SIGNED_LEN..]);
    let be16 = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
    let be32 = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let mut id = [0u8; 16];
    id.copy_from_slice(&bytes[2..18]);
    let (from, until) = (be32(22), be32(26));
    Ok((
        Claims {
            key_id: bytes[1],
            ticket_id: Uuid::from_bytes(id),
            issue: be16(18),
            pass_no: be16(20),
            valid_from: (from != 0).then_some(from),
            valid_until: (until != u32::MAX).then_some(until),
        },
        signed,
        Signature::from_bytes(&sig),
    ))
}

/// Checks a code against the public keys known here (`key(id)` gives a key id's public key).
pub fn verify(text: &str, key: impl Fn(u8) -> Option<VerifyingKey>) -> Result<Claims, Refusal> {
    let (claims, signed, sig) = parse(text)?;
    let public = key(claims.key_id).ok_or(Refusal::UnknownKey)?;
    public
        .verify_strict(&message(&signed), &sig)
        .map_err(|_| Refusal::Signature)?;
    Ok(claims)
}

/// A public key from its 32 bytes (`None` if they are not a point of the curve).
pub fn public_key(bytes: &[u8]) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = bytes.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// The code of a ticket, signed with `key` (whose id the claims name).
#[cfg(feature = "ssr")]
pub fn sign(claims: &Claims, key: &ed25519_dalek::SigningKey) -> String {
    use ed25519_dalek::Signer;
    let signed = claims.signed_bytes();
    let sig = key.sign(&message(&signed));
    let mut bytes = Vec::with_capacity(PAYLOAD_LEN);
    bytes.extend_from_slice(&signed);
    bytes.extend_from_slice(&sig.to_bytes());
    BASE32_NOPAD.encode(&bytes)
}

/// The hex SHA-256 of a legacy token, as the database keeps it (`ticket_tokens.token_hash`): the
/// door data carries these so that codes mailed before signed tickets also work offline.
pub fn legacy_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    data_encoding::HEXLOWER.encode(&Sha256::digest(token.trim().as_bytes()))
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn claims() -> Claims {
        Claims {
            key_id: 3,
            ticket_id: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            issue: 2,
            pass_no: 7,
            valid_from: Some(minutes(1_812_000_000)),
            valid_until: None,
        }
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_signed_code_reads_back_and_fits_a_version_6_qr_code() {
        let k = key(1);
        let text = sign(&claims(), &k);
        assert_eq!(text.len(), TEXT_LEN);
        assert!(is_signed(&text));
        let got = verify(&text, |id| (id == 3).then(|| k.verifying_key())).unwrap();
        assert_eq!(got, claims());
        let qr = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
            .unwrap();
        assert_eq!(qr.version(), qrcode::Version::Normal(6));
        assert_eq!(qr.width(), 41);
    }

    #[test]
    fn tampering_a_wrong_key_and_an_unknown_key_are_refused() {
        let k = key(1);
        let text = sign(&claims(), &k);
        // Another pass number, same signature.
        let mut other = claims();
        other.pass_no = 8;
        let forged = {
            let (_, _, sig) = parse(&text).unwrap();
            let mut b = other.signed_bytes().to_vec();
            b.extend_from_slice(&sig.to_bytes());
            BASE32_NOPAD.encode(&b)
        };
        assert_eq!(
            verify(&forged, |_| Some(k.verifying_key())),
            Err(Refusal::Signature)
        );
        // Every single character changed is refused (or reads as something else entirely).
        for i in 0..TEXT_LEN {
            let mut t = text.clone().into_bytes();
            t[i] = if t[i] == b'A' { b'B' } else { b'A' };
            let t = String::from_utf8(t).unwrap();
            assert!(
                verify(&t, |_| Some(k.verifying_key())).is_err(),
                "character {i}"
            );
        }
        assert_eq!(
            verify(&text, |_| Some(key(2).verifying_key())),
            Err(Refusal::Signature)
        );
        assert_eq!(verify(&text, |_| None), Err(Refusal::UnknownKey));
        assert_eq!(
            verify("bad", |_| Some(k.verifying_key())),
            Err(Refusal::NotSigned)
        );
        assert_eq!(
            verify(&text.to_lowercase(), |_| Some(k.verifying_key())),
            Err(Refusal::NotSigned)
        );
    }

    #[test]
    fn after_a_rotation_codes_of_both_keys_verify() {
        let (old, new) = (key(1), key(2));
        let a = sign(&claims(), &old);
        let b = sign(
            &Claims {
                key_id: 4,
                ..claims()
            },
            &new,
        );
        let keys = |id: u8| match id {
            3 => Some(old.verifying_key()),
            4 => Some(new.verifying_key()),
            _ => None,
        };
        assert_eq!(verify(&a, keys).unwrap().key_id, 3);
        assert_eq!(verify(&b, keys).unwrap().key_id, 4);
    }

    #[test]
    fn instants_become_minutes_that_fit() {
        assert_eq!(minutes(1_812_000_000), 30_200_000);
        assert_eq!(minutes(-5), 1);
        assert_eq!(minutes(i64::MAX), u32::MAX - 1);
    }
}
