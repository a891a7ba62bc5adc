//! The HTTP surface's one integration-test binary: a real HTTPS server (in process, over the
//! store engine in memory) driven by the real kubectl v1.35 that `ci/install-kubectl.sh`
//! installs. Without that kubectl the tests say so loudly and skip, except under CI=true where
//! a missing kubectl is a failure.

mod verbs;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use apiserver_http::testing::{RawClient, helm_binary, kubectl_binary};
use apiserver_http::{Api, Authenticator, Pki, ServiceAccountTokens, TokenOptions};
use apiserver_registry::{Registry, WriteOptions, resources};
use apiserver_store::{MemoryStore, Store, StoreOptions};
use serde_json::{Value, json};

/// A running server and a kubeconfig for it.
struct Cluster {
    dir: tempfile::TempDir,
    kubectl: PathBuf,
    pki: Pki,
    url: String,
    _server: tokio::task::JoinHandle<()>,
}

impl Cluster {
    async fn start() -> Option<Self> {
        let kubectl = kubectl_binary()?;
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(MemoryStore::in_memory(StoreOptions::default()));
        let pki = Pki::load_or_create(dir.path(), &[]).unwrap();
        let registries = Registry::all(&store);
        let namespaces = registries.iter().find(|r| r.resource().plural == "namespaces").unwrap();
        for name in ["default", "kube-system"] {
            namespaces.create(None, json!({"metadata": {"name": name}}), WriteOptions::default()).await.unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let url = format!("https://{address}");
        let tokens = ServiceAccountTokens::new(&pki.service_account_key, TokenOptions::default()).unwrap();
        let authn = Authenticator::new(&pki.admin_token).with_service_account_tokens(tokens);
        let api = Arc::new(Api::new(registries, authn, address.to_string()));
        let tls = pki.server_config().unwrap();
        let server = tokio::spawn(async move {
            apiserver_http::serve(listener, tls, api, std::future::pending()).await.unwrap();
        });
        std::fs::write(dir.path().join("admin.kubeconfig"), pki.admin_kubeconfig(&url).to_string()).unwrap();
        Some(Self { dir, kubectl, pki, url, _server: server })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs kubectl with the given kubeconfig file (in the cluster's directory).
    async fn kubectl_with(&self, kubeconfig: &str, args: &[&str]) -> Output {
        let mut command = self.command(kubeconfig, args);
        tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
    }

    /// A kubectl command with the given kubeconfig file (in the cluster's directory), to run
    /// as it is or with extra environment.
    fn command(&self, kubeconfig: &str, args: &[&str]) -> Command {
        let mut command = Command::new(&self.kubectl);
        command
            .arg("--kubeconfig")
            .arg(self.path(kubeconfig))
            .arg("--cache-dir")
            .arg(self.path("kube-cache"))
            .args(args)
            .env_remove("KUBECONFIG");
        command
    }

    /// Runs kubectl as admin; panics with its output when it fails.
    async fn kubectl(&self, args: &[&str]) -> String {
        let out = self.kubectl_with("admin.kubeconfig", args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A raw HTTP client for what kubectl cannot send.
    async fn raw(&self) -> RawClient {
        RawClient::connect(self.url.trim_start_matches("https://").parse().unwrap(), &self.pki).await
    }

    fn write(&self, name: &str, value: &Value) -> String {
        let path = self.path(name);
        std::fs::write(&path, value.to_string()).unwrap();
        path.display().to_string()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_version_discovery_and_health() {
    let Some(cluster) = Cluster::start().await else { return };
    let version = cluster.kubectl(&["version", "-o", "json"]).await;
    let version: Value = serde_json::from_str(&version).unwrap();
    assert_eq!(version["clientVersion"]["minor"], "35", "the test must run kubectl 1.35");
    assert_eq!(version["serverVersion"]["minor"], "35");
    let resources = cluster.kubectl(&["api-resources", "--no-headers"]).await;
    for line in ["configmaps", "namespaces", "secrets"] {
        assert!(resources.lines().any(|l| l.starts_with(line)), "{line} missing from:\n{resources}");
    }
    assert!(resources.lines().any(|l| l.starts_with("configmaps") && l.contains(" cm ")), "{resources}");
    let versions = cluster.kubectl(&["api-versions"]).await;
    assert!(versions.lines().any(|l| l == "v1"), "{versions}");
    assert_eq!(cluster.kubectl(&["get", "--raw", "/healthz"]).await, "ok");
    let metrics = cluster.kubectl(&["get", "--raw", "/metrics"]).await;
    assert!(
        metrics.lines().any(|l| l.starts_with("apiserver_request_total{code=\"200\"") && l.contains("verb=\"GET\"")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_get_and_delete_a_configmap() {
    let Some(cluster) = Cluster::start().await else { return };
    let manifest = cluster.write(
        "cm.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config", "labels": {"app": "web"}}, "data": {"a": "1", "b": "2"}}),
    );
    let created = cluster.kubectl(&["create", "-f", &manifest]).await;
    assert_eq!(created.trim(), "configmap/web-config created");
    let table = cluster.kubectl(&["get", "configmaps"]).await;
    let mut lines = table.lines();
    assert_eq!(lines.next().unwrap().split_whitespace().collect::<Vec<_>>(), ["NAME", "DATA", "AGE"]);
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[..2], ["web-config", "2"]);
    let json: Value = serde_json::from_str(&cluster.kubectl(&["get", "cm", "web-config", "-o", "json"]).await).unwrap();
    assert_eq!(json["data"]["b"], "2");
    assert!(json["metadata"]["uid"].is_string());
    let by_label = cluster.kubectl(&["get", "cm", "-l", "app=web", "-o", "name"]).await;
    assert_eq!(by_label.trim(), "configmap/web-config");
    let all = cluster.kubectl(&["get", "cm", "-A", "--show-labels"]).await;
    assert!(all.lines().nth(1).unwrap().starts_with("default"), "{all}");
    assert!(all.contains("app=web"), "{all}");
    let duplicate = cluster.kubectl_with("admin.kubeconfig", &["create", "-f", &manifest]).await;
    assert!(stderr(&duplicate).contains("AlreadyExists"), "{}", stderr(&duplicate));
    let deleted = cluster.kubectl(&["delete", "cm", "web-config"]).await;
    assert_eq!(deleted.trim(), "configmap \"web-config\" deleted from default namespace");
    let missing = cluster.kubectl_with("admin.kubeconfig", &["get", "cm", "web-config"]).await;
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("configmaps \"web-config\" not found"), "{}", stderr(&missing));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_sees_invalid_objects_as_422_with_causes() {
    let Some(cluster) = Cluster::start().await else { return };
    let manifest =
        cluster.write("bad.json", &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}));
    let out = cluster.kubectl_with("admin.kubeconfig", &["create", "-f", &manifest]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_list_and_terminate() {
    let Some(cluster) = Cluster::start().await else { return };
    let list = cluster.kubectl(&["get", "namespaces", "--no-headers"]).await;
    let names: Vec<&str> = list.lines().map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(names, ["default", "kube-system"]);
    assert!(list.lines().all(|l| l.contains("Active")), "{list}");
    cluster.kubectl(&["create", "namespace", "team-a", "--dry-run=client", "-o", "json"]).await;
    let manifest =
        cluster.write("ns.json", &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}));
    cluster.kubectl(&["create", "-f", &manifest]).await;
    cluster.kubectl(&["delete", "namespace", "team-a", "--wait=false"]).await;
    let phase = cluster.kubectl(&["get", "namespace", "team-a", "-o", "jsonpath={.status.phase}"]).await;
    assert_eq!(phase, "Terminating");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_certificates_tokens_and_none() {
    let Some(cluster) = Cluster::start().await else { return };
    let ca = {
        use std::io::Write;
        let path = cluster.path("ca.crt");
        std::fs::File::create(&path).unwrap().write_all(cluster.pki.ca_cert.as_bytes()).unwrap();
        path.display().to_string()
    };
    let config = |user: Value| {
        json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": cluster.url, "certificate-authority": ca}}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        })
    };
    cluster.write("token.kubeconfig", &config(json!({"token": cluster.pki.admin_token})));
    // (A user with no credentials at all makes kubectl prompt for them; basic auth is a
    // scheme we do not accept, so it stands for "no valid credentials".)
    cluster.write("anonymous.kubeconfig", &config(json!({"username": "someone", "password": "secret"})));
    cluster.write("wrong.kubeconfig", &config(json!({"token": "not-a-token"})));
    let ok = cluster.kubectl_with("token.kubeconfig", &["get", "namespaces", "-o", "name"]).await;
    assert!(ok.status.success(), "{}", stderr(&ok));
    for kubeconfig in ["anonymous.kubeconfig", "wrong.kubeconfig"] {
        let denied = cluster.kubectl_with(kubeconfig, &["get", "namespaces"]).await;
        assert!(!denied.status.success());
        assert!(stderr(&denied).contains("Unauthorized"), "{kubeconfig}: {}", stderr(&denied));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_watch_streams_events_until_its_timeout() {
    let Some(cluster) = Cluster::start().await else { return };
    let manifest =
        cluster.write("cm.json", &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}}));
    cluster.kubectl(&["create", "-f", &manifest]).await;
    let events =
        cluster.kubectl(&["get", "--raw", "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1"]).await;
    let first: Value = serde_json::from_str(events.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "ADDED");
    assert_eq!(first["object"]["metadata"]["name"], "w");
    // `kubectl get -w` (Table watch) prints rows as events arrive.
    let (watched, ()) = tokio::join!(
        cluster.kubectl(&["get", "configmaps", "--watch", "--request-timeout=3s"]),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
            let later = cluster.write("later.json", &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "later"}, "data": {"a": "1", "b": "2", "c": "3"}}));
            cluster.kubectl(&["create", "-f", &later]).await;
        }
    );
    let mut lines = watched.lines();
    assert_eq!(lines.next().unwrap().split_whitespace().collect::<Vec<_>>(), ["NAME", "DATA", "AGE"]);
    assert!(lines.next().unwrap().starts_with("w "), "{watched}");
    let row: Vec<&str> = lines.next().expect("a row from the watch").split_whitespace().collect();
    assert_eq!(&row[..2], ["later", "3"], "{watched}");
    let _ = Path::new(&manifest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_label_annotate_and_patch() {
    let Some(cluster) = Cluster::start().await else { return };
    let manifest = cluster.write(
        "cm.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"k": "v"}}),
    );
    cluster.kubectl(&["create", "-f", &manifest]).await;
    assert_eq!(cluster.kubectl(&["label", "cm", "p", "tier=web"]).await.trim(), "configmap/p labeled");
    assert_eq!(cluster.kubectl(&["annotate", "cm", "p", "note=hello"]).await.trim(), "configmap/p annotated");
    cluster.kubectl(&["patch", "cm", "p", "--type=merge", "-p", r#"{"data":{"k":"merged"}}"#]).await;
    cluster
        .kubectl(&["patch", "cm", "p", "--type=json", "-p", r#"[{"op":"add","path":"/data/j","value":"added"}]"#])
        .await;
    let obj: Value = serde_json::from_str(&cluster.kubectl(&["get", "cm", "p", "-o", "json"]).await).unwrap();
    assert_eq!(obj["metadata"]["labels"]["tier"], "web");
    assert_eq!(obj["metadata"]["annotations"]["note"], "hello");
    assert_eq!(obj["data"], json!({"k": "merged", "j": "added"}));
    assert_eq!(cluster.kubectl(&["label", "cm", "p", "tier-"]).await.trim(), "configmap/p unlabeled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_auth_whoami_and_can_i() {
    let Some(cluster) = Cluster::start().await else { return };
    let whoami = cluster.kubectl(&["auth", "whoami", "-o", "json"]).await;
    let whoami: Value = serde_json::from_str(&whoami).unwrap();
    assert_eq!(whoami["status"]["userInfo"]["username"], "kubernetes-admin");
    assert_eq!(whoami["status"]["userInfo"]["groups"], json!(["system:masters", "system:authenticated"]));
    assert_eq!(cluster.kubectl(&["auth", "can-i", "create", "configmaps"]).await.trim(), "yes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbs_a_resource_does_not_serve_are_405() {
    let Some(cluster) = Cluster::start().await else { return };
    // Namespaces have no deletecollection; a namespaced collection cannot be deleted across all
    // namespaces; unserved subresources are not advertised.
    let out = cluster.kubectl_with("admin.kubeconfig", &["delete", "--raw", "/api/v1/namespaces"]).await;
    assert!(stderr(&out).contains("MethodNotAllowed") || stderr(&out).contains("405"), "{}", stderr(&out));
    let out = cluster.kubectl_with("admin.kubeconfig", &["delete", "--raw", "/api/v1/configmaps"]).await;
    assert!(!out.status.success(), "deleting configmaps in every namespace must be refused");
    assert_eq!(cluster.kubectl(&["get", "namespaces", "-o", "name"]).await.lines().count(), 2, "nothing was deleted");
    let core: Value = serde_json::from_str(&cluster.kubectl(&["get", "--raw", "/api/v1"]).await).unwrap();
    let names: Vec<&str> = core["resources"].as_array().unwrap().iter().filter_map(|r| r["name"].as_str()).collect();
    assert!(names.contains(&"namespaces/status") && !names.contains(&"namespaces/finalize"), "{names:?}");
    // A too-large body is 413 and changes nothing.
    let big = cluster.write(
        "big.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"k": "x".repeat(4 * 1024 * 1024)}}),
    );
    let out = cluster.kubectl_with("admin.kubeconfig", &["create", "-f", &big]).await;
    assert!(stderr(&out).contains("too large") || stderr(&out).contains("413"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_run_get_and_delete_a_pod() {
    let Some(cluster) = Cluster::start().await else { return };
    let created = cluster.kubectl(&["run", "web", "--image=nginx:1.27", "--port=80"]).await;
    assert_eq!(created.trim(), "pod/web created");
    let table = cluster.kubectl(&["get", "pods"]).await;
    let mut lines = table.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    assert_eq!(lines.next().unwrap().split_whitespace().take(4).collect::<Vec<_>>(), ["web", "0/1", "Pending", "0"]);
    let pod: Value = serde_json::from_str(&cluster.kubectl(&["get", "pod", "web", "-o", "json"]).await).unwrap();
    assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent");
    let pending = cluster.kubectl(&["get", "pods", "--field-selector", "status.phase=Pending", "-o", "name"]).await;
    assert_eq!(pending.trim(), "pod/web");
    let deleted = cluster.kubectl(&["delete", "pod", "web"]).await;
    assert!(deleted.starts_with("pod \"web\" deleted"), "{deleted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_expose_allocates_a_cluster_ip() {
    let Some(cluster) = Cluster::start().await else { return };
    cluster.kubectl(&["run", "web", "--image=nginx:1.27", "--port=80", "--labels=app=web"]).await;
    let exposed =
        cluster.kubectl(&["expose", "pod", "web", "--port=8080", "--target-port=80", "--type=NodePort"]).await;
    assert_eq!(exposed.trim(), "service/web exposed");
    let table = cluster.kubectl(&["get", "services"]).await;
    let mut lines = table.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[..2], ["web", "NodePort"]);
    assert!(row[2].starts_with("10."), "{table}");
    assert!(row[4].starts_with("8080:3") && row[4].ends_with("/TCP"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_scale_through_the_scale_subresource() {
    let Some(cluster) = Cluster::start().await else { return };
    let deployment = cluster.write(
        "deploy.json",
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
            "replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}),
    );
    cluster.kubectl(&["create", "-f", &deployment]).await;
    assert_eq!(
        cluster.kubectl(&["scale", "deployment", "web", "--replicas=3"]).await.trim(),
        "deployment.apps/web scaled"
    );
    let replicas =
        cluster.kubectl(&["get", "deployment", "web", "-o", "jsonpath={.spec.replicas} {.metadata.generation}"]).await;
    assert_eq!(replicas, "3 2");
    let scale: Value = serde_json::from_str(
        &cluster.kubectl(&["get", "--raw", "/apis/apps/v1/namespaces/default/deployments/web/scale"]).await,
    )
    .unwrap();
    assert_eq!((scale["kind"].as_str(), scale["spec"]["replicas"].as_i64()), (Some("Scale"), Some(3)));
    assert_eq!(scale["status"]["selector"], "app=web");
    let out = cluster
        .kubectl_with("admin.kubeconfig", &["scale", "deployment", "web", "--replicas=5", "--current-replicas=2"])
        .await;
    assert!(!out.status.success(), "a failed precondition is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_patch_and_edit_use_strategic_merge_patch() {
    let Some(cluster) = Cluster::start().await else { return };
    let manifest = |image: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
            "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "app", "image": image, "env": [{"name": "A", "value": "1"}]},
                {"name": "sidecar", "image": "busybox"}]}}}})
    };
    let file = cluster.write("apply.json", &manifest("nginx:1"));
    let apply = ["apply", "-f", file.as_str()];
    assert_eq!(cluster.kubectl(&apply).await.trim(), "deployment.apps/web created");
    assert_eq!(cluster.kubectl(&apply).await.trim(), "deployment.apps/web unchanged");
    cluster.write("apply.json", &manifest("nginx:2"));
    assert_eq!(cluster.kubectl(&apply).await.trim(), "deployment.apps/web configured");
    const IMAGES: [&str; 5] = ["get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[*].image}"];
    assert_eq!(cluster.kubectl(&IMAGES).await, "nginx:2 busybox");
    // `kubectl patch` defaults to a strategic merge patch: the container list merges by name.
    let patch = r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}"#;
    assert_eq!(
        cluster.kubectl(&["patch", "deployment", "web", "-p", patch]).await.trim(),
        "deployment.apps/web patched"
    );
    assert_eq!(cluster.kubectl(&IMAGES).await, "nginx:2 busybox:1.36");
    // `kubectl edit` with an editor that changes the image.
    let out = cluster
        .command("admin.kubeconfig", &["edit", "deployment", "web"])
        .env("KUBE_EDITOR", "sed -i s/nginx:2/nginx:3/")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "deployment.apps/web edited");
    assert_eq!(cluster.kubectl(&IMAGES).await, "nginx:3 busybox:1.36");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_validation_strict_warn_and_ignore() {
    let Some(cluster) = Cluster::start().await else { return };
    let manifest = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}, "bogus": {"x": 1}});
    // kubectl --validate=false sends fieldValidation=Ignore; the raw API defaults to Warn.
    let ignored = cluster.write("a.json", &manifest("a"));
    let out = cluster.kubectl_with("admin.kubeconfig", &["create", "-f", &ignored, "--validate=false"]).await;
    assert!(out.status.success() && !stderr(&out).contains("unknown field"), "{}", stderr(&out));
    let warned = cluster.write("b.json", &manifest("b"));
    let out = cluster
        .kubectl_with("admin.kubeconfig", &["create", "--raw", "/api/v1/namespaces/default/configmaps", "-f", &warned])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown field \"bogus\""), "a warning is printed: {}", stderr(&out));
    let strict = cluster.write("c.json", &manifest("c"));
    let out = cluster
        .kubectl_with(
            "admin.kubeconfig",
            &["create", "--raw", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict", "-f", &strict],
        )
        .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("strict decoding error: unknown field \"bogus\""), "{}", stderr(&out));
    // Repeated fields: a warning by default, refused under Strict; the last value wins.
    let mut raw = cluster.raw().await;
    let repeated = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d"},"data":{"k":"1","k":"2"}}"#;
    let collection = "/api/v1/namespaces/default/configmaps";
    let strict = raw
        .send("POST", &format!("{collection}?fieldValidation=Strict"), "application/json", "application/json", repeated)
        .await;
    assert_eq!(strict.status, 400);
    assert!(strict.json()["message"].as_str().unwrap().contains("duplicate field \"data.k\""), "{:?}", strict.json());
    let warned = raw.send("POST", collection, "application/json", "application/json", repeated).await;
    assert_eq!(warned.status, 201);
    assert_eq!(warned.json()["data"]["k"], "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_explain_reads_the_openapi_documents() {
    let Some(cluster) = Cluster::start().await else { return };
    let out = cluster.kubectl(&["explain", "pods.spec.containers.ports"]).await;
    assert!(out.contains("KIND:") && out.contains("Pod"), "{out}");
    assert!(out.contains("containerPort") && out.contains("<integer> -required-"), "{out}");
    let out = cluster.kubectl(&["explain", "deployments", "--api-version=apps/v1"]).await;
    assert!(out.contains("GROUP:") && out.contains("apps") && out.contains("spec\t<DeploymentSpec>"), "{out}");
    let out = cluster.kubectl_with("admin.kubeconfig", &["explain", "pods.spec.nonsense"]).await;
    assert!(!out.status.success() && stderr(&out).contains("nonsense"), "{}", stderr(&out));
}

/// kubectl's default validation (`--validate=strict`) finds `fieldValidation` in the OpenAPI
/// documents and leaves unknown fields to the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_validates_through_the_server_by_default() {
    let Some(cluster) = Cluster::start().await else { return };
    let bad = cluster.write(
        "bad.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bad"}, "data": {"k": "v"}, "bogus": 1}),
    );
    let out = cluster.kubectl_with("admin.kubeconfig", &["create", "-f", &bad]).await;
    assert!(!out.status.success(), "strict validation refuses unknown fields");
    assert!(stderr(&out).contains("unknown field \"bogus\""), "{}", stderr(&out));
    let out = cluster.kubectl_with("admin.kubeconfig", &["apply", "-f", &bad, "--validate=warn"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown field \"bogus\""), "{}", stderr(&out));
}

