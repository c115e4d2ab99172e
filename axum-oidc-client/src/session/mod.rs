//! The server-side session and everything the browser holds of it.
//!
//! - [`SessionRecord`], [`SessionKey`] and [`SessionCodec`]: what is stored, under which
//!   key, and how it is encoded (sealed with AES-256-GCM at rest).
//! - `cookies`: the cookie key, the session cookie, the per-login cookie, the logout
//!   `state` cookie, and the one reader of the `Cookie` header.
//! - `timeouts`: [`SessionPolicy`], the idle and absolute timeouts and the refresh margin.

use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce as GcmNonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::id_token::IdTokenClaims;
use crate::secret::{AccessTokenValue, IdTokenValue, RefreshTokenValue, SessionId, random_token};
use crate::store::StoreError;

pub(crate) mod cookies;
mod timeouts;
pub use timeouts::SessionPolicy;

/// The store key of a session: the SHA-256 of its id, so a leaked store does not
/// hand out usable session cookies.
///
/// A reference-counted string: its clones (the memory store's indexes hold some)
/// share one allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionKey(Arc<str>);

impl SessionKey {
    /// The key of a session id.
    pub fn of(id: &SessionId) -> Self {
        // `aws-lc`'s SHA-256: the same digest as `sha2`'s, in fewer instructions (see
        // `CookieKey`). 43 characters: 32 bytes in unpadded base64.
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.secret().as_bytes());
        let mut key = [0u8; 43];
        let written = URL_SAFE_NO_PAD
            .encode_slice(digest.as_ref(), &mut key)
            .unwrap_or(0);
        // Base64 is ASCII: this never fails, and `written` is always 43.
        Self(Arc::from(
            std::str::from_utf8(&key[..written]).unwrap_or_default(),
        ))
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a key read back from a store.
    pub fn from_stored(s: impl Into<String>) -> Self {
        Self(Arc::from(s.into()))
    }
}

/// A new random session id: 256 bits from the OS CSPRNG.
pub fn new_session_id() -> SessionId {
    SessionId::new(random_token(32))
}

/// The tokens of a session as stored server-side.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenSet {
    /// Access token.
    pub access_token: AccessTokenValue,
    /// Token type, usually `Bearer`.
    pub token_type: String,
    /// Refresh token, if the provider issued one.
    pub refresh_token: Option<RefreshTokenValue>,
    /// The latest ID token (compact form), if any.
    pub id_token: Option<IdTokenValue>,
    /// Granted scopes, space separated.
    pub scope: String,
    /// When the access token expires, seconds since the epoch.
    pub expires_at: i64,
    /// The session's DPoP key (RFC 9449), when its tokens are bound to one
    /// ([`with_dpop`](crate::OAuthConfigurationBuilder::with_dpop)). Kept with the
    /// session, so that any instance refreshes with the key the tokens are bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_key: Option<crate::secret::DpopPrivateKey>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("token_type", &self.token_type)
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("dpop_bound", &self.dpop_key.is_some())
            .finish_non_exhaustive()
    }
}

/// Everything the server keeps about one signed-in browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Tokens.
    pub tokens: TokenSet,
    /// Verified identity claims, shared with the sessions handed out for this record.
    pub claims: Arc<IdTokenClaims>,
    /// When the session was created (absolute timeout base), seconds since the epoch.
    pub created_at: i64,
    /// Last time the session was seen, as last written (idle timeout base).
    pub last_seen: i64,
    /// The browser's `User-Agent` at login (at most [`USER_AGENT_MAX`] bytes), for a
    /// user's list of their sessions. Informative only: the browser chooses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The names of the claims added at login by claims enrichment
    /// ([`enrich`](crate::enrich)), in name order; a refresh carries their values over
    /// from the login.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enriched_claims: Vec<String>,
    /// The name of the provider the user signed in at, for a configuration with
    /// named providers ([`with_provider`](crate::OAuthConfigurationBuilder::with_provider));
    /// `None` for the single provider. Refresh, logout and revocation go to it. A
    /// record stored before this field existed reads as `None`: the provider of its
    /// issuer, else the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// The index value of the `sid` of issuer `iss` for sessions of named providers (see
