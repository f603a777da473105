//! The service pass as the pipeline runs it: what each write commits, and the deletion.

use super::*;
use crate::aws::types::ServiceStatus;
use crate::controller::pipeline::{Cleanup, Progress, Timing};
use crate::controller::service::writes::{
    Answer, CleanupObserved, Write, cleanup_plan, commit, pipeline_plan,
};

const TIMING: Timing = Timing {
    poll: Duration::from_secs(5),
    resync: Duration::from_secs(600),
};

fn cleanup(service: Option<ServiceObservation>, retain: bool) -> CleanupObserved {
    CleanupObserved {
        retain,
        cluster: "prod".into(),
        name: "web".into(),
        uid: "uid-1".into(),
        service,
    }
}

#[test]
fn an_update_records_its_markers_only_in_its_commit() {
    let d = desired(json!({"forceNewDeployment": "2"}));
    let service = settled_service(&d);
    let mut status = settled_status(&d, &service);
    status.applied_force_new_deployment = Some("1".into());
    let plan = pipeline_plan(&d, &observed(service), &status, TIMING);
    assert_eq!(
        plan.status.applied_force_new_deployment.as_deref(),
        Some("1")
    );
    let [Write::Update { .. }] = plan.steps.as_slice() else {
        panic!("{:?}", plan.steps)
    };
    assert!(matches!(
        plan.outcome,
        Ok(Progress::Progressing { ref reason, .. }) if reason == "Deploying"
    ));
    let mut committed = plan.status.clone();
    let mut notes = Vec::new();
    for write in plan.steps {
        commit(write, Answer::Done, &mut committed, &mut notes);
    }
    assert_eq!(committed.applied_force_new_deployment.as_deref(), Some("2"));
}

#[test]
fn deletion_retains_waits_leaves_others_alone_and_deletes_its_own() {
    let d = desired(json!({}));
    let ours = settled_service(&d);
    let status = settled_status(&d, &ours);
    // Retain: nothing deleted, the service is no longer followed.
    let p = cleanup_plan(&cleanup(None, true), &status, TIMING);
    assert!(matches!(p.steps.as_slice(), [Write::Unfollow { .. }]));
    assert_eq!(p.outcome.ok(), Some(Cleanup::Done));
    // Ours and ACTIVE: DeleteService, then wait for it to drain, keeping its ARN.
    let p = cleanup_plan(&cleanup(Some(ours.clone()), false), &status, TIMING);
    let [
        Write::Delete {
            recreate: false, ..
        },
    ] = p.steps.as_slice()
    else {
        panic!("{:?}", p.steps)
    };
    assert!(matches!(p.outcome, Ok(Cleanup::Waiting { .. })));
    let mut after = p.status.clone();
    for write in p.steps {
        commit(write, Answer::Done, &mut after, &mut Vec::new());
    }
    assert_eq!(
        after.service_arn.as_deref(),
        Some(ARN),
        "still known as ours"
    );
    // Draining: wait, no call.
    let mut draining = ours.clone();
    draining.status = ServiceStatus::Draining;
    let p = cleanup_plan(&cleanup(Some(draining), false), &status, TIMING);
    assert!(p.steps.is_empty());
    assert!(matches!(p.outcome, Ok(Cleanup::Waiting { .. })));
    // Someone else's: left alone, with a note.
    let mut foreign = ours.clone();
    foreign.tags = Vec::new();
    let p = cleanup_plan(
        &cleanup(Some(foreign), false),
        &EcsServiceStatus::default(),
        TIMING,
    );
    assert!(matches!(p.steps.as_slice(), [Write::Unfollow { .. }]));
    assert!(p.notes.iter().any(|n| n.reason == "NotOwned"));
    // Gone: done.
    let mut gone = ours;
    gone.status = ServiceStatus::Inactive;
    let p = cleanup_plan(&cleanup(Some(gone), false), &status, TIMING);
    assert_eq!(p.outcome.ok(), Some(Cleanup::Done));
}
