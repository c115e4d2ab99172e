use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{DecodingKey, Validation, jwk::Jwk};

use super::*;

const CLIENT: &str = "client-1";
const ISSUER: &str = "https://op.example";
const NOW: i64 = 1_700_000_000;

fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

pub(crate) fn rsa_pem() -> String {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let der: Pkcs8V1Der<'static> = pair.as_der().unwrap();
    pem(der.as_ref())
}

pub(crate) fn ec_pem() -> String {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .unwrap();
    pem(doc.as_ref())
}

fn ed_pem() -> String {
    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    pem(doc.as_ref())
}

/// Verifies `jwt` with `key`'s published JWK and returns header and claims.
fn verify(jwt: &str, key: &ClientSigningKey) -> (Header, Value) {
    let jwk: Jwk = serde_json::from_value(key.public_jwk()).unwrap();
    let mut v = Validation::new(key.algorithm());
    v.set_audience(&[ISSUER]);
    v.validate_exp = false;
    let data =
        jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_jwk(&jwk).unwrap(), &v).unwrap();
    (data.header, data.claims)
}

fn all_keys() -> Vec<ClientSigningKey> {
    vec![
        ClientSigningKey::from_pkcs8_pem(&rsa_pem(), None).unwrap(),
        ClientSigningKey::from_pkcs8_pem(&rsa_pem(), None)
            .unwrap()
            .with_algorithm(Algorithm::PS256)
            .unwrap(),
        ClientSigningKey::from_pkcs8_pem(&ec_pem(), None).unwrap(),
        ClientSigningKey::from_pkcs8_pem(&ed_pem(), None).unwrap(),
    ]
}

#[test]
fn each_key_type_signs_an_assertion_its_public_jwk_verifies() {
    let algs: Vec<Algorithm> = all_keys().iter().map(ClientSigningKey::algorithm).collect();
    assert_eq!(
        algs,
        [
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::EdDSA
        ]
    );
    for key in all_keys() {
        let jwt = client_assertion(&AssertionSigner::Key(&key), CLIENT, ISSUER, NOW).unwrap();
        let (header, _) = verify(&jwt, &key);
        assert_eq!(header.alg, key.algorithm());
        assert_eq!(header.kid.as_deref(), Some(key.kid()));
    }
}

#[test]
fn the_assertion_has_the_rfc_7523_claims() {
    let key = ClientSigningKey::from_pkcs8_pem(&ec_pem(), None).unwrap();
    let jwt = client_assertion(&AssertionSigner::Key(&key), CLIENT, ISSUER, NOW).unwrap();
    let (_, claims) = verify(&jwt, &key);
    assert_eq!(claims["iss"], CLIENT);
    assert_eq!(claims["sub"], CLIENT);
    assert_eq!(claims["aud"], ISSUER);
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + ASSERTION_LIFETIME_SECS);
    const { assert!(ASSERTION_LIFETIME_SECS <= 300, "a short exp") };
    assert!(claims["jti"].as_str().unwrap().len() >= 22);
}

#[test]
fn each_assertion_has_a_fresh_jti() {
    let key = ClientSigningKey::from_pkcs8_pem(&ed_pem(), None).unwrap();
    let one = client_assertion(&AssertionSigner::Key(&key), CLIENT, ISSUER, NOW).unwrap();
    let two = client_assertion(&AssertionSigner::Key(&key), CLIENT, ISSUER, NOW).unwrap();
    assert_ne!(verify(&one, &key).1["jti"], verify(&two, &key).1["jti"]);
}

#[test]
fn client_secret_jwt_is_hs256_with_the_secret() {
    let jwt = client_assertion(
        &AssertionSigner::Secret("s3cret-s3cret"),
        CLIENT,
        ISSUER,
        NOW,
    )
    .unwrap();
    let mut v = Validation::new(Algorithm::HS256);
    v.set_audience(&[ISSUER]);
    v.validate_exp = false;
    let data = jsonwebtoken::decode::<Value>(&jwt, &DecodingKey::from_secret(b"s3cret-s3cret"), &v)
        .unwrap();
    assert_eq!(data.header.alg, Algorithm::HS256);
    assert_eq!(data.claims["iss"], CLIENT);
    assert_eq!(data.claims["sub"], CLIENT);
    let wrong = jsonwebtoken::decode::<Value>(&jwt, &DecodingKey::from_secret(b"other"), &v);
    assert!(wrong.is_err());
}

