//! The generic registry: one code path per verb for every resource, over the store, with the
//! resource's [`Strategy`] supplying what differs (upstream's `genericregistry.Store`).

use std::borrow::Cow;
use std::sync::Arc;

use apiserver_machinery::continue_token::Continue;
use apiserver_machinery::field::{FieldError, FieldErrors};
use apiserver_machinery::resource_version::{ListRead, ReadParams, plan_get, plan_list};
use apiserver_machinery::resources::ResourceInfo;
use apiserver_machinery::selectors::{FieldSelector, LabelSelector};
use apiserver_machinery::{ApiError, GroupKind, GroupResource};
use apiserver_store::{KeyValue, ListOptions as StoreList, Precondition, Store, StoreError};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::admission;
use crate::claims;
use crate::fields as selectable;
use crate::managed::{self, Scope, UNKNOWN_MANAGER, Writer};
use crate::metadata;
use crate::object::{Object, finalizers, is_deleting, meta_str, meta_string_map, now, now_plus, set_meta};
use crate::patch::apply::{self as server_side, ApplyError};
use crate::patch::{self, PatchError, PatchType};
use crate::raw;
use crate::shape::Shape;
use crate::strategy::Strategy;

/// Attempts of an unconditional update (no resourceVersion given) that lost a race.
const UNCONDITIONAL_RETRIES: usize = 8;
/// Names tried for a `generateName` create before giving up (upstream's count).
const GENERATE_NAME_ATTEMPTS: usize = 8;

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The main resource: everything but what the strategy reserves (usually status).
    Main,
    /// The status subresource: only `status`.
    Status,
    /// A namespace's `finalize` subresource: only `spec.finalizers`.
    Finalize,
}

/// How a write is recorded in `managedFields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tracking {
    /// An Update by the options' field manager, through the main resource or a subresource
    /// ("" for the main resource, `status`, `scale`).
    Update(&'static str),
    /// Server-side apply already set the `managedFields` of the body.
    Applied,
}

/// Options of create, update, patch and apply.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: everything but the write.
    pub dry_run: bool,
    /// The field manager the write is recorded for in `managedFields`: `fieldManager`, or
    /// (upstream's fallback for everything but apply) the User-Agent up to its first `/`.
    /// Default: none, recorded as `unknown`; apply refuses it.
    pub field_manager: Option<String>,
    /// `force=true` (apply only): take fields other managers own instead of conflicting.
    /// Default: false.
    pub force: bool,
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The object did not exist: the apply created it (201).
    Created(Object),
    /// The object existed: this is it after the apply.
    Updated(Object),
}

/// Options of a list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListOptions<'a> {
    /// resourceVersion, match, limit, continue.
    pub read: ReadParams<'a>,
    /// `labelSelector`.
    pub label_selector: Option<&'a str>,
    /// `fieldSelector`.
    pub field_selector: Option<&'a str>,
}

/// How dependents of a deleted object are treated (recorded for the garbage collector).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Dependents are deleted in the background (the default).
    Background,
    /// The object waits (finalizer `foregroundDeletion`) until its dependents are gone.
    Foreground,
    /// Dependents are kept (finalizer `orphan`).
    Orphan,
}

/// Options of a delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `propagationPolicy`, if the client gave one.
    pub propagation: Option<Propagation>,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `gracePeriodSeconds`: how long a gracefully deleted object (a pod) may take.
    pub grace_period_seconds: Option<i64>,
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq)]
pub enum Deleted {
    /// The object is gone; this was its last state.
    Gone(Object),
    /// The object is marked for deletion and waits for finalizers.
    Pending(Object),
}

/// The registry of one resource.
#[derive(Clone)]
pub struct Registry {
    strategy: Arc<dyn Strategy>,
    /// The strategy's resource, looked up once (strategies find it in the resource table).
    resource: &'static ResourceInfo,
    store: Arc<dyn Store>,
    /// Whether writes pass the [`admission`] checks (the server's registries do; a registry
    /// tested alone, without the namespaces and classes they read, does not).
    admission: bool,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("resource", &self.resource().plural).finish_non_exhaustive()
    }
}

impl Registry {
    /// The registry of `strategy`'s resource over `store`.
    pub fn new(strategy: Arc<dyn Strategy>, store: Arc<dyn Store>) -> Self {
        Self { resource: strategy.resource(), strategy, store, admission: false }
    }

    /// The registry of every served resource over `store`, with admission: what a server runs.
    pub fn all(store: &Arc<dyn Store>) -> Vec<Self> {
        crate::resources::all().into_iter().map(|s| Self { admission: true, ..Self::new(s, store.clone()) }).collect()
    }

