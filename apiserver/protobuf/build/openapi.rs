//! Reads JSON property names and required lists out of k8s-openapi's generated source.
//!
//! Every generated type file starts with `// Generated from definition <name>`; a struct's
//! JSON names are the string list passed to `deserialize_struct`, and its schema's
//! `"required": [` list names the properties Go serialises without `omitempty`.

use std::path::Path;

/// One OpenAPI definition, e.g. `io.k8s.api.core.v1.HostIP`.
pub struct Definition {
    /// Package in k8s-pb's spelling: `api.core.v1`, `apiextensions_apiserver.pkg.apis.apiextensions.v1`.
    pub package: String,
    /// The exact (protobuf and Go) type name: `HostIP`.
    pub name: String,
    /// JSON property names; empty for types with a custom JSON form (Time, Quantity, ...).
    pub properties: Vec<String>,
    pub required: Vec<String>,
}

pub fn parse(dir: &Path) -> Vec<Definition> {
    let mut files = Vec::new();
    collect_rs_files(dir, &mut files);
    files.sort();
    let mut definitions = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| crate::locate::fail(&format!("{}: {e}", file.display())));
        let Some(full) = text.lines().next().and_then(|l| l.strip_prefix("// Generated from definition ")) else {
            continue;
        };
        let Some((package, name)) = full.trim().strip_prefix("io.k8s.").and_then(|rest| rest.rsplit_once('.')) else {
            continue;
        };
        definitions.push(Definition {
            package: package.replace('-', "_"),
            name: name.to_string(),
            properties: string_list_after(&text, |line| line.contains("deserializer.deserialize_struct(")),
            required: string_list_after(&text, |line| line.trim() == "\"required\": ["),
        });
    }
    definitions
}

fn collect_rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| crate::locate::fail(&format!("{}: {e}", dir.display())));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `"a", "b",` lines of the first `[` ... `]` list that starts on or after the line
/// matching `start`.
fn string_list_after(text: &str, start: impl Fn(&str) -> bool) -> Vec<String> {
    let mut lines = text.lines().skip_while(|line| !start(line)).skip_while(|line| !line.trim_end().ends_with('['));
    let mut out = Vec::new();
    if lines.next().is_none() {
        return out;
    }
    for line in lines {
        let line = line.trim();
        if line.starts_with(']') {
            break;
        }
        if let Some(name) = line.strip_prefix('"').and_then(|l| l.strip_suffix("\",")) {
            out.push(name.to_string());
        }
    }
    out
}
