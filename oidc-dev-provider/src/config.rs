//! Configuration of the development provider: bind address, issuer,
//! registered clients, demo users and token lifetimes.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::error::DevProviderError;

/// How a client authenticates at the token and revocation endpoints
/// (OIDC Core 9, RFC 6749 2.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ClientAuthMethod {
    /// `client_secret_basic`: HTTP Basic with the form-urlencoded client id
    /// and secret (RFC 6749 2.3.1). The default for confidential clients.
    #[default]
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body
    /// (RFC 6749 2.3.1).
    ClientSecretPost,
    /// `none`: a public client that only sends `client_id` and proves
    /// possession of the authorization code with PKCE (RFC 7636).
    None,
    /// `private_key_jwt`: a JWT assertion signed with one of the client's
    /// registered keys (RFC 7523 sections 2.2 and 3, OIDC Core 9).
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    /// The registered name of the method, as used in
    /// `token_endpoint_auth_methods_supported` (OIDC Discovery 1.0 section 3).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// Algorithm used to sign ID tokens, access tokens and logout tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over a 2048-bit key. The default,
    /// because every relying party must support it (OIDC Core 15.1).
    #[default]
    RS256,
    /// ECDSA over P-256 with SHA-256.
    ES256,
}

impl SigningAlg {
    /// The JOSE name of the algorithm (RFC 7518 3.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
        }
    }
}

/// A relying party known to the provider (the static equivalent of the
/// client metadata of OpenID Connect Dynamic Client Registration 1.0 section 2).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientRegistration {
    /// The `client_id`.
    pub client_id: String,
    /// The client secret; `None` makes this a public client that must use
    /// PKCE and authenticates with method `none`.
    pub client_secret: Option<String>,
    /// Allowed `redirect_uri` values, compared by exact string match
    /// (OIDC Core 3.1.2.1).
    pub redirect_uris: Vec<String>,
    /// Allowed `post_logout_redirect_uri` values (OpenID Connect RP-Initiated
    /// Logout 1.0 section 3.1).
    pub post_logout_redirect_uris: Vec<String>,
    /// Where logout tokens are POSTed (OpenID Connect Back-Channel Logout 1.0
    /// section 2.2).
    pub backchannel_logout_uri: Option<String>,
    /// Registered client authentication method. Ignored (treated as `None`)
    /// when `client_secret` is `None`, except `PrivateKeyJwt`, which needs no
    /// secret but [`jwks`](Self::jwks).
    pub auth_method: ClientAuthMethod,
    /// The client's public keys for `private_key_jwt` (the `jwks` client
    /// metadata of OpenID Connect Dynamic Client Registration 1.0 section 2):
    /// public JWKs (RFC 7517) of type RSA, EC P-256 or OKP Ed25519.
    pub jwks: Vec<serde_json::Value>,
    /// The `dpop_bound_access_tokens` client metadata (RFC 9449 section 5.2):
    /// token requests without a DPoP proof are refused.
    pub dpop_bound_access_tokens: bool,
    /// The `require_pushed_authorization_requests` client metadata (RFC 9126
    /// section 6): authorization requests must come through the PAR endpoint.
    pub require_pushed_authorization_requests: bool,
}

/// Redacts the secret so that logging a configuration never leaks it.
impl std::fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("redirect_uris", &self.redirect_uris)
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .field("backchannel_logout_uri", &self.backchannel_logout_uri)
            .field("auth_method", &self.auth_method)
            .field("jwks", &self.jwks)
            .field("dpop_bound_access_tokens", &self.dpop_bound_access_tokens)
            .field(
                "require_pushed_authorization_requests",
                &self.require_pushed_authorization_requests,
            )
            .finish()
    }
}

