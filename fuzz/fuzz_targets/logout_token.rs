//! `backchannel::validate_logout_claims`: never panics, and what it accepts has the
//! issuer, the audience, the back-channel logout event, a fresh `iat`, a `jti`, a `sid`
//! or `sub`, and no `nonce` (Back-Channel Logout 1.0 section 2.6).
#![no_main]

use std::time::Duration;

use axum_oidc_client::__private::backchannel::{BACKCHANNEL_LOGOUT_EVENT, validate_logout_claims};
use axum_oidc_client_fuzz::{CLIENT, ISSUER, NOW};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const LEEWAY: Duration = Duration::from_secs(30);

fuzz_target!(|data: &[u8]| {
    if validate_logout_claims(data, ISSUER, CLIENT, LEEWAY, NOW).is_err() {
        return;
    }
    // What is accepted is the UTF-8 encoding of a JSON object (RFC 7519 section 7.2
    // step 10), members the claims do not name included.
    let first = data.iter().find(|b| !b.is_ascii_whitespace());
    assert_eq!(first, Some(&b'{'), "claims that are not an object accepted");
    assert!(
        std::str::from_utf8(data).is_ok(),
        "claims that are not UTF-8 accepted"
    );
    // A number beyond the range of f64 in a member the claims do not name is valid
    // JSON that a `Value` cannot hold; such input is not checked further.
    let Ok(claims) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    assert_eq!(claims["iss"], ISSUER);
    assert!(
        claims["aud"] == CLIENT
            || claims["aud"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == CLIENT))
    );
    assert!(claims["events"][BACKCHANNEL_LOGOUT_EVENT].is_object());
    assert!(claims.get("nonce").is_none(), "nonce accepted");
    let iat = claims["iat"].as_i64().expect("iat is an integer");
    assert!(iat <= NOW + 30 && iat >= NOW - 300 - 30);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let present = |k: &str| claims[k].as_str().is_some_and(|s| !s.is_empty());
    assert!(present("sid") || present("sub"));
});
