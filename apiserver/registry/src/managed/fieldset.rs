//! Sets of field paths (structured-merge-diff's `fieldpath.Set`), their wire form `FieldsV1`,
//! and the three walks over objects that produce or use them: the fields an applied
//! configuration sets ([`FieldSet::of_config`]), what a write changed ([`compare`]) and removing
//! fields from an object ([`remove`]).
//!
//! A path is a list of elements, each written as in `FieldsV1`:
//!
//! ```text
//! f:<name>              a field of an object                   .spec.replicas
//! k:{"name":"app"}      the item of a map list with these keys  .containers[name="app"]
//! v:"example.com/x"     the item of a set list                  .finalizers[="example.com/x"]
//! i:<n>                 an item by index (read, never written)  [0]
//! ```
//!
//! A set is a tree of elements where some nodes are members. `FieldsV1` writes a member as `{}`
//! (or, when it also has members below it, as `"."` among its children):
//!
//! ```text
//! {"f:metadata":{"f:labels":{".":{},"f:app":{}}}}    members .metadata.labels and .metadata.labels.app
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::shape::{Field, ListType, Shape, key_default};

/// A set of field paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// This node's path is in the set (never set on the root, the empty path).
    member: bool,
    /// The nodes below, by element.
    children: BTreeMap<String, FieldSet>,
}

/// What a write changed, as three sets of paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Paths in both objects whose (leaf) values differ.
    pub modified: FieldSet,
    /// Paths only in the new object.
    pub added: FieldSet,
    /// Paths only in the old object.
    pub removed: FieldSet,
}

impl FieldSet {
    /// The set of the given paths.
    pub fn from_paths<'a>(paths: impl IntoIterator<Item = &'a [&'a str]>) -> Self {
        let mut set = Self::default();
        for path in paths {
            set.insert(path);
        }
        set
    }

    /// Adds a path.
    pub fn insert<S: AsRef<str>>(&mut self, path: &[S]) {
        let mut node = self;
        for element in path {
            node = node.children.entry(element.as_ref().to_string()).or_default();
        }
        if !path.is_empty() {
            node.member = true;
        }
    }

    /// Whether the set has a path.
    pub fn has<S: AsRef<str>>(&self, path: &[S]) -> bool {
        let mut node = self;
        for element in path {
            match node.children.get(element.as_ref()) {
                Some(child) => node = child,
                None => return false,
            }
        }
        node.member && !path.is_empty()
    }

    /// No member here and no node below (true of every node the set operations keep once they
    /// have no path, so a cheap [`FieldSet::is_empty`]).
    fn is_blank(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    /// Whether the set has no path.
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(FieldSet::is_empty)
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.union_with(other);
        out
    }

    /// Adds every path of `other`.
    pub fn union_with(&mut self, other: &FieldSet) {
        self.member |= other.member;
        for (element, theirs) in &other.children {
            self.children.entry(element.clone()).or_default().union_with(theirs);
        }
    }

