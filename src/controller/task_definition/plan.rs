//! The pure decisions of the EcsTaskDefinition controller: from what the spec wants, what AWS
//! shows and what the status recorded, which revision is current (keep, adopt, register, or
//! re-register after drift), which revisions to start tracking, which tags to change in place and
//! which old revisions to deregister. No I/O; every case is unit-tested below.

use crate::api::common::{ADOPT_ANNOTATION, Tag};
use crate::api::task_definition::{
    EcsTaskDefinitionStatus, RegisteredRevision, TaskDefinitionBody,
};
use crate::controller::pipeline::{Cleanup, Note, Progress};
use crate::translate::tags::{self, TagChange};
use crate::translate::task_definition::hash_matches;

/// What the spec asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    /// The RegisterTaskDefinition request (family filled in, the user's tags included).
    pub request: TaskDefinitionBody,
    /// The family it registers in.
    pub family: String,
    /// Content hash of the request (current algorithm version).
    pub hash: String,
    /// The user's tags.
    pub tags: Vec<Tag>,
    /// Hash of the user's tags, recorded once they are applied.
    pub tags_hash: String,
    /// How many of its own revisions the object keeps registered (at least 1).
    pub history_limit: usize,
}

/// The recorded current revision as AWS has it.
#[derive(Clone, Debug, PartialEq)]
pub enum CurrentState {
    /// Registered; its tags when they were read (only when the tags may need changing).
    Active {
        /// The revision's tags, if read.
        tags: Option<Vec<Tag>>,
    },
    /// Deregistered (or unknown to ECS) behind the operator's back.
    Gone,
}

/// A revision carrying this object's owner tag that the status does not record (a crash between
/// RegisterTaskDefinition and the status write left it behind), or, for an object with the adopt
/// annotation, an untagged revision holding exactly the desired content (registered outside the
/// operator: taken over without registering it again).
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedRevision {
    /// Its ARN.
    pub arn: String,
    /// Its revision number.
    pub revision: i32,
    /// The content hash tag it was registered with.
    pub content_hash: Option<String>,
    /// All its tags.
    pub tags: Vec<Tag>,
    /// The owner tags it lacks (a revision registered outside the operator), added on adoption.
    pub missing_owner_tags: Vec<Tag>,
}

/// What the observe step found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The recorded current revision, when it was looked at.
    pub current: Option<CurrentState>,
    /// Unrecorded revisions of the family carrying this object's UID, newest first.
    pub unrecorded: Vec<OwnedRevision>,
}

/// Which revision is current after this pass.
#[derive(Clone, Debug, PartialEq)]
pub enum Current {
    /// The recorded revision holds the desired content and is registered.
    Keep {
        /// Its ARN.
        arn: String,
        /// Its number.
        revision: i32,
    },
    /// An unrecorded revision of ours holds the desired content: record it, register nothing.
    Adopt(OwnedRevision),
    /// Nothing holds the desired content: register it. `drifted` names the recorded revision that
    /// was deregistered outside the operator, when that is why.
    Register {
        /// The recorded revision found deregistered.
        drifted: Option<String>,
    },
}

/// Everything one pass does, in order: track, make current, retag, expire.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Unrecorded revisions of ours to record, so history trimming and deletion see them.
    pub track: Vec<RegisteredRevision>,
    /// The current revision.
    pub current: Current,
    /// Tag changes to make in place on the current revision.
    pub retag: Option<TagChange>,
    /// Revisions of ours to deregister (beyond the history limit).
    pub expire: Vec<RegisteredRevision>,
    /// Recorded revisions that no longer exist (to forget without a call).
    pub forget: Vec<String>,
}

impl Plan {
    /// Whether the pass writes nothing to AWS.
    pub fn is_noop(&self) -> bool {
        matches!(self.current, Current::Keep { .. })
            && self.retag.as_ref().is_none_or(TagChange::is_empty)
            && self.expire.is_empty()
    }
}

