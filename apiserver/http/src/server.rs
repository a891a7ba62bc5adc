//! The HTTPS listener: TLS handshakes, HTTP/1.1 and HTTP/2 connections, graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::handlers::Api;

/// How long open requests (watches included) may run after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// A client must finish the TLS handshake, and send request headers, within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle HTTP/2 connections are pinged this often (and dropped when pings go unanswered).
const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// HTTP/2 flow-control windows for request bodies, per connection and per stream (Go's
/// server's 1 MiB, which kube-apiserver keeps): with HTTP/2's default 64 KiB, sixty-odd
/// concurrent 1 KiB writes on one connection would wait for window updates.
const UPLOAD_WINDOW: u32 = 1 << 20;
/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 10_000;

/// Serves `api` on `listener` until `shutdown` completes, then drains connections.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    api: Arc<Api>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, say: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let api = api.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => {
                    tracing::debug!(%peer, error = %err, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let client_cert =
                tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.clone().into_owned());
            let client_cert = Arc::new(client_cert);
            let service = service_fn(move |req| {
                let (api, client_cert) = (api.clone(), client_cert.clone());
                async move { Ok::<_, Infallible>(api.handle(req, client_cert.as_ref().as_ref()).await) }
            });
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(HANDSHAKE_TIMEOUT);
            builder
                .http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(KEEP_ALIVE)
                .keep_alive_timeout(KEEP_ALIVE)
                .initial_connection_window_size(UPLOAD_WINDOW)
                .initial_stream_window_size(UPLOAD_WINDOW);
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
            if let Err(err) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
        });
    }
    // Stop taking connections at once, end open watches cleanly; the rest get the grace period.
    drop(listener);
    api.begin_shutdown();
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::info!("shutdown grace period over; closing open connections"),
    }
    Ok(())
}