impl ClientRegistration {
    /// A confidential client using `client_secret_basic`.
    pub fn confidential(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Some(client_secret.into()),
            redirect_uris: vec![redirect_uri.into()],
            ..Self::default()
        }
    }

    /// A public client (no secret, method `none`, PKCE only).
    pub fn public(client_id: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            redirect_uris: vec![redirect_uri.into()],
            auth_method: ClientAuthMethod::None,
            ..Self::default()
        }
    }

    /// A client authenticating with `private_key_jwt` (RFC 7523 section 2.2)
    /// with the public JWK `jwk`, and no secret.
    ///
    /// ```
    /// use oidc_dev_provider::{ClientAuthMethod, ClientRegistration};
    ///
    /// let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519",
    ///     "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
    /// let client = ClientRegistration::private_key_jwt("app", jwk, "http://localhost/cb");
    /// assert_eq!(client.effective_auth_method(), ClientAuthMethod::PrivateKeyJwt);
    /// ```
    pub fn private_key_jwt(
        client_id: impl Into<String>,
        jwk: serde_json::Value,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            redirect_uris: vec![redirect_uri.into()],
            auth_method: ClientAuthMethod::PrivateKeyJwt,
            jwks: vec![jwk],
            ..Self::default()
        }
    }

    /// Registers another public JWK for `private_key_jwt`.
    pub fn with_jwk(mut self, jwk: serde_json::Value) -> Self {
        self.jwks.push(jwk);
        self
    }

    /// Requires a DPoP proof on every token request of this client
    /// (RFC 9449 section 5.2, `dpop_bound_access_tokens`).
    pub fn with_dpop_bound_access_tokens(mut self, required: bool) -> Self {
        self.dpop_bound_access_tokens = required;
        self
    }

    /// Requires pushed authorization requests from this client (RFC 9126
    /// section 6, `require_pushed_authorization_requests`).
    pub fn with_require_pushed_authorization_requests(mut self, required: bool) -> Self {
        self.require_pushed_authorization_requests = required;
        self
    }

    /// Adds another allowed redirect URI.
    pub fn with_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Adds an allowed post-logout redirect URI.
    pub fn with_post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uris.push(uri.into());
        self
    }

    /// Sets the back-channel logout URI.
    pub fn with_backchannel_logout_uri(mut self, uri: impl Into<String>) -> Self {
        self.backchannel_logout_uri = Some(uri.into());
        self
    }

    /// Sets the client authentication method.
    pub fn with_auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// The method this client actually has to use: `PrivateKeyJwt` when
    /// registered so, else `None` for clients without a secret, the registered
    /// one otherwise.
    pub fn effective_auth_method(&self) -> ClientAuthMethod {
        match (&self.client_secret, self.auth_method) {
            (_, ClientAuthMethod::PrivateKeyJwt) => ClientAuthMethod::PrivateKeyJwt,
            (None, _) => ClientAuthMethod::None,
            (Some(_), method) => method,
        }
    }

    /// Whether this client cannot keep a secret (RFC 6749 2.1): it
    /// authenticates with `none`.
    pub(crate) fn is_public(&self) -> bool {
        self.effective_auth_method() == ClientAuthMethod::None
    }
}

/// An end-user that can sign in at the provider.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DemoUser {
    /// Subject identifier (`sub`), stable and unique (OIDC Core 2).
    pub sub: String,
    /// Login name, also returned as `preferred_username`.
    pub username: String,
    /// Password accepted by the login form.
    pub password: String,
    /// Full name (`name` claim).
    pub name: String,
    /// E-mail address (`email` claim).
    pub email: String,
    /// Value of the `email_verified` claim.
    pub email_verified: bool,
    /// The `groups` claim of the user's ID tokens, access tokens and UserInfo.
    pub groups: Vec<String>,
}

/// Redacts the password so that logging a configuration never leaks it.
impl std::fmt::Debug for DemoUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoUser")
            .field("sub", &self.sub)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("email_verified", &self.email_verified)
            .field("groups", &self.groups)
            .finish()
    }
}

