use super::*;

const NOW: i64 = 1_800_000_000;

fn claims() -> IdTokenClaims {
    serde_json::from_value(serde_json::json!({
        "iss": "https://op.example", "sub": "alice", "aud": "client",
        "exp": NOW + 300, "iat": NOW - 5, "nonce": "n-1", "email": "a@example.com"
    }))
    .unwrap()
}

fn expect() -> Expectations<'static> {
    Expectations {
        issuer: "https://op.example".into(),
        client_id: "client",
        additional_audiences: &[],
        nonce: NonceCheck::Required("n-1"),
        leeway: Duration::from_secs(30),
        max_age: None,
        subject: None,
        now: NOW,
    }
}

#[test]
fn accepts_a_valid_token() {
    validate_claims(&claims(), &expect()).unwrap();
    assert_eq!(claims().get_str("email"), Some("a@example.com"));
}

/// What `verify_id_token` does with a verified payload (OIDC Core 3.1.3.7 via
/// RFC 7519 section 7.2 step 10: the claims set is UTF-8).
#[test]
fn claims_that_are_not_utf8_are_malformed() {
    let mut payload = serde_json::to_vec(&claims()).unwrap();
    payload.pop();
    payload.extend_from_slice(b",\"unread\":\"\xff\"}");
    assert!(from_json_object::<IdTokenClaims>(&payload).is_none());
    let last = payload.len() - 3;
    payload[last] = b'y';
    assert!(from_json_object::<IdTokenClaims>(&payload).is_some());
}

#[test]
fn rejects_empty_subject() {
    let mut c = claims();
    c.sub = String::new();
    assert!(matches!(
        validate_claims(&c, &expect()),
        Err(IdTokenError::MalformedClaims)
    ));
}

#[test]
fn rejects_wrong_issuer() {
    let mut c = claims();
    c.iss = "https://op.example/".into();
    assert!(matches!(
        validate_claims(&c, &expect()),
        Err(IdTokenError::WrongIssuer)
    ));
}

#[test]
fn rejects_wrong_audience() {
    let mut c = claims();
    c.aud = Audiences(vec!["other".into()]);
    assert!(matches!(
        validate_claims(&c, &expect()),
        Err(IdTokenError::WrongAudience)
    ));
}

#[test]
fn rejects_multiple_audiences_without_azp() {
    let mut c = claims();
    c.aud = Audiences(vec!["client".into(), "api".into()]);
    assert!(matches!(
        validate_claims(&c, &expect()),
        Err(IdTokenError::MissingAzp)
    ));
    c.azp = Some("client".into());
    assert!(matches!(
        validate_claims(&c, &expect()),
        Err(IdTokenError::UntrustedAudience)
    ));
    let extra = vec!["api".to_owned()];
    let e = Expectations {
        additional_audiences: &extra,
        ..expect()
    };
    validate_claims(&c, &e).unwrap();
}

#[test]
fn rejects_wrong_azp() {
    let mut c = claims();
    c.azp = Some("someone-else".into());
    assert!(matches!(
        validate_claims(&c, &expect()),
        Err(IdTokenError::WrongAzp)
    ));
}

#[test]
fn rejects_expired_token_beyond_leeway() {
    let mut c = claims();
    c.exp = NOW - 31;
    assert!(matches!(
        validate_claims(&c, &expect()),
        Err(IdTokenError::Expired)
    ));
    c.exp = NOW - 29;
    validate_claims(&c, &expect()).unwrap();
}

#[test]
fn rejects_iat_far_in_the_future() {
    let mut c = claims();
    c.iat = NOW + 3600;
    assert!(matches!(
        validate_claims(&c, &expect()),
        Err(IdTokenError::IssuedInFuture)
    ));
}

#[test]
fn rejects_iat_older_than_max_age() {
    let mut c = claims();
    c.iat = NOW - 7200;
    let e = Expectations {
        max_age: Some(Duration::from_secs(600)),
        ..expect()
    };
    assert!(matches!(
        validate_claims(&c, &e),
        Err(IdTokenError::IssuedTooLongAgo)
    ));
}

#[test]
fn rejects_missing_nonce() {
    let mut c = claims();
    c.nonce = None;
    assert!(matches!(
        validate_claims(&c, &expect()),
        Err(IdTokenError::MissingNonce)
    ));
}

