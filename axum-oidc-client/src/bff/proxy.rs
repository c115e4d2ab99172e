//! [`ApiProxy`]: the token-attaching reverse proxy of a backend-for-frontend (RFC 10017
//! section 6.1: the browser holds a session cookie, the backend the tokens).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{Request, StatusCode};
use tower_service::Service;
use url::Url;

use super::forward::{Credentials, Forwarded, downstream_headers, upstream_headers, upstream_url};
use super::retry::refresh_rejected;
use crate::extract::{AuthRejection, require_record, slot};
use crate::session::SessionRecord;

/// Largest request body kept in memory so that the request can be sent again after
/// an upstream 401 (bytes). A larger or unsized body streams, and its 401 is
/// handed to the browser.
pub const REPLAYABLE_BODY: u64 = 64 * 1024;

/// Why an [`ApiProxy`] cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiProxyError {
    /// The upstream base URL does not parse.
    #[error("upstream URL {0:?} is not a URL")]
    InvalidUrl(String, #[source] url::ParseError),
    /// The upstream base URL is not `http` or `https`, or has a query or fragment.
    #[error("upstream URL {0:?} must be http(s) without query or fragment")]
    UnsupportedUrl(String),
    /// The HTTP client could not be built.
    #[error("the proxy's HTTP client could not be built")]
    Client(#[source] reqwest::Error),
}

/// Forwards the routes it serves to an upstream API with the session's access token:
/// mount it with `nest_service("/bff/api", proxy)` inside an
/// [`AuthenticationLayer`](crate::AuthenticationLayer), behind a
/// [`CsrfLayer`](super::CsrfLayer), and `/bff/api/<path>?<query>` goes to
/// `<upstream>/<path>?<query>`.
///
/// - Each call carries `Authorization: Bearer <access token>`, the session's token as
///   the layer keeps it fresh (refreshed ahead of expiry, once for all concurrent
///   requests of the session). A token bound to the session's DPoP key
///   ([`with_dpop`](crate::OAuthConfigurationBuilder::with_dpop)) goes as
///   `Authorization: DPoP <access token>` with a fresh proof of the key for the
///   upstream URL (RFC 9449 section 7.1); the upstream's `DPoP-Nonce` challenge
///   (section 9) is answered once, for a replayable body.
/// - The browser's cookies, its `Authorization`, hop-by-hop fields and `Host` are
///   removed; `X-Forwarded-For` (when the server is run with
///   `into_make_service_with_connect_info`), `X-Forwarded-Proto` (the application
///   URL's scheme) and `X-Forwarded-Host` are added. The upstream's `Set-Cookie` is
///   not handed back.
/// - Bodies stream both ways. A request body over the size limit (default 32 MiB) is
///   refused with 413.
/// - An upstream 401 refreshes the session once and sends the request once more, when
///   the request body is at most [`REPLAYABLE_BODY`] bytes with a known length (it is
///   then buffered); a larger body has streamed away and cannot be sent again, so that
///   401 goes to the browser.
///
/// | outcome | answer |
/// |---|---|
/// | no session | 401 `{"error":"unauthenticated"}` |
/// | store or provider down | 503 `{"error":"temporarily_unavailable"}` |
/// | path with `..` or encoded separators | 400 `{"error":"invalid_path"}` |
/// | body over the limit | 413 `{"error":"payload_too_large"}` |
/// | upstream unreachable or broken | 502 `{"error":"bad_gateway"}` |
/// | no upstream answer within the timeout (default 30 s) | 504 `{"error":"gateway_timeout"}` |
///
/// ```
/// use axum::Router;
/// use axum_oidc_client::bff::{ApiProxy, CsrfLayer};
///
/// let proxy = ApiProxy::new("https://api.example/v1").unwrap();
/// let app: Router = Router::new().nest_service("/bff/api", proxy).layer(CsrfLayer::new());
/// // ... then `.layer(AuthenticationLayer::new(config))` around it all.
/// # let _ = app;
/// ```
#[derive(Clone, Debug)]
pub struct ApiProxy {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    upstream: Url,
    client: reqwest::Client,
    timeout: Duration,
    max_body: u64,
    /// The upstream's last `DPoP-Nonce` (RFC 9449 section 9).
    dpop_nonce: crate::dpop::NonceCell,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_MAX_BODY: u64 = 32 * 1024 * 1024;

fn client(read_timeout: Duration) -> Result<reqwest::Client, ApiProxyError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(read_timeout)
        .build()
        .map_err(ApiProxyError::Client)
}

impl ApiProxy {
    /// A proxy to the API at `upstream` (its path is the base of every forwarded
    /// path).
    ///
    /// ```
    /// use axum_oidc_client::bff::{ApiProxy, ApiProxyError};
    ///
    /// assert!(ApiProxy::new("https://api.example/v1").is_ok());
    /// assert!(matches!(ApiProxy::new("ftp://api.example"), Err(ApiProxyError::UnsupportedUrl(_))));
    /// ```
    pub fn new(upstream: impl AsRef<str>) -> Result<Self, ApiProxyError> {
        let raw = upstream.as_ref();
        let url = Url::parse(raw).map_err(|e| ApiProxyError::InvalidUrl(raw.to_owned(), e))?;
        if !matches!(url.scheme(), "http" | "https")
            || url.query().is_some()
            || url.fragment().is_some()
            || url.cannot_be_a_base()
        {
            return Err(ApiProxyError::UnsupportedUrl(raw.to_owned()));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                upstream: url,
                client: client(DEFAULT_TIMEOUT)?,
                timeout: DEFAULT_TIMEOUT,
                max_body: DEFAULT_MAX_BODY,
                dpop_nonce: Default::default(),
            }),
        })
    }

    /// How long to wait for the upstream's response head, and at most between two
    /// reads of its body (default 30 s); past it the browser gets 504.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let proxy = axum_oidc_client::bff::ApiProxy::new("https://api.example")
    ///     .unwrap()
    ///     .with_timeout(Duration::from_secs(5))
    ///     .unwrap();
    /// # let _ = proxy;
    /// ```
    pub fn with_timeout(self, timeout: Duration) -> Result<Self, ApiProxyError> {
        Ok(Self {
            inner: Arc::new(Inner {
                upstream: self.inner.upstream.clone(),
                client: client(timeout)?,
                timeout,
                max_body: self.inner.max_body,
                dpop_nonce: Default::default(),
            }),
        })
    }

    /// The largest request body forwarded, in bytes (default 32 MiB); a larger one
    /// gets 413.
    ///
    /// ```
    /// let proxy = axum_oidc_client::bff::ApiProxy::new("https://api.example")
    ///     .unwrap()
    ///     .with_max_body(1024 * 1024);
    /// # let _ = proxy;
    /// ```
    #[must_use]
    pub fn with_max_body(self, bytes: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                upstream: self.inner.upstream.clone(),
                client: self.inner.client.clone(),
                timeout: self.inner.timeout,
                max_body: bytes,
                dpop_nonce: Default::default(),
            }),
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Response future of [`ApiProxy`]. Never fails: every fault is a JSON answer.
///
/// ```
/// use axum::body::Body;
/// use axum_oidc_client::bff::{ApiProxy, ProxyFuture};
/// use http::Request;
/// use tower_service::Service;
///
/// fn call(proxy: &mut ApiProxy, req: Request<Body>) -> ProxyFuture {
///     proxy.call(req)
/// }
/// # let _ = call;
/// ```
pub struct ProxyFuture(BoxFuture<Result<Response, Infallible>>);

