//! Signing keys: generated fresh at start-up with `aws-lc-rs`, used through
//! `jsonwebtoken`, and published as a JWK Set (RFC 7517 5).
//!
//! Two keys exist: an RSA 2048 key for RS256 and a P-256 key for ES256. Both
//! are published so that a relying party can verify whichever the provider
//! is configured to sign with. The `kid` of each key is its JWK Thumbprint
//! (RFC 7638 3).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::SigningAlg;
use crate::error::DevProviderError;

/// One key pair together with its public JWK.
struct KeyEntry {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Value,
}

/// The provider's key material. Private keys never leave this struct.
pub(crate) struct SigningKeys {
    rsa: KeyEntry,
    ec: KeyEntry,
    active: SigningAlg,
}

/// Selects the `aws_lc_rs` backend of `jsonwebtoken`. With only that crate
/// feature enabled the backend is picked automatically; installing it
/// explicitly keeps signing working even if feature unification in a larger
/// build enables a second backend. A failure only means a provider is
/// already installed, which is fine.
pub(crate) fn install_crypto_provider() {
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
    );
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// JWK Thumbprint: SHA-256 over the required members in lexicographic order
/// without whitespace (RFC 7638 3.2 and 3.3).
fn thumbprint(canonical_members: &str) -> String {
    b64url(&Sha256::digest(canonical_members.as_bytes()))
}

fn generate_rsa() -> Result<KeyEntry, DevProviderError> {
    let err = |what: &str| DevProviderError::Keys(format!("RSA: {what}"));
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| err("generation failed"))?;
    let pkcs8 = pair.as_der().map_err(|_| err("PKCS#8 export failed"))?;
    // jsonwebtoken's DER constructor expects a PKCS#1 RSAPrivateKey; its PEM
    // reader unwraps PKCS#8 ("PRIVATE KEY", RFC 7468 10) for us.
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(pkcs8.as_ref())
    );
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| err(&e.to_string()))?;
    let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
    let (n, e) = (b64url(&components.n), b64url(&components.e));
    let kid = thumbprint(&format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
    let jwk = json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e });
    Ok(KeyEntry {
        kid,
        alg: Algorithm::RS256,
        encoding,
        decoding: DecodingKey::from_rsa_raw_components(&components.n, &components.e),
        jwk,
    })
}

fn generate_ec() -> Result<KeyEntry, DevProviderError> {
    let err = |what: &str| DevProviderError::Keys(format!("EC: {what}"));
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|_| err("generation failed"))?;
    let pkcs8 = pair.to_pkcs8v1().map_err(|_| err("PKCS#8 export failed"))?;
    // Uncompressed SEC1 point: 0x04 || x || y, 32 bytes each for P-256.
    let point = pair.public_key().as_ref();
    let (x, y) = match point {
        [0x04, rest @ ..] if rest.len() == 64 => rest.split_at(32),
        _ => return Err(err("unexpected public key encoding")),
    };
    let (x, y) = (b64url(x), b64url(y));
    let kid = thumbprint(&format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#
    ));
    let jwk = json!({
        "kty": "EC", "use": "sig", "alg": "ES256", "kid": kid, "crv": "P-256", "x": x, "y": y
    });
    Ok(KeyEntry {
        kid,
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        decoding: DecodingKey::from_ec_der(point),
        jwk,
    })
}

impl SigningKeys {
    /// Generates both key pairs; `active` selects the one used for signing.
    pub(crate) fn generate(active: SigningAlg) -> Result<Self, DevProviderError> {
        install_crypto_provider();
        Ok(Self {
            rsa: generate_rsa()?,
            ec: generate_ec()?,
            active,
        })
    }

    fn active(&self) -> &KeyEntry {
        match self.active {
            SigningAlg::RS256 => &self.rsa,
            SigningAlg::ES256 => &self.ec,
        }
    }

    /// The algorithm new tokens are signed with.
    pub(crate) fn active_alg(&self) -> SigningAlg {
        self.active
    }

    /// The JWK Set document (RFC 7517 5), active key first.
    pub(crate) fn jwks(&self) -> Value {
        let (first, second) = match self.active {
            SigningAlg::RS256 => (&self.rsa, &self.ec),
            SigningAlg::ES256 => (&self.ec, &self.rsa),
        };
        json!({ "keys": [first.jwk, second.jwk] })
    }

    /// Signs `claims` as a JWS with the active key, the given `typ` header
    /// (RFC 7515 4.1.9) and the key's `kid`.
    pub(crate) fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Option<String> {
        let key = self.active();
        let mut header = Header::new(key.alg);
        header.typ = Some(typ.to_owned());
        header.kid = Some(key.kid.clone());
        match jsonwebtoken::encode(&header, claims, &key.encoding) {
            Ok(token) => Some(token),
            Err(error) => {
                tracing::error!(%error, "signing a token failed");
                None
            }
        }
    }

    /// Verifies the signature of a token this provider issued and checks its
    /// `iss`. Expiry is *not* checked: callers decide (an expired
    /// `id_token_hint` is acceptable, OpenID Connect RP-Initiated Logout 1.0
    /// section 2).
    pub(crate) fn verify<T: DeserializeOwned>(&self, token: &str, issuer: &str) -> Option<T> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let key = [&self.rsa, &self.ec].into_iter().find(|k| {
            k.alg == header.alg && header.kid.as_deref().is_none_or(|kid| kid == k.kid)
        })?;
        let mut validation = Validation::new(key.alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[issuer]);
        jsonwebtoken::decode::<T>(token, &key.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// `at_hash` (OIDC Core 3.1.3.6): base64url of the left half of the hash of
/// the access token, the hash being the one of the ID token's `alg`
/// (SHA-256 for both RS256 and ES256).
pub(crate) fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    b64url(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_signed_with_either_key_verify_and_carry_the_kid() {
        for alg in [SigningAlg::RS256, SigningAlg::ES256] {
            let keys = SigningKeys::generate(alg).expect("keys");
            let token = keys
                .sign("JWT", &json!({"iss": "me", "x": 1}))
                .expect("signed");
            let header = jsonwebtoken::decode_header(&token).expect("header");
            assert_eq!(header.kid.as_deref(), Some(keys.active().kid.as_str()));
            let claims: Value = keys.verify(&token, "me").expect("verifies");
            assert_eq!(claims["x"], 1);
            assert!(keys.verify::<Value>(&token, "someone-else").is_none());
        }
    }

    #[test]
    fn at_hash_is_left_half_of_sha256() {
        // 16 bytes encode to 22 base64url characters without padding.
        assert_eq!(at_hash("token").len(), 22);
        assert_ne!(at_hash("token"), at_hash("other"));
    }
}