#[test]
fn rejects_wrong_nonce() {
    let mut c = claims();
    c.nonce = Some("n-2".into());
    assert!(matches!(
        validate_claims(&c, &expect()),
        Err(IdTokenError::NonceMismatch)
    ));
}

#[test]
fn refresh_accepts_absent_nonce_but_rejects_a_different_one() {
    let mut c = claims();
    c.nonce = None;
    let e = Expectations {
        nonce: NonceCheck::IfPresent(Some("n-1")),
        subject: Some("alice"),
        ..expect()
    };
    validate_claims(&c, &e).unwrap();
    c.nonce = Some("other".into());
    assert!(matches!(
        validate_claims(&c, &e),
        Err(IdTokenError::NonceMismatch)
    ));
}

#[test]
fn refresh_rejects_changed_subject() {
    let mut c = claims();
    c.sub = "mallory".into();
    let e = Expectations {
        nonce: NonceCheck::IfPresent(Some("n-1")),
        subject: Some("alice"),
        ..expect()
    };
    assert!(matches!(
        validate_claims(&c, &e),
        Err(IdTokenError::SubjectChanged)
    ));
}

#[test]
fn at_hash_matches_the_spec_example() {
    // OIDC Core A.3/A.4 example: access token and its at_hash for RS256.
    verify_at_hash(
        "77QmUPtjPfzWtF2AnpK9RQ",
        "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
        SigningAlgorithm::RS256,
    )
    .unwrap();
    assert!(matches!(
        verify_at_hash("77QmUPtjPfzWtF2AnpK9RQ", "other", SigningAlgorithm::RS256),
        Err(IdTokenError::AtHashMismatch)
    ));
}

/// An Ed25519-signed ID token carrying `payload`, and the keys that verify it.
fn signed(payload: &serde_json::Value) -> (String, JwksCache) {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
    let pair = Ed25519KeyPair::generate().unwrap();
    // SubjectPublicKeyInfo of an Ed25519 key (RFC 8410): a fixed prefix, then the key.
    let mut spki = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    spki.extend_from_slice(pair.public_key().as_ref());
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&spki)
    );
    let key =
        crate::jose::KeyEntry::from_pem(Some("k1".into()), SigningAlgorithm::EdDSA, pem.as_bytes())
            .unwrap();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","kid":"k1"}"#),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let sig = URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes()).as_ref());
    let jwks = JwksCache::fixed(crate::jose::JwkSet::from_keys(vec![key]));
    (format!("{input}.{sig}"), jwks)
}

