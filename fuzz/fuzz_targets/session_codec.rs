//! `session::SessionCodec::decode` of rows read back from a store, plain and sealed:
//! never panics, and what decodes encodes and decodes again to the same record.
#![no_main]

use axum_oidc_client::session::{SessionCodec, SessionKey, SessionRecord};
use libfuzzer_sys::fuzz_target;

/// Whether `b` is `a` again, but for the values of unnamed claims (serde_json may move
/// a float by one ulp on the way).
fn same_record(a: &SessionRecord, b: &SessionRecord) -> bool {
    let (ca, cb) = (&a.claims, &b.claims);
    a.tokens == b.tokens
        && (a.created_at, a.last_seen) == (b.created_at, b.last_seen)
        && (&ca.iss, &ca.sub, &ca.aud, ca.exp, ca.iat)
            == (&cb.iss, &cb.sub, &cb.aud, cb.exp, cb.iat)
        && (&ca.nonce, &ca.azp, ca.auth_time, &ca.sid, &ca.at_hash)
            == (&cb.nonce, &cb.azp, cb.auth_time, &cb.sid, &cb.at_hash)
        && ca.additional.keys().eq(cb.additional.keys())
}

fn round_trip(codec: &SessionCodec, key: &SessionKey, data: &[u8]) {
    let Some(record) = codec.decode(key, data) else {
        return;
    };
    let again = codec
        .encode(key, &record)
        .expect("a decoded record encodes");
    let back = codec
        .decode(key, &again)
        .expect("an encoded record decodes");
    assert!(
        same_record(&record, &back),
        "{record:?} came back as {back:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let key = SessionKey::from_stored("k");
    round_trip(&SessionCodec::encrypted(&[7; 32]), &key, data);
    round_trip(&SessionCodec::plain(), &key, data);
});
