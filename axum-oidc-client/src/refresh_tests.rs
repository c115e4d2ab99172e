use super::*;

fn claims(sid: Option<&str>, nonce: Option<&str>) -> IdTokenClaims {
    serde_json::from_value(serde_json::json!({
        "iss": "https://op.example", "sub": "alice", "aud": "c", "exp": 2, "iat": 1,
        "sid": sid, "nonce": nonce
    }))
    .unwrap()
}

#[test]
fn a_refreshed_token_without_sid_or_nonce_keeps_the_logins() {
    let kept = carry_over(claims(None, None), &claims(Some("s1"), Some("n1")));
    assert_eq!(kept.sid.as_deref(), Some("s1"));
    assert_eq!(kept.nonce.as_deref(), Some("n1"));
}

#[test]
fn a_refreshed_tokens_own_sid_wins() {
    let kept = carry_over(
        claims(Some("s2"), Some("n1")),
        &claims(Some("s1"), Some("n1")),
    );
    assert_eq!(kept.sid.as_deref(), Some("s2"));
}

#[test]
fn the_lease_wait_backs_off_with_jitter_up_to_a_ceiling() {
    let mut b = LeaseBackoff::default();
    let pauses: Vec<Duration> = (0..10).map(|_| b.next_pause()).collect();
    assert!(pauses[0] >= Duration::from_millis(5) && pauses[0] <= Duration::from_millis(10));
    assert!(pauses[3] >= Duration::from_millis(40) && pauses[3] <= Duration::from_millis(80));
    for p in &pauses[6..] {
        assert!(*p >= Duration::from_millis(160) && *p <= LeaseBackoff::CEILING);
    }
    // Jitter: many waiters do not all pick the same pause.
    let firsts: std::collections::HashSet<Duration> = (0..32)
        .map(|_| LeaseBackoff::default().next_pause())
        .collect();
    assert!(firsts.len() > 1);
}