/// [`SessionRecord::logout_sid`]); the separator cannot occur in a URL.
pub fn scoped_sid(iss: &str, sid: &str) -> String {
    format!("{iss} {sid}")
}

/// The most of a `User-Agent` a session keeps, in bytes.
pub const USER_AGENT_MAX: usize = 256;

impl SessionRecord {
    /// The provider session id (`sid`), if any.
    pub fn sid(&self) -> Option<&str> {
        self.claims.sid.as_deref()
    }

    /// What a store indexes this session by for
    /// [`remove_by_sid`](crate::store::AuthCache::remove_by_sid): the provider's
    /// `sid`, or, for a session of a named provider
    /// ([`with_provider`](crate::OAuthConfigurationBuilder::with_provider)),
    /// [`scoped_sid`] of its issuer and `sid`. A `sid` is unique per provider only, so
    /// with several providers a logout token of one never reaches a session of another
    /// that happens to carry the same `sid` (Back-Channel Logout 1.0 section 2.6 takes
    /// the token's `iss` and `sid` together).
    pub fn logout_sid(&self) -> Option<std::borrow::Cow<'_, str>> {
        let sid = self.sid()?;
        Some(match self.provider {
            Some(_) => std::borrow::Cow::Owned(scoped_sid(&self.claims.iss, sid)),
            None => std::borrow::Cow::Borrowed(sid),
        })
    }

    /// The RFC 7638 thumbprint (`jkt`) of the session's DPoP key, when its tokens
    /// are DPoP-bound (RFC 9449 section 6); `None` otherwise or for an unreadable key.
    pub fn dpop_thumbprint(&self) -> Option<String> {
        let stored = self.tokens.dpop_key.as_ref()?;
        crate::dpop::DpopKey::from_stored(stored)
            .ok()
            .map(|k| k.thumbprint().to_owned())
    }

    /// The subject.
    pub fn sub(&self) -> &str {
        &self.claims.sub
    }
}

/// Current format version of encoded sessions.
const FORMAT_V1_PLAIN: u8 = 1;
const FORMAT_V1_SEALED: u8 = 2;

/// Turns records into bytes for remote stores, and back.
///
/// The first byte is a format version, so a later format can read old entries; an
/// entry that cannot be read is treated as absent (the user logs in again), never as
/// a crash. With a key, the JSON is sealed with AES-256-GCM (random 96-bit nonce) and
/// the session key as associated data, so a row cannot be moved to another key.
///
/// A codec reads only its own kind of entry: an encrypting codec refuses clear
/// entries, so whoever can write to the store cannot plant a session past the seal.
/// Switching a store from clear to encrypted therefore ends the existing sessions
/// (their users log in again).
#[derive(Clone, Default)]
pub struct SessionCodec {
    cipher: Option<Arc<Aes256Gcm>>,
}

impl std::fmt::Debug for SessionCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCodec")
            .field("encrypted", &self.cipher.is_some())
            .finish()
    }
}

impl SessionCodec {
    /// A codec that stores JSON in clear.
    pub fn plain() -> Self {
        Self { cipher: None }
    }

    /// A codec that encrypts at rest with a 256-bit key.
    pub fn encrypted(key: &[u8; 32]) -> Self {
        Self {
            cipher: Some(Arc::new(Aes256Gcm::new(key.into()))),
        }
    }

