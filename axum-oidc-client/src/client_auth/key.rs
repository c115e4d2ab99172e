//! [`ClientSigningKey`]: a private key the client signs its `private_key_jwt`
//! assertions with (RFC 7523 section 2.2, OIDC Core 9), its public JWK (RFC 7517) and
//! its `kid`, by default the RFC 7638 thumbprint.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPairComponents, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use super::ClientAuthError;

/// A private key for `private_key_jwt` (RFC 7523 section 2.2): RS256 or PS256 (RSA),
/// ES256 (P-256) or EdDSA (Ed25519).
///
/// Read from PKCS#8 PEM ([`from_pkcs8_pem`](Self::from_pkcs8_pem)) or from a private
/// JWK ([`from_jwk`](Self::from_jwk)). Without a configured `kid` the key's RFC 7638
/// thumbprint is its `kid`. `Debug` shows only the algorithm and the `kid`.
///
/// ```
/// use axum_oidc_client::client_auth::ClientSigningKey;
///
/// let pem = "-----BEGIN PRIVATE KEY-----
/// MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
/// -----END PRIVATE KEY-----";
/// let key = ClientSigningKey::from_pkcs8_pem(pem, None)?;
/// assert_eq!(key.public_jwk()["kty"], "OKP");
/// assert!(key.public_jwk().get("d").is_none());
/// assert!(!format!("{key:?}").contains("MC4C"));
/// # Ok::<(), axum_oidc_client::client_auth::ClientAuthError>(())
/// ```
#[derive(Clone)]
pub struct ClientSigningKey {
    algorithm: Algorithm,
    kid: String,
    encoding: EncodingKey,
    /// The public members only (RFC 7638 section 3.2's required members).
    public: Value,
}

