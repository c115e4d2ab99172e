//! Shared provider state: configuration, keys, the in-memory store and the
//! counters behind [`ProviderStats`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::config::{ClientRegistration, DemoUser, DevProviderConfig};
use crate::error::DevProviderError;
use crate::keys::SigningKeys;
use crate::store::Store;

/// Snapshot of the provider's counters, for assertions in tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProviderStats {
    /// Successful `authorization_code` grants at the token endpoint.
    pub authorization_code_grants: u64,
    /// Successful `refresh_token` grants.
    pub refresh_grants: u64,
    /// Times an already rotated refresh token was presented again.
    pub refresh_reuse_detected: u64,
    /// Tokens revoked through the revocation endpoint (RFC 7009).
    pub revocations: u64,
    /// Logout tokens delivered with a 2xx answer (OpenID Connect
    /// Back-Channel Logout 1.0 section 2.8).
    pub backchannel_logouts_sent: u64,
    /// Successful userinfo requests.
    pub userinfo_calls: u64,
}

/// The live counters.
#[derive(Default)]
pub(crate) struct Counters {
    pub authorization_code_grants: AtomicU64,
    pub refresh_grants: AtomicU64,
    pub refresh_reuse_detected: AtomicU64,
    pub revocations: AtomicU64,
    pub backchannel_logouts_sent: AtomicU64,
    pub userinfo_calls: AtomicU64,
}

impl Counters {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) struct Inner {
    pub issuer: String,
    pub config: DevProviderConfig,
    pub keys: SigningKeys,
    pub access_ttl_ms: AtomicU64,
    pub store: Mutex<Store>,
    pub counters: Counters,
    pub http: reqwest::Client,
    /// The DPoP nonce proofs must carry when the configuration asks for one
    /// (RFC 9449 section 8); fixed for the life of the provider.
    pub dpop_nonce: String,
}

/// Cheaply clonable handle to everything a running provider knows.
///
/// [`DevProvider::start`](crate::DevProvider::start) builds one for you; use
/// [`ProviderState::new`] together with [`router`](crate::router) to embed
/// the provider in a server of your own.
#[derive(Clone)]
pub struct ProviderState {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for ProviderState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderState")
            .field("issuer", &self.inner.issuer)
            .finish_non_exhaustive()
    }
}

impl ProviderState {
    /// Validates `config`, generates fresh signing keys and creates an empty
    /// store. `issuer` is used verbatim (a trailing slash is removed); it
    /// must be the URL the provider's router is reachable at.
    pub fn new(config: DevProviderConfig, issuer: &str) -> Result<Self, DevProviderError> {
        config.validate()?;
        let issuer = issuer.trim_end_matches('/').to_owned();
        match url::Url::parse(&issuer) {
            Ok(u) if u.query().is_none() && u.fragment().is_none() => {}
            // OIDC Core 2: an https/http URL without query or fragment.
            _ => {
                return Err(DevProviderError::InvalidConfig(format!(
                    "bad issuer {issuer:?}"
                )));
            }
        }
        let keys = SigningKeys::generate(config.signing_alg)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DevProviderError::HttpClient(e.to_string()))?;
        let access_ttl_ms = AtomicU64::new(duration_ms(config.access_token_ttl));
        let inner = Inner {
            issuer,
            config,
            keys,
            access_ttl_ms,
            store: Mutex::new(Store::default()),
            counters: Counters::default(),
            http,
            dpop_nonce: random_token(),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The issuer identifier, without trailing slash.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ProviderStats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ProviderStats {
            authorization_code_grants: get(&c.authorization_code_grants),
            refresh_grants: get(&c.refresh_grants),
            refresh_reuse_detected: get(&c.refresh_reuse_detected),
            revocations: get(&c.revocations),
            backchannel_logouts_sent: get(&c.backchannel_logouts_sent),
            userinfo_calls: get(&c.userinfo_calls),
        }
    }

    /// Changes the lifetime of access tokens issued from now on.
    pub fn set_access_token_ttl(&self, ttl: Duration) {
        self.inner
            .access_ttl_ms
            .store(duration_ms(ttl), Ordering::Relaxed);
    }

    /// The current access token lifetime.
    pub(crate) fn access_token_ttl(&self) -> Duration {
        Duration::from_millis(self.inner.access_ttl_ms.load(Ordering::Relaxed))
    }

    /// Locks the store after purging expired entries. A poisoned lock is
    /// recovered: the store holds no invariants a panic could break halfway.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        let mut guard = self.inner.store.lock().unwrap_or_else(|p| p.into_inner());
        guard.purge(SystemTime::now());
        guard
    }

    /// Looks up a registered client.
    pub(crate) fn client(&self, client_id: &str) -> Option<&ClientRegistration> {
        self.inner
            .config
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
    }

    /// Looks up a user by username.
    pub(crate) fn user_by_name(&self, username: &str) -> Option<&DemoUser> {
        self.inner
            .config
            .users
            .iter()
            .find(|u| u.username == username)
    }

    /// Looks up a user by subject.
    pub(crate) fn user_by_sub(&self, sub: &str) -> Option<&DemoUser> {
        self.inner.config.users.iter().find(|u| u.sub == sub)
    }

    /// The configuration the provider was started with.
    pub(crate) fn config(&self) -> &DevProviderConfig {
        &self.inner.config
    }

    /// The DPoP nonce proofs must carry, when nonces are required
    /// ([`DevProviderConfig::dpop_nonce`]).
    pub(crate) fn dpop_nonce(&self) -> Option<&str> {
        self.inner
            .config
            .dpop_nonce
            .then_some(self.inner.dpop_nonce.as_str())
    }

    /// The signing keys.
    pub(crate) fn keys(&self) -> &SigningKeys {
        &self.inner.keys
    }

    /// The counters.
    pub(crate) fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// `{issuer}{path}` for an endpoint path starting with `/`.
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.inner.issuer)
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Seconds since the Unix epoch, as used in JWT `iat`/`exp` (RFC 7519 2).
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `now + ttl` as whole seconds since the epoch, rounded up so that a token
/// never claims to expire before the provider considers it expired.
pub(crate) fn expiry_secs(now: SystemTime, ttl: Duration) -> u64 {
    let d = add_ttl(now, ttl)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// `now + ttl`, saturating instead of overflowing on absurd lifetimes.
pub(crate) fn add_ttl(now: SystemTime, ttl: Duration) -> SystemTime {
    now.checked_add(ttl)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// A fresh unguessable identifier: 32 random bytes, base64url (256 bits,
/// well above the 128 bits RFC 6749 10.10 asks for).
pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}
