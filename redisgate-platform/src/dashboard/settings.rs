//! An instance's settings form: its memory, its replica count (when replicated) and every limit the
//! gateway enforces, sent as one `PATCH` through the management API's handler (so plans, roles and
//! validation are the API's). An empty limit field means "no limit".

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use redisgate_core::api;
use redisgate_core::limits::Limits;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::pages::{self, Problems};
use super::session::Session;
use super::{bad_csrf, failed, org_and_instance, page, problems};
use crate::api::extract::{ApiJson, ApiPath};
use crate::api::{instances, Platform};

/// Each limit's field name (as in [`Limits::FIELDS`]) and the label the form shows for it.
pub const LIMIT_LABELS: [(&str, &str); 7] = [
    ("max_requests_per_second", "Commands per second"),
    ("max_daily_requests", "Commands per day"),
    ("max_concurrent_connections", "Requests in progress at once"),
    ("max_request_size", "Largest request body (bytes)"),
    ("max_record_size", "Largest key or value (bytes)"),
    ("max_key_size", "Largest key (bytes)"),
    ("max_response_size", "Largest answer (bytes)"),
];

const NOT_A_LIMIT: &str = "a whole number above 0, or empty for no limit";

/// The limit fields among a form's `fields` (an empty one is no limit), or the problem of each that is not
/// a number above zero. Shared by the settings form and the API key form.
pub(super) fn limits_of(fields: &[(String, String)]) -> Result<Limits, Problems> {
    let mut problems = Problems::default();
    let mut limits = Map::new();
    for (name, value) in fields {
        let value = value.trim();
        if !Limits::FIELDS.contains(&name.as_str()) || value.is_empty() {
            continue;
        }
        match value.parse::<u64>() {
            Ok(n) if n > 0 => _ = limits.insert(name.clone(), Value::from(n)),
            _ => _ = problems.fields.insert(name.clone(), NOT_A_LIMIT.into()),
        }
    }
    if !problems.fields.is_empty() {
        return Err(problems);
    }
    // Every field was checked above, so only a value out of a field's range can still be refused here.
    serde_json::from_value(Value::Object(limits))
        .map_err(|e| Problems { fields: Default::default(), general: Some(format!("limits: {e}")) })
}

/// The form's fields as a patch, or the problems of each field that is not a number.
fn patch_of(fields: &[(String, String)]) -> Result<api::InstancePatch, Problems> {
    let mut problems = Problems::default();
    let mut patch = api::InstancePatch::default();
    for (name, value) in fields {
        let value = value.trim();
        match name.as_str() {
            "memory_mib" => match value.parse::<i64>() {
                Ok(mib) => patch.max_memory = Some(mib.saturating_mul(1 << 20)),
                Err(_) => _ = problems.fields.insert("max_memory".into(), "a whole number of MiB".into()),
            },
            "replicas" => match value.parse::<u8>() {
                Ok(replicas) => patch.replicas = Some(replicas),
                Err(_) => _ = problems.fields.insert("topology".into(), "a whole number from 1 to 5".into()),
            },
            _ => {}
        }
    }
    match limits_of(fields) {
        Ok(limits) if problems.fields.is_empty() => patch.limits = Some(limits),
        Ok(_) => {}
        Err(more) => {
            problems.fields.extend(more.fields);
            problems.general = problems.general.or(more.general);
        }
    }
    if !problems.fields.is_empty() || problems.general.is_some() {
        return Err(problems);
    }
    Ok(patch)
}

/// `POST …/settings`: applies the form, then shows the instance again (with the form's errors, if any).
pub(super) async fn update(
    State(platform): State<Platform>,
    session: Session,
    ApiPath((org, id)): ApiPath<(Uuid, Uuid)>,
    body: String,
) -> Response {
    let fields = serde_urlencoded::from_str::<Vec<(String, String)>>(&body).unwrap_or_default();
    let csrf = fields.iter().find(|(name, _)| name == "csrf").map_or("", |(_, value)| value.as_str());
    if !session.csrf_ok(csrf) {
        return bad_csrf(&session);
    }
    let refusal = match patch_of(&fields) {
        Ok(patch) => {
            let principal = session.principal.clone();
            match instances::update_instance(State(platform.clone()), principal, ApiPath((org, id)), ApiJson(patch))
                .await
            {
                Ok(_) => return Redirect::to(&format!("/console/orgs/{org}/instances/{id}")).into_response(),
                Err(e) => (e.status(), problems(&e)),
            }
        }
        Err(problems) => (StatusCode::UNPROCESSABLE_ENTITY, problems),
    };
    match org_and_instance(&platform, &session, org, id).await {
        Ok((found, instance)) => {
            page(refusal.0, pages::instance(&found, &instance, None, None, &session.csrf(), &refusal.1))
        }
        Err(e) => failed("Settings", &e, &session),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn every_limit_has_a_label() {
        let labelled: Vec<&str> = LIMIT_LABELS.iter().map(|(name, _)| *name).collect();
        assert_eq!(labelled, Limits::FIELDS);
    }

    #[test]
    fn empty_limits_are_none_and_bad_ones_are_named() {
        let patch =
            patch_of(&form(&[("memory_mib", "32"), ("max_daily_requests", "1000"), ("max_key_size", "")])).unwrap();
        assert_eq!(patch.max_memory, Some(32 << 20));
        assert_eq!(
            serde_json::to_value(patch.limits.unwrap()).unwrap(),
            serde_json::json!({"max_daily_requests": 1000})
        );
        let problems = patch_of(&form(&[("max_key_size", "0"), ("max_request_size", "many")])).unwrap_err();
        assert_eq!(problems.fields.keys().collect::<Vec<_>>(), ["max_key_size", "max_request_size"]);
    }
}
