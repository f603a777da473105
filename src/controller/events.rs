//! Kubernetes Events (`events.k8s.io/v1`) about the objects the operator manages. A repeat of an
//! Event within six minutes counts up the first one's `series` instead of adding an Event, as
//! Kubernetes' own recorders and kube's `Recorder` do. Unlike kube's `Recorder`, which keeps every
//! Event it sent (twice over, with its key) and scans them all on every publish, this keeps a hash
//! of each Event's identity with its name, count and time, and drops expired ones from the front
//! of a queue: a cold start of 2,200 objects publishes about 2,800 Events, and 10,000 objects
//! several times that.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event as KubeEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType};
use serde_json::json;

/// How long a published Event takes repeats into its series (Kubernetes' recorders use 6 minutes,
/// kube's too).
pub const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);

/// Publishes Events; cloning shares what was published, so repeats from any controller aggregate.
#[derive(Clone)]
pub struct EventRecorder {
    client: kube::Client,
    controller: String,
    instance: String,
    recent: Arc<Mutex<Recent>>,
}

/// What a publish sends.
#[derive(Debug, PartialEq, Eq)]
enum Outgoing {
    /// A new Event.
    Create,
    /// A repeat: the Event `name` in `namespace` with its series at `count`.
    Repeat {
        namespace: String,
        name: String,
        count: i32,
    },
}

/// One Event published within the window.
struct Published {
    namespace: String,
    name: String,
    count: i32,
    last: Instant,
}

/// The Events published within the window, by a hash of what makes an Event a repeat (type,
/// reason, action, the object it regards); `queue` holds each publish's time in order, so expiry
/// looks only at the oldest.
#[derive(Default)]
struct Recent {
    events: HashMap<u64, Published>,
    queue: VecDeque<(Instant, u64)>,
}

impl Recent {
    fn expire(&mut self, now: Instant) {
        while let Some(&(at, key)) = self.queue.front() {
            if now.saturating_duration_since(at) < SERIES_WINDOW {
                break;
            }
            self.queue.pop_front();
            // A later repeat pushed a later entry; the Event stays until that one expires.
            if self
                .events
                .get(&key)
                .is_some_and(|p| now.saturating_duration_since(p.last) >= SERIES_WINDOW)
            {
                self.events.remove(&key);
            }
        }
    }

    /// What publishing the Event `key` at `now` sends.
    fn next(&mut self, key: u64, now: Instant) -> Outgoing {
        self.expire(now);
        match self.events.get(&key) {
            Some(p) => Outgoing::Repeat {
                namespace: p.namespace.clone(),
                name: p.name.clone(),
                count: p.count + 1,
            },
            None => Outgoing::Create,
        }
    }

    /// The API server took the Event `name` at `count`.
    fn sent(&mut self, key: u64, namespace: String, name: String, count: i32, now: Instant) {
        self.events.insert(
            key,
            Published {
                namespace,
                name,
                count,
                last: now,
            },
        );
        self.queue.push_back((now, key));
    }

    fn forget(&mut self, key: u64) {
        self.events.remove(&key);
    }
}

/// What makes two Events one series: the same type, reason and action about the same object.
/// (The action carries a hash of the message, see [`super::pipeline::Note::event`].)
fn key_of(event: &Event, regarding: &ObjectReference) -> u64 {
    let mut hasher = DefaultHasher::new();
    matches!(event.type_, EventType::Warning).hash(&mut hasher);
    event.reason.hash(&mut hasher);
    event.action.hash(&mut hasher);
    regarding.uid.hash(&mut hasher);
    regarding.kind.hash(&mut hasher);
    regarding.namespace.hash(&mut hasher);
    regarding.name.hash(&mut hasher);
    hasher.finish()
}

impl EventRecorder {
    /// A recorder whose Events name `controller` as their reporting controller and `instance`
    /// (the pod, so `kubectl describe` tells which replica wrote them; the controller when
    /// `None`) as the reporting instance.
    pub fn new(client: kube::Client, controller: &str, instance: Option<String>) -> Self {
        Self {
            client,
            controller: controller.to_owned(),
            instance: instance.unwrap_or_else(|| controller.to_owned()),
            recent: Arc::default(),
        }
    }

