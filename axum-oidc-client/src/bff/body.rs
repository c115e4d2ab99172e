//! The browser's request body as streamed upstream: counted against the size limit,
//! and `Sync` as the HTTP client requires (the request's own body is only `Send`).

use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use http_body::{Frame, SizeHint};

/// The request body went over the proxy's size limit.
#[derive(Debug, thiserror::Error)]
#[error("the request body is over the proxy's size limit")]
pub(crate) struct TooLarge;

/// A body that fails with [`TooLarge`] once more than `limit` bytes went through.
/// Frames pass one by one: nothing is gathered.
pub(crate) struct Limited {
    // Only ever reached through `&mut self` (`Mutex::get_mut`), never locked: it
    // makes the body `Sync` without any cost.
    inner: Mutex<Body>,
    left: u64,
}

impl Limited {
    pub(crate) fn new(body: Body, limit: u64) -> Self {
        Self {
            inner: Mutex::new(body),
            left: limit,
        }
    }
}

impl HttpBody for Limited {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let body = this.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        match Pin::new(body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let n = data.len() as u64;
                    if n > this.left {
                        return Poll::Ready(Some(Err(Box::new(TooLarge))));
                    }
                    this.left -= n;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.lock().map(|b| b.is_end_stream()).unwrap_or(true)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.lock().map(|b| b.size_hint()).unwrap_or_default()
    }
}

/// Whether the request failed because its body went over the limit.
pub(crate) fn is_too_large(e: &reqwest::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if err.is::<TooLarge>() {
            return true;
        }
        next = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    #[tokio::test]
    async fn passes_a_body_within_the_limit() {
        let body = Limited::new(Body::from("hello"), 5);
        assert_eq!(body.collect().await.unwrap().to_bytes(), "hello");
    }

    #[tokio::test]
    async fn fails_a_body_over_the_limit() {
        let body = Limited::new(Body::from("hello!"), 5);
        let e = body.collect().await.unwrap_err();
        assert!(e.is::<TooLarge>());
    }
}