/// Whether the status records a current revision holding the desired content.
pub fn recorded_matches(desired: &Desired, status: &EcsTaskDefinitionStatus) -> bool {
    status.task_definition_arn.is_some()
        && status
            .content_hash
            .as_deref()
            .is_some_and(|recorded| hash_matches(recorded, &desired.request))
}

/// Whether the current revision's tags must be read (the user's tags changed since last applied).
pub fn tags_stale(desired: &Desired, status: &EcsTaskDefinitionStatus) -> bool {
    status.tags_hash.as_deref() != Some(desired.tags_hash.as_str())
}

/// The plan for one pass.
pub fn plan(
    desired: &Desired,
    owner_tags: &[Tag],
    observed: &Observed,
    status: &EcsTaskDefinitionStatus,
) -> Plan {
    let recorded = recorded_matches(desired, status);
    let adoptable = observed.unrecorded.iter().find(|r| {
        r.content_hash
            .as_deref()
            .is_some_and(|h| hash_matches(h, &desired.request))
    });
    let gone = matches!(observed.current, Some(CurrentState::Gone));
    let current = match (recorded, gone, adoptable) {
        (true, false, _) => Current::Keep {
            arn: status.task_definition_arn.clone().unwrap_or_default(),
            revision: status.revision.unwrap_or_default(),
        },
        (_, _, Some(revision)) => Current::Adopt(revision.clone()),
        (true, true, None) => Current::Register {
            drifted: status.task_definition_arn.clone(),
        },
        (false, _, None) => Current::Register { drifted: None },
    };

    let adopted_arn = match &current {
        Current::Adopt(r) => Some(r.arn.as_str()),
        _ => None,
    };
    let track: Vec<RegisteredRevision> = observed
        .unrecorded
        .iter()
        .filter(|r| Some(r.arn.as_str()) != adopted_arn)
        .filter(|r| !status.registered_revisions.iter().any(|k| k.arn == r.arn))
        .map(|r| RegisteredRevision {
            arn: r.arn.clone(),
            revision: r.revision,
            content_hash: r.content_hash.clone().unwrap_or_default(),
        })
        .collect();

    // A recorded current revision found deregistered is gone already: forget it, no call.
    let forget: Vec<String> = if gone {
        status.task_definition_arn.iter().cloned().collect()
    } else {
        Vec::new()
    };
    let mut known: Vec<RegisteredRevision> = status
        .registered_revisions
        .iter()
        .filter(|r| !forget.contains(&r.arn))
        .cloned()
        .chain(track.iter().cloned())
        .collect();
    if let Current::Adopt(r) = &current
        && !known.iter().any(|k| k.arn == r.arn)
    {
        known.push(RegisteredRevision {
            arn: r.arn.clone(),
            revision: r.revision,
            content_hash: r.content_hash.clone().unwrap_or_default(),
        });
    }
    let limit = desired.history_limit.max(1);
    let expire = match &current {
        Current::Keep { arn, .. } => split_history(&known, arn, limit).1,
        Current::Adopt(r) => split_history(&known, &r.arn, limit).1,
        // The revision about to be registered is the newest and takes one place.
        Current::Register { .. } => {
            let mut ordered = known;
            ordered.sort_by_key(|r| std::cmp::Reverse(r.revision));
            ordered.split_off((limit - 1).min(ordered.len()))
        }
    };

    let retag = match &current {
        // The owner tags too: an adopted revision whose first tag call failed gets them here.
        Current::Keep { .. } if tags_stale(desired, status) => match &observed.current {
            Some(CurrentState::Active { tags: Some(found) }) => {
                Some(tags::diff_with_owner(&desired.tags, owner_tags, found))
            }
            _ => None,
        },
        Current::Adopt(r) => {
            let mut change = tags::diff(&desired.tags, &r.tags);
            change.set.extend(r.missing_owner_tags.iter().cloned());
            Some(change)
        }
        _ => None,
    }
    .filter(|change| !change.is_empty());

    Plan {
        track,
        current,
        retag,
        expire,
        forget,
    }
}