    /// Publishes `event` about `regarding` (in its namespace, `default` for a cluster-scoped
    /// object): a new Event, or a repeat counted into the series of the same Event within
    /// [`SERIES_WINDOW`]. A repeat whose Event is gone (the API server expires Events after an
    /// hour by default) is published as a new one.
    pub async fn publish(
        &self,
        event: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let key = key_of(event, regarding);
        let send = self
            .recent
            .lock()
            .map(|mut recent| recent.next(key, Instant::now()))
            .unwrap_or(Outgoing::Create);
        if let Outgoing::Repeat {
            namespace,
            name,
            count,
        } = send
        {
            let events: Api<KubeEvent> = Api::namespaced(self.client.clone(), &namespace);
            let series = json!({"series": {"count": count, "lastObservedTime": MicroTime(Timestamp::now())}});
            match events
                .patch(&name, &PatchParams::default(), &Patch::Merge(&series))
                .await
            {
                Ok(_) => {
                    self.remember(key, namespace, name, count);
                    return Ok(());
                }
                Err(kube::Error::Api(status)) if status.code == 404 => {
                    if let Ok(mut recent) = self.recent.lock() {
                        recent.forget(key);
                    }
                }
                Err(error) => return Err(error),
            }
        }
        let created = self.new_event(event, regarding);
        let namespace = created.metadata.namespace.clone().unwrap_or_default();
        let name = created.metadata.name.clone().unwrap_or_default();
        Api::<KubeEvent>::namespaced(self.client.clone(), &namespace)
            .create(&PostParams::default(), &created)
            .await?;
        self.remember(key, namespace, name, 1);
        Ok(())
    }

    fn remember(&self, key: u64, namespace: String, name: String, count: i32) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.sent(key, namespace, name, count, Instant::now());
        }
    }

    /// The Event as Kubernetes' recorders write it: named after the object and the time, with
    /// `eventTime`, the reporting controller and instance, and no series yet.
    fn new_event(&self, event: &Event, regarding: &ObjectReference) -> KubeEvent {
        let now = Timestamp::now();
        KubeEvent {
            action: Some(event.action.clone()),
            reason: Some(event.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            related: event.secondary.clone(),
            note: event.note.clone(),
            metadata: ObjectMeta {
                namespace: Some(
                    regarding
                        .namespace
                        .clone()
                        .unwrap_or_else(|| "default".to_owned()),
                ),
                name: Some(format!(
                    "{}.{:x}",
                    regarding.name.as_deref().unwrap_or(&self.controller),
                    now.as_nanosecond()
                )),
                ..ObjectMeta::default()
            },
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(
                match event.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_owned(),
            ),
            ..KubeEvent::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::pipeline::Note;

    fn regarding(name: &str) -> ObjectReference {
        ObjectReference {
            kind: Some("EcsService".into()),
            namespace: Some("team".into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            ..ObjectReference::default()
        }
    }

    #[test]
    fn a_repeat_within_the_window_counts_up_the_first_events_series() {
        let mut recent = Recent::default();
        let start = Instant::now();
        let created = key_of(&Note::normal("Created", "a").event(), &regarding("web"));
        assert_eq!(recent.next(created, start), Outgoing::Create);
        recent.sent(created, "team".into(), "web.1".into(), 1, start);
        let later = start + Duration::from_secs(60);
        assert_eq!(
            recent.next(created, later),
            Outgoing::Repeat {
                namespace: "team".into(),
                name: "web.1".into(),
                count: 2
            }
        );
        recent.sent(created, "team".into(), "web.1".into(), 2, later);
        // The window runs from the last repeat, not the first publish.
        let after_first = start + SERIES_WINDOW + Duration::from_secs(1);
        assert!(matches!(
            recent.next(created, after_first),
            Outgoing::Repeat { count: 3, .. }
        ));
        assert_eq!(
            recent.next(created, later + SERIES_WINDOW),
            Outgoing::Create,
            "a repeat after the window is a new Event"
        );
        assert!(recent.events.is_empty() && recent.queue.is_empty());
    }

    #[test]
    fn another_message_reason_type_or_object_is_another_event() {
        let base = key_of(&Note::normal("Created", "a").event(), &regarding("web"));
        for other in [
            key_of(&Note::normal("Created", "b").event(), &regarding("web")),
            key_of(&Note::normal("Deploying", "a").event(), &regarding("web")),
            key_of(&Note::warning("Created", "a").event(), &regarding("web")),
            key_of(&Note::normal("Created", "a").event(), &regarding("api")),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(
            base,
            key_of(&Note::normal("Created", "a").event(), &regarding("web"))
        );
    }

    #[test]
    fn a_forgotten_event_is_created_again() {
        let mut recent = Recent::default();
        let now = Instant::now();
        recent.sent(7, "team".into(), "web.1".into(), 1, now);
        recent.forget(7);
        assert_eq!(recent.next(7, now), Outgoing::Create);
    }
}
