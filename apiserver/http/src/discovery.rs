//! Discovery documents, derived from the served resources only (never a second list): the
//! aggregated v2 form kubectl asks for first, and the legacy per-group-version documents.

use apiserver_machinery::resources::{GROUP_ORDER, ResourceInfo, Verb};
use serde_json::{Value, json};

/// Content type of an aggregated discovery response.
pub const AGGREGATED_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether an `Accept` header asks for aggregated discovery v2.
pub fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        params.contains(&"g=apidiscovery.k8s.io")
            && params.contains(&"v=v2")
            && params.contains(&"as=APIGroupDiscoveryList")
    })
}

/// Subresources the API serves so far; discovery advertises no others.
const SERVED_SUBRESOURCES: &[&str] = &["status", "scale", "binding", "eviction"];

/// The served resources, as discovery sees them.
#[derive(Debug, Clone)]
pub struct Discovery {
    served: Vec<&'static ResourceInfo>,
}

fn verbs(verbs: &[Verb]) -> Vec<&'static str> {
    verbs.iter().map(|v| v.as_str()).collect()
}

impl Discovery {
    /// Discovery over these resources.
    pub fn new(served: Vec<&'static ResourceInfo>) -> Self {
        Self { served }
    }

    /// Named groups in discovery order (core excluded); groups outside the built-in order
    /// (`metrics.k8s.io`, served as upstream serves an aggregated API) come last, as served.
    fn groups(&self) -> Vec<&'static str> {
        let mut groups: Vec<&'static str> = Vec::new();
        for group in GROUP_ORDER.iter().copied().filter(|g| !g.is_empty()) {
            if self.served.iter().any(|r| r.group == group) {
                groups.push(group);
            }
        }
        for r in &self.served {
            if !r.group.is_empty() && !groups.contains(&r.group) {
                groups.push(r.group);
            }
        }
        groups
    }

    /// Versions of a group, preferred first.
    fn versions(&self, group: &str) -> Vec<&'static str> {
        let mut versions: Vec<&'static str> = Vec::new();
        for r in self.served.iter().filter(|r| r.group == group) {
            if !versions.contains(&r.version) {
                versions.push(r.version);
            }
        }
        versions
    }

    fn in_version<'a>(&'a self, group: &'a str, version: &'a str) -> impl Iterator<Item = &'static ResourceInfo> + 'a {
        self.served.iter().copied().filter(move |r| r.group == group && r.version == version)
    }

    /// `GET /api` (legacy).
    pub fn api_versions(&self, server_address: &str) -> Value {
        json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        })
    }

    fn api_group(&self, group: &str) -> Value {
        let versions: Vec<Value> = self
            .versions(group)
            .into_iter()
            .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
            .collect();
        json!({"name": group, "versions": versions, "preferredVersion": versions.first().cloned().unwrap_or(Value::Null)})
    }

    /// `GET /apis` (legacy).
    pub fn api_group_list(&self) -> Value {
        let groups: Vec<Value> = self.groups().into_iter().map(|g| self.api_group(g)).collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    /// `GET /apis/<group>` (legacy), if served.
    pub fn group(&self, group: &str) -> Option<Value> {
        if self.versions(group).is_empty() {
            return None;
        }
        let mut doc = self.api_group(group);
        doc["kind"] = json!("APIGroup");
        doc["apiVersion"] = json!("v1");
        Some(doc)
    }

    /// `GET /api/v1` or `/apis/<group>/<version>` (legacy), if served.
    pub fn resource_list(&self, group: &str, version: &str) -> Option<Value> {
        let mut resources = Vec::new();
        for r in self.in_version(group, version) {
            resources.push(json!({
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": verbs(r.verbs),
                "shortNames": r.short_names,
                "categories": r.categories,
            }));
            for s in r.subresources.iter().filter(|s| SERVED_SUBRESOURCES.contains(&s.name)) {
                let mut sub = json!({
                    "name": format!("{}/{}", r.plural, s.name),
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": s.kind,
                    "verbs": verbs(s.verbs),
                });
                if (s.group, s.version) != (r.group, r.version) {
                    sub["group"] = json!(s.group);
                    sub["version"] = json!(s.version);
                }
                resources.push(sub);
            }
        }
        if resources.is_empty() {
            return None;
        }
        let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
        Some(
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
        )
    }

    fn aggregated_group(&self, group: &str) -> Value {
        let versions: Vec<Value> = self
            .versions(group)
            .into_iter()
            .map(|version| {
                let resources: Vec<Value> = self
                    .in_version(group, version)
                    .map(|r| {
                        let subresources: Vec<Value> = r
                            .subresources
                            .iter()
                            .filter(|s| SERVED_SUBRESOURCES.contains(&s.name))
                            .map(|s| {
                                json!({
                                    "subresource": s.name,
                                    "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
                                    "verbs": verbs(s.verbs),
                                })
                            })
                            .collect();
                        json!({
                            "resource": r.plural,
                            "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                            "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                            "singularResource": r.singular,
                            "verbs": verbs(r.verbs),
                            "shortNames": r.short_names,
                            "categories": r.categories,
                            "subresources": subresources,
                        })
                    })
                    .collect();
                json!({"version": version, "resources": resources, "freshness": "Current"})
            })
            .collect();
        json!({"metadata": {"name": group, "creationTimestamp": null}, "versions": versions})
    }

    /// Aggregated `GET /api` (`core = true`) or `GET /apis`.
    pub fn aggregated(&self, core: bool) -> Value {
        let items: Vec<Value> = if core {
            vec![self.aggregated_group("")]
        } else {
            self.groups().into_iter().map(|g| self.aggregated_group(g)).collect()
        };
        json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
    }
}

