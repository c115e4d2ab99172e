//! The JWS signature algorithms the library accepts (RFC 7518 section 3).

use jsonwebtoken::Algorithm;

/// Signature algorithms that may be allowed (OIDC Core 3.1.3.7 step 6-8, RFC 7518).
///
/// `none` and the HMAC family are not representable here: a public key can never be
/// used as an HMAC secret.
///
/// ```
/// use axum_oidc_client::SigningAlgorithm;
///
/// // Names from a token header or configuration; `none` and HMAC never parse.
/// assert_eq!(SigningAlgorithm::from_name("ES256"), Some(SigningAlgorithm::ES256));
/// assert_eq!(SigningAlgorithm::from_name("none"), None);
/// assert_eq!(SigningAlgorithm::from_name("HS256"), None);
/// for alg in SigningAlgorithm::ALL {
///     assert_eq!(SigningAlgorithm::from_name(alg.name()), Some(alg));
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA with P-256 and SHA-256.
    ES256,
    /// ECDSA with P-384 and SHA-384.
    ES384,
    /// EdDSA with Ed25519.
    EdDSA,
}

impl SigningAlgorithm {
    /// Every algorithm this library accepts, the default allow-list.
    pub const ALL: [SigningAlgorithm; 9] = [
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::EdDSA,
    ];

    /// Parses the JOSE `alg` name. `none` and `HS*` give `None`.
    ///
    /// ```
    /// use axum_oidc_client::SigningAlgorithm;
    ///
    /// assert_eq!(SigningAlgorithm::from_name("RS256"), Some(SigningAlgorithm::RS256));
    /// assert_eq!(SigningAlgorithm::from_name("rs256"), None, "names are case-sensitive");
    /// assert_eq!(SigningAlgorithm::from_name("HS512"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "RS256" => Self::RS256,
            "RS384" => Self::RS384,
            "RS512" => Self::RS512,
            "PS256" => Self::PS256,
            "PS384" => Self::PS384,
            "PS512" => Self::PS512,
            "ES256" => Self::ES256,
            "ES384" => Self::ES384,
            "EdDSA" => Self::EdDSA,
            _ => return None,
        })
    }

    /// The JOSE `alg` name.
    ///
    /// ```
    /// use axum_oidc_client::SigningAlgorithm;
    ///
    /// assert_eq!(SigningAlgorithm::EdDSA.name(), "EdDSA");
    /// assert_eq!(SigningAlgorithm::PS256.to_string(), "PS256");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
        }
    }

    /// The JWK `kty` a key must have for this algorithm (RFC 7518 section 6.1).
    ///
    /// ```
    /// use axum_oidc_client::SigningAlgorithm;
    ///
    /// assert_eq!(SigningAlgorithm::PS384.key_type(), "RSA");
    /// assert_eq!(SigningAlgorithm::ES256.key_type(), "EC");
    /// assert_eq!(SigningAlgorithm::EdDSA.key_type(), "OKP");
    /// ```
    pub fn key_type(self) -> &'static str {
        match self {
            Self::ES256 | Self::ES384 => "EC",
            Self::EdDSA => "OKP",
            _ => "RSA",
        }
    }

    /// The JWK `crv` a key must have, where the algorithm fixes one.
    ///
    /// ```
    /// use axum_oidc_client::SigningAlgorithm;
    ///
    /// assert_eq!(SigningAlgorithm::ES384.curve(), Some("P-384"));
    /// assert_eq!(SigningAlgorithm::RS256.curve(), None);
    /// ```
    pub fn curve(self) -> Option<&'static str> {
        match self {
            Self::ES256 => Some("P-256"),
            Self::ES384 => Some("P-384"),
            Self::EdDSA => Some("Ed25519"),
            _ => None,
        }
    }

    pub(crate) fn to_jsonwebtoken(self) -> Algorithm {
        match self {
            Self::RS256 => Algorithm::RS256,
            Self::RS384 => Algorithm::RS384,
            Self::RS512 => Algorithm::RS512,
            Self::PS256 => Algorithm::PS256,
            Self::PS384 => Algorithm::PS384,
            Self::PS512 => Algorithm::PS512,
            Self::ES256 => Algorithm::ES256,
            Self::ES384 => Algorithm::ES384,
            Self::EdDSA => Algorithm::EdDSA,
        }
    }

    /// The hash used for `at_hash` (OIDC Core 3.1.3.6): the one the `alg` uses.
    pub(crate) fn hash_len(self) -> HashLen {
        match self {
            Self::RS256 | Self::PS256 | Self::ES256 => HashLen::Sha256,
            Self::RS384 | Self::PS384 | Self::ES384 => HashLen::Sha384,
            // Ed25519 signs with SHA-512 internally.
            Self::RS512 | Self::PS512 | Self::EdDSA => HashLen::Sha512,
        }
    }
}

impl std::fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum HashLen {
    Sha256,
    Sha384,
    Sha512,
}
