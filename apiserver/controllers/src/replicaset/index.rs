//! Objects by namespace, fed from an informer's change stream (upstream listers' namespace
//! index): a sync reads the few objects of its namespace from the cache instead of scanning
//! every pod of the cluster.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::informers::Informable;

/// Names per namespace of the objects in a cache.
#[derive(Debug)]
pub struct NamespaceIndex<K: Informable>
where
    ObjectRef<K>: Hash + Eq,
{
    store: Store<K>,
    names: RwLock<HashMap<String, BTreeSet<String>>>,
}

impl<K: Informable> NamespaceIndex<K>
where
    ObjectRef<K>: Hash + Eq,
{
    pub fn new(store: Store<K>) -> Self {
        Self { store, names: RwLock::default() }
    }

    /// Records what the informer delivered; returns whether the object is still cached.
    pub fn observe(&self, obj: &K) -> bool {
        let namespace = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        let cached = self.store.get(&ObjectRef::from_obj(obj)).is_some();
        let mut names = self.names.write().expect("index lock");
        if cached {
            names.entry(namespace).or_default().insert(name);
        } else if let Some(set) = names.get_mut(&namespace) {
            set.remove(&name);
            if set.is_empty() {
                names.remove(&namespace);
            }
        }
        cached
    }

    /// The cached objects of `namespace`.
    pub fn list(&self, namespace: &str) -> Vec<Arc<K>> {
        let names: Vec<String> = self
            .names
            .read()
            .expect("index lock")
            .get(namespace)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        names.iter().filter_map(|name| self.store.get(&ObjectRef::new(name).within(namespace))).collect()
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.store.get(&ObjectRef::new(name).within(namespace))
    }
}
