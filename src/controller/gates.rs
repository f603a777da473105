//! What decides, before a pass, how it may act: whether the object is paused, and how it adopts
//! when the operator runs with `--adopt-same-owner`.

use std::sync::Arc;

use kube::Resource;

use super::Context;
use crate::api::common::RECONCILE_ANNOTATION;

/// Why the operator makes no AWS writes for `object`, when it does not: the operator runs
/// read-only, or the object carries `ecs.operator.dev/reconcile: disabled`.
pub fn paused<K: Resource>(ctx: &Context, object: &K) -> Option<(&'static str, String)> {
    if ctx.config.read_only {
        return Some(("ReadOnly", "the operator runs with --read-only".to_owned()));
    }
    let value = object
        .meta()
        .annotations
        .as_ref()?
        .get(RECONCILE_ANNOTATION)?;
    (value.trim() == "disabled").then(|| {
        (
            "ReconcileDisabled",
            format!("reconcile disabled by the annotation {RECONCILE_ANNOTATION}: disabled"),
        )
    })
}

/// `--adopt-same-owner`: an object whose adopt annotation says nothing takes over what an object
/// of its namespace and name created (its earlier life in another Kubernetes cluster, or before
/// a backup restore) as if annotated `ecs.operator.dev/adopt: same-owner`. Only the pass's copy
/// carries it; nothing is written to the object.
pub fn with_default_adoption<K: Resource + Clone>(ctx: &Context, object: Arc<K>) -> Arc<K> {
    use crate::api::ADOPT_ANNOTATION;
    let says = object
        .meta()
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(ADOPT_ANNOTATION));
    if !ctx.config.adopt_same_owner || says {
        return object;
    }
    let mut copy = (*object).clone();
    copy.meta_mut()
        .annotations
        .get_or_insert_with(Default::default)
        .insert(
            ADOPT_ANNOTATION.to_owned(),
            crate::translate::tags::ADOPT_SAME_OWNER.to_owned(),
        );
    Arc::new(copy)
}
