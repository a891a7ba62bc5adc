//! Types whose JSON form is their own: times, raw JSON, string-list wrappers, schema unions;
//! and wire-level rules: unknown fields, packed scalars, merged message occurrences.

use k8s_openapi::api as oa;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as oa_ext;
use k8s_pb::api::core::v1 as corev1;
use k8s_pb::api::{apps, authorization, coordination};
use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::RawExtension;
use prost::Message;
use serde_json::json;

use apiserver_protobuf::decode;

use crate::{assert_json, body, body_raw, decode_as, go_meta, s};

#[test]
fn times_and_managed_fields() {
    let mut metadata = go_meta("settings", "");
    metadata.creation_timestamp = Some(meta::Time { seconds: Some(1_700_000_000), nanos: Some(999) });
    metadata.deletion_timestamp = Some(meta::Time { seconds: Some(1_700_000_060), nanos: None });
    metadata.managed_fields = vec![meta::ManagedFieldsEntry {
        manager: s("kubectl-create"),
        operation: s("Update"),
        api_version: s("v1"),
        time: Some(meta::Time { seconds: Some(0), nanos: None }),
        fields_type: s("FieldsV1"),
        fields_v1: Some(meta::FieldsV1 { raw: Some(br#"{"f:data":{".":{},"f:mode":{}}}"#.to_vec()) }),
        subresource: s(""),
    }];
    // A set but zero pointer Time is `null` in Go's JSON; only creationTimestamp is `omitzero`.
    metadata.managed_fields.push(meta::ManagedFieldsEntry {
        manager: s("other"),
        time: Some(meta::Time::default()),
        ..Default::default()
    });
    let cm = corev1::ConfigMap { metadata: Some(metadata), ..Default::default() };
    let value = decode_as::<oa::core::v1::ConfigMap>("v1", "ConfigMap", &cm);
    assert_json(
        &value["metadata"],
        &json!({
            "name": "settings",
            // Time's JSON has whole seconds only, like Go's.
            "creationTimestamp": "2023-11-14T22:13:20Z",
            "deletionTimestamp": "2023-11-14T22:14:20Z",
            "managedFields": [{
                "manager": "kubectl-create",
                "operation": "Update",
                "apiVersion": "v1",
                "time": "1970-01-01T00:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {".": {}, "f:mode": {}}},
            }, {"manager": "other", "time": null}],
        }),
    );
}

#[test]
fn micro_time_and_pointer_strings() {
    let lease = coordination::v1::Lease {
        metadata: Some(go_meta("node-1", "kube-node-lease")),
        spec: Some(coordination::v1::LeaseSpec {
            holder_identity: s(""),
            lease_duration_seconds: Some(40),
            acquire_time: Some(meta::MicroTime { seconds: Some(1_700_000_000), nanos: Some(123_456_789) }),
            renew_time: Some(meta::MicroTime { seconds: Some(1_700_000_000), nanos: Some(-1_500) }),
            lease_transitions: Some(0),
            strategy: None,
            preferred_holder: None,
        }),
    };
    let value = decode_as::<oa::coordination::v1::Lease>("coordination.k8s.io/v1", "Lease", &lease);
    assert_json(
        &value["spec"],
        &json!({
            // A *string: the explicit empty holder is kept, as Go's JSON keeps it.
            "holderIdentity": "",
            "leaseDurationSeconds": 40,
            "acquireTime": "2023-11-14T22:13:20.123456Z",
            "renewTime": "2023-11-14T22:13:19.999999Z",
            "leaseTransitions": 0,
        }),
    );
}

#[test]
fn raw_extension_holds_json_or_an_enveloped_object() {
    let revision = apps::v1::ControllerRevision {
        metadata: Some(go_meta("web-1", "")),
        data: Some(RawExtension { raw: Some(br#"{"spec":{"template":{"x":[1,2.5,"y"]}}}"#.to_vec()) }),
        revision: Some(3),
    };
    let value = decode_as::<oa::apps::v1::ControllerRevision>("apps/v1", "ControllerRevision", &revision);
    assert_json(&value["data"], &json!({"spec": {"template": {"x": [1, 2.5, "y"]}}}));
    assert_eq!(value["revision"], json!(3));

    // A nested protobuf object (as in protobuf watch events) is decoded with its own envelope.
    let inner = corev1::ConfigMap { metadata: Some(go_meta("inner", "")), ..Default::default() };
    let nested = apps::v1::ControllerRevision {
        metadata: Some(go_meta("web-2", "")),
        data: Some(RawExtension { raw: Some(body("v1", "ConfigMap", &inner)) }),
        revision: Some(4),
    };
    let value = decode_as::<oa::apps::v1::ControllerRevision>("apps/v1", "ControllerRevision", &nested);
    assert_json(&value["data"], &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inner"}}));

    let broken =
        apps::v1::ControllerRevision { data: Some(RawExtension { raw: Some(b"{not json".to_vec()) }), ..nested };
    assert!(decode(&body("apps/v1", "ControllerRevision", &broken)).is_err());
}

#[test]
fn extra_values_and_verbs_are_bare_arrays() {
    let review = authorization::v1::SubjectAccessReview {
        metadata: Some(go_meta("", "")),
        spec: Some(authorization::v1::SubjectAccessReviewSpec {
            resource_attributes: None,
            non_resource_attributes: Some(authorization::v1::NonResourceAttributes {
                path: s("/healthz"),
                verb: s("get"),
            }),
            user: s("jane"),
            groups: vec!["devs".into()],
            extra: [("scopes".to_string(), authorization::v1::ExtraValue { items: vec!["a".into(), "b".into()] })]
                .into(),
            uid: s(""),
        }),
        status: None,
    };
    let value = decode_as::<oa::authorization::v1::SubjectAccessReview>(
        "authorization.k8s.io/v1",
        "SubjectAccessReview",
        &review,
    );
    assert_json(
        &value["spec"],
        &json!({"nonResourceAttributes": {"path": "/healthz", "verb": "get"}, "user": "jane", "groups": ["devs"],
                "extra": {"scopes": ["a", "b"]}}),
    );

    let list = meta::APIResourceList {
        group_version: s("v1"),
        resources: vec![meta::APIResource {
            name: s("pods"),
            singular_name: s("pod"),
            namespaced: Some(true),
            kind: s("Pod"),
            verbs: Some(meta::Verbs { items: vec!["get".into(), "list".into()] }),
            short_names: vec!["po".into()],
            ..Default::default()
        }],
    };
    let value =
        decode_as::<k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList>("v1", "APIResourceList", &list)
            .get("resources")
            .cloned()
            .unwrap_or_default();
    assert_json(
        &value,
        &json!([{"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod", "verbs": ["get", "list"],
                 "shortNames": ["po"]}]),
    );
}

#[test]
fn crd_schema_unions_and_json_names() {
    let string_prop = ext::JsonSchemaProps { r#type: s("string"), ..Default::default() };
    let schema = ext::JsonSchemaProps {
        r#type: s("object"),
        properties: [
            ("name".to_string(), string_prop.clone()),
            (
                "tags".to_string(),
                ext::JsonSchemaProps {
                    r#type: s("array"),
                    items: Some(Box::new(ext::JsonSchemaPropsOrArray {
                        schema: Some(Box::new(string_prop.clone())),
                        j_son_schemas: vec![],
                    })),
                    ..Default::default()
                },
            ),
            (
                "mode".to_string(),
                ext::JsonSchemaProps {
                    r#type: s("string"),
                    default: Some(ext::Json { raw: Some(br#""fast""#.to_vec()) }),
                    r#enum: vec![
                        ext::Json { raw: Some(br#""fast""#.to_vec()) },
                        ext::Json { raw: Some(br#""slow""#.to_vec()) },
                    ],
                    ..Default::default()
                },
            ),
        ]
        .into(),
        additional_properties: Some(Box::new(ext::JsonSchemaPropsOrBool { allows: Some(true), schema: None })),
        dependencies: [(
            "name".to_string(),
            ext::JsonSchemaPropsOrStringArray { schema: None, property: vec!["mode".into()] },
        )]
        .into(),
        x_kubernetes_preserve_unknown_fields: Some(true),
        ..Default::default()
    };
    let crd = ext::CustomResourceDefinition {
        metadata: Some(go_meta("widgets.example.com", "")),
        spec: Some(ext::CustomResourceDefinitionSpec {
            group: s("example.com"),
            names: Some(ext::CustomResourceDefinitionNames {
                plural: s("widgets"),
                singular: s("widget"),
                short_names: vec![],
                kind: s("Widget"),
                list_kind: s("WidgetList"),
                categories: vec![],
            }),
            scope: s("Namespaced"),
            versions: vec![ext::CustomResourceDefinitionVersion {
                name: s("v1"),
                served: Some(true),
                storage: Some(true),
                schema: Some(ext::CustomResourceValidation { open_apiv3_schema: Some(schema) }),
                ..Default::default()
            }],
            conversion: None,
            preserve_unknown_fields: Some(false),
        }),
        status: None,
    };
    let value =
        decode_as::<oa_ext::CustomResourceDefinition>("apiextensions.k8s.io/v1", "CustomResourceDefinition", &crd);
    assert_json(
        &value["spec"]["versions"][0]["schema"],
        &json!({"openAPIV3Schema": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "mode": {"type": "string", "default": "fast", "enum": ["fast", "slow"]},
            },
            "additionalProperties": true,
            "dependencies": {"name": ["mode"]},
            "x-kubernetes-preserve-unknown-fields": true,
        }}),
    );
}

#[test]
fn unknown_fields_are_skipped() {
    let cm = corev1::ConfigMap {
        metadata: Some(go_meta("settings", "")),
        data: [("a".to_string(), "1".to_string())].into(),
        ..Default::default()
    };
    let expected = decode(&body("v1", "ConfigMap", &cm)).unwrap();
    let mut raw = cm.encode_to_vec();
    // field 999 varint, field 1000 fixed32, field 1001 bytes, field 1002 a group with a field inside.
    raw.extend([
        0xb8, 0x3e, 0x05, 0xc5, 0x3e, 1, 2, 3, 4, 0xca, 0x3e, 0x02, b'h', b'i', 0xd3, 0x3e, 0x08, 0x01, 0xd4, 0x3e,
    ]);
    let value = decode(&body_raw("v1", "ConfigMap", raw)).unwrap();
    assert_json(&value, &expected);
}

#[test]
fn packed_and_unpacked_repeated_scalars_agree() {
    let options = corev1::PodPortForwardOptions { ports: vec![80, 443, -1] };
    let unpacked = decode(&body("v1", "PodPortForwardOptions", &options)).unwrap();
    assert_eq!(unpacked["ports"], json!([80, 443, -1]));
    // The same field packed: tag 1 length-delimited, then the varints back to back.
    let mut varints = vec![80, 0xbb, 0x03];
    varints.extend([0xff; 9]);
    varints.push(0x01);
    let mut packed = vec![0x0a, varints.len() as u8];
    packed.extend(varints);
    let value = decode(&body_raw("v1", "PodPortForwardOptions", packed)).unwrap();
    assert_json(&value, &unpacked);
}

#[test]
fn repeated_occurrences_of_a_message_field_merge() {
    let first = corev1::ConfigMap {
        metadata: Some(meta::ObjectMeta { name: s("a"), ..Default::default() }),
        ..Default::default()
    };
    let second = corev1::ConfigMap {
        metadata: Some(meta::ObjectMeta {
            labels: [("x".to_string(), "y".to_string())].into(),
            finalizers: vec!["f".into()],
            ..Default::default()
        }),
        data: [("k".to_string(), "v".to_string())].into(),
        ..Default::default()
    };
    let mut raw = first.encode_to_vec();
    raw.extend(second.encode_to_vec());
    let value = decode(&body_raw("v1", "ConfigMap", raw)).unwrap();
    assert_json(
        &value,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "y"}, "finalizers": ["f"]},
                "data": {"k": "v"}}),
    );
}
