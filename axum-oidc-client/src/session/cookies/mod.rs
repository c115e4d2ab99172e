//! Cookie keys and the library's two cookies.
//!
//! - The session cookie holds only the random session id, signed (HMAC-SHA256) so forged
//!   cookies are turned away without touching the store.
//! - One login cookie per login attempt holds `state`, `nonce`, the PKCE verifier and
//!   `next`, encrypted (AES-256-GCM). Its name carries a tag of the `state`, so two tabs
//!   logging in at once each keep their own. Nothing is stored server-side before login.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cookie::{Cookie, CookieJar, Key, SameSite};
use hkdf::Hkdf;
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::secret::{CsrfState, Nonce, PkceCodeVerifier, SessionId};

mod key_strength;

pub use key_strength::MIN_SECRET_BITS;
pub(crate) use key_strength::weakness as secret_weakness;

/// Shortest accepted configured cookie secret, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

const HKDF_SALT: &[u8] = b"axum-oidc-client/v1";

/// Keys derived from one master secret with HKDF-SHA256 (RFC 5869): one for cookie
/// signing and encryption, one for encrypting stored tokens at rest.
#[derive(Clone)]
pub struct CookieKey {
    cookie: Key,
    /// HMAC-SHA256 (RFC 2104) keyed once with the signing half of `cookie`: its inner
    /// and outer states are computed here, so a request hashes only its own value.
    /// `aws-lc`'s SHA-256, already linked for JWT signatures, is used for its vector
    /// code paths: the same MAC in about 60 % of the instructions of `sha2`'s
    /// portable code on a CPU without the SHA extensions.
    signer: hmac::Key,
    at_rest: [u8; 32],
}

/// Length of the base64 (standard, padded) HMAC-SHA256 tag in front of a signed value.
const SIGNED_TAG_LEN: usize = 44;

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey([redacted])")
    }
}

impl CookieKey {
    /// Derives the keys from a secret of at least [`MIN_SECRET_LEN`] bytes. Every
    /// instance of an application must use the same secret.
    pub fn derive(secret: &[u8]) -> Option<Self> {
        if secret.len() < MIN_SECRET_LEN {
            return None;
        }
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), secret);
        let mut cookie = [0u8; 64];
        let mut at_rest = [0u8; 32];
        hk.expand(b"cookies", &mut cookie).ok()?;
        hk.expand(b"stored-tokens", &mut at_rest).ok()?;
        let cookie = Key::from(&cookie);
        let signer = hmac::Key::new(hmac::HMAC_SHA256, cookie.signing());
        Some(Self {
            cookie,
            signer,
            at_rest,
        })
    }

    /// `value` prefixed with its HMAC-SHA256 tag (base64): the format of the `cookie`
    /// crate's signed cookies, which authenticates the value only.
    fn sign(&self, value: &str) -> String {
        let tag = hmac::sign(&self.signer, value.as_bytes());
        let mut out = String::with_capacity(SIGNED_TAG_LEN + value.len());
        STANDARD.encode_string(tag.as_ref(), &mut out);
        out.push_str(value);
        out
    }

    /// The value inside a signed cookie value, if its tag verifies. The shape of the
    /// tag is checked before any hashing, so garbage costs next to nothing; the tag is
    /// compared in constant time.
    fn verify<'v>(&self, signed: &'v str) -> Option<&'v str> {
        let (tag, value) = signed.split_at_checked(SIGNED_TAG_LEN)?;
        if value.is_empty() || !tag.ends_with('=') || tag.ends_with("==") {
            return None;
        }
        let mut digest = [0u8; 33];
        if STANDARD.decode_slice(tag, &mut digest).ok()? != 32 {
            return None;
        }
        // Constant-time comparison of the tags.
        hmac::verify(&self.signer, value.as_bytes(), &digest[..32]).ok()?;
        Some(value)
    }

    /// A random key for this process only: sessions die with the process and do not
    /// work across instances.
    pub fn generate() -> Self {
        let secret: [u8; 32] = rand::random();
        Self::derive(&secret).unwrap_or_else(|| unreachable!("32 bytes is long enough"))
    }

    /// The key for encrypting stored tokens.
    pub fn at_rest_key(&self) -> &[u8; 32] {
        &self.at_rest
    }
}