impl DemoUser {
    /// A user whose password equals the username, with `sub` = `user-{username}`,
    /// a verified e-mail address and no groups.
    pub fn new(
        username: impl Into<String>,
        name: impl Into<String>,
        email: impl Into<String>,
    ) -> Self {
        let username = username.into();
        Self {
            sub: format!("user-{username}"),
            password: username.clone(),
            username,
            name: name.into(),
            email: email.into(),
            email_verified: true,
            groups: Vec::new(),
        }
    }

    /// The same user in `groups` (the `groups` claim).
    ///
    /// ```
    /// use oidc_dev_provider::DemoUser;
    ///
    /// let dora = DemoUser::new("dora", "Dora D", "dora@example.com").with_groups(["ops"]);
    /// assert_eq!(dora.groups, ["ops"]);
    /// ```
    pub fn with_groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// The three default users: alice, bob and carol (password = username).
    /// Carol's e-mail address is not verified, to exercise that claim. Groups: alice
    /// `["admin", "staff"]`, bob `["staff"]`, carol none.
    pub fn defaults() -> Vec<Self> {
        let mut carol = Self::new("carol", "Carol Clark", "carol@example.com");
        carol.email_verified = false;
        vec![
            Self::new("alice", "Alice Anderson", "alice@example.com")
                .with_groups(["admin", "staff"]),
            Self::new("bob", "Bob Brown", "bob@example.com").with_groups(["staff"]),
            carol,
        ]
    }
}

/// Settings for [`DevProvider::start`](crate::DevProvider::start).
#[derive(Clone, Debug)]
pub struct DevProviderConfig {
    /// Address to listen on; port 0 picks a free port. Default `127.0.0.1:0`.
    pub bind: SocketAddr,
    /// Issuer identifier (OIDC Core 2). Default: `http://{bound address}`
    /// without a trailing slash. A path component is allowed; the endpoints
    /// are then served below it.
    pub issuer: Option<String>,
    /// Registered relying parties. Default: none.
    pub clients: Vec<ClientRegistration>,
    /// Users who can sign in. Default: [`DemoUser::defaults`].
    pub users: Vec<DemoUser>,
    /// Lifetime of access tokens. Default 300 s.
    pub access_token_ttl: Duration,
    /// Lifetime of ID tokens. Default 300 s.
    pub id_token_ttl: Duration,
    /// Lifetime of refresh tokens. Default one day.
    pub refresh_token_ttl: Duration,
    /// Lifetime of authorization codes. Default 60 s.
    pub code_ttl: Duration,
    /// Issue a new refresh token on every refresh and invalidate the old one.
    /// Reusing a rotated token revokes the whole grant. Default `true`.
    pub rotate_refresh_tokens: bool,
    /// Add `iss` to authorization responses and advertise it (RFC 9207).
    /// Default `true`.
    pub advertise_iss_parameter: bool,
    /// Algorithm for all JWTs the provider signs. Default RS256.
    pub signing_alg: SigningAlg,
    /// Require a server-provided nonce in DPoP proofs at the token and PAR
    /// endpoints (RFC 9449 section 8). Default `false`.
    pub dpop_nonce: bool,
}

impl Default for DevProviderConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            issuer: None,
            clients: Vec::new(),
            users: DemoUser::defaults(),
            access_token_ttl: Duration::from_secs(300),
            id_token_ttl: Duration::from_secs(300),
            refresh_token_ttl: Duration::from_secs(24 * 60 * 60),
            code_ttl: Duration::from_secs(60),
            rotate_refresh_tokens: true,
            advertise_iss_parameter: true,
            signing_alg: SigningAlg::RS256,
            dpop_nonce: false,
        }
    }
}

impl DevProviderConfig {
    /// Sets the listen address.
    pub fn with_bind(mut self, bind: SocketAddr) -> Self {
        self.bind = bind;
        self
    }

    /// Sets an explicit issuer (e.g. when the provider sits behind a proxy).
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Registers a client.
    pub fn with_client(mut self, client: ClientRegistration) -> Self {
        self.clients.push(client);
        self
    }

