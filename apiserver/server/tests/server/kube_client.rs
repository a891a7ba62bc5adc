//! kube-rs (the client library our controllers are built on) against the binary: discovery,
//! CRUD, paginated lists, watches with both initial-list strategies, a reflector, and
//! server-side apply.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, PartialObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, reflector};
use kube::{Client, Config};
use serde_json::json;

use crate::Server;

async fn client(server: &Server) -> Client {
    let kubeconfig = Kubeconfig::read_from(&server.kubeconfig).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    Client::try_from(config).unwrap()
}

fn config_map(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "kube-test"}},
        "data": {"value": value},
    }))
    .unwrap()
}

/// Waits (up to 10 s) until `condition` holds.
async fn eventually(mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "condition not reached in 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_discovers_lists_watches_reflects_and_applies() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = client(&server).await;

    let version = client.apiserver_version().await.unwrap();
    assert_eq!((version.major.as_str(), version.minor.as_str()), ("1", "35"));
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    let apps = discovery.get("apps").expect("apps group discovered");
    assert!(apps.recommended_resources().iter().any(|(r, _)| r.plural == "deployments"));

    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    // A reflector fed by a list-then-watch watcher, and a raw streaming-list watcher.
    let (reader, writer) = reflector::store();
    let reflected =
        reflector(writer, watcher::watcher(api.clone(), watcher::Config::default().labels("app=kube-test")))
            .applied_objects()
            .try_for_each(|_| async { Ok(()) });
    let reflector_task = tokio::spawn(reflected);
    let mut streaming =
        watcher::watcher(api.clone(), watcher::Config::default().streaming_lists().labels("app=kube-test")).boxed();

    for i in 0..5 {
        api.create(&PostParams::default(), &config_map(&format!("cm-{i}"), "created")).await.unwrap();
    }
    // Server-side apply, twice (the second changes one value), owned by our field manager.
    let apply = PatchParams::apply("kube-test");
    api.patch("applied", &apply, &Patch::Apply(config_map("applied", "v1"))).await.unwrap();
    let applied = api.patch("applied", &apply, &Patch::Apply(config_map("applied", "v2"))).await.unwrap();
    assert_eq!(applied.data.unwrap()["value"], "v2");
    let managers: Vec<String> =
        applied.metadata.managed_fields.unwrap_or_default().into_iter().filter_map(|m| m.manager).collect();
    assert_eq!(managers, ["kube-test"]);

    eventually(|| reader.state().len() == 6).await;
    let replaced = api.get("cm-0").await.unwrap();
    let mut changed = replaced.clone();
    changed.data = Some([("value".to_string(), "replaced".to_string())].into());
    api.replace("cm-0", &PostParams::default(), &changed).await.unwrap();
    // A stale resourceVersion is a 409 the client can recognise.
    let stale = api.replace("cm-0", &PostParams::default(), &replaced).await.unwrap_err();
    assert!(matches!(&stale, kube::Error::Api(status) if status.code == 409), "{stale:?}");
    api.delete("cm-4", &DeleteParams::default()).await.unwrap();
    eventually(|| {
        let state = reader.state();
        state.len() == 5 && state.iter().any(|cm| cm.data.as_ref().is_some_and(|d| d["value"] == "replaced"))
    })
    .await;

    // The streaming list sends the six objects that existed when it began, then InitDone.
    let mut initial = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), streaming.next()).await.unwrap().unwrap().unwrap() {
            Event::Init => {}
            Event::InitApply(_) => initial += 1,
            Event::InitDone => break,
            other => panic!("unexpected event before InitDone: {other:?}"),
        }
    }
    assert!(initial >= 1, "streaming list delivered the current objects");

    // Pagination with continue tokens, as kube's list pager walks it.
    let mut names = Vec::new();
    let mut params = ListParams::default().labels("app=kube-test").limit(2);
    loop {
        let page = api.list(&params).await.unwrap();
        names.extend(page.items.into_iter().filter_map(|cm| cm.metadata.name));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    assert_eq!(names, ["applied", "cm-0", "cm-1", "cm-2", "cm-3"]);

    // Metadata-only lists and watches (what the garbage collector's informers use).
    let metadata = api.list_metadata(&ListParams::default().labels("app=kube-test")).await.unwrap();
    assert_eq!(metadata.items.len(), 5);
    assert!(metadata.items.iter().all(|m| m.metadata.uid.is_some() && m.metadata.labels.is_some()));
    let metadata_api: Api<PartialObjectMeta<ConfigMap>> = Api::namespaced(client.clone(), "default");
    let mut metadata_events =
        watcher::watcher(metadata_api, watcher::Config::default().labels("app=kube-test")).boxed();
    let mut seen = 0;
    while let Event::Init | Event::InitApply(_) =
        tokio::time::timeout(Duration::from_secs(10), metadata_events.next()).await.unwrap().unwrap().unwrap()
    {
        seen += 1;
    }
    assert_eq!(seen, 6, "Init, five objects, then InitDone");
    reflector_task.abort();
}