    /// The resource served.
    pub fn resource(&self) -> &'static ResourceInfo {
        self.resource
    }

    /// The fields of `body` this resource's type does not know (`fieldValidation`); none when
    /// the body is not even of the right shape (that is reported by the write itself). The
    /// directives of a strategic merge patch (`$patch`, `$setElementOrder/...`) are not fields.
    pub fn unknown_fields(&self, body: &Value) -> Vec<String> {
        let (api_version, kind) = (self.resource().api_version(), self.resource().kind);
        // The typed decoding wants the type's apiVersion and kind; copy the body only to add them.
        let typed = body.get("apiVersion").and_then(Value::as_str) == Some(api_version.as_str())
            && body.get("kind").and_then(Value::as_str) == Some(kind);
        let body = if typed {
            Cow::Borrowed(body)
        } else {
            let mut body = body.clone();
            if let Some(obj) = body.as_object_mut() {
                obj.insert("apiVersion".into(), json!(api_version));
                obj.insert("kind".into(), json!(kind));
            }
            Cow::Owned(body)
        };
        let mut unknown = Vec::new();
        if self.strategy.check_shape(&body, Some(&mut unknown)).is_err() {
            return Vec::new();
        }
        unknown.retain(|path| !path.split(['.', ']']).any(|segment| segment.starts_with('$')));
        unknown
    }

    /// Resources with a status subresource own `status` there: the main resource neither sets
    /// it on create (the strategy may default it) nor changes it on update.
    fn has_status_subresource(&self) -> bool {
        self.resource().subresource("status").is_some()
    }

    /// Whether a completed delete answers with the object rather than a success `Status`.
    pub fn returns_deleted_object(&self) -> bool {
        self.strategy.returns_deleted_object()
    }

    fn group_resource(&self) -> GroupResource<'static> {
        let r = self.resource();
        GroupResource { group: r.group, resource: r.plural }
    }

    fn group_kind(&self) -> GroupKind<'static> {
        let r = self.resource();
        GroupKind { group: r.group, kind: r.kind }
    }

    /// `/registry/<group>/<plural>/[<namespace>/]`: every object of the resource (in a namespace),
    /// under the group it is stored in (see [`crate::strategy::VersionConversion::storage_group`]).
    pub(crate) fn prefix(&self, namespace: Option<&str>) -> String {
        let r = self.resource();
        let group = self.strategy.conversion().map_or(r.group, |conversion| conversion.storage_group);
        crate::keys::prefix(group, r.plural, namespace.filter(|_| r.namespaced))
    }

    pub(crate) fn object_key(&self, namespace: Option<&str>, name: &str) -> Result<Bytes, ApiError> {
        self.key(namespace, name)
    }

    fn key(&self, namespace: Option<&str>, name: &str) -> Result<Bytes, ApiError> {
        if name.is_empty() || name.contains('/') || namespace.is_some_and(|ns| ns.contains('/')) {
            return Err(ApiError::not_found(self.group_resource(), name));
        }
        Ok(Bytes::from(format!("{}{name}", self.prefix(namespace))))
    }

    pub(crate) fn strategy(&self) -> &Arc<dyn Strategy> {
        &self.strategy
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(crate) fn store_error(&self, err: StoreError, name: &str) -> ApiError {
        match err {
            StoreError::NotFound => ApiError::not_found(self.group_resource(), name),
            StoreError::AlreadyExists => ApiError::already_exists(self.group_resource(), name),
            StoreError::Conflict { .. } => ApiError::conflict(self.group_resource(), name, ApiError::OBJECT_MODIFIED),
            StoreError::Compacted { .. } => ApiError::expired("The resourceVersion for the provided list is too old."),
            StoreError::FutureRevision { requested, current } => {
                ApiError::too_large_resource_version(requested, current, 1)
            }
            StoreError::TooLarge { size, limit } => {
                ApiError::too_large(&format!("object of {size} bytes exceeds the limit of {limit} bytes"))
            }
            StoreError::InvalidKey(why) => ApiError::bad_request(why),
            other => ApiError::internal(other),
        }
    }

    /// Decodes a stored object (in this registry's version) and sets its resourceVersion.
    pub(crate) fn decode(&self, kv: &KeyValue) -> Result<Object, ApiError> {
        let stored: Object = serde_json::from_slice(&kv.value)
            .map_err(|e| ApiError::internal(format!("stored object {:?} is corrupt: {e}", kv.key)))?;
        let mut obj = match self.strategy.conversion() {
            Some(conversion) => (conversion.from_storage)(stored),
            None => stored,
        };
        set_meta(&mut obj, "resourceVersion", Some(json!(kv.mod_revision.to_string())));
        Ok(obj)
    }

    /// An object's stored bytes (in the storage version).
    pub(crate) fn encode(&self, obj: &Object) -> Bytes {
        let bytes = match self.strategy.conversion() {
            Some(conversion) => serde_json::to_vec(&(conversion.to_storage)(obj.clone())),
            None => serde_json::to_vec(obj),
        };
        Bytes::from(bytes.expect("a JSON object serialises"))
    }

    /// The body as an object of this resource's kind: right shape, apiVersion and kind.
    fn accept_body(&self, body: Value) -> Result<Object, ApiError> {
        let r = self.resource();
        let Value::Object(mut obj) = body else {
            return Err(ApiError::bad_request("the body of the request must be a JSON object"));
        };
        let api_version = r.api_version();
        match obj.get("apiVersion").and_then(Value::as_str) {
            None | Some("") => {}
            Some(v) if v == api_version => {}
            Some(v) => {
                return Err(ApiError::bad_request(format!(
                    "the API version in the data ({v}) does not match the expected API version ({api_version})"
                )));
            }
        }
        match obj.get("kind").and_then(Value::as_str) {
            None | Some("") => {}
            Some(k) if k == r.kind => {}
            Some(k) => {
                return Err(ApiError::bad_request(format!(
                    "the kind in the data ({k}) does not match the expected kind ({})",
                    r.kind
                )));
            }
        }
        obj.insert("apiVersion".into(), json!(api_version));
        obj.insert("kind".into(), json!(r.kind));
        let as_value = Value::Object(obj);
        self.strategy
            .check_shape(&as_value, None)
            .map_err(|e| ApiError::bad_request(format!("error decoding {} {}: {e}", r.kind, r.api_version())))?;
        let Value::Object(obj) = as_value else { unreachable!("still an object") };
        Ok(obj)
    }

    /// A body's namespace must be empty or the request's.
    fn check_namespace(&self, obj: &Object, namespace: Option<&str>) -> Result<(), ApiError> {
        let body_ns = meta_str(obj, "namespace");
        match namespace.filter(|_| self.resource().namespaced) {
            Some(ns) if !body_ns.is_empty() && body_ns != ns => Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            )),
            _ => Ok(()),
        }
    }

    /// A write to a missing object in a missing namespace is told about the namespace, as
    /// upstream's admission (which runs before the registry looks) answers.
    async fn namespace_missing_first(&self, err: ApiError, namespace: Option<&str>) -> ApiError {
        if err.code() != 404 || !self.admission {
            return err;
        }
        admission::missing_namespace(self.store.as_ref(), self.resource(), namespace).await.unwrap_or(err)
    }

    fn invalid(&self, name: &str, errors: &FieldErrors) -> ApiError {
        ApiError::invalid(self.group_kind(), name, errors)
    }

    /// Creates an object.
    pub async fn create(
        &self,
        namespace: Option<&str>,
        body: Value,
        options: WriteOptions,
    ) -> Result<Object, ApiError> {
        self.create_tracked(namespace, body, &options, Tracking::Update("")).await
    }

    /// The field manager's view of a write: who, with what, to which part.
    fn writer<'a>(
        &self,
        options: &'a WriteOptions,
        api_version: &'a str,
        part: Part,
        subresource: &'a str,
    ) -> Writer<'a> {
        let scope = match part {
            Part::Status => Scope::StatusOnly,
            Part::Main | Part::Finalize if self.has_status_subresource() => Scope::AllButStatus,
            Part::Main | Part::Finalize => Scope::Whole,
        };
        Writer {
            manager: options.field_manager.as_deref().filter(|m| !m.is_empty()).unwrap_or(UNKNOWN_MANAGER),
            api_version,
            subresource,
            scope,
            shape: Shape::of(api_version, self.resource().kind),
            now: now(),
        }
    }

    async fn create_tracked(
        &self,
        namespace: Option<&str>,
        body: Value,
        options: &WriteOptions,
        tracking: Tracking,
    ) -> Result<Object, ApiError> {
        let mut body = self.accept_body(body)?;
        self.check_namespace(&body, namespace)?;
        if self.admission {
            admission::admit_create(self.store.as_ref(), self.resource(), namespace, &mut body).await?;
        }
        if !options.dry_run && !meta_str(&body, "resourceVersion").is_empty() {
            return Err(ApiError::resource_version_set_on_create());
        }
        let generated = meta_str(&body, "name").is_empty() && !meta_str(&body, "generateName").is_empty();
        let attempts = if generated || self.strategy.uses_claims() { GENERATE_NAME_ATTEMPTS } else { 1 };
        let mut last_name = String::new();
        for attempt in 1..=attempts {
            let mut obj = body.clone();
            metadata::prepare_create(
                self.strategy.as_ref(),
                &mut obj,
                namespace.filter(|_| self.resource().namespaced),
            );
            if self.has_status_subresource() {
                obj.remove("status");
            }
            self.strategy.prepare_for_create(&mut obj);
            // The creator owns what it sent and its defaults, not what allocation adds below
            // (a Service's cluster IPs and node ports), as upstream records it.
            if let Tracking::Update(subresource) = tracking {
                let api_version = self.resource().api_version();
                managed::record_update(
                    None,
                    &mut obj,
                    &self.writer(options, &api_version, Part::Main, subresource),
                    true,
                );
            }
            let name = meta_str(&obj, "name").to_string();
            let mut errors = metadata::validate_create(self.strategy.as_ref(), &obj);
            if self.strategy.uses_claims() {
                let taken = claims::taken(self.store.as_ref()).await.map_err(|e| self.store_error(e, &name))?;
                errors.extend(self.strategy.allocate(&mut obj, &taken));
            }
            errors.extend(self.strategy.validate(&obj));
            if !errors.is_empty() {
                return Err(self.invalid(&name, &errors));
            }
            let key = self.key(namespace, &name)?;
            let held = self.strategy.claims(&obj);
            if !options.dry_run && !held.is_empty() {
                let holder = String::from_utf8_lossy(&key).into_owned();
                match claims::claim(self.store.as_ref(), &held, &holder)
                    .await
                    .map_err(|e| self.store_error(e, &name))?
                {
                    Ok(()) => {}
                    // Someone claimed it between our look and our claim: choose again.
                    Err(_) if attempt < attempts => continue,
                    Err(claim) => {
                        return Err(ApiError::conflict(
                            self.group_resource(),
                            &name,
                            &format!("{claim} is already allocated"),
                        ));
                    }
                }
            }
            let result = if options.dry_run {
                match self.store.get(&key, 0).await {
                    Ok(_) => Err(StoreError::AlreadyExists),
                    Err(StoreError::NotFound) => return Ok(obj),
                    Err(err) => Err(err),
                }
            } else {
                self.store.create(key.clone(), self.encode(&obj)).await
            };
            if result.is_err() && !options.dry_run {
                claims::release(self.store.as_ref(), &held).await;
            }
            match result {
                Ok(kv) => {
                    set_meta(&mut obj, "resourceVersion", Some(json!(kv.mod_revision.to_string())));
                    return Ok(obj);
                }
                Err(StoreError::AlreadyExists) if generated => last_name = name,
                Err(StoreError::AlreadyExists) => {
                    let deleting = match self.store.get(&key, 0).await {
                        Ok(kv) => self.decode(&kv).is_ok_and(|existing| is_deleting(&existing)),
                        Err(_) => false,
                    };
                    return Err(if deleting {
                        ApiError::already_exists_deleting(self.group_resource(), &name)
                    } else {
                        ApiError::already_exists(self.group_resource(), &name)
                    });
                }
                Err(err) => return Err(self.store_error(err, &name)),
            }
        }
        Err(ApiError::generate_name_conflict(self.group_resource(), &last_name))
    }

    /// Reads one object.
    pub async fn get(
        &self,
        namespace: Option<&str>,
        name: &str,
        resource_version: Option<&str>,
    ) -> Result<Object, ApiError> {
        let key = self.key(namespace, name)?;
        if let ListRead::NotOlderThan(wanted) = plan_get(resource_version)? {
            let current = self.store.current_revision();
            if wanted > current {
                return Err(ApiError::too_large_resource_version(wanted, current, 1));
            }
        }
        let kv = self.store.get(&key, 0).await.map_err(|e| self.store_error(e, name))?;
        self.decode(&kv)
    }

    /// Lists objects (in a namespace, or everywhere with `None`), as a `<Kind>List`.
    pub async fn list(&self, namespace: Option<&str>, options: ListOptions<'_>) -> Result<Value, ApiError> {
        let (selected, list_meta) = self.select(namespace, options).await?;
        let items = selected
            .into_iter()
            .map(|(kv, decoded)| decoded.map_or_else(|| self.decode(&kv), Ok).map(Value::Object))
            .collect::<Result<Vec<_>, _>>()?;
        let r = self.resource();
        Ok(json!({
            "apiVersion": r.api_version(),
            "kind": format!("{}List", r.kind),
            "metadata": list_meta,
            "items": items,
        }))
    }

    /// The same list as [`Self::list`], encoded as JSON: the items are their stored bytes with
    /// the resourceVersion spliced in, not decoded and re-encoded (LISTs of thousands of objects
    /// stay a copy). Resources served in another version than stored take the decoding path.
    pub async fn list_json(&self, namespace: Option<&str>, options: ListOptions<'_>) -> Result<Bytes, ApiError> {
        if self.strategy.conversion().is_some() {
            let list = self.list(namespace, options).await?;
            return Ok(Bytes::from(serde_json::to_vec(&list).expect("JSON values serialise")));
        }
        let (selected, list_meta) = self.select(namespace, options).await?;
        let r = self.resource();
        let head = json!({"apiVersion": r.api_version(), "kind": format!("{}List", r.kind), "metadata": list_meta});
        let mut out = serde_json::to_vec(&head).expect("JSON values serialise");
        out.pop(); // the closing brace: items follow
        let size: usize = selected.iter().map(|(kv, _)| kv.value.len() + 32).sum();
        out.reserve(size + 16);
        out.extend_from_slice(b",\"items\":[");
        for (i, (kv, decoded)) in selected.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match raw::with_resource_version(&kv.value, kv.mod_revision) {
                Some(bytes) => out.extend_from_slice(&bytes),
                None => {
                    let obj = match decoded {
                        Some(obj) => obj.clone(),
                        None => self.decode(kv)?,
                    };
                    out.extend_from_slice(&serde_json::to_vec(&obj).expect("JSON values serialise"));
                }
            }
        }
        out.extend_from_slice(b"]}");
        Ok(Bytes::from(out))
    }

    /// The stored objects a list selects, at one snapshot (with their decoded form when the
    /// selectors needed it), and the list's metadata.
    async fn select(
        &self,
        namespace: Option<&str>,
        options: ListOptions<'_>,
    ) -> Result<(Vec<(KeyValue, Option<Object>)>, Value), ApiError> {
        let (labels, fields) = self.selectors(options.label_selector, options.field_selector)?;
        let prefix = self.prefix(namespace);
        let (revision, mut start_after, expired_token) = match plan_list(&options.read)? {
            ListRead::Current => (0, None, false),
            ListRead::NotOlderThan(wanted) => {
                let current = self.store.current_revision();
                if wanted > current {
                    return Err(ApiError::too_large_resource_version(wanted, current, 1));
                }
                (0, None, false)
            }
            ListRead::Exact(revision) => (revision, None, false),
            ListRead::Continue(token) => (token.revision, Some(Bytes::from(format!("{prefix}{}", token.after))), true),
        };
        // If this continuation's snapshot is gone, the 410 offers to go on from the latest state.
        let continue_latest = start_after
            .as_ref()
            .map(|after| Continue { revision: 0, after: String::from_utf8_lossy(&after[prefix.len()..]).into_owned() });
        let limit = options.read.limit.filter(|&l| l > 0).map(|l| l as usize);
        let filtering = !labels.is_empty() || !fields.is_empty();
        let mut items = Vec::new();
        let mut snapshot = revision;
        let (more, remaining) = loop {
            let want = limit.map_or(0, |l| l - items.len());
            let page = self
                .store
                .list(
                    prefix.as_bytes(),
                    StoreList { revision: snapshot, limit: want, start_after: start_after.clone() },
                )
                .await
                .map_err(|e| match e {
                    StoreError::Compacted { .. } if expired_token => match &continue_latest {
                        Some(token) => ApiError::expired_with_continue(CONTINUE_EXPIRED, token.encode()),
                        None => ApiError::expired(CONTINUE_EXPIRED),
                    },
                    e => self.store_error(e, ""),
                })?;
            snapshot = page.revision;
            start_after = page.items.last().map(|kv| kv.key.clone()).or(start_after);
            for kv in page.items.iter() {
                if !filtering {
                    items.push((kv.clone(), None));
                    continue;
                }
                let obj = self.decode(kv)?;
                if self.matches(&obj, &labels, &fields) {
                    items.push((kv.clone(), Some(obj)));
                }
            }
            let full = limit.is_some_and(|l| items.len() >= l);
            if !page.more() || full {
                break (page.more(), page.remaining);
            }
        };
        let mut list_meta = json!({ "resourceVersion": snapshot.to_string() });
        if more && let Some(last) = &start_after {
            let after = String::from_utf8_lossy(&last[prefix.len()..]).into_owned();
            list_meta["continue"] = json!(Continue { revision: snapshot, after }.encode());
            if !filtering {
                list_meta["remainingItemCount"] = json!(remaining);
            }
        }
        Ok((items, list_meta))
    }

    /// Parses the selectors of a list or watch; a field the resource cannot select on is a 400.
    pub(crate) fn selectors(
        &self,
        labels: Option<&str>,
        fields: Option<&str>,
    ) -> Result<(LabelSelector, FieldSelector), ApiError> {
        let labels = LabelSelector::parse(labels.unwrap_or("")).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let fields = FieldSelector::parse(fields.unwrap_or("")).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let extra = self.strategy.selectable_fields();
        for requirement in fields.requirements() {
            let field = requirement.field.as_str();
            let supported = field == "metadata.name"
                || (field == "metadata.namespace" && self.resource().namespaced)
                || selectable::find(extra, field).is_some();
            if !supported {
                // Upstream's two conversion functions word this differently.
                return Err(ApiError::bad_request(if extra.is_empty() {
                    format!("\"{field}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"")
                } else {
                    format!("field label not supported: {field}")
                }));
            }
        }
        Ok((labels, fields))
    }

    pub(crate) fn matches(&self, obj: &Object, labels: &LabelSelector, fields: &FieldSelector) -> bool {
        labels.matches(&meta_string_map(obj, "labels")) && fields.matches(|field| self.field_value(obj, field))
    }

    /// What a field selector compares for `field` of `obj`.
    fn field_value<'a>(&self, obj: &'a Object, field: &str) -> Option<Cow<'a, str>> {
        match field {
            "metadata.name" => Some(Cow::Borrowed(meta_str(obj, "name"))),
            "metadata.namespace" => Some(Cow::Borrowed(meta_str(obj, "namespace"))),
            other => selectable::find(self.strategy.selectable_fields(), other).map(|f| f.value(obj)),
        }
    }

    /// Replaces an object (PUT). With `metadata.resourceVersion` in the body the update is
    /// conditional (409 if stale); without, it applies to whatever is stored.
    pub async fn update(
        &self,
        namespace: Option<&str>,
        name: &str,
        body: Value,
        options: WriteOptions,
    ) -> Result<Object, ApiError> {
        self.update_part(namespace, name, body, &options, Part::Main, Tracking::Update("")).await
    }

    /// Replaces an object's `status` (PUT on the status subresource): everything else is kept.
    pub async fn update_status(
        &self,
        namespace: Option<&str>,
        name: &str,
        body: Value,
        options: WriteOptions,
    ) -> Result<Object, ApiError> {
        self.update_part(namespace, name, body, &options, Part::Status, Tracking::Update("status")).await
    }

    /// Replaces a namespace's `spec.finalizers` (PUT on `finalize`), what the namespace
    /// controller does once the namespace is empty; removing the last one completes a delete.
    pub async fn finalize(&self, name: &str, body: Value, options: WriteOptions) -> Result<Object, ApiError> {
        self.update_part(None, name, body, &options, Part::Finalize, Tracking::Update("finalize")).await
    }

    /// Replaces an object for the scale subresource (recorded as a `scale` write).
    pub(crate) async fn update_for_scale(
        &self,
        namespace: Option<&str>,
        name: &str,
        body: Value,
        options: &WriteOptions,
    ) -> Result<Object, ApiError> {
        self.update_part(namespace, name, body, options, Part::Main, Tracking::Update("scale")).await
    }

    async fn update_part(
        &self,
        namespace: Option<&str>,
        name: &str,
        body: Value,
        options: &WriteOptions,
        part: Part,
        tracking: Tracking,
    ) -> Result<Object, ApiError> {
        self.update_read(namespace, name, body, options, part, tracking, None).await
    }

    /// [`Self::update_part`] given what the caller already read (a patch or apply reads the
    /// object to compute the body): the first attempt uses it instead of reading and decoding
    /// the object again; a retry after a conflict reads afresh.
    #[allow(clippy::too_many_arguments)]
    async fn update_read(
        &self,
        namespace: Option<&str>,
        name: &str,
        body: Value,
        options: &WriteOptions,
        part: Part,
        tracking: Tracking,
        mut read: Option<(KeyValue, Object)>,
    ) -> Result<Object, ApiError> {
        let mut body = self.accept_body(body)?;
        let body_name = meta_str(&body, "name");
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        if self.resource().namespaced {
            let body_ns = meta_str(&body, "namespace");
            let request_ns = namespace.unwrap_or_default();
            if !body_ns.is_empty() && body_ns != request_ns {
                return Err(ApiError::bad_request(format!(
                    "the namespace of the object ({body_ns}) does not match the namespace on the request ({request_ns})"
                )));
            }
        } else {
            set_meta(&mut body, "namespace", None);
        }
        // "0" (like none) means an unconditional update.
        let expected = match meta_str(&body, "resourceVersion") {
            "" | "0" => None,
            rv => {
                Some(rv.parse::<u64>().map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?)
            }
        };
        let key = self.key(namespace, name)?;
        for _ in 0..UNCONDITIONAL_RETRIES {
            let (current, old) = match read.take() {
                Some(read) => read,
                None => match self.store.get(&key, 0).await {
                    Ok(current) => {
                        let old = self.decode(&current)?;
                        (current, old)
                    }
                    Err(err) => {
                        return Err(self.namespace_missing_first(self.store_error(err, name), namespace).await);
                    }
                },
            };
            if expected.is_some_and(|rv| rv != current.mod_revision) {
                return Err(ApiError::conflict(self.group_resource(), name, ApiError::OBJECT_MODIFIED));
            }
            let body_uid = meta_str(&body, "uid");
            if !body_uid.is_empty() && body_uid != meta_str(&old, "uid") {
                let why = format!(
                    "Precondition failed: UID in precondition: {body_uid}, UID in object meta: {}",
                    meta_str(&old, "uid")
                );
                return Err(ApiError::conflict(self.group_resource(), name, &why));
            }
            let mut new = match part {
                Part::Main => body.clone(),
                // Only status comes from the body; the rest (and its resourceVersion
                // precondition, checked above) is the stored object's.
                Part::Status => {
                    let mut new = old.clone();
                    match body.get("status") {
                        Some(status) => new.insert("status".into(), status.clone()),
                        None => new.remove("status"),
                    };
                    new
                }
                Part::Finalize => {
                    let mut new = old.clone();
                    let finalizers = body.get("spec").and_then(|s| s.get("finalizers")).cloned();
                    let spec = new.entry("spec").or_insert_with(|| json!({}));
                    match (spec.as_object_mut(), finalizers) {
                        (Some(spec), Some(finalizers)) => {
                            spec.insert("finalizers".into(), finalizers);
                        }
                        (Some(spec), None) => {
                            spec.remove("finalizers");
                        }
                        (None, _) => {}
                    }
                    new
                }
            };
            set_meta(&mut new, "name", Some(json!(name)));
            if let Some(ns) = namespace.filter(|_| self.resource().namespaced) {
                set_meta(&mut new, "namespace", Some(json!(ns)));
            }
            metadata::prepare_update(self.strategy.as_ref(), &mut new, &old);
            if self.admission {
                admission::admit_update(self.store.as_ref(), self.resource(), &mut new, &old).await?;
            }
            if part == Part::Main {
                if self.has_status_subresource() {
                    match old.get("status") {
                        Some(status) => new.insert("status".into(), status.clone()),
                        None => new.remove("status"),
                    };
                }
                self.strategy.prepare_for_update(&mut new, &old);
            }
            let mut errors = metadata::validate_update(&new, &old);
            // The status subresource cannot change what an object holds.
            let old_claims = self.strategy.claims(&old);
            let mut new_claims = old_claims.clone();
            if part == Part::Main {
                if self.strategy.uses_claims() {
                    let mut taken = claims::taken(self.store.as_ref()).await.map_err(|e| self.store_error(e, name))?;
                    for claim in &old_claims {
                        taken.remove(claim);
                    }
                    errors.extend(self.strategy.allocate(&mut new, &taken));
                    new_claims = self.strategy.claims(&new);
                }
                errors.extend(self.strategy.validate_update(&new, &old));
            }
            if part == Part::Finalize {
                errors.extend(self.strategy.validate(&new));
            }
            if !errors.is_empty() {
                return Err(self.invalid(name, &errors));
            }
            match tracking {
                Tracking::Update(subresource) => {
                    let api_version = self.resource().api_version();
                    let writer = self.writer(options, &api_version, part, subresource);
                    managed::record_update(Some(&old), &mut new, &writer, part == Part::Main && subresource.is_empty());
                }
                Tracking::Applied => {
                    let computed = crate::object::metadata(&body).and_then(|m| m.get("managedFields")).cloned();
                    set_meta(&mut new, "managedFields", computed);
                }
            }
            let mut unchanged = old.clone();
            set_meta(&mut unchanged, "resourceVersion", None);
            if new == unchanged {
                return Ok(old);
            }
            if options.dry_run {
                set_meta(&mut new, "resourceVersion", Some(json!(current.mod_revision.to_string())));
                return Ok(new);
            }
            // The last finalizer of a deleted object is gone: the update completes the delete.
            if is_deleting(&new) && finalizers(&new).is_empty() && !self.strategy.deletion_blocked(&new) {
                match self.store.delete(key.clone(), Precondition::ModRevision(current.mod_revision)).await {
                    Ok(deleted) => {
                        claims::release(self.store.as_ref(), &self.strategy.claims(&old)).await;
                        set_meta(&mut new, "resourceVersion", Some(json!(deleted.revision.to_string())));
                        return Ok(new);
                    }
                    Err(StoreError::Conflict { .. }) if expected.is_none() => continue,
                    Err(err) => return Err(self.store_error(err, name)),
                }
            }
            let added: Vec<String> = new_claims.iter().filter(|c| !old_claims.contains(c)).cloned().collect();
            let dropped: Vec<String> = old_claims.iter().filter(|c| !new_claims.contains(c)).cloned().collect();
            if !added.is_empty() {
                let holder = String::from_utf8_lossy(&key).into_owned();
                if let Err(claim) =
                    claims::claim(self.store.as_ref(), &added, &holder).await.map_err(|e| self.store_error(e, name))?
                {
                    return Err(ApiError::conflict(
                        self.group_resource(),
                        name,
                        &format!("{claim} is already allocated"),
                    ));
                }
            }
            match self.store.update(key.clone(), self.encode(&new), current.mod_revision).await {
                Ok(kv) => {
                    claims::release(self.store.as_ref(), &dropped).await;
                    set_meta(&mut new, "resourceVersion", Some(json!(kv.mod_revision.to_string())));
                    return Ok(new);
                }
                Err(err) => {
                    claims::release(self.store.as_ref(), &added).await;
                    match err {
                        StoreError::Conflict { .. } if expected.is_none() => continue,
                        err => return Err(self.store_error(err, name)),
                    }
                }
            }
        }
        Err(ApiError::conflict(self.group_resource(), name, ApiError::OBJECT_MODIFIED))
    }

    /// Patches an object (merge or JSON patch) and stores the result through [`Self::update`].
    /// Unless the patch itself sets a resourceVersion, a concurrent write is retried.
    pub async fn patch(
        &self,
        namespace: Option<&str>,
        name: &str,
        kind: PatchType,
        patch: &Value,
        options: WriteOptions,
    ) -> Result<Object, ApiError> {
        self.patch_part(namespace, name, kind, patch, options, Part::Main).await
    }

    /// Patches an object's `status` (PATCH on the status subresource).
    pub async fn patch_status(
        &self,
        namespace: Option<&str>,
        name: &str,
        kind: PatchType,
        patch: &Value,
        options: WriteOptions,
    ) -> Result<Object, ApiError> {
        self.patch_part(namespace, name, kind, patch, options, Part::Status).await
    }

    /// Server-side apply (PATCH `application/apply-patch+yaml`): merges `config` (a partial
    /// object of this resource's apiVersion and kind) into the object for
    /// `options.field_manager`, which is required, or creates the object from it. Fields other
    /// managers own and `config` would change are a 409 unless `options.force`.
    pub async fn apply(
        &self,
        namespace: Option<&str>,
        name: &str,
        config: &Value,
        options: WriteOptions,
    ) -> Result<Applied, ApiError> {
        self.apply_part(namespace, name, config, &options, Part::Main).await
    }

    /// Server-side apply to the status subresource: only `status` is applied.
    pub async fn apply_status(
        &self,
        namespace: Option<&str>,
        name: &str,
        config: &Value,
        options: WriteOptions,
    ) -> Result<Applied, ApiError> {
        self.apply_part(namespace, name, config, &options, Part::Status).await
    }

    async fn apply_part(
        &self,
        namespace: Option<&str>,
        name: &str,
        config: &Value,
        options: &WriteOptions,
        part: Part,
    ) -> Result<Applied, ApiError> {
        let r = self.resource();
        if options.field_manager.as_deref().is_none_or(str::is_empty) {
            let errors = [FieldError::required("fieldManager", "is required for apply patch")].into_iter().collect();
            return Err(ApiError::invalid(GroupKind { group: "meta.k8s.io", kind: "PatchOptions" }, "", &errors));
        }
        let api_version = r.api_version();
        let config = server_side::check_config(config, &api_version, r.kind)?;
        let explicit = !meta_str(&config, "resourceVersion").is_empty();
        let subresource = if part == Part::Status { "status" } else { "" };
        let described = format!(
            "{}/{name}; {}/{}, Kind={}",
            namespace.filter(|_| r.namespaced).unwrap_or_default(),
            r.group,
            r.version,
            r.kind
        );
        let key = self.key(namespace, name)?;
        for _ in 0..UNCONDITIONAL_RETRIES {
            let writer = self.writer(options, &api_version, part, subresource);
            let live = match self.store.get(&key, 0).await {
                Ok(kv) => Some((self.decode(&kv)?, kv)),
                Err(StoreError::NotFound) if part == Part::Main => None,
                Err(err) => return Err(self.store_error(err, name)),
            };
            let applied = server_side::apply(live.as_ref().map(|(obj, _)| obj), &config, &writer, options.force)
                .map_err(|e: ApplyError| e.into_api_error(&described))?;
            return match live {
                None => {
                    let body_name = meta_str(&applied, "name");
                    if body_name != name {
                        return Err(ApiError::bad_request(format!(
                            "the name of the object ({body_name}) does not match the name on the URL ({name})"
                        )));
                    }
                    let created =
                        self.create_tracked(namespace, Value::Object(applied), options, Tracking::Applied).await;
                    match created {
                        // Created meanwhile: apply to it.
                        Err(err) if err.reason() == "AlreadyExists" => continue,
                        other => other.map(Applied::Created),
                    }
                }
                Some((live, kv)) => {
                    let mut applied = applied;
                    server_side::set_precondition(&mut applied, &config, &kv.mod_revision.to_string());
                    let read = Some((kv, live));
                    let updated = self
                        .update_read(namespace, name, Value::Object(applied), options, part, Tracking::Applied, read)
                        .await;
                    match updated {
                        // Changed or deleted meanwhile: apply again.
                        Err(err) if !explicit && (err.reason() == "Conflict" || err.code() == 404) => continue,
                        other => other.map(Applied::Updated),
                    }
                }
            };
        }
        Err(ApiError::conflict(self.group_resource(), name, ApiError::OBJECT_MODIFIED))
    }

    async fn patch_part(
        &self,
        namespace: Option<&str>,
        name: &str,
        kind: PatchType,
        patch: &Value,
        options: WriteOptions,
        part: Part,
    ) -> Result<Object, ApiError> {
        let key = self.key(namespace, name)?;
        for _ in 0..UNCONDITIONAL_RETRIES {
            let kv = match self.store.get(&key, 0).await {
                Ok(kv) => kv,
                Err(err) => return Err(self.namespace_missing_first(self.store_error(err, name), namespace).await),
            };
            let current = self.decode(&kv)?;
            let current_rv = meta_str(&current, "resourceVersion").to_string();
            let current = Value::Object(current);
            let patched = patch::apply(kind, &current, patch).map_err(|e| match e {
                PatchError::Malformed(why) => ApiError::bad_request(why),
                PatchError::Failed(why) => {
                    let errors = [FieldError::invalid("patch", patch.to_string(), why)].into_iter().collect();
                    self.invalid(name, &errors)
                }
            })?;
            let explicit =
                patched.pointer("/metadata/resourceVersion").and_then(Value::as_str) != Some(current_rv.as_str());
            let subresource = if part == Part::Status { "status" } else { "" };
            let Value::Object(current) = current else { unreachable!("decoded as an object") };
            let read = Some((kv, current));
            let tracking = Tracking::Update(subresource);
            match self.update_read(namespace, name, patched, &options, part, tracking, read).await {
                Err(err) if err.code() == 409 && err.reason() == "Conflict" && !explicit => continue,
                other => return other,
            }
        }
        Err(ApiError::conflict(self.group_resource(), name, ApiError::OBJECT_MODIFIED))
    }

    /// Deletes an object: at once, or by marking it deleted while finalizers remain.
    pub async fn delete(
        &self,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Deleted, ApiError> {
        if self.admission {
            admission::admit_delete(self.resource(), name)?;
        }
        let key = self.key(namespace, name)?;
        for _ in 0..UNCONDITIONAL_RETRIES {
            let current = self.store.get(&key, 0).await.map_err(|e| self.store_error(e, name))?;
            let mut obj = self.decode(&current)?;
            self.check_preconditions(&obj, options, name)?;
            let before = finalizers(&obj);
            let pending = gc_finalizers(&before, options.propagation);
            let grace = self.strategy.grace_period(&obj, options.grace_period_seconds);
            if grace > 0 {
                // Graceful: mark with a deadline (or shorten an existing one); the owner of the
                // object (a pod's kubelet) deletes it with grace 0.
                let marked_grace = crate::object::metadata(&obj)
                    .and_then(|m| m.get("deletionGracePeriodSeconds"))
                    .and_then(Value::as_i64);
                if is_deleting(&obj) && marked_grace.is_some_and(|g| g <= grace) && pending == before {
                    return Ok(Deleted::Pending(obj));
                }
                set_meta(&mut obj, "deletionTimestamp", Some(json!(now_plus(grace))));
                set_meta(&mut obj, "deletionGracePeriodSeconds", Some(json!(grace)));
                set_meta(&mut obj, "finalizers", (!pending.is_empty()).then(|| json!(pending)));
                match self.store_marked(&key, obj, current.mod_revision, options.dry_run, name).await? {
                    Some(marked) => return Ok(marked),
                    None => continue,
                }
            }
            if pending.is_empty() && !self.strategy.deletion_blocked(&obj) {
                if options.dry_run {
                    return Ok(Deleted::Gone(obj));
                }
                match self.store.delete(key.clone(), Precondition::ModRevision(current.mod_revision)).await {
                    Ok(deleted) => {
                        claims::release(self.store.as_ref(), &self.strategy.claims(&obj)).await;
                        // The last state, at the delete's revision (as upstream reports it).
                        set_meta(&mut obj, "resourceVersion", Some(json!(deleted.revision.to_string())));
                        return Ok(Deleted::Gone(obj));
                    }
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(err) => return Err(self.store_error(err, name)),
                }
            }
            // Already marked and nothing to change: report it as it is.
            if is_deleting(&obj) && pending == before {
                return Ok(Deleted::Pending(obj));
            }
            // Mark it: finalizers (and the garbage collector) finish the job.
            if !is_deleting(&obj) {
                set_meta(&mut obj, "deletionTimestamp", Some(json!(now())));
                set_meta(&mut obj, "deletionGracePeriodSeconds", Some(json!(0)));
                if self.strategy.tracks_generation() {
                    let generation = metadata_i64(&obj, "generation");
                    if generation > 0 {
                        set_meta(&mut obj, "generation", Some(json!(generation + 1)));
                    }
                }
            }
            set_meta(&mut obj, "finalizers", (!pending.is_empty()).then(|| json!(pending)));
            self.strategy.prepare_for_deletion(&mut obj);
            if let Some(marked) = self.store_marked(&key, obj, current.mod_revision, options.dry_run, name).await? {
                return Ok(marked);
            }
        }
        Err(ApiError::conflict(self.group_resource(), name, ApiError::OBJECT_MODIFIED))
    }

    /// Stores an object marked for deletion if it is still at `mod_revision`; `None` when it
    /// changed meanwhile (the caller starts over).
    async fn store_marked(
        &self,
        key: &Bytes,
        mut obj: Object,
        mod_revision: u64,
        dry_run: bool,
        name: &str,
    ) -> Result<Option<Deleted>, ApiError> {
        if dry_run {
            return Ok(Some(Deleted::Pending(obj)));
        }
        set_meta(&mut obj, "resourceVersion", None);
        match self.store.update(key.clone(), self.encode(&obj), mod_revision).await {
            Ok(kv) => {
                set_meta(&mut obj, "resourceVersion", Some(json!(kv.mod_revision.to_string())));
                Ok(Some(Deleted::Pending(obj)))
            }
            Err(StoreError::Conflict { .. }) => Ok(None),
            Err(err) => Err(self.store_error(err, name)),
        }
    }

    fn check_preconditions(&self, obj: &Object, options: &DeleteOptions, name: &str) -> Result<(), ApiError> {
        let kind = GroupResource { group: self.resource().group, resource: self.resource().kind };
        if let Some(uid) = &options.uid
            && uid != meta_str(obj, "uid")
        {
            let why = format!(
                "the UID in the precondition ({uid}) does not match the UID in record ({}). The object might have \
                 been deleted and then recreated",
                meta_str(obj, "uid")
            );
            return Err(ApiError::conflict(kind, name, &why));
        }
        if let Some(rv) = &options.resource_version
            && rv != meta_str(obj, "resourceVersion")
        {
            let why = format!(
                "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({}). \
                 The object might have been modified",
                meta_str(obj, "resourceVersion")
            );
            return Err(ApiError::conflict(kind, name, &why));
        }
        Ok(())
    }
}