    /// Paths in this set and not in `other` (exactly: paths below a path of `other` stay).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet { member: self.member && !other.member, children: BTreeMap::new() };
        for (element, mine) in &self.children {
            let child = match other.children.get(element) {
                Some(theirs) => mine.difference(theirs),
                None => mine.clone(),
            };
            if !child.is_empty() {
                out.children.insert(element.clone(), child);
            }
        }
        out
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet { member: self.member && other.member, children: BTreeMap::new() };
        for (element, mine) in &self.children {
            if let Some(theirs) = other.children.get(element) {
                let child = mine.intersection(theirs);
                if !child.is_empty() {
                    out.children.insert(element.clone(), child);
                }
            }
        }
        out
    }

    /// Paths of this set that are neither in `other` nor below a path of `other`.
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        if other.member {
            return FieldSet::default();
        }
        let mut out = FieldSet { member: self.member, children: BTreeMap::new() };
        for (element, mine) in &self.children {
            let child = match other.children.get(element) {
                Some(theirs) => mine.recursive_difference(theirs),
                None => mine.clone(),
            };
            if !child.is_empty() {
                out.children.insert(element.clone(), child);
            }
        }
        out
    }

    /// Only the paths at or below `prefix` (an element), as a set of whole paths.
    pub fn keep_below(&self, element: &str) -> FieldSet {
        let mut out = FieldSet::default();
        if let Some(child) = self.children.get(element) {
            out.children.insert(element.to_string(), child.clone());
        }
        out
    }

    /// Keeps only the paths whose first element passes `keep`.
    pub fn retain_below(&mut self, keep: impl Fn(&str) -> bool) {
        self.member = false;
        self.children.retain(|element, _| keep(element));
    }

    /// This set plus every field (`f:`) above one of its paths: upstream's
    /// `EnsureNamedFieldsAreMembers`, which makes "owns something in `spec`" own `spec` when
    /// deciding what an apply removes. (Upstream adds struct fields only, not map keys; maps of
    /// objects are rare enough in built-in types for the difference not to show.)
    pub fn with_named_fields(&self) -> FieldSet {
        let mut out = FieldSet { member: self.member, children: BTreeMap::new() };
        for (element, child) in &self.children {
            let mut child = child.with_named_fields();
            if element.starts_with("f:") && !child.is_empty() {
                child.member = true;
            }
            if !child.is_empty() {
                out.children.insert(element.clone(), child);
            }
        }
        out
    }

    /// Every path, in order.
    pub fn paths(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if self.member && !prefix.is_empty() {
            out.push(prefix.clone());
        }
        for (element, child) in &self.children {
            prefix.push(element.clone());
            child.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// The set as `FieldsV1` JSON.
    pub fn to_fields_v1(&self) -> Value {
        let mut out = Map::new();
        if self.member && !self.children.is_empty() {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        for (element, child) in &self.children {
            if !child.is_empty() {
                out.insert(element.clone(), child.to_fields_v1());
            }
        }
        Value::Object(out)
    }

    /// A set from `FieldsV1` JSON; elements are checked and written canonically (a `k:`
    /// element's keys sorted, JSON compact).
    pub fn from_fields_v1(fields: &Value) -> Result<FieldSet, String> {
        let mut set = FieldSet::default();
        set.read_children(fields)?;
        Ok(set)
    }

    fn read_children(&mut self, fields: &Value) -> Result<(), String> {
        let Value::Object(map) = fields else { return Err(format!("expected an object, found {fields}")) };
        for (key, child) in map {
            if key == "." {
                self.member = true;
                continue;
            }
            let element = canonical_element(key)?;
            let node = self.children.entry(element).or_default();
            match child {
                Value::Object(inner) if inner.is_empty() => node.member = true,
                Value::Object(_) => node.read_children(child)?,
                other => return Err(format!("expected an object at {key:?}, found {other}")),
            }
        }
        Ok(())
    }

    /// The fields an applied configuration sets (upstream's `ToFieldSet`): every scalar, every
    /// empty or atomic map, every atomic list, every item of a set or map list (with the
    /// fields inside map-list items), and every field set to null. An error names a map-list
    /// item without its keys or a duplicated item.
    pub fn of_config(config: &Value, shape: Shape) -> Result<FieldSet, String> {
        let mut set = FieldSet::default();
        if let Value::Object(map) = config {
            set.collect_object(map, shape, &mut Vec::new())?;
        }
        Ok(set)
    }

    fn collect_object(&mut self, map: &Map<String, Value>, shape: Shape, path: &mut Vec<String>) -> Result<(), String> {
        for (name, value) in map {
            let field = shape.field(name);
            path.push(format!("f:{name}"));
            match value {
                Value::Object(inner) if !field.atomic && !inner.is_empty() => {
                    self.collect_object(inner, field.shape, path)?;
                }
                Value::Array(items) if field.list != ListType::Atomic => {
                    self.collect_items(items, &field, path)?;
                }
                _ => self.insert(path.as_slice()),
            }
            path.pop();
        }
        Ok(())
    }

    fn collect_items(&mut self, items: &[Value], field: &Field, path: &mut Vec<String>) -> Result<(), String> {
        let mut seen = BTreeSet::new();
        for item in items {
            let element =
                item_element(item, field.list).map_err(|e| format!("{}: {e}", display_path(path.as_slice())))?;
            if !seen.insert(element.clone()) {
                path.push(element);
                let err = format!(
                    "{}: duplicate entries for key {}",
                    display_path(&path[..path.len() - 1]),
                    display_path(&path[path.len() - 1..])
                );
                return Err(err);
            }
            path.push(element);
            if let (ListType::Map(_), Value::Object(inner), false) = (field.list, item, field.atomic) {
                self.collect_object(inner, field.shape, path)?;
            }
            self.insert(path.as_slice());
            path.pop();
        }
        Ok(())
    }
}

/// The element naming an item of a set or map list.
pub fn item_element(item: &Value, list: ListType) -> Result<String, String> {
    match list {
        ListType::Map(keys) => {
            let Value::Object(map) = item else { return Err("expected an object in a map list".into()) };
            let mut key = Map::new();
            for name in keys {
                let value = map.get(*name).filter(|v| !v.is_null()).cloned().or_else(|| key_default(name)).ok_or_else(|| {
                    format!("associative list with keys has an element that omits key field {name:?} (and doesn't have default value)")
                })?;
                key.insert((*name).to_string(), value);
            }
            Ok(format!("k:{}", Value::Object(key)))
        }
        ListType::Set => Ok(format!("v:{item}")),
        ListType::Atomic => Err("atomic lists have no elements".into()),
    }
}

/// An element as written in `FieldsV1`, checked and canonical.
fn canonical_element(element: &str) -> Result<String, String> {
    let (kind, rest) = element.split_at_checked(2).ok_or_else(|| format!("invalid path element {element:?}"))?;
    match kind {
        "f:" => Ok(element.to_string()),
        "k:" => match serde_json::from_str::<Value>(rest) {
            Ok(key @ Value::Object(_)) => Ok(format!("k:{key}")),
            _ => Err(format!("invalid key element {element:?}")),
        },
        "v:" => serde_json::from_str::<Value>(rest)
            .map(|v| format!("v:{v}"))
            .map_err(|_| format!("invalid value element {element:?}")),
        "i:" => {
            rest.parse::<usize>().map(|i| format!("i:{i}")).map_err(|_| format!("invalid index element {element:?}"))
        }
        _ => Err(format!("invalid path element {element:?}")),
    }
}

/// A path as upstream prints it in conflicts: `.spec.containers[name="app"].image`,
/// `.metadata.finalizers[="x"]`, `.spec.ports[port=80,protocol="TCP"]`.
pub fn display_path<S: AsRef<str>>(path: &[S]) -> String {
    let mut out = String::new();
    for element in path {
        let element = element.as_ref();
        let (kind, rest) = element.split_at_checked(2).unwrap_or(("", element));
        match kind {
            "f:" => {
                out.push('.');
                out.push_str(rest);
            }
            "k:" => {
                let fields: Vec<String> = match serde_json::from_str::<Value>(rest) {
                    Ok(Value::Object(map)) => map.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                    _ => vec![rest.to_string()],
                };
                out.push_str(&format!("[{}]", fields.join(",")));
            }
            "v:" => out.push_str(&format!("[={rest}]")),
            "i:" => out.push_str(&format!("[{rest}]")),
            _ => out.push_str(element),
        }
    }
    out
}

/// One side of a comparison at some path.
#[derive(Debug, Clone, Copy)]
enum Side<'a> {
    /// Not there.
    Absent,
    /// Not in the JSON, but always in upstream's typed object (an empty struct).
    Empty,
    /// This object.
    Object(&'a Map<String, Value>),
    /// This value, never an object (nor null: null is absent).
    Value(&'a Value),
}

impl<'a> Side<'a> {
    fn of(value: Option<&'a Value>) -> Self {
        match value {
            None | Some(Value::Null) => Side::Absent,
            Some(Value::Object(map)) => Side::Object(map),
            Some(value) => Side::Value(value),
        }
    }

    fn present(self) -> bool {
        !matches!(self, Side::Absent)
    }

    /// A field of this side (an object, or an empty struct).
    fn field(self, name: &str, field: &Field) -> Side<'a> {
        let value = match self {
            Side::Object(map) => map.get(name),
            _ => None,
        };
        match Side::of(value) {
            Side::Absent if field.present && !matches!(self, Side::Absent) => Side::Empty,
            side => side,
        }
    }

    fn object(self) -> Option<&'a Map<String, Value>> {
        match self {
            Side::Object(map) => Some(map),
            _ => None,
        }
    }

    fn array(self) -> Option<&'a [Value]> {
        match self {
            Side::Value(Value::Array(items)) => Some(items),
            _ => None,
        }
    }

    /// Absent, an empty struct, `{}` or `[]`.
    fn is_empty(self) -> bool {
        match self {
            Side::Absent | Side::Empty => true,
            Side::Object(map) => map.is_empty(),
            Side::Value(Value::Array(items)) => items.is_empty(),
            Side::Value(_) => false,
        }
    }

    fn equals(self, other: Side<'_>) -> bool {
        match (self, other) {
            (Side::Object(a), Side::Object(b)) => a == b,
            (Side::Value(a), Side::Value(b)) => a == b,
            (Side::Absent, Side::Absent) => true,
            (a, b) => a.present() && b.present() && a.is_empty() && b.is_empty(),
        }
    }

    /// Both sides are the same JSON value (so nothing below them changed).
    fn identical(self, other: Side<'_>) -> bool {
        match (self, other) {
            (Side::Object(a), Side::Object(b)) => std::ptr::eq(a, b) || a == b,
            (Side::Value(a), Side::Value(b)) => std::ptr::eq(a, b) || a == b,
            _ => false,
        }
    }
}

