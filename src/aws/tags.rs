//! The tags by which the operator recognises what it created, so a restart (or a crash between a
//! create and the status write) finds its own resources instead of creating them twice.

use crate::api::common::Tag;

/// Tag holding the UID of the Kubernetes object that owns the AWS resource.
pub const OWNER_UID: &str = "ecs.operator.dev/owner-uid";
/// Tag holding the content hash of a task definition revision.
pub const CONTENT_HASH: &str = "ecs.operator.dev/content-hash";
/// Tag holding `namespace/name` of the owner, for people reading the AWS console.
pub const OWNER: &str = "ecs.operator.dev/owner";

/// The ownership tags of an object (plus the content hash for task definitions).
pub fn ownership(uid: &str, namespace: &str, name: &str, content_hash: Option<&str>) -> Vec<Tag> {
    let mut tags = vec![
        Tag {
            key: OWNER_UID.into(),
            value: Some(uid.into()),
        },
        Tag {
            key: OWNER.into(),
            value: Some(format!("{namespace}/{name}")),
        },
    ];
    if let Some(hash) = content_hash {
        tags.push(Tag {
            key: CONTENT_HASH.into(),
            value: Some(hash.into()),
        });
    }
    tags
}

/// The value of `key` among `tags`.
pub fn value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key == key)
        .and_then(|t| t.value.as_deref())
}

/// Whether `tags` mark a resource as owned by the object with `uid`.
pub fn is_owned_by(tags: &[Tag], uid: &str) -> bool {
    value(tags, OWNER_UID) == Some(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_round_trip() {
        let tags = ownership("uid-1", "team-a", "web", Some("abc"));
        assert!(is_owned_by(&tags, "uid-1"));
        assert!(!is_owned_by(&tags, "uid-2"));
        assert_eq!(value(&tags, CONTENT_HASH), Some("abc"));
        assert_eq!(value(&tags, OWNER), Some("team-a/web"));
    }
}
