//! `discovery::parse_metadata`: never panics, and accepts only a document whose
//! `issuer` is exactly the expected one and, for an https issuer, only https endpoints.
#![no_main]

use axum_oidc_client::__private::discovery::parse_metadata;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for expected in ["https://op.example", "http://localhost:8080"] {
        let Ok(meta) = parse_metadata(expected, data) else {
            continue;
        };
        assert_eq!(meta.issuer, expected);
        if expected.starts_with("https://") {
            for u in meta.endpoints() {
                assert_eq!(u.scheme(), "https", "{u} accepted for an https issuer");
            }
        }
    }
});
