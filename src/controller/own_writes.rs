//! The operator's own last write of each object, until its watch cache has caught up with it.
//!
//! A pass reads its object from the watch cache. A pass started by a dependency's change (a task
//! definition became Ready) can start before the cache has the operator's own last write of the
//! object (the finalizer, the status of the pass before): its writes then fail on their
//! resourceVersion precondition (409), and the object waits out a backoff to run again from a
//! fresh read. A cold start of 2,200 objects had about 90 such conflicts, some objects three in
//! a row. The object a write returned is what the API server holds, so a pass that would start
//! from a copy older than it starts from it instead.
//!
//! Each object's writes are chained by their preconditions (each write names the resourceVersion
//! it replaces), so the versions between the first replaced one and the last written one are all
//! the operator's own: the cache holding any of the replaced ones is behind. Any other version
//! the cache shows is the written one or newer (someone else wrote after it), and ends the entry;
//! so an entry lives from a write until the watch delivers it, normally milliseconds.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use kube::{Resource, ResourceExt};

/// The objects written and not yet seen in the watch cache, by UID; cloning shares them.
pub struct OwnWrites<K> {
    chains: Arc<Mutex<HashMap<String, Chain<K>>>>,
}

impl<K> Clone for OwnWrites<K> {
    fn clone(&self) -> Self {
        Self {
            chains: self.chains.clone(),
        }
    }
}

impl<K> Default for OwnWrites<K> {
    fn default() -> Self {
        Self {
            chains: Arc::default(),
        }
    }
}

/// The resourceVersions the operator's writes replaced, and the object the last one returned.
struct Chain<K> {
    replaced: Vec<String>,
    written: Arc<K>,
}

impl<K: Resource> OwnWrites<K> {
    /// A write of `before` (at its resourceVersion) was accepted and returned `after`.
    pub fn wrote(&self, before: &K, after: Arc<K>) {
        let (Some(uid), Some(base)) = (before.uid(), before.resource_version()) else {
            return;
        };
        // A write the API server found to change nothing keeps the version: no watch event
        // will come for it, and the cache's copy is as new.
        if after.resource_version().as_ref() == Some(&base) {
            return;
        }
        let Ok(mut chains) = self.chains.lock() else {
            return;
        };
        let mut replaced = match chains.remove(&uid) {
            // The write built on the last one: the chain goes on.
            Some(chain) if chain.written.resource_version().as_ref() == Some(&base) => {
                chain.replaced
            }
            _ => Vec::new(),
        };
        replaced.push(base);
        chains.insert(
            uid,
            Chain {
                replaced,
                written: after,
            },
        );
    }

    /// The watch shows `object` (its store has it, or will at the end of a re-list): the entry
    /// ends unless it is a version the operator's own writes replaced. A re-list's objects reach
    /// the store only when the list is done, so a pass meanwhile may start from an older copy
    /// and meet a conflict, as without this record.
    pub fn seen(&self, object: &K) {
        let (Some(uid), Some(version)) = (object.uid(), object.resource_version()) else {
            return;
        };
        if let Ok(mut chains) = self.chains.lock()
            && chains
                .get(&uid)
                .is_some_and(|chain| !chain.replaced.contains(&version))
        {
            chains.remove(&uid);
        }
    }

    /// The object is gone.
    pub fn forget(&self, uid: &str) {
        if let Ok(mut chains) = self.chains.lock() {
            chains.remove(uid);
        }
    }

    /// A fresh list holds only the objects `present`: the others were deleted while the watch
    /// was down, with no deletion seen.
    pub fn retain(&self, present: &HashSet<String>) {
        if let Ok(mut chains) = self.chains.lock() {
            chains.retain(|uid, _| present.contains(uid));
        }
    }

    /// `object` as a pass should start from it: the operator's own last write of it when the
    /// cache's copy is one that write replaced.
    pub fn newest(&self, object: Arc<K>) -> Arc<K> {
        let (Some(uid), Some(version)) = (object.uid(), object.resource_version()) else {
            return object;
        };
        let Ok(mut chains) = self.chains.lock() else {
            return object;
        };
        match chains.get(&uid) {
            Some(chain) if chain.replaced.contains(&version) => chain.written.clone(),
            // The cache's copy is the written one or newer (its watch event came before the
            // write's answer, so `seen` found nothing to end): the entry is done.
            Some(_) => {
                chains.remove(&uid);
                object
            }
            None => object,
        }
    }

    /// How many objects wait for the cache to catch up (memory held here).
    pub fn len(&self) -> usize {
        self.chains.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Whether the cache has caught up with every write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{EcsTaskDefinition, EcsTaskDefinitionSpec};

    fn at(version: &str) -> EcsTaskDefinition {
        let mut object = EcsTaskDefinition::new("web", EcsTaskDefinitionSpec::default());
        object.metadata.uid = Some("uid-1".into());
        object.metadata.resource_version = Some(version.into());
        object
    }

    fn version(object: &EcsTaskDefinition) -> String {
        object.resource_version().unwrap_or_default()
    }

    #[test]
    fn a_pass_from_a_copy_its_own_writes_replaced_starts_from_the_last_write() {
        let own = OwnWrites::default();
        // The finalizer (1 -> 2), then the status (2 -> 3).
        own.wrote(&at("1"), Arc::new(at("2")));
        own.wrote(&at("2"), Arc::new(at("3")));
        assert_eq!(version(&own.newest(Arc::new(at("1")))), "3");
        assert_eq!(version(&own.newest(Arc::new(at("2")))), "3");
        // The cache delivers an older version: still behind.
        own.seen(&at("2"));
        assert_eq!(version(&own.newest(Arc::new(at("1")))), "3");
        // It delivers the written one: caught up, nothing held.
        own.seen(&at("3"));
        assert!(own.is_empty());
        assert_eq!(version(&own.newest(Arc::new(at("2")))), "2");
    }

    #[test]
    fn a_newer_version_from_someone_else_ends_the_entry() {
        let own = OwnWrites::default();
        own.wrote(&at("1"), Arc::new(at("2")));
        // A user's edit after the operator's write: newer than anything held.
        own.seen(&at("7"));
        assert!(own.is_empty());
        assert_eq!(version(&own.newest(Arc::new(at("7")))), "7");
    }

    #[test]
    fn a_write_from_another_version_starts_a_new_chain() {
        let own = OwnWrites::default();
        own.wrote(&at("1"), Arc::new(at("2")));
        // A pass that read a newer version (5, someone else's) writes from it: the versions
        // before it are no longer known to be the operator's.
        own.wrote(&at("5"), Arc::new(at("6")));
        assert_eq!(version(&own.newest(Arc::new(at("5")))), "6");
        assert_eq!(version(&own.newest(Arc::new(at("1")))), "1");
        own.forget("uid-1");
        assert!(own.is_empty());
    }

    #[test]
    fn entries_end_without_a_watch_event_for_them() {
        let own = OwnWrites::default();
        // A status write that changed nothing keeps the version: nothing to wait for.
        own.wrote(&at("4"), Arc::new(at("4")));
        assert!(own.is_empty());
        // The watch event came before the write's answer: the next pass sees the written
        // version in the cache and ends the entry.
        own.wrote(&at("4"), Arc::new(at("5")));
        assert_eq!(version(&own.newest(Arc::new(at("5")))), "5");
        assert!(own.is_empty());
        // Deleted while the watch was down: the fresh list does not hold it.
        own.wrote(&at("5"), Arc::new(at("6")));
        own.retain(&HashSet::from(["uid-2".to_owned()]));
        assert!(own.is_empty());
    }
}
