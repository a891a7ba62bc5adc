//! Test support shared by the test binaries that drive the real kubectl (behind feature
//! `testing`).

use std::path::PathBuf;

/// The kubectl v1.35 that `ci/install-kubectl.sh` installs (`$KYBERNETES_TOOLS`, default
/// `~/.cache/kybernetes/tools`), or `None` after saying loudly that it is missing. Under
/// CI=true a missing kubectl is a failure, never a skip.
pub fn kubectl_binary() -> Option<PathBuf> {
    let tools = std::env::var_os("KYBERNETES_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
        cache.join("kybernetes/tools")
    });
    installed(tools.join("kubectl"), "real kubectl v1.35")
}

/// The helm (v4) that `ci/install-kubectl.sh` installs next to kubectl, under the same rules.
pub fn helm_binary() -> Option<PathBuf> {
    installed(kubectl_binary()?.with_file_name("helm"), "helm v4")
}

/// `path` if it exists; otherwise a loud skip, or a failure under CI=true.
fn installed(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{what} missing at {} under CI", path.display());
    eprintln!("SKIPPED: {what} not found at {} (run ci/install-kubectl.sh)", path.display());
    None
}

/// A raw HTTP/2 client over TLS with the admin token: requests with any content type and
/// `Accept`, for what kubectl cannot send (YAML bodies, protobuf, malformed input) and for
/// benchmarks. Clones share the connection (HTTP/2 streams), as client-go's clients do.
#[derive(Clone)]
pub struct RawClient {
    send: hyper::client::conn::http2::SendRequest<http_body_util::Full<bytes::Bytes>>,
    token: String,
}

impl std::fmt::Debug for RawClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawClient").finish_non_exhaustive()
    }
}

/// A response: status, `Content-Type` and body.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: String,
    /// The whole body.
    pub body: bytes::Bytes,
}

impl RawResponse {
    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

impl RawClient {
    /// Connects to a server whose certificates `pki` issued.
    pub async fn connect(address: std::net::SocketAddr, pki: &crate::Pki) -> Self {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(rustls::pki_types::CertificateDer::from_pem_slice(pki.ca_cert.as_bytes()).unwrap()).unwrap();
        let mut config =
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(rustls::pki_types::ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        // Large receive windows, as client-go's transport has (1 GiB per connection, 4 MiB
        // per stream), so many concurrent streams never wait for window updates.
        let (send, connection) = hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
            .initial_connection_window_size(1 << 30)
            .initial_stream_window_size(4 << 20)
            .handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(connection);
        Self { send, token: pki.admin_token.clone() }
    }

    /// Sends a GET and returns the answer with its body unread (watch streams).
    pub async fn open(&mut self, path: &str) -> http::Response<hyper::body::Incoming> {
        let request = http::Request::builder()
            .uri(format!("https://localhost{path}"))
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        self.send.send_request(request).await.unwrap()
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        accept: &str,
        body: impl Into<bytes::Bytes>,
    ) -> RawResponse {
        use http_body_util::BodyExt;
        let request = http::Request::builder()
            .method(method)
            .uri(format!("https://localhost{path}"))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", content_type)
            .header("accept", accept)
            .body(http_body_util::Full::new(body.into()))
            .unwrap();
        let response = self.send.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        RawResponse { status, content_type, body }
    }

    /// Sends JSON (or nothing) and expects a 2xx; panics with the answer otherwise.
    pub async fn call(&mut self, method: &str, path: &str, body: Option<&serde_json::Value>) -> bytes::Bytes {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
        let response = self.send(method, path, "application/json", "application/json", bytes).await;
        assert!(
            (200..300).contains(&response.status),
            "{method} {path}: {} {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
        response.body
    }
}
