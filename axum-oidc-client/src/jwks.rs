//! The provider's signing keys (RFC 7517 section 5) and their shared cache
//! (OIDC Core 10.1.1). They live in the JOSE core, [`crate::jose`]; this module keeps
//! their former paths.

pub use crate::jose::{JwkSet, JwksCache, JwksError, KeyEntry, MAX_JWKS_LEN, SignatureError};
