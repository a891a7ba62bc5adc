//! The objects kubectl's typed commands send as protobuf, field by field as Go fills them.

use std::collections::BTreeMap;

use k8s_openapi::api as oa;
use k8s_pb::api::core::v1 as corev1;
use k8s_pb::api::{apps, authentication, authorization, autoscaling, batch, networking, policy, rbac, scheduling};
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use crate::{assert_json, decode_as, go_meta, s};

fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn int(value: i32) -> Option<IntOrString> {
    Some(IntOrString { r#type: Some(0), int_val: Some(value), str_val: s("") })
}

fn string(value: &str) -> Option<IntOrString> {
    Some(IntOrString { r#type: Some(1), int_val: Some(0), str_val: s(value) })
}

fn quantity(value: &str) -> Quantity {
    Quantity { string: s(value) }
}

fn labels(app: &str) -> Option<meta::LabelSelector> {
    Some(meta::LabelSelector { match_labels: map(&[("app", app)]), match_expressions: vec![] })
}

#[test]
fn configmap_with_data_and_binary_data() {
    let cm = corev1::ConfigMap {
        metadata: Some(go_meta("settings", "default")),
        data: map(&[("mode", "fast"), ("empty", "")]),
        binary_data: [("blob".to_string(), vec![0u8, 1, 2, 0xff])].into(),
        immutable: None,
    };
    let value = decode_as::<oa::core::v1::ConfigMap>("v1", "ConfigMap", &cm);
    assert_json(
        &value,
        &json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "default"},
            "data": {"mode": "fast", "empty": ""},
            "binaryData": {"blob": "AAEC/w=="},
        }),
    );
}

#[test]
fn secrets_generic_tls_and_docker_registry() {
    for (ty, keys) in [
        ("Opaque", &["password"][..]),
        ("kubernetes.io/tls", &["tls.crt", "tls.key"][..]),
        ("kubernetes.io/dockerconfigjson", &[".dockerconfigjson"][..]),
    ] {
        let secret = corev1::Secret {
            metadata: Some(go_meta("creds", "")),
            data: keys.iter().map(|k| (k.to_string(), b"s3cr3t".to_vec())).collect(),
            r#type: s(ty),
            string_data: BTreeMap::new(),
            immutable: None,
        };
        let value = decode_as::<oa::core::v1::Secret>("v1", "Secret", &secret);
        let data: serde_json::Map<_, _> = keys.iter().map(|k| (k.to_string(), json!("czNjcjN0"))).collect();
        assert_json(
            &value,
            &json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "creds"},
                "type": ty,
                "data": data,
            }),
        );
    }
}

fn go_container(name: &str, image: &str) -> corev1::Container {
    corev1::Container {
        name: s(name),
        image: s(image),
        working_dir: s(""),
        resources: Some(corev1::ResourceRequirements::default()),
        termination_message_path: s(""),
        termination_message_policy: s(""),
        image_pull_policy: s(""),
        stdin: Some(false),
        stdin_once: Some(false),
        tty: Some(false),
        ..Default::default()
    }
}

fn go_pod_spec(containers: Vec<corev1::Container>) -> corev1::PodSpec {
    corev1::PodSpec {
        containers,
        restart_policy: s(""),
        dns_policy: s(""),
        service_account_name: s(""),
        service_account: s(""),
        node_name: s(""),
        host_network: Some(false),
        host_pid: Some(false),
        host_ipc: Some(false),
        hostname: s(""),
        subdomain: s(""),
        scheduler_name: s(""),
        priority_class_name: s(""),
        ..Default::default()
    }
}