/// Names and attributes of the library's cookies.
#[derive(Debug, Clone)]
pub struct CookieSettings {
    /// Session cookie name. Default `axum_oidc_session` (distinct from common provider
    /// cookies such as `_session` or `session`).
    pub session_name: String,
    /// Prefix of login cookie names. Default `axum_oidc_login_`.
    pub login_prefix: String,
    /// Add `Secure` (set automatically when the application URL is https).
    pub secure: bool,
    /// Path of the login cookies: the auth base path.
    pub login_path: String,
    /// `SameSite` of the session cookie. Default `Lax`.
    pub same_site: SameSite,
}

/// What the encrypted login cookie carries between `/login` and `/callback`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginState {
    /// `state`.
    #[serde(rename = "s")]
    pub state: CsrfState,
    /// `nonce`.
    #[serde(rename = "n")]
    pub nonce: Nonce,
    /// PKCE verifier.
    #[serde(rename = "v")]
    pub verifier: PkceCodeVerifier,
    /// Where to go after login.
    #[serde(rename = "r")]
    pub next: String,
    /// When login started, seconds since the epoch.
    #[serde(rename = "t")]
    pub started_at: i64,
    /// The `max_age` / `acr_values` this login asked for (OIDC Core 3.1.2.1), which
    /// the callback verifies; `None` for a plain login.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub step_up: Option<crate::access::StepUp>,
    /// The named provider this login was sent to; `None` for the single provider.
    /// The callback refuses a response arriving at another provider's redirect URI
    /// (RFC 9700 section 4.4, mix-up).
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The session-to-be's DPoP key (RFC 9449), made at login start so that the
    /// authorization code is bound to it (section 10: `dpop_jkt`, or a proof at the
    /// PAR endpoint); sealed in the cookie like the PKCE verifier, and moved to the
    /// session at the callback.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub dpop_key: Option<crate::secret::DpopPrivateKey>,
}

/// Longest `Set-Cookie` value the library sends: browsers must keep cookies of at least
/// 4,096 bytes, name, value and attributes together (RFC 6265 section 6.1).
pub const MAX_SET_COOKIE_LEN: usize = 4096;

/// How long a login may take, seconds.
pub const LOGIN_COOKIE_MAX_AGE: i64 = 600;

/// The login cookie name for a `state`.
pub fn login_cookie_name(settings: &CookieSettings, state: &str) -> String {
    let tag = URL_SAFE_NO_PAD.encode(&Sha256::digest(state.as_bytes())[..9]);
    format!("{}{tag}", settings.login_prefix)
}

fn base<'c>(name: String, value: String, settings: &CookieSettings) -> cookie::CookieBuilder<'c> {
    Cookie::build((name, value))
        .http_only(true)
        .secure(settings.secure)
}

/// Builds the `Set-Cookie` value of an encrypted login cookie.
///
/// The whole value stays within [`MAX_SET_COOKIE_LEN`] (RFC 6265 section 6.1): `next`
/// grows when JSON-escaped (`"` doubles, a control character becomes six bytes) and
/// again when sealed and base64-encoded, so a `next` that would push the cookie past
/// the limit is replaced by `/` rather than have the browser drop the cookie.
pub fn login_cookie(key: &CookieKey, settings: &CookieSettings, login: &LoginState) -> String {
    let set_cookie = sealed_login_cookie(key, settings, login);
    if set_cookie.len() <= MAX_SET_COOKIE_LEN || login.next == "/" {
        return set_cookie;
    }
    let to_root = LoginState {
        next: "/".to_owned(),
        ..login.clone()
    };
    sealed_login_cookie(key, settings, &to_root)
}

