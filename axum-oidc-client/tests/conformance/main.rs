//! Conformance suite: the library against an OpenID provider that misbehaves on
//! purpose (`tests/support/adversary.rs`), over real HTTP on 127.0.0.1.
//!
//! One test binary with a module per concern, so the suite links once:
//! `cargo test -p axum-oidc-client --test conformance`.

#[path = "../support/adversary.rs"]
mod adversary;
#[path = "../support/app.rs"]
mod app;
#[path = "../support/faulty_store.rs"]
mod faulty_store;
mod harness;

mod authorization;
mod backchannel;
mod discovery;
mod dpop;
mod dpop_bff;
mod id_token;
mod par;
mod refresh;
mod rp_logout;
mod timeouts;