/// Which recorded revisions stay (the current one always, then the newest up to `limit` in all)
/// and which are deregistered.
pub fn split_history(
    revisions: &[RegisteredRevision],
    current_arn: &str,
    limit: usize,
) -> (Vec<RegisteredRevision>, Vec<RegisteredRevision>) {
    let mut ordered: Vec<RegisteredRevision> = revisions.to_vec();
    ordered.sort_by(|a, b| {
        (b.arn == current_arn)
            .cmp(&(a.arn == current_arn))
            .then(b.revision.cmp(&a.revision))
    });
    let expired = ordered.split_off(limit.min(ordered.len()));
    ordered.sort_by_key(|r| std::cmp::Reverse(r.revision));
    (ordered, expired)
}

/// What deleting the object deregisters: every revision it recorded and every unrecorded one
/// carrying its UID, each once.
pub fn revisions_to_delete(
    status: &EcsTaskDefinitionStatus,
    unrecorded: &[OwnedRevision],
) -> Vec<String> {
    let mut arns: Vec<String> = status
        .registered_revisions
        .iter()
        .map(|r| r.arn.clone())
        .chain(status.task_definition_arn.iter().cloned())
        .chain(unrecorded.iter().map(|r| r.arn.clone()))
        .collect();
    let mut seen = std::collections::HashSet::new();
    arns.retain(|arn| seen.insert(arn.clone()));
    arns
}

/// One AWS write of the EcsTaskDefinition pipeline, with what its commit records.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// RegisterTaskDefinition of the desired content; the new revision becomes current.
    Register {
        /// The request.
        request: Box<TaskDefinitionBody>,
        /// The operator's tags (owner and content hash) added to the user's.
        owner_tags: Vec<Tag>,
        /// Family, content hash and tags hash recorded with the revision.
        family: String,
        /// Content hash of the request.
        hash: String,
        /// Hash of the user's tags (registered with the revision).
        tags_hash: String,
        /// The recorded revision found deregistered outside the operator, when that is why.
        drifted: Option<String>,
    },
    /// Tag changes in place on the current revision (removals first).
    Retag {
        /// The revision's ARN.
        arn: String,
        /// Its number.
        revision: i32,
        /// The change.
        change: TagChange,
        /// Hash of the user's tags, recorded once applied.
        tags_hash: String,
    },
    /// DeregisterTaskDefinition of one of the object's revisions.
    Deregister {
        /// The revision.
        arn: String,
        /// Why, for the Event: the history limit (`Some(limit)`) or the object's deletion.
        history_limit: Option<usize>,
        /// Its number, when recorded.
        revision: Option<i32>,
    },
}

/// What AWS answered to a [`Step`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The revision RegisterTaskDefinition created.
    Registered {
        /// Its ARN.
        arn: String,
        /// Its number.
        revision: i32,
    },
    /// The write was accepted (or was already done).
    Done,
}

