//! The UserInfo endpoint (OIDC Core 5.3) and the user endpoint of OAuth2-only providers.

use crate::config::{IdentityMode, ProviderConfig};
use crate::id_token::{Audiences, IdTokenClaims};
use crate::observe::ProviderEndpoint;

/// Largest user document accepted (bytes).
pub const MAX_USERINFO_LEN: usize = 64 * 1024;

/// Why user information could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserInfoError {
    /// The request failed (a provider fault).
    #[error("user endpoint unreachable")]
    Http(#[source] reqwest::Error),
    /// The endpoint answered with an error status.
    #[error("user endpoint answered HTTP {0}")]
    Status(u16),
    /// Not a JSON object, or too large.
    #[error("user document is invalid")]
    Invalid,
    /// No subject field in the document.
    #[error("user document has no subject")]
    MissingSub,
    /// UserInfo `sub` differs from the ID token's (OIDC Core 5.3.4): rejected.
    #[error("userinfo sub mismatch")]
    SubMismatch,
    /// No endpoint configured.
    #[error("no user endpoint configured")]
    NotConfigured,
}

impl UserInfoError {
    /// Whether the provider is at fault.
    pub fn is_provider_fault(&self) -> bool {
        matches!(self, Self::Http(_)) || matches!(self, Self::Status(s) if *s >= 500)
    }
}

/// An access token as presented to the UserInfo or user endpoint: as a bearer token,
/// or, when it is bound to the session's DPoP key, with the `DPoP` scheme and a
/// proof of that key (RFC 9449 section 7.1).
#[derive(Clone, Copy)]
pub(crate) struct Presented<'a> {
    access_token: &'a str,
    dpop: Option<&'a crate::dpop::DpopKey>,
}

impl<'a> Presented<'a> {
    /// The access token of a token response, bound to `dpop` when given.
    pub(crate) fn new(
        response: &'a crate::AccessTokenResponse,
        dpop: Option<&'a crate::dpop::DpopKey>,
    ) -> Self {
        Self {
            access_token: &response.access_token,
            dpop,
        }
    }
}

async fn fetch_json(
    provider: &ProviderConfig,
    endpoint: &url::Url,
    token: Presented<'_>,
) -> Result<serde_json::Map<String, serde_json::Value>, UserInfoError> {
    // The provider's last nonce: UserInfo is usually served by the provider itself.
    let mut nonce = token.dpop.and_then(|_| provider.dpop_nonce.get());
    let mut challenged = false;
    let resp = loop {
        let mut req = provider
            .http
            .get(endpoint.clone())
            .header(http::header::ACCEPT, "application/json");
        req = match token.dpop {
            Some(key) => {
                let proof = key
                    .proof(
                        &http::Method::GET,
                        endpoint.as_str(),
                        chrono::Utc::now().timestamp(),
                        nonce.as_deref(),
                        Some(token.access_token),
                    )
                    .map_err(|_| UserInfoError::Invalid)?;
                let mut authorization =
                    http::HeaderValue::try_from(format!("DPoP {}", token.access_token))
                        .map_err(|_| UserInfoError::Invalid)?;
                // Like `bearer_auth`: kept out of any debug output of the request.
                authorization.set_sensitive(true);
                req.header(http::header::AUTHORIZATION, authorization)
                    .header("DPoP", proof)
            }
            None => req.bearer_auth(token.access_token),
        };
        let resp = crate::http_util::send(req, ProviderEndpoint::Userinfo)
            .await
            .map_err(UserInfoError::Http)?;
        let server_nonce = token
            .dpop
            .and_then(|_| crate::dpop::server_nonce(resp.headers()));
        if let Some(n) = &server_nonce {
            provider.dpop_nonce.set(n.clone());
        }
        // RFC 9449 section 9: a resource server's nonce challenge, answered once.
        let challenge =
            crate::dpop::is_resource_nonce_challenge(resp.status().as_u16(), resp.headers());
        match server_nonce {
            Some(n) if challenge && !challenged => {
                challenged = true;
                nonce = Some(n);
            }
            _ => break resp,
        }
    };
    if !resp.status().is_success() {
        return Err(UserInfoError::Status(resp.status().as_u16()));
    }
    let body = crate::http_util::read_limited(resp, MAX_USERINFO_LEN)
        .await
        .map_err(|_| UserInfoError::Invalid)?;
    serde_json::from_slice(&body).map_err(|_| UserInfoError::Invalid)
}

