//! The `apiserver` binary end to end: start it on a data directory, drive it with the real
//! kubectl v1.35 (installed by `ci/install-kubectl.sh`), kill it with SIGKILL in the middle of a
//! stream of creates, restart it, and check that every acknowledged object survived and that
//! watches resume from a resourceVersion taken before the crash.

mod autoscaling;
mod cluster;
mod control_plane;
mod daemonsets;
mod deployments;
mod jobs;
mod kube_client;
mod metrics_api;
mod node_agent;
mod scheduling;
mod statefulsets;
mod storage_quota;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apiserver_http::testing::kubectl_binary;
use serde_json::{Value, json};

/// A running `apiserver` process.
pub(crate) struct Server {
    child: Child,
    pub(crate) kubeconfig: PathBuf,
}

impl Server {
    fn start(data: &Path) -> Self {
        Self::start_with(data, &[])
    }

    fn start_with(data: &Path, args: &[&str]) -> Self {
        let kubeconfig = data.join("admin.kubeconfig");
        let mut child = Command::new(env!("CARGO_BIN_EXE_apiserver"))
            .arg("--data-dir")
            .arg(data)
            .args(["--secure-port", "0", "--write-kubeconfig"])
            .arg(&kubeconfig)
            .args(args)
            // KYBERNETES_TEST_LOG=<filter> shows the server's log (debugging a test).
            .env("RUST_LOG", std::env::var("KYBERNETES_TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("KYBERNETES_TEST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() })
            .spawn()
            .expect("apiserver starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = lines.next().expect("a line").unwrap();
        assert!(ready.starts_with("apiserver listening on https://"), "{ready}");
        Self { child, kubeconfig }
    }

    fn kill_9(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kubectl(kubectl: &Path, server: &Server, args: &[&str]) -> String {
    let out = Command::new(kubectl).arg("--kubeconfig").arg(&server.kubeconfig).args(args).output().unwrap();
    assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn acknowledged_objects_survive_kill_9_and_watches_resume() {
    let Some(kubectl_bin) = kubectl_binary() else { return };
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let names = kubectl(&kubectl_bin, &server, &["get", "namespaces", "-o", "name"]);
    assert!(names.contains("namespace/kube-system"), "bootstrap namespaces: {names}");
    let ip = kubectl(&kubectl_bin, &server, &["get", "service", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"]);
    assert_eq!(ip, "10.96.0.1");
    let before = kubectl(&kubectl_bin, &server, &["get", "configmaps", "-o", "jsonpath={.metadata.resourceVersion}"]);

    // A stream of creates; every "created" line kubectl prints is an acknowledged write.
    let items: Vec<Value> = (0..400)
        .map(|i| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm-{i:03}")}, "data": {"i": i.to_string()}}))
        .collect();
    let manifest = data.path().join("many.json");
    std::fs::write(&manifest, json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()).unwrap();
    let mut creator = Command::new(&kubectl_bin)
        .arg("--kubeconfig")
        .arg(&server.kubeconfig)
        .args(["create", "--validate=false", "-f"])
        .arg(&manifest)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acknowledged = Vec::new();
    let started = Instant::now();
    for line in BufReader::new(creator.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(name) = line.strip_prefix("configmap/").and_then(|l| l.strip_suffix(" created")) {
            acknowledged.push(name.to_string());
        }
        if acknowledged.len() == 100 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "creates too slow");
    }
    server.kill_9();
    let _ = creator.wait();
    assert_eq!(acknowledged.len(), 100);

    let server = Server::start(data.path());
    let stored = kubectl(&kubectl_bin, &server, &["get", "configmaps", "-o", "name"]);
    for name in &acknowledged {
        assert!(stored.contains(&format!("configmap/{name}\n")), "acknowledged {name} lost");
    }
    // History from before the crash is still there: a watch from the earlier revision replays it.
    let path = format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={before}&timeoutSeconds=1");
    let events = kubectl(&kubectl_bin, &server, &["get", "--raw", &path]);
    let first: Value = serde_json::from_str(events.lines().next().expect("events after the restart")).unwrap();
    assert_eq!((first["type"].as_str(), first["object"]["metadata"]["name"].as_str()), (Some("ADDED"), Some("cm-000")));
    assert!(events.lines().count() >= acknowledged.len());
}

#[test]
#[allow(clippy::disallowed_methods, reason = "polls an external process; there is nothing to wait on")]
fn sigterm_ends_open_watches_cleanly_and_exits() {
    let Some(kubectl_bin) = kubectl_binary() else { return };
    let data = tempfile::tempdir().unwrap();
    // No in-process controllers: their own watches would show in the WATCH count below.
    let mut server = Server::start_with(data.path(), &["--controllers=false"]);
    let mut watch = Command::new(&kubectl_bin)
        .arg("--kubeconfig")
        .arg(&server.kubeconfig)
        .args(["get", "--raw", "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=300"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the server has answered the watch (it counts a WATCH request then).
    let watching = Instant::now();
    while !kubectl(&kubectl_bin, &server, &["get", "--raw", "/metrics"]).contains("verb=\"WATCH\"") {
        assert!(watching.elapsed() < Duration::from_secs(10), "the watch never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(4), "the server did not stop within 4 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let watch_status = watch.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(watch.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(watch_status.success(), "the watch ended cleanly, not cut: {stderr}");
}

/// `--event-ttl` (a Go duration, like upstream's flag): an event goes once it last happened
/// longer ago than that, and watchers see it go.
#[test]
fn events_go_after_the_event_ttl() {
    let Some(kubectl_bin) = kubectl_binary() else { return };
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data.path(), &["--controllers=false", "--event-ttl=1s"]);
    // It happens (again) in 5 s, so it is still there when the watch below starts.
    let last = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_secs(5)).unwrap();
    let event = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "soon.1"},
                       "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
                       "reason": "Pulled", "message": "pulled", "type": "Normal",
                       "lastTimestamp": last.round(jiff::Unit::Second).unwrap()});
    let manifest = data.path().join("event.json");
    std::fs::write(&manifest, event.to_string()).unwrap();
    kubectl(&kubectl_bin, &server, &["create", "-f", manifest.to_str().unwrap()]);
    let format = r#"jsonpath={.type} {.object.metadata.name}{"\n"}"#;
    let mut watch = Command::new(&kubectl_bin)
        .arg("--kubeconfig")
        .arg(&server.kubeconfig)
        .args(["get", "events", "--watch", "--output-watch-events", "--request-timeout=30s", "-o", format])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(watch.stdout.take().unwrap()).lines() {
        seen.push(line.unwrap());
        if seen.last().is_some_and(|l| l.starts_with("DELETED")) {
            break;
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(seen, ["ADDED soon.1", "DELETED soon.1"]);
    assert_eq!(kubectl(&kubectl_bin, &server, &["get", "events", "-o", "name"]), "");
}
