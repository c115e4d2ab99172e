//! `session::SessionCodec::decode` of rows read back from a store, plain and sealed:
//! never panics, and what decodes encodes and decodes again to the same record.
#![no_main]

use axum_oidc_client::__private::session::{SessionCodec, SessionKey};
use libfuzzer_sys::fuzz_target;

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
    // Exactly: floats included (serde_json's `float_roundtrip`).
    assert_eq!(record, back);
}

fuzz_target!(|data: &[u8]| {
    let key = SessionKey::from_stored("k");
    round_trip(&SessionCodec::encrypted(&[7; 32]), &key, data);
    round_trip(&SessionCodec::plain(), &key, data);
});
