//! One test per rule of [`verify_proof`](super::verify_proof) (RFC 9449 section 4.3).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, Method};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use super::*;
use crate::jose::SigningAlgorithm;

const NOW: i64 = 1_700_000_000;
const HTU: &str = "https://api.example/orders";
const TOKEN: &str = "an.access.token";

fn rules() -> ProofRules {
    ProofRules {
        algorithms: Arc::from(
            &[
                SigningAlgorithm::ES256,
                SigningAlgorithm::PS256,
                SigningAlgorithm::RS256,
                SigningAlgorithm::EdDSA,
            ][..],
        ),
        max_age: 60,
        leeway: 5,
    }
}

fn header(key: &DpopKey) -> Value {
    json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk()})
}

fn claims() -> Value {
    json!({"jti": "j-1", "htm": "GET", "htu": HTU, "iat": NOW, "ath": access_token_hash(TOKEN)})
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A proof with exactly `header` and `claims`, signed with `signer` and `alg`.
fn sign_raw(header: &Value, claims: &Value, signer: &EncodingKey, alg: Algorithm) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), signer, alg).unwrap();
    format!("{input}.{sig}")
}

fn sign(key: &DpopKey, header: &Value, claims: &Value) -> String {
    sign_raw(
        header,
        claims,
        &EncodingKey::from_ec_der(key.to_pkcs8_der()),
        Algorithm::ES256,
    )
}

fn headers(proofs: &[&str]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for p in proofs {
        h.append("dpop", HeaderValue::from_str(p).unwrap());
    }
    h
}

fn check_at(proof: &str, method: &Method, now: i64) -> Result<VerifiedProof, DpopError> {
    let request = ProofRequest {
        method,
        htu: HTU,
        access_token: Some(TOKEN),
    };
    verify_proof(&headers(&[proof]), request, &rules(), now)
}

fn check(proof: &str) -> Result<VerifiedProof, DpopError> {
    check_at(proof, &Method::GET, NOW)
}

fn with(mut v: Value, name: &str, value: Value) -> Value {
    v[name] = value;
    v
}

fn without(mut v: Value, name: &str) -> Value {
    v.as_object_mut().unwrap().remove(name);
    v
}

#[test]
fn accepts_a_valid_proof_and_names_its_key() {
    let key = DpopKey::generate().unwrap();
    let proof = check(&sign(&key, &header(&key), &claims())).unwrap();
    assert_eq!(proof.jkt, key.thumbprint());
    assert_eq!(proof.jti, "j-1");
    assert_eq!(proof.iat, NOW);
}

#[test]
fn accepts_a_proof_made_by_dpop_key_proof() {
    let key = DpopKey::generate().unwrap();
    let proof = key
        .proof(
            &Method::GET,
            "https://API.example:443/orders?page=2",
            NOW,
            None,
            Some(TOKEN),
        )
        .unwrap();
    assert_eq!(check(&proof).unwrap().jkt, key.thumbprint());
}

#[test]
fn accepts_rs256_ps256_and_eddsa_proofs() {
    let rsa = EncodingKey::from_rsa_pem(include_bytes!(
        "../../tests/fixtures/bearer/rsa_private.pem"
    ))
    .unwrap();
    use aws_lc_rs::signature::KeyPair as _;
    let ed_pkcs8 =
        aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
            .unwrap();
    let ed_pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(ed_pkcs8.as_ref()).unwrap();
    let ed_jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(ed_pair.public_key().as_ref())});
    let ed = EncodingKey::from_ed_der(ed_pkcs8.as_ref());
    let rsa_jwk = serde_json::to_value(
        jsonwebtoken::jwk::Jwk::from_encoding_key(&rsa, Algorithm::RS256).unwrap(),
    )
    .unwrap();
    for (signer, alg, name, jwk) in [
        (&rsa, Algorithm::RS256, "RS256", &rsa_jwk),
        (&rsa, Algorithm::PS256, "PS256", &rsa_jwk),
        (&ed, Algorithm::EdDSA, "EdDSA", &ed_jwk),
    ] {
        let h = json!({"typ": "dpop+jwt", "alg": name, "jwk": jwk});
        let proof = check(&sign_raw(&h, &claims(), signer, alg));
        assert!(proof.is_ok(), "{name}: {proof:?}");
    }
}

