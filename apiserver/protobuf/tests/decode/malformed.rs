//! Hostile and broken input: errors, never panics.

use apiserver_protobuf::{DecodeError, MAX_DEPTH, WireError, decode};
use k8s_pb::api::apps;
use k8s_pb::api::core::v1 as corev1;
use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
use k8s_pb::apimachinery::pkg::runtime::{RawExtension, TypeMeta, Unknown};
use prost::Message;

use crate::{body, body_raw, go_meta, s};

fn deployment_body() -> Vec<u8> {
    let container = corev1::Container { name: s("web"), image: s("nginx"), ..Default::default() };
    let deployment = apps::v1::Deployment {
        metadata: Some(go_meta("web", "default")),
        spec: Some(apps::v1::DeploymentSpec {
            replicas: Some(2),
            template: Some(corev1::PodTemplateSpec {
                metadata: Some(go_meta("", "")),
                spec: Some(corev1::PodSpec { containers: vec![container], ..Default::default() }),
            }),
            ..Default::default()
        }),
        status: None,
    };
    body("apps/v1", "Deployment", &deployment)
}

#[test]
fn magic_is_required() {
    assert_eq!(decode(b""), Err(DecodeError::MissingMagic));
    assert_eq!(decode(b"k8s"), Err(DecodeError::MissingMagic));
    assert_eq!(decode(br#"{"kind":"ConfigMap"}"#), Err(DecodeError::MissingMagic));
    let mut body = deployment_body();
    body[3] = b'!';
    assert_eq!(decode(&body), Err(DecodeError::MissingMagic));
}

#[test]
fn envelope_problems_are_named() {
    let envelope = |api_version: &str, kind: &str, encoding: &str| {
        let unknown = Unknown {
            type_meta: Some(TypeMeta { api_version: s(api_version), kind: s(kind) }),
            raw: Some(vec![]),
            content_encoding: s(encoding),
            content_type: None,
        };
        let mut out = b"k8s\0".to_vec();
        out.extend(unknown.encode_to_vec());
        decode(&out)
    };
    assert_eq!(envelope("", "ConfigMap", ""), Err(DecodeError::MissingTypeMeta("apiVersion")));
    assert_eq!(envelope("v1", "", ""), Err(DecodeError::MissingTypeMeta("kind")));
    assert_eq!(envelope("v1", "ConfigMap", "gzip"), Err(DecodeError::UnsupportedEncoding("gzip".into())));
    assert!(matches!(envelope("example.com/v1", "Widget", ""), Err(DecodeError::UnknownApiVersion(_))));
    assert!(matches!(envelope("v1/../x", "ConfigMap", ""), Err(DecodeError::UnknownApiVersion(_))));
    assert!(matches!(envelope("v1", "Gadget", ""), Err(DecodeError::UnknownKind { .. })));
    // A message with a special JSON form is never a top-level kind.
    assert!(matches!(envelope("meta.k8s.io/v1", "Time", ""), Err(DecodeError::UnknownKind { .. })));
    // Kinds are looked up exactly as sent, whatever prost made of the name.
    assert!(envelope("storage.k8s.io/v1", "CSIDriver", "").is_ok());
    assert!(envelope("v1", "ConfigMap", "").is_ok());
    let message = envelope("v1", "Gadget", "").unwrap_err().to_string();
    assert!(message.contains("Gadget") && message.contains("v1"), "{message}");
}

#[test]
fn truncation_at_every_byte_is_an_error_not_a_panic() {
    let body = deployment_body();
    let mut errors = 0;
    for len in 0..body.len() {
        if decode(&body[..len]).is_err() {
            errors += 1;
        }
    }
    // Only cuts at an envelope field boundary can still decode (to a smaller object).
    assert!(errors >= body.len() - 4, "{errors} of {} prefixes failed", body.len());
    assert!(decode(&body).is_ok());
}

#[test]
fn corrupting_any_byte_never_panics() {
    let body = deployment_body();
    for i in 4..body.len() {
        for replacement in [0x00, 0x07, 0x7f, 0x80, 0xff] {
            let mut corrupt = body.clone();
            corrupt[i] = replacement;
            let _ = decode(&corrupt);
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    // xorshift64*: deterministic, no dependency.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    for _ in 0..2_000 {
        let len = (next() % 200) as usize;
        let raw: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        for kind in
            [("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("apiextensions.k8s.io/v1", "CustomResourceDefinition")]
        {
            let _ = decode(&body_raw(kind.0, kind.1, raw.clone()));
        }
        let mut unknown = b"k8s\0".to_vec();
        unknown.extend(&raw);
        let _ = decode(&unknown);
    }
}

#[test]
fn huge_lengths_and_wrong_wire_types_are_errors() {
    // ConfigMap field 1 (metadata) claiming 2^62 bytes.
    let huge = vec![0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];
    assert!(matches!(
        decode(&body_raw("v1", "ConfigMap", huge)),
        Err(DecodeError::Wire { source: WireError::Truncated, .. })
    ));
    // ConfigMap field 1 (metadata) as a varint.
    assert!(matches!(decode(&body_raw("v1", "ConfigMap", vec![0x08, 0x01])), Err(DecodeError::WrongWireType { .. })));
    // ConfigMap data entry value (a string) as a varint.
    let entry = vec![0x0a, 0x01, b'k', 0x10, 0x01];
    let mut raw = vec![0x12, entry.len() as u8];
    raw.extend(entry);
    let err = decode(&body_raw("v1", "ConfigMap", raw)).unwrap_err();
    assert!(matches!(err, DecodeError::WrongWireType { field: "data", .. }), "{err}");
}

fn nested_schema(depth: usize) -> ext::JsonSchemaProps {
    let mut schema = ext::JsonSchemaProps { r#type: s("string"), ..Default::default() };
    for _ in 0..depth {
        schema = ext::JsonSchemaProps { not: Some(Box::new(schema)), ..Default::default() };
    }
    schema
}

fn crd_with(schema: ext::JsonSchemaProps) -> Vec<u8> {
    let crd = ext::CustomResourceDefinition {
        metadata: Some(go_meta("deep.example.com", "")),
        spec: Some(ext::CustomResourceDefinitionSpec {
            versions: vec![ext::CustomResourceDefinitionVersion {
                name: s("v1"),
                schema: Some(ext::CustomResourceValidation { open_apiv3_schema: Some(schema) }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: None,
    };
    body("apiextensions.k8s.io/v1", "CustomResourceDefinition", &crd)
}

#[test]
fn nesting_is_capped() {
    assert!(decode(&crd_with(nested_schema(80))).is_ok());
    assert_eq!(decode(&crd_with(nested_schema(MAX_DEPTH))), Err(DecodeError::TooDeep(MAX_DEPTH)));
    assert_eq!(decode(&crd_with(nested_schema(1_000))), Err(DecodeError::TooDeep(MAX_DEPTH)));

    // Objects enveloped inside RawExtensions share the same budget.
    let mut raw = body("v1", "ConfigMap", &corev1::ConfigMap::default());
    for _ in 0..200 {
        let revision =
            apps::v1::ControllerRevision { data: Some(RawExtension { raw: Some(raw) }), ..Default::default() };
        raw = body("apps/v1", "ControllerRevision", &revision);
    }
    assert_eq!(decode(&raw), Err(DecodeError::TooDeep(MAX_DEPTH)));
}
