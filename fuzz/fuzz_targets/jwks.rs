//! `jwks::JwkSet::parse`: never panics, keeps only RSA, EC and Ed25519 signature keys
//! with a known `alg`, and the key material it keeps goes through a signature check
//! without panicking.
#![no_main]

use std::sync::OnceLock;

use axum_oidc_client::__private::jose::{SigningAlgorithm, UnverifiedJws};
use axum_oidc_client::__private::jose::JwkSet;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;

/// One token per algorithm, with a made-up 256-byte signature.
fn probes() -> &'static [String] {
    static PROBES: OnceLock<Vec<String>> = OnceLock::new();
    PROBES.get_or_init(|| {
        SigningAlgorithm::ALL
            .iter()
            .map(|alg| {
                let header = format!(r#"{{"alg":"{}"}}"#, alg.name());
                let sig: Vec<u8> = (0..=255u8).collect();
                format!(
                    "{}.{}.{}",
                    URL_SAFE_NO_PAD.encode(header),
                    URL_SAFE_NO_PAD.encode("{}"),
                    URL_SAFE_NO_PAD.encode(sig)
                )
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(set) = JwkSet::parse(data) else {
        return;
    };
    for key in set.iter() {
        assert!(
            ["RSA", "EC", "OKP"].contains(&key.kty.as_str()),
            "kty {}",
            key.kty
        );
        assert!(
            key.alg
                .as_deref()
                .is_none_or(|a| SigningAlgorithm::from_name(a).is_some())
        );
        if key.kty == "OKP" {
            assert_eq!(key.crv.as_deref(), Some("Ed25519"));
        }
    }
    if set.is_empty() {
        return;
    }
    for token in probes() {
        let jws = UnverifiedJws::parse(token, &SigningAlgorithm::ALL).expect("probe parses");
        assert!(jws.verify(&set).is_err(), "made-up signature verified");
    }
});
