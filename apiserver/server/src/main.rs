//! `apiserver`: the Kybernetes API server. One process: the embedded RocksDB store, the generic
//! registry and the HTTPS API. The README's first command starts it.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use apiserver_http::{Api, Authenticator, Pki, ServiceAccountTokens, TokenOptions, serviceaccount_token};
use apiserver_registry::{Registry, WriteOptions, admission};
use apiserver_store::{RocksStore, Store, StoreOptions};
use clap::Parser;
use serde_json::json;

/// Every request allocates and frees many small JSON values; glibc's malloc spent a quarter of
/// the server's CPU on them under load (perf, control-plane bench).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Namespaces every cluster starts with.
const BOOTSTRAP_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

#[derive(Debug, Parser)]
#[command(name = "apiserver", about = "Kybernetes API server (Kubernetes v1.35 API over embedded RocksDB)")]
struct Args {
    /// Directory for the RocksDB store and the cluster PKI (created if missing).
    #[arg(long)]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind_address: IpAddr,
    /// Address the `kubernetes` Service's endpoints advertise (default: the bind address unless
    /// it is loopback or unspecified, else this host's address on its default route).
    #[arg(long)]
    advertise_address: Option<IpAddr>,
    /// HTTPS port; 0 picks a free one.
    #[arg(long, default_value_t = 6443)]
    secure_port: u16,
    /// Write an admin kubeconfig (real URL and port, cluster CA, admin client certificate) here.
    #[arg(long)]
    write_kubeconfig: Option<PathBuf>,
    /// Run the controllers and the scheduler in this process (like k3s); `--controllers=false`
    /// leaves them to separate processes.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    controllers: bool,
    /// Run the scheduler in this process (with the controllers); `--scheduler=false` leaves it
    /// to a separate `scheduler` process.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    scheduler: bool,
    /// Seconds without a heartbeat after which a node is marked NotReady/Unknown.
    #[arg(long, default_value_t = 40)]
    node_monitor_grace_period: u64,
    /// Seconds between two syncs of each HorizontalPodAutoscaler.
    #[arg(long, default_value_t = 15)]
    horizontal_pod_autoscaler_sync_period: u64,
    /// Seconds HPAs without behavior keep the highest recent recommendation before scaling down.
    #[arg(long, default_value_t = 300)]
    horizontal_pod_autoscaler_downscale_stabilization: u64,
    /// How long Events are kept after they last happened (a Go duration); 0 keeps them forever.
    #[arg(long, default_value = "1h0m0s", value_parser = apiserver_http::event_ttl::parse_ttl)]
    event_ttl: std::time::Duration,
    /// Issuer (`iss`) of the service account tokens this server signs, and the one it accepts.
    #[arg(long, default_value = serviceaccount_token::DEFAULT_ISSUER)]
    service_account_issuer: String,
    /// Audiences the API identifies as (comma-separated); tokens must name one. Default: the
    /// service account issuer.
    #[arg(long, value_delimiter = ',')]
    api_audiences: Vec<String>,
    /// Longest lifetime of a requested service account token (a Go duration); 0: no maximum.
    #[arg(long, default_value = "0", value_parser = serviceaccount_token::parse_max_expiration)]
    service_account_max_token_expiration: i64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        // Logs on stderr; stdout carries only the "listening" line that scripts wait for.
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;

