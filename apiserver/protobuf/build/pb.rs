//! Reads the message definitions out of k8s-pb's prost-generated `mod.rs` files.
//!
//! prost writes one `#[prost(...)]` attribute line per field followed by `pub name: Type,`
//! (the type may wrap onto following lines), inside `pub struct Name {` ... `}` blocks that
//! derive `::prost::Message`. That layout is regular enough for a line scanner.

use std::path::Path;

/// A protobuf message, named by its package (`api.core.v1`) and prost's struct name.
pub struct Message {
    pub package: String,
    pub name: String,
    pub fields: Vec<Field>,
}

pub struct Field {
    pub number: u32,
    /// prost's snake_case name, without `r#`.
    pub rust_name: String,
    pub kind: Kind,
    pub label: Label,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    String,
    Bytes,
    Bool,
    Int32,
    Int64,
    Double,
}

#[derive(Clone, PartialEq, Eq)]
pub enum Kind {
    Scalar(Scalar),
    /// A message, by full package path and name (`api.core.v1.Container`).
    Message(String),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Optional,
    Repeated,
    /// `map<string, Kind>`: every map in the Kubernetes API has string keys.
    Map,
}

pub fn parse(src: &Path) -> Vec<Message> {
    let mut files = Vec::new();
    collect_mod_files(src, &mut files);
    files.sort();
    let mut messages = Vec::new();
    for file in files {
        let module = file.parent().expect("mod.rs has a directory").strip_prefix(src).expect("under src");
        let module: Vec<String> = module.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| crate::locate::fail(&format!("{}: {e}", file.display())));
        parse_module(&module, &text, &mut messages);
    }
    messages
}

fn collect_mod_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| crate::locate::fail(&format!("{}: {e}", dir.display())));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_mod_files(&path, out);
        } else if path.file_name().is_some_and(|n| n == "mod.rs") {
            out.push(path);
        }
    }
}

fn parse_module(module: &[String], text: &str, out: &mut Vec<Message>) {
    let package = module.join(".");
    let mut lines = text.lines().peekable();
    let mut derives_message = false;
    while let Some(line) = lines.next() {
        if line.starts_with("#[derive(") {
            derives_message = line.contains("::prost::Message");
            continue;
        }
        let Some(rest) = line.strip_prefix("pub struct ") else {
            continue;
        };
        let (name, empty) = match (rest.strip_suffix(" {"), rest.strip_suffix(" {}")) {
            (Some(name), _) => (name, false),
            (_, Some(name)) => (name, true),
            _ => continue,
        };
        if !std::mem::take(&mut derives_message) {
            continue;
        }
        let mut message = Message { package: package.clone(), name: name.to_string(), fields: Vec::new() };
        while let Some(line) = lines.next().filter(|_| !empty) {
            if line == "}" {
                break;
            }
            let Some(attr) = line.trim().strip_prefix("#[prost(").and_then(|a| a.strip_suffix(")]")) else {
                continue;
            };
            // The field declaration follows, possibly over several lines, ending with a ','
            // outside the type's angle brackets.
            let mut decl = String::new();
            for next in lines.by_ref() {
                if decl.is_empty() && next.trim().starts_with("#[") {
                    continue;
                }
                decl.push_str(next.trim());
                let open = decl.matches('<').count();
                if decl.ends_with(',') && open == decl.matches('>').count() {
                    break;
                }
            }
            match field(module, attr, &decl) {
                Ok(field) => message.fields.push(field),
                Err(problem) => {
                    println!("cargo::warning=k8s-pb {package}.{name}: skipped a field ({problem}): #[prost({attr})]");
                }
            }
        }
        message.fields.sort_by_key(|f| f.number);
        out.push(message);
    }
}

fn field(module: &[String], attr: &str, decl: &str) -> Result<Field, String> {
    let number = attr
        .split("tag = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .ok_or("no tag")?;
    let decl = decl.strip_prefix("pub ").ok_or("no `pub` declaration")?;
    let (name, ty) = decl.split_once(':').ok_or("no `name: Type`")?;
    let rust_name = name.trim().trim_start_matches("r#").to_string();
    // Without whitespace and rustfmt's trailing commas (`Vec<\n    X,\n>` becomes `Vec<X>`).
    let ty: String = ty.chars().filter(|c| !c.is_whitespace()).collect::<String>().replace(",>", ">");
    let ty = ty.trim_end_matches(',');

    if let Some(map) = attr.strip_prefix("btree_map = \"").or_else(|| attr.strip_prefix("map = \"")) {
        let (key, value) = map.split('"').next().and_then(|kv| kv.split_once(',')).ok_or("bad map attribute")?;
        if key.trim() != "string" {
            return Err(format!("map key {key}"));
        }
        let kind = match value.trim() {
            "message" => {
                let inner = ty.split_once(',').map(|(_, v)| v).ok_or("map type without value")?;
                Kind::Message(resolve(module, inner)?)
            }
            other => Kind::Scalar(scalar(other).ok_or_else(|| format!("map value {other}"))?),
        };
        return Ok(Field { number, rust_name, kind, label: Label::Map });
    }

    let mut words = attr.split(',').map(str::trim);
    let first = words.next().unwrap_or_default();
    let label = if attr.split(',').any(|w| w.trim() == "repeated") { Label::Repeated } else { Label::Optional };
    let kind = if first == "message" {
        Kind::Message(resolve(module, ty)?)
    } else {
        let base = first.split(" =").next().unwrap_or(first);
        Kind::Scalar(scalar(base).ok_or_else(|| format!("type {first}"))?)
    };
    Ok(Field { number, rust_name, kind, label })
}

fn scalar(word: &str) -> Option<Scalar> {
    Some(match word {
        "string" => Scalar::String,
        "bytes" => Scalar::Bytes,
        "bool" => Scalar::Bool,
        "int32" => Scalar::Int32,
        "int64" => Scalar::Int64,
        "double" => Scalar::Double,
        _ => return None,
    })
}

/// Turns a field's Rust type (`::core::option::Option<super::super::meta::v1::Time>`) into
/// the message's full path (`apimachinery.pkg.apis.meta.v1.Time`).
fn resolve(module: &[String], ty: &str) -> Result<String, String> {
    let mut path = ty.trim_end_matches('>');
    for wrapper in ["::core::option::Option<", "::prost::alloc::vec::Vec<", "::prost::alloc::boxed::Box<"] {
        path = path.strip_prefix(wrapper).unwrap_or(path);
    }
    if path.contains(['<', '>', ',']) {
        return Err(format!("unexpected type {ty}"));
    }
    let mut full: Vec<&str> = module.iter().map(String::as_str).collect();
    for segment in path.split("::") {
        match segment {
            "super" => {
                full.pop().ok_or_else(|| format!("{ty} leaves the crate"))?;
            }
            "crate" => full.clear(),
            "self" | "" => {}
            name => full.push(name),
        }
    }
    Ok(full.join("."))
}