impl Comparison {
    fn is_empty(&self) -> bool {
        self.modified.is_blank() && self.added.is_blank() && self.removed.is_blank()
    }

    /// Puts `child`'s sets below `element` (nothing when it has no path).
    fn adopt(&mut self, element: impl FnOnce() -> String, child: Comparison) {
        if child.is_empty() {
            return;
        }
        let element = element();
        for (mine, theirs) in
            [(&mut self.modified, child.modified), (&mut self.added, child.added), (&mut self.removed, child.removed)]
        {
            if !theirs.is_blank() {
                mine.children.insert(element.clone(), theirs);
            }
        }
    }
}

/// What changed from `old` to `new` (objects of `shape`): upstream's typed `Compare`. A value
/// that appears is added with everything in it, one that goes is removed with everything in it,
/// a changed scalar or atomic value is modified.
pub fn compare(old: &Value, new: &Value, shape: Shape) -> Comparison {
    let mut out = Comparison::default();
    compare_at(Side::of(Some(old)), Side::of(Some(new)), &root_field(shape), true, None, &mut out);
    out
}

/// [`compare`] of two objects (`None`: `{}`) as if neither had `metadata.managedFields`, without
/// copying them.
pub fn compare_objects(old: Option<&Map<String, Value>>, new: &Map<String, Value>, shape: Shape) -> Comparison {
    let empty = Map::new();
    let mut out = Comparison::default();
    let old = Side::Object(old.unwrap_or(&empty));
    compare_at(old, Side::Object(new), &root_field(shape), true, Some("managedFields"), &mut out);
    out
}

