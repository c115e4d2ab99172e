//! Signing keys for the `bearer` scenario: an RSA 2048 key (RS256) and a P-256 key
//! (ES256), generated per run with aws-lc-rs, their public JWKs, and access tokens of
//! a realistic shape signed with them.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::BenchResult;

/// A private key with its public JWK.
pub struct SigningKey {
    pub alg: Algorithm,
    pub kid: String,
    encoding: EncodingKey,
    pub jwk: Value,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Selects the aws-lc backend of jsonwebtoken (the library's own choice).
pub fn install_crypto_provider() {
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
    );
}

impl SigningKey {
    /// A fresh RSA 2048 key for RS256.
    pub fn rsa(kid: &str) -> BenchResult<Self> {
        install_crypto_provider();
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| "RSA generation failed")?;
        let pkcs8 = pair.as_der().map_err(|_| "RSA PKCS#8 export failed")?;
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(pkcs8.as_ref())
        );
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes())?;
        let c = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        Ok(Self {
            alg: Algorithm::RS256,
            kid: kid.to_owned(),
            encoding,
            jwk: json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                        "n": b64(&c.n), "e": b64(&c.e)}),
        })
    }

    /// A fresh P-256 key for ES256.
    pub fn ec(kid: &str) -> BenchResult<Self> {
        install_crypto_provider();
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| "EC generation failed")?;
        let pkcs8 = pair.to_pkcs8v1().map_err(|_| "EC PKCS#8 export failed")?;
        let point = pair.public_key().as_ref();
        let [0x04, xy @ ..] = point else {
            return Err("unexpected EC point encoding".into());
        };
        let (x, y) = xy.split_at(32);
        Ok(Self {
            alg: Algorithm::ES256,
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({"kty": "EC", "use": "sig", "alg": "ES256", "kid": kid,
                        "crv": "P-256", "x": b64(x), "y": b64(y)}),
        })
    }

    /// Signs an RFC 9068-shaped access token valid for an hour.
    pub fn access_token(&self, issuer: &str, audience: &str) -> BenchResult<String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header.typ = Some("at+jwt".into());
        let claims = json!({
            "iss": issuer,
            "sub": "user-alice",
            "aud": audience,
            "exp": now + 3600,
            "iat": now,
            "nbf": now,
            "jti": b64(&rand::random::<[u8; 16]>()),
            "client_id": "bench-client",
            "scope": "openid profile email orders:read orders:write",
            "auth_time": now,
        });
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }
}

/// A JWK Set document of `keys`.
pub fn jwks(keys: &[&SigningKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }).to_string()
}
