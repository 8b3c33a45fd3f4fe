//! The wrappers around Keka's data: the paged list envelope, the single-item envelope,
//! the error body, and the preboarding list's own paging shape.

use serde::{Deserialize, Deserializer};

use super::null_as_default;

/// `{succeeded, message, errors, data: [...], pageNumber, pageSize, totalPages, totalRecords, nextPage, ...}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct ListEnvelope<T> {
    #[serde(default)]
    pub succeeded: Option<bool>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: KekaErrors,
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub data: Vec<T>,
    #[serde(default)]
    pub page_number: Option<u32>,
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub total_pages: Option<u32>,
    #[serde(default)]
    pub total_records: Option<u64>,
    #[serde(default)]
    pub first_page: Option<String>,
    #[serde(default)]
    pub last_page: Option<String>,
    #[serde(default)]
    pub next_page: Option<String>,
    #[serde(default)]
    pub previous_page: Option<String>,
}

/// `{succeeded, message, errors, data: {...}}`, as returned by `GET /hris/employees/{id}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SingleEnvelope<T> {
    #[serde(default)]
    pub succeeded: Option<bool>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: KekaErrors,
    #[serde(default = "none")]
    pub data: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

/// The body of a failed call: the envelope with `succeeded: false`, the newer
/// `{status, message, errors: [{fieldName, errorMessage}], errorCode}` model, or ASP.NET's ProblemDetails.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorBody {
    pub message: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub errors: KekaErrors,
    pub error_code: Option<serde_json::Value>,
    /// ProblemDetails.
    pub title: Option<String>,
    pub detail: Option<String>,
}

impl ErrorBody {
    /// The most useful messages: Keka's `errors[]` (its `message` is usually a generic "An Error Occured").
    pub fn messages(&self) -> Vec<String> {
        let mut messages = self.errors.0.clone();
        if messages.is_empty() {
            messages.extend(self.detail.iter().chain(self.title.iter()).chain(self.message.iter()).cloned());
        }
        messages
    }
}

/// `errors` as a list of strings, whichever shape Keka used: strings, `{fieldName, errorMessage}`
/// objects, or ProblemDetails' `{"field": ["message", ...]}` map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KekaErrors(pub Vec<String>);

impl<'de> Deserialize<'de> for KekaErrors {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let mut messages = Vec::new();
        collect_messages(&value, None, &mut messages);
        Ok(Self(messages))
    }
}

fn collect_messages(value: &serde_json::Value, field: Option<&str>, out: &mut Vec<String>) {
    use serde_json::Value;
    match value {
        Value::String(text) => out.push(match field {
            Some(field) => format!("{field}: {text}"),
            None => text.clone(),
        }),
        Value::Array(items) => items.iter().for_each(|item| collect_messages(item, field, out)),
        Value::Object(map) => {
            let message = map.get("errorMessage").or_else(|| map.get("message")).and_then(Value::as_str);
            let field_name = map.get("fieldName").and_then(Value::as_str);
            if let Some(message) = message {
                out.push(match field_name {
                    Some(name) if !name.is_empty() => format!("{name}: {message}"),
                    _ => message.to_owned(),
                });
            } else {
                for (key, nested) in map {
                    collect_messages(nested, Some(key), out);
                }
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The preboarding list's own paging: `{items, page, pageSize, totalItems, totalPages, sortBy, sortOrder}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct ItemsPage<T> {
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub items: Vec<T>,
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub total_items: Option<u64>,
    #[serde(default)]
    pub total_pages: Option<u32>,
    #[serde(default)]
    pub sort_by: Option<String>,
    #[serde(default)]
    pub sort_order: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_every_shape_become_messages() {
        let strings: ErrorBody = serde_json::from_str(
            r#"{"succeeded":false,"message":"An Error Occured","errors":["Employee not found"],"data":null}"#,
        )
        .unwrap();
        assert_eq!(strings.messages(), ["Employee not found"]);
        let objects: ErrorBody = serde_json::from_str(
            r#"{"status":400,"errors":[{"fieldName":"from","errorMessage":"must be before to"}],"errorCode":"X"}"#,
        )
        .unwrap();
        assert_eq!(objects.messages(), ["from: must be before to"]);
        let problem: ErrorBody = serde_json::from_str(r#"{"title":"One or more validation errors occurred.","status":400,"errors":{"pageSize":["The value 'abc' is not valid."]}}"#).unwrap();
        assert_eq!(problem.messages(), ["pageSize: The value 'abc' is not valid."]);
        let generic: ErrorBody =
            serde_json::from_str(r#"{"succeeded":false,"message":"An Error Occured","errors":null}"#).unwrap();
        assert_eq!(generic.messages(), ["An Error Occured"]);
    }

    #[test]
    fn a_list_envelope_tolerates_nulls() {
        let page: ListEnvelope<serde_json::Value> = serde_json::from_str(r#"{"succeeded":true,"message":null,"errors":null,"data":null,"pageNumber":1,"pageSize":100,"totalPages":0,"totalRecords":0,"nextPage":null}"#).unwrap();
        assert!(page.data.is_empty());
        assert_eq!(page.total_pages, Some(0));
    }
}