/// Typed kubectl commands send protobuf bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_generators_send_protobuf() {
    let Some(cluster) = Cluster::start().await else { return };
    let file = cluster.path("settings.txt");
    std::fs::write(&file, "a=1\nb=2\n").unwrap();
    let from_file = format!("--from-file={}", file.display());
    cluster.kubectl(&["create", "configmap", "cm", &from_file, "--from-literal=k=v"]).await;
    let cm: Value = serde_json::from_str(&cluster.kubectl(&["get", "configmap", "cm", "-o", "json"]).await).unwrap();
    assert_eq!(cm["data"], json!({"settings.txt": "a=1\nb=2\n", "k": "v"}));
    cluster.kubectl(&["create", "secret", "generic", "s", "--from-literal=password=hunter2"]).await;
    let secret = cluster.kubectl(&["get", "secret", "s", "-o", "jsonpath={.data.password}"]).await;
    assert_eq!(secret, "aHVudGVyMg==");
    cluster.kubectl(&["create", "deployment", "web", "--image=nginx:1.27", "--replicas=3", "--port=80"]).await;
    let deploy: Value = serde_json::from_str(&cluster.kubectl(&["get", "deploy", "web", "-o", "json"]).await).unwrap();
    assert_eq!(deploy["spec"]["replicas"], 3);
    assert_eq!(deploy["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");
    assert_eq!(deploy["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 80);
    assert_eq!(deploy["spec"]["selector"]["matchLabels"], json!({"app": "web"}));
    cluster.kubectl(&["create", "namespace", "team-a"]).await;
    cluster.kubectl(&["create", "service", "clusterip", "web", "--tcp=80:8080"]).await;
    let svc: Value = serde_json::from_str(&cluster.kubectl(&["get", "svc", "web", "-o", "json"]).await).unwrap();
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    assert!(svc["spec"]["clusterIP"].as_str().unwrap().starts_with("10."), "{svc}");
    cluster.kubectl(&["create", "job", "once", "--image=busybox", "--", "true"]).await;
    cluster.kubectl(&["create", "cronjob", "nightly", "--image=busybox", "--schedule=0 3 * * *", "--", "true"]).await;
    cluster.kubectl(&["create", "serviceaccount", "robot"]).await;
    cluster.kubectl(&["create", "role", "reader", "--verb=get,list", "--resource=pods"]).await;
    cluster.kubectl(&["create", "rolebinding", "read", "--role=reader", "--serviceaccount=default:robot"]).await;
    let names = cluster.kubectl(&["get", "jobs,cronjobs,serviceaccounts,roles,rolebindings", "-o", "name"]).await;
    for name in [
        "job.batch/once",
        "cronjob.batch/nightly",
        "serviceaccount/robot",
        "role.rbac.authorization.k8s.io/reader",
        "rolebinding.rbac.authorization.k8s.io/read",
    ] {
        assert!(names.contains(name), "{name} missing from {names}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_and_protobuf_bodies_yaml_answers_and_bad_bodies() {
    let Some(cluster) = Cluster::start().await else { return };
    let mut raw = cluster.raw().await;
    let collection = "/api/v1/namespaces/default/configmaps";
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n";
    let created = raw.send("POST", collection, "application/yaml", "application/yaml", yaml).await;
    assert_eq!(created.status, 201, "{}", String::from_utf8_lossy(&created.body));
    assert_eq!(created.content_type, "application/yaml");
    let text = String::from_utf8_lossy(&created.body);
    assert!(text.contains("name: from-yaml") && text.contains("k: v"), "{text}");
    let got = raw.send("GET", &format!("{collection}/from-yaml"), "", "application/json", "").await;
    assert_eq!(got.json()["data"], json!({"k": "v"}));
    for (content_type, body, code) in [
        ("application/yaml", "a: [", 400),
        ("application/json", "{\"a\":", 400),
        ("application/vnd.kubernetes.protobuf", "k8s\0\x0a\x7f", 400),
        ("text/plain", "hello", 415),
    ] {
        let answer = raw.send("POST", collection, content_type, "application/json", body).await;
        assert_eq!(answer.status, code, "{content_type}: {}", String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.json()["kind"], "Status");
    }
    let deep = "[".repeat(200_000);
    assert_eq!(raw.send("POST", collection, "application/json", "application/json", deep).await.status, 400);
    let listed = raw.send("GET", collection, "", "application/json", "").await.json();
    let names: Vec<&str> =
        listed["items"].as_array().unwrap().iter().filter_map(|i| i["metadata"]["name"].as_str()).collect();
    assert_eq!(names, ["from-yaml"], "bad bodies stored nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_are_served_with_hashes() {
    let Some(cluster) = Cluster::start().await else { return };
    let mut raw = cluster.raw().await;
    let index = raw.send("GET", "/openapi/v3", "", "application/json", "").await.json();
    let url = index["paths"]["api/v1"]["serverRelativeURL"].as_str().unwrap().to_string();
    let doc = raw.send("GET", &url, "", "application/json", "").await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert!(doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"].is_object());
    let stale = raw.send("GET", "/openapi/v3/api/v1?hash=STALE", "", "application/json", "").await;
    assert_eq!(stale.status, 301);
    let v2 = raw.send("GET", "/openapi/v2", "", "application/json", "").await.json();
    assert_eq!(v2["swagger"], "2.0");
    let protobuf_only =
        raw.send("GET", "/openapi/v2", "", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", "").await;
    assert_eq!(protobuf_only.status, 406);
}

/// `metadata.resourceVersion` and the managers of `kubectl get -o json --show-managed-fields`.
fn version_and_managers(json: &str) -> (String, Vec<String>) {
    let obj: Value = serde_json::from_str(json).unwrap();
    let managers = obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| format!("{}/{}", e["manager"].as_str().unwrap(), e["operation"].as_str().unwrap()))
        .collect();
    (obj["metadata"]["resourceVersion"].as_str().unwrap().to_string(), managers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_server_side_apply_records_managers_and_conflicts() {
    let Some(cluster) = Cluster::start().await else { return };
    let manifest = |name: &str, replicas: i64, image: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": image}]}}}})
    };
    // Server-side apply creates, then an unchanged apply writes nothing, then a change applies.
    let file = cluster.write("ssa.json", &manifest("ssa", 2, "nginx:1"));
    let apply = ["apply", "--server-side", "-f", file.as_str()];
    assert_eq!(cluster.kubectl(&apply).await.trim(), "deployment.apps/ssa serverside-applied");
    let get = ["get", "deployment", "ssa", "-o", "json", "--show-managed-fields"];
    let (first, managers) = version_and_managers(&cluster.kubectl(&get).await);
    assert_eq!(managers, ["kubectl/Apply"]);
    assert_eq!(cluster.kubectl(&apply).await.trim(), "deployment.apps/ssa serverside-applied");
    assert_eq!(version_and_managers(&cluster.kubectl(&get).await).0, first, "an unchanged apply stores nothing");
    cluster.write("ssa.json", &manifest("ssa", 2, "nginx:2"));
    assert_eq!(cluster.kubectl(&apply).await.trim(), "deployment.apps/ssa serverside-applied");
    const IMAGE: [&str; 5] = ["get", "deploy", "ssa", "-o", "jsonpath={.spec.template.spec.containers[0].image}"];
    assert_eq!(cluster.kubectl(&IMAGE).await, "nginx:2");
    // managedFields are shown on request only.
    let shown = cluster.kubectl(&["get", "deploy", "ssa", "-o", "yaml", "--show-managed-fields"]).await;
    for expected in ["managedFields:", "manager: kubectl", "operation: Apply", "fieldsType: FieldsV1", "f:replicas: {}"]
    {
        assert!(shown.contains(expected), "{expected} in {shown}");
    }
    assert!(!cluster.kubectl(&["get", "deploy", "ssa", "-o", "yaml"]).await.contains("managedFields"));
    // `kubectl scale` is recorded as an update through the scale subresource.
    cluster.kubectl(&["scale", "deployment", "ssa", "--replicas=4"]).await;
    let scaled: Value = serde_json::from_str(&cluster.kubectl(&get).await).unwrap();
    let scale_entry =
        scaled["metadata"]["managedFields"].as_array().unwrap().iter().find(|e| e["subresource"] == "scale");
    assert_eq!(scale_entry.map(|e| e["fieldsV1"].clone()), Some(json!({"f:spec": {"f:replicas": {}}})), "{scaled}");

    // A field client-side apply set conflicts for another applier until it forces.
    let csa = cluster.write("csa.json", &manifest("csa", 2, "nginx:1"));
    assert_eq!(cluster.kubectl(&["apply", "-f", &csa]).await.trim(), "deployment.apps/csa created");
    let get_csa = ["get", "deployment", "csa", "-o", "json", "--show-managed-fields"];
    assert_eq!(version_and_managers(&cluster.kubectl(&get_csa).await).1, ["kubectl-client-side-apply/Update"]);
    cluster.write("csa.json", &manifest("csa", 3, "nginx:1"));
    let ci = ["apply", "--server-side", "--field-manager=ci", "-f", csa.as_str()];
    let out = cluster.kubectl_with("admin.kubeconfig", &ci).await;
    assert!(!out.status.success());
    let error = stderr(&out);
    assert!(
        error.contains(
            r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#
        ),
        "{error}"
    );
    assert!(error.contains("--force-conflicts"), "kubectl explains the way out: {error}");
    let forced = [&ci[..], &["--force-conflicts"]].concat();
    assert_eq!(cluster.kubectl(&forced).await.trim(), "deployment.apps/csa serverside-applied");
    // kubectl then moves what client-side apply owned to its applier (a JSON patch of
    // managedFields) and applies again, which drops the last-applied annotation nobody applies.
    let after: Value = serde_json::from_str(&cluster.kubectl(&get_csa).await).unwrap();
    assert_eq!(version_and_managers(&after.to_string()).1, ["ci/Apply"], "{after}");
    assert!(after["metadata"].get("annotations").is_none(), "{after}");
    assert_eq!(after["spec"]["replicas"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_server_side_apply_takes_yaml_and_needs_a_field_manager() {
    let Some(cluster) = Cluster::start().await else { return };
    let mut raw = cluster.raw().await;
    let path = "/api/v1/namespaces/default/configmaps/applied";
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  k: v\n";
    let missing = raw.send("PATCH", path, "application/apply-patch+yaml", "application/json", yaml).await;
    assert_eq!(missing.status, 422, "{}", String::from_utf8_lossy(&missing.body));
    assert_eq!(
        missing.json()["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
    let with_manager = format!("{path}?fieldManager=tester");
    let created = raw.send("PATCH", &with_manager, "application/apply-patch+yaml", "application/json", yaml).await;
    assert_eq!(created.status, 201, "an apply to a missing object creates it");
    let entry = &created.json()["metadata"]["managedFields"][0];
    assert_eq!((entry["manager"].as_str(), entry["operation"].as_str()), (Some("tester"), Some("Apply")));
    assert_eq!(entry["fieldsV1"], json!({"f:data": {"f:k": {}}}));
    let again = raw.send("PATCH", &with_manager, "application/apply-patch+yaml", "application/json", yaml).await;
    assert_eq!(again.status, 200);
    // Writes without fieldManager are recorded for the User-Agent's product (RawClient: none,
    // so "unknown"); force is for apply only.
    let merge =
        raw.send("PATCH", path, "application/merge-patch+json", "application/json", r#"{"data":{"k":"w"}}"#).await;
    assert_eq!(merge.status, 200);
    let managers: Vec<Value> =
        merge.json()["metadata"]["managedFields"].as_array().unwrap().iter().map(|e| e["manager"].clone()).collect();
    assert_eq!(managers, [json!("unknown")], "the merge took k from tester, who owned nothing else");
    let forced = format!("{path}?force=true");
    let refused = raw.send("PATCH", &forced, "application/merge-patch+json", "application/json", "{}").await;
    assert_eq!(refused.status, 422);
    let conflict = raw.send("PATCH", &with_manager, "application/apply-patch+yaml", "application/json", yaml).await;
    assert_eq!(conflict.status, 409, "{}", String::from_utf8_lossy(&conflict.body));
    assert_eq!(conflict.json()["details"]["causes"][0]["field"], ".data.k");
}

/// helm 4 (server-side apply by default, releases stored as Secrets): create a chart, install,
/// list, upgrade, roll back, uninstall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_chart_lifecycle() {
    let Some(cluster) = Cluster::start().await else { return };
    let Some(helm_path) = helm_binary() else { return };
    let helm = |args: &[&str]| {
        let out = Command::new(&helm_path)
            .args(args)
            .current_dir(cluster.dir.path())
            .env("KUBECONFIG", cluster.path("admin.kubeconfig"))
            .env("HELM_CACHE_HOME", cluster.path("helm/cache"))
            .env("HELM_CONFIG_HOME", cluster.path("helm/config"))
            .env("HELM_DATA_HOME", cluster.path("helm/data"))
            .output()
            .unwrap();
        assert!(out.status.success(), "helm {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    helm(&["create", "web"]);
    let install = helm(&["install", "site", "./web"]);
    assert!(install.contains("STATUS: deployed"), "{install}");
    assert!(helm(&["list"]).contains("site"));
    let replicas = ["get", "deployment", "site-web", "-o", "jsonpath={.spec.replicas}"];
    assert_eq!(cluster.kubectl(&replicas).await, "1");
    let managers = [
        "get",
        "deployment",
        "site-web",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ];
    assert_eq!(cluster.kubectl(&managers).await, "helm", "helm applies server-side");
    helm(&["upgrade", "site", "./web", "--set", "replicaCount=3"]);
    assert_eq!(cluster.kubectl(&replicas).await, "3");
    let history = helm(&["history", "site"]);
    assert!(history.contains("superseded") && history.contains("Upgrade complete"), "{history}");
    helm(&["rollback", "site", "1"]);
    assert_eq!(cluster.kubectl(&replicas).await, "1");
    let releases = cluster.kubectl(&["get", "secrets", "-l", "owner=helm", "-o", "name"]).await;
    assert_eq!(releases.lines().count(), 3, "one release Secret per revision: {releases}");
    helm(&["uninstall", "site"]);
    let left = cluster.kubectl(&["get", "deployments,services,serviceaccounts,secrets", "-o", "name"]).await;
    assert!(!left.contains("site"), "{left}");
}

/// `kubectl get` and `get -o wide` print upstream's columns for each kind: the server's Table
/// carries every column with its priority, and kubectl shows the wide ones only with `-o wide`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_prints_upstream_columns_per_kind() {
    let Some(cluster) = Cluster::start().await else { return };
    /// The cells of a `kubectl get` line (columns are at least three spaces apart).
    fn columns(line: &str) -> Vec<&str> {
        line.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect()
    }
    let ago = |seconds: i64| {
        let t = jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_secs(seconds)).unwrap();
        t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    };
    // The header and first row of `kubectl get <args>`.
    let get = async |args: &[&str]| {
        let out = cluster.kubectl(&[&["get"][..], args].concat()).await;
        let mut lines = out.lines().map(|l| columns(l).into_iter().map(str::to_string).collect::<Vec<_>>());
        (lines.next().unwrap(), lines.next().unwrap_or_default())
    };
    let create = async |name: &str, object: Value| {
        let file = cluster.write(name, &object);
        cluster.kubectl(&["create", "-f", &file]).await;
    };
    let status = async |kind: &str, name: &str, status: Value| {
        let patch = json!({ "status": status }).to_string();
        cluster.kubectl(&["patch", kind, name, "--subresource=status", "--type=merge", "-p", &patch]).await;
    };

    // A deployment mid-rollout.
    let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
        {"name": "nginx", "image": "nginx:1.27"}, {"name": "log", "image": "busybox:1.36"}]}});
    create(
        "deployment.json",
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template}}),
    )
    .await;
    status(
        "deployment",
        "web",
        json!({"replicas": 4, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2}),
    )
    .await;
    let (header, row) = get(&["deployments"]).await;
    assert_eq!(header, ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    assert_eq!(row[..4], ["web", "2/3", "1", "2"]);
    let (header, row) = get(&["deployments", "-o", "wide"]).await;
    assert_eq!(header, ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]);
    assert_eq!(row[5..], ["nginx,log", "nginx:1.27,busybox:1.36", "app=web"]);

    // A job that completed in five minutes.
    create(
        "job.json",
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
               "spec": {"completions": 2, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl:5.34"}]}}}}),
    )
    .await;
    let conditions = json!([{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]);
    status(
        "job",
        "pi",
        json!({"succeeded": 2, "startTime": ago(400), "completionTime": ago(100), "conditions": conditions}),
    )
    .await;
    let (header, row) = get(&["jobs"]).await;
    assert_eq!(header, ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]);
    assert_eq!(row[..4], ["pi", "Complete", "2/2", "5m"]);
    let (header, row) = get(&["jobs", "-o", "wide"]).await;
    assert_eq!(header, ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]);
    assert_eq!(row[5..7], ["pi", "perl:5.34"]);

    // A cron job that has not run yet.
    create(
        "cronjob.json",
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report"},
               "spec": {"schedule": "*/5 * * * *", "timeZone": "Etc/UTC", "jobTemplate": {"spec": {"template": {"spec": {
                   "restartPolicy": "OnFailure", "containers": [{"name": "report", "image": "busybox:1.36"}]}}}}}}),
    )
    .await;
    let (header, row) = get(&["cronjobs"]).await;
    assert_eq!(header, ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"]);
    assert_eq!(row[..6], ["report", "*/5 * * * *", "Etc/UTC", "False", "0", "<none>"]);
    let (header, row) = get(&["cronjobs", "-o", "wide"]).await;
    assert_eq!(
        header,
        [
            "NAME",
            "SCHEDULE",
            "TIMEZONE",
            "SUSPEND",
            "ACTIVE",
            "LAST SCHEDULE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    assert_eq!(row[7..], ["report", "busybox:1.36", "<none>"]);

    // A repeated warning about a pod.
    create(
        "event.json",
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1"},
               "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "fieldPath": "spec.containers{app}"},
               "type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container",
               "source": {"component": "kubelet", "host": "n1"}, "count": 7, "firstTimestamp": ago(660), "lastTimestamp": ago(30)}),
    )
    .await;
    let (header, row) = get(&["events"]).await;
    assert_eq!(header, ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]);
    assert_eq!(row[1..], ["Warning", "BackOff", "pod/web", "Back-off restarting failed container"]);
    let (header, row) = get(&["events", "-o", "wide"]).await;
    assert_eq!(
        header,
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME"]
    );
    assert_eq!(
        row[4..],
        ["spec.containers{app}", "kubelet, n1", "Back-off restarting failed container", "11m", "7", "web.1"]
    );

    // Roles print the generic NAME, CREATED AT; bindings their role and, wide, their subjects.
    create(
        "role.json",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "pod-reader"},
               "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}),
    )
    .await;
    let (header, row) = get(&["roles"]).await;
    assert_eq!(header, ["NAME", "CREATED AT"]);
    assert!(row[1].ends_with('Z') && row[1].contains('T'), "{row:?}");
    create(
        "rolebinding.json",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "read-pods"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
               "subjects": [{"kind": "User", "name": "jane"}, {"kind": "Group", "name": "devs"},
                            {"kind": "ServiceAccount", "name": "builder", "namespace": "ci"}]}),
    )
    .await;
    let (header, row) = get(&["rolebindings"]).await;
    assert_eq!(header, ["NAME", "ROLE", "AGE"]);
    assert_eq!(row[..2], ["read-pods", "Role/pod-reader"]);
    let (header, row) = get(&["rolebindings", "-o", "wide"]).await;
    assert_eq!(header, ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]);
    assert_eq!(row[3..], ["jane", "devs", "ci/builder"]);

    // A cordoned, not-ready control-plane node (once nodes are served).
    if !resources::all().iter().any(|s| apiserver_registry::Strategy::resource(s.as_ref()).plural == "nodes") {
        eprintln!("nodes are not served yet: `kubectl get nodes` columns not checked here");
        return;
    }
    create(
        "node.json",
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/control-plane": ""}},
               "spec": {"unschedulable": true}}),
    )
    .await;
    status(
        "node",
        "n1",
        json!({"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}],
               "addresses": [{"type": "InternalIP", "address": "192.168.1.5"}],
               "nodeInfo": {"kubeletVersion": "v1.35.0", "osImage": "Debian GNU/Linux 13", "kernelVersion": "6.12.0",
                            "containerRuntimeVersion": "docker://28.0.0"}}),
    )
    .await;
    let (header, row) = get(&["nodes"]).await;
    assert_eq!(header, ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    assert_eq!([&row[..3], &row[4..]].concat(), ["n1", "NotReady,SchedulingDisabled", "control-plane", "v1.35.0"]);
    let (header, row) = get(&["nodes", "-o", "wide"]).await;
    assert_eq!(
        header,
        [
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME"
        ]
    );
    assert_eq!(row[5..], ["192.168.1.5", "<none>", "Debian GNU/Linux 13", "6.12.0", "docker://28.0.0"]);
}

