//! Claims of the JWTs the provider signs: ID tokens (OIDC Core 2), access
//! tokens (RFC 9068 2.2) and logout tokens (OpenID Connect Back-Channel
//! Logout 1.0 section 2.4).

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use crate::config::DemoUser;
use crate::keys::at_hash;
use crate::state::{ProviderState, add_ttl, expiry_secs, random_token, unix_secs};
use crate::store::{AccessRecord, Grant, Store};

/// The event member that marks a JWT as a logout token
/// (Back-Channel Logout 1.0 section 2.4).
pub(crate) const BACKCHANNEL_LOGOUT_EVENT: &str =
    "http://schemas.openid.net/event/backchannel-logout";

/// How long a logout token is valid; it is consumed right away, so this is
/// short (Back-Channel Logout 1.0 section 2.4 recommends at most minutes).
const LOGOUT_TOKEN_TTL: Duration = Duration::from_secs(120);

/// Claims about the user released for the granted scopes (OIDC Core 5.4):
/// `profile` gives `name` and `preferred_username`, `email` gives `email`
/// and `email_verified`. `groups` is always released, as identity providers' group
/// mappers do.
pub(crate) fn user_claims(user: &DemoUser, scope: &str) -> Map<String, Value> {
    let scopes: Vec<&str> = scope.split(' ').collect();
    let mut claims = Map::new();
    claims.insert("sub".into(), user.sub.clone().into());
    claims.insert("groups".into(), user.groups.clone().into());
    if scopes.contains(&"profile") {
        claims.insert("name".into(), user.name.clone().into());
        claims.insert("preferred_username".into(), user.username.clone().into());
    }
    if scopes.contains(&"email") {
        claims.insert("email".into(), user.email.clone().into());
        claims.insert("email_verified".into(), user.email_verified.into());
    }
    claims
}

/// A freshly minted access token and ID token.
pub(crate) struct Minted {
    /// The RFC 9068 access token.
    pub access_token: String,
    /// The ID token.
    pub id_token: String,
    /// Access token lifetime in seconds (RFC 6749 5.1 `expires_in`).
    pub expires_in: u64,
}

/// Signs an access token and an ID token for `grant` and records the access
/// token's `jti` in the store. `nonce` is only passed for the code exchange;
/// ID tokens from a refresh carry none (OIDC Core 12.2). `scope` may be
/// narrower than the grant's (RFC 6749 6). With `jkt`, the access token is
/// bound to that DPoP key: `cnf.jkt` (RFC 9449 section 6.1).
pub(crate) fn mint(
    state: &ProviderState,
    store: &mut Store,
    grant_id: &str,
    grant: &Grant,
    scope: &str,
    nonce: Option<&str>,
    jkt: Option<&str>,
) -> Option<Minted> {
    let now = SystemTime::now();
    let iat = unix_secs(now);
    let access_ttl = state.access_token_ttl();
    let jti = random_token();
    let user = state.user_by_sub(&grant.sub);
    let groups = user.map_or_else(Vec::new, |u| u.groups.clone());
    let mut access_claims = json!({
        "iss": state.issuer(),
        "groups": groups,
        "sub": grant.sub,
        "aud": grant.client_id,
        "client_id": grant.client_id,
        "scope": scope,
        "iat": iat,
        "exp": expiry_secs(now, access_ttl),
        "jti": jti,
        "sid": grant.sid,
        "auth_time": grant.auth_time,
        "acr": grant.acr,
    });
    // RFC 9068 section 2.2.2: identity claims may go into the access token too; the
    // name, with `profile`, so that an API can greet the user it serves.
    if let Some(u) = user
        && scope.split(' ').any(|s| s == "profile")
    {
        access_claims["name"] = u.name.clone().into();
    }
    if let Some(jkt) = jkt {
        access_claims["cnf"] = json!({ "jkt": jkt });
    }
    // RFC 9068 2.1: the header type is "at+jwt".
    let access_token = state.keys().sign("at+jwt", &access_claims)?;

    let mut id_claims = match state.user_by_sub(&grant.sub) {
        Some(user) => user_claims(user, scope),
        None => Map::new(),
    };
    let extra = json!({
        "iss": state.issuer(),
        "sub": grant.sub,
        "aud": grant.client_id,
        "azp": grant.client_id,
        "iat": iat,
        "exp": expiry_secs(now, state.config().id_token_ttl),
        "auth_time": grant.auth_time,
        "acr": grant.acr,
        "sid": grant.sid,
        "at_hash": at_hash(&access_token),
    });
    if let Value::Object(extra) = extra {
        id_claims.extend(extra);
    }
    if let Some(nonce) = nonce {
        id_claims.insert("nonce".into(), nonce.into());
    }
    let id_token = state.keys().sign("JWT", &Value::Object(id_claims))?;

    let record = AccessRecord {
        grant_id: grant_id.to_owned(),
        expires_at: add_ttl(now, access_ttl),
    };
    store.access.insert(jti, record);
    Some(Minted {
        access_token,
        id_token,
        expires_in: access_ttl.as_secs(),
    })
}

/// Signs a logout token for one client (Back-Channel Logout 1.0 section 2.4):
/// `typ` `logout+jwt`, both `sid` and `sub`, the logout event, and never a
/// `nonce`.
pub(crate) fn logout_token(
    state: &ProviderState,
    client_id: &str,
    sub: &str,
    sid: &str,
) -> Option<String> {
    let now = SystemTime::now();
    let claims = json!({
        "iss": state.issuer(),
        "aud": client_id,
        "iat": unix_secs(now),
        "exp": expiry_secs(now, LOGOUT_TOKEN_TTL),
        "jti": random_token(),
        "sub": sub,
        "sid": sid,
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    });
    state.keys().sign("logout+jwt", &claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_claims_follow_the_granted_scopes() {
        let user = DemoUser::new("dora", "Dora D", "dora@example.com").with_groups(["ops"]);
        let minimal = user_claims(&user, "openid");
        assert_eq!(minimal.len(), 2);
        assert_eq!(minimal["groups"], json!(["ops"]));
        let full = user_claims(&user, "openid profile email");
        assert_eq!(full["preferred_username"], "dora");
        assert_eq!(full["email_verified"], true);
    }

    #[test]
    fn the_default_users_have_their_groups() {
        let groups: Vec<(String, Vec<String>)> = DemoUser::defaults()
            .into_iter()
            .map(|u| (u.username, u.groups))
            .collect();
        assert_eq!(
            groups,
            [
                (
                    "alice".to_owned(),
                    vec!["admin".to_owned(), "staff".to_owned()]
                ),
                ("bob".to_owned(), vec!["staff".to_owned()]),
                ("carol".to_owned(), vec![]),
            ]
        );
    }
}
