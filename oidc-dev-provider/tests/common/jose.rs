//! Signing what clients sign: DPoP proofs (RFC 9449 section 4.2) and
//! `private_key_jwt` assertions (RFC 7523 section 3), with any header and
//! claims, so that each test can break exactly one rule.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A fresh random identifier.
pub fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// A P-256 key pair signing ES256.
pub struct TestKey {
    pair: EcdsaKeyPair,
    x: String,
    y: String,
}

impl TestKey {
    pub fn new() -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        Self {
            x: URL_SAFE_NO_PAD.encode(&point[1..33]),
            y: URL_SAFE_NO_PAD.encode(&point[33..]),
            pair,
        }
    }

    /// The public JWK (RFC 7518 section 6.2.1).
    pub fn jwk(&self) -> Value {
        json!({"kty": "EC", "crv": "P-256", "x": self.x, "y": self.y})
    }

    /// The public JWK with `kid` (its thumbprint), `alg` and `use`, as a client
    /// registers it.
    pub fn registered_jwk(&self) -> Value {
        let mut jwk = self.jwk();
        jwk["kid"] = self.thumbprint().into();
        jwk["alg"] = "ES256".into();
        jwk["use"] = "sig".into();
        jwk
    }

    /// The RFC 7638 thumbprint.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.x, self.y
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A compact JWS of `header` and `claims`, signed with this key whatever
    /// the header says.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    /// The header of a proof of this key.
    pub fn proof_header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()})
    }

    /// A valid proof for `htm` `htu` issued now.
    pub fn proof(&self, htm: &str, htu: &str) -> String {
        self.sign(&self.proof_header(), &proof_claims(htm, htu))
    }

    /// A valid proof for a resource request with `access_token` (`ath`).
    pub fn resource_proof(&self, htm: &str, htu: &str, access_token: &str) -> String {
        let mut claims = proof_claims(htm, htu);
        claims["ath"] = ath(access_token).into();
        self.sign(&self.proof_header(), &claims)
    }

    /// A client assertion with this key's `kid`.
    pub fn assertion(&self, claims: &Value) -> String {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.thumbprint()});
        self.sign(&header, claims)
    }
}

/// The claims of a proof: a fresh `jti`, `htm`, `htu` and `iat` now.
pub fn proof_claims(htm: &str, htu: &str) -> Value {
    json!({"jti": random_id(), "htm": htm, "htu": htu, "iat": now()})
}

/// `ath` of RFC 9449 section 4.2.
pub fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// The claims of a client assertion of `client_id` for `aud`, valid for 60 s.
pub fn assertion_claims(client_id: &str, aud: &str) -> Value {
    json!({
        "iss": client_id, "sub": client_id, "aud": aud,
        "jti": random_id(), "iat": now(), "exp": now() + 60,
    })
}

/// The claims of an access token (payload decoded, signature not checked).
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}