/// The finalizers after a delete with `propagation` (upstream's
/// `deletionFinalizersForGarbageCollection`): a given policy replaces both garbage-collector
/// finalizers with its own (none for Background); no policy keeps what is there.
fn gc_finalizers(current: &[String], propagation: Option<Propagation>) -> Vec<String> {
    let Some(propagation) = propagation else { return current.to_vec() };
    let mut out: Vec<String> =
        current.iter().filter(|f| *f != ORPHAN_FINALIZER && *f != FOREGROUND_FINALIZER).cloned().collect();
    match propagation {
        Propagation::Background => {}
        Propagation::Foreground => out.push(FOREGROUND_FINALIZER.to_string()),
        Propagation::Orphan => out.push(ORPHAN_FINALIZER.to_string()),
    }
    out
}

fn metadata_i64(obj: &Object, field: &str) -> i64 {
    crate::object::metadata(obj).and_then(|m| m.get(field)).and_then(Value::as_i64).unwrap_or(0)
}

/// The garbage collector's finalizer for orphaning dependents.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// The garbage collector's finalizer for deleting dependents first.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// Upstream's message for a continue token whose snapshot was compacted.
const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You \
     can start a new list without the continue parameter, or use the continue token in this response to retrieve the \
     remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were \
     created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";
