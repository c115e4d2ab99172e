//! Pushed authorization requests (RFC 9126): the authorization request's parameters
//! are POSTed, client-authenticated, to the provider's
//! `pushed_authorization_request_endpoint`, and the browser carries only `client_id`
//! and the `request_uri` the provider answered (section 4).
//!
//! When PAR is in use (configured, or required by the provider's metadata) a failed
//! push never falls back to the front channel: the provider down or erroring answers a
//! 503 (`par_unavailable`), the provider refusing the request an error page
//! (`par_refused`).

use serde::Deserialize;
use url::Url;

use crate::config::ProviderConfig;
use crate::failure::Failure;
use crate::token::{OAuthErrorResponse, TokenError};

/// Longest pushed authorization response read (bytes).
const MAX_PAR_RESPONSE_LEN: usize = 16 * 1024;

/// A successful pushed authorization response (RFC 9126 section 2.2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ParResponse {
    /// The reference the browser carries to the authorization endpoint.
    pub request_uri: String,
    /// Seconds the reference stays valid.
    pub expires_in: u64,
}

/// Why pushing an authorization request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParError {
    /// No answer: connection failure or timeout.
    #[error("pushed authorization request endpoint unreachable")]
    Http(#[source] reqwest::Error),
    /// An error response (RFC 9126 section 2.3, RFC 6749 section 5.2).
    #[error("pushed authorization request refused")]
    Refused(#[source] OAuthErrorResponse),
    /// A status without an error response: 5xx, or a bare 4xx.
    #[error("pushed authorization request endpoint answered HTTP {0}")]
    Status(u16),
    /// A 2xx answer that is not a pushed authorization response: no `request_uri`,
    /// or an `expires_in` that is missing or already over.
    #[error("invalid pushed authorization response")]
    InvalidResponse,
}

impl ParError {
    /// The reason code and class: the provider down or failing is an outage
    /// (`par_unavailable`, 503); a refusal is the configuration's (`par_refused`).
    pub fn failure(&self) -> Failure {
        match self {
            Self::Refused(e) if matches!(e.code(), "server_error" | "temporarily_unavailable") => {
                Failure::provider_outage("par_unavailable")
            }
            Self::Refused(_) => Failure::configuration("par_refused"),
            Self::Status(s) if (400..500).contains(s) => Failure::configuration("par_refused"),
            Self::Http(_) | Self::Status(_) | Self::InvalidResponse => {
                Failure::provider_outage("par_unavailable")
            }
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Interprets the endpoint's answer (RFC 9126 sections 2.2 and 2.3). The success
/// status is 201; any 2xx with a valid body is taken.
pub fn parse_par_response(status: u16, body: &[u8]) -> Result<ParResponse, ParError> {
    if (200..300).contains(&status) {
        let r: ParResponse = serde_json::from_slice(body).map_err(|_| ParError::InvalidResponse)?;
        if r.request_uri.is_empty() || r.expires_in == 0 {
            return Err(ParError::InvalidResponse);
        }
        return Ok(r);
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if (400..500).contains(&status) => Err(ParError::Refused(
            OAuthErrorResponse::sanitize(&e.error, e.error_description.as_deref()),
        )),
        _ => Err(ParError::Status(status)),
    }
}

/// The authorization request the browser is sent with (RFC 9126 section 4): only
/// `client_id` and `request_uri`.
pub fn redirect_url(authorization_endpoint: &Url, client_id: &str, request_uri: &str) -> Url {
    let mut url = authorization_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri);
    url
}

/// Pushes `params` (every parameter of the front-channel request) to `endpoint`,
/// authenticated as at the token endpoint (OIDC Core 9). With the session's DPoP key,
/// the request carries a proof of it too (RFC 9449 section 10.1), for providers that
/// bind the code through the PAR request's proof.
pub(crate) async fn push(
    provider: &ProviderConfig,
    endpoint: &Url,
    params: &[(String, String)],
    dpop: Option<&crate::dpop::DpopKey>,
) -> Result<ParResponse, ParError> {
    let form: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, body) = crate::token::post_form(provider, endpoint, form, dpop)
        .await
        .map_err(|e| match e {
            TokenError::Http(e) => ParError::Http(e),
            _ => ParError::InvalidResponse,
        })?;
    if body.len() > MAX_PAR_RESPONSE_LEN {
        return Err(ParError::InvalidResponse);
    }
    parse_par_response(status, &body).map_err(|mut e| {
        // A provider that echoes its input must not put `state` or `nonce` in a log.
        if let ParError::Refused(o) = &mut e {
            let secret = provider.client_secret.as_ref().map(|s| s.secret());
            let sent: Vec<&str> = params
                .iter()
                .filter(|(k, _)| matches!(k.as_str(), "state" | "nonce" | "code_challenge"))
                .map(|(_, v)| v.as_str())
                .chain(secret)
                .collect();
            o.redact(&sent);
        }
        e
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::FailureClass;

    fn discovery_doc() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "issuer": "https://op.example",
            "authorization_endpoint": "https://op.example/authorize",
            "token_endpoint": "https://op.example/token",
            "jwks_uri": "https://op.example/jwks"
        }))
        .unwrap()
    }

    #[test]
    fn reads_the_pushed_authorization_request_metadata() {
        let mut d: serde_json::Value = serde_json::from_slice(&discovery_doc()).unwrap();
        let m = crate::discovery::parse_metadata(
            "https://op.example",
            &serde_json::to_vec(&d).unwrap(),
        )
        .unwrap();
        assert!(m.pushed_authorization_request_endpoint.is_none());
        assert!(!m.require_pushed_authorization_requests);
        d["pushed_authorization_request_endpoint"] = "http://op.example/par".into();
        d["require_pushed_authorization_requests"] = true.into();
        let body = serde_json::to_vec(&d).unwrap();
        // An https issuer's PAR endpoint must be https too.
        let e = crate::discovery::parse_metadata("https://op.example", &body).unwrap_err();
        assert!(
            matches!(e, crate::discovery::DiscoveryError::InsecureEndpoint(_)),
            "{e:?}"
        );
        d["pushed_authorization_request_endpoint"] = "https://op.example/par".into();
        let m = crate::discovery::parse_metadata(
            "https://op.example",
            &serde_json::to_vec(&d).unwrap(),
        )
        .unwrap();
        assert_eq!(
            m.pushed_authorization_request_endpoint.unwrap().path(),
            "/par"
        );
        assert!(m.require_pushed_authorization_requests);
    }

    #[test]
    fn a_created_response_gives_the_request_uri() {
        let r = parse_par_response(
            201,
            br#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}"#,
        )
        .unwrap();
        assert_eq!(r.request_uri, "urn:ietf:params:oauth:request_uri:abc");
        assert_eq!(r.expires_in, 60);
    }

    #[test]
    fn a_response_without_request_uri_or_with_an_expired_one_is_invalid() {
        for body in [
            &br#"{"expires_in":60}"#[..],
            br#"{"request_uri":"","expires_in":60}"#,
            br#"{"request_uri":"urn:x"}"#,
            br#"{"request_uri":"urn:x","expires_in":0}"#,
            br#"{"request_uri":"urn:x","expires_in":-5}"#,
            b"<html>",
        ] {
            let e = parse_par_response(201, body).unwrap_err();
            assert!(matches!(e, ParError::InvalidResponse), "{e:?}");
            assert_eq!(e.failure().reason(), "par_unavailable");
        }
    }

    #[test]
    fn an_error_response_is_refused_and_a_5xx_is_an_outage() {
        let e = parse_par_response(
            400,
            br#"{"error":"invalid_request","error_description":"bad\n"}"#,
        )
        .unwrap_err();
        assert!(matches!(&e, ParError::Refused(o) if o.code() == "invalid_request"));
        assert_eq!(e.failure().reason(), "par_refused");
        assert_eq!(e.failure().class(), FailureClass::Configuration);
        let e = parse_par_response(401, b"").unwrap_err();
        assert_eq!(e.failure().reason(), "par_refused");
        for status in [500, 502, 503] {
            let e = parse_par_response(status, br#"{"error":"invalid_request"}"#).unwrap_err();
            assert!(matches!(e, ParError::Status(s) if s == status));
            assert_eq!(e.failure().reason(), "par_unavailable");
            assert_eq!(e.failure().class(), FailureClass::Outage);
        }
        let e = parse_par_response(400, br#"{"error":"temporarily_unavailable"}"#).unwrap_err();
        assert_eq!(e.failure().reason(), "par_unavailable");
    }

    #[test]
    fn the_browser_carries_only_client_id_and_request_uri() {
        let ep = Url::parse("https://op.example/authorize?tenant=a").unwrap();
        let u = redirect_url(&ep, "client 1", "urn:ietf:params:oauth:request_uri:abc");
        let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("tenant".to_owned(), "a".to_owned()),
                ("client_id".to_owned(), "client 1".to_owned()),
                (
                    "request_uri".to_owned(),
                    "urn:ietf:params:oauth:request_uri:abc".to_owned()
                ),
            ]
        );
    }
}
