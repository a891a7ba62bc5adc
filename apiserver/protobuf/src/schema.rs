//! The schema table: every Kubernetes protobuf message with its fields (number, JSON name,
//! type, cardinality), generated at build time from k8s-pb and k8s-openapi (see
//! `build/main.rs`), and the lookup from an envelope's apiVersion and kind to a message.

use crate::DecodeError;

/// A message of the table. `key` (package plus lowercase name) orders the table.
#[derive(Debug)]
pub(crate) struct Message {
    pub key: &'static str,
    /// Full protobuf name, e.g. `k8s.io.api.core.v1.ConfigMap`.
    pub name: &'static str,
    pub special: Special,
    /// Sorted by field number.
    pub fields: &'static [Field],
}

impl Message {
    const fn new(key: &'static str, name: &'static str, special: Special, fields: &'static [Field]) -> Self {
        Message { key, name, special, fields }
    }

    pub fn field(&self, number: u32) -> Option<&'static Field> {
        let fields: &'static [Field] = self.fields;
        fields.binary_search_by_key(&number, |f| f.number).ok().map(|i| &fields[i])
    }
}

#[derive(Debug)]
pub(crate) struct Field {
    pub number: u32,
    /// The JSON property name (`hostIP`, not prost's `host_ip`).
    pub json: &'static str,
    pub card: Card,
    pub ty: Type,
    /// Drop the field when its value is the zero value (an empty string, 0, false, a zero
    /// Time): Go writes non-pointer fields to protobuf unconditionally but omits them from
    /// JSON when zero (see `build/facts.rs`).
    pub omit_zero: bool,
}

impl Field {
    const fn new(number: u32, json: &'static str, card: Card, ty: Type, omit_zero: bool) -> Self {
        Field { number, json, card, ty, omit_zero }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Card {
    /// A singular field.
    One,
    /// A singular message field whose properties JSON writes into the parent object (a Go
    /// struct embedded with `json:",inline"`, e.g. `Volume.volumeSource`).
    Inline,
    Repeated,
    /// `map<string, ty>`.
    Map,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    String,
    Bytes,
    Bool,
    Int32,
    Int64,
    Double,
    /// Index into [`MESSAGES`].
    Message(u16),
}

/// Messages whose JSON form is not an object of their fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    /// meta/v1 Time: RFC 3339 in UTC, whole seconds; empty is `null`.
    Time,
    /// meta/v1 MicroTime: RFC 3339 in UTC with six fractional digits.
    MicroTime,
    /// meta/v1 Duration: Go's duration text (`1h0m0s`).
    Duration,
    /// resource.Quantity: its canonical string.
    Quantity,
    /// intstr.IntOrString: a number or a string.
    IntOrString,
    /// runtime.RawExtension, meta/v1 FieldsV1, apiextensions JSON: raw bytes that are JSON.
    RawJson,
    /// A Go named string slice (ExtraValue, Verbs): the bare array.
    StringList,
    /// apiextensions JSONSchemaPropsOrBool: the schema, or the boolean.
    SchemaOrBool,
    /// apiextensions JSONSchemaPropsOrArray: the array of schemas, or the schema.
    SchemaOrArray,
    /// apiextensions JSONSchemaPropsOrStringArray: the string array, or the schema.
    SchemaOrStringArray,
}

include!(concat!(env!("OUT_DIR"), "/schema_table.rs"));

pub(crate) fn message(index: u16) -> &'static Message {
    &MESSAGES[usize::from(index)]
}

/// API groups and the protobuf package that holds their messages (`<package>.<version>`).
const GROUPS: &[(&str, &str)] = &[
    ("", "api.core"),
    ("admission.k8s.io", "api.admission"),
    ("admissionregistration.k8s.io", "api.admissionregistration"),
    ("apidiscovery.k8s.io", "api.apidiscovery"),
    ("apiextensions.k8s.io", "apiextensions_apiserver.pkg.apis.apiextensions"),
    ("apiregistration.k8s.io", "kube_aggregator.pkg.apis.apiregistration"),
    ("apps", "api.apps"),
    ("authentication.k8s.io", "api.authentication"),
    ("authorization.k8s.io", "api.authorization"),
    ("autoscaling", "api.autoscaling"),
    ("batch", "api.batch"),
    ("certificates.k8s.io", "api.certificates"),
    ("coordination.k8s.io", "api.coordination"),
    ("custom.metrics.k8s.io", "metrics.pkg.apis.custom_metrics"),
    ("discovery.k8s.io", "api.discovery"),
    ("events.k8s.io", "api.events"),
    ("extensions", "api.extensions"),
    ("external.metrics.k8s.io", "metrics.pkg.apis.external_metrics"),
    ("flowcontrol.apiserver.k8s.io", "api.flowcontrol"),
    ("imagepolicy.k8s.io", "api.imagepolicy"),
    ("internal.apiserver.k8s.io", "api.apiserverinternal"),
    ("meta.k8s.io", "apimachinery.pkg.apis.meta"),
    ("metrics.k8s.io", "metrics.pkg.apis.metrics"),
    ("networking.k8s.io", "api.networking"),
    ("node.k8s.io", "api.node"),
    ("policy", "api.policy"),
    ("rbac.authorization.k8s.io", "api.rbac"),
    ("resource.k8s.io", "api.resource"),
    ("scheduling.k8s.io", "api.scheduling"),
    ("storage.k8s.io", "api.storage"),
    ("storagemigration.k8s.io", "api.storagemigration"),
];

/// meta/v1 kinds that travel under other group versions: the options and WatchEvent every
/// group version registers (a typed client sends `DeleteOptions` as `v1` or `apps/v1`), and
/// the unversioned `v1` kinds (Status and the discovery documents).
const META_KINDS: &[&str] = &[
    "APIGroup",
    "APIGroupList",
    "APIResourceList",
    "APIVersions",
    "CreateOptions",
    "DeleteOptions",
    "GetOptions",
    "ListOptions",
    "PatchOptions",
    "Status",
    "UpdateOptions",
    "WatchEvent",
];

/// The message for an envelope's apiVersion and kind.
pub(crate) fn for_kind(api_version: &str, kind: &str) -> Result<u16, DecodeError> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let well_formed = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    let unknown_version = || DecodeError::UnknownApiVersion(api_version.to_string());
    if !well_formed(version) {
        return Err(unknown_version());
    }
    let package = GROUPS.iter().find(|(g, _)| *g == group).map(|(_, p)| *p).ok_or_else(unknown_version)?;
    let unknown_kind = || DecodeError::UnknownKind { api_version: api_version.to_string(), kind: kind.to_string() };
    if !well_formed(kind) {
        return Err(unknown_kind());
    }
    let kind = kind.to_ascii_lowercase();
    let mut candidates = vec![format!("{package}.{version}.{kind}")];
    if META_KINDS.iter().any(|k| k.eq_ignore_ascii_case(&kind)) {
        candidates.push(format!("apimachinery.pkg.apis.meta.v1.{kind}"));
    }
    candidates
        .iter()
        .find_map(|key| MESSAGES.binary_search_by(|m| m.key.cmp(key)).ok())
        .filter(|&i| MESSAGES[i].special == Special::None)
        .and_then(|i| u16::try_from(i).ok())
        .ok_or_else(unknown_kind)
}
