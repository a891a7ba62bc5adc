//! Build script: generates the protobuf schema table (`$OUT_DIR/schema_table.rs`).
//!
//! Nothing at runtime knows the Kubernetes protobuf schemas, but two packages in the
//! dependency graph carry them as source: k8s-pb (prost-generated: field numbers and types)
//! and k8s-openapi (exact JSON names and required lists). This script locates both through
//! `cargo metadata` ([`locate`]), scans them line by line ([`pb`], [`openapi`]), joins them
//! with the Go pointer facts ([`facts`]) and writes one static table ([`table`]). Neither
//! package is linked into the script.

mod facts;
mod json;
mod locate;
mod openapi;
mod pb;
mod table;

fn main() {
    println!("cargo::rerun-if-changed=build");
    println!("cargo::rerun-if-env-changed=K8S_OPENAPI_ENABLED_VERSION");
    let sources = locate::sources();
    for input in &sources.inputs {
        println!("cargo::rerun-if-changed={}", input.display());
    }
    let messages = pb::parse(&sources.k8s_pb);
    let definitions = openapi::parse(&sources.k8s_openapi);
    if messages.is_empty() || definitions.is_empty() {
        locate::fail(&format!(
            "found {} messages in {} and {} definitions in {}: has their layout changed?",
            messages.len(),
            sources.k8s_pb.display(),
            definitions.len(),
            sources.k8s_openapi.display()
        ));
    }
    let name = |dir: &std::path::Path, up: usize| {
        dir.ancestors()
            .nth(up)
            .and_then(|d| d.file_name())
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    let header = format!(
        "{} and {} ({})",
        name(&sources.k8s_pb, 1),
        name(&sources.k8s_openapi, 2),
        name(&sources.k8s_openapi, 0)
    );
    let code = table::generate(&messages, &definitions, &header);
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("schema_table.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| locate::fail(&format!("{}: {e}", out.display())));
}
