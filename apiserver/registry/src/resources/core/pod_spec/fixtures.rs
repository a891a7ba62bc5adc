//! Specs the tests start from, as they look after defaulting: a plain nginx pod, and a pod with
//! every commonly used field set correctly (so valid input is known not to be rejected).

use apiserver_machinery::field::FieldErrors;
use serde_json::{Value, json};

/// A realistic nginx pod: a port, a probe, resources, and a ConfigMap mounted as its site.
pub(super) fn nginx_pod_spec() -> Value {
    json!({
        "containers": [{
            "name": "nginx",
            "image": "nginx:1.27",
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5},
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
            "volumeMounts": [{"name": "html", "mountPath": "/usr/share/nginx/html", "readOnly": true}],
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }],
        "volumes": [{"name": "html", "configMap": {"name": "site", "defaultMode": 420}}],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler",
        "securityContext": {},
    })
}

/// A pod using every common field, each correctly.
pub(super) fn full_pod_spec() -> Value {
    let container = |name: &str, image: &str| {
        json!({"name": name, "image": image, "imagePullPolicy": "Always",
               "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "FallbackToLogsOnError",
               "resources": {}})
    };
    let mut app = container("app", "registry.example.com/team/app:v2.3.1");
    let app_fields = json!({
        "command": ["/app"], "args": ["--port=8080"], "workingDir": "/srv",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
                  {"name": "dns", "containerPort": 5353, "protocol": "UDP", "hostPort": 5353, "hostIP": "0.0.0.0"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "MEMORY_LIMIT", "valueFrom": {"resourceFieldRef": {"containerName": "app", "resource": "limits.memory", "divisor": "1Mi"}}},
                {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-credentials", "key": "password"}}},
                {"name": "FEATURES", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "features.json"}}}],
        "envFrom": [{"configMapRef": {"name": "app-config"}}, {"prefix": "DB_", "secretRef": {"name": "db-credentials", "optional": true}}],
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "1Gi"},
                      "limits": {"cpu": "1", "memory": "512Mi", "example.com/gpu": "1"}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": true},
                         {"name": "data", "mountPath": "/var/lib/app", "subPath": "app"},
                         {"name": "cache", "mountPath": "/cache", "mountPropagation": "None"},
                         {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP",
                                      "httpHeaders": [{"name": "X-Probe", "value": "liveness"}]},
                          "initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 1,
                          "successThreshold": 1, "failureThreshold": 3, "terminationGracePeriodSeconds": 10},
        "readinessProbe": {"tcpSocket": {"port": "http"}, "successThreshold": 2},
        "startupProbe": {"grpc": {"port": 9090}, "failureThreshold": 30},
        "lifecycle": {"postStart": {"exec": {"command": ["/bin/sh", "-c", "echo started"]}},
                      "preStop": {"sleep": {"seconds": 5}}},
        "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": true,
                            "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                            "seccompProfile": {"type": "RuntimeDefault"}, "appArmorProfile": {"type": "RuntimeDefault"}},
        "stdin": false, "tty": false,
    });
    for (key, value) in app_fields.as_object().unwrap() {
        app[key] = value.clone();
    }
    let mut migrate = container("migrate", "registry.example.com/team/app:v2.3.1");
    migrate["command"] = json!(["/app", "migrate"]);
    migrate["volumeMounts"] = json!([{"name": "config", "mountPath": "/etc/app"}]);
    let mut proxy = container("proxy", "envoyproxy/envoy:v1.31");
    proxy["restartPolicy"] = json!("Always");
    proxy["ports"] = json!([{"containerPort": 15001, "protocol": "TCP"}]);
    proxy["readinessProbe"] = json!({"httpGet": {"path": "/ready", "port": 15021}});
    json!({
        "initContainers": [migrate, proxy],
        "containers": [app],
        "volumes": [
            {"name": "config", "configMap": {"name": "app-config", "items": [{"key": "app.yaml", "path": "app.yaml", "mode": 0o644}]}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "app-data"}},
            {"name": "cache", "emptyDir": {"sizeLimit": "500Mi"}},
            {"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}},
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 45,
        "activeDeadlineSeconds": 3600,
        "dnsPolicy": "None",
        "dnsConfig": {"nameservers": ["10.96.0.10", "fd00::10"], "searches": ["default.svc.cluster.local", "svc.cluster.local."],
                      "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]},
        "nodeSelector": {"kubernetes.io/os": "linux", "node.example.com/pool": "general"},
        "serviceAccountName": "app",
        "automountServiceAccountToken": true,
        "nodeName": "node-1.example.com",
        "hostname": "app-0",
        "subdomain": "app-headless",
        "schedulerName": "default-scheduler",
        "priorityClassName": "high-priority",
        "priority": 1000,
        "preemptionPolicy": "PreemptLowerPriority",
        "runtimeClassName": "runc",
        "enableServiceLinks": false,
        "shareProcessNamespace": true,
        "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000, "supplementalGroups": [4000],
                            "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"},
                            "sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65535"}]},
        "imagePullSecrets": [{"name": "registry-credentials"}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]},
                                          {"key": "node.example.com/cores", "operator": "Gt", "values": ["4"]}]}]},
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 50, "preference": {"matchExpressions": [{"key": "disktype", "operator": "In", "values": ["ssd"]}]}}]},
            "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "cache"}},
                                                   "topologyKey": "topology.kubernetes.io/zone", "namespaces": ["cache"]}}]},
            "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["app"]}]},
                 "topologyKey": "kubernetes.io/hostname", "matchLabelKeys": ["pod-template-hash"]}]},
        },
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "dedicated", "operator": "Equal", "value": "app", "effect": "NoSchedule"},
        ],
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                       "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "app"}}}],
        "hostAliases": [{"ip": "10.1.2.3", "hostnames": ["db.internal", "cache.internal"]}],
        "readinessGates": [{"conditionType": "example.com/load-balancer-ready"}],
        "overhead": {"cpu": "100m", "memory": "32Mi"},
        "os": {"name": "linux"},
    })
}

/// Asserts the errors, each as `field: message`, in order.
#[track_caller]
pub(super) fn assert_errors(errors: FieldErrors, expected: &[&str]) {
    let actual: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(actual, expected, "\nactual errors:\n{}", actual.join("\n"));
}