    /// Whether records are encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.cipher.is_some()
    }

    /// Encodes a record stored under `key`.
    pub fn encode(&self, key: &SessionKey, record: &SessionRecord) -> Result<Vec<u8>, StoreError> {
        let json = serde_json::to_vec(record).map_err(|_| StoreError::Codec)?;
        let Some(cipher) = &self.cipher else {
            let mut out = Vec::with_capacity(json.len() + 1);
            out.push(FORMAT_V1_PLAIN);
            out.extend_from_slice(&json);
            return Ok(out);
        };
        let nonce_bytes: [u8; 12] = rand::random();
        let sealed = cipher
            .encrypt(
                GcmNonce::from_slice(&nonce_bytes),
                aes_gcm::aead::Payload {
                    msg: &json,
                    aad: key.as_str().as_bytes(),
                },
            )
            .map_err(|_| StoreError::Codec)?;
        let mut out = Vec::with_capacity(1 + 12 + sealed.len());
        out.push(FORMAT_V1_SEALED);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decodes a record; `None` for unreadable, foreign-version or tampered entries.
    pub fn decode(&self, key: &SessionKey, bytes: &[u8]) -> Option<SessionRecord> {
        let (&version, rest) = bytes.split_first()?;
        let json = match (version, &self.cipher) {
            (FORMAT_V1_PLAIN, None) => return serde_json::from_slice(rest).ok(),
            (FORMAT_V1_SEALED, Some(cipher)) if rest.len() > 12 => {
                let (nonce, sealed) = rest.split_at(12);
                cipher
                    .decrypt(
                        GcmNonce::from_slice(nonce),
                        aes_gcm::aead::Payload {
                            msg: sealed,
                            aad: key.as_str().as_bytes(),
                        },
                    )
                    .ok()?
            }
            _ => return None,
        };
        serde_json::from_slice(&json).ok()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn record(sub: &str, sid: Option<&str>) -> SessionRecord {
        let mut claims: IdTokenClaims = serde_json::from_value(serde_json::json!({
            "iss": "https://op.example", "sub": sub, "aud": "c", "exp": 2, "iat": 1
        }))
        .unwrap();
        claims.sid = sid.map(str::to_owned);
        let claims = Arc::new(claims);
        SessionRecord {
            tokens: TokenSet {
                access_token: AccessTokenValue::new("at-secret"),
                token_type: "Bearer".into(),
                refresh_token: Some(RefreshTokenValue::new("rt-secret")),
                id_token: Some(IdTokenValue::new("h.p.s")),
                scope: "openid".into(),
                expires_at: 100,
                dpop_key: None,
            },
            claims,
            created_at: 1,
            last_seen: 1,
            user_agent: None,
            enriched_claims: Vec::new(),
            provider: None,
        }
    }

    /// Stored sessions are found by this key: it must stay SHA-256 of the id in
    /// unpadded base64url whatever computes the digest (FIPS 180-4 test vector "abc").
    #[test]
    fn the_session_key_is_the_unpadded_base64url_sha256_of_the_id() {
        let key = SessionKey::of(&SessionId::new("abc"));
        assert_eq!(key.as_str(), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }

    #[test]
    fn plain_and_sealed_round_trip() {
        let key = SessionKey::of(&new_session_id());
        let r = record("alice", Some("s1"));
        for codec in [SessionCodec::plain(), SessionCodec::encrypted(&[7; 32])] {
            let bytes = codec.encode(&key, &r).unwrap();
            assert_eq!(codec.decode(&key, &bytes).unwrap(), r);
        }
    }

    #[test]
    fn sealed_records_hide_tokens_and_bind_to_their_key() {
        let codec = SessionCodec::encrypted(&[7; 32]);
        let key = SessionKey::of(&new_session_id());
        let bytes = codec.encode(&key, &record("alice", None)).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("rt-secret"));
        let other = SessionKey::of(&new_session_id());
        assert!(codec.decode(&other, &bytes).is_none());
        assert!(
            SessionCodec::encrypted(&[8; 32])
                .decode(&key, &bytes)
                .is_none()
        );
    }

    #[test]
    fn an_encrypting_codec_refuses_clear_entries() {
        let key = SessionKey::of(&new_session_id());
        let clear = SessionCodec::plain()
            .encode(&key, &record("mallory", None))
            .unwrap();
        assert!(SessionCodec::plain().decode(&key, &clear).is_some());
        assert!(
            SessionCodec::encrypted(&[7; 32])
                .decode(&key, &clear)
                .is_none()
        );
    }

    #[test]
    fn a_clear_codec_refuses_sealed_entries() {
        let key = SessionKey::of(&new_session_id());
        let sealed = SessionCodec::encrypted(&[7; 32])
            .encode(&key, &record("alice", None))
            .unwrap();
        assert!(SessionCodec::plain().decode(&key, &sealed).is_none());
    }

    #[test]
    fn unknown_versions_and_garbage_read_as_absent() {
        let codec = SessionCodec::plain();
        let key = SessionKey::of(&new_session_id());
        assert!(codec.decode(&key, &[]).is_none());
        assert!(codec.decode(&key, &[9, b'{', b'}']).is_none());
        assert!(codec.decode(&key, b"\x01not json").is_none());
    }

    /// The record the fixtures of `testdata/` hold: every optional part present, and
    /// additional claims of every JSON type.
    fn fixture_record() -> SessionRecord {
        let claims: IdTokenClaims = serde_json::from_value(serde_json::json!({
            "iss": "https://op.example", "sub": "alice", "aud": ["my-app", "api"],
            "exp": 1_800_000_300, "iat": 1_800_000_000, "nonce": "n-0S6_WzA2Mj",
            "azp": "my-app", "auth_time": 1_799_999_990,
            "sid": "08a5019c-17e1-4977-8f42-65a12843ea02", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
            "name": "Alice Anderson", "email": "alice@example.com", "email_verified": true,
            "preferred_username": "alice", "groups": ["admins", "staff"],
            "address": {"locality": "Köln", "country": "DE"}, "zoneinfo": "Europe/Berlin",
            "score": 1.5
        }))
        .unwrap();
        SessionRecord {
            tokens: TokenSet {
                access_token: AccessTokenValue::new("at-fixture-secret"),
                token_type: "Bearer".into(),
                refresh_token: Some(RefreshTokenValue::new("rt-fixture-secret")),
                id_token: Some(IdTokenValue::new(
                    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln",
                )),
                scope: "openid profile email offline_access".into(),
                expires_at: 1_800_003_600,
                dpop_key: None,
            },
            claims: Arc::new(claims),
            created_at: 1_800_000_000,
            last_seen: 1_800_000_042,
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0".into()),
            enriched_claims: Vec::new(),
            provider: None,
        }
    }

    const FIXTURE_KEY: &str = "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0";

    /// `testdata/record_v1_*.bin` were written by the codec of commit `f5cc5de`,
    /// before the compact record: sessions already in a Redis or SQL store must
    /// still be read after an upgrade.
    #[test]
    fn records_encoded_before_the_compact_record_still_decode() {
        let key = SessionKey::from_stored(FIXTURE_KEY);
        let plain = include_bytes!("testdata/record_v1_plain.bin");
        let sealed = include_bytes!("testdata/record_v1_sealed.bin");
        let want = fixture_record();
        assert_eq!(SessionCodec::plain().decode(&key, plain).unwrap(), want);
        assert_eq!(
            SessionCodec::encrypted(&[7; 32])
                .decode(&key, sealed)
                .unwrap(),
            want
        );
        let bare = SessionCodec::plain()
            .decode(&key, include_bytes!("testdata/record_v1_bare_plain.bin"))
            .unwrap();
        assert_eq!(bare.tokens.id_token, None);
        assert_eq!(bare.tokens.refresh_token, None);
        assert_eq!(bare.claims.nonce, None);
        assert!(bare.claims.additional.is_empty());
        assert_eq!(bare.claims.aud.0, ["my-app"]);
        assert_eq!(bare.user_agent, None);
    }

    /// And what is written now is what was written then: an older instance sharing
    /// the store (a rolling upgrade) reads the new entries.
    #[test]
    fn records_encode_as_they_did_before_the_compact_record() {
        let key = SessionKey::from_stored(FIXTURE_KEY);
        let plain = include_bytes!("testdata/record_v1_plain.bin");
        assert_eq!(
            SessionCodec::plain()
                .encode(&key, &fixture_record())
                .unwrap(),
            plain
        );
    }

    #[test]
    fn a_record_with_every_kind_of_claim_round_trips() {
        let key = SessionKey::of(&new_session_id());
        let r = fixture_record();
        for codec in [SessionCodec::plain(), SessionCodec::encrypted(&[9; 32])] {
            let bytes = codec.encode(&key, &r).unwrap();
            let back = codec.decode(&key, &bytes).unwrap();
            assert_eq!(back, r);
            assert_eq!(back.claims.additional["address"]["locality"], "Köln");
            assert_eq!(back.claims.get_str("email"), Some("alice@example.com"));
        }
    }

    #[test]
    fn token_set_debug_is_redacted() {
        let dbg = format!("{:?}", record("alice", None));
        assert!(!dbg.contains("at-secret") && !dbg.contains("rt-secret"));
    }
}
