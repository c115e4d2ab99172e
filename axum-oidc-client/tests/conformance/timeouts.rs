//! Idle and absolute session timeouts on the injectable clock. The adversary issues
//! its tokens on the same clock, so ID tokens stay consistent while time jumps.
//! Access tokens live 10 minutes: no refresh happens within these tests.

use std::time::Duration;

use reqwest::StatusCode;

use crate::harness::*;

const IDLE: Duration = Duration::from_secs(100);
const MAX_AGE: Duration = Duration::from_secs(250);

async fn trial() -> Trial {
    let t = Trial::with(Behavior::default(), |b| {
        b.with_idle_timeout(IDLE).with_session_max_age(MAX_AGE)
    })
    .await;
    t.login_ok().await;
    t
}

#[tokio::test]
async fn ends_a_session_left_idle_past_the_idle_timeout() {
    let t = trial().await;
    t.adv.advance(IDLE + Duration::from_secs(1));
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
    assert_eq!(t.rp.sessions().await, 0);
    assert_eq!(t.seen().refresh_grants(), 0);
}

#[tokio::test]
async fn keeps_an_active_session_alive_past_the_idle_timeout() {
    let t = trial().await;
    // Steps longer than the write interval (idle / 10) and shorter than the timeout.
    for _ in 0..3 {
        t.adv.advance(Duration::from_secs(60));
        assert_eq!(me(&t.browser).await, StatusCode::OK);
    }
    // 180 s after login, 60 s after the last request: alive.
    t.adv.advance(Duration::from_secs(60));
    assert_eq!(me(&t.browser).await, StatusCode::OK);
}

#[tokio::test]
async fn ends_a_session_at_its_absolute_age_despite_activity() {
    let t = trial().await;
    for _ in 0..4 {
        t.adv.advance(Duration::from_secs(60));
        assert_eq!(me(&t.browser).await, StatusCode::OK);
    }
    // 300 s after login: past the 250 s maximum though active every minute.
    t.adv.advance(Duration::from_secs(60));
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
    assert_eq!(t.rp.sessions().await, 0);
}
