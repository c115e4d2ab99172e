//! `discovery::parse_metadata`: exact issuer, https endpoints.

use axum_oidc_client::__private::discovery::parse_metadata;

use super::*;

const ENDPOINTS: &[&str] = &[
    "https://op.example/authorize",
    "https://op.example/token",
    "https://op.example:8443/jwks?x=1",
    "https://[::1]:8443/p",
    "HTTPS://OP.EXAMPLE/x",
    "http://op.example/token",
    "http://localhost:8080/token",
    "ftp://op.example/",
    "javascript:alert(1)",
    "data:text/plain,x",
    "/relative",
    "",
    "https://",
    "https://op.example:99999/",
    "https://op example/",
];

const ISSUERS: &[&str] = &[
    "https://op.example",
    "https://op.example/",
    "http://localhost:8080",
    "https://OP.example",
    "",
];

fn discovery_document(expected: &'static str) -> impl Strategy<Value = Map<String, Value>> {
    let endpoint = || slot(one_of(ENDPOINTS));
    (
        (
            slot(prop_oneof![3 => Just(Value::from(expected)), 1 => one_of(ISSUERS)]),
            endpoint(),
            endpoint(),
            endpoint(),
            endpoint(),
        ),
        (
            endpoint(),
            endpoint(),
            slot(prop::collection::vec(select(ALG_NAMES), 0..4).prop_map(|a| json!(a))),
            slot(any::<bool>().prop_map(Value::from)),
            extra_members(),
        ),
    )
        .prop_map(
            |((iss, authz, token, jwks, userinfo), (end, revoke, algs, iss_param, extra))| {
                object(
                    vec![
                        ("issuer", iss),
                        ("authorization_endpoint", authz),
                        ("token_endpoint", token),
                        ("jwks_uri", jwks),
                        ("userinfo_endpoint", userinfo),
                        ("end_session_endpoint", end),
                        ("revocation_endpoint", revoke),
                        ("id_token_signing_alg_values_supported", algs),
                        ("authorization_response_iss_parameter_supported", iss_param),
                    ],
                    extra,
                )
            },
        )
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn discovery_never_panics_on_any_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        expected in select(ISSUERS),
    ) {
        let _ = parse_metadata(expected, &bytes);
    }

    #[test]
    fn discovery_accepts_only_the_exact_issuer_and_https_endpoints(
        doc in discovery_document("https://op.example"),
        expected in select(ISSUERS),
    ) {
        let body = serde_json::to_vec(&doc).unwrap_or_default();
        if let Ok(meta) = parse_metadata(expected, &body) {
            prop_assert_eq!(meta.issuer.as_str(), expected);
            prop_assert_eq!(doc.get("issuer"), Some(&Value::from(expected)));
            if expected.starts_with("https://") {
                for u in meta.endpoints() {
                    prop_assert_eq!(u.scheme(), "https", "{} accepted", u);
                }
            }
        }
    }
}
