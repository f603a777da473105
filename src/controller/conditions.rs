//! kstatus conditions (Ready, Reconciling, Stalled), written the way kubectl wait, Flux and Argo CD
//! read them: all three present from the first visit, `lastTransitionTime` moving only when a
//! condition's status changes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Condition type: the object's desired state is in effect.
pub const READY: &str = "Ready";
/// Condition type: work is in progress.
pub const RECONCILING: &str = "Reconciling";
/// Condition type: progress needs a human.
pub const STALLED: &str = "Stalled";
/// Condition type: the operator observes the object but makes no AWS writes for it (the
/// reconcile annotation, or `--read-only`). Present only while that is so.
pub const PAUSED: &str = "Paused";

/// Which of the three states the object is in, with the reason and message to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Ready=True.
    Ready { reason: String, message: String },
    /// Reconciling=True, Ready=False.
    Reconciling { reason: String, message: String },
    /// Stalled=True, Ready=False.
    Stalled { reason: String, message: String },
    /// Paused=True; Ready says whether AWS matches the spec (`in_sync`), the message what
    /// applying it would call. Neither Reconciling nor Stalled: nothing will happen by itself.
    Paused {
        in_sync: bool,
        reason: String,
        message: String,
    },
}

/// Sets one condition; returns whether anything changed.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: &Time,
) -> bool {
    let status = if status { "True" } else { "False" };
    // Kubernetes limits: reason is a CamelCase identifier, message up to 32 KiB.
    let message: String = message.chars().take(32_768).collect();
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            let changed_status = existing.status != status;
            let changed = changed_status
                || existing.reason != reason
                || existing.message != message
                || existing.observed_generation != generation;
            if changed_status {
                existing.last_transition_time = now.clone();
            }
            existing.status = status.to_owned();
            existing.reason = reason.to_owned();
            existing.message = message;
            existing.observed_generation = generation;
            changed
        }
        None => {
            conditions.push(Condition {
                type_: type_.to_owned(),
                status: status.to_owned(),
                reason: reason.to_owned(),
                message,
                observed_generation: generation,
                last_transition_time: now.clone(),
            });
            true
        }
    }
}

/// Writes all three conditions for `health`; returns whether anything changed.
pub fn apply(
    conditions: &mut Vec<Condition>,
    health: &Health,
    generation: Option<i64>,
    now: &Time,
) -> bool {
    let (ready, reconciling, stalled, reason, message) = match health {
        Health::Ready { reason, message } => (true, false, false, reason, message),
        Health::Reconciling { reason, message } => (false, true, false, reason, message),
        Health::Stalled { reason, message } => (false, false, true, reason, message),
        Health::Paused {
            in_sync,
            reason,
            message,
        } => (*in_sync, false, false, reason, message),
    };
    let mut changed = false;
    if matches!(health, Health::Paused { .. }) {
        changed |= set(conditions, PAUSED, true, reason, message, generation, now);
    } else {
        let before = conditions.len();
        conditions.retain(|c| c.type_ != PAUSED);
        changed |= conditions.len() != before;
    }
    changed |= set(conditions, READY, ready, reason, message, generation, now);
    let (r_reason, r_message) = if reconciling {
        (reason.as_str(), message.as_str())
    } else {
        ("Idle", "")
    };
    changed |= set(
        conditions,
        RECONCILING,
        reconciling,
        r_reason,
        r_message,
        generation,
        now,
    );
    let (s_reason, s_message) = if stalled {
        (reason.as_str(), message.as_str())
    } else {
        ("Progressing", "")
    };
    changed |= set(
        conditions, STALLED, stalled, s_reason, s_message, generation, now,
    );
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).expect("time"))
    }

    #[test]
    fn transitions_move_only_on_status_change() {
        let mut conditions = Vec::new();
        let reconciling = Health::Reconciling {
            reason: "Registering".into(),
            message: "registering".into(),
        };
        assert!(apply(&mut conditions, &reconciling, Some(1), &at(100)));
        assert_eq!(conditions.len(), 3);
        assert!(
            !apply(&mut conditions, &reconciling, Some(1), &at(200)),
            "nothing changed"
        );
        let ready = Health::Ready {
            reason: "Registered".into(),
            message: "revision 1".into(),
        };
        assert!(apply(&mut conditions, &ready, Some(1), &at(300)));
        let get = |t: &str| {
            conditions
                .iter()
                .find(|c| c.type_ == t)
                .cloned()
                .expect("condition")
        };
        assert_eq!(get(READY).status, "True");
        assert_eq!(get(READY).last_transition_time, at(300));
        assert_eq!(get(RECONCILING).status, "False");
        assert_eq!(
            get(STALLED).last_transition_time,
            at(100),
            "Stalled stayed False since the first visit"
        );
        assert_eq!(get(READY).observed_generation, Some(1));
    }

    #[test]
    fn paused_is_a_fourth_condition_only_while_paused() {
        let mut conditions = Vec::new();
        let drifted = Health::Paused {
            in_sync: false,
            reason: "ReconcileDisabled".into(),
            message: "applying would call ecs:UpdateService".into(),
        };
        assert!(apply(&mut conditions, &drifted, Some(2), &at(100)));
        let status = |conditions: &[Condition], t: &str| {
            conditions
                .iter()
                .find(|c| c.type_ == t)
                .map(|c| c.status.clone())
        };
        assert_eq!(status(&conditions, PAUSED).as_deref(), Some("True"));
        assert_eq!(status(&conditions, READY).as_deref(), Some("False"));
        assert_eq!(status(&conditions, RECONCILING).as_deref(), Some("False"));
        assert_eq!(status(&conditions, STALLED).as_deref(), Some("False"));
        let ready = Health::Ready {
            reason: "Registered".into(),
            message: String::new(),
        };
        assert!(apply(&mut conditions, &ready, Some(2), &at(200)));
        assert_eq!(status(&conditions, PAUSED), None, "gone once resumed");
        assert_eq!(conditions.len(), 3);
    }
}
