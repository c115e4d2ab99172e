//! JWS objects the provider *receives*: DPoP proofs (RFC 9449) and client
//! assertions (RFC 7523). Compact serialization only (RFC 7515 section 7.1),
//! asymmetric algorithms only, and keys given as public JWKs (RFC 7517) with
//! their RFC 7638 thumbprints.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Members only a private or symmetric JWK has (RFC 7518 sections 6.2.2,
/// 6.3.2 and 6.4; RFC 8037 section 2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The largest JWS accepted, in bytes: one public key and a few claims fit
/// easily, even with an RSA 4096 key.
pub(crate) const MAX_JWS_LEN: usize = 8 * 1024;

/// A compact JWS split into its decoded header and claims (not yet verified).
pub(crate) struct Jws<'a> {
    /// The JOSE header (RFC 7515 section 4).
    pub header: Map<String, Value>,
    /// The JWT claims set (RFC 7519 section 4).
    pub claims: Map<String, Value>,
    signing_input: &'a str,
    signature: &'a str,
}

impl<'a> Jws<'a> {
    /// Splits and decodes `token`: three base64url parts, the first two JSON
    /// objects. `None` when it is anything else.
    pub(crate) fn parse(token: &'a str) -> Option<Self> {
        if token.len() > MAX_JWS_LEN {
            return None;
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(Self {
            header: json_object(h)?,
            claims: json_object(p)?,
            signing_input: &token[..h.len() + 1 + p.len()],
            signature: s,
        })
    }

    /// The header's `alg` when it is one of the asymmetric algorithms this
    /// provider verifies: RS256, PS256, ES256 or EdDSA. `none` and the HMAC
    /// algorithms never pass (RFC 9449 section 4.3 check 5, RFC 7523 section 3).
    pub(crate) fn asymmetric_alg(&self) -> Option<Algorithm> {
        match self.header.get("alg").and_then(Value::as_str)? {
            "RS256" => Some(Algorithm::RS256),
            "PS256" => Some(Algorithm::PS256),
            "ES256" => Some(Algorithm::ES256),
            "EdDSA" => Some(Algorithm::EdDSA),
            _ => None,
        }
    }

    /// A string claim, if present and non-empty.
    pub(crate) fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A numeric date claim (RFC 7519 section 2), whole seconds.
    pub(crate) fn claim_secs(&self, name: &str) -> Option<u64> {
        let v = self.claims.get(name)?;
        v.as_u64().or_else(|| {
            v.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        })
    }

    /// Whether the signature verifies with `key` under `alg`.
    pub(crate) fn verify(&self, key: &PublicJwk, alg: Algorithm) -> bool {
        key.suits(alg)
            && jsonwebtoken::crypto::verify(
                self.signature,
                self.signing_input.as_bytes(),
                &key.decoding,
                alg,
            )
            .unwrap_or(false)
    }
}

fn json_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Why a JWK cannot be used to verify a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyError {
    /// The JWK carries private or symmetric key material.
    #[error("the JWK has private key members")]
    Private,
    /// Not an RSA (2048 bits or more), EC P-256 or OKP Ed25519 public key.
    #[error("not an RSA, EC P-256 or Ed25519 public key")]
    Unsupported,
}

/// A public key read from a JWK.
pub(crate) struct PublicJwk {
    kty: &'static str,
    /// The `alg` member, when the JWK names one.
    alg: Option<String>,
    decoding: DecodingKey,
    /// The RFC 7638 JWK Thumbprint (SHA-256, base64url).
    pub thumbprint: String,
}

impl PublicJwk {
    /// Whether `alg` is meant for this key: RS256 and PS256 for RSA, ES256
    /// for P-256, EdDSA for Ed25519, and the JWK's own `alg` if it has one.
    pub(crate) fn suits(&self, alg: Algorithm) -> bool {
        let family = match alg {
            Algorithm::RS256 | Algorithm::PS256 => "RSA",
            Algorithm::ES256 => "EC",
            Algorithm::EdDSA => "OKP",
            _ => return false,
        };
        family == self.kty && (self.alg.as_deref()).is_none_or(|a| a == format!("{alg:?}").as_str())
    }
}

/// A public key from a JWK object (RFC 7517 section 4, RFC 7518 section 6,
/// RFC 8037 section 2). Private and symmetric keys are refused.
pub(crate) fn public_key(jwk: &Map<String, Value>) -> Result<PublicJwk, KeyError> {
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(KeyError::Private);
    }
    let member = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or(KeyError::Unsupported)
    };
    let bytes = |name: &str| {
        member(name).and_then(|v| URL_SAFE_NO_PAD.decode(v).map_err(|_| KeyError::Unsupported))
    };
    let alg = jwk.get("alg").and_then(Value::as_str).map(str::to_owned);
    // RFC 7638 section 3.2: the required members in lexicographic order.
    let (kty, canonical, decoding) = match member("kty")? {
        "EC" if member("crv")? == "P-256" => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(KeyError::Unsupported);
            }
            let canonical = canonical(&[
                ("crv", "P-256"),
                ("kty", "EC"),
                ("x", member("x")?),
                ("y", member("y")?),
            ]);
            let point = [&[0x04], x.as_slice(), y.as_slice()].concat();
            ("EC", canonical, DecodingKey::from_ec_der(&point))
        }
        "RSA" => {
            let (n, e) = (bytes("n")?, bytes("e")?);
            if n.len() < 256 || e.is_empty() {
                return Err(KeyError::Unsupported);
            }
            let canonical = canonical(&[("e", member("e")?), ("kty", "RSA"), ("n", member("n")?)]);
            let key = DecodingKey::from_rsa_raw_components(&n, &e);
            ("RSA", canonical, key)
        }
        "OKP" if member("crv")? == "Ed25519" => {
            let x = bytes("x")?;
            if x.len() != 32 {
                return Err(KeyError::Unsupported);
            }
            let canonical = canonical(&[("crv", "Ed25519"), ("kty", "OKP"), ("x", member("x")?)]);
            ("OKP", canonical, DecodingKey::from_ed_der(&x))
        }
        _ => return Err(KeyError::Unsupported),
    };
    Ok(PublicJwk {
        kty,
        alg,
        decoding,
        thumbprint: URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())),
    })
}

