//! Every case from literal inputs, no network.

use super::*;
use crate::translate::task_definition::content_hash;

const F: &str = "arn:aws:ecs:us-east-1:1:task-definition/web";

fn request(image: &str) -> TaskDefinitionBody {
    serde_json::from_value(serde_json::json!({
        "family": "web",
        "containerDefinitions": [{"name": "app", "image": image, "memory": 128}]
    }))
    .expect("request")
}

fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.into(),
        value: Some(value.into()),
    }
}

fn desired(image: &str, tags: Vec<Tag>, limit: usize) -> Desired {
    let request = request(image);
    Desired {
        hash: content_hash(&request),
        family: "web".into(),
        tags_hash: format!("{tags:?}"),
        tags,
        request,
        history_limit: limit,
    }
}

fn rev(n: i32, image: &str) -> RegisteredRevision {
    RegisteredRevision {
        arn: format!("{F}:{n}"),
        revision: n,
        content_hash: content_hash(&request(image)),
    }
}

/// A status recording revisions `recorded` (newest first), the first one current for `image`.
fn status(image: &str, recorded: &[i32], tags_hash: Option<String>) -> EcsTaskDefinitionStatus {
    EcsTaskDefinitionStatus {
        task_definition_arn: recorded.first().map(|n| format!("{F}:{n}")),
        family: Some("web".into()),
        revision: recorded.first().copied(),
        content_hash: Some(content_hash(&request(image))),
        tags_hash,
        registered_revisions: recorded.iter().map(|n| rev(*n, image)).collect(),
        ..Default::default()
    }
}

fn owned(n: i32, image: &str, tags: Vec<Tag>) -> OwnedRevision {
    OwnedRevision {
        missing_owner_tags: Vec::new(),
        arn: format!("{F}:{n}"),
        revision: n,
        content_hash: Some(content_hash(&request(image))),
        tags,
    }
}

fn active() -> Observed {
    Observed {
        current: Some(CurrentState::Active { tags: None }),
        unrecorded: vec![],
    }
}

#[test]
fn a_new_object_registers() {
    let d = desired("nginx:1", vec![], 5);
    let p = plan(
        &d,
        &[],
        &Observed::default(),
        &EcsTaskDefinitionStatus::default(),
    );
    assert_eq!(p.current, Current::Register { drifted: None });
    assert!(p.expire.is_empty() && p.track.is_empty() && p.retag.is_none());
    assert!(!p.is_noop());
}

#[test]
fn recorded_content_that_is_still_registered_is_kept_with_no_write() {
    let d = desired("nginx:1", vec![], 5);
    let s = status("nginx:1", &[3, 2], Some(d.tags_hash.clone()));
    let p = plan(&d, &[], &active(), &s);
    assert_eq!(
        p.current,
        Current::Keep {
            arn: format!("{F}:3"),
            revision: 3
        }
    );
    assert!(p.is_noop(), "{p:?}");
}

#[test]
fn a_hash_recorded_by_an_earlier_release_is_kept() {
    let mut d = desired("nginx:1", vec![tag("team", "a")], 5);
    d.request.tags = Some(d.tags.clone());
    let mut s = status("nginx:1", &[1], Some(d.tags_hash.clone()));
    // The release before versioned hashes: bare hex over the request, tags included.
    s.content_hash = Some(legacy_hash(&d.request));
    assert!(recorded_matches(&d, &s));
    let p = plan(&d, &[], &active(), &s);
    assert!(p.is_noop(), "an upgrade registers nothing: {p:?}");
    d.request.container_definitions[0].image = Some("nginx:2".into());
    assert!(!recorded_matches(&d, &s), "an edit still registers");
}

