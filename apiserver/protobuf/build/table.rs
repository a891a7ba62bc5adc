//! Joins k8s-pb's messages (field numbers and types) with k8s-openapi's definitions (exact
//! JSON names, required lists, inlined structs) and the Go pointer facts, and writes the
//! table `src/schema.rs` includes.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use crate::facts;
use crate::openapi::Definition;
use crate::pb::{Field, Kind, Label, Message, Scalar};

/// Lowercase letters and digits only: `hostIP`, `host_ip` and `$ref`/`ref` compare equal.
fn norm(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// prost's snake_case back to the usual lowerCamelCase; exact unless the proto name had
/// an acronym, which is why JSON names come from k8s-openapi first.
fn lower_camel(snake: &str) -> String {
    let mut out = String::new();
    for (i, part) in snake.split('_').enumerate() {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            if i == 0 {
                out.push(first);
            } else {
                out.push(first.to_ascii_uppercase());
            }
            out.extend(chars);
        }
    }
    out
}

/// Table key of a message: package plus lowercase name (`api.core.v1.hostip`).
fn key(package: &str, name: &str) -> String {
    format!("{package}.{}", name.to_ascii_lowercase())
}

struct Index<'a> {
    messages: Vec<&'a Message>,
    by_key: HashMap<String, usize>,
    /// The definition giving each message's JSON names: its own, else the same-named type
    /// of another version (older versions k8s-openapi no longer carries).
    reference: Vec<Option<&'a Definition>>,
    /// The exact type name (`HostIP` where prost says `HostIp`).
    proper: Vec<String>,
    /// Every JSON property name k8s-openapi knows, by normalised name.
    dictionary: HashMap<String, BTreeSet<&'a str>>,
}

impl<'a> Index<'a> {
    fn new(messages: &'a [Message], definitions: &'a [Definition]) -> Self {
        let mut messages: Vec<&Message> = messages.iter().collect();
        messages.sort_by_key(|m| key(&m.package, &m.name));
        let mut by_key = HashMap::new();
        for (i, m) in messages.iter().enumerate() {
            if by_key.insert(key(&m.package, &m.name), i).is_some() {
                crate::locate::fail(&format!("two k8s-pb messages named {}.{}", m.package, m.name));
            }
        }
        let mut by_name: HashMap<String, Vec<&Definition>> = HashMap::new();
        let mut dictionary: HashMap<String, BTreeSet<&str>> = HashMap::new();
        for d in definitions {
            by_name.entry(norm(&d.name)).or_default().push(d);
            for p in &d.properties {
                dictionary.entry(norm(p)).or_default().insert(p);
            }
        }
        let mut reference = Vec::new();
        let mut proper = Vec::new();
        for m in &messages {
            let candidates = by_name.get(&norm(&m.name)).map(Vec::as_slice).unwrap_or_default();
            let own = candidates.iter().copied().find(|d| d.package == m.package);
            let group = m.package.rsplit_once('.').map_or(m.package.as_str(), |(g, _)| g);
            let sibling = candidates
                .iter()
                .copied()
                .filter(|d| !d.properties.is_empty())
                .min_by_key(|d| (!d.package.starts_with(group), d.package.clone()));
            let chosen = own.filter(|d| !d.properties.is_empty()).or(sibling);
            proper.push(own.or(chosen).map_or_else(|| m.name.clone(), |d| d.name.clone()));
            reference.push(chosen);
        }
        Index { messages, by_key, reference, proper, dictionary }
    }

    fn message_index(&self, path: &str) -> Option<usize> {
        let (package, name) = path.rsplit_once('.')?;
        self.by_key.get(&key(package, name)).copied()
    }

    /// A field's JSON name, and whether the message's own definition has it.
    fn json_name(&self, message: usize, field: &Field) -> (String, bool) {
        let wanted = norm(&field.rust_name);
        if let Some(d) = self.reference[message]
            && let Some(p) = d.properties.iter().find(|p| norm(p) == wanted)
        {
            return (p.clone(), true);
        }
        let camel = lower_camel(&field.rust_name);
        let known = self.dictionary.get(&wanted).and_then(|spellings| {
            spellings.iter().find(|s| **s == camel).or_else(|| spellings.iter().next()).map(|s| s.to_string())
        });
        (known.unwrap_or(camel), false)
    }

    /// Normalised JSON names a message contributes when inlined.
    fn flattened_names(&self, message: usize) -> BTreeSet<String> {
        match self.reference[message] {
            Some(d) => d.properties.iter().map(|p| norm(p)).collect(),
            None => self.messages[message].fields.iter().map(|f| norm(&self.json_name(message, f).0)).collect(),
        }
    }
}