/// A key as registered in a client's `jwks` (a JSON object).
pub(crate) fn registered_key(jwk: &Value) -> Result<PublicJwk, KeyError> {
    public_key(jwk.as_object().ok_or(KeyError::Unsupported)?)
}

/// The JSON object of `members` (already in order) without whitespace, each
/// value a JSON string (RFC 7638 section 3.3).
fn canonical(members: &[(&str, &str)]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("\"{k}\":{}", Value::from(*v)))
        .collect();
    format!("{{{}}}", body.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_thumbprint_of_the_rfc_7638_example_key_matches() {
        // RFC 7638 section 3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let key = registered_key(&jwk).expect("public RSA key");
        assert_eq!(
            key.thumbprint,
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert!(key.suits(Algorithm::RS256));
        assert!(!key.suits(Algorithm::PS256), "the JWK names RS256");
        assert!(!key.suits(Algorithm::ES256));
    }

    #[test]
    fn private_and_symmetric_keys_are_refused() {
        let ec = json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"});
        assert_eq!(registered_key(&ec).err(), Some(KeyError::Private));
        let oct = json!({"kty": "oct", "k": "c2VjcmV0"});
        assert_eq!(registered_key(&oct).err(), Some(KeyError::Private));
        let short = json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"});
        assert_eq!(registered_key(&short).err(), Some(KeyError::Unsupported));
    }

    #[test]
    fn malformed_compact_serializations_do_not_parse() {
        for token in ["", "a.b", "a.b.c.d", "e30.W10.c2ln", "!!.e30.c2ln"] {
            assert!(Jws::parse(token).is_none(), "{token}");
        }
        let ok = Jws::parse("eyJhbGciOiJFUzI1NiJ9.e30.c2ln").expect("parses");
        assert_eq!(ok.asymmetric_alg(), Some(Algorithm::ES256));
    }
}