fn root_field(shape: Shape) -> Field {
    Field { shape, atomic: false, list: ListType::Atomic, patch: crate::shape::PatchList::Replace, present: true }
}

/// Compares at one path; `out` holds the sets at that path (no member at the root). `skip` is a
/// field left out of the comparison: of the object's `metadata` at the root, of this object below.
fn compare_at(old: Side<'_>, new: Side<'_>, field: &Field, root: bool, skip: Option<&str>, out: &mut Comparison) {
    if skip.is_none() && old.identical(new) {
        return;
    }
    // Always-present structs: a field of that name holding a scalar is just absent.
    let scalar = |side: Side<'_>| matches!(side, Side::Value(v) if !v.is_array());
    let (old, new) = match (old, new) {
        (Side::Empty, new) if scalar(new) => (Side::Absent, new),
        (old, Side::Empty) if scalar(old) => (old, Side::Absent),
        sides => sides,
    };
    let objects = (old.object().is_some() || new.object().is_some())
        && !matches!(old, Side::Value(_))
        && !matches!(new, Side::Value(_));
    let lists = (old.array().is_some() || new.array().is_some())
        && field.list != ListType::Atomic
        && !matches!(old, Side::Value(v) if !v.is_array())
        && !matches!(new, Side::Value(v) if !v.is_array())
        && !matches!(old, Side::Object(_))
        && !matches!(new, Side::Object(_));
    let both_empty = old.is_empty() && new.is_empty();
    if objects && !field.atomic && !both_empty {
        let (old_map, new_map) = (old.object(), new.object());
        let mut compare_field = |name: &String| {
            let child = field.shape.field(name);
            let skip = if root && name == "metadata" { skip } else { None };
            let mut below = Comparison::default();
            compare_at(old.field(name, &child), new.field(name, &child), &child, false, skip, &mut below);
            out.adopt(|| format!("f:{name}"), below);
        };
        let skipped = |name: &String| !root && skip.is_some_and(|s| s == name);
        for name in new_map.into_iter().flat_map(|m| m.keys()) {
            if !skipped(name) {
                compare_field(name);
            }
        }
        for name in old_map.into_iter().flat_map(|m| m.keys()) {
            if !skipped(name) && !new_map.is_some_and(|m| m.contains_key(name)) {
                compare_field(name);
            }
        }
    } else if lists && !both_empty {
        let old_items = index_items(old.array().unwrap_or_default(), field.list);
        let new_items = index_items(new.array().unwrap_or_default(), field.list);
        let item = Field { present: false, list: ListType::Atomic, ..*field };
        let elements: BTreeSet<&String> = old_items.keys().chain(new_items.keys()).collect();
        for element in elements {
            let (o, n) = (Side::of(old_items.get(element).copied()), Side::of(new_items.get(element).copied()));
            let mut below = Comparison::default();
            if matches!(field.list, ListType::Map(_)) && !field.atomic {
                compare_at(o, n, &item, false, None, &mut below);
            } else {
                leaf(o, n, &mut below);
            }
            out.adopt(|| element.clone(), below);
        }
    } else {
        if !root {
            leaf(old, new, out);
        }
        return;
    }
    if root {
        return;
    }
    if !old.present() && new.present() {
        out.added.member = true;
    } else if old.present() && !new.present() {
        out.removed.member = true;
    }
}

