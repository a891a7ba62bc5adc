//! Events: one resource served in two groups, like upstream. Core `v1` Events are what is
//! stored; `events.k8s.io/v1` Events are the same objects under newer field names, converted on
//! the way in and out (`conversion.rs`) and kept under the core Events' keys, so an event
//! written through either group is read, listed and watched through both (a kube-rs
//! `Recorder`'s events show in `kubectl describe`). Validation depends on the group written
//! through (`validation.rs`); [`last_activity`] is what the API server's event TTL reads.

mod conversion;
mod validation;

use apiserver_machinery::field::FieldErrors;
use apiserver_machinery::resources::ResourceInfo;
use jiff::Timestamp;
use k8s_openapi::api::{core, events};
use k8s_openapi::schemars::{Schema, SchemaGenerator};
use serde_json::Value;

pub use conversion::{from_core, to_core};

use super::plain::{NameRule, Plain};
use crate::fields::SelectableField;
use crate::object::{Object, path};
use crate::strategy::{Strategy, VersionConversion};

/// The field selectors of core Events: what `kubectl describe` and `kubectl events --for`
/// select events by. `source` is the source component, or else the reporting controller.
const CORE_FIELDS: &[SelectableField] = &[
    SelectableField::path("involvedObject.kind"),
    SelectableField::path("involvedObject.namespace"),
    SelectableField::path("involvedObject.name"),
    SelectableField::path("involvedObject.uid"),
    SelectableField::path("involvedObject.apiVersion"),
    SelectableField::path("involvedObject.resourceVersion"),
    SelectableField::path("involvedObject.fieldPath"),
    SelectableField::path("reason"),
    SelectableField::path("reportingComponent"),
    SelectableField::first_of("source", &["source.component", "reportingComponent"]),
    SelectableField::path("type"),
];

/// The field selectors of `events.k8s.io/v1` Events: the core ones under their newer names
/// (upstream's `AddFieldLabelConversionsForEvent`, which has no `source`).
const EVENTS_V1_FIELDS: &[SelectableField] = &[
    SelectableField::path("regarding.kind"),
    SelectableField::path("regarding.namespace"),
    SelectableField::path("regarding.name"),
    SelectableField::path("regarding.uid"),
    SelectableField::path("regarding.apiVersion"),
    SelectableField::path("regarding.resourceVersion"),
    SelectableField::path("regarding.fieldPath"),
    SelectableField::path("reason"),
    SelectableField::path("reportingController"),
    SelectableField::path("type"),
];

/// Core `v1` Events: the legacy rules only, names that are path segments (upstream validates
/// no more for core Events).
pub fn core_events() -> Plain<core::v1::Event> {
    Plain::new(NameRule::PathSegment, false)
        .selecting(CORE_FIELDS)
        .validating(validation::legacy, validation::legacy_update)
}

/// `events.k8s.io/v1` Events: the core Events, converted; strict validation.
#[derive(Debug)]
pub struct EventsV1(Plain<events::v1::Event>);

impl Default for EventsV1 {
    fn default() -> Self {
        Self(Plain::new(NameRule::Subdomain, false).selecting(EVENTS_V1_FIELDS))
    }
}

impl Strategy for EventsV1 {
    fn resource(&self) -> &'static ResourceInfo {
        self.0.resource()
    }

    fn check_shape(&self, obj: &Value, unknown: Option<&mut Vec<String>>) -> Result<(), String> {
        self.0.check_shape(obj, unknown)
    }

    fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        self.0.schema(generator)
    }

    fn validate_name(&self, name: &str) -> Vec<String> {
        self.0.validate_name(name)
    }

    fn selectable_fields(&self) -> &'static [SelectableField] {
        self.0.selectable_fields()
    }

    fn validate(&self, obj: &Object) -> FieldErrors {
        validation::strict_create(&to_core(obj.clone()))
    }

    fn validate_update(&self, new: &Object, old: &Object) -> FieldErrors {
        validation::strict_update(&to_core(new.clone()), &to_core(old.clone()))
    }

    fn conversion(&self) -> Option<VersionConversion> {
        Some(VersionConversion { storage_group: "", to_storage: to_core, from_storage: from_core })
    }
}

/// When a stored (core) event last happened: the latest of its series' last observation, its
/// `lastTimestamp`, its `eventTime` and its creation. Events go once this is older than the
/// event TTL (upstream's etcd lease, renewed by every write of the event).
pub fn last_activity(event: &Object) -> Option<Timestamp> {
    ["series.lastObservedTime", "lastTimestamp", "eventTime", "metadata.creationTimestamp"]
        .into_iter()
        .filter_map(|field| path(event, field)?.as_str()?.parse::<Timestamp>().ok())
        .max()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn last_activity_is_the_latest_time_the_event_carries() {
        let Value::Object(mut event) = json!({
            "metadata": {"name": "e", "creationTimestamp": "2026-01-01T10:00:00Z"},
            "eventTime": "2026-01-01T10:00:00.500000Z",
            "lastTimestamp": "2026-01-01T10:03:00Z",
            "series": {"count": 4, "lastObservedTime": "2026-01-01T10:07:00.250000Z"},
        }) else {
            unreachable!()
        };
        assert_eq!(last_activity(&event), Some("2026-01-01T10:07:00.25Z".parse().unwrap()));
        event.remove("series");
        assert_eq!(last_activity(&event), Some("2026-01-01T10:03:00Z".parse().unwrap()));
        event.remove("lastTimestamp");
        event.insert("eventTime".into(), Value::Null);
        assert_eq!(last_activity(&event), Some("2026-01-01T10:00:00Z".parse().unwrap()));
        assert_eq!(last_activity(&serde_json::Map::new()), None);
    }
}
