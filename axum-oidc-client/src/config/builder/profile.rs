//! DPoP-bound tokens and the FAPI 2.0 Security Profile preset.

use super::OAuthConfigurationBuilder;
use crate::config::{ClientAuthMethod, ConfigError};
use crate::jose::SigningAlgorithm;
use crate::pkce::CodeChallengeMethod;

/// A security profile: a preset that switches on what a profile requires and refuses
/// weaker settings when the configuration is built
/// ([`OAuthConfigurationBuilder::with_security_profile`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityProfile {
    /// The FAPI 2.0 Security Profile (final, 2025), section 5.3.2 (clients):
    /// - pushed authorization requests (RFC 9126), section 5.3.2.2 item 2;
    /// - PKCE with S256 (RFC 7636), item 3 (the library never sends `plain` unless
    ///   told to; the profile refuses that);
    /// - sender-constrained tokens, here DPoP (RFC 9449), section 5.3.2.1 item 1;
    /// - asymmetric client authentication, here `private_key_jwt` (RFC 7523), section
    ///   5.3.2.1 item 2: `client_secret_basic`, `client_secret_post`,
    ///   `client_secret_jwt` and public clients are refused;
    /// - the authorization response's `iss` (RFC 9207), required and checked,
    ///   section 5.3.2.2 item 7;
    /// - ID tokens signed with PS256, ES256 or EdDSA only (section 5.4.1), unless
    ///   [`with_allowed_algorithms`](OAuthConfigurationBuilder::with_allowed_algorithms)
    ///   names a subset of them.
    Fapi2,
}

impl SecurityProfile {
    /// The name in `OIDC_PROFILE`: `fapi2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fapi2 => "fapi2",
        }
    }

    /// Reads a profile name as in `OIDC_PROFILE`.
    ///
    /// ```
    /// use axum_oidc_client::SecurityProfile;
    /// assert_eq!(SecurityProfile::parse("fapi2"), Some(SecurityProfile::Fapi2));
    /// assert_eq!(SecurityProfile::parse("FAPI2"), Some(SecurityProfile::Fapi2));
    /// assert_eq!(SecurityProfile::parse("fapi1"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        name.trim()
            .eq_ignore_ascii_case("fapi2")
            .then_some(Self::Fapi2)
    }
}

/// The ID token algorithms FAPI 2.0 allows (Security Profile section 5.4.1).
pub(crate) const FAPI2_ALGORITHMS: &[SigningAlgorithm] = &[
    SigningAlgorithm::PS256,
    SigningAlgorithm::ES256,
    SigningAlgorithm::EdDSA,
];

fn refused(reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name: "security_profile",
        reason: reason.into(),
    }
}

impl OAuthConfigurationBuilder {
    /// Binds every session's tokens to a key of its own (DPoP, RFC 9449): at login a
    /// fresh ES256 key pair is made for the session and kept with it in the store
    /// (encrypted at rest with the session, like its tokens), so that any instance
    /// can refresh. Token requests and refreshes carry a DPoP proof of it; a
    /// `DPoP-Nonce` challenge (section 8) is answered with one retry; the response
    /// must have `token_type` `DPoP`, and a JWT access token's `cnf.jkt` must be the
    /// session key's thumbprint. UserInfo calls and the BFF proxy send
    /// `Authorization: DPoP` with a proof. A provider that answers with a bearer
    /// token fails the login with `dpop_not_bound`. With named providers, `true` here
    /// is every provider's default.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), axum_oidc_client::ConfigError> {
    /// use axum_oidc_client::OAuthConfigurationBuilder;
    /// let config = OAuthConfigurationBuilder::default()
    ///     .with_client_id("my-app")
    ///     .with_app_url("https://app.example")
    ///     .with_dpop(true)
    ///     .with_private_cookie_key(std::env::var("COOKIE_KEY").unwrap_or_default())
    ///     .with_issuer("https://login.example")
    ///     .await?
    ///     .build()?;
    /// # let _ = config; Ok(()) }
    /// ```
    pub fn with_dpop(mut self, dpop: bool) -> Self {
        self.dpop = Some(dpop);
        self
    }

    /// Applies a security profile ([`SecurityProfile::Fapi2`]): it switches on what
    /// the profile requires, and [`build`](Self::build) refuses a setting that
    /// weakens it (a shared-secret client authentication, PAR or DPoP turned off,
    /// `plain` PKCE, an ID token algorithm the profile does not allow).
    ///
    /// ```
    /// use axum_oidc_client::{ClientAuthMethod, ConfigError, OAuthConfigurationBuilder, SecurityProfile};
    ///
    /// let e = OAuthConfigurationBuilder::default()
    ///     .with_client_id("my-app")
    ///     .with_client_secret("s3cret")
    ///     .with_client_auth_method(ClientAuthMethod::ClientSecretBasic)
    ///     .with_app_url("https://app.example")
    ///     .with_authorization_endpoint("https://login.example/authorize")
    ///     .with_token_endpoint("https://login.example/token")
    ///     .with_security_profile(SecurityProfile::Fapi2)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(e, ConfigError::Invalid { name: "security_profile", .. }), "{e}");
    /// ```
    pub fn with_security_profile(mut self, profile: SecurityProfile) -> Self {
        self.security_profile = Some(profile);
        self
    }

