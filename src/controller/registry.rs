//! Every kind the operator manages, in one list: `main` and the test stack start their
//! controllers from it, `crdgen` writes their CRDs from it, and the tests check the chart's RBAC,
//! the Argo CD health check and the IAM policy against it. Adding a kind means adding it here (see
//! docs/architecture.md, "Adding a kind"); whatever enumerates kinds reads this list.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use super::Context;
use super::capacity_provider::CapacityProviders;
use super::cluster::Clusters;
use super::pipeline::Kind;
use super::preview::{Previewer, previewer};
use super::runner;
use super::scaling_policy::ScalingPolicies;
use super::service::Services;
use super::task::Tasks;
use super::task_definition::TaskDefinitions;
use crate::api::capacity_provider;
use crate::api::{EcsCluster, EcsScalingPolicy, EcsService, EcsTask, EcsTaskDefinition};

/// Completes when the controllers must stop (shared by all of them).
pub type Stop = Shared<BoxFuture<'static, ()>>;

/// One managed kind as the rest of the program sees it.
#[derive(Clone, Copy)]
pub struct Registration {
    /// The controller's label in metrics and logs (`service`).
    pub label: &'static str,
    /// The finalizer its controller puts on objects.
    pub finalizer: &'static str,
    /// The CRD, generated from the Rust types.
    pub crd: fn() -> CustomResourceDefinition,
    /// Runs its controller with `ctx` until `stop`.
    pub run: fn(Arc<Context>, Stop) -> BoxFuture<'static, ()>,
    /// Previews objects of the kind with `ctx` (`ecs-operator diff`).
    pub previewer: fn(Arc<Context>) -> Previewer,
}

impl Registration {
    fn of<K: Kind>(
        crd: fn() -> CustomResourceDefinition,
        run: fn(Arc<Context>, Stop) -> BoxFuture<'static, ()>,
        previewer: fn(Arc<Context>) -> Previewer,
    ) -> Self {
        Self {
            label: K::KIND,
            finalizer: K::FINALIZER,
            crd,
            run,
            previewer,
        }
    }

    /// The CRD's kind (`EcsService`).
    pub fn kind(&self) -> String {
        (self.crd)().spec.names.kind
    }

    /// The CRD's plural (`ecsservices`): its resource name, and its file name in `crds/`.
    pub fn plural(&self) -> String {
        (self.crd)().spec.names.plural
    }
}

/// Every managed kind, in the order their controllers start.
pub fn kinds() -> Vec<Registration> {
    vec![
        Registration::of::<Clusters>(
            EcsCluster::crd,
            |ctx, stop| runner::run(Clusters, ctx, stop).boxed(),
            |ctx| previewer(Clusters, ctx),
        ),
        Registration::of::<CapacityProviders>(
            capacity_provider::crd,
            |ctx, stop| runner::run(CapacityProviders, ctx, stop).boxed(),
            |ctx| previewer(CapacityProviders, ctx),
        ),
        Registration::of::<TaskDefinitions>(
            EcsTaskDefinition::crd,
            |ctx, stop| runner::run(TaskDefinitions, ctx, stop).boxed(),
            |ctx| previewer(TaskDefinitions, ctx),
        ),
        Registration::of::<Services>(
            EcsService::crd,
            |ctx, stop| {
                let kind = Services::new(&ctx);
                runner::run(kind, ctx, stop).boxed()
            },
            |ctx| previewer(Services::new(&ctx), ctx),
        ),
        Registration::of::<ScalingPolicies>(
            EcsScalingPolicy::crd,
            |ctx, stop| {
                let kind = ScalingPolicies::new(&ctx);
                runner::run(kind, ctx, stop).boxed()
            },
            |ctx| previewer(ScalingPolicies::new(&ctx), ctx),
        ),
        Registration::of::<Tasks>(
            EcsTask::crd,
            |ctx, stop| runner::run(Tasks, ctx, stop).boxed(),
            |ctx| previewer(Tasks, ctx),
        ),
    ]
}

/// Every controller with `ctx`, until `stop`.
pub fn run_all(ctx: &Arc<Context>, stop: &Stop) -> Vec<BoxFuture<'static, ()>> {
    kinds()
        .iter()
        .map(|registration| (registration.run)(ctx.clone(), stop.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_finalizers_and_plurals_are_unique() {
        let kinds = kinds();
        for field in [
            kinds.iter().map(|k| k.label.to_owned()).collect::<Vec<_>>(),
            kinds.iter().map(|k| k.finalizer.to_owned()).collect(),
            kinds.iter().map(Registration::plural).collect(),
        ] {
            let mut unique = field.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), field.len(), "{field:?}");
        }
    }
}