/// The pipeline's plan for one pass: tracking, forgetting and keeping or adopting a revision are
/// recorded at once (they need no write); registering, retagging and expiring are steps whose
/// effects are recorded only once AWS accepted them.
pub fn pipeline_plan(
    desired: &Desired,
    owner_tags: &[Tag],
    decided: Plan,
    current: &EcsTaskDefinitionStatus,
) -> PipelinePlan {
    let mut status = current.clone();
    status
        .registered_revisions
        .retain(|r| !decided.forget.contains(&r.arn));
    status
        .registered_revisions
        .extend(decided.track.iter().cloned());
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    let retag_pending = decided.retag.is_some();
    match decided.current {
        Current::Keep { arn, revision } => {
            record_current(&mut status, desired, &arn, revision, !retag_pending);
        }
        Current::Adopt(adopted) => {
            notes.push(Note::normal(
                "Adopted",
                if adopted.missing_owner_tags.is_empty() {
                    format!(
                        "adopted revision {} registered earlier for this content",
                        adopted.revision
                    )
                } else {
                    format!(
                        "took over revision {}, registered outside the operator with exactly this content ({ADOPT_ANNOTATION}); nothing registered",
                        adopted.revision
                    )
                },
            ));
            record_current(
                &mut status,
                desired,
                &adopted.arn,
                adopted.revision,
                !retag_pending,
            );
        }
        Current::Register { drifted } => steps.push(Step::Register {
            request: Box::new(desired.request.clone()),
            owner_tags: owner_tags.to_vec(),
            family: desired.family.clone(),
            hash: desired.hash.clone(),
            tags_hash: desired.tags_hash.clone(),
            drifted,
        }),
    }
    if let (Some(change), Some(arn), Some(revision)) =
        (decided.retag, &status.task_definition_arn, status.revision)
    {
        steps.push(Step::Retag {
            arn: arn.clone(),
            revision,
            change,
            tags_hash: desired.tags_hash.clone(),
        });
    }
    steps.extend(decided.expire.iter().map(|expired| Step::Deregister {
        arn: expired.arn.clone(),
        history_limit: Some(desired.history_limit),
        revision: Some(expired.revision),
    }));
    let mut plan = PipelinePlan::new(
        status,
        steps,
        Ok(Progress::Ready {
            reason: "Registered".into(),
            message: String::new(),
        }),
    );
    plan.notes = notes;
    plan
}

/// The pipeline's plan type of this kind.
pub type PipelinePlan = crate::controller::pipeline::Plan<EcsTaskDefinitionStatus, Step, Progress>;

/// The cleanup plan: `Retain` leaves everything; otherwise every revision of the object (recorded,
/// or carrying its UID) is deregistered.
pub fn cleanup_plan(
    retain: bool,
    family: &str,
    unrecorded: &[OwnedRevision],
    in_use: &[RevisionUser],
    status: &EcsTaskDefinitionStatus,
    timing: crate::controller::pipeline::Timing,
) -> crate::controller::pipeline::Plan<EcsTaskDefinitionStatus, Step, Cleanup> {
    use crate::controller::pipeline::Plan as P;
    if retain {
        return P::only(status.clone(), Ok(Cleanup::Done)).when_done(Note::normal(
            "Retained",
            "deletionPolicy is Retain: the revisions stay registered",
        ));
    }
    // A revision a live EcsService runs (or is rolling to) stays registered until it moves off
    // it: the deletion waits for that, and deregisters the rest now.
    let (kept, arns): (Vec<String>, Vec<String>) = revisions_to_delete(status, unrecorded)
        .into_iter()
        .partition(|arn| in_use.iter().any(|user| user.runs(arn)));
    let outcome = if kept.is_empty() {
        Cleanup::Done
    } else {
        let users: Vec<String> = kept
            .iter()
            .map(|arn| {
                let mut services: Vec<&str> = in_use
                    .iter()
                    .filter(|user| user.runs(arn))
                    .map(|user| user.service.as_str())
                    .collect();
                services.dedup();
                format!(
                    "{} (EcsService {})",
                    crate::translate::task_definition::short_reference(arn),
                    services.join(", ")
                )
            })
            .collect();
        Cleanup::Waiting {
            reason: "RevisionInUse".into(),
            message: format!(
                "kept registered while a service still uses it: {}; deregistered once the service moves to another task definition or is deleted (or set deletionPolicy: Retain)",
                users.join("; ")
            ),
            requeue: timing.resync / 10,
        }
    };
    let count = arns.len();
    let steps = arns
        .into_iter()
        .map(|arn| Step::Deregister {
            revision: status
                .registered_revisions
                .iter()
                .find(|r| r.arn == arn)
                .map(|r| r.revision),
            arn,
            history_limit: None,
        })
        .collect();
    let plan = P::new(status.clone(), steps, Ok(outcome));
    if count == 0 {
        return plan;
    }
    plan.when_done(Note::normal(
        "Deregistered",
        format!("deregistered {count} revision(s) of family {family}"),
    ))
}