fn at_hash_of(access_token: &str) -> String {
    let digest: Vec<u8> = match SigningAlgorithm::EdDSA.hash_len() {
        HashLen::Sha256 => sha2::Sha256::digest(access_token).to_vec(),
        HashLen::Sha384 => sha2::Sha384::digest(access_token).to_vec(),
        HashLen::Sha512 => sha2::Sha512::digest(access_token).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

#[tokio::test]
async fn a_verified_id_token_keeps_no_at_hash_and_a_wrong_one_is_rejected() {
    let mut payload = serde_json::to_value(claims()).unwrap();
    payload["at_hash"] = at_hash_of("the-access-token").into();
    let (token, keys) = signed(&payload);
    let algs = [SigningAlgorithm::EdDSA];
    let verified = verify_id_token(&token, &keys, &algs, &expect(), Some("the-access-token"))
        .await
        .unwrap();
    assert_eq!(verified.at_hash, None, "checked, then dropped");
    assert_eq!(
        verified.nonce.as_deref(),
        Some("n-1"),
        "kept for refresh (OIDC Core 12.2)"
    );
    assert_eq!(verified.get_str("email"), Some("a@example.com"));
    assert!(matches!(
        verify_id_token(
            &token,
            &keys,
            &algs,
            &expect(),
            Some("another-access-token")
        )
        .await,
        Err(IdTokenError::AtHashMismatch)
    ));
}

#[test]
fn audiences_parse_from_string_or_array() {
    let a: Audiences = serde_json::from_str(r#""x""#).unwrap();
    assert_eq!(a.0, vec!["x"]);
    let a: Audiences = serde_json::from_str(r#"["x","y"]"#).unwrap();
    assert_eq!(a.0.len(), 2);
    assert!(
        serde_json::from_str::<IdTokenClaims>(r#"{"iss":"i","sub":"s","aud":"a","iat":1}"#)
            .is_err()
    );
}

mod multi_tenant {
    //! Step 2 under an issuer template (Entra ID `common` / `organizations`).

    use super::*;
    use crate::issuer::IssuerTemplate;

    const T1: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
    const T2: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn template() -> IssuerTemplate {
        IssuerTemplate::new("https://login.microsoftonline.com/{tenantid}/v2.0", false)
            .unwrap()
            .with_allowed_tenants([T1, T2])
            .unwrap()
    }

    fn iss(tenant: &str) -> String {
        format!("https://login.microsoftonline.com/{tenant}/v2.0")
    }

    /// A token of tenant `tid` (`None`: without `tid`) issued by `iss`.
    fn tenant_claims(iss: &str, tid: Option<&str>) -> IdTokenClaims {
        let mut c = claims();
        c.iss = iss.to_owned();
        if let Some(tid) = tid {
            c.additional.insert("tid", tid.into());
        }
        c
    }

    fn check(c: &IdTokenClaims, t: &IssuerTemplate) -> Result<(), IdTokenError> {
        let exp = Expectations {
            issuer: IssuerExpectation::Template(t),
            ..expect()
        };
        validate_claims(c, &exp)
    }

    #[test]
    fn accepts_tokens_of_each_tenant_with_their_own_issuer() {
        let t = template();
        check(&tenant_claims(&iss(T1), Some(T1)), &t).unwrap();
        check(&tenant_claims(&iss(T2), Some(T2)), &t).unwrap();
    }

    #[test]
    fn rejects_an_issuer_that_does_not_match_the_tid() {
        let e = check(&tenant_claims(&iss(T1), Some(T2)), &template()).unwrap_err();
        assert!(matches!(e, IdTokenError::IssuerTenantMismatch), "{e:?}");
    }

    #[test]
    fn rejects_a_token_without_tid() {
        let e = check(&tenant_claims(&iss(T1), None), &template()).unwrap_err();
        assert!(matches!(e, IdTokenError::MissingTenant), "{e:?}");
        let mut c = tenant_claims(&iss(T1), None);
        c.additional
            .insert("tid", serde_json::json!(["not", "a", "string"]));
        let e = check(&c, &template()).unwrap_err();
        assert!(matches!(e, IdTokenError::MissingTenant), "{e:?}");
    }

    #[test]
    fn rejects_a_tid_that_is_not_a_plain_tenant_id() {
        for odd in ["t1/v2.0?x=", "t1#", "t1?", "../t1"] {
            let e = check(&tenant_claims(&iss(odd), Some(odd)), &template()).unwrap_err();
            assert!(matches!(e, IdTokenError::InvalidTenant), "{odd}: {e:?}");
        }
    }

    #[test]
    fn rejects_a_tenant_outside_the_allow_list() {
        let other = "00000000-0000-0000-0000-000000000001";
        let e = check(&tenant_claims(&iss(other), Some(other)), &template()).unwrap_err();
        assert!(matches!(e, IdTokenError::TenantNotAllowed), "{e:?}");
    }

    #[test]
    fn rejects_an_issuer_outside_the_template() {
        let e = check(
            &tenant_claims(&format!("https://login.example/{T1}/v2.0"), Some(T1)),
            &template(),
        )
        .unwrap_err();
        assert!(matches!(e, IdTokenError::WrongIssuer), "{e:?}");
    }

    #[test]
    fn rejects_a_refreshed_token_of_another_tenant() {
        let t = template();
        let original = iss(T1);
        let exp = Expectations {
            issuer: IssuerExpectation::Refreshed {
                template: &t,
                original: &original,
            },
            nonce: NonceCheck::IfPresent(Some("n-1")),
            ..expect()
        };
        validate_claims(&tenant_claims(&iss(T1), Some(T1)), &exp).unwrap();
        let e = validate_claims(&tenant_claims(&iss(T2), Some(T2)), &exp).unwrap_err();
        assert!(matches!(e, IdTokenError::IssuerChanged), "{e:?}");
    }

    #[test]
    fn without_a_template_tid_changes_nothing() {
        validate_claims(&tenant_claims("https://op.example", Some("a/b")), &expect()).unwrap();
    }
}