#[test]
fn rejects_a_request_without_a_proof() {
    let request = ProofRequest {
        method: &Method::GET,
        htu: HTU,
        access_token: None,
    };
    assert!(matches!(
        verify_proof(&HeaderMap::new(), request, &rules(), NOW),
        Err(DpopError::MissingProof)
    ));
}

#[test]
fn rejects_two_dpop_headers() {
    let key = DpopKey::generate().unwrap();
    let proof = sign(&key, &header(&key), &claims());
    let request = ProofRequest {
        method: &Method::GET,
        htu: HTU,
        access_token: Some(TOKEN),
    };
    assert!(matches!(
        verify_proof(&headers(&[&proof, &proof]), request, &rules(), NOW),
        Err(DpopError::MultipleProofs)
    ));
}

#[test]
fn rejects_a_proof_that_is_not_a_compact_jws() {
    for bad in ["", "a.b", "a.b.c.d", "!!.e30.sig", "e30.bm90IGpzb24.sig"] {
        assert!(matches!(check(bad), Err(DpopError::Malformed)), "{bad:?}");
    }
    let huge = format!("e30.{}.sig", "A".repeat(verify::MAX_PROOF_LEN));
    assert!(matches!(check(&huge), Err(DpopError::Malformed)));
}

#[test]
fn rejects_a_proof_with_a_wrong_typ() {
    let key = DpopKey::generate().unwrap();
    for typ in [json!("JWT"), json!("at+jwt"), Value::Null] {
        let h = with(header(&key), "typ", typ);
        assert!(matches!(
            check(&sign(&key, &h, &claims())),
            Err(DpopError::WrongType)
        ));
    }
    let h = without(header(&key), "typ");
    assert!(matches!(
        check(&sign(&key, &h, &claims())),
        Err(DpopError::WrongType)
    ));
}

#[test]
fn rejects_alg_none_and_hmac_proofs() {
    let key = DpopKey::generate().unwrap();
    let none = format!(
        "{}.{}.",
        b64(&with(header(&key), "alg", json!("none"))),
        b64(&claims())
    );
    assert!(matches!(check(&none), Err(DpopError::AlgNotAllowed(a)) if a == "none"));
    let hs = sign_raw(
        &with(header(&key), "alg", json!("HS256")),
        &claims(),
        &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        Algorithm::HS256,
    );
    assert!(matches!(check(&hs), Err(DpopError::AlgNotAllowed(a)) if a == "HS256"));
}

#[test]
fn rejects_an_algorithm_outside_the_allow_list() {
    let key = DpopKey::generate().unwrap();
    let proof = sign(&key, &header(&key), &claims());
    let request = ProofRequest {
        method: &Method::GET,
        htu: HTU,
        access_token: Some(TOKEN),
    };
    let only_rsa = ProofRules {
        algorithms: Arc::from(&[SigningAlgorithm::RS256][..]),
        ..rules()
    };
    assert!(matches!(
        verify_proof(&headers(&[&proof]), request, &only_rsa, NOW),
        Err(DpopError::AlgNotAllowed(a)) if a == "ES256"
    ));
}

#[test]
fn rejects_a_jwk_holding_a_private_key() {
    let key = DpopKey::generate().unwrap();
    let mut jwk = key.public_jwk();
    jwk["d"] = json!("c2VjcmV0");
    let h = with(header(&key), "jwk", jwk);
    assert!(matches!(
        check(&sign(&key, &h, &claims())),
        Err(DpopError::PrivateKeyInJwk)
    ));
    let oct = json!({"kty": "oct", "k": "c2VjcmV0"});
    let h = with(header(&key), "jwk", oct);
    assert!(matches!(
        check(&sign(&key, &h, &claims())),
        Err(DpopError::PrivateKeyInJwk)
    ));
}

#[test]
fn rejects_a_missing_or_mismatched_jwk() {
    let key = DpopKey::generate().unwrap();
    let h = without(header(&key), "jwk");
    assert!(matches!(
        check(&sign(&key, &h, &claims())),
        Err(DpopError::InvalidJwk)
    ));
    let mut jwk = key.public_jwk();
    jwk["crv"] = json!("P-384");
    let h = with(header(&key), "jwk", jwk);
    assert!(matches!(
        check(&sign(&key, &h, &claims())),
        Err(DpopError::InvalidJwk)
    ));
    let h = with(
        header(&key),
        "jwk",
        json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
    );
    assert!(matches!(
        check(&sign(&key, &h, &claims())),
        Err(DpopError::InvalidJwk)
    ));
}

