//! [`DpopKey`]: the client's ES256 key pair, its public JWK and its RFC 7638
//! thumbprint, and the proofs it signs (RFC 9449 section 4.2).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Method;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::DpopError;
use super::htu::strip_query_and_fragment;

/// An ES256 (P-256) key pair for DPoP (RFC 9449), with its public JWK and RFC 7638
/// thumbprint.
///
/// Stored as PKCS#8 ([`to_pkcs8_der`](Self::to_pkcs8_der),
/// [`from_pkcs8_der`](Self::from_pkcs8_der)), so a session can keep it in the store
/// and any instance can sign with it. `Debug` shows only the thumbprint.
///
/// ```
/// use axum_oidc_client::dpop::DpopKey;
///
/// let key = DpopKey::generate()?;
/// let again = DpopKey::from_pkcs8_der(key.to_pkcs8_der())?;
/// assert_eq!(key.thumbprint(), again.thumbprint());
/// assert!(!format!("{key:?}").contains("d\":"));
/// # Ok::<(), axum_oidc_client::dpop::DpopError>(())
/// ```
#[derive(Clone)]
pub struct DpopKey {
    pkcs8: Vec<u8>,
    encoding: EncodingKey,
    x: String,
    y: String,
    thumbprint: String,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("jkt", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A fresh P-256 key pair from the operating system's CSPRNG.
    ///
    /// ```
    /// let key = axum_oidc_client::dpop::DpopKey::generate()?;
    /// assert_eq!(key.thumbprint().len(), 43);
    /// # Ok::<(), axum_oidc_client::dpop::DpopError>(())
    /// ```
    pub fn generate() -> Result<Self, DpopError> {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| DpopError::Key("key generation failed"))?;
        Self::from_pkcs8_der(pkcs8.as_ref())
    }

    /// Reads a P-256 key pair from PKCS#8 DER (RFC 5958), as written by
    /// [`to_pkcs8_der`](Self::to_pkcs8_der).
    ///
    /// ```
    /// # use axum_oidc_client::dpop::{DpopError, DpopKey};
    /// assert!(matches!(DpopKey::from_pkcs8_der(b"not a key"), Err(DpopError::Key(_))));
    /// ```
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, DpopError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| DpopError::Key("not a P-256 PKCS#8 key"))?;
        // An uncompressed point: 0x04 || x || y, 32 bytes each.
        let point = pair.public_key().as_ref();
        if point.len() != 65 || point[0] != 4 {
            return Err(DpopError::Key("unexpected public key encoding"));
        }
        let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
        let y = URL_SAFE_NO_PAD.encode(&point[33..]);
        let thumbprint = ec_thumbprint("P-256", &x, &y);
        Ok(Self {
            pkcs8: der.to_vec(),
            encoding: EncodingKey::from_ec_der(der),
            x,
            y,
            thumbprint,
        })
    }

    /// The private key as PKCS#8 DER. A secret: encrypt it at rest.
    ///
    /// ```
    /// # let key = axum_oidc_client::dpop::DpopKey::generate()?;
    /// let der: Vec<u8> = key.to_pkcs8_der().to_vec();
    /// # let _ = der; Ok::<(), axum_oidc_client::dpop::DpopError>(())
    /// ```
    pub fn to_pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The key as a session stores it: base64url PKCS#8 DER, a secret.
    ///
    /// ```
    /// use axum_oidc_client::dpop::DpopKey;
    /// let key = DpopKey::generate()?;
    /// let stored = key.to_stored();
    /// assert_eq!(DpopKey::from_stored(&stored)?.thumbprint(), key.thumbprint());
    /// assert!(!format!("{stored:?}").contains(stored.secret()));
    /// # Ok::<(), axum_oidc_client::dpop::DpopError>(())
    /// ```
    pub fn to_stored(&self) -> crate::secret::DpopPrivateKey {
        crate::secret::DpopPrivateKey::new(URL_SAFE_NO_PAD.encode(&self.pkcs8))
    }

    /// Reads a key written by [`to_stored`](Self::to_stored).
    ///
    /// ```
    /// use axum_oidc_client::{DpopPrivateKey, dpop::{DpopError, DpopKey}};
    /// assert!(matches!(DpopKey::from_stored(&DpopPrivateKey::new("!")), Err(DpopError::Key(_))));
    /// ```
    pub fn from_stored(stored: &crate::secret::DpopPrivateKey) -> Result<Self, DpopError> {
        let der = URL_SAFE_NO_PAD
            .decode(stored.secret())
            .map_err(|_| DpopError::Key("not base64url"))?;
        Self::from_pkcs8_der(&der)
    }

    /// The public JWK (RFC 7517, RFC 7518 section 6.2.1): `kty`, `crv`, `x`, `y`,
    /// never `d`.
    ///
    /// ```
    /// # let key = axum_oidc_client::dpop::DpopKey::generate()?;
    /// let jwk = key.public_jwk();
    /// assert_eq!(jwk["kty"], "EC");
    /// assert!(jwk.get("d").is_none());
    /// # Ok::<(), axum_oidc_client::dpop::DpopError>(())
    /// ```
    pub fn public_jwk(&self) -> Value {
        json!({"kty": "EC", "crv": "P-256", "x": self.x, "y": self.y})
    }

    /// The RFC 7638 JWK SHA-256 thumbprint, base64url: the `jkt` that binds tokens
    /// to this key (RFC 9449 section 6).
    ///
    /// ```
    /// # let key = axum_oidc_client::dpop::DpopKey::generate()?;
    /// println!("cnf.jkt = {}", key.thumbprint());
    /// # Ok::<(), axum_oidc_client::dpop::DpopError>(())
    /// ```
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// Signs a DPoP proof (RFC 9449 section 4.2) for a request with `method` to
    /// `uri`, issued at `iat` (seconds since the epoch). `htu` is `uri` without query
    /// and fragment; `jti` is 16 fresh random bytes. `nonce` is the server's last
    /// `DPoP-Nonce` (section 8); `access_token`, when the proof accompanies one,
    /// yields `ath` (section 4.2).
    ///
    /// ```
    /// use axum_oidc_client::dpop::DpopKey;
    ///
    /// let key = DpopKey::generate()?;
    /// let proof = key.proof(&http::Method::POST, "https://op.example/token?x=1", 1_700_000_000, None, None)?;
    /// assert_eq!(proof.split('.').count(), 3);
    /// # Ok::<(), axum_oidc_client::dpop::DpopError>(())
    /// ```
    pub fn proof(
        &self,
        method: &Method,
        uri: &str,
        iat: i64,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<String, DpopError> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(super::PROOF_TYP.into());
        header.jwk = Some(
            serde_json::from_value(self.public_jwk()).map_err(|_| DpopError::Key("public JWK"))?,
        );
        let mut claims = json!({
            "jti": crate::secret::random_token(16),
            "htm": method.as_str(),
            "htu": strip_query_and_fragment(uri),
            "iat": iat,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        if let Some(token) = access_token {
            claims["ath"] = access_token_hash(token).into();
        }
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|_| DpopError::Key("signing failed"))
    }
}