#[test]
fn deployment_with_a_full_pod_template() {
    let mut container = go_container("web", "nginx:1.27");
    container.ports = vec![corev1::ContainerPort {
        name: s("http"),
        host_port: Some(0),
        container_port: Some(80),
        protocol: s("TCP"),
        host_ip: s(""),
    }];
    container.resources = Some(corev1::ResourceRequirements {
        limits: [("cpu".to_string(), quantity("500m")), ("memory".to_string(), quantity("128Mi"))].into(),
        requests: [("cpu".to_string(), quantity("250m"))].into(),
        claims: vec![],
    });
    container.env = vec![
        corev1::EnvVar { name: s("MODE"), value: s("fast"), value_from: None },
        corev1::EnvVar {
            name: s("LEVEL"),
            value: s(""),
            value_from: Some(corev1::EnvVarSource {
                config_map_key_ref: Some(corev1::ConfigMapKeySelector {
                    local_object_reference: Some(corev1::LocalObjectReference { name: s("settings") }),
                    key: s("level"),
                    optional: Some(false),
                }),
                ..Default::default()
            }),
        },
    ];
    container.volume_mounts = vec![corev1::VolumeMount {
        name: s("config"),
        read_only: Some(false),
        mount_path: s("/etc/web"),
        sub_path: s(""),
        sub_path_expr: s(""),
        ..Default::default()
    }];
    container.readiness_probe = Some(corev1::Probe {
        handler: Some(corev1::ProbeHandler {
            http_get: Some(corev1::HttpGetAction {
                path: s("/healthz"),
                port: string("http"),
                host: s(""),
                scheme: s(""),
                http_headers: vec![],
            }),
            ..Default::default()
        }),
        initial_delay_seconds: Some(5),
        timeout_seconds: Some(0),
        period_seconds: Some(0),
        success_threshold: Some(0),
        failure_threshold: Some(0),
        termination_grace_period_seconds: None,
    });
    let mut pod = go_pod_spec(vec![container]);
    pod.volumes = vec![corev1::Volume {
        name: s("config"),
        volume_source: Some(corev1::VolumeSource {
            config_map: Some(corev1::ConfigMapVolumeSource {
                local_object_reference: Some(corev1::LocalObjectReference { name: s("settings") }),
                items: vec![],
                default_mode: Some(0o644),
                optional: None,
            }),
            ..Default::default()
        }),
    }];
    pod.termination_grace_period_seconds = Some(0);
    let mut template_meta = go_meta("", "");
    template_meta.labels = map(&[("app", "web")]);
    let deployment = apps::v1::Deployment {
        metadata: Some(go_meta("web", "prod")),
        spec: Some(apps::v1::DeploymentSpec {
            replicas: Some(0),
            selector: labels("web"),
            template: Some(corev1::PodTemplateSpec { metadata: Some(template_meta), spec: Some(pod) }),
            strategy: Some(apps::v1::DeploymentStrategy {
                r#type: s("RollingUpdate"),
                rolling_update: Some(apps::v1::RollingUpdateDeployment {
                    max_unavailable: int(0),
                    max_surge: string("25%"),
                }),
            }),
            min_ready_seconds: Some(0),
            revision_history_limit: Some(10),
            paused: Some(false),
            progress_deadline_seconds: None,
        }),
        status: Some(apps::v1::DeploymentStatus {
            observed_generation: Some(0),
            replicas: Some(0),
            updated_replicas: Some(0),
            ready_replicas: Some(0),
            available_replicas: Some(0),
            unavailable_replicas: Some(0),
            ..Default::default()
        }),
    };
    let value = decode_as::<oa::apps::v1::Deployment>("apps/v1", "Deployment", &deployment);
    assert_json(
        &value,
        &json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "prod"},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "volumes": [{"name": "config", "configMap": {"name": "settings", "defaultMode": 420}}],
                        "containers": [{
                            "name": "web",
                            "image": "nginx:1.27",
                            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                            "env": [
                                {"name": "MODE", "value": "fast"},
                                {"name": "LEVEL", "valueFrom": {
                                    "configMapKeyRef": {"name": "settings", "key": "level", "optional": false},
                                }},
                            ],
                            "resources": {
                                "limits": {"cpu": "500m", "memory": "128Mi"},
                                "requests": {"cpu": "250m"},
                            },
                            "volumeMounts": [{"name": "config", "mountPath": "/etc/web"}],
                            "readinessProbe": {
                                "httpGet": {"path": "/healthz", "port": "http"},
                                "initialDelaySeconds": 5,
                            },
                        }],
                        "terminationGracePeriodSeconds": 0,
                    },
                },
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
                "revisionHistoryLimit": 10,
            },
            "status": {},
        }),
    );
}

