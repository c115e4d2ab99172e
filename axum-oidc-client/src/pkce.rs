//! Proof Key for Code Exchange (RFC 7636).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest as _;

use crate::secret::{PkceCodeVerifier, random_token};

/// The `code_challenge_method` (RFC 7636 section 4.2).
///
/// ```
/// use axum_oidc_client::CodeChallengeMethod;
///
/// assert_eq!(CodeChallengeMethod::default(), CodeChallengeMethod::S256);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CodeChallengeMethod {
    /// `S256`: the only method RFC 9700 section 2.1.1 allows when the client can hash.
    #[default]
    S256,
    /// `plain`: the verifier travels in clear. Only through
    /// `OAuthConfigurationBuilder::insecure_with_plain_pkce`.
    InsecurePlain,
}

impl CodeChallengeMethod {
    /// The wire name.
    ///
    /// ```
    /// use axum_oidc_client::CodeChallengeMethod;
    ///
    /// assert_eq!(CodeChallengeMethod::S256.as_str(), "S256");
    /// assert_eq!(CodeChallengeMethod::InsecurePlain.as_str(), "plain");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::InsecurePlain => "plain",
        }
    }
}

/// A fresh verifier: 32 random bytes, base64url (43 characters, RFC 7636 section 4.1).
pub fn new_verifier() -> PkceCodeVerifier {
    PkceCodeVerifier::new(random_token(32))
}

/// The `code_challenge` for a verifier (RFC 7636 section 4.2).
pub fn challenge(verifier: &PkceCodeVerifier, method: CodeChallengeMethod) -> String {
    match method {
        CodeChallengeMethod::S256 => {
            URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.secret().as_bytes()))
        }
        CodeChallengeMethod::InsecurePlain => verifier.secret().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        let v = PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            challenge(&v, CodeChallengeMethod::S256),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_have_the_required_length_and_alphabet() {
        let v = new_verifier();
        assert_eq!(v.secret().len(), 43);
        assert!(
            v.secret()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
}
