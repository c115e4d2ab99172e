//! What the fuzz targets share: the fixed expectations they check input against, a
//! key set, and the cookie key and settings.

use std::sync::OnceLock;

use axum_oidc_client::__private::cookies::{CookieKey, CookieSettings};
use axum_oidc_client::__private::jose::JwkSet;

/// The time every target treats as now.
pub const NOW: i64 = 1_800_000_000;
/// The configured issuer.
pub const ISSUER: &str = "https://op.example";
/// The configured client id.
pub const CLIENT: &str = "client-1";
/// The nonce sent with the authorization request.
pub const NONCE: &str = "n-0S6_WzA2Mj";
/// The session id the seed session cookies carry.
pub const SEED_SESSION_ID: &str = "seed-session-id";
/// The `state` of the seed login cookies.
pub const SEED_STATE: &str = "seed-state";

const RSA_N: &str = "yWPGAw-hfnX8UeM9N9RxkS72VgNKFMUqBEZFRGFaLFtSeNjlAcJ9rDjDD4TxbHddF2sGvlci3-Lhr8wtfT9noEHdZzTWgWGPJiLs5KK0rYwhU0V6xxu7IZv3gqYymyM5BqNXX4vb_AXyAC3hryvwb5aS0taNtDb8N3Yc0cPKpAyoVhAlZWw1iDLFJOtI0X0oES8lNTSYWAnhp6T3dSkiIhnam4OsQF8hOiPyXj6la3Orc4hCQSEpcvEz5OZ-JzlBlGg4RAA8FrM-IQnL9RCNgQdVLQUCasL6ZKws8l5U83yWR6lt8sQuQhia1BBtf4B4PyMBy9M8fJmMQ68xJlqqEw";
const EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

/// The provider's keys: one RSA, one P-256 and one Ed25519 key (public halves only,
/// so no input can carry a valid signature).
pub fn provider_keys() -> &'static JwkSet {
    static KEYS: OnceLock<JwkSet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let doc = serde_json::json!({ "keys": [
            { "kty": "RSA", "kid": "rsa", "n": RSA_N, "e": "AQAB" },
            { "kty": "EC", "crv": "P-256", "kid": "ec", "x": EC_X, "y": EC_Y },
            { "kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": ED_X },
        ]});
        let set = JwkSet::parse(doc.to_string().as_bytes()).expect("fixed JWKS parses");
        assert_eq!(set.len(), 3);
        set
    })
}

/// The cookie key the seed cookies were made with: derived from a fixed secret, so
/// seeds stay valid across runs.
pub fn cookie_key() -> &'static CookieKey {
    static KEY: OnceLock<CookieKey> = OnceLock::new();
    KEY.get_or_init(|| CookieKey::derive(&[7; 32]).expect("32 bytes is long enough"))
}

/// The library's default cookie settings.
pub fn cookie_settings() -> &'static CookieSettings {
    static SETTINGS: OnceLock<CookieSettings> = OnceLock::new();
    SETTINGS.get_or_init(|| CookieSettings {
        session_name: "axum_oidc_session".into(),
        login_prefix: "axum_oidc_login_".into(),
        secure: true,
        login_path: "/auth".into(),
        same_site: cookie::SameSite::Lax,
    })
}

/// Splits `data` at `0xff` bytes (never valid UTF-8, so free to use as a separator).
pub fn split_ff(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == 0xff)
}