#[test]
fn services_clusterip_and_nodeport() {
    for (ty, node_port) in [("ClusterIP", 0), ("NodePort", 30080)] {
        let service = corev1::Service {
            metadata: Some(go_meta("web", "")),
            spec: Some(corev1::ServiceSpec {
                ports: vec![corev1::ServicePort {
                    name: s("80-8080"),
                    protocol: s("TCP"),
                    port: Some(80),
                    target_port: int(8080),
                    node_port: Some(node_port),
                    app_protocol: None,
                }],
                selector: map(&[("app", "web")]),
                cluster_ip: s(""),
                r#type: s(ty),
                session_affinity: s(""),
                load_balancer_ip: s(""),
                external_name: s(""),
                external_traffic_policy: s(""),
                health_check_node_port: Some(0),
                publish_not_ready_addresses: Some(false),
                ..Default::default()
            }),
            status: Some(corev1::ServiceStatus {
                load_balancer: Some(corev1::LoadBalancerStatus::default()),
                conditions: vec![],
            }),
        };
        let value = decode_as::<oa::core::v1::Service>("v1", "Service", &service);
        let mut port = json!({"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080});
        if node_port != 0 {
            port["nodePort"] = json!(node_port);
        }
        assert_json(
            &value,
            &json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web"},
                "spec": {"ports": [port], "selector": {"app": "web"}, "type": ty},
                "status": {"loadBalancer": {}},
            }),
        );
    }
}

fn job_spec() -> batch::v1::JobSpec {
    let mut pod = go_pod_spec(vec![go_container("job", "busybox")]);
    pod.restart_policy = s("Never");
    batch::v1::JobSpec {
        backoff_limit: Some(0),
        template: Some(corev1::PodTemplateSpec { metadata: Some(go_meta("", "")), spec: Some(pod) }),
        ..Default::default()
    }
}

fn job_spec_json() -> serde_json::Value {
    json!({
        "backoffLimit": 0,
        "template": {
            "metadata": {},
            "spec": {
                "containers": [{"name": "job", "image": "busybox", "resources": {}}],
                "restartPolicy": "Never",
            },
        },
    })
}

#[test]
fn job_and_cronjob() {
    let job = batch::v1::Job {
        metadata: Some(go_meta("once", "")),
        spec: Some(job_spec()),
        status: Some(batch::v1::JobStatus {
            active: Some(0),
            succeeded: Some(0),
            failed: Some(0),
            ..Default::default()
        }),
    };
    let value = decode_as::<oa::batch::v1::Job>("batch/v1", "Job", &job);
    assert_json(
        &value,
        &json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "once"},
            "spec": job_spec_json(),
            "status": {},
        }),
    );

    let cronjob = batch::v1::CronJob {
        metadata: Some(go_meta("nightly", "")),
        spec: Some(batch::v1::CronJobSpec {
            schedule: s("0 3 * * *"),
            time_zone: None,
            starting_deadline_seconds: None,
            concurrency_policy: s(""),
            suspend: Some(false),
            job_template: Some(batch::v1::JobTemplateSpec {
                metadata: Some(go_meta("nightly", "")),
                spec: Some(job_spec()),
            }),
            successful_jobs_history_limit: None,
            failed_jobs_history_limit: Some(0),
        }),
        status: Some(batch::v1::CronJobStatus::default()),
    };
    let value = decode_as::<oa::batch::v1::CronJob>("batch/v1", "CronJob", &cronjob);
    assert_json(
        &value,
        &json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly"},
            "spec": {
                "schedule": "0 3 * * *",
                "suspend": false,
                "jobTemplate": {"metadata": {"name": "nightly"}, "spec": job_spec_json()},
                "failedJobsHistoryLimit": 0,
            },
            "status": {},
        }),
    );
}

