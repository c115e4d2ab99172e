//! Small helpers for the outgoing HTTP calls to the provider.

/// Reads a response body, failing once it exceeds `max` bytes.
pub(crate) async fn read_limited(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, ()> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|_| ())? {
        if body.len() + chunk.len() > max {
            return Err(());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