#[cfg(test)]
mod tests {
    use apiserver_machinery::resources::find;

    use super::*;

    fn discovery() -> Discovery {
        Discovery::new(vec![
            find("", "v1", "namespaces").unwrap(),
            find("", "v1", "configmaps").unwrap(),
            find("apps", "v1", "deployments").unwrap(),
        ])
    }

    #[test]
    fn aggregated_accept_header() {
        assert!(wants_aggregated(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
        ));
        assert!(!wants_aggregated("application/json, */*"));
    }

    #[test]
    fn legacy_documents_list_only_what_is_served() {
        let d = discovery();
        let groups = d.api_group_list();
        assert_eq!(groups["groups"].as_array().unwrap().len(), 1);
        assert_eq!(groups["groups"][0]["preferredVersion"]["groupVersion"], "apps/v1");
        let core = d.resource_list("", "v1").unwrap();
        let names: Vec<&str> =
            core["resources"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["namespaces", "namespaces/status", "configmaps"]);
        let apps = d.resource_list("apps", "v1").unwrap();
        let subs: Vec<&str> =
            apps["resources"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(subs, ["deployments", "deployments/scale", "deployments/status"]);
        let scale = apps["resources"].as_array().unwrap().iter().find(|r| r["name"] == "deployments/scale").unwrap();
        assert_eq!((scale["group"].clone(), scale["kind"].clone()), (json!("autoscaling"), json!("Scale")));
        assert!(d.resource_list("batch", "v1").is_none());
        // Groups outside the built-in order come last.
        let mut served = d.served.clone();
        served.extend(crate::resource_metrics::RESOURCES.iter());
        let with_metrics = Discovery::new(served);
        let names: Vec<Value> =
            with_metrics.api_group_list()["groups"].as_array().unwrap().iter().map(|g| g["name"].clone()).collect();
        assert_eq!(names, [json!("apps"), json!("metrics.k8s.io")]);
        let metrics = with_metrics.resource_list("metrics.k8s.io", "v1beta1").unwrap();
        assert_eq!(metrics["resources"][1]["verbs"], json!(["delete", "get", "list", "update"]));
        assert_eq!(with_metrics.aggregated(false)["items"][1]["versions"][0]["resources"][1]["scope"], "Namespaced");
        assert!(d.group("batch").is_none());
    }

    #[test]
    fn aggregated_documents() {
        let d = discovery();
        let core = d.aggregated(true);
        assert_eq!(core["items"][0]["metadata"]["name"], "");
        let ns = &core["items"][0]["versions"][0]["resources"][0];
        assert_eq!((ns["resource"].clone(), ns["scope"].clone()), (json!("namespaces"), json!("Cluster")));
        let apps = d.aggregated(false);
        let deploy = &apps["items"][0]["versions"][0]["resources"][0];
        assert_eq!(deploy["subresources"][0]["responseKind"]["group"], "autoscaling");
        assert_eq!(deploy["shortNames"], json!(["deploy"]));
    }
}
