//! ES256 JSON Web Tokens in compact form (RFC 7515, RFC 7519): `header.claims.signature`, each
//! part base64url without padding. The header names the algorithm and the key id; the signature
//! is ECDSA P-256 over SHA-256, as the 64-byte `r || s` JWS wants (ring's "fixed" encoding).
//!
//! The key id is upstream's (`pkg/serviceaccount/jwt.go`, `keyIDFromPublicKey`): the SHA-256 of
//! the public key's DER SubjectPublicKeyInfo, base64url without padding, so relying parties that
//! read upstream's JWKS documents would find the same id.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};

/// The only algorithm issued and accepted.
pub const ALGORITHM: &str = "ES256";

/// The DER SubjectPublicKeyInfo header of a P-256 key (id-ecPublicKey, prime256v1, then a BIT
/// STRING of 66 bytes); the 65-byte uncompressed point follows. What Go's
/// `x509.MarshalPKIXPublicKey` writes for such a key.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Why a signing key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not a PEM `PRIVATE KEY` (PKCS#8) document.
    #[error("service account signing key: not a PKCS#8 PEM private key")]
    Pem,
    /// ring refused the key (not ECDSA P-256, or malformed).
    #[error("service account signing key: {0}")]
    Rejected(String),
}

/// Why a token could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts with JSON header and claims.
    #[error("malformed token")]
    Malformed,
    /// A header naming another algorithm.
    #[error("unexpected signature algorithm {0:?}")]
    Algorithm(String),
    /// The signature does not verify with our key.
    #[error("error in cryptographic primitive: invalid signature")]
    Signature,
    /// ring could not sign (never expected).
    #[error("failed to sign the token")]
    Sign,
}

/// An ECDSA P-256 key that signs and verifies tokens.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    key_id: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The key in a PEM `PRIVATE KEY` (PKCS#8) document.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let Ok(PrivateKeyDer::Pkcs8(der)) = PrivateKeyDer::from_pem_slice(pem.as_bytes()) else {
            return Err(KeyError::Pem);
        };
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.secret_pkcs8_der(), &rng)
            .map_err(|e| KeyError::Rejected(e.to_string()))?;
        let key_id = key_id(pair.public_key().as_ref());
        Ok(Self { pair, key_id, rng })
    }

    /// The `kid` of the tokens this key signs.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// `claims` as a signed compact JWS.
    pub fn sign(&self, claims: &Value) -> Result<String, JwtError> {
        let header = json!({"alg": ALGORITHM, "kid": self.key_id});
        let mut token = format!("{}.{}", encode_json(&header), encode_json(claims));
        let signature = self.pair.sign(&self.rng, token.as_bytes()).map_err(|_| JwtError::Sign)?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        Ok(token)
    }

    /// The claims of `token` once its signature verifies with this key.
    pub fn verify(&self, token: &str) -> Result<Value, JwtError> {
        let (header, claims, signature) = split(token)?;
        // What was signed: `header.claims`, as sent.
        let signed = &token[..header.len() + 1 + claims.len()];
        let header = decode_json(header)?;
        let algorithm = header.get("alg").and_then(Value::as_str).unwrap_or_default();
        if algorithm != ALGORITHM {
            return Err(JwtError::Algorithm(algorithm.to_string()));
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| JwtError::Malformed)?;
        ring::signature::UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, self.pair.public_key().as_ref())
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| JwtError::Signature)?;
        decode_json(claims)
    }
}

/// The claims of `token` without checking its signature: only to decide whether a token is
/// ours to verify (upstream reads the issuer this way before anything else).
pub fn unverified_claims(token: &str) -> Option<Value> {
    let (_, claims, _) = split(token).ok()?;
    decode_json(claims).ok()
}

/// upstream's key id: base64url(SHA-256(DER SubjectPublicKeyInfo)).
fn key_id(uncompressed_point: &[u8]) -> String {
    let mut spki = P256_SPKI_PREFIX.to_vec();
    spki.extend_from_slice(uncompressed_point);
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &spki))
}

fn split(token: &str) -> Result<(&str, &str, &str), JwtError> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(claims), Some(signature), None) => Ok((header, claims, signature)),
        _ => Err(JwtError::Malformed),
    }
}

fn encode_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("JSON values serialise"))
}

fn decode_json(part: &str) -> Result<Value, JwtError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| JwtError::Malformed)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
    if value.is_object() { Ok(value) } else { Err(JwtError::Malformed) }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh P-256 key as PEM, the way the PKI makes one.
    pub(crate) fn new_key_pem() -> String {
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap().serialize_pem()
    }

    #[test]
    fn signs_and_verifies_round_trip() {
        let key = SigningKey::from_pem(&new_key_pem()).unwrap();
        let claims = json!({"sub": "system:serviceaccount:default:robot", "aud": ["a"], "exp": 2});
        let token = key.sign(&claims).unwrap();
        assert_eq!(token.split('.').count(), 3);
        assert!(!token.contains('='), "base64url without padding: {token}");
        let header = decode_json(token.split('.').next().unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "ES256", "kid": key.key_id()}));
        assert_eq!(key.verify(&token).unwrap(), claims);
        assert_eq!(unverified_claims(&token).unwrap(), claims);
    }

    #[test]
    fn key_id_is_the_digest_of_the_public_key_and_stable() {
        let pem = new_key_pem();
        let (first, second) = (SigningKey::from_pem(&pem).unwrap(), SigningKey::from_pem(&pem).unwrap());
        assert_eq!(first.key_id(), second.key_id());
        assert_eq!(first.key_id().len(), 43, "32 bytes, base64url without padding");
        // The same digest over rcgen's own SubjectPublicKeyInfo of the key.
        let spki = rcgen::PublicKeyData::subject_public_key_info(&rcgen::KeyPair::from_pem(&pem).unwrap());
        let expected = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &spki));
        assert_eq!(first.key_id(), expected);
        let other = SigningKey::from_pem(&new_key_pem()).unwrap();
        assert_ne!(first.key_id(), other.key_id());
    }

    #[test]
    fn tampered_or_foreign_tokens_are_rejected() {
        let key = SigningKey::from_pem(&new_key_pem()).unwrap();
        let token = key.sign(&json!({"sub": "system:serviceaccount:default:robot"})).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        // Claims changed after signing.
        let forged_claims = encode_json(&json!({"sub": "system:serviceaccount:kube-system:admin"}));
        let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
        assert_eq!(key.verify(&forged), Err(JwtError::Signature));
        // One flipped bit in the signature.
        let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        signature[10] ^= 1;
        let flipped = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&signature));
        assert_eq!(key.verify(&flipped), Err(JwtError::Signature));
        // Signed by another key.
        let other = SigningKey::from_pem(&new_key_pem()).unwrap();
        assert_eq!(key.verify(&other.sign(&json!({"sub": "x"})).unwrap()), Err(JwtError::Signature));
        // "none" and other algorithms are refused before any signature check.
        let none = format!("{}.{}.", encode_json(&json!({"alg": "none"})), parts[1]);
        assert_eq!(key.verify(&none), Err(JwtError::Algorithm("none".into())));
        for malformed in ["", "a.b", "a.b.c.d", "not a token", "e30.e30.@@"] {
            assert!(key.verify(malformed).is_err(), "{malformed}");
        }
    }

    #[test]
    fn other_keys_than_p256_pkcs8_are_refused() {
        assert!(matches!(SigningKey::from_pem("nothing"), Err(KeyError::Pem)));
        let ed25519 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap().serialize_pem();
        assert!(matches!(SigningKey::from_pem(&ed25519), Err(KeyError::Rejected(_))));
    }
}
