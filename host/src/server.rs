//! The HTTP server: hyper on tokio, a fresh component instance per
//! request, and the producer's `flock` held around every DELETE.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tracing::{error, info, warn};
use video_delete::DeleteError;
use wasmtime::Store;
use wasmtime_wasi_http::WasiHttpView as _;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::lock::{QueueLock, Timeout};
use crate::sandbox::{Host, Sandbox};

/// How long a delete waits for the producer's flock before it answers 500.
const QUEUE_LOCK_WAIT: Duration = Duration::from_secs(10);

/// How long a client may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// State shared by every connection.
struct Server {
    /// The address the server listens on, the authority of HTTP/1.0
    /// requests that name none.
    addr: SocketAddr,
    sandbox: Sandbox,
    proxy: ProxyPre<Host>,
    /// One permit per pooled instance, so a burst waits instead of failing.
    instances: Semaphore,
    queue_path: PathBuf,
}

/// Binds the listening socket, naming the fix when the address is taken.
pub fn bind(listen: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(listen).with_context(|| {
        format!(
            "failed to listen on {listen}; if another server uses that address, stop it or \
             pass --listen with another address (port 0 picks a free one)"
        )
    })?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves on `listener` until SIGINT or SIGTERM, then finishes in-flight
/// requests.
pub async fn serve(
    sandbox: Sandbox,
    listener: std::net::TcpListener,
    max_instances: u32,
) -> anyhow::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let addr = listener.local_addr()?;
    let video_dir = sandbox.settings.video_dir.clone();
    let sandbox_requires_key = sandbox.settings.api_key.is_some();
    let server = Arc::new(Server {
        addr,
        proxy: ProxyPre::new(sandbox.pre.clone())
            .map_err(anyhow::Error::from)
            .context("the component does not export wasi:http/incoming-handler@0.2")?,
        queue_path: video_dir.join(video_delete::delete::QUEUE_FILE),
        instances: Semaphore::new(max_instances as usize),
        sandbox,
    });
    let api_key = if sandbox_requires_key {
        "required"
    } else {
        "none"
    };
    info!(listen = %addr, video_dir = %video_dir.display(), api_key = %api_key, "serving DELETE /v1/videos/{{video_id}}");

    let graceful = GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        warn!(%error, "failed to accept a connection");
                        continue;
                    }
                };
                let server = server.clone();
                let service = service_fn(move |request| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.handle(request).await) }
                });
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        warn!(%peer, %error, "connection failed");
                    }
                });
            }
            signal = &mut shutdown => {
                info!(signal, "shutting down after in-flight requests");
                break;
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        warn!(
            seconds = SHUTDOWN_GRACE.as_secs(),
            "requests still in flight after the grace period; exiting"
        );
    }
    info!("shut down");
    Ok(())
}

impl Server {
    /// Handles one request and logs it.
    async fn handle(&self, request: Request<Incoming>) -> Response<HyperOutgoingBody> {
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        let video_id = video_delete::http::route(method.as_str(), &path).ok();
        let video_id = video_id.as_deref().unwrap_or("-");

        let request = match with_authority(request, self.addr) {
            Ok(request) => request,
            Err(error) => {
                info!(%method, %path, status = error.status(), video_id, error = %error, "request rejected");
                return json_response(video_delete::http::error_response(&error));
            }
        };
        let response = match self.run_guest(request).await {
            Ok(response) if response.status().is_server_error() => {
                log_server_error(response, &method, &path, video_id).await
            }
            Ok(response) => response,
            Err(failure) => {
                error!(%method, %path, video_id, error = %format!("{failure:#}"), "request failed");
                // The cause may name host paths, which a client must not
                // see; the log above carries it.
                let error = DeleteError::internal(
                    "the host failed to run the component; its log names the cause",
                );
                let body = video_delete::http::error_response(&error);
                json_response(body)
            }
        };
        info!(
            %method,
            %path,
            status = response.status().as_u16(),
            ms = %format_args!("{:.3}", started.elapsed().as_secs_f64() * 1000.0),
            video_id,
            "request"
        );
        response
    }

    /// Whether the request is a DELETE of a video that passes the API key
    /// check, the only kind the component carries out.
    fn takes_queue_lock(&self, request: &Request<Incoming>) -> bool {
        let authorization: Vec<Vec<u8>> = request
            .headers()
            .get_all(hyper::header::AUTHORIZATION)
            .iter()
            .map(|value| value.as_bytes().to_vec())
            .collect();
        video_delete::http::route(request.method().as_str(), request.uri().path()).is_ok()
            && video_delete::http::authorize(
                self.sandbox.settings.api_key.as_deref(),
                &authorization,
            )
            .is_ok()
    }

