use http::StatusCode;
use serde_json::json;

use super::distributed::{allowed_endpoint, compact_jwt, is_get_member_objects, pick};
use super::*;

fn claims(extra: Value) -> IdTokenClaims {
    let mut v =
        json!({"iss": "https://op.example", "sub": "alice", "aud": "c", "exp": 2, "iat": 1});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).unwrap()
}

fn map(v: Value) -> Enrichment {
    v.as_object().unwrap().clone()
}

fn overage() -> IdTokenClaims {
    claims(json!({
        "_claim_names": {"groups": "src1"},
        "_claim_sources": {"src1": {
            "endpoint": "https://graph.example/v1.0/users/oid/getMemberObjects",
            "access_token": "source-token"
        }}
    }))
}

#[test]
fn parses_an_entra_group_overage() {
    let d = DistributedClaims::parse(&overage().additional);
    assert!(!d.is_empty());
    assert_eq!(d.names().collect::<Vec<_>>(), ["groups"]);
    let Some(ClaimSource::Distributed {
        endpoint,
        access_token,
    }) = d.source_of("groups")
    else {
        panic!("a distributed source");
    };
    assert_eq!(
        endpoint,
        "https://graph.example/v1.0/users/oid/getMemberObjects"
    );
    assert_eq!(access_token.as_ref().unwrap().secret(), "source-token");
    // The source's token never shows in Debug.
    assert!(!format!("{d:?}").contains("source-token"));
    let by: Vec<_> = d.by_source().collect();
    assert_eq!(by.len(), 1);
    assert_eq!((by[0].0, by[0].2.as_slice()), ("src1", &["groups"][..]));
}

#[test]
fn parses_aggregated_sources_and_several_names_per_source() {
    let c = claims(json!({
        "_claim_names": {"groups": "a", "roles": "a", "credit": "b"},
        "_claim_sources": {"a": {"JWT": "h.p.s"}, "b": {"endpoint": "https://bank.example/c"}}
    }));
    let d = DistributedClaims::parse(&c.additional);
    assert_eq!(d.names().collect::<Vec<_>>(), ["credit", "groups", "roles"]);
    assert!(
        matches!(d.source_of("roles"), Some(ClaimSource::Aggregated { jwt }) if jwt == "h.p.s")
    );
    assert!(!format!("{d:?}").contains("h.p.s"));
    let a = d.by_source().find(|(s, _, _)| *s == "a").unwrap();
    assert_eq!(a.2, ["groups", "roles"]);
}

#[test]
fn malformed_markers_are_ignored_not_refused() {
    for bad in [
        json!({"_claim_names": "groups"}),
        json!({"_claim_names": ["groups"]}),
        json!({"_claim_sources": {"src1": {"endpoint": "https://x.example"}}}),
        json!({}),
    ] {
        assert!(
            DistributedClaims::parse(&claims(bad.clone()).additional).is_empty(),
            "{bad}"
        );
    }
    // A name whose source is missing or malformed is listed, without a source.
    let c = claims(json!({
        "_claim_names": {"groups": "src1", "roles": 7, "x": "src2"},
        "_claim_sources": {"src2": {"endpoint": 5}}
    }));
    let d = DistributedClaims::parse(&c.additional);
    assert_eq!(d.names().collect::<Vec<_>>(), ["groups", "x"]);
    assert!(d.source_of("groups").is_none() && d.source_of("x").is_none());
    assert_eq!(d.by_source().count(), 0);
}

#[test]
fn every_protocol_claim_is_refused_as_an_enrichment() {
    for name in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nonce",
        "sid",
        "auth_time",
        "acr",
        "azp",
        "amr",
        "at_hash",
        "nbf",
        "_claim_names",
        "_claim_sources",
    ] {
        let extra = map(json!({"roles": ["a"], name: "evil"}));
        assert!(
            matches!(check_names(&extra), Err(EnrichError::ProtectedClaim(n)) if n == name),
            "{name} must be refused"
        );
    }
    assert!(check_names(&map(json!({"roles": ["a"], "groups": [], "tenant": "t"}))).is_ok());
}

#[test]
fn only_endpoints_on_an_allowed_origin_pass() {
    let allowed = [url::Url::parse("https://graph.example").unwrap().origin()];
    assert!(allowed_endpoint("https://graph.example/v1.0/me/memberOf", &allowed).is_ok());
    assert!(allowed_endpoint("https://graph.example:443/x", &allowed).is_ok());
    for refused in [
        "https://graph.example.evil/x",
        "https://evil.example/graph.example",
        "https://graph.example:8443/x",
        "http://graph.example/x",
        "https://user:pw@graph.example/x",
        "https://user@graph.example/x",
        "file:///etc/passwd",
        "ftp://graph.example/x",
        "not a url",
        "",
    ] {
        assert!(
            matches!(
                allowed_endpoint(refused, &allowed),
                Err(ResolverError::NotAllowed)
            ),
            "{refused} must be refused"
        );
    }
    assert!(allowed_endpoint("https://graph.example/x", &[]).is_err());
}