#[test]
fn a_pem_key_without_kid_gets_its_rfc_7638_thumbprint() {
    // RFC 8410 section 10.3's Ed25519 key; its public half is RFC 8032 test 1's.
    let pem = "-----BEGIN PRIVATE KEY-----\n\
               MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
               -----END PRIVATE KEY-----";
    let key = ClientSigningKey::from_pkcs8_pem(pem, None).unwrap();
    let jwk = key.public_jwk();
    let required = json!({"crv": "Ed25519", "kty": "OKP", "x": jwk["x"]});
    assert_eq!(key.kid(), crate::dpop::canonical_hash(&required));
    for key in all_keys() {
        let jwk = key.public_jwk();
        let required = match jwk["kty"].as_str().unwrap() {
            "RSA" => json!({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}),
            "EC" => json!({"crv": jwk["crv"], "kty": "EC", "x": jwk["x"], "y": jwk["y"]}),
            _ => json!({"crv": jwk["crv"], "kty": "OKP", "x": jwk["x"]}),
        };
        assert_eq!(key.kid(), crate::dpop::canonical_hash(&required));
        assert_eq!(key.kid().len(), 43);
    }
}

#[test]
fn the_okp_thumbprint_matches_rfc_8037() {
    // RFC 8037 appendix A.1 and A.3.
    let jwk = r#"{"kty":"OKP","crv":"Ed25519",
        "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    let key = ClientSigningKey::from_jwk(jwk).unwrap();
    assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    assert_eq!(key.algorithm(), Algorithm::EdDSA);
}

#[test]
fn a_configured_kid_is_kept() {
    let key = ClientSigningKey::from_pkcs8_pem(&ec_pem(), Some("2026-12")).unwrap();
    assert_eq!(key.kid(), "2026-12");
    assert_eq!(key.public_jwk()["kid"], "2026-12");
}

#[test]
fn an_ec_jwk_with_its_kid_and_alg_is_read() {
    use aws_lc_rs::encoding::{AsBigEndian, EcPrivateKeyBin};
    use aws_lc_rs::signature::KeyPair as _;
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let d: EcPrivateKeyBin<'static> = pair.private_key().as_be_bytes().unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "ec-1", "alg": "ES256",
        "x": b64(&point[1..33]), "y": b64(&point[33..]), "d": b64(d.as_ref())});
    let key = ClientSigningKey::from_jwk(&jwk.to_string()).unwrap();
    assert_eq!(key.kid(), "ec-1");
    let jwt = client_assertion(&AssertionSigner::Key(&key), CLIENT, ISSUER, NOW).unwrap();
    verify(&jwt, &key);
    let mut wrong = jwk.clone();
    wrong["d"] = b64(&[7u8; 32]).into();
    assert!(ClientSigningKey::from_jwk(&wrong.to_string()).is_err());
}

#[test]
fn a_pem_that_is_not_pkcs8_is_refused() {
    let e = ClientSigningKey::from_pkcs8_pem(
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
        None,
    )
    .unwrap_err();
    assert!(matches!(e, ClientAuthError::Key(r) if r.contains("PKCS#8")));
}

#[test]
fn an_unsupported_key_type_is_refused() {
    let p384 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &SystemRandom::new())
        .unwrap();
    let e = ClientSigningKey::from_pkcs8_pem(&pem(p384.as_ref()), None).unwrap_err();
    assert!(matches!(e, ClientAuthError::Key(r) if r.contains("P-256")));
    let e = ClientSigningKey::from_jwk(r#"{"kty":"oct","k":"AAAA"}"#).unwrap_err();
    assert!(matches!(e, ClientAuthError::Key(r) if r.contains("unsupported")));
}

#[test]
fn an_algorithm_that_does_not_suit_the_key_is_refused() {
    let ec = ClientSigningKey::from_pkcs8_pem(&ec_pem(), None).unwrap();
    assert!(ec.clone().with_algorithm(Algorithm::RS256).is_err());
    assert!(ec.with_algorithm(Algorithm::HS256).is_err());
    let rsa = ClientSigningKey::from_pkcs8_pem(&rsa_pem(), None).unwrap();
    assert!(rsa.with_algorithm(Algorithm::ES256).is_err());
}

#[test]
fn a_public_only_jwk_is_refused() {
    let jwk = r#"{"kty":"EC","crv":"P-256",
        "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y":"x_FEzRjaJs2nqJ4bMKwV7lc-rcK5WuVUOUaG8UYYR_k"}"#;
    assert!(matches!(
        ClientSigningKey::from_jwk(jwk),
        Err(ClientAuthError::Key(_))
    ));
}

#[test]
fn the_public_jwks_has_no_private_member() {
    let keys = all_keys();
    let jwks = public_jwks(&keys);
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 4);
    for jwk in jwks["keys"].as_array().unwrap() {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
            assert!(jwk.get(private).is_none(), "{private} in {jwk}");
        }
        assert_eq!(jwk["use"], "sig");
    }
}

#[test]
fn the_public_jwks_lists_a_kid_once() {
    let key = ClientSigningKey::from_pkcs8_pem(&ec_pem(), None).unwrap();
    let jwks = public_jwks([&key, &key]);
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
}

#[test]
fn debug_shows_no_private_key() {
    let pem = ec_pem();
    let key = ClientSigningKey::from_pkcs8_pem(&pem, None).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains(key.kid()));
    let body = pem.lines().nth(1).unwrap();
    assert!(!debug.contains(&body[..20]));
    assert!(!debug.contains("content"));
}
