//! Structural-schema handling of custom resources, as the API server does it on every write:
//! prune unknown fields, apply defaults, validate types and constraints, evaluate CEL rules.

use serde_json::{Map, Value};

/// One validation failure, in the API server's `StatusCause` terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`, `FieldValueTypeInvalid`, ...
    pub reason: String,
    /// Field path (`spec.containerDefinitions[0].name`).
    pub field: String,
    /// Human message.
    pub message: String,
}

fn cause(reason: &str, field: &str, message: impl Into<String>) -> Cause {
    Cause {
        reason: reason.into(),
        field: field.into(),
        message: message.into(),
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Removes fields the schema does not know; returns their paths (for `fieldValidation=Strict`).
pub fn prune(schema: &Value, value: &mut Value, path: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return unknown;
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            if let Some(properties) = properties {
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    match properties.get(&key) {
                        Some(sub) => {
                            if let Some(v) = map.get_mut(&key) {
                                unknown.extend(prune(sub, v, &child(path, &key)));
                            }
                        }
                        None => {
                            // apiVersion, kind and metadata are the server's own, never pruned.
                            if path.is_empty()
                                && matches!(key.as_str(), "apiVersion" | "kind" | "metadata")
                            {
                                continue;
                            }
                            map.remove(&key);
                            unknown.push(child(path, &key));
                        }
                    }
                }
            } else if let Some(additional) = additional.filter(|a| a.is_object()) {
                for (key, v) in map.iter_mut() {
                    unknown.extend(prune(additional, v, &child(path, key)));
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    unknown.extend(prune(item_schema, item, &format!("{path}[{i}]")));
                }
            }
        }
        _ => {}
    }
    unknown
}

/// Applies `default`s of absent properties, recursively.
pub fn apply_defaults(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (key, sub) in properties {
                    if !map.contains_key(key)
                        && let Some(default) = sub.get("default")
                    {
                        map.insert(key.clone(), default.clone());
                    }
                    if let Some(v) = map.get_mut(key) {
                        apply_defaults(sub, v);
                    }
                }
            } else if let Some(additional) =
                schema.get("additionalProperties").filter(|a| a.is_object())
            {
                for v in map.values_mut() {
                    apply_defaults(additional, v);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items.iter_mut() {
                    apply_defaults(item_schema, item);
                }
            }
        }
        _ => {}
    }
}

/// Checks types, required fields, enums, bounds, lengths and patterns.
pub fn validate(schema: &Value, value: &Value, path: &str, causes: &mut Vec<Cause>) {
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) && !path.is_empty() {
            causes.push(cause(
                "FieldValueTypeInvalid",
                path,
                "Invalid value: \"null\": must not be null",
            ));
        }
        return;
    }
    let int_or_string = schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    if int_or_string {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            causes.push(cause(
                "FieldValueTypeInvalid",
                path,
                "Invalid value: must be an integer or a string",
            ));
        }
        return;
    }
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        let ok = match expected {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => {
                value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !ok {
            causes.push(cause(
                "FieldValueTypeInvalid",
                path,
                format!(
                    "Invalid value: {}: {path} in body must be of type {expected}: \"{}\"",
                    value,
                    type_name(value)
                ),
            ));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let allowed: Vec<String> = options
            .iter()
            .filter(|o| !o.is_null())
            .map(ToString::to_string)
            .collect();
        causes.push(cause(
            "FieldValueNotSupported",
            path,
            format!(
                "Unsupported value: {value}: supported values: {}",
                allowed.join(", ")
            ),
        ));
    }
    match value {
        Value::Object(map) => {
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(key) = required.as_str()
                    && !map.contains_key(key)
                {
                    causes.push(cause(
                        "FieldValueRequired",
                        &child(path, key),
                        "Required value",
                    ));
                }
            }
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (key, v) in map {
                    if let Some(sub) = properties.get(key) {
                        validate(sub, v, &child(path, key), causes);
                    }
                }
            } else if let Some(additional) =
                schema.get("additionalProperties").filter(|a| a.is_object())
            {
                for (key, v) in map {
                    validate(additional, v, &child(path, key), causes);
                }
            }
        }
        Value::Array(items) => {
            check_count(
                schema,
                "minItems",
                "maxItems",
                items.len(),
                path,
                "items",
                causes,
            );
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate(item_schema, item, &format!("{path}[{i}]"), causes);
                }
            }
        }
        Value::String(s) => {
            check_count(
                schema,
                "minLength",
                "maxLength",
                s.chars().count(),
                path,
                "characters",
                causes,
            );
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                match regex::Regex::new(pattern) {
                    Ok(re) if !re.is_match(s) => causes.push(cause(
                        "FieldValueInvalid",
                        path,
                        format!("Invalid value: \"{s}\": {path} in body should match '{pattern}'"),
                    )),
                    _ => {}
                }
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && x < min
            {
                causes.push(cause("FieldValueInvalid", path, format!("Invalid value: {n}: {path} in body should be greater than or equal to {min}")));
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && x > max
            {
                causes.push(cause(
                    "FieldValueInvalid",
                    path,
                    format!(
                        "Invalid value: {n}: {path} in body should be less than or equal to {max}"
                    ),
                ));
            }
        }
        _ => {}
    }
}