impl Future for ProxyFuture {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for ProxyFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyFuture").finish_non_exhaustive()
    }
}

impl Service<Request<Body>> for ApiProxy {
    type Response = Response;
    type Error = Infallible;
    type Future = ProxyFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        ProxyFuture(Box::pin(async move { Ok(forward(&inner, req).await) }))
    }
}

/// The request body as sent upstream: kept in memory (and so sendable twice), or
/// streamed once.
enum Outgoing {
    Replayable(Bytes),
    Streaming(Body),
}

async fn forward(proxy: &Inner, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let record = match require_record(&parts).await {
        Ok(r) => r,
        // Script calls only: never a redirect to login.
        Err(AuthRejection::LoginRequired { login_url }) => {
            return AuthRejection::Unauthorized { login_url }.into_response();
        }
        Err(AuthRejection::UnavailablePage) => return AuthRejection::Unavailable.into_response(),
        Err(e) => return e.into_response(),
    };
    let target = match upstream_url(&proxy.upstream, parts.uri.path(), parts.uri.query()) {
        Ok(u) => u,
        Err(e) => {
            tracing::debug!(rule = %e, "proxy refused a request path");
            return crate::pages::json(StatusCode::BAD_REQUEST, "invalid_path");
        }
    };
    let declared = body.size_hint().exact();
    if declared.is_some_and(|n| n > proxy.max_body) {
        return crate::pages::json(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    }
    let outgoing = match declared {
        Some(n) if n <= REPLAYABLE_BODY => match axum::body::to_bytes(body, n as usize).await {
            Ok(b) => Outgoing::Replayable(b),
            Err(_) => return crate::pages::json(StatusCode::BAD_REQUEST, "invalid_body"),
        },
        _ => Outgoing::Streaming(body),
    };

    let replay = match &outgoing {
        Outgoing::Replayable(b) => Some(b.clone()),
        Outgoing::Streaming(_) => None,
    };
    let mut first = send(proxy, &parts, &target, &record, outgoing).await;
    // RFC 9449 section 9: the upstream's nonce challenge, answered once (`send` kept
    // the nonce it sent).
    if let (Ok(r), Some(bytes)) = (&first, &replay)
        && record.tokens.dpop_key.is_some()
        && crate::dpop::is_resource_nonce_challenge(r.status().as_u16(), r.headers())
    {
        let bytes = Outgoing::Replayable(bytes.clone());
        first = send(proxy, &parts, &target, &record, bytes).await;
    }
    let retry = matches!(&first, Ok(r) if r.status() == StatusCode::UNAUTHORIZED);
    let answer = match (retry, replay) {
        (true, Some(bytes)) => match rejected_then_refreshed(&parts, &record).await {
            Some(fresh) => {
                tracing::debug!("upstream refused the access token; sent again after a refresh");
                send(proxy, &parts, &target, &fresh, Outgoing::Replayable(bytes)).await
            }
            None => first,
        },
        _ => first,
    };
    match answer {
        Ok(upstream) => downstream(upstream),
        Err(e) => fault(proxy, &e),
    }
}

async fn rejected_then_refreshed(
    parts: &Parts,
    rejected: &SessionRecord,
) -> Option<Arc<SessionRecord>> {
    let slot = slot(parts).ok()?;
    refresh_rejected(&slot.0.state, &parts.headers, rejected).await
}

async fn send(
    proxy: &Inner,
    parts: &Parts,
    target: &Url,
    record: &SessionRecord,
    body: Outgoing,
) -> Result<reqwest::Response, Fault> {
    let app = slot(parts)
        .ok()
        .map(|s| s.0.state.config.inner.routes.redirect_uri.clone());
    let client_ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = Forwarded {
        client_ip,
        proto: app.as_ref().map_or("https", |u| u.scheme()),
        host: parts.headers.get(http::header::HOST),
    };
    let access_token = record.tokens.access_token.secret();
    let dpop_proof = crate::dpop::resource_proof(
        record.tokens.dpop_key.as_ref(),
        &parts.method,
        target.as_str(),
        proxy.dpop_nonce.get().as_deref(),
        access_token,
    )
    .map_err(|_| Fault::Unsendable)?;
    let credentials = Credentials {
        access_token,
        dpop_proof,
    };
    let headers = upstream_headers(&parts.headers, &credentials, &forwarded)
        .map_err(|_| Fault::Unsendable)?;
    let body = match body {
        Outgoing::Replayable(b) => reqwest::Body::from(b),
        Outgoing::Streaming(b) => reqwest::Body::wrap(super::body::Limited::new(b, proxy.max_body)),
    };
    let request = proxy
        .client
        .request(parts.method.clone(), target.clone())
        .headers(headers)
        .body(body)
        .send();
    let response = match tokio::time::timeout(proxy.timeout, request).await {
        Ok(r) => r.map_err(Fault::Upstream)?,
        Err(_) => return Err(Fault::TimedOut),
    };
    if credentials.dpop_proof.is_some()
        && let Some(nonce) = crate::dpop::server_nonce(response.headers())
    {
        proxy.dpop_nonce.set(nonce);
    }
    Ok(response)
}

fn downstream(upstream: reqwest::Response) -> Response {
    let upstream: http::Response<reqwest::Body> = upstream.into();
    let (parts, body) = upstream.into_parts();
    let mut r = Response::new(Body::new(body));
    *r.status_mut() = parts.status;
    *r.headers_mut() = downstream_headers(&parts.headers);
    r
}

/// Why no upstream response came back.
#[derive(Debug)]
enum Fault {
    /// No response head within the timeout.
    TimedOut,
    /// The request failed: connection, protocol, read timeout, or the body limit.
    Upstream(reqwest::Error),
    /// The access token or a forwarded value is not a valid header value.
    Unsendable,
}

fn fault(proxy: &Inner, fault: &Fault) -> Response {
    let upstream = proxy.upstream.origin().ascii_serialization();
    match fault {
        Fault::Upstream(e) if super::body::is_too_large(e) => {
            crate::pages::json(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        }
        Fault::Upstream(e) if !e.is_timeout() => {
            // The causes only: the error's own text repeats the whole URL, query
            // included, which is the browser's and may carry what it should not log.
            let cause = std::error::Error::source(e)
                .map_or_else(|| "no cause given".to_owned(), crate::observe::error_chain);
            tracing::warn!(%upstream, error = %cause, "upstream API failed");
            crate::pages::json(StatusCode::BAD_GATEWAY, "bad_gateway")
        }
        Fault::Unsendable => {
            tracing::warn!(%upstream, "the request cannot be sent: a header value is invalid");
            crate::pages::json(StatusCode::BAD_GATEWAY, "bad_gateway")
        }
        Fault::TimedOut | Fault::Upstream(_) => {
            tracing::warn!(%upstream, "upstream API did not answer in time");
            crate::pages::json(StatusCode::GATEWAY_TIMEOUT, "gateway_timeout")
        }
    }
}