#[test]
fn rejects_a_proof_not_signed_by_its_jwk() {
    let key = DpopKey::generate().unwrap();
    let other = DpopKey::generate().unwrap();
    let proof = sign(&other, &header(&key), &claims());
    assert!(matches!(check(&proof), Err(DpopError::BadSignature)));
    let good = sign(&key, &header(&key), &claims());
    let tampered = good.replace(&b64(&claims()), &b64(&with(claims(), "jti", json!("j-2"))));
    assert!(matches!(check(&tampered), Err(DpopError::BadSignature)));
}

#[test]
fn rejects_a_proof_for_another_method() {
    let key = DpopKey::generate().unwrap();
    let proof = sign(&key, &header(&key), &claims());
    assert!(matches!(
        check_at(&proof, &Method::POST, NOW),
        Err(DpopError::WrongMethod)
    ));
    let lower = sign(&key, &header(&key), &with(claims(), "htm", json!("get")));
    assert!(matches!(check(&lower), Err(DpopError::WrongMethod)));
}

#[test]
fn rejects_a_proof_for_another_uri() {
    let key = DpopKey::generate().unwrap();
    for htu in [
        "https://api.example/other",
        "https://evil.example/orders",
        "http://api.example/orders",
        "https://api.example:8443/orders",
        "/orders",
    ] {
        let proof = sign(&key, &header(&key), &with(claims(), "htu", json!(htu)));
        assert!(matches!(check(&proof), Err(DpopError::WrongUri)), "{htu}");
    }
}

#[test]
fn accepts_an_htu_that_differs_only_by_normalisation() {
    let key = DpopKey::generate().unwrap();
    for htu in [
        "HTTPS://API.EXAMPLE/orders",
        "https://api.example:443/orders",
        "https://api.example/orders?x=1#y",
        "https://api.example/%6Frders",
    ] {
        let proof = sign(&key, &header(&key), &with(claims(), "htu", json!(htu)));
        assert!(check(&proof).is_ok(), "{htu}");
    }
}

#[test]
fn rejects_a_stale_proof() {
    let key = DpopKey::generate().unwrap();
    let proof = sign(&key, &header(&key), &claims());
    assert!(
        check_at(&proof, &Method::GET, NOW + 65).is_ok(),
        "within max_age + leeway"
    );
    assert!(matches!(
        check_at(&proof, &Method::GET, NOW + 66),
        Err(DpopError::Stale)
    ));
}

#[test]
fn rejects_a_proof_issued_in_the_future() {
    let key = DpopKey::generate().unwrap();
    let proof = sign(&key, &header(&key), &claims());
    assert!(
        check_at(&proof, &Method::GET, NOW - 5).is_ok(),
        "within the leeway"
    );
    assert!(matches!(
        check_at(&proof, &Method::GET, NOW - 6),
        Err(DpopError::IssuedInFuture)
    ));
}

#[test]
fn rejects_a_proof_missing_a_required_claim() {
    let key = DpopKey::generate().unwrap();
    for name in ["jti", "htm", "htu", "iat", "ath"] {
        let proof = sign(&key, &header(&key), &without(claims(), name));
        assert!(
            matches!(check(&proof), Err(DpopError::MissingClaim(n)) if n == name),
            "{name}"
        );
    }
    let proof = sign(&key, &header(&key), &with(claims(), "jti", json!("")));
    assert!(matches!(check(&proof), Err(DpopError::MissingClaim("jti"))));
}

#[test]
fn rejects_a_proof_for_another_access_token() {
    let key = DpopKey::generate().unwrap();
    let proof = sign(
        &key,
        &header(&key),
        &with(claims(), "ath", json!(access_token_hash("other"))),
    );
    assert!(matches!(check(&proof), Err(DpopError::WrongAth)));
}

proptest::proptest! {
    #[test]
    fn never_panics_on_arbitrary_proofs(s in "[A-Za-z0-9_.-]{0,400}") {
        if let Ok(v) = HeaderValue::from_str(&s) {
            let mut h = HeaderMap::new();
            h.insert("dpop", v);
            let request = ProofRequest { method: &Method::GET, htu: HTU, access_token: Some(TOKEN) };
            let _ = verify_proof(&h, request, &rules(), NOW);
        }
    }
}
