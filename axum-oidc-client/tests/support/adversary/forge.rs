//! Keys of the fixtures and the tokens the adversary signs or forges.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::Digest as _;

const RSA1_PEM: &[u8] = include_bytes!("../../fixtures/rsa1.pem");
const RSA1_PUBLIC_PEM: &[u8] = include_bytes!("../../fixtures/rsa1.pub.pem");
const RSA2_PEM: &[u8] = include_bytes!("../../fixtures/rsa2.pem");
const EC_PEM: &[u8] = include_bytes!("../../fixtures/ec256.pem");

/// A signing key of the fixtures, each with a fixed `kid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// RSA 2048, `kid` `rsa-1`, RS256: the provider's normal key.
    Rsa1,
    /// RSA 2048, `kid` `rsa-2`, RS256: the next key of a rotation, or a foreign key.
    Rsa2,
    /// EC P-256, `kid` `ec-1`, ES256.
    Ec,
}

impl Key {
    /// The `kid` this key is published under.
    pub fn kid(self) -> &'static str {
        match self {
            Self::Rsa1 => "rsa-1",
            Self::Rsa2 => "rsa-2",
            Self::Ec => "ec-1",
        }
    }

    /// The algorithm this key signs with.
    pub fn alg(self) -> Algorithm {
        match self {
            Self::Ec => Algorithm::ES256,
            _ => Algorithm::RS256,
        }
    }

    fn encoding_key(self) -> &'static EncodingKey {
        static KEYS: OnceLock<[EncodingKey; 3]> = OnceLock::new();
        let keys = KEYS.get_or_init(|| {
            [
                EncodingKey::from_rsa_pem(RSA1_PEM).expect("rsa1.pem"),
                EncodingKey::from_rsa_pem(RSA2_PEM).expect("rsa2.pem"),
                EncodingKey::from_ec_pem(EC_PEM).expect("ec256.pem"),
            ]
        });
        match self {
            Self::Rsa1 => &keys[0],
            Self::Rsa2 => &keys[1],
            Self::Ec => &keys[2],
        }
    }

    /// The public JWK (RFC 7517) with `kid`, `use` and `alg`, derived from the PEM.
    pub fn jwk(self) -> Value {
        self.jwk_with_kid(self.kid())
    }

    /// The public JWK published under another `kid`.
    pub fn jwk_with_kid(self, kid: &str) -> Value {
        let jwk = Jwk::from_encoding_key(self.encoding_key(), self.alg()).expect("public JWK");
        let mut v = serde_json::to_value(jwk).expect("JWK to JSON");
        v["kid"] = kid.into();
        v["use"] = "sig".into();
        v
    }
}

/// How a token is signed, or forged.
#[derive(Clone, Debug, PartialEq)]
pub enum Sig {
    /// Properly signed by the key, with its `kid` in the header.
    By(Key),
    /// Properly signed by the key, without `kid`.
    WithoutKid(Key),
    /// Signed by the key, the header naming another `kid`.
    ClaimingKid(Key, String),
    /// Properly signed by the key, then the payload swapped for a modified one
    /// (`sub` becomes `admin`): the signature no longer matches.
    Tampered(Key),
    /// `alg: none` and an empty signature (RFC 7518 section 3.6).
    AlgNone,
    /// HS256 keyed with the PEM of the RSA public key of [`Key::Rsa1`], `kid` `rsa-1`:
    /// the classic algorithm-confusion forgery.
    Hs256WithPublicKey,
    /// Properly signed by the key, with extra header parameters (`crit`, `jwk`, `jku`).
    WithHeader(Key, Value),
}

pub(super) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `at_hash` (OIDC Core 3.1.3.6) for SHA-256 based algorithms.
pub fn at_hash(access_token: &str) -> String {
    let digest = sha2::Sha256::digest(access_token.as_bytes());
    b64(&digest[..16])
}

/// Signs (or forges) a compact JWS over `claims` with header `typ`.
pub fn sign(sig: &Sig, typ: &str, claims: &Value) -> String {
    let signed = |key: Key, kid: Option<&str>, extra: &Value| {
        let mut header = Header::new(key.alg());
        header.typ = Some(typ.to_owned());
        header.kid = kid.map(str::to_owned);
        if let Some(extra) = extra.as_object() {
            for (k, v) in extra {
                if k == "crit" {
                    header.crit = serde_json::from_value(v.clone()).ok();
                } else {
                    header.extras.insert(k.clone(), v.clone());
                }
            }
        }
        jsonwebtoken::encode(&header, claims, key.encoding_key()).expect("sign")
    };
    match sig {
        Sig::By(key) => signed(*key, Some(key.kid()), &Value::Null),
        Sig::WithoutKid(key) => signed(*key, None, &Value::Null),
        Sig::ClaimingKid(key, kid) => signed(*key, Some(kid), &Value::Null),
        Sig::WithHeader(key, extra) => signed(*key, Some(key.kid()), extra),
        Sig::Tampered(key) => {
            let token = signed(*key, Some(key.kid()), &Value::Null);
            let mut forged = claims.clone();
            forged["sub"] = "admin".into();
            let payload = b64(&serde_json::to_vec(&forged).expect("claims"));
            let (header, rest) = token.split_once('.').expect("compact JWS");
            let (_, signature) = rest.split_once('.').expect("compact JWS");
            format!("{header}.{payload}.{signature}")
        }
        Sig::AlgNone => {
            let header = json!({ "alg": "none", "typ": typ });
            format!(
                "{}.{}.",
                b64(&serde_json::to_vec(&header).expect("header")),
                b64(&serde_json::to_vec(claims).expect("claims"))
            )
        }
        Sig::Hs256WithPublicKey => {
            let mut header = Header::new(Algorithm::HS256);
            header.typ = Some(typ.to_owned());
            header.kid = Some(Key::Rsa1.kid().to_owned());
            let key = EncodingKey::from_secret(RSA1_PUBLIC_PEM);
            jsonwebtoken::encode(&header, claims, &key).expect("sign HS256")
        }
    }
}