fn leaf(old: Side<'_>, new: Side<'_>, out: &mut Comparison) {
    match (old.present(), new.present()) {
        (false, true) => out.added.member = true,
        (true, false) => out.removed.member = true,
        (true, true) if !old.equals(new) => out.modified.member = true,
        _ => {}
    }
}

/// A list's items by element (the first of duplicates; items without their keys are skipped).
fn index_items(items: &[Value], list: ListType) -> BTreeMap<String, &Value> {
    let mut out = BTreeMap::new();
    for item in items {
        if let Ok(element) = item_element(item, list) {
            out.entry(element).or_insert(item);
        }
    }
    out
}

/// Removes the paths of `set` from an object of `shape` (with everything below them); maps and
/// lists this empties go too (upstream's `RemoveItems`).
pub fn remove(obj: &mut Map<String, Value>, set: &FieldSet, shape: Shape) {
    remove_from_object(obj, set, shape);
}

fn remove_from_object(obj: &mut Map<String, Value>, set: &FieldSet, shape: Shape) {
    let mut gone = Vec::new();
    for (name, value) in obj.iter_mut() {
        let Some(below) = set.children.get(&format!("f:{name}")) else { continue };
        // A member goes whole; below it, what the removal empties goes too.
        if below.member || (!below.children.is_empty() && remove_from_value(value, below, &shape.field(name))) {
            gone.push(name.clone());
        }
    }
    for name in gone {
        obj.remove(&name);
    }
}

