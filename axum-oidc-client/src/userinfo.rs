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

async fn fetch_json(
    provider: &ProviderConfig,
    endpoint: &url::Url,
    access_token: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, UserInfoError> {
    let req = provider
        .http
        .get(endpoint.clone())
        .bearer_auth(access_token)
        .header(http::header::ACCEPT, "application/json");
    let resp = crate::http_util::send(req, ProviderEndpoint::Userinfo)
        .await
        .map_err(UserInfoError::Http)?;
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
    access_token: &str,
) -> Result<IdTokenClaims, UserInfoError> {
    let endpoint = provider
        .userinfo_endpoint
        .as_ref()
        .ok_or(UserInfoError::NotConfigured)?;
    let doc = fetch_json(provider, endpoint, access_token).await?;
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
    access_token: &str,
    now: i64,
) -> Result<IdTokenClaims, UserInfoError> {
    let IdentityMode::OAuth2Only {
        user_endpoint,
        sub_field,
    } = &provider.identity
    else {
        return Err(UserInfoError::NotConfigured);
    };
    let doc = fetch_json(provider, user_endpoint, access_token).await?;
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