    /// Replaces the user list.
    pub fn with_users(mut self, users: Vec<DemoUser>) -> Self {
        self.users = users;
        self
    }

    /// Sets the access token lifetime.
    pub fn with_access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = ttl;
        self
    }

    /// Sets the ID token lifetime.
    pub fn with_id_token_ttl(mut self, ttl: Duration) -> Self {
        self.id_token_ttl = ttl;
        self
    }

    /// Sets the refresh token lifetime.
    pub fn with_refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_token_ttl = ttl;
        self
    }

    /// Sets the authorization code lifetime.
    pub fn with_code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = ttl;
        self
    }

    /// Turns refresh token rotation on or off.
    pub fn with_rotate_refresh_tokens(mut self, rotate: bool) -> Self {
        self.rotate_refresh_tokens = rotate;
        self
    }

    /// Turns the RFC 9207 `iss` authorization response parameter on or off.
    pub fn with_advertise_iss_parameter(mut self, advertise: bool) -> Self {
        self.advertise_iss_parameter = advertise;
        self
    }

    /// Sets the JWT signing algorithm.
    pub fn with_signing_alg(mut self, alg: SigningAlg) -> Self {
        self.signing_alg = alg;
        self
    }

    /// Turns the DPoP nonce requirement (RFC 9449 section 8) on or off.
    pub fn with_dpop_nonce(mut self, required: bool) -> Self {
        self.dpop_nonce = required;
        self
    }

    /// Checks the registrations for mistakes that would otherwise surface as
    /// confusing protocol errors.
    pub(crate) fn validate(&self) -> Result<(), DevProviderError> {
        let invalid = |msg: String| Err(DevProviderError::InvalidConfig(msg));
        let mut seen = std::collections::HashSet::new();
        for client in &self.clients {
            if client.client_id.is_empty() {
                return invalid("a client has an empty client_id".into());
            }
            if !seen.insert(client.client_id.as_str()) {
                return invalid(format!(
                    "client_id {} is registered twice",
                    client.client_id
                ));
            }
            if client.client_secret.is_some() && client.auth_method == ClientAuthMethod::None {
                return invalid(format!(
                    "client {} has a secret but auth_method None",
                    client.client_id
                ));
            }
            check_jwks(client)?;
            // RFC 6749 3.1.2: absolute URI without a fragment.
            let uris = client
                .redirect_uris
                .iter()
                .chain(&client.post_logout_redirect_uris);
            for uri in uris.chain(client.backchannel_logout_uri.iter()) {
                match url::Url::parse(uri) {
                    Ok(u) if u.fragment().is_none() => {}
                    _ => {
                        return invalid(format!(
                            "client {}: {uri:?} is not an absolute URI without fragment",
                            client.client_id
                        ));
                    }
                }
            }
        }
        let mut names = std::collections::HashSet::new();
        for user in &self.users {
            if user.sub.is_empty() || !names.insert(user.username.as_str()) {
                return invalid(format!("user {:?} is empty or duplicated", user.username));
            }
        }
        Ok(())
    }
}

/// A `private_key_jwt` client has a secret of none and at least one usable
/// public key; its keys have no private members (RFC 7518 section 6).
fn check_jwks(client: &ClientRegistration) -> Result<(), DevProviderError> {
    let invalid = |msg: &str| {
        Err(DevProviderError::InvalidConfig(format!(
            "client {}: {msg}",
            client.client_id
        )))
    };
    if client.auth_method != ClientAuthMethod::PrivateKeyJwt {
        return Ok(());
    }
    if client.client_secret.is_some() {
        return invalid("a private_key_jwt client has no secret");
    }
    if client.jwks.is_empty() {
        return invalid("private_key_jwt needs at least one public JWK");
    }
    for jwk in &client.jwks {
        if let Err(e) = crate::jws::registered_key(jwk) {
            return invalid(&format!("unusable JWK: {e}"));
        }
    }
    Ok(())
}
