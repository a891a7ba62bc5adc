//! Upstream's validation of storage objects: PersistentVolumes and PersistentVolumeClaims
//! (core/v1, `pkg/apis/core/validation`), and `storage.k8s.io` StorageClasses, CSIDrivers,
//! CSINodes, VolumeAttachments and CSIStorageCapacities (`pkg/apis/storage/validation`), with
//! the defaults that validation relies on (`pkg/apis/storage/v1/defaults.go`).

mod claims;
mod classes;
mod csi;
mod volumes;

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use serde_json::Value;

pub use claims::{default_claim, validate_claim, validate_claim_update};
pub use classes::{default_class, validate_class, validate_class_update};
pub use csi::{
    default_driver, validate_attachment, validate_attachment_update, validate_capacity, validate_capacity_update,
    validate_driver, validate_driver_update, validate_node, validate_node_update,
};
pub use volumes::{validate_volume, validate_volume_update};

use super::checks::{self, items};

/// `supportedAccessModes`, sorted as upstream lists them.
const ACCESS_MODES: &[&str] = &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
/// `supportedVolumeModes`.
const VOLUME_MODES: &[&str] = &["Block", "Filesystem"];

/// The access modes of a PV or PVC spec: each supported, ReadWriteOncePod alone.
fn access_modes(errors: &mut FieldErrors, path: &Path, spec: &Value) {
    let (mut once_pod, mut others) = (false, false);
    for mode in items(spec, "accessModes") {
        let mode = mode.as_str().unwrap_or_default();
        checks::one_of(errors, path, mode, ACCESS_MODES);
        match mode {
            "ReadWriteOncePod" => once_pod = true,
            m if ACCESS_MODES.contains(&m) => others = true,
            _ => {}
        }
    }
    if once_pod && others {
        errors.push(FieldError::forbidden(path, "may not use ReadWriteOncePod with other access modes"));
    }
}

/// `ValidateCSIDriverName`: set, at most 63 characters, a DNS subdomain (in any case).
fn csi_driver_name(errors: &mut FieldErrors, path: &Path, name: &str) {
    if name.is_empty() {
        errors.push(FieldError::required(path, ""));
    }
    if name.len() > 63 {
        errors.push(FieldError::too_long(path, 63));
    }
    checks::invalid_each(errors, path, name, names::dns1123_subdomain(&name.to_lowercase()));
}

/// `ValidateClassName` of an optional class name field (a StorageClass or
/// VolumeAttributesClass name: a DNS subdomain).
fn class_name(errors: &mut FieldErrors, path: &Path, name: &str) {
    if !name.is_empty() {
        checks::dns1123_subdomain(errors, path, name);
    }
}