impl std::fmt::Debug for ClientSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSigningKey")
            .field("alg", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ClientSigningKey {
    /// Reads a PKCS#8 (RFC 5958) private key in PEM (`-----BEGIN PRIVATE KEY-----`).
    /// RSA keys sign with RS256 ([`with_algorithm`](Self::with_algorithm) picks
    /// PS256), P-256 keys with ES256, Ed25519 keys with EdDSA. `kid` defaults to the
    /// key's RFC 7638 thumbprint.
    ///
    /// ```
    /// # use axum_oidc_client::client_auth::{ClientAuthError, ClientSigningKey};
    /// let e = ClientSigningKey::from_pkcs8_pem("-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----", None);
    /// assert!(matches!(e, Err(ClientAuthError::Key(_))));
    /// ```
    pub fn from_pkcs8_pem(pem: &str, kid: Option<&str>) -> Result<Self, ClientAuthError> {
        let der = pkcs8_der_of_pem(pem)?;
        Self::from_pkcs8_der(&der, kid)
    }

    /// Reads a PKCS#8 (RFC 5958) private key in DER; see
    /// [`from_pkcs8_pem`](Self::from_pkcs8_pem).
    pub fn from_pkcs8_der(der: &[u8], kid: Option<&str>) -> Result<Self, ClientAuthError> {
        let (algorithm, encoding, public) =
            if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der) {
                // An uncompressed point: 0x04 || x || y, 32 bytes each.
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 4 {
                    return Err(ClientAuthError::Key("unexpected EC public key encoding"));
                }
                let public = json!({
                    "crv": "P-256",
                    "kty": "EC",
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..]),
                });
                (Algorithm::ES256, EncodingKey::from_ec_der(der), public)
            } else if let Ok(pair) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
                let public = json!({
                    "crv": "Ed25519",
                    "kty": "OKP",
                    "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
                });
                (Algorithm::EdDSA, EncodingKey::from_ed_der(der), public)
            } else if let Ok(pair) = RsaKeyPair::from_pkcs8(der) {
                let c = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                let public = json!({
                    "e": URL_SAFE_NO_PAD.encode(&c.e),
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(&c.n),
                });
                // jsonwebtoken signs RSA with an RFC 8017 key, which its PEM reader
                // takes out of the PKCS#8 wrapping.
                let pem = pem_of_pkcs8_der(der);
                let encoding = EncodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|_| ClientAuthError::Key("unreadable RSA key"))?;
                (Algorithm::RS256, encoding, public)
            } else {
                return Err(ClientAuthError::Key(
                    "not a PKCS#8 RSA (2048 bits or more), P-256 or Ed25519 private key",
                ));
            };
        let kid = match kid {
            Some(k) if !k.is_empty() => k.to_owned(),
            _ => crate::dpop::canonical_hash(&public),
        };
        Ok(Self {
            algorithm,
            kid,
            encoding,
            public,
        })
    }

    /// Reads a private JWK (RFC 7517, RFC 7518 section 6): `kty` `RSA` (with `d`,
    /// `p`, `q`, `dp`, `dq`, `qi`), `EC` on `P-256` or `OKP` on `Ed25519`, each with
    /// `d`. Its `kid` is kept, else the thumbprint; its `alg`, when present, must
    /// suit the key (`PS256` selects RSASSA-PSS).
    ///
    /// ```
    /// # use axum_oidc_client::client_auth::{ClientAuthError, ClientSigningKey};
    /// let public_only = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    /// assert!(matches!(ClientSigningKey::from_jwk(public_only), Err(ClientAuthError::Key(_))));
    /// ```
    pub fn from_jwk(jwk: &str) -> Result<Self, ClientAuthError> {
        let jwk: Value =
            serde_json::from_str(jwk).map_err(|_| ClientAuthError::Key("not a JSON JWK"))?;
        let member = |name: &'static str| -> Result<Vec<u8>, ClientAuthError> {
            jwk.get(name)
                .and_then(Value::as_str)
                .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
                .ok_or(ClientAuthError::Key(
                    "a JWK member is missing or not base64url",
                ))
        };
        let kid = jwk.get("kid").and_then(Value::as_str);
        let der: Vec<u8> = match (
            jwk.get("kty").and_then(Value::as_str),
            jwk.get("crv").and_then(Value::as_str),
        ) {
            (Some("EC"), Some("P-256")) => {
                let mut point = vec![4u8];
                point.extend(member("x")?);
                point.extend(member("y")?);
                let pair = EcdsaKeyPair::from_private_key_and_public_key(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &member("d")?,
                    &point,
                )
                .map_err(|_| ClientAuthError::Key("EC JWK: d does not match x and y"))?;
                pair.to_pkcs8v1()
                    .map_err(|_| ClientAuthError::Key("EC JWK: no PKCS#8 encoding"))?
                    .as_ref()
                    .to_vec()
            }
            (Some("OKP"), Some("Ed25519")) => {
                let pair = Ed25519KeyPair::from_seed_and_public_key(&member("d")?, &member("x")?)
                    .map_err(|_| ClientAuthError::Key("inconsistent OKP JWK"))?;
                pair.to_pkcs8()
                    .map_err(|_| ClientAuthError::Key("inconsistent OKP JWK"))?
                    .as_ref()
                    .to_vec()
            }
            (Some("RSA"), _) => {
                let components = KeyPairComponents {
                    public_key: PublicKeyComponents {
                        n: member("n")?,
                        e: member("e")?,
                    },
                    d: member("d")?,
                    p: member("p")?,
                    q: member("q")?,
                    dP: member("dp")?,
                    dQ: member("dq")?,
                    qInv: member("qi")?,
                };
                let pair = RsaKeyPair::from_components(&components)
                    .map_err(|_| ClientAuthError::Key("inconsistent RSA JWK"))?;
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'static>>::as_der(&pair)
                    .map_err(|_| ClientAuthError::Key("inconsistent RSA JWK"))?
                    .as_ref()
                    .to_vec()
            }
            _ => {
                return Err(ClientAuthError::Key(
                    "unsupported JWK: kty RSA, EC (P-256) or OKP (Ed25519) only",
                ));
            }
        };
        let key = Self::from_pkcs8_der(&der, kid)?;
        match jwk.get("alg").and_then(Value::as_str) {
            None => Ok(key),
            Some(alg) => {
                let alg = alg
                    .parse::<Algorithm>()
                    .map_err(|_| ClientAuthError::Key("unsupported JWK alg"))?;
                key.with_algorithm(alg)
            }
        }
    }

    /// Signs with `algorithm` instead of the key type's default: `PS256` for an RSA
    /// key. Refused when the algorithm does not suit the key or is not one of RS256,
    /// PS256, ES256, EdDSA.
    ///
    /// ```
    /// # use axum_oidc_client::client_auth::{ClientAuthError, ClientSigningKey};
    /// # let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----";
    /// let ed = ClientSigningKey::from_pkcs8_pem(pem, None)?;
    /// assert!(ed.with_algorithm(jsonwebtoken::Algorithm::PS256).is_err());
    /// # Ok::<(), ClientAuthError>(())
    /// ```
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Result<Self, ClientAuthError> {
        let suits = matches!(
            (self.public["kty"].as_str(), algorithm),
            (Some("RSA"), Algorithm::RS256 | Algorithm::PS256)
                | (Some("EC"), Algorithm::ES256)
                | (Some("OKP"), Algorithm::EdDSA)
        );
        if !suits {
            return Err(ClientAuthError::Key(
                "the algorithm does not suit the key (RS256/PS256 for RSA, ES256 for P-256, \
                 EdDSA for Ed25519)",
            ));
        }
        self.algorithm = algorithm;
        Ok(self)
    }

    /// The JWS `alg` this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The `kid` put in the assertion's header and in the published JWK.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK to publish: the key's public members, `kid`, `alg` and
    /// `use: sig`, never a private member (`d`, `p`, `q`, ...).
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.public.clone();
        jwk["kid"] = self.kid.clone().into();
        jwk["alg"] = format!("{:?}", self.algorithm).into();
        jwk["use"] = "sig".into();
        jwk
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }
}

const PKCS8_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PKCS8_END: &str = "-----END PRIVATE KEY-----";

/// The DER inside a PKCS#8 PEM block (RFC 7468 section 10).
fn pkcs8_der_of_pem(pem: &str) -> Result<Vec<u8>, ClientAuthError> {
    let body = pem
        .trim()
        .strip_prefix(PKCS8_BEGIN)
        .and_then(|rest| rest.trim_end().strip_suffix(PKCS8_END))
        .ok_or(ClientAuthError::Key(
            "not a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----); convert with \
             `openssl pkcs8 -topk8 -nocrypt`",
        ))?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD
        .decode(b64)
        .map_err(|_| ClientAuthError::Key("the PEM body is not base64"))
}

fn pem_of_pkcs8_der(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut pem = String::from(PKCS8_BEGIN);
    for line in b64.as_bytes().chunks(64) {
        pem.push('\n');
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
    }
    pem.push('\n');
    pem.push_str(PKCS8_END);
    pem
}