#[test]
fn namespace_and_serviceaccount_and_quota() {
    let ns = corev1::Namespace {
        metadata: Some(go_meta("team-a", "")),
        spec: Some(corev1::NamespaceSpec::default()),
        status: Some(corev1::NamespaceStatus { phase: s(""), conditions: vec![] }),
    };
    let value = decode_as::<oa::core::v1::Namespace>("v1", "Namespace", &ns);
    assert_json(
        &value,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"},
                "spec": {}, "status": {}}),
    );

    let sa = corev1::ServiceAccount { metadata: Some(go_meta("robot", "")), ..Default::default() };
    let value = decode_as::<oa::core::v1::ServiceAccount>("v1", "ServiceAccount", &sa);
    assert_json(&value, &json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}}));

    let quota = corev1::ResourceQuota {
        metadata: Some(go_meta("compute", "")),
        spec: Some(corev1::ResourceQuotaSpec {
            hard: [("pods".to_string(), quantity("10")), ("requests.cpu".to_string(), quantity("2"))].into(),
            scopes: vec!["NotTerminating".into()],
            scope_selector: None,
        }),
        status: Some(corev1::ResourceQuotaStatus::default()),
    };
    let value = decode_as::<oa::core::v1::ResourceQuota>("v1", "ResourceQuota", &quota);
    assert_json(
        &value,
        &json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute"},
                "spec": {"hard": {"pods": "10", "requests.cpu": "2"}, "scopes": ["NotTerminating"]}, "status": {}}),
    );
}

#[test]
fn rbac_roles_and_bindings() {
    let rule = rbac::v1::PolicyRule {
        verbs: vec!["get".into(), "list".into()],
        api_groups: vec!["".into()],
        resources: vec!["pods".into()],
        resource_names: vec![],
        non_resource_ur_ls: vec![],
    };
    let role = rbac::v1::Role { metadata: Some(go_meta("reader", "")), rules: vec![rule.clone()] };
    let value = decode_as::<oa::rbac::v1::Role>("rbac.authorization.k8s.io/v1", "Role", &role);
    let rule_json = json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]});
    assert_json(
        &value,
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "reader"}, "rules": [rule_json]}),
    );

    let cluster_role =
        rbac::v1::ClusterRole { metadata: Some(go_meta("reader", "")), rules: vec![rule], aggregation_rule: None };
    decode_as::<oa::rbac::v1::ClusterRole>("rbac.authorization.k8s.io/v1", "ClusterRole", &cluster_role);

    let binding = rbac::v1::RoleBinding {
        metadata: Some(go_meta("read-pods", "")),
        subjects: vec![rbac::v1::Subject { kind: s("User"), api_group: s(""), name: s("jane"), namespace: s("") }],
        role_ref: Some(rbac::v1::RoleRef { api_group: s(""), kind: s("Role"), name: s("reader") }),
    };
    let value = decode_as::<oa::rbac::v1::RoleBinding>("rbac.authorization.k8s.io/v1", "RoleBinding", &binding);
    // roleRef.apiGroup has no omitempty in Go (it is required), so its empty value stays.
    assert_json(
        &value,
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "read-pods"},
                "subjects": [{"kind": "User", "name": "jane"}],
                "roleRef": {"apiGroup": "", "kind": "Role", "name": "reader"}}),
    );
    let cluster_binding = rbac::v1::ClusterRoleBinding {
        metadata: binding.metadata.clone(),
        subjects: binding.subjects.clone(),
        role_ref: binding.role_ref.clone(),
    };
    decode_as::<oa::rbac::v1::ClusterRoleBinding>(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        &cluster_binding,
    );
}

