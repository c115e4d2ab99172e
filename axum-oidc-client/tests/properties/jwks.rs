//! `jwks::JwkSet::parse`: only usable signature keys, and key material that survives
//! a signature check.

use axum_oidc_client::__private::jose::JwkSet;
use axum_oidc_client::__private::jose::{SigningAlgorithm, UnverifiedJws};

use super::*;

const RSA_N: &str = "yWPGAw-hfnX8UeM9N9RxkS72VgNKFMUqBEZFRGFaLFtSeNjlAcJ9rDjDD4TxbHddF2sGvlci3-Lhr8wtfT9noEHdZzTWgWGPJiLs5KK0rYwhU0V6xxu7IZv3gqYymyM5BqNXX4vb_AXyAC3hryvwb5aS0taNtDb8N3Yc0cPKpAyoVhAlZWw1iDLFJOtI0X0oES8lNTSYWAnhp6T3dSkiIhnam4OsQF8hOiPyXj6la3Orc4hCQSEpcvEz5OZ-JzlBlGg4RAA8FrM-IQnL9RCNgQdVLQUCasL6ZKws8l5U83yWR6lt8sQuQhia1BBtf4B4PyMBy9M8fJmMQ68xJlqqEw";
const EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

fn key_material() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => one_of(&[RSA_N, EC_X, EC_Y, ED_X, "AQAB", "AQ", "AA", "", "@@", "AQAB="]),
        2 => prop::collection::vec(any::<u8>(), 0..80).prop_map(|b| Value::from(b64(&b))),
        1 => "[A-Za-z0-9_-]{0,90}".prop_map(Value::from),
    ]
}

fn jwk() -> impl Strategy<Value = Value> {
    (
        (
            slot(one_of(&["RSA", "EC", "OKP", "oct", "rsa", ""])),
            slot(one_of(&["sig", "enc", "SIG", ""])),
            slot(one_of(ALG_NAMES)),
            slot(one_of(&[
                "P-256",
                "P-384",
                "P-521",
                "Ed25519",
                "X25519",
                "secp256k1",
            ])),
            slot("[a-z0-9]{0,4}".prop_map(Value::from)),
        ),
        (
            slot(key_material()),
            slot(key_material()),
            slot(key_material()),
            slot(key_material()),
            extra_members(),
        ),
    )
        .prop_map(|((kty, use_, alg, crv, kid), (n, e, x, y, extra))| {
            Value::Object(object(
                vec![
                    ("kty", kty),
                    ("use", use_),
                    ("alg", alg),
                    ("crv", crv),
                    ("kid", kid),
                    ("n", n),
                    ("e", e),
                    ("x", x),
                    ("y", y),
                ],
                extra,
            ))
        })
}

/// A well-formed key of every supported type, to check that noise around them does
/// not make them disappear.
fn good_keys() -> Vec<Value> {
    vec![
        json!({"kty": "RSA", "kid": "good-rsa", "n": RSA_N, "e": "AQAB"}),
        json!({"kty": "EC", "crv": "P-256", "kid": "good-ec", "x": EC_X, "y": EC_Y}),
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "good-ed", "x": ED_X, "use": "sig"}),
    ]
}

/// Tokens for every algorithm with a random signature, to push fuzzed key material
/// through the signature check.
fn probe_tokens(sig: &[u8]) -> Vec<String> {
    SigningAlgorithm::ALL
        .iter()
        .map(|alg| {
            let header = json!({ "alg": alg.name() }).to_string();
            format!("{}.{}.{}", b64(header.as_bytes()), b64(b"{}"), b64(sig))
        })
        .collect()
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn jwks_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = JwkSet::parse(&bytes);
    }

    #[test]
    fn jwks_keeps_only_usable_signature_keys(
        keys in prop::collection::vec(jwk(), 0..6),
        with_good in any::<bool>(),
        sig in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let mut all = keys.clone();
        if with_good {
            all.extend(good_keys());
        }
        let body = json!({ "keys": all }).to_string();
        let set = JwkSet::parse(body.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{body}: {e}")))?;
        let usable = all
            .iter()
            .filter(|k| {
                let kty = k.get("kty").and_then(Value::as_str);
                matches!(kty, Some("RSA" | "EC" | "OKP"))
                    && k.get("use").filter(|u| !u.is_null()).is_none_or(|u| u == "sig")
            })
            .count();
        prop_assert!(set.len() <= usable);
        for key in set.iter() {
            prop_assert!(["RSA", "EC", "OKP"].contains(&key.kty.as_str()));
            prop_assert!(key.alg.as_deref().is_none_or(|a| SigningAlgorithm::from_name(a).is_some()));
            if key.kty == "OKP" {
                prop_assert_eq!(key.crv.as_deref(), Some("Ed25519"));
            }
        }
        if with_good {
            for kid in ["good-rsa", "good-ec", "good-ed"] {
                prop_assert!(set.by_kid(kid).is_some(), "{kid} lost");
            }
        }
        // Fuzzed key material goes through the signature check without panicking; a
        // random signature never verifies.
        for token in probe_tokens(&sig) {
            let jws = UnverifiedJws::parse(&token, &SigningAlgorithm::ALL)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(jws.verify(&set).is_err());
        }
    }

    #[test]
    fn jwks_documents_of_any_shape_never_panic(doc in json_value()) {
        let _ = JwkSet::parse(doc.to_string().as_bytes());
        let _ = JwkSet::parse(json!({ "keys": doc }).to_string().as_bytes());
        let _ = JwkSet::parse(json!({ "keys": [doc] }).to_string().as_bytes());
    }
}