    let store =
        RocksStore::open_rocks(&args.data_dir.join("store"), StoreOptions::default()).context("opening the store")?;
    let store: Arc<dyn Store> = Arc::new(store);
    let pki = Pki::load_or_create(&args.data_dir, &[args.bind_address.to_string()]).context("cluster PKI")?;
    let registries = Registry::all(&store);
    bootstrap(&registries).await?;
    let event_sweeper = apiserver_http::event_ttl::start(&registries, args.event_ttl);

    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind_address, args.secure_port))
        .await
        .with_context(|| format!("binding {}:{}", args.bind_address, args.secure_port))?;
    let local = listener.local_addr()?;
    let host = if args.bind_address.is_unspecified() { "127.0.0.1".to_string() } else { local.ip().to_string() };
    let url = match local.ip() {
        IpAddr::V6(_) if !args.bind_address.is_unspecified() => format!("https://[{host}]:{}", local.port()),
        _ => format!("https://{host}:{}", local.port()),
    };
    if let Some(path) = &args.write_kubeconfig {
        write_kubeconfig(path, &url, &pki)?;
        tracing::info!(path = %path.display(), "wrote admin kubeconfig");
    }
    let advertised_ip =
        if args.bind_address.is_unspecified() { IpAddr::from([127, 0, 0, 1]) } else { args.bind_address };
    let advertised = SocketAddr::new(advertised_ip, local.port());
    bootstrap_kubernetes_service(&registries, local.port()).await?;
    match advertise_address(&args) {
        Some(ip) => bootstrap_kubernetes_endpoints(&registries, SocketAddr::new(ip, local.port())).await?,
        None => {
            tracing::warn!("no address to advertise: the kubernetes Service has no endpoints (see --advertise-address)")
        }
    }
    let token_options =
        TokenOptions::new(&args.service_account_issuer, &args.api_audiences, args.service_account_max_token_expiration);
    let tokens = ServiceAccountTokens::new(&pki.service_account_key, token_options).context("service account key")?;
    let authn = Authenticator::new(&pki.admin_token).with_service_account_tokens(tokens);
    let api = Arc::new(Api::new(registries, authn, advertised.to_string()));
    tracing::info!(%url, "serving");
    // The listener is bound: the in-process clients' first requests wait in its backlog.
    let control_plane = if args.controllers { Some(start_control_plane(&args, &url, &pki).await?) } else { None };
    println!("apiserver listening on {url}");
    apiserver_http::serve(listener, pki.server_config()?, api, shutdown_signal()).await?;
    if let Some(control_plane) = control_plane {
        control_plane.abort();
    }
    if let Some(event_sweeper) = event_sweeper {
        event_sweeper.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// Starts the controllers and the scheduler as API clients of this server (admin credentials,
/// over HTTPS like any other client).
async fn start_control_plane(args: &Args, url: &str, pki: &Pki) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let kubeconfig: kube::config::Kubeconfig =
        serde_json::from_value(pki.admin_kubeconfig(url)).context("in-process kubeconfig")?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
        .await
        .context("in-process client configuration")?;
    let client = kube::Client::try_from(config).context("in-process client")?;
    let options = apiserver_controllers::Options {
        node_monitor_grace_period: std::time::Duration::from_secs(args.node_monitor_grace_period),
        hpa_sync_period: std::time::Duration::from_secs(args.horizontal_pod_autoscaler_sync_period.max(1)),
        hpa_downscale_stabilization: std::time::Duration::from_secs(
            args.horizontal_pod_autoscaler_downscale_stabilization,
        ),
        root_ca: Some(pki.ca_cert.clone()),
        ..Default::default()
    };
    let scheduler = args
        .scheduler
        .then(|| apiserver_scheduler::run(client.clone(), apiserver_scheduler::SchedulerOptions::default()));
    Ok(tokio::spawn(async move {
        let scheduler = async {
            match scheduler {
                Some(scheduler) => scheduler.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = apiserver_controllers::run(client, options) => {}
            result = scheduler => if let Err(err) = result { tracing::error!(%err, "scheduler stopped") },
        }
    }))
}

/// Creates the namespaces and system priority classes every cluster has, if missing.
async fn bootstrap(registries: &[Registry]) -> anyhow::Result<()> {
    let namespaces = registries.iter().find(|r| r.resource().plural == "namespaces").context("namespaces registry")?;
    for name in BOOTSTRAP_NAMESPACES {
        match namespaces.create(None, json!({"metadata": {"name": name}}), WriteOptions::default()).await {
            Ok(_) => tracing::info!(namespace = name, "created"),
            Err(err) if err.code() == 409 => {}
            Err(err) => return Err(anyhow::anyhow!("creating namespace {name}: {err}")),
        }
    }
    let classes =
        registries.iter().find(|r| r.resource().plural == "priorityclasses").context("priorityclasses registry")?;
    for class in admission::SYSTEM_PRIORITY_CLASSES {
        let body = json!({"metadata": {"name": class.name}, "value": class.value, "description": class.description});
        match classes.create(None, body, WriteOptions::default()).await {
            Ok(_) => tracing::info!(priority_class = class.name, "created"),
            Err(err) if err.code() == 409 => {}
            Err(err) => return Err(anyhow::anyhow!("creating priority class {}: {err}", class.name)),
        }
    }
    Ok(())
}

/// The `default/kubernetes` Service: the first address of the service range, port 443 to ours.
async fn bootstrap_kubernetes_service(registries: &[Registry], port: u16) -> anyhow::Result<()> {
    let services = registries.iter().find(|r| r.resource().plural == "services").context("services registry")?;
    let service = json!({
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]},
    });
    match services.get(Some("default"), "kubernetes", None).await {
        Ok(_) => Ok(()),
        Err(err) if err.code() == 404 => match services.create(Some("default"), service, WriteOptions::default()).await
        {
            Ok(_) => Ok(()),
            Err(err) if err.code() == 409 => Ok(()),
            Err(err) => Err(anyhow::anyhow!("creating the kubernetes service: {err}")),
        },
        Err(err) => Err(anyhow::anyhow!("reading the kubernetes service: {err}")),
    }
}