    /// Runs the request through a fresh instance. A DELETE holds the queue
    /// lock from before the guest reads `job.txt` until it has returned.
    async fn run_guest(
        &self,
        request: Request<Incoming>,
    ) -> anyhow::Result<Response<HyperOutgoingBody>> {
        // Only a delete the component would carry out takes the producer's
        // lock: a request for another path, or without the API key, never
        // makes the producer wait. The lock comes before the instance permit,
        // so deletes waiting for it leave instances to other requests.
        let lock = if self.takes_queue_lock(&request) {
            match QueueLock::acquire_within(self.queue_path.clone(), QUEUE_LOCK_WAIT).await? {
                Ok(lock) => lock,
                Err(Timeout) => {
                    let error = DeleteError::Locked {
                        lock_file: "job.txt (the producer's flock)".to_string(),
                        seconds: QUEUE_LOCK_WAIT.as_secs(),
                    };
                    return Ok(json_response(video_delete::http::error_response(&error)));
                }
            }
        } else {
            None
        };
        let _permit = self.instances.acquire().await?;

        let mut store: Store<Host> = self.sandbox.new_store()?;
        let proxy = self.proxy.instantiate_async(&mut store).await?;
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)?;
        let (sender, receiver) = oneshot::channel();
        let outparam = store.data_mut().http().new_response_outparam(sender)?;

        // The guest keeps running after it sets the response, to write the
        // body, so it runs in a task of its own.
        // The guest's filesystem calls block its thread, so it runs on the
        // blocking pool, never on a runtime worker.
        let runtime = tokio::runtime::Handle::current();
        let guest = tokio::task::spawn_blocking(move || {
            let result = runtime.block_on(
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam),
            );
            drop(lock);
            result
        });

        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => anyhow::bail!("the component returned an HTTP error: {code:?}"),
            Err(_) => match guest.await {
                Ok(Ok(())) => anyhow::bail!("the component returned without a response"),
                Ok(Err(trap)) => Err(anyhow::Error::from(trap).context("the component trapped")),
                Err(join) => Err(anyhow::Error::new(join).context("the component task failed")),
            },
        }
    }
}

/// Logs the message of a 5xx from the component, then passes the body on.
/// Such bodies are one small JSON object, so buffering them is cheap.
async fn log_server_error(
    response: Response<HyperOutgoingBody>,
    method: &Method,
    path: &str,
    video_id: &str,
) -> Response<HyperOutgoingBody> {
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(failure) => {
            error!(%method, %path, video_id, error = %failure, "failed to read the error body");
            Bytes::new()
        }
    };
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|body| body["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    error!(%method, %path, video_id, status = parts.status.as_u16(), error = %message, "request failed");
    let body = Full::new(bytes)
        .map_err(|never: Infallible| match never {})
        .boxed_unsync();
    Response::from_parts(parts, body)
}

/// Makes sure the request names its authority, which a WASI incoming
/// request requires: an HTTP/1.0 request without `Host` gets the server's
/// own address, and any other request without a valid one is rejected.
fn with_authority(
    mut request: Request<Incoming>,
    addr: SocketAddr,
) -> Result<Request<Incoming>, DeleteError> {
    if request.uri().authority().is_some() {
        return Ok(request);
    }
    match request.headers().get(hyper::header::HOST) {
        Some(host) if host.to_str().is_ok_and(|host| !host.is_empty()) => Ok(request),
        None if request.version() == hyper::Version::HTTP_10 => {
            let host = hyper::header::HeaderValue::from_str(&addr.to_string())
                .expect("a socket address is a valid header value");
            request.headers_mut().insert(hyper::header::HOST, host);
            Ok(request)
        }
        _ => Err(DeleteError::InvalidRequest {
            reason: "the Host header is missing, empty or not ASCII; send Host: <address>"
                .to_string(),
        }),
    }
}

fn json_response(response: video_delete::http::Response) -> Response<HyperOutgoingBody> {
    let mut builder = Response::builder().status(response.status);
    for (name, value) in response.headers {
        builder = builder.header(name, value);
    }
    let body = Full::new(Bytes::from(response.body))
        .map_err(|never: Infallible| match never {})
        .boxed_unsync();
    builder.body(body).expect("the error response is valid")
}

/// Completes on SIGINT or SIGTERM with the signal's name.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).expect("failed to install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    }
}