/// `ath`: base64url SHA-256 of the access token's ASCII (RFC 9449 section 4.2).
///
/// ```
/// assert_eq!(
///     axum_oidc_client::dpop::access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
///     "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
/// );
/// ```
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// RFC 7638 section 3.2: the required members in lexicographic order, no spaces.
pub(crate) fn ec_thumbprint(crv: &str, x: &str, y: &str) -> String {
    canonical_hash(&json!({"crv": crv, "kty": "EC", "x": x, "y": y}))
}

/// SHA-256 of the JSON serialisation of `members` (a `serde_json` map keeps its
/// keys sorted, as RFC 7638 requires), base64url.
pub(crate) fn canonical_hash(members: &Value) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(members.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thumbprint_matches_the_rfc_7638_canonical_form() {
        // RFC 7638 section 3.1 uses an RSA key; this is the same computation for the
        // EC members, spelled out by hand.
        let key = DpopKey::generate().unwrap();
        let jwk = key.public_jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        assert_eq!(key.thumbprint(), expected);
        // And jsonwebtoken's own RFC 7638 implementation agrees.
        let parsed: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk).unwrap();
        assert_eq!(
            parsed
                .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
                .unwrap(),
            expected
        );
    }

    #[test]
    fn a_key_survives_a_pkcs8_round_trip() {
        let key = DpopKey::generate().unwrap();
        let again = DpopKey::from_pkcs8_der(key.to_pkcs8_der()).unwrap();
        assert_eq!(key.public_jwk(), again.public_jwk());
        assert_eq!(key.thumbprint(), again.thumbprint());
    }

    #[test]
    fn debug_shows_no_private_key() {
        let key = DpopKey::generate().unwrap();
        let text = format!("{key:?}");
        assert!(text.contains(key.thumbprint()));
        assert!(!text.contains(&URL_SAFE_NO_PAD.encode(key.to_pkcs8_der())));
        assert!(!text.contains("pkcs8"));
    }

    #[test]
    fn a_proof_has_the_rfc_9449_header_and_claims() {
        let key = DpopKey::generate().unwrap();
        let proof = key
            .proof(
                &Method::GET,
                "https://API.example:443/r?q=1#f",
                1_700_000_000,
                Some("n-1"),
                Some("token"),
            )
            .unwrap();
        let mut parts = proof.split('.');
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap())
                .unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap())
                .unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert!(header["jwk"].get("d").is_none());
        assert_eq!(header["jwk"]["x"], key.public_jwk()["x"]);
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "https://API.example:443/r");
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(claims["ath"], access_token_hash("token"));
        assert!(claims["jti"].as_str().unwrap().len() >= 22);
        let other = key
            .proof(&Method::GET, "https://api.example/r", 1, None, None)
            .unwrap();
        let other: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(other.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_ne!(other["jti"], claims["jti"], "jti is fresh");
        assert!(other.get("nonce").is_none() && other.get("ath").is_none());
    }
}