#[test]
fn the_resolver_takes_only_http_origins() {
    assert!(
        DistributedClaimsResolver::new(["https://graph.example", "http://127.0.0.1:8080"]).is_ok()
    );
    for bad in [
        "graph.example",
        "ftp://graph.example",
        "https://u@graph.example",
        "",
    ] {
        assert!(
            matches!(
                DistributedClaimsResolver::new([bad]),
                Err(ResolverError::InvalidOrigin(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn picks_named_claims_or_a_graph_collection() {
    let doc = map(json!({"groups": ["g1"], "other": 1}));
    assert_eq!(pick(&doc, &["groups"]), map(json!({"groups": ["g1"]})));
    let graph = map(json!({"value": ["g1", "g2", 3]}));
    assert_eq!(
        pick(&graph, &["groups"]),
        map(json!({"groups": ["g1", "g2"]}))
    );
    let member_of =
        map(json!({"value": [{"@odata.type": "#microsoft.graph.group", "id": "g1"}, {"x": 1}]}));
    assert_eq!(
        pick(&member_of, &["groups"]),
        map(json!({"groups": ["g1"]}))
    );
    // With several names a collection says nothing about which is which.
    assert!(pick(&graph, &["groups", "roles"]).is_empty());
}

#[test]
fn an_enriched_claim_wins_and_resolves_its_distributed_name() {
    let mut c = claims(json!({"roles": ["from-token"], "email": "a@x"}));
    let mut pending = DistributedClaims::parse(&overage().additional);
    let mut added = Vec::new();
    merge(
        &mut c,
        map(json!({"roles": ["from-db"], "groups": ["g1"], "gone": null})),
        &mut added,
        &mut pending,
    );
    assert_eq!(c.additional["roles"], json!(["from-db"]));
    assert_eq!(c.additional["groups"], json!(["g1"]));
    assert_eq!(c.get_str("email"), Some("a@x"));
    assert!(!c.additional.contains_key("gone"));
    assert_eq!(added, ["groups", "roles"]);
    assert!(pending.is_empty());
}

fn provider() -> Arc<ProviderConfig> {
    let config = crate::OAuthConfigurationBuilder::default()
        .with_client_id("my-app")
        .with_client_secret("s3cret")
        .with_app_url("https://app.example")
        .with_authorization_endpoint("https://op.example/authorize")
        .with_token_endpoint("https://op.example/token")
        .with_oauth2_only("https://op.example/user", "id")
        .build()
        .unwrap();
    config
        .inner
        .providers
        .first()
        .cell
        .get()
        .expect("configured endpoints")
}

fn record(c: IdTokenClaims) -> SessionRecord {
    let mut r = crate::session::tests::record("alice", None);
    r.claims = Arc::new(c);
    r
}

fn enrichers(list: Vec<Arc<dyn ClaimsEnricher>>) -> Enrichers {
    let mut e = Enrichers::default();
    for x in list {
        e.push(x);
    }
    e
}

fn returning(v: Value) -> Arc<dyn ClaimsEnricher> {
    Arc::new(from_fn(move |_ctx| {
        let v = v.clone();
        Box::pin(async move { Ok(map(v)) })
    }))
}

#[tokio::test]
async fn enrichers_run_in_order_and_their_claims_are_kept_in_the_record() {
    let second = from_fn(|ctx: EnrichContext<'_>| {
        // The second sees the first's roles, the issuer and the access token.
        let seen = ctx.claims().additional["roles"].clone();
        let issuer = ctx.issuer().to_owned();
        let at = ctx.access_token().secret().to_owned();
        Box::pin(async move {
            Ok(map(
                json!({"seen": seen, "issuer": issuer, "at_len": at.len()}),
            ))
        })
    });
    let list = enrichers(vec![
        returning(json!({"roles": ["editor"]})),
        Arc::new(second),
    ]);
    let mut r = record(claims(json!({"email": "a@x"})));
    enrich_record(&list, &provider(), &mut r, 10).await.unwrap();
    assert_eq!(r.claims.additional["roles"], json!(["editor"]));
    assert_eq!(r.claims.additional["seen"], json!(["editor"]));
    assert_eq!(r.claims.additional["issuer"], "https://op.example");
    assert!(r.claims.additional["at_len"].as_u64().unwrap() > 0);
    assert_eq!(r.enriched_claims, ["at_len", "issuer", "roles", "seen"]);
}

#[tokio::test]
async fn an_enricher_setting_a_protocol_claim_fails_the_login() {
    let list = enrichers(vec![returning(json!({"roles": ["x"], "sub": "mallory"}))]);
    let mut r = record(claims(json!({})));
    let e = enrich_record(&list, &provider(), &mut r, 10)
        .await
        .unwrap_err();
    assert!(matches!(&e, EnrichError::ProtectedClaim(n) if n == "sub"));
    assert_eq!(e.failure().status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.claims.sub, "alice");
    assert!(!r.claims.additional.contains_key("roles"));
}

#[tokio::test]
async fn an_unresolved_overage_leaves_groups_absent_and_drops_the_markers() {
    let mut r = record(overage());
    enrich_record(&Enrichers::default(), &provider(), &mut r, 10)
        .await
        .unwrap();
    assert!(!r.claims.additional.contains_key("groups"));
    assert!(!r.claims.additional.contains_key("_claim_names"));
    assert!(!r.claims.additional.contains_key("_claim_sources"));
    assert!(r.enriched_claims.is_empty());
}

#[tokio::test]
async fn the_context_lists_only_the_claims_still_unresolved() {
    let check = from_fn(|ctx: EnrichContext<'_>| {
        let left: Vec<String> = ctx.distributed().names().map(str::to_owned).collect();
        Box::pin(async move { Ok(map(json!({"left": left}))) })
    });
    let list = enrichers(vec![returning(json!({"groups": ["g1"]})), Arc::new(check)]);
    let mut r = record(overage());
    enrich_record(&list, &provider(), &mut r, 10).await.unwrap();
    assert_eq!(r.claims.additional["groups"], json!(["g1"]));
    assert_eq!(r.claims.additional["left"], json!([]));
}

#[test]
fn a_refresh_carries_the_enriched_claims_over() {
    let mut login = record(claims(
        json!({"roles": ["from-db"], "groups": ["g1"], "email": "old@x"}),
    ));
    login.enriched_claims = vec!["groups".into(), "roles".into()];
    // The refreshed token has its own roles, a new email, and the overage markers again.
    let mut refreshed = overage();
    refreshed.additional.insert("roles", json!(["from-token"]));
    refreshed.additional.insert("email", json!("new@x"));
    let kept = carry_over(refreshed, &login);
    assert_eq!(kept.additional["roles"], json!(["from-db"]));
    assert_eq!(kept.additional["groups"], json!(["g1"]));
    assert_eq!(kept.get_str("email"), Some("new@x"));
    assert!(!kept.additional.contains_key("_claim_names"));
    assert!(!kept.additional.contains_key("_claim_sources"));
}

#[test]
fn each_enrichment_failure_has_its_status_and_reason() {
    let cases = [
        (
            EnrichError::unavailable(std::io::Error::other("db down")),
            StatusCode::SERVICE_UNAVAILABLE,
            "claims_enrichment_unavailable",
        ),
        (
            EnrichError::Denied,
            StatusCode::FORBIDDEN,
            "claims_enrichment_denied",
        ),
        (
            EnrichError::failed("bug"),
            StatusCode::INTERNAL_SERVER_ERROR,
            "claims_enrichment_failed",
        ),
        (
            EnrichError::ProtectedClaim("iss".into()),
            StatusCode::INTERNAL_SERVER_ERROR,
            "claims_enrichment_protected_claim",
        ),
    ];
    for (e, status, reason) in cases {
        let f = e.failure();
        assert_eq!((f.status(), f.reason()), (status, reason), "{e}");
    }
}

#[test]
fn unresolved_names_are_those_still_absent_and_hasgroups_counts() {
    let pending = DistributedClaims::parse(&overage().additional);
    assert_eq!(unresolved(&pending, &overage()), ["groups"]);
    let resolved = claims(json!({"groups": ["g1"]}));
    assert!(unresolved(&pending, &resolved).is_empty());
    // Entra ID's implicit-flow marker, without any source.
    let none = DistributedClaims::default();
    assert_eq!(
        unresolved(&none, &claims(json!({"hasgroups": true}))),
        ["groups"]
    );
    assert!(unresolved(&none, &claims(json!({"hasgroups": false}))).is_empty());
    assert!(unresolved(&none, &claims(json!({"hasgroups": true, "groups": []}))).is_empty());
    assert_eq!(
        unresolved(
            &pending,
            &claims(json!({"hasgroups": true, "_claim_names": {"groups": "src1"}}))
        ),
        ["groups"],
        "listed once"
    );
}

#[test]
fn only_graphs_get_member_objects_is_posted_to() {
    let is = |u: &str| is_get_member_objects(&url::Url::parse(u).unwrap());
    assert!(is(
        "https://graph.microsoft.com/v1.0/users/oid/getMemberObjects"
    ));
    assert!(is(
        "https://graph.windows.net/tid/users/oid/getMemberObjects/"
    ));
    assert!(!is("https://graph.microsoft.com/v1.0/me/memberOf"));
    assert!(!is("https://graph.example/getMemberObjects/groups"));
    assert!(!is("https://graph.example/x?getMemberObjects"));
}

#[test]
fn a_jwt_answer_is_told_from_json() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
    assert_eq!(compact_jwt(None, jwt.as_bytes()), Some(jwt));
    assert_eq!(
        compact_jwt(Some("text/plain"), format!(" {jwt}\n").as_bytes()),
        Some(jwt)
    );
    assert_eq!(
        compact_jwt(Some("application/jwt; charset=utf-8"), b"x.y.z"),
        Some("x.y.z")
    );
    assert_eq!(
        compact_jwt(Some("application/json"), br#"{"groups":[]}"#),
        None
    );
    assert_eq!(compact_jwt(None, b"eyJ.only-two"), None);
    assert_eq!(compact_jwt(None, b"eyJa.b.c d"), None);
    assert_eq!(compact_jwt(None, &[0xff, 0xfe]), None);
}
