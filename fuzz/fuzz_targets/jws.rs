//! `jose::UnverifiedJws::parse` and `verify`: never panic, never accept `none`, an
//! HMAC or a disallowed algorithm, and no signature made up by the fuzzer verifies.
//!
//! The input is used twice: as a compact token, and as `header 0xff payload 0xff
//! signature` that is base64url-encoded first, so the JSON header parser is reached.
#![no_main]

use axum_oidc_client::__private::jose::{SigningAlgorithm, UnverifiedJws};
use axum_oidc_client_fuzz::{provider_keys, split_ff};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;

/// The allow-list: every algorithm except the one picked by the first byte.
fn allowed(selector: u8) -> Vec<SigningAlgorithm> {
    let skip = usize::from(selector) % (SigningAlgorithm::ALL.len() + 1);
    SigningAlgorithm::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != skip)
        .map(|(_, a)| *a)
        .collect()
}

fn check(token: &str, allowed: &[SigningAlgorithm]) {
    let Ok(jws) = UnverifiedJws::parse(token, allowed) else {
        return;
    };
    let alg = jws.header.alg.as_str();
    assert!(!alg.eq_ignore_ascii_case("none") && !alg.to_ascii_uppercase().starts_with("HS"));
    assert!(allowed.contains(&jws.alg), "{alg} is not allowed");
    assert_eq!(jws.alg.name(), alg);
    assert!(jws.header.crit.is_none());
    assert_eq!(token.matches('.').count(), 2);
    assert!(
        jws.verify(provider_keys()).is_err(),
        "made-up signature verified"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let allowed = allowed(selector);
    if let Ok(token) = std::str::from_utf8(rest) {
        check(token, &allowed);
    }
    let token = split_ff(rest)
        .map(|part| URL_SAFE_NO_PAD.encode(part))
        .collect::<Vec<_>>()
        .join(".");
    check(&token, &allowed);
});