/// Removes below a value; true when that emptied it.
fn remove_from_value(value: &mut Value, set: &FieldSet, field: &Field) -> bool {
    match value {
        Value::Object(map) if !field.atomic => {
            let before = map.len();
            remove_from_object(map, set, field.shape);
            before > 0 && map.is_empty()
        }
        Value::Array(items) if field.list != ListType::Atomic => {
            let before = items.len();
            items.retain_mut(|item| {
                let Ok(element) = item_element(item, field.list) else { return true };
                match set.children.get(&element) {
                    Some(below) if below.member => false,
                    Some(below) if !field.atomic => match item {
                        Value::Object(map) => {
                            remove_from_object(map, below, field.shape);
                            true
                        }
                        _ => true,
                    },
                    _ => true,
                }
            });
            before > 0 && items.is_empty()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment() -> Shape {
        Shape::of("apps/v1", "Deployment")
    }

    #[test]
    fn fields_v1_round_trips_and_is_canonical() {
        let wire = json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}}}});
        let set = FieldSet::from_fields_v1(&wire).unwrap();
        assert!(set.has(&["f:metadata", "f:labels"]));
        assert!(set.has(&["f:metadata", "f:labels", "f:app"]));
        assert!(!set.has(&["f:metadata"]));
        assert!(set.has(&["f:spec", "f:template", "f:spec", "f:containers", "k:{\"name\":\"web\"}", "f:image"]));
        assert_eq!(set.to_fields_v1(), wire);
        // Keys are re-sorted and compacted; bad elements are refused.
        let loose = json!({"f:spec": {"f:ports": {"k:{\"protocol\": \"TCP\", \"port\": 80}": {}}}});
        let set = FieldSet::from_fields_v1(&loose).unwrap();
        assert!(set.has(&["f:spec", "f:ports", "k:{\"port\":80,\"protocol\":\"TCP\"}"]));
        assert!(FieldSet::from_fields_v1(&json!({"x:y": {}})).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"f:a": 1})).is_err());
        assert_eq!(
            display_path(&["f:spec", "f:ports", "k:{\"port\":80,\"protocol\":\"TCP\"}", "f:name"]),
            ".spec.ports[port=80,protocol=\"TCP\"].name"
        );
        assert_eq!(display_path(&["f:metadata", "f:finalizers", "v:\"a/b\""]), ".metadata.finalizers[=\"a/b\"]");
    }

    #[test]
    fn set_operations() {
        let a = FieldSet::from_paths([&["f:a", "f:b"][..], &["f:a", "f:c"], &["f:d"]]);
        let b = FieldSet::from_paths([&["f:a", "f:b"][..], &["f:a"]]);
        assert_eq!(a.difference(&b).paths(), vec![vec!["f:a", "f:c"], vec!["f:d"]]);
        assert_eq!(a.intersection(&b).paths(), vec![vec!["f:a", "f:b"]]);
        assert_eq!(a.recursive_difference(&b).paths(), vec![vec!["f:d"]]);
        assert_eq!(b.union(&a).paths().len(), 4);
        let named =
            FieldSet::from_paths([&["f:spec", "f:list", "k:{\"name\":\"x\"}", "f:image"][..]]).with_named_fields();
        assert!(named.has(&["f:spec"]) && named.has(&["f:spec", "f:list"]));
        assert!(!named.has(&["f:spec", "f:list", "k:{\"name\":\"x\"}"]), "list items are not named fields");
        assert!(FieldSet::default().is_empty() && a.difference(&a).is_empty());
    }

    #[test]
    fn config_fields_follow_list_types_and_atomic_values() {
        let config = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["example.com/f"], "annotations": {}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "paused": null,
                "template": {"spec": {"containers": [{"name": "web", "image": "nginx", "args": ["a"],
                    "ports": [{"containerPort": 80}], "resources": {}}]}}}});
        let set = FieldSet::of_config(&config, deployment()).unwrap();
        let container = ["f:spec", "f:template", "f:spec", "f:containers", "k:{\"name\":\"web\"}"];
        for path in [
            &["f:apiVersion"][..],
            &["f:metadata", "f:name"],
            &["f:metadata", "f:labels", "f:app"],
            &["f:metadata", "f:annotations"],
            &["f:metadata", "f:finalizers", "v:\"example.com/f\""],
            &["f:spec", "f:replicas"],
            &["f:spec", "f:selector"],
            &["f:spec", "f:paused"],
            &container,
            &[&container[..], &["f:args"]].concat(),
            &[&container[..], &["f:resources"]].concat(),
            &[&container[..], &["f:ports", "k:{\"containerPort\":80,\"protocol\":\"TCP\"}", "f:containerPort"]]
                .concat(),
        ] {
            assert!(set.has(path), "{path:?} in {}", set.to_fields_v1());
        }
        assert!(!set.has(&["f:spec"]) && !set.has(&["f:metadata", "f:labels"]));
        assert!(!set.has(&["f:spec", "f:selector", "f:matchLabels"]), "an atomic selector is one field");
        let missing_key = json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}});
        let err = FieldSet::of_config(&missing_key, deployment()).unwrap_err();
        assert!(err.contains(".spec.template.spec.containers") && err.contains("omits key field \"name\""), "{err}");
        let duplicate = json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "a"}]}}}});
        assert!(
            FieldSet::of_config(&duplicate, deployment())
                .unwrap_err()
                .contains("duplicate entries for key [name=\"a\"]")
        );
    }

    #[test]
    fn compare_marks_added_objects_but_not_always_present_structs() {
        let old = json!({"metadata": {"name": "web"}});
        let new = json!({"metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 1, "strategy": {"rollingUpdate": {"maxSurge": 1}},
                "template": {"spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}]}}}});
        let cmp = compare(&old, &new, deployment());
        assert!(cmp.modified.is_empty() && cmp.removed.is_empty());
        let added = cmp.added;
        assert!(added.has(&["f:metadata", "f:labels"]) && added.has(&["f:metadata", "f:labels", "f:app"]));
        assert!(!added.has(&["f:spec"]) && !added.has(&["f:spec", "f:strategy"]), "Go structs are always there");
        assert!(added.has(&["f:spec", "f:strategy", "f:rollingUpdate"]), "a pointer is added");
        let containers = ["f:spec", "f:template", "f:spec", "f:containers"];
        assert!(!added.has(&containers));
        let item = [&containers[..], &["k:{\"name\":\"web\"}"]].concat();
        assert!(added.has(&item) && added.has(&[&item[..], &["f:image"]].concat()));
        assert!(added.has(&[&item[..], &["f:ports"]].concat()), "an omitted list is added");
        assert_eq!(
            added.to_fields_v1()["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["f:ports"],
            json!({".": {}, "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}})
        );
        // Changes and removals.
        let newer = json!({"metadata": {"name": "web"}, "spec": {"replicas": 3, "strategy": {},
            "template": {"spec": {"containers": [{"name": "web", "image": "nginx:2", "ports": [{"containerPort": 80}]}]}}}});
        let cmp = compare(&new, &newer, deployment());
        assert_eq!(
            cmp.modified.paths().iter().map(|p| display_path(p)).collect::<Vec<_>>(),
            [".spec.replicas", ".spec.template.spec.containers[name=\"web\"].image"]
        );
        assert!(cmp.removed.has(&["f:metadata", "f:labels"]) && cmp.removed.has(&["f:metadata", "f:labels", "f:app"]));
        assert!(cmp.removed.has(&["f:spec", "f:strategy", "f:rollingUpdate", "f:maxSurge"]));
        assert!(cmp.added.is_empty());
        assert_eq!(compare(&newer, &newer, deployment()), Comparison::default());
        // A scalar named like an always-present struct (a condition's status) is removed.
        let with = json!({"status": {"conditions": [{"type": "Available", "status": "True"}]}});
        let without = json!({"status": {"conditions": [{"type": "Available"}]}});
        let cmp = compare(&with, &without, deployment());
        assert_eq!(
            cmp.removed.paths().iter().map(|p| display_path(p)).collect::<Vec<_>>(),
            [".status.conditions[type=\"Available\"].status"]
        );
        assert!(cmp.modified.is_empty());
    }

    #[test]
    fn remove_drops_members_with_what_is_below_and_what_it_empties() {
        let mut obj = json!({"metadata": {"labels": {"a": "1"}, "finalizers": ["x", "y"]},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "a", "image": "i", "env": [{"name": "E", "value": "1"}]}, {"name": "b", "image": "j"}]}}}});
        let set = FieldSet::from_paths([
            &["f:metadata", "f:labels", "f:a"][..],
            &["f:metadata", "f:finalizers", "v:\"x\""],
            &["f:spec", "f:template", "f:spec", "f:containers", "k:{\"name\":\"b\"}"],
            &["f:spec", "f:template", "f:spec", "f:containers", "k:{\"name\":\"a\"}", "f:env", "k:{\"name\":\"E\"}"],
        ]);
        remove(obj.as_object_mut().unwrap(), &set, deployment());
        assert_eq!(
            obj,
            json!({"metadata": {"finalizers": ["y"]}, "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "a", "image": "i"}]}}}})
        );
    }
}