    /// Switches on what the profile requires and refuses what weakens it. Runs on the
    /// builder and on each named provider's settings.
    pub(super) fn apply_security_profile(&mut self) -> Result<(), ConfigError> {
        let Some(SecurityProfile::Fapi2) = self.security_profile else {
            return Ok(());
        };
        match self.client_auth {
            Some(ClientAuthMethod::PrivateKeyJwt) => {}
            None if !self.client_keys.is_empty() => {
                self.client_auth = Some(ClientAuthMethod::PrivateKeyJwt);
            }
            None => {
                return Err(refused(
                    "FAPI 2.0 requires private_key_jwt: give a signing key \
                     (with_client_signing_key, OIDC_CLIENT_KEY_FILE)",
                ));
            }
            Some(other) => {
                return Err(refused(format!(
                    "FAPI 2.0 refuses the client authentication {} (it requires \
                     private_key_jwt, FAPI 2.0 Security Profile section 5.3.2.1)",
                    other.as_str()
                )));
            }
        }
        if self.par_disabled {
            return Err(refused(
                "FAPI 2.0 requires pushed authorization requests (RFC 9126): \
                 with_pushed_authorization_requests(false) is refused",
            ));
        }
        self.pushed_authorization_requests = true;
        if self.dpop == Some(false) {
            return Err(refused(
                "FAPI 2.0 requires sender-constrained tokens: with_dpop(false) is refused",
            ));
        }
        self.dpop = Some(true);
        if self.insecure_plain_pkce || self.pkce.is_some_and(|m| m != CodeChallengeMethod::S256) {
            return Err(refused("FAPI 2.0 requires PKCE with S256"));
        }
        self.pkce = Some(CodeChallengeMethod::S256);
        match &self.algorithms {
            Some(algs) if algs.iter().any(|a| !FAPI2_ALGORITHMS.contains(a)) => {
                return Err(refused(
                    "FAPI 2.0 allows ID tokens signed with PS256, ES256 or EdDSA only \
                     (section 5.4.1)",
                ));
            }
            Some(_) => {}
            None => self.algorithms = Some(FAPI2_ALGORITHMS.to_vec()),
        }
        Ok(())
    }

    /// Whether this builder's provider must send `iss` in its authorization
    /// responses (RFC 9207): under FAPI 2.0 always, else when its metadata says so.
    pub(super) fn requires_response_iss(&self) -> bool {
        self.security_profile == Some(SecurityProfile::Fapi2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_auth::ClientSigningKey;

    fn key() -> ClientSigningKey {
        let doc = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .unwrap();
        ClientSigningKey::from_pkcs8_der(doc.as_ref(), None).unwrap()
    }

    fn fapi() -> OAuthConfigurationBuilder {
        OAuthConfigurationBuilder::default()
            .with_client_id("c")
            .with_security_profile(SecurityProfile::Fapi2)
    }

    fn reason(mut b: OAuthConfigurationBuilder) -> String {
        match b.apply_security_profile() {
            Err(ConfigError::Invalid {
                name: "security_profile",
                reason,
            }) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fapi2_switches_on_par_dpop_private_key_jwt_s256_and_its_algorithms() {
        let mut b = fapi().with_client_signing_key(key());
        b.apply_security_profile().unwrap();
        assert!(b.pushed_authorization_requests);
        assert_eq!(b.dpop, Some(true));
        assert_eq!(b.client_auth, Some(ClientAuthMethod::PrivateKeyJwt));
        assert_eq!(b.pkce, Some(CodeChallengeMethod::S256));
        assert_eq!(b.algorithms.as_deref(), Some(FAPI2_ALGORITHMS));
        assert!(b.requires_response_iss());
    }

    #[test]
    fn fapi2_refuses_client_secret_basic() {
        let b = fapi()
            .with_client_secret("s")
            .with_client_auth_method(ClientAuthMethod::ClientSecretBasic);
        assert!(reason(b).contains("client_secret_basic"));
    }

    #[test]
    fn fapi2_refuses_a_client_without_a_signing_key() {
        assert!(reason(fapi().with_client_secret("s")).contains("private_key_jwt"));
    }

    #[test]
    fn fapi2_refuses_a_disabled_par() {
        let b = fapi()
            .with_client_signing_key(key())
            .with_pushed_authorization_requests(false);
        assert!(reason(b).contains("pushed authorization requests"));
    }

    #[test]
    fn fapi2_refuses_a_disabled_dpop() {
        let b = fapi().with_client_signing_key(key()).with_dpop(false);
        assert!(reason(b).contains("with_dpop(false)"));
    }

    #[test]
    fn fapi2_refuses_rs256_id_tokens() {
        let b = fapi()
            .with_client_signing_key(key())
            .with_allowed_algorithms(vec![SigningAlgorithm::RS256, SigningAlgorithm::PS256]);
        assert!(reason(b).contains("PS256, ES256 or EdDSA"));
    }

    #[test]
    fn without_a_profile_nothing_changes() {
        let mut b = OAuthConfigurationBuilder::default().with_client_secret("s");
        b.apply_security_profile().unwrap();
        assert!(!b.pushed_authorization_requests);
        assert_eq!(b.dpop, None);
        assert!(!b.requires_response_iss());
    }
}
