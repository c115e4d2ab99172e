//! Property tests for every parser of attacker input, one module per parser: callback
//! query, cookies, compact JWS, logout token claims, discovery documents, JWK Sets,
//! token responses, the `next` redirect target, ID token claims and stored sessions.
//!
//! Each parser gets arbitrary input (it must never panic) and structure-aware input
//! that reaches its deeper rules, with an invariant that can actually fail.
//!
//! Case counts are kept small so the file runs in seconds; `PROPTEST_CASES=20000 cargo
//! test --test properties` runs longer. The coverage-guided fuzz targets in `fuzz/`
//! cover the same parsers (see `FUZZING.md`).

#[path = "properties/backchannel.rs"]
mod backchannel;
#[path = "properties/callback.rs"]
mod callback;
#[path = "properties/cookies.rs"]
mod cookies;
#[path = "properties/discovery.rs"]
mod discovery;
#[path = "properties/id_token.rs"]
mod id_token;
#[path = "properties/jose.rs"]
mod jose;
#[path = "properties/jwks.rs"]
mod jwks;
#[path = "properties/par.rs"]
mod par;
#[path = "properties/redirect.rs"]
mod redirect;
#[path = "support/redirect_oracle.rs"]
mod redirect_oracle;
#[path = "properties/session.rs"]
mod session;
#[path = "properties/token.rs"]
mod token;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};

const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "https://op.example";
const CLIENT: &str = "client-1";
const NONCE: &str = "n-0S6_WzA2Mj";
const LEEWAY: Duration = Duration::from_secs(30);

/// `cases` cases, unless `PROPTEST_CASES` asks for another number. Failures are not
/// written to `proptest-regressions/`: a found case becomes a named test below.
fn cases(cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config.failure_persistence = None;
    config
}

// ---------------------------------------------------------------------------------
// Shared strategies
// ---------------------------------------------------------------------------------

/// Any JSON value, a few levels deep. Floats are dyadic so they survive a round trip.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i32>().prop_map(|i| Value::from(f64::from(i) / 8.0)),
        // Any finite float, most with 17 significant digits: they must survive a
        // store round trip bit for bit.
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A claim slot: absent (`None`), a value from `good`, or any JSON value.
fn slot(good: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        2 => Just(None),
        6 => good.prop_map(Some),
        1 => json_value().prop_map(Some),
    ]
    .boxed()
}

/// A string from `values`, as JSON.
fn one_of(values: &'static [&'static str]) -> impl Strategy<Value = Value> {
    select(values).prop_map(Value::from)
}

/// A time claim: usually near `NOW`, sometimes anywhere in `i64`.
fn time_claim() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (-900i64..900).prop_map(|d| Value::from(NOW + d)),
        1 => any::<i64>().prop_map(Value::from),
        1 => select(vec![i64::MIN, -1, 0, i64::MAX - 30, i64::MAX]).prop_map(Value::from),
        1 => (-1000i32..1000).prop_map(|d| Value::from(NOW as f64 + f64::from(d) / 4.0)),
    ]
}

/// A JSON object made of the present slots and some unrelated extra members.
fn object(
    slots: Vec<(&'static str, Option<Value>)>,
    extra: Map<String, Value>,
) -> Map<String, Value> {
    let mut m = extra;
    for (name, value) in slots {
        match value {
            Some(v) => {
                m.insert(name.to_owned(), v);
            }
            None => {
                m.remove(name);
            }
        }
    }
    m
}

fn extra_members() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-z_]{1,10}", json_value(), 0..3)
        .prop_map(|m| m.into_iter().collect())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An `aud` claim: ours, another, or an array of a few.
fn audience() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => Just(Value::from(CLIENT)),
        1 => one_of(&["other", "", "client-1 ", "CLIENT-1"]),
        2 => prop::collection::vec(select(vec![CLIENT, "api", "other", ""]), 0..4)
            .prop_map(|a| json!(a)),
    ]
}

/// `alg` values: every allowed one, `none` and HMAC in several spellings, and others.
const ALG_NAMES: &[&str] = &[
    "none", "None", "NONE", "nOnE", "HS256", "HS384", "HS512", "hs256", "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "eddsa", "rs256", "RS256 ", "",
    "ES256K", "RSA1_5", "dir",
];
