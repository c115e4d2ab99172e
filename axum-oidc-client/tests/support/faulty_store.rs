//! A store that delegates to another and fails chosen operations on demand, counting
//! every call: for tests of what the library does when the store fails at one step.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum_oidc_client::async_trait;
use axum_oidc_client::store::{AuthCache, SharedStore, StoreError};
use axum_oidc_client::store::{SessionKey, SessionRecord};

/// Wraps `inner`; [`fail_next`](Self::fail_next) makes the next calls of one operation
/// time out. Clones share the failures and the counts.
#[derive(Clone)]
pub struct FaultyStore {
    inner: SharedStore,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    failures: Mutex<HashMap<&'static str, usize>>,
    calls: Mutex<HashMap<&'static str, usize>>,
    gate: Mutex<Option<Gate>>,
    down: std::sync::atomic::AtomicBool,
}

/// Holds the next session write (`put` or `replace`) until released: the test can act
/// between a read and the write that follows it.
#[derive(Clone, Default)]
pub struct Gate {
    reached: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Notify>,
}

impl Gate {
    /// Waits until a write is held at the gate.
    pub async fn reached(&self) {
        self.reached.notified().await;
    }

    /// Lets the held write go on.
    pub fn release(&self) {
        self.release.notify_one();
    }
}

impl FaultyStore {
    pub fn new(inner: SharedStore) -> Self {
        Self {
            inner,
            counts: Arc::default(),
        }
    }

    /// The next `times` calls of `op` (a trait method's name) fail with a timeout.
    pub fn fail_next(&self, op: &'static str, times: usize) {
        *self.counts.failures.lock().unwrap().entry(op).or_default() += times;
    }

    /// Takes the whole store down (every operation fails as unavailable) or back up.
    pub fn set_down(&self, down: bool) {
        self.counts
            .down
            .store(down, std::sync::atomic::Ordering::SeqCst);
    }

    /// Holds the next session write until [`Gate::release`].
    pub fn hold_next_write(&self) -> Gate {
        let gate = Gate::default();
        *self.counts.gate.lock().unwrap() = Some(gate.clone());
        gate
    }

    async fn pass_gate(&self) {
        let gate = self.counts.gate.lock().unwrap().take();
        if let Some(gate) = gate {
            gate.reached.notify_one();
            gate.release.notified().await;
        }
    }

    /// How many times `op` was called.
    pub fn calls(&self, op: &str) -> usize {
        self.counts
            .calls
            .lock()
            .unwrap()
            .get(op)
            .copied()
            .unwrap_or(0)
    }

    /// Every call that wrote to the store.
    pub fn writes(&self) -> usize {
        let calls = self.counts.calls.lock().unwrap();
        calls
            .iter()
            .filter(|(op, _)| !matches!(**op, "get" | "get_fresh"))
            .map(|(_, n)| n)
            .sum()
    }

    fn enter(&self, op: &'static str) -> Result<(), StoreError> {
        *self.counts.calls.lock().unwrap().entry(op).or_default() += 1;
        if self.counts.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::unavailable(std::io::Error::other("store down")));
        }
        let mut failures = self.counts.failures.lock().unwrap();
        match failures.get_mut(op) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Err(StoreError::Timeout)
            }
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl AuthCache for FaultyStore {
    async fn get(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        self.enter("get")?;
        self.inner.get(key).await
    }

    async fn get_fresh(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        self.enter("get_fresh")?;
        self.inner.get_fresh(key).await
    }

    async fn put(
        &self,
        key: &SessionKey,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.enter("put")?;
        self.pass_gate().await;
        self.inner.put(key, record, ttl).await
    }

    async fn replace(
        &self,
        key: &SessionKey,
        current: &SessionRecord,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.enter("replace")?;
        self.pass_gate().await;
        self.inner.replace(key, current, record, ttl).await
    }

    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.enter("remove")?;
        self.inner.remove(key).await
    }

    async fn remove_by_sid(&self, sid: &str) -> Result<usize, StoreError> {
        self.enter("remove_by_sid")?;
        self.inner.remove_by_sid(sid).await
    }

    async fn remove_by_sub(&self, sub: &str) -> Result<usize, StoreError> {
        self.enter("remove_by_sub")?;
        self.inner.remove_by_sub(sub).await
    }

    async fn remove_by_sub_without_sid(&self, sub: &str) -> Result<usize, StoreError> {
        self.enter("remove_by_sub_without_sid")?;
        self.inner.remove_by_sub_without_sid(sub).await
    }

    async fn sessions_of(
        &self,
        iss: &str,
        sub: &str,
    ) -> Result<Vec<(SessionKey, Arc<SessionRecord>)>, StoreError> {
        self.enter("sessions_of")?;
        self.inner.sessions_of(iss, sub).await
    }

    async fn try_lock(&self, name: &str, owner: &str, lease: Duration) -> Result<bool, StoreError> {
        self.enter("try_lock")?;
        self.inner.try_lock(name, owner, lease).await
    }

    async fn unlock(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        self.enter("unlock")?;
        self.inner.unlock(name, owner).await
    }

    async fn insert_once(&self, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.enter("insert_once")?;
        self.inner.insert_once(value, ttl).await
    }
}