/// `kubectl autoscale` sends an autoscaling/v2 HPA as protobuf; the same object reads as v1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_autoscale_creates_an_hpa_served_as_v2_and_v1() {
    let Some(cluster) = Cluster::start().await else { return };
    cluster.kubectl(&["create", "deployment", "web", "--image=nginx"]).await;
    let out = cluster.kubectl(&["autoscale", "deployment", "web", "--cpu-percent=50", "--min=2", "--max=6"]).await;
    assert_eq!(out.trim(), "horizontalpodautoscaler.autoscaling/web autoscaled");
    let v2 =
        ["get", "hpa", "web", "-o", "jsonpath={.apiVersion} {.spec.metrics[0].resource.target.averageUtilization}"];
    assert_eq!(cluster.kubectl(&v2).await, "autoscaling/v2 50");
    let v1 = [
        "get",
        "horizontalpodautoscalers.v1.autoscaling",
        "web",
        "-o",
        "jsonpath={.apiVersion} {.spec.targetCPUUtilizationPercentage} {.spec.minReplicas}",
    ];
    assert_eq!(cluster.kubectl(&v1).await, "autoscaling/v1 50 2");
    cluster
        .kubectl(&[
            "patch",
            "horizontalpodautoscalers.v1.autoscaling",
            "web",
            "-p",
            r#"{"spec":{"targetCPUUtilizationPercentage":70}}"#,
        ])
        .await;
    assert_eq!(cluster.kubectl(&v2).await, "autoscaling/v2 70");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_reviews_say_whom_a_token_authenticates() {
    let Some(cluster) = Cluster::start().await else { return };
    let mut raw = cluster.raw().await;
    let review = |token: &str| {
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}).to_string()
    };
    let path = "/apis/authentication.k8s.io/v1/tokenreviews";
    let admin = raw.send("POST", path, "application/json", "application/json", review(&cluster.pki.admin_token)).await;
    assert_eq!(admin.status, 201);
    let status = &admin.json()["status"];
    assert_eq!(status["authenticated"], true);
    assert_eq!(status["user"]["username"], "kubernetes-admin");
    let bogus = raw.send("POST", path, "application/json", "application/json", review("not-a-token")).await.json();
    assert!(bogus["status"].get("authenticated").is_none(), "{bogus}");
    let empty = raw.send("POST", path, "application/json", "application/json", review("")).await;
    assert_eq!(empty.status, 422);
}