#[test]
fn pdb_priorityclass_ingress() {
    let pdb = policy::v1::PodDisruptionBudget {
        metadata: Some(go_meta("web", "")),
        spec: Some(policy::v1::PodDisruptionBudgetSpec {
            min_available: string("50%"),
            selector: labels("web"),
            ..Default::default()
        }),
        status: Some(policy::v1::PodDisruptionBudgetStatus {
            observed_generation: Some(0),
            disruptions_allowed: Some(0),
            current_healthy: Some(0),
            desired_healthy: Some(0),
            expected_pods: Some(0),
            ..Default::default()
        }),
    };
    let value = decode_as::<oa::policy::v1::PodDisruptionBudget>("policy/v1", "PodDisruptionBudget", &pdb);
    // The four status counters have no omitempty in Go: they stay, as in Go's JSON.
    assert_json(
        &value["status"],
        &json!({"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}),
    );
    assert_json(&value["spec"], &json!({"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}));

    let pc = scheduling::v1::PriorityClass {
        metadata: Some(go_meta("high", "")),
        value: Some(1000),
        global_default: Some(false),
        description: s("important"),
        preemption_policy: s("Never"),
    };
    let value = decode_as::<oa::scheduling::v1::PriorityClass>("scheduling.k8s.io/v1", "PriorityClass", &pc);
    assert_json(
        &value,
        &json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": "high"},
                "value": 1000, "description": "important", "preemptionPolicy": "Never"}),
    );

    let backend = |port: networking::v1::ServiceBackendPort| networking::v1::IngressBackend {
        service: Some(networking::v1::IngressServiceBackend { name: s("web"), port: Some(port) }),
        resource: None,
    };
    let ingress = networking::v1::Ingress {
        metadata: Some(go_meta("web", "")),
        spec: Some(networking::v1::IngressSpec {
            ingress_class_name: s("nginx"),
            default_backend: None,
            tls: vec![],
            rules: vec![networking::v1::IngressRule {
                host: s("example.com"),
                ingress_rule_value: Some(networking::v1::IngressRuleValue {
                    http: Some(networking::v1::HttpIngressRuleValue {
                        paths: vec![
                            networking::v1::HttpIngressPath {
                                path: s("/"),
                                path_type: s("Prefix"),
                                backend: Some(backend(networking::v1::ServiceBackendPort {
                                    name: s(""),
                                    number: Some(80),
                                })),
                            },
                            networking::v1::HttpIngressPath {
                                path: s("/api"),
                                path_type: s("Exact"),
                                backend: Some(backend(networking::v1::ServiceBackendPort {
                                    name: s("http"),
                                    number: Some(0),
                                })),
                            },
                        ],
                    }),
                }),
            }],
        }),
        status: Some(networking::v1::IngressStatus::default()),
    };
    let value = decode_as::<oa::networking::v1::Ingress>("networking.k8s.io/v1", "Ingress", &ingress);
    assert_json(
        &value["spec"],
        &json!({
            "ingressClassName": "nginx",
            "rules": [{"host": "example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                {"path": "/api", "pathType": "Exact", "backend": {"service": {"name": "web", "port": {"name": "http"}}}},
            ]}}],
        }),
    );
}

#[test]
fn auth_can_i_and_whoami() {
    let review = authorization::v1::SelfSubjectAccessReview {
        metadata: Some(go_meta("", "")),
        spec: Some(authorization::v1::SelfSubjectAccessReviewSpec {
            resource_attributes: Some(authorization::v1::ResourceAttributes {
                namespace: s("default"),
                verb: s("create"),
                group: s(""),
                version: s(""),
                resource: s("pods"),
                subresource: s(""),
                name: s(""),
                field_selector: None,
                label_selector: None,
            }),
            non_resource_attributes: None,
        }),
        status: Some(authorization::v1::SubjectAccessReviewStatus {
            allowed: Some(false),
            denied: Some(false),
            reason: s(""),
            evaluation_error: s(""),
        }),
    };
    let value = decode_as::<oa::authorization::v1::SelfSubjectAccessReview>(
        "authorization.k8s.io/v1",
        "SelfSubjectAccessReview",
        &review,
    );
    assert_json(
        &value,
        &json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "metadata": {},
            "spec": {"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}},
            "status": {"allowed": false},
        }),
    );

    let whoami = authentication::v1::SelfSubjectReview {
        metadata: Some(go_meta("", "")),
        status: Some(authentication::v1::SelfSubjectReviewStatus { user_info: None }),
    };
    let value = decode_as::<oa::authentication::v1::SelfSubjectReview>(
        "authentication.k8s.io/v1",
        "SelfSubjectReview",
        &whoami,
    );
    assert_json(
        &value,
        &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
                "metadata": {}, "status": {}}),
    );
}

