//! Per-namespace defaults every active namespace gets: the `default` ServiceAccount
//! (upstream's serviceaccounts-controller) and the `kube-root-ca.crt` ConfigMap holding the
//! cluster CA (upstream's root-ca-cert-publisher), recreated if deleted and restored if edited.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use crate::{Context, Error};

pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
pub const ROOT_CA_CONFIG_MAP: &str = "kube-root-ca.crt";
const ROOT_CA_DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using \
     internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed \
     across distributions of Kubernetes clusters.";

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let namespaces = ctx.informers.get::<Namespace>();
    let accounts = ctx.informers.get::<ServiceAccount>();
    let config_maps = ctx.informers.get::<ConfigMap>();
    Controller::for_shared_stream(namespaces.subscribe(), namespaces.store())
        .watches_shared_stream(accounts.subscribe(), |sa| {
            (sa.name_any() == DEFAULT_SERVICE_ACCOUNT).then(|| namespace_of(sa.as_ref())).flatten()
        })
        .watches_shared_stream(config_maps.subscribe(), |cm| {
            (cm.name_any() == ROOT_CA_CONFIG_MAP).then(|| namespace_of(cm.as_ref())).flatten()
        })
        .with_config(Config::default().concurrency(ctx.options.concurrency))
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
    Ok(())
}

fn namespace_of<K: Resource>(obj: &K) -> Option<ObjectRef<Namespace>> {
    obj.meta().namespace.as_deref().map(ObjectRef::new)
}

fn error_policy(_ns: Arc<Namespace>, err: &Error, _ctx: Arc<Context>) -> Action {
    tracing::debug!(%err, "serviceaccount controller: retrying");
    Action::requeue(Duration::from_secs(1))
}

/// The root CA ConfigMap's data, as upstream publishes it.
pub fn root_ca_data(ca_pem: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("ca.crt".to_string(), ca_pem.to_string())])
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    let active = ns.metadata.deletion_timestamp.is_none()
        && ns.status.as_ref().and_then(|s| s.phase.as_deref()).is_none_or(|p| p == "Active");
    if !active {
        return Ok(Action::await_change());
    }
    let name = ns.name_any();
    let accounts = ctx.informers.get::<ServiceAccount>().store();
    if accounts.get(&ObjectRef::new(DEFAULT_SERVICE_ACCOUNT).within(&name)).is_none() {
        let account = ServiceAccount {
            metadata: ObjectMeta { name: Some(DEFAULT_SERVICE_ACCOUNT.into()), ..Default::default() },
            ..Default::default()
        };
        create_if_missing(Api::namespaced(ctx.client.clone(), &name), &account).await?;
    }
    if let Some(ca) = &ctx.options.root_ca {
        let config_maps = ctx.informers.get::<ConfigMap>().store();
        let wanted = root_ca_data(ca);
        let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &name);
        match config_maps.get(&ObjectRef::new(ROOT_CA_CONFIG_MAP).within(&name)) {
            None => {
                let config_map = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(ROOT_CA_CONFIG_MAP.into()),
                        annotations: Some(BTreeMap::from([(
                            "kubernetes.io/description".to_string(),
                            ROOT_CA_DESCRIPTION.to_string(),
                        )])),
                        ..Default::default()
                    },
                    data: Some(wanted),
                    ..Default::default()
                };
                create_if_missing(api, &config_map).await?;
            }
            Some(existing) if existing.data.as_ref() != Some(&wanted) => {
                let mut restored = (*existing).clone();
                restored.data = Some(wanted);
                restored.binary_data = None;
                restored.metadata.managed_fields = None;
                api.replace(ROOT_CA_CONFIG_MAP, &PostParams::default(), &restored).await?;
            }
            Some(_) => {}
        }
    }
    Ok(Action::await_change())
}

async fn create_if_missing<K>(api: Api<K>, obj: &K) -> Result<(), Error>
where
    K: Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.create(&PostParams::default(), obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        // The namespace is being deleted: nothing to add.
        Err(kube::Error::Api(status)) if status.code == 403 => Ok(()),
        Err(err) => Err(err.into()),
    }
}