fn legacy_hash(request: &TaskDefinitionBody) -> String {
    use sha2::{Digest, Sha256};
    let normalised = crate::translate::task_definition::normalise(request);
    let digest = Sha256::digest(serde_json::to_vec(&normalised).expect("json"));
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_deregistered_current_revision_is_registered_again_as_drift() {
    let d = desired("nginx:1", vec![], 5);
    let s = status("nginx:1", &[2, 1], Some(d.tags_hash.clone()));
    let observed = Observed {
        current: Some(CurrentState::Gone),
        unrecorded: vec![],
    };
    let p = plan(&d, &[], &observed, &s);
    assert_eq!(
        p.current,
        Current::Register {
            drifted: Some(format!("{F}:2"))
        }
    );
    assert_eq!(p.forget, vec![format!("{F}:2")]);
    assert!(p.expire.is_empty());
}

#[test]
fn drift_with_our_re_registration_left_unrecorded_adopts_it() {
    // A crash right after re-registering the drifted content: adopt, do not register a third.
    let d = desired("nginx:1", vec![], 5);
    let s = status("nginx:1", &[2], Some(d.tags_hash.clone()));
    let observed = Observed {
        current: Some(CurrentState::Gone),
        unrecorded: vec![owned(3, "nginx:1", vec![])],
    };
    let p = plan(&d, &[], &observed, &s);
    assert!(matches!(p.current, Current::Adopt(ref r) if r.revision == 3));
    assert!(p.expire.is_empty(), "{:?}", p.expire);
}

#[test]
fn an_unrecorded_revision_with_the_desired_content_is_adopted() {
    let d = desired("nginx:2", vec![], 5);
    let s = status("nginx:1", &[1], Some(d.tags_hash.clone()));
    let observed = Observed {
        current: None,
        unrecorded: vec![owned(2, "nginx:2", vec![])],
    };
    let p = plan(&d, &[], &observed, &s);
    assert!(matches!(p.current, Current::Adopt(ref r) if r.revision == 2));
    assert!(p.track.is_empty());
}

#[test]
fn unrecorded_revisions_of_other_content_are_tracked_so_they_never_leak() {
    // A crash after registering nginx:2, then the spec was edited to nginx:3 before the
    // next pass: revision 2 is ours, not current, and must be recorded for history and delete.
    let d = desired("nginx:3", vec![], 2);
    let s = status("nginx:1", &[1], Some(d.tags_hash.clone()));
    let observed = Observed {
        current: None,
        unrecorded: vec![owned(2, "nginx:2", vec![])],
    };
    let p = plan(&d, &[], &observed, &s);
    assert_eq!(p.current, Current::Register { drifted: None });
    assert_eq!(p.track.iter().map(|r| r.revision).collect::<Vec<_>>(), [2]);
    // Limit 2 with the new one: keep 2, expire 1.
    assert_eq!(p.expire.iter().map(|r| r.revision).collect::<Vec<_>>(), [1]);
}

#[test]
fn registering_expires_beyond_the_limit_counting_the_new_revision() {
    let d = desired("nginx:9", vec![], 3);
    let s = status("nginx:1", &[5, 4, 3, 2, 1], Some(d.tags_hash.clone()));
    let p = plan(&d, &[], &Observed::default(), &s);
    assert_eq!(
        p.expire.iter().map(|r| r.revision).collect::<Vec<_>>(),
        [3, 2, 1]
    );
}

#[test]
fn keeping_trims_history_but_never_the_current_revision() {
    let d = desired("nginx:1", vec![], 2);
    let mut s = status("nginx:1", &[5, 4, 3], Some(d.tags_hash.clone()));
    // The current revision is an older one (adopted earlier).
    s.task_definition_arn = Some(format!("{F}:3"));
    s.revision = Some(3);
    let p = plan(&d, &[], &active(), &s);
    assert_eq!(p.expire.iter().map(|r| r.revision).collect::<Vec<_>>(), [4]);
}

#[test]
fn a_tag_only_change_retags_in_place() {
    let d = desired("nginx:1", vec![tag("team", "b"), tag("new", "x")], 5);
    let s = status("nginx:1", &[1], Some("old".into()));
    assert!(tags_stale(&d, &s));
    let observed = Observed {
        current: Some(CurrentState::Active {
            tags: Some(vec![
                tag("team", "a"),
                tag("gone", "y"),
                tag(tags::OWNER_UID, "uid"),
                tag(tags::CONTENT_HASH, "h"),
            ]),
        }),
        unrecorded: vec![],
    };
    let p = plan(&d, &[], &observed, &s);
    assert!(
        matches!(p.current, Current::Keep { .. }),
        "no new revision for tags"
    );
    let change = p.retag.expect("retag");
    assert_eq!(change.set, vec![tag("team", "b"), tag("new", "x")]);
    assert_eq!(change.remove, vec!["gone".to_owned()], "operator keys stay");
}

#[test]
fn tags_already_applied_cost_nothing() {
    let d = desired("nginx:1", vec![tag("team", "a")], 5);
    let s = status("nginx:1", &[1], Some("old".into()));
    let observed = Observed {
        current: Some(CurrentState::Active {
            tags: Some(vec![tag("team", "a")]),
        }),
        unrecorded: vec![],
    };
    assert!(plan(&d, &[], &observed, &s).is_noop());
}

#[test]
fn an_adopted_revision_gets_the_tags_of_today() {
    let d = desired("nginx:2", vec![tag("team", "b")], 5);
    let observed = Observed {
        current: None,
        unrecorded: vec![owned(2, "nginx:2", vec![tag("team", "a")])],
    };
    let p = plan(&d, &[], &observed, &EcsTaskDefinitionStatus::default());
    assert_eq!(p.retag.expect("retag").set, vec![tag("team", "b")]);
}

#[test]
fn deletion_covers_recorded_and_unrecorded_revisions_once() {
    let s = status("nginx:1", &[2, 1], None);
    let arns = revisions_to_delete(
        &s,
        &[owned(3, "nginx:3", vec![]), owned(2, "nginx:1", vec![])],
    );
    assert_eq!(
        arns,
        vec![format!("{F}:2"), format!("{F}:1"), format!("{F}:3")]
    );
}

#[test]
fn history_keeps_the_newest_and_always_the_current() {
    let all: Vec<RegisteredRevision> = (1..=5).rev().map(|n| rev(n, "x")).collect();
    let (keep, expired) = split_history(&all, &rev(5, "x").arn, 3);
    assert_eq!(
        keep.iter().map(|r| r.revision).collect::<Vec<_>>(),
        [5, 4, 3]
    );
    assert_eq!(
        expired.iter().map(|r| r.revision).collect::<Vec<_>>(),
        [2, 1]
    );
    let (keep, expired) = split_history(&all, &rev(1, "x").arn, 2);
    assert_eq!(keep.iter().map(|r| r.revision).collect::<Vec<_>>(), [5, 1]);
    assert_eq!(
        expired.iter().map(|r| r.revision).collect::<Vec<_>>(),
        [4, 3, 2]
    );
}

#[test]
fn a_new_revision_is_recorded_only_once_registered_and_old_ones_expire_after() {
    let d = desired("nginx:2", vec![], 2);
    let s = status("nginx:1", &[2, 1], Some(d.tags_hash.clone()));
    let p = pipeline_plan(&d, &[], plan(&d, &[], &Observed::default(), &s), &s);
    assert_eq!(
        p.status.task_definition_arn.as_deref(),
        Some(format!("{F}:2").as_str()),
        "the current revision stays until RegisterTaskDefinition answered"
    );
    let kinds: Vec<&str> = p
        .steps
        .iter()
        .map(|step| match step {
            Step::Register { .. } => "register",
            Step::Retag { .. } => "retag",
            Step::Deregister { .. } => "deregister",
        })
        .collect();
    assert_eq!(
        kinds,
        ["register", "deregister"],
        "limit 2: revision 1 goes"
    );
    let mut committed = p.status.clone();
    let mut notes = Vec::new();
    let mut steps = p.steps.into_iter();
    commit(
        steps.next().expect("register"),
        Answer::Registered {
            arn: format!("{F}:3"),
            revision: 3,
        },
        &mut committed,
        &mut notes,
    );
    assert_eq!(committed.revision, Some(3));
    assert_eq!(committed.content_hash.as_deref(), Some(d.hash.as_str()));
    assert_eq!(notes[0].reason, "Registered");
    commit(
        steps.next().expect("deregister"),
        Answer::Done,
        &mut committed,
        &mut notes,
    );
    let kept: Vec<i32> = committed
        .registered_revisions
        .iter()
        .map(|r| r.revision)
        .collect();
    assert_eq!(kept, [3, 2]);
}

#[test]
fn deletion_deregisters_every_revision_of_the_object_unless_retained() {
    let s = status("nginx:1", &[2, 1], None);
    let retained = cleanup_plan(true, "web", &[], &[], &s, TIMING);
    assert!(retained.steps.is_empty());
    assert_eq!(retained.done_notes[0].reason, "Retained");
    let deleted = cleanup_plan(false, "web", &[], &[], &s, TIMING);
    let arns: Vec<&str> = deleted
        .steps
        .iter()
        .map(|step| match step {
            Step::Deregister { arn, .. } => arn.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(arns.len(), 2, "{arns:?}");
}

const TIMING: crate::controller::pipeline::Timing = crate::controller::pipeline::Timing {
    poll: std::time::Duration::from_secs(5),
    resync: std::time::Duration::from_secs(600),
};

#[test]
fn deletion_keeps_a_revision_a_live_service_runs_until_it_moves_off() {
    let s = status("nginx:1", &[2, 1], None);
    let arns: Vec<String> = s
        .registered_revisions
        .iter()
        .map(|r| r.arn.clone())
        .collect();
    let running = arns[0].clone();
    // One service runs a revision by ARN, another names the other one as family:revision.
    let users = [
        RevisionUser {
            service: "apps/web".into(),
            reference: running.clone(),
        },
        RevisionUser {
            service: "apps/old".into(),
            reference: format!(
                "web:{}",
                crate::translate::task_definition::revision_of_arn(&arns[1])
            ),
        },
    ];
    let plan = cleanup_plan(false, "web", &[], &users[..1], &s, TIMING);
    let deregistered: Vec<&str> = plan
        .steps
        .iter()
        .map(|step| match step {
            Step::Deregister { arn, .. } => arn.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(deregistered, [arns[1].as_str()], "the unused one goes now");
    match &plan.outcome {
        Ok(Cleanup::Waiting {
            reason, message, ..
        }) => {
            assert_eq!(reason, "RevisionInUse");
            assert!(message.contains("apps/web"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let both = cleanup_plan(false, "web", &[], &users, &s, TIMING);
    assert!(both.steps.is_empty(), "{:?}", both.steps);
    // Moved off: nothing kept.
    let moved = cleanup_plan(false, "web", &[], &[], &s, TIMING);
    assert!(matches!(moved.outcome, Ok(Cleanup::Done)));
}

#[test]
fn a_revision_registered_outside_the_operator_is_taken_over_with_owner_tags_only() {
    let d = desired("nginx:1", vec![tag("team", "a")], 5);
    let owner = vec![tag(tags::OWNER_UID, "uid-1")];
    let mut outside = owned(3, "nginx:1", vec![tag("team", "a")]);
    outside.missing_owner_tags = owner.clone();
    let observed = Observed {
        current: None,
        unrecorded: vec![outside],
    };
    let decided = plan(&d, &[], &observed, &EcsTaskDefinitionStatus::default());
    assert!(matches!(decided.current, Current::Adopt(ref r) if r.revision == 3));
    let planned = pipeline_plan(&d, &owner, decided, &EcsTaskDefinitionStatus::default());
    assert_eq!(
        planned.steps.len(),
        1,
        "no RegisterTaskDefinition: {:?}",
        planned.steps
    );
    match &planned.steps[0] {
        Step::Retag { change, .. } => {
            assert_eq!(change.set, owner, "only the owner tags are added");
            assert!(change.remove.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(planned.status.revision, Some(3));
    assert!(
        planned
            .notes
            .iter()
            .any(|n| n.note.contains("outside the operator")),
        "{:?}",
        planned.notes
    );

    // The TagResource failed (nothing committed): the next pass reads the revision's tags and
    // adds the owner tags still missing, so no other object can take the revision over.
    let after_failure = planned.status;
    let read_again = Observed {
        current: Some(CurrentState::Active {
            tags: Some(vec![tag("team", "a")]),
        }),
        unrecorded: vec![],
    };
    let decided = plan(&d, &owner, &read_again, &after_failure);
    assert!(matches!(decided.current, Current::Keep { revision: 3, .. }));
    assert_eq!(
        decided.retag.map(|change| change.set),
        Some(owner),
        "the owner tags, again"
    );
}