fn check_count(
    schema: &Value,
    min_key: &str,
    max_key: &str,
    count: usize,
    path: &str,
    what: &str,
    causes: &mut Vec<Cause>,
) {
    if let Some(min) = schema.get(min_key).and_then(Value::as_u64)
        && (count as u64) < min
    {
        causes.push(cause(
            "FieldValueInvalid",
            path,
            format!("Invalid value: {count}: {path} in body should have at least {min} {what}"),
        ));
    }
    if let Some(max) = schema.get(max_key).and_then(Value::as_u64)
        && (count as u64) > max
    {
        causes.push(cause(
            "FieldValueTooMany",
            path,
            format!("Too many: {count}: must have at most {max} {what}"),
        ));
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Evaluates every `x-kubernetes-validations` rule (transition rules with `old`), compiled once
/// per CRD (see `store::CrdSchema`).
pub fn validate_cel(
    rules: &::kube::core::cel::CompiledSchema,
    object: &Value,
    old: Option<&Value>,
) -> Vec<Cause> {
    thread_local! {
        // The validator registers every Kubernetes CEL function when made: once per thread.
        static VALIDATOR: ::kube::core::cel::Validator = ::kube::core::cel::Validator::new();
    }
    match VALIDATOR.with(|validator| validator.validate_compiled(rules, object, old)) {
        Ok(()) => Vec::new(),
        Err(errors) => {
            let mut causes: Vec<Cause> = errors
                .to_string()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|line| {
                    let (field, message) = line.split_once(": ").unwrap_or(("", line));
                    cause("FieldValueInvalid", field.trim(), message.trim())
                })
                .collect();
            // The compiled rules walk properties in hash order: sorted, the answer is the same
            // every time.
            causes.sort_by(|a, b| (&a.field, &a.message).cmp(&(&b.field, &b.message)));
            causes
        }
    }
}

/// A JSON object with the given entries (helper for building documents).
pub fn object(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
    Value::Object(entries.into_iter().collect::<Map<String, Value>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "integer", "minimum": 1, "maximum": 10},
                "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
                "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "items": {"type": "array", "maxItems": 2, "items": {"type": "object", "properties": {"x": {"type": "integer"}}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "cpu": {"x-kubernetes-int-or-string": true}
            }}
        }})
    }

    #[test]
    fn prunes_unknown_fields_but_not_maps_or_preserved() {
        let mut value = json!({"apiVersion": "v", "kind": "K", "metadata": {}, "extra": 1,
            "spec": {"size": 1, "typo": true, "labels": {"a": "b"}, "free": {"any": 1}, "items": [{"x": 1, "y": 2}]}});
        let mut unknown = prune(&schema(), &mut value, "");
        unknown.sort();
        assert_eq!(unknown, ["extra", "spec.items[0].y", "spec.typo"]);
        assert_eq!(value["spec"]["labels"], json!({"a": "b"}));
        assert_eq!(value["spec"]["free"], json!({"any": 1}));
        assert_eq!(value["apiVersion"], "v");
    }

    #[test]
    fn defaults_and_validation() {
        let mut value =
            json!({"spec": {"size": 11, "name": "ABCDEF", "items": [{}, {}, {}], "cpu": 1.5}});
        apply_defaults(&schema(), &mut value);
        assert_eq!(value["spec"]["mode"], "a");
        let mut causes = Vec::new();
        validate(&schema(), &value, "", &mut causes);
        let mut fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "spec.cpu",
                "spec.items",
                "spec.name",
                "spec.name",
                "spec.size"
            ]
        );
        let mut causes = Vec::new();
        validate(&schema(), &json!({"spec": {"mode": "c"}}), "", &mut causes);
        assert_eq!(causes[0].reason, "FieldValueRequired");
        assert_eq!(causes[0].field, "spec.size");
        assert_eq!(causes[1].reason, "FieldValueNotSupported");
    }
}