#[test]
fn drain_eviction_with_delete_options() {
    let eviction = policy::v1::Eviction {
        metadata: Some(go_meta("web-1", "prod")),
        delete_options: Some(meta::DeleteOptions {
            grace_period_seconds: Some(0),
            preconditions: None,
            orphan_dependents: None,
            propagation_policy: None,
            dry_run: vec![],
            ignore_store_read_error_with_cluster_breaking_potential: None,
        }),
    };
    let value = decode_as::<oa::policy::v1::Eviction>("policy/v1", "Eviction", &eviction);
    assert_json(
        &value,
        &json!({"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": "web-1", "namespace": "prod"},
                "deleteOptions": {"gracePeriodSeconds": 0}}),
    );

    // A typed client's bare DeleteOptions carries the group version of the resource it deletes.
    let options =
        meta::DeleteOptions { propagation_policy: s("Foreground"), dry_run: vec!["All".into()], ..Default::default() };
    let value = decode_as::<k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions>(
        "apps/v1",
        "DeleteOptions",
        &options,
    );
    assert_json(
        &value,
        &json!({"apiVersion": "apps/v1", "kind": "DeleteOptions", "propagationPolicy": "Foreground", "dryRun": ["All"]}),
    );
}

#[test]
fn autoscale_hpa_v2() {
    let hpa = autoscaling::v2::HorizontalPodAutoscaler {
        metadata: Some(go_meta("web", "")),
        spec: Some(autoscaling::v2::HorizontalPodAutoscalerSpec {
            scale_target_ref: Some(autoscaling::v2::CrossVersionObjectReference {
                kind: s("Deployment"),
                name: s("web"),
                api_version: s("apps/v1"),
            }),
            min_replicas: Some(1),
            max_replicas: Some(5),
            metrics: vec![autoscaling::v2::MetricSpec {
                r#type: s("Resource"),
                resource: Some(autoscaling::v2::ResourceMetricSource {
                    name: s("cpu"),
                    target: Some(autoscaling::v2::MetricTarget {
                        r#type: s("Utilization"),
                        value: None,
                        average_value: None,
                        average_utilization: Some(80),
                    }),
                }),
                ..Default::default()
            }],
            behavior: None,
        }),
        status: Some(autoscaling::v2::HorizontalPodAutoscalerStatus {
            current_replicas: Some(0),
            desired_replicas: Some(0),
            ..Default::default()
        }),
    };
    let value =
        decode_as::<oa::autoscaling::v2::HorizontalPodAutoscaler>("autoscaling/v2", "HorizontalPodAutoscaler", &hpa);
    assert_json(
        &value,
        &json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {
                "scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                "minReplicas": 1,
                "maxReplicas": 5,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80}}}],
            },
            "status": {"desiredReplicas": 0},
        }),
    );
}