/// Merges UserInfo claims into verified ID token claims when, and only when, the
/// `sub`s are equal (OIDC Core 5.3.4). Claims from the ID token win on conflict.
pub fn merge_claims(
    mut claims: IdTokenClaims,
    userinfo: serde_json::Map<String, serde_json::Value>,
) -> Result<IdTokenClaims, UserInfoError> {
    match userinfo.get("sub").and_then(|v| v.as_str()) {
        Some(sub) if sub == claims.sub => {}
        Some(_) => return Err(UserInfoError::SubMismatch),
        None => return Err(UserInfoError::MissingSub),
    }
    for (k, v) in userinfo {
        if !IdTokenClaims::NAMED.contains(&k.as_str()) && !claims.additional.contains_key(&k) {
            claims.additional.insert(k, v);
        }
    }
    Ok(claims)
}

/// Fetches UserInfo and merges it (see [`merge_claims`]).
pub(crate) async fn merge_userinfo(
    provider: &ProviderConfig,
    claims: IdTokenClaims,
    token: Presented<'_>,
) -> Result<IdTokenClaims, UserInfoError> {
    let endpoint = provider
        .userinfo_endpoint
        .as_ref()
        .ok_or(UserInfoError::NotConfigured)?;
    let doc = fetch_json(provider, endpoint, token).await?;
    merge_claims(claims, doc)
}

/// Maps an OAuth2-only user document to claims: `sub` from the configured field
/// (numbers are turned into strings), `name`, `email` and the rest kept as they are.
pub fn map_user_document(
    doc: serde_json::Map<String, serde_json::Value>,
    sub_field: &str,
    issuer: &str,
    client_id: &str,
    now: i64,
) -> Result<IdTokenClaims, UserInfoError> {
    let sub = match doc.get(sub_field) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => return Err(UserInfoError::MissingSub),
    };
    let mut additional = doc;
    additional.remove("sub");
    if !additional.contains_key("preferred_username")
        && let Some(login) = additional.get("login").cloned()
    {
        additional.insert("preferred_username".into(), login);
    }
    Ok(IdTokenClaims {
        iss: issuer.to_owned(),
        sub,
        aud: Audiences(vec![client_id.to_owned()]),
        exp: now,
        iat: now,
        nonce: None,
        azp: None,
        auth_time: Some(now),
        sid: None,
        at_hash: None,
        additional: additional.into(),
    })
}

/// OAuth2-only mode: reads the user endpoint and maps it to claims.
pub(crate) async fn fetch_user_claims(
    provider: &ProviderConfig,
    token: Presented<'_>,
    now: i64,
) -> Result<IdTokenClaims, UserInfoError> {
    let IdentityMode::OAuth2Only {
        user_endpoint,
        sub_field,
    } = &provider.identity
    else {
        return Err(UserInfoError::NotConfigured);
    };
    let doc = fetch_json(provider, user_endpoint, token).await?;
    let issuer = user_endpoint.origin().ascii_serialization();
    map_user_document(doc, sub_field, &issuer, &provider.client_id, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> IdTokenClaims {
        serde_json::from_value(
            serde_json::json!({"iss":"i","sub":"alice","aud":"c","exp":2,"iat":1}),
        )
        .unwrap()
    }

    fn doc(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn rejects_userinfo_with_another_sub() {
        let e = merge_claims(
            claims(),
            doc(serde_json::json!({"sub":"mallory","email":"m@x"})),
        )
        .unwrap_err();
        assert!(matches!(e, UserInfoError::SubMismatch));
        assert!(matches!(
            merge_claims(claims(), doc(serde_json::json!({"email":"m@x"}))),
            Err(UserInfoError::MissingSub)
        ));
    }

    #[test]
    fn merges_userinfo_without_overriding_protected_claims() {
        let c = merge_claims(
            claims(),
            doc(serde_json::json!({"sub":"alice","email":"a@x","iss":"evil"})),
        )
        .unwrap();
        assert_eq!(c.get_str("email"), Some("a@x"));
        assert_eq!(c.iss, "i");
    }

    #[test]
    fn maps_numeric_ids_and_logins() {
        let c = map_user_document(
            doc(serde_json::json!({"id": 42, "login":"octo","name":"O"})),
            "id",
            "https://gh",
            "c",
            5,
        )
        .unwrap();
        assert_eq!(c.sub, "42");
        assert_eq!(c.get_str("preferred_username"), Some("octo"));
        assert!(
            map_user_document(doc(serde_json::json!({"login":"x"})), "id", "i", "c", 5).is_err()
        );
    }
}