/// The address in the `kubernetes` Service's endpoints. Endpoints may not hold loopback or
/// unspecified addresses, so without `--advertise-address` a loopback or wildcard bind falls
/// back to the host's address on its default route, as upstream's `ChooseHostInterface` does
/// (a UDP socket's connect sends nothing; it only asks the kernel which source it would use).
fn advertise_address(args: &Args) -> Option<IpAddr> {
    if let Some(ip) = args.advertise_address {
        return Some(ip);
    }
    if !args.bind_address.is_loopback() && !args.bind_address.is_unspecified() {
        return Some(args.bind_address);
    }
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    Some(socket.local_addr().ok()?.ip()).filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

/// The endpoints of `default/kubernetes`: this server's address (upstream's apiserver keeps
/// them itself; the service has no selector, so no controller touches them). Rewritten at
/// every start, since the port may change.
async fn bootstrap_kubernetes_endpoints(registries: &[Registry], address: SocketAddr) -> anyhow::Result<()> {
    let registry = |plural: &str| registries.iter().find(|r| r.resource().plural == plural).context("registry");
    let (ip, port) = (address.ip().to_string(), address.port());
    let endpoints = json!({
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
    });
    let slice = json!({
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": if address.is_ipv4() { "IPv4" } else { "IPv6" },
        "endpoints": [{"addresses": [ip], "conditions": {"ready": true}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    });
    for (plural, body) in [("endpoints", endpoints), ("endpointslices", slice)] {
        let registry = registry(plural)?;
        match registry.get(Some("default"), "kubernetes", None).await {
            Ok(_) => {
                registry
                    .update(Some("default"), "kubernetes", body, WriteOptions::default())
                    .await
                    .map_err(|e| anyhow::anyhow!("updating {plural} default/kubernetes: {e}"))?;
            }
            Err(err) if err.code() == 404 => {
                registry
                    .create(Some("default"), body, WriteOptions::default())
                    .await
                    .map_err(|e| anyhow::anyhow!("creating {plural} default/kubernetes: {e}"))?;
            }
            Err(err) => return Err(anyhow::anyhow!("reading {plural} default/kubernetes: {err}")),
        }
    }
    Ok(())
}

/// Writes the admin kubeconfig (it embeds the admin key), created owner-only and renamed into
/// place so it is never readable by others, not even briefly.
fn write_kubeconfig(path: &Path, url: &str, pki: &Pki) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let config = serde_json::to_vec_pretty(&pki.admin_kubeconfig(url))?;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(&config)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
