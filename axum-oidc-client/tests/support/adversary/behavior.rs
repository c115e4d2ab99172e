//! What a case does ([`Behavior`]) and what its endpoints saw ([`Seen`]).

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::forge::{Key, Sig};

/// What an endpoint does with a value it should send back unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Echo {
    /// Sends it back as it should.
    #[default]
    Same,
    /// Sends another value.
    Changed,
    /// Leaves it out.
    Dropped,
}

/// How the token endpoint answers a grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TokenReply {
    /// A normal token response.
    #[default]
    Normal,
    /// `400 {"error":"invalid_grant"}` (RFC 6749 5.2).
    InvalidGrant,
    /// `500` with an HTML body: the provider is down.
    ServerError,
    /// Never answers (well, after a minute).
    Hang,
}

/// One case's behaviour. `Behavior::default()` is a correct provider.
#[derive(Clone, Debug)]
pub struct Behavior {
    /// The subject of the user who logs in.
    pub sub: String,
    /// `issuer` in the discovery document, instead of the case's issuer.
    pub discovery_issuer: Option<String>,
    /// `iss` of the authorization response and of ID tokens, instead of the case's
    /// issuer: a multi-tenant provider names the user's tenant there (Entra ID's
    /// `https://login.microsoftonline.com/{tid}/v2.0`), its discovery document
    /// ([`Self::discovery_issuer`]) the template.
    pub issued_iss: Option<String>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 section 3).
    pub advertise_iss: bool,
    /// Keys in the JWKS.
    pub jwks: Vec<Key>,
    /// Keys in the JWKS from the second fetch on (a rotation).
    pub jwks_after_first_fetch: Option<Vec<Key>>,
    /// Raw JWKS keys to serve instead of [`Self::jwks`].
    pub jwks_raw: Option<Vec<Value>>,
    /// Status of the JWKS endpoint.
    pub jwks_status: StatusCode,
    /// `state` in the authorization response.
    pub authorize_state: Echo,
    /// `iss` in the authorization response (RFC 9207).
    pub authorize_iss: Echo,
    /// An `error` authorization response (RFC 6749 4.1.2.1) instead of a code.
    pub authorize_error: Option<&'static str>,
    /// Answer to the authorization code grant.
    pub token: TokenReply,
    /// Answer to the refresh token grant.
    pub refresh: TokenReply,
    /// `expires_in` of access tokens.
    pub expires_in: u64,
    /// `token_type` of token responses.
    pub token_type: &'static str,
    /// How login ID tokens are signed.
    pub id_token_sig: Sig,
    /// Claims set on login ID tokens (`null` removes a claim).
    pub id_token_claims: Value,
    /// Whether code exchange responses carry an ID token.
    pub login_returns_id_token: bool,
    /// Whether refresh responses carry an ID token.
    pub refresh_returns_id_token: bool,
    /// How refreshed ID tokens are signed.
    pub refresh_id_token_sig: Sig,
    /// Claims set on refreshed ID tokens (`null` removes a claim).
    pub refresh_id_token_claims: Value,
    /// Claims set on the UserInfo response (`null` removes a claim).
    pub userinfo_claims: Value,
    /// `state` in the redirect after RP-initiated logout.
    pub end_session_state: Echo,
    /// `token_endpoint_auth_methods_supported`; the token endpoint accepts only these
    /// (`client_secret_basic` and `client_secret_post` are understood).
    pub token_auth_methods: Vec<&'static str>,
    /// The pushed authorization request endpoint (RFC 9126); `None` advertises none.
    pub par: Option<ParReply>,
    /// `require_pushed_authorization_requests`: the authorization endpoint refuses a
    /// request without `request_uri`.
    pub require_par: bool,
    /// DPoP at the token endpoint (RFC 9449); `None`: bearer tokens, proofs ignored.
    pub dpop: Option<super::dpop::DpopReply>,
}

/// How the pushed authorization request endpoint answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParReply {
    /// 201 with a `request_uri` (after checking client authentication).
    Normal,
    /// 500 with an HTML body.
    ServerError,
    /// 400 `invalid_request`.
    Refused,
    /// No answer for a minute.
    Hang,
}

impl Default for Behavior {
    fn default() -> Self {
        Self {
            sub: "alice".into(),
            discovery_issuer: None,
            issued_iss: None,
            advertise_iss: true,
            jwks: vec![Key::Rsa1],
            jwks_after_first_fetch: None,
            jwks_raw: None,
            jwks_status: StatusCode::OK,
            authorize_state: Echo::Same,
            authorize_iss: Echo::Same,
            authorize_error: None,
            token: TokenReply::Normal,
            refresh: TokenReply::Normal,
            expires_in: 600,
            token_type: "Bearer",
            id_token_sig: Sig::By(Key::Rsa1),
            id_token_claims: json!({}),
            login_returns_id_token: true,
            refresh_returns_id_token: true,
            refresh_id_token_sig: Sig::By(Key::Rsa1),
            refresh_id_token_claims: json!({}),
            userinfo_claims: json!({}),
            end_session_state: Echo::Same,
            token_auth_methods: vec!["client_secret_basic"],
            par: None,
            require_par: false,
            dpop: None,
        }
    }
}

/// One call to the token endpoint.
#[derive(Clone, Debug)]
pub struct TokenCall {
    /// `grant_type`.
    pub grant_type: String,
    /// The whole form.
    pub form: HashMap<String, String>,
    /// Whether the client authenticated correctly with an advertised method.
    pub client_authenticated: bool,
    /// Whether the request carried an `Authorization` header.
    pub authorization_header: bool,
    /// The request's DPoP proof, read.
    pub dpop: Option<super::dpop::ProofSeen>,
}

/// What a case's endpoints saw.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Discovery document fetches.
    pub discovery: usize,
    /// JWKS fetches.
    pub jwks: usize,
    /// Fetches of the attacker's key set (the `jku` target), which nobody should read.
    pub attacker_jwks: usize,
    /// Authorization requests (query parameters).
    pub authorize: Vec<HashMap<String, String>>,
    /// Token endpoint calls.
    pub token: Vec<TokenCall>,
    /// UserInfo calls.
    pub userinfo: usize,
    /// UserInfo calls with the `DPoP` scheme, with their proofs.
    pub userinfo_dpop: Vec<super::dpop::ProofSeen>,
    /// End-session requests (query parameters).
    pub end_session: Vec<HashMap<String, String>>,
    /// ID tokens issued, in order.
    pub id_tokens: Vec<String>,
    /// Access tokens issued, in order.
    pub access_tokens: Vec<String>,
    /// Provider session ids (`sid`) handed out, one per authorization.
    pub sids: Vec<String>,
    /// Refresh grants that presented an already used (rotated) refresh token; each
    /// revoked its grant.
    pub refresh_token_reuse: usize,
    /// Pushed authorization requests (RFC 9126); `grant_type` is empty.
    pub pushed: Vec<TokenCall>,
}

impl Seen {
    /// Authorization code grants received.
    pub fn code_exchanges(&self) -> usize {
        self.grants("authorization_code")
    }

    /// Refresh token grants received.
    pub fn refresh_grants(&self) -> usize {
        self.grants("refresh_token")
    }

    fn grants(&self, kind: &str) -> usize {
        self.token.iter().filter(|c| c.grant_type == kind).count()
    }
}
