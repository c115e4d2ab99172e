//! Newtypes for every secret the library handles.
//!
//! Each type keeps its value private, prints as `[redacted]` in `Debug`, exposes the
//! value only through an explicit `secret()` accessor and compares in constant time.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

macro_rules! secret_string {
    ($(#[$meta:meta])* $name:ident $(, public: $path:literal)?) => {
        $(#[$meta])*
        $(
        #[doc = ""]
        #[doc = concat!(
            "```\n",
            "use ", $path, ";\n\n",
            "let v = ", stringify!($name), "::new(\"s3cret\");\n",
            "assert_eq!(v.secret(), \"s3cret\");\n",
            "assert_eq!(format!(\"{v:?}\"), \"", stringify!($name), "([redacted])\");\n",
            "assert_eq!(v, ", stringify!($name), "::new(\"s3cret\"));\n",
            "assert_ne!(v, ", stringify!($name), "::new(\"other\"));\n",
            "```",
        )]
        )?
        #[derive(Clone, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value.
            $(
            #[doc = ""]
            #[doc = concat!(
                "```\n",
                "use ", $path, ";\n\n",
                "let v = ", stringify!($name), "::new(String::from(\"s3cret\"));\n",
                "assert_eq!(v.secret(), \"s3cret\");\n",
                "```",
            )]
            )?
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret value. Never log it.
            $(
            #[doc = ""]
            #[doc = concat!(
                "```\n",
                "use ", $path, ";\n\n",
                "let v = ", stringify!($name), "::new(\"s3cret\");\n",
                "// `Debug` hides the value; only `secret()` shows it.\n",
                "assert!(!format!(\"{v:?}\").contains(\"s3cret\"));\n",
                "assert_eq!(v.secret(), \"s3cret\");\n",
                "```",
            )]
            )?
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl Eq for $name {}
    };
}

secret_string!(
    /// The OAuth 2.0 client secret (RFC 6749 section 2.3.1).
    ClientSecret,
    public: "axum_oidc_client::ClientSecret"
);
secret_string!(
    /// An opaque `state` value (RFC 6749 section 10.12), bound to the browser.
    CsrfState
);
secret_string!(
    /// The OIDC `nonce` (OIDC Core 3.1.2.1), bound to the browser and echoed in the ID token.
    Nonce
);
secret_string!(
    /// The PKCE `code_verifier` (RFC 7636 section 4.1).
    PkceCodeVerifier
);
secret_string!(
    /// An OAuth 2.0 access token.
    AccessTokenValue,
    public: "axum_oidc_client::AccessTokenValue"
);
secret_string!(
    /// An OAuth 2.0 refresh token.
    RefreshTokenValue,
    public: "axum_oidc_client::RefreshTokenValue"
);
secret_string!(
    /// A compact-serialized OIDC ID token.
    IdTokenValue,
    public: "axum_oidc_client::IdTokenValue"
);
secret_string!(
    /// The random session id carried in the session cookie.
    SessionId
);
secret_string!(
    /// A session's DPoP private key (RFC 9449), as base64url PKCS#8 DER: stored with
    /// the session, encrypted at rest like its tokens
    /// ([`DpopKey::to_stored`](crate::dpop::DpopKey::to_stored)).
    DpopPrivateKey,
    public: "axum_oidc_client::DpopPrivateKey"
);

/// Compares two byte strings in constant time (for equal lengths).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// `n` random bytes from the operating system's CSPRNG, base64url without padding.
pub(crate) fn random_token(n: usize) -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = ClientSecret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "ClientSecret([redacted])");
        assert!(!format!("{:?}", RefreshTokenValue::new("rt-123")).contains("rt-123"));
    }

    #[test]
    fn equality_compares_values() {
        assert_eq!(Nonce::new("a"), Nonce::new("a"));
        assert_ne!(Nonce::new("a"), Nonce::new("b"));
        assert_ne!(Nonce::new("a"), Nonce::new("aa"));
    }

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = random_token(32);
        let b = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