fn sealed_login_cookie(key: &CookieKey, settings: &CookieSettings, login: &LoginState) -> String {
    let name = login_cookie_name(settings, login.state.secret());
    let json = serde_json::to_string(login).unwrap_or_default();
    let mut jar = CookieJar::new();
    jar.private_mut(&key.cookie)
        .add(Cookie::new(name.clone(), json));
    let sealed = jar
        .get(&name)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    base(name, sealed, settings)
        .path(settings.login_path.clone())
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(LOGIN_COOKIE_MAX_AGE))
        .build()
        .to_string()
}

/// Reads and decrypts the login cookie that belongs to `state`.
pub fn read_login_cookie(
    key: &CookieKey,
    settings: &CookieSettings,
    headers: &HeaderMap,
    state: &str,
) -> Option<LoginState> {
    let name = login_cookie_name(settings, state);
    let jar = CookieJar::new();
    let private = jar.private(&key.cookie);
    cookie_values(headers, &name).find_map(|value| {
        let plain = private.decrypt(Cookie::new(name.clone(), value.to_owned()))?;
        serde_json::from_str(plain.value()).ok()
    })
}

/// A `Set-Cookie` value that deletes a cookie.
pub fn removal(name: &str, path: &str, settings: &CookieSettings) -> String {
    base(name.to_owned(), String::new(), settings)
        .path(path.to_owned())
        .max_age(cookie::time::Duration::ZERO)
        .expires(cookie::time::OffsetDateTime::UNIX_EPOCH)
        .build()
        .to_string()
}

/// Builds the session cookie: the signed session id, `Path=/`, with `Max-Age`.
pub fn session_cookie(
    key: &CookieKey,
    settings: &CookieSettings,
    id: &SessionId,
    max_age_secs: i64,
) -> String {
    let signed = key.sign(id.secret());
    base(settings.session_name.clone(), signed, settings)
        .path("/")
        .same_site(settings.same_site)
        .max_age(cookie::time::Duration::seconds(max_age_secs.max(0)))
        .build()
        .to_string()
}

/// Reads the session id from the request, accepting only a correctly signed value.
pub fn read_session_id(
    key: &CookieKey,
    settings: &CookieSettings,
    headers: &HeaderMap,
) -> Option<SessionId> {
    cookie_values(headers, &settings.session_name)
        .find_map(|value| key.verify(value).map(SessionId::new))
}

/// What the request's session cookie says, from one read of the `Cookie` header.
#[derive(Debug)]
pub(crate) enum SessionCookie {
    /// A cookie with a valid signature: this session id.
    Valid(SessionId),
    /// A cookie of that name, none of them validly signed (forged, or of another key).
    Invalid,
    /// No session cookie at all.
    Absent,
}

/// [`read_session_id`], also telling a forged cookie from none, in one pass.
pub(crate) fn read_session_cookie(
    key: &CookieKey,
    settings: &CookieSettings,
    headers: &HeaderMap,
) -> SessionCookie {
    let mut seen = false;
    for value in cookie_values(headers, &settings.session_name) {
        if let Some(id) = key.verify(value) {
            return SessionCookie::Valid(SessionId::new(id));
        }
        seen = true;
    }
    if seen {
        SessionCookie::Invalid
    } else {
        SessionCookie::Absent
    }
}

/// The value of the first cookie called `name` in the request.
pub(crate) fn cookie_value<'h>(headers: &'h HeaderMap, name: &'h str) -> Option<&'h str> {
    cookie_values(headers, name).next()
}

/// Most bytes of `Cookie` header read; browsers send at most a few KiB.
const MAX_COOKIE_HEADER: usize = 16 * 1024;

