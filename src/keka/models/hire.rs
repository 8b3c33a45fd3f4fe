//! Keka Hire: jobs, their candidates, and preboarding candidates.

use serde::Deserialize;

use super::RawRecord;

use super::keka_enum::keka_enum;
use super::{Gender, KekaDate, null_as_default};

keka_enum!(
    /// `JobStatus`. Only one source names the values; Keka's spec lists 0–3 without names.
    JobStatus { Draft = 0, Online = 1, Archived = 2, Offline = 3, Confidential = 4 }
);
keka_enum!(
    /// Preboarding `stage`.
    PreboardingStage { Start = 0, CollectInfo = 1, VerifyInfo = 2, ManageOffer = 3, OfferAcceptance = 4, Hired = 5 }
);
keka_enum!(
    /// Preboarding `status`.
    PreboardingStatus { Initiated = 0, Completed = 1, Cancelled = 2, Archived = 3, CandidatureRevoked = 4, MarkedAsNoShow = 5 }
);

/// `/hire/jobs` (`JobDTO`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// A string in Keka's schema; numbers are accepted too.
    #[serde(default)]
    pub no_of_openings: Option<serde_json::Value>,
    #[serde(default)]
    pub department_name: Option<String>,
    #[serde(default)]
    pub job_type: Option<serde_json::Value>,
    #[serde(default)]
    pub is_referral_enabled: Option<bool>,
    #[serde(default)]
    pub org_job_id: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub job_locations: Vec<JobLocation>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub hiring_team: Vec<HiringTeamMember>,
    #[serde(default)]
    pub career_portal_url: Option<String>,
    #[serde(default)]
    pub target_hire_date: Option<KekaDate>,
    #[serde(default)]
    pub status: Option<JobStatus>,
    #[serde(default)]
    pub created_on: Option<KekaDate>,
    #[serde(default)]
    pub published_on: Option<KekaDate>,
    #[serde(default)]
    pub experience: Option<serde_json::Value>,
    /// The record as Keka sent it.
    #[serde(skip)]
    pub raw: RawRecord,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobLocation {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub country_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HiringTeamMember {
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub r#type: Option<serde_json::Value>,
}

/// `/hire/jobs/{jobId}/candidates`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub middle_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub gender: Option<Gender>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub candidate_tags: Vec<CandidateTag>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub skills: Vec<serde_json::Value>,
    #[serde(default)]
    pub job_application_details: Option<JobApplicationDetails>,
    #[serde(default)]
    pub archived_details: Option<serde_json::Value>,
    /// The record as Keka sent it.
    #[serde(skip)]
    pub raw: RawRecord,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateTag {
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobApplicationDetails {
    #[serde(default)]
    pub job_hiring_stage_id: Option<String>,
    /// Keka spells it `movedtoStageOn`.
    #[serde(default, rename = "movedtoStageOn", alias = "movedToStageOn")]
    pub moved_to_stage_on: Option<KekaDate>,
    #[serde(default)]
    pub applied_on: Option<KekaDate>,
    /// Undocumented enum: kept raw.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
    #[serde(default)]
    pub sourced_by: Option<serde_json::Value>,
    #[serde(default)]
    pub source_title: Option<String>,
    #[serde(default)]
    pub assigned_to: Option<serde_json::Value>,
    #[serde(default)]
    pub assigned_on: Option<KekaDate>,
}

/// `/hire/preboarding/candidates`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreboardingCandidate {
    pub id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub middle_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub country_code: Option<String>,
    #[serde(default)]
    pub mobile_number: Option<String>,
    /// Keka spells it `jobtitle` on GET (and `jobTitle` on POST). An id or a name: undocumented.
    #[serde(default, rename = "jobtitle", alias = "jobTitle")]
    pub job_title: Option<String>,
    #[serde(default)]
    pub gender: Option<Gender>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub work_location: Option<String>,
    #[serde(default)]
    pub expected_date_of_joining: Option<KekaDate>,
    #[serde(default)]
    pub stage: Option<PreboardingStage>,
    #[serde(default)]
    pub status: Option<PreboardingStatus>,
}
