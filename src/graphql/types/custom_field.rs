//! Fields a tenant's admins added to employee profiles in Keka (T-shirt size, badge number, cost-centre code…).

use async_graphql::{ID, Json, Object};

use crate::keka::models::CustomField as KekaCustomField;

/// A custom field on a person's profile, as configured in Keka.
pub struct CustomField(pub KekaCustomField);

impl CustomField {
    /// Whether this field's title is `title`, ignoring case and surrounding spaces (titles are typed by admins).
    pub fn is_titled(field: &KekaCustomField, title: &str) -> bool {
        field.title.as_deref().is_some_and(|own| own.trim().eq_ignore_ascii_case(title.trim()))
    }

    /// Whether the value is `wanted`, ignoring case: the whole value, or one item of a multi-select value.
    pub fn has_value(field: &KekaCustomField, wanted: &str) -> bool {
        let wanted = wanted.trim();
        let Some(text) = field.value.as_deref() else { return false };
        text.trim().eq_ignore_ascii_case(wanted)
            || (is_multi_select(field) && text.split(',').any(|item| item.trim().eq_ignore_ascii_case(wanted)))
    }
}

#[Object]
impl CustomField {
    /// Keka's id for the field's definition (the same on every person).
    async fn id(&self) -> Option<ID> {
        self.0.id.as_deref().map(|id| ID(id.to_owned()))
    }

    /// The field's title, as the admin named it.
    async fn title(&self) -> &str {
        self.0.title.as_deref().unwrap_or_default()
    }

    /// Keka's type for the field, as Keka names it (`Text`, `Number`, `Date`, `Dropdown`, `Checkbox`,
    /// `MultiSelect`…).
    #[graphql(name = "type")]
    async fn kind(&self) -> Option<&str> {
        self.0.r#type.as_deref()
    }

    /// The value as Keka sends it: text, whatever the type. Null when the field is empty.
    async fn value(&self) -> Option<&str> {
        self.0.value.as_deref().filter(|text| !text.is_empty())
    }

    /// The value read by the field's type: a number for number fields, true or false for checkbox and yes/no
    /// fields, a list of strings for multi-select fields, otherwise the text (dates stay ISO text). Null when the
    /// field is empty; the text when it does not read as its type.
    async fn typed_value(&self) -> Option<Json<serde_json::Value>> {
        typed(&self.0).map(Json)
    }
}

fn kind_of(field: &KekaCustomField) -> String {
    field.r#type.as_deref().unwrap_or_default().to_ascii_lowercase().replace([' ', '-', '_', '/'], "")
}

fn is_multi_select(field: &KekaCustomField) -> bool {
    let kind = kind_of(field);
    kind.contains("multi") || kind.contains("checkboxes")
}

fn typed(field: &KekaCustomField) -> Option<serde_json::Value> {
    use serde_json::Value;
    let text = field.value.as_deref().map(str::trim).filter(|text| !text.is_empty())?;
    let kind = kind_of(field);
    let typed = if is_multi_select(field) {
        Some(Value::Array(text.split(',').map(|item| Value::String(item.trim().to_owned())).collect()))
    } else if matches!(kind.as_str(), "number" | "numeric" | "decimal" | "integer" | "currency") {
        text.parse::<serde_json::Number>().ok().map(Value::Number)
    } else if matches!(kind.as_str(), "checkbox" | "boolean" | "yesno" | "toggle") {
        match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(Value::Bool(true)),
            "false" | "no" | "0" => Some(Value::Bool(false)),
            _ => None,
        }
    } else {
        None
    };
    Some(typed.unwrap_or_else(|| Value::String(text.to_owned())))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(kind: &str, value: serde_json::Value) -> KekaCustomField {
        serde_json::from_value(json!({ "id": "f1", "title": " Desk Number ", "type": kind, "value": value })).unwrap()
    }

    #[test]
    fn values_read_by_their_type_and_fall_back_to_text() {
        assert_eq!(typed(&field("Number", json!("412"))), Some(json!(412)));
        assert_eq!(typed(&field("Number", json!("4.5"))), Some(json!(4.5)));
        assert_eq!(typed(&field("Number", json!("n/a"))), Some(json!("n/a")));
        assert_eq!(typed(&field("Checkbox", json!("true"))), Some(json!(true)));
        assert_eq!(typed(&field("Yes/No", json!("No"))), Some(json!(false)));
        assert_eq!(typed(&field("Dropdown", json!("No"))), Some(json!("No")), "other kinds stay text");
        assert_eq!(typed(&field("MultiSelect", json!("PMP, CISSP"))), Some(json!(["PMP", "CISSP"])));
        assert_eq!(typed(&field("Date", json!("2024-03-01"))), Some(json!("2024-03-01")));
        assert_eq!(typed(&field("Text", json!(""))), None);
        assert_eq!(typed(&field("Number", json!(7))), Some(json!(7)), "a number where Keka documents text");
    }

    #[test]
    fn titles_and_values_match_ignoring_case_and_multi_select_items_match_alone() {
        let desk = field("Number", json!("412"));
        assert!(CustomField::is_titled(&desk, "desk number"));
        assert!(!CustomField::is_titled(&desk, "desk"));
        let certifications = field("MultiSelect", json!("PMP, CISSP"));
        assert!(CustomField::has_value(&certifications, "cissp"));
        assert!(CustomField::has_value(&certifications, "PMP, CISSP"));
        assert!(!CustomField::has_value(&certifications, "CPA"));
        assert!(!CustomField::has_value(&field("Text", json!("PMP, CISSP")), "PMP"), "text is not split");
    }
}
