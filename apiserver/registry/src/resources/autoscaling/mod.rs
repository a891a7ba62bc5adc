//! autoscaling: HorizontalPodAutoscalers, stored as `autoscaling/v2` and served as v2 and v1
//! (one object, two representations, like upstream).

mod conversion;

use k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler;
use k8s_openapi::schemars::{Schema, SchemaGenerator};
use serde_json::Value;

use super::plain::{NameRule, Plain};
use crate::strategy::{Strategy, VersionConversion};

/// `autoscaling/v1` HorizontalPodAutoscalers: the v2 objects, converted on the way in and out.
#[derive(Debug)]
pub struct HorizontalPodAutoscalersV1(Plain<HorizontalPodAutoscaler>);

impl Default for HorizontalPodAutoscalersV1 {
    fn default() -> Self {
        Self(Plain::new(NameRule::Subdomain, true))
    }
}

impl Strategy for HorizontalPodAutoscalersV1 {
    fn resource(&self) -> &'static apiserver_machinery::resources::ResourceInfo {
        self.0.resource()
    }

    fn check_shape(&self, obj: &Value, unknown: Option<&mut Vec<String>>) -> Result<(), String> {
        self.0.check_shape(obj, unknown)
    }

    fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        self.0.schema(generator)
    }

    fn tracks_generation(&self) -> bool {
        true
    }

    fn conversion(&self) -> Option<VersionConversion> {
        Some(VersionConversion {
            storage_group: "autoscaling",
            to_storage: conversion::v1_to_v2,
            from_storage: conversion::v2_to_v1,
        })
    }
}