/// A live EcsService's use of a task definition: the revision ECS runs for it, or the one it
/// rolls to (an ARN, or `family:revision` as a spec may name it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionUser {
    /// `namespace/name` of the EcsService.
    pub service: String,
    /// The revision it uses.
    pub reference: String,
}

impl RevisionUser {
    /// Whether this use is of the revision `arn`.
    pub fn runs(&self, arn: &str) -> bool {
        use crate::translate::task_definition::{family_of_arn, revision_of_arn};
        if self.reference == arn {
            return true;
        }
        match self.reference.split_once(':') {
            Some((family, revision)) if !self.reference.starts_with("arn:") => {
                family_of_arn(arn) == Some(family)
                    && revision.parse::<i32>().ok() == Some(revision_of_arn(arn))
            }
            _ => false,
        }
    }
}

/// Records a write AWS accepted.
pub fn commit(
    step: Step,
    answer: Answer,
    status: &mut EcsTaskDefinitionStatus,
    notes: &mut Vec<Note>,
) {
    match (step, answer) {
        (
            Step::Register {
                family,
                hash,
                tags_hash,
                drifted,
                ..
            },
            Answer::Registered { arn, revision },
        ) => {
            notes.push(match drifted {
                Some(old) => Note::warning(
                    "Drift",
                    format!(
                        "{old} was deregistered outside the operator; registered the same content again as revision {revision}"
                    ),
                ),
                None => Note::normal(
                    "Registered",
                    format!("registered revision {revision} ({arn})"),
                ),
            });
            status.family = Some(family);
            set_current(status, &arn, revision, &hash);
            status.tags_hash = Some(tags_hash);
        }
        (Step::Register { .. }, Answer::Done) => {}
        (
            Step::Retag {
                revision,
                change,
                tags_hash,
                ..
            },
            _,
        ) => {
            status.tags_hash = Some(tags_hash);
            notes.push(Note::normal(
                "Tagged",
                format!(
                    "tags of revision {revision}: {} set, {} removed",
                    change.set.len(),
                    change.remove.len()
                ),
            ));
        }
        (
            Step::Deregister {
                arn,
                history_limit,
                revision,
            },
            _,
        ) => {
            status.registered_revisions.retain(|r| r.arn != arn);
            if let Some(limit) = history_limit {
                notes.push(Note::normal(
                    "Deregistered",
                    format!(
                        "deregistered revision {} (history limit {limit})",
                        revision.unwrap_or_default()
                    ),
                ));
            }
        }
    }
}

fn record_current(
    status: &mut EcsTaskDefinitionStatus,
    desired: &Desired,
    arn: &str,
    revision: i32,
    tags_applied: bool,
) {
    status.family = Some(desired.family.clone());
    set_current(status, arn, revision, &desired.hash);
    if tags_applied {
        status.tags_hash = Some(desired.tags_hash.clone());
    }
}

fn set_current(status: &mut EcsTaskDefinitionStatus, arn: &str, revision: i32, hash: &str) {
    status.task_definition_arn = Some(arn.to_owned());
    status.revision = Some(revision);
    status.content_hash = Some(hash.to_owned());
    status.registered_revisions.retain(|r| r.arn != arn);
    status.registered_revisions.push(RegisteredRevision {
        arn: arn.to_owned(),
        revision,
        content_hash: hash.to_owned(),
    });
    status
        .registered_revisions
        .sort_by_key(|r| std::cmp::Reverse(r.revision));
}

#[cfg(test)]
mod tests;
