//! Finds the sources the table is generated from, through `cargo metadata`: cargo knows
//! where each package's source lives (registry cache, vendor directory or path) and which
//! features were enabled, so nothing here guesses at `CARGO_HOME` layouts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::json::{self, Json};

/// Where the inputs are.
pub struct Sources {
    /// k8s-pb's `src` directory (prost-generated messages).
    pub k8s_pb: PathBuf,
    /// k8s-openapi's `src/v1_NN` directory for the enabled Kubernetes version.
    pub k8s_openapi: PathBuf,
    /// Files whose change may change the answer (lockfile and workspace manifest).
    pub inputs: Vec<PathBuf>,
}

pub fn sources() -> Sources {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--filter-platform", &target, "--manifest-path"])
        .arg(Path::new(&manifest_dir).join("Cargo.toml"))
        .output()
        .unwrap_or_else(|e| fail(&format!("could not run `{cargo} metadata`: {e}")));
    if !output.status.success() {
        fail(&format!("`cargo metadata` failed:\n{}", String::from_utf8_lossy(&output.stderr)));
    }
    let text = String::from_utf8(output.stdout).unwrap_or_else(|_| fail("`cargo metadata` printed non-UTF-8"));
    let metadata = json::parse(&text).unwrap_or_else(|e| fail(&format!("cannot parse `cargo metadata` output: {e}")));

    let packages = metadata.get("packages").map(Json::array).unwrap_or_default();
    let own_manifest = Path::new(&manifest_dir).join("Cargo.toml");
    let own_id = packages
        .iter()
        .find(|p| p.get("manifest_path").and_then(Json::str).is_some_and(|m| Path::new(m) == own_manifest))
        .and_then(|p| p.get("id").and_then(Json::str))
        .unwrap_or_else(|| fail("apiserver-protobuf is missing from `cargo metadata`"));
    let nodes = metadata.get("resolve").and_then(|r| r.get("nodes")).map(Json::array).unwrap_or_default();
    let node = |id: &str| -> &Json {
        nodes
            .iter()
            .find(|n| n.get("id").and_then(Json::str) == Some(id))
            .unwrap_or_else(|| fail(&format!("{id} is missing from the resolve graph")))
    };
    // The exact package this crate depends on (normal or dev), by its library name.
    let package_id = |name: &str| -> String {
        let lib = name.replace('-', "_");
        node(own_id)
            .get("deps")
            .map(Json::array)
            .unwrap_or_default()
            .iter()
            .find(|d| d.get("name").and_then(Json::str) == Some(lib.as_str()))
            .and_then(|d| d.get("pkg").and_then(Json::str))
            .unwrap_or_else(|| fail(&format!("apiserver-protobuf does not depend on {name}")))
            .to_string()
    };
    let package_dir = |id: &str| -> PathBuf {
        let package = packages
            .iter()
            .find(|p| p.get("id").and_then(Json::str) == Some(id))
            .unwrap_or_else(|| fail(&format!("package {id} is missing from `cargo metadata`")));
        let manifest = package.get("manifest_path").and_then(Json::str).unwrap_or_else(|| fail("no manifest_path"));
        Path::new(manifest).parent().expect("a manifest has a directory").to_path_buf()
    };

    let pb_id = package_id("k8s-pb");
    let openapi_id = package_id("k8s-openapi");
    let version = enabled_k8s_version(node(&openapi_id));
    let k8s_pb = package_dir(&pb_id).join("src");
    let k8s_openapi = package_dir(&openapi_id).join("src").join(format!("v1_{version}"));
    for dir in [&k8s_pb, &k8s_openapi] {
        if !dir.is_dir() {
            fail(&format!("{} does not exist (is the package downloaded? try `cargo fetch`)", dir.display()));
        }
    }
    let root = metadata.get("workspace_root").and_then(Json::str).unwrap_or_else(|| fail("no workspace_root"));
    let inputs = vec![Path::new(root).join("Cargo.lock"), Path::new(root).join("Cargo.toml")];
    Sources { k8s_pb, k8s_openapi, inputs }
}

/// The Kubernetes minor version k8s-openapi is built for: its `K8S_OPENAPI_ENABLED_VERSION`
/// override, else its `v1_NN` feature (the lowest one, as k8s-openapi itself picks).
fn enabled_k8s_version(k8s_openapi: &Json) -> u32 {
    if let Ok(value) = std::env::var("K8S_OPENAPI_ENABLED_VERSION")
        && let Some(minor) = value.strip_prefix("1.").and_then(|m| m.parse().ok())
    {
        return minor;
    }
    k8s_openapi
        .get("features")
        .map(Json::array)
        .unwrap_or_default()
        .iter()
        .filter_map(|f| f.str()?.strip_prefix("v1_")?.parse().ok())
        .min()
        .unwrap_or_else(|| fail("no v1_NN feature is enabled on k8s-openapi"))
}

/// Build scripts report failure by panicking; this keeps the message first and readable.
pub fn fail(message: &str) -> ! {
    panic!("\n\napiserver-protobuf build script: {message}\n\n")
}