/// Values of every cookie named `name` across all `Cookie` headers.
/// The one reader of the `Cookie` header (RFC 6265 section 5.4): the `cookie` crate's
/// parser, over headers of at most [`MAX_COOKIE_HEADER`] bytes. Yields the value of each
/// cookie called `name`, without surrounding double quotes.
fn cookie_values<'h>(headers: &'h HeaderMap, name: &'h str) -> impl Iterator<Item = &'h str> + 'h {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter(|v| v.len() <= MAX_COOKIE_HEADER)
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(move |c| {
            let c = c.ok()?;
            (c.name_raw()? == name).then_some(())?;
            Some(c.value_raw()?.trim_matches('"'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> CookieSettings {
        CookieSettings {
            session_name: "axum_oidc_session".into(),
            login_prefix: "axum_oidc_login_".into(),
            secure: false,
            login_path: "/auth".into(),
            same_site: SameSite::Lax,
        }
    }

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::COOKIE, cookie.parse().unwrap());
        h
    }

    fn pair(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_owned()
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(CookieKey::derive(b"short").is_none());
        assert!(CookieKey::derive(&[1; 32]).is_some());
    }

    #[test]
    fn session_cookie_round_trips_and_rejects_tampering() {
        let key = CookieKey::generate();
        let id = SessionId::new("abc");
        let set = session_cookie(&key, &settings(), &id, 60);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"));
        assert!(!set.contains("Secure"));
        let got = read_session_id(&key, &settings(), &headers(&pair(&set))).unwrap();
        assert_eq!(got, id);
        let tampered = pair(&set).replace("abc", "abd");
        assert!(read_session_id(&key, &settings(), &headers(&tampered)).is_none());
        assert!(
            read_session_id(&CookieKey::generate(), &settings(), &headers(&pair(&set))).is_none()
        );
        assert!(read_session_id(&key, &settings(), &headers("axum_oidc_session=abc")).is_none());
    }

    #[test]
    fn session_cookies_keep_the_cookie_crate_signed_format() {
        let key = CookieKey::derive(&[3; 32]).unwrap();
        let mut jar = CookieJar::new();
        jar.signed_mut(&key.cookie)
            .add(Cookie::new("axum_oidc_session", "sid-1"));
        let by_crate = jar.get("axum_oidc_session").unwrap().value().to_owned();
        assert_eq!(key.sign("sid-1"), by_crate);
        assert_eq!(key.verify(&by_crate), Some("sid-1"));
    }

    #[test]
    fn malformed_signed_values_are_refused_before_hashing() {
        let key = CookieKey::generate();
        let good = key.sign("sid-1");
        for bad in [
            "",
            "short",
            &good[..SIGNED_TAG_LEN],
            &good.replacen('=', "A", 1),
            &format!("{}==sid-1", &good[..42]),
            &format!("{}é{}", &good[..43], &good[44..]),
        ] {
            assert_eq!(key.verify(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn login_cookie_is_encrypted_and_bound_to_its_state() {
        let key = CookieKey::generate();
        let login = LoginState {
            state: CsrfState::new("st-1"),
            nonce: Nonce::new("no-1"),
            verifier: PkceCodeVerifier::new("ver-1"),
            next: "/x".into(),
            started_at: 5,
            step_up: None,
            provider: None,
            dpop_key: None,
        };
        let set = login_cookie(&key, &settings(), &login);
        assert!(!set.contains("ver-1") && !set.contains("no-1"));
        assert!(set.contains("Path=/auth") && set.contains("Max-Age=600"));
        let h = headers(&pair(&set));
        let back = read_login_cookie(&key, &settings(), &h, "st-1").unwrap();
        assert_eq!(back.verifier, PkceCodeVerifier::new("ver-1"));
        assert!(read_login_cookie(&key, &settings(), &h, "st-2").is_none());
    }

    /// RFC 6265 section 6.1: browsers keep cookies of at least 4,096 bytes (name,
    /// value and attributes); a longer one may be dropped, and the login with it.
    #[test]
    fn the_login_cookie_never_outgrows_the_browser_limit() {
        let key = CookieKey::generate();
        let settings = CookieSettings {
            secure: true,
            ..settings()
        };
        let long = crate::redirect::MAX_NEXT_LEN - 1;
        let worst = [
            format!("/{}", "\"".repeat(long)),
            format!("/{}", "\\".repeat(long)),
            format!("/{}", "\u{1}".repeat(long)),
            format!("/{}", "\u{7f}".repeat(long)),
            format!("/{}", "é".repeat(long / 2)),
            format!("/{}", "\"\u{1f}a".repeat(long / 3)),
            format!("/{}", "\"".repeat(long / 2)),
        ];
        for next in worst {
            let login = LoginState {
                state: CsrfState::new("s".repeat(43)),
                nonce: Nonce::new("n".repeat(43)),
                verifier: PkceCodeVerifier::new("v".repeat(128)),
                next: next.clone(),
                started_at: i64::MAX,
                step_up: None,
                provider: None,
                dpop_key: None,
            };
            let set = login_cookie(&key, &settings, &login);
            assert!(
                set.len() <= MAX_SET_COOKIE_LEN,
                "{} bytes for a next of {} bytes",
                set.len(),
                next.len()
            );
            let back = read_login_cookie(&key, &settings, &headers(&pair(&set)), &"s".repeat(43))
                .expect("the login cookie still decrypts");
            assert!(back.next == next || back.next == "/", "{:?}", back.next);
        }
        // A long next that fits is carried as it is.
        let fits = format!("/{}", "a".repeat(long));
        let login = LoginState {
            state: CsrfState::new("st"),
            nonce: Nonce::new("no"),
            verifier: PkceCodeVerifier::new("v".repeat(128)),
            next: fits.clone(),
            started_at: 1,
            step_up: None,
            provider: None,
            dpop_key: None,
        };
        let set = login_cookie(&key, &settings, &login);
        assert!(set.len() <= MAX_SET_COOKIE_LEN);
        let back = read_login_cookie(&key, &settings, &headers(&pair(&set)), "st").unwrap();
        assert_eq!(back.next, fits);
    }

    #[test]
    fn secure_flag_follows_settings() {
        let s = CookieSettings {
            secure: true,
            ..settings()
        };
        assert!(
            session_cookie(&CookieKey::generate(), &s, &SessionId::new("a"), 1).contains("Secure")
        );
    }

    #[test]
    fn only_a_cookie_with_exactly_the_name_is_read() {
        let h = headers("xaxum_oidc_session=a; axum_oidc_sessionx=b; axum_oidc_session=\"c\"");
        assert_eq!(cookie_value(&h, "axum_oidc_session"), Some("c"));
        let h = headers("axum_oidc_session_other=a");
        assert_eq!(cookie_value(&h, "axum_oidc_session"), None);
    }

    #[test]
    fn a_cookie_header_over_the_size_cap_is_not_read() {
        let big = format!("axum_oidc_session=v; pad={}", "x".repeat(MAX_COOKIE_HEADER));
        assert_eq!(cookie_value(&headers(&big), "axum_oidc_session"), None);
        let small = "axum_oidc_session=v; pad=x";
        assert_eq!(
            cookie_value(&headers(small), "axum_oidc_session"),
            Some("v")
        );
    }

    #[test]
    fn one_read_tells_a_valid_a_forged_and_a_missing_session_cookie_apart() {
        let key = CookieKey::generate();
        let set = session_cookie(&key, &settings(), &SessionId::new("sid-1"), 60);
        assert!(matches!(
            read_session_cookie(&key, &settings(), &headers(&pair(&set))),
            SessionCookie::Valid(id) if id.secret() == "sid-1"
        ));
        assert!(matches!(
            read_session_cookie(&key, &settings(), &headers("axum_oidc_session=forged")),
            SessionCookie::Invalid
        ));
        assert!(matches!(
            read_session_cookie(&key, &settings(), &headers("other=1")),
            SessionCookie::Absent
        ));
    }
}