/// Workload rules: the selector must match the template, and it never changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_need_a_selector_matching_their_template() {
    let Some(cluster) = Cluster::start().await else { return };
    let deployment = |selector: &str, label: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"selector": {"matchLabels": {"app": selector}},
                        "template": {"metadata": {"labels": {"app": label}},
                                     "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    };
    let bad = cluster.write("bad.json", &deployment("web", "db"));
    let out = cluster.kubectl_with("admin.kubeconfig", &["create", "-f", &bad]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("`selector` does not match template `labels`"), "{}", stderr(&out));
    let good = cluster.write("good.json", &deployment("web", "web"));
    cluster.kubectl(&["create", "-f", &good]).await;
    let patch =
        r#"{"spec":{"selector":{"matchLabels":{"app":"other"}},"template":{"metadata":{"labels":{"app":"other"}}}}}"#;
    let out = cluster.kubectl_with("admin.kubeconfig", &["patch", "deploy", "web", "-p", patch]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("spec.selector: Invalid value") && stderr(&out).contains("field is immutable"),
        "{}",
        stderr(&out)
    );
}

/// Job and CronJob rules reach kubectl as 422s with the field at fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_and_cron_jobs_are_validated() {
    let Some(cluster) = Cluster::start().await else { return };
    let out = cluster
        .kubectl_with("admin.kubeconfig", &["create", "cronjob", "c", "--image=busybox", "--schedule=61 * * * *"])
        .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("spec.schedule: Invalid value: \"61 * * * *\""), "{}", stderr(&out));
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                     "spec": {"template": {"spec": {"restartPolicy": "Always",
                                                    "containers": [{"name": "c", "image": "busybox"}]}}}});
    let file = cluster.write("job.json", &job);
    let out = cluster.kubectl_with("admin.kubeconfig", &["create", "-f", &file]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out)
            .contains("spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""),
        "{}",
        stderr(&out)
    );
}