pub fn generate(messages: &[Message], definitions: &[Definition], header: &str) -> String {
    let index = Index::new(messages, definitions);
    let zero_is_absent = fact_set(facts::ZERO_IS_ABSENT);
    let empty_is_set = fact_set(facts::EMPTY_IS_SET);
    if index.messages.len() > usize::from(u16::MAX) {
        crate::locate::fail("more messages than a u16 index can address");
    }

    let mut out = String::new();
    let _ = writeln!(out, "// @generated by apiserver-protobuf's build script from {header}. Do not edit.");
    let _ = writeln!(out, "pub(crate) static MESSAGES: [Message; {}] = [", index.messages.len());
    for (i, m) in index.messages.iter().enumerate() {
        let proper = &index.proper[i];
        let reference = index.reference[i];
        let required: BTreeSet<String> =
            reference.map(|d| d.required.iter().map(|r| norm(r)).collect()).unwrap_or_default();
        let parent_names: BTreeSet<String> =
            reference.map(|d| d.properties.iter().map(|p| norm(p)).collect()).unwrap_or_default();
        let special = special(m, reference.is_some());
        let _ = writeln!(
            out,
            "    Message::new({:?}, \"k8s.io.{}.{}\", Special::{special}, &[",
            key(&m.package, &m.name),
            m.package,
            proper
        );
        let mut seen = BTreeSet::new();
        for f in &m.fields {
            let (json, matched) = index.json_name(i, f);
            let ty = match &f.kind {
                Kind::Scalar(s) => scalar_type(*s).to_string(),
                Kind::Message(path) => match index.message_index(path) {
                    Some(t) => format!("Type::Message({t})"),
                    None => {
                        println!(
                            "cargo::warning=k8s-pb {}.{}: field {} has unknown type {path}",
                            m.package, m.name, f.number
                        );
                        continue;
                    }
                },
            };
            let inline = f.label == Label::Optional
                && !matched
                && !parent_names.is_empty()
                && match &f.kind {
                    Kind::Message(path) => index.message_index(path).is_some_and(|t| {
                        let names = index.flattened_names(t);
                        !names.is_empty() && names.is_subset(&parent_names)
                    }),
                    Kind::Scalar(_) => false,
                };
            let card = match f.label {
                Label::Optional if inline => "Inline",
                Label::Optional => "One",
                Label::Repeated => "Repeated",
                Label::Map => "Map",
            };
            if !inline && !seen.insert(json.clone()) {
                println!("cargo::warning=k8s-pb {}.{}: two fields named {json}", m.package, m.name);
            }
            let omit_zero = match (&f.kind, f.label) {
                (Kind::Scalar(s), Label::Optional) if !required.contains(&norm(&json)) => {
                    let fact = (norm(proper), norm(&json));
                    match s {
                        Scalar::String | Scalar::Bytes => !empty_is_set.contains(&fact),
                        _ => zero_is_absent.contains(&fact),
                    }
                }
                (Kind::Message(_), Label::Optional) => zero_is_absent.contains(&(norm(proper), norm(&json))),
                _ => false,
            };
            let _ = writeln!(out, "        Field::new({}, {json:?}, Card::{card}, {ty}, {omit_zero}),", f.number);
        }
        let _ = writeln!(out, "    ]),");
    }
    let _ = writeln!(out, "];");
    out
}

fn fact_set(table: &[(&str, &[&str])]) -> BTreeSet<(String, String)> {
    table.iter().flat_map(|(ty, fields)| fields.iter().map(move |f| (norm(ty), norm(f)))).collect()
}

fn scalar_type(s: Scalar) -> &'static str {
    match s {
        Scalar::String => "Type::String",
        Scalar::Bytes => "Type::Bytes",
        Scalar::Bool => "Type::Bool",
        Scalar::Int32 => "Type::Int32",
        Scalar::Int64 => "Type::Int64",
        Scalar::Double => "Type::Double",
    }
}

/// Messages whose JSON form is not an object of their fields (see `src/special.rs`).
fn special(m: &Message, has_definition: bool) -> &'static str {
    let meta = "apimachinery.pkg.apis.meta.v1";
    let apiextensions = m.package.starts_with("apiextensions_apiserver.pkg.apis.apiextensions.");
    match (m.package.as_str(), m.name.as_str()) {
        (p, "Time") if p == meta => "Time",
        (p, "MicroTime") if p == meta => "MicroTime",
        (p, "Duration") if p == meta => "Duration",
        (p, "FieldsV1") if p == meta => "RawJson",
        ("apimachinery.pkg.api.resource", "Quantity" | "QuantityValue") => "Quantity",
        ("apimachinery.pkg.util.intstr", "IntOrString") => "IntOrString",
        ("apimachinery.pkg.runtime", "RawExtension") => "RawJson",
        (_, "Json") if apiextensions => "RawJson",
        (_, "JsonSchemaPropsOrBool") if apiextensions => "SchemaOrBool",
        (_, "JsonSchemaPropsOrArray") if apiextensions => "SchemaOrArray",
        (_, "JsonSchemaPropsOrStringArray") if apiextensions => "SchemaOrStringArray",
        // Go named slices (`type ExtraValue []string`, `type Verbs []string`): protobuf wraps
        // them in a message with one `repeated string items`, JSON writes the bare array.
        _ if !has_definition
            && matches!(m.fields.as_slice(), [f] if f.number == 1 && f.rust_name == "items"
                && f.label == Label::Repeated && f.kind == Kind::Scalar(Scalar::String)) =>
        {
            "StringList"
        }
        _ => "None",
    }
}