/// The event TTL: events that last happened longer ago than the TTL are deleted through the
/// registry (a watch in either group sees DELETED); the others stay. Runs over the registries
/// alone (no kubectl).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_older_than_the_event_ttl_are_deleted() {
    use apiserver_http::event_ttl;
    use apiserver_machinery::resource_version::ReadParams;
    use apiserver_registry::WatchOptions;
    use futures::StreamExt;
    use jiff::{SignedDuration, Timestamp};
    use std::time::Duration;

    let store: Arc<dyn Store> = Arc::new(MemoryStore::in_memory(StoreOptions::default()));
    let registries: Vec<Registry> = resources::all().into_iter().map(|s| Registry::new(s, store.clone())).collect();
    let events =
        |group: &str| registries.iter().find(|r| r.resource().group == group && r.resource().plural == "events");
    let (core, newer) = (events("").unwrap(), events("events.k8s.io").unwrap());
    let now = Timestamp::now();
    let at = |minutes: i64| json!(now.checked_add(SignedDuration::from_mins(minutes)).unwrap());
    let event = |name: &str, last: Value| {
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
               "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
               "reason": "Pulled", "message": "pulled", "type": "Normal", "lastTimestamp": last})
    };
    // Created now; one of them happens again in 90 minutes (its last activity is then).
    core.create(Some("default"), event("now.1", at(0)), WriteOptions::default()).await.unwrap();
    core.create(Some("default"), event("later.1", at(90)), WriteOptions::default()).await.unwrap();
    let from = store.current_revision().to_string();
    let options = WatchOptions {
        read: ReadParams { resource_version: Some(&from), ..ReadParams::default() },
        label_selector: None,
        field_selector: None,
        json_lines: false,
    };
    let mut watch = newer.watch(Some("default"), options).await.unwrap();

    // An hour's TTL, 70 minutes from now: only the event that last happened now has expired.
    let hour = Duration::from_secs(3600);
    assert_eq!(event_ttl::sweep(core, hour, now).await.unwrap(), 0);
    let later = now.checked_add(SignedDuration::from_mins(70)).unwrap();
    assert_eq!(event_ttl::sweep(core, hour, later).await.unwrap(), 1);
    let deleted = tokio::time::timeout(Duration::from_secs(10), watch.next()).await.unwrap().unwrap();
    assert_eq!((deleted.kind, deleted.object["metadata"]["name"].as_str()), ("DELETED", Some("now.1")));
    assert_eq!(deleted.object["apiVersion"], "events.k8s.io/v1");

    // The background task with a one-second TTL removes a fresh event within about a second.
    core.create(Some("default"), event("fresh.1", at(0)), WriteOptions::default()).await.unwrap();
    let sweeper = event_ttl::start(&registries, Duration::from_secs(1)).expect("a TTL sweeper");
    let added = tokio::time::timeout(Duration::from_secs(10), watch.next()).await.unwrap().unwrap();
    assert_eq!((added.kind, added.object["metadata"]["name"].as_str()), ("ADDED", Some("fresh.1")));
    let deleted = tokio::time::timeout(Duration::from_secs(10), watch.next()).await.unwrap().unwrap();
    assert_eq!((deleted.kind, deleted.object["metadata"]["name"].as_str()), ("DELETED", Some("fresh.1")));
    sweeper.abort();
    let left = core.list(None, apiserver_registry::ListOptions::default()).await.unwrap();
    assert_eq!(left["items"].as_array().unwrap().len(), 1, "the event that happens later stays");
    assert!(event_ttl::start(&registries, Duration::ZERO).is_none(), "0 keeps events forever");
}
