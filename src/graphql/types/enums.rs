//! GraphQL enums over Keka's integer enums. Each has `UNKNOWN` so a value Keka adds later
//! never breaks a query; the objects that carry them also expose the raw integer.

use async_graphql::Enum;

use crate::keka::models as keka;

/// Whether someone still works at the company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum EmploymentStatus {
    /// Currently employed.
    Working,
    /// Has left the company (Keka: relieved).
    Relieved,
    /// A status this version of the subgraph does not know.
    Unknown,
}

impl From<Option<keka::EmploymentStatus>> for EmploymentStatus {
    fn from(status: Option<keka::EmploymentStatus>) -> Self {
        match status {
            Some(keka::EmploymentStatus::Working) => Self::Working,
            Some(keka::EmploymentStatus::Relieved) => Self::Relieved,
            _ => Self::Unknown,
        }
    }
}

impl EmploymentStatus {
    pub fn to_keka(self) -> Option<keka::EmploymentStatus> {
        match self {
            Self::Working => Some(keka::EmploymentStatus::Working),
            Self::Relieved => Some(keka::EmploymentStatus::Relieved),
            Self::Unknown => None,
        }
    }
}

/// What a group is: Keka's system group types, or a custom type an admin created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum GroupKind {
    BusinessUnit,
    Department,
    /// An office or site (Keka: OrgLocation).
    Location,
    CostCentre,
    PayGroup,
    ProjectTeam,
    Team,
    ClientTeam,
    Segment,
    /// A group type an admin defined.
    Custom,
    /// A system type this version of the subgraph does not know.
    Unknown,
}

impl GroupKind {
    /// `is_system_defined` tells a custom type (Keka reports those as 0/None) from an unknown one.
    pub fn from_keka(kind: Option<keka::SystemGroupType>, is_system_defined: Option<bool>) -> Self {
        use keka::SystemGroupType as K;
        match kind {
            Some(K::BusinessUnit) => Self::BusinessUnit,
            Some(K::Department) => Self::Department,
            Some(K::OrgLocation) => Self::Location,
            Some(K::CostCenter) => Self::CostCentre,
            Some(K::Paygroup) => Self::PayGroup,
            Some(K::ProjectTeam) => Self::ProjectTeam,
            Some(K::Team) => Self::Team,
            Some(K::ClientTeam) => Self::ClientTeam,
            Some(K::Segment) => Self::Segment,
            Some(K::None) | None if is_system_defined != Some(true) => Self::Custom,
            _ => Self::Unknown,
        }
    }

    /// Keka's system group type for this kind (`None` for custom and unknown kinds).
    pub fn to_keka(self) -> Option<keka::SystemGroupType> {
        use keka::SystemGroupType as K;
        Some(match self {
            Self::BusinessUnit => K::BusinessUnit,
            Self::Department => K::Department,
            Self::Location => K::OrgLocation,
            Self::CostCentre => K::CostCenter,
            Self::PayGroup => K::Paygroup,
            Self::ProjectTeam => K::ProjectTeam,
            Self::Team => K::Team,
            Self::ClientTeam => K::ClientTeam,
            Self::Segment => K::Segment,
            Self::Custom | Self::Unknown => return None,
        })
    }
}

/// Where a time-off request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TimeoffStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
    /// Approved by some approvers, waiting for others.
    InApproval,
    Unknown,
}

impl From<Option<keka::LeaveRequestStatus>> for TimeoffStatus {
    fn from(status: Option<keka::LeaveRequestStatus>) -> Self {
        use keka::LeaveRequestStatus as K;
        match status {
            Some(K::Pending) => Self::Pending,
            Some(K::Approved) => Self::Approved,
            Some(K::Rejected) => Self::Rejected,
            Some(K::Cancelled) => Self::Cancelled,
            Some(K::InApprovalProcess) => Self::InApproval,
            _ => Self::Unknown,
        }
    }
}

/// Which half of a day a time-off request starts or ends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum DaySession {
    FirstHalf,
    SecondHalf,
    Unknown,
}

impl From<Option<keka::LeaveSession>> for DaySession {
    fn from(session: Option<keka::LeaveSession>) -> Self {
        match session {
            Some(keka::LeaveSession::FirstHalf) => Self::FirstHalf,
            Some(keka::LeaveSession::SecondHalf) => Self::SecondHalf,
            _ => Self::Unknown,
        }
    }
}

/// What kind of day an attendance record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum DayType {
    WorkingDay,
    Holiday,
    WeeklyOff,
    FirstHalfWeeklyOff,
    SecondHalfWeeklyOff,
    Unknown,
}

impl From<Option<keka::DayType>> for DayType {
    fn from(day: Option<keka::DayType>) -> Self {
        use keka::DayType as K;
        match day {
            Some(K::WorkingDay) => Self::WorkingDay,
            Some(K::Holiday) => Self::Holiday,
            Some(K::FullDayWeeklyOff) => Self::WeeklyOff,
            Some(K::FirstHalfWeeklyOff) => Self::FirstHalfWeeklyOff,
            Some(K::SecondHalfWeeklyOff) => Self::SecondHalfWeeklyOff,
            _ => Self::Unknown,
        }
    }
}

/// Whether a job is open for applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum JobStatus {
    Draft,
    /// Published and accepting candidates.
    Online,
    Archived,
    /// Unpublished.
    Offline,
    /// Visible only to the hiring team.
    Confidential,
    Unknown,
}

impl From<Option<keka::JobStatus>> for JobStatus {
    fn from(status: Option<keka::JobStatus>) -> Self {
        use keka::JobStatus as K;
        match status {
            Some(K::Draft) => Self::Draft,
            Some(K::Online) => Self::Online,
            Some(K::Archived) => Self::Archived,
            Some(K::Offline) => Self::Offline,
            Some(K::Confidential) => Self::Confidential,
            _ => Self::Unknown,
        }
    }
}

impl JobStatus {
    pub fn to_keka(self) -> Option<keka::JobStatus> {
        use keka::JobStatus as K;
        Some(match self {
            Self::Draft => K::Draft,
            Self::Online => K::Online,
            Self::Archived => K::Archived,
            Self::Offline => K::Offline,
            Self::Confidential => K::Confidential,
            Self::Unknown => return None,
        })
    }
}

/// Steps of Keka's preboarding flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum PreboardingStage {
    Start,
    CollectInfo,
    VerifyInfo,
    ManageOffer,
    OfferAcceptance,
    Hired,
    Unknown,
}

impl From<Option<keka::PreboardingStage>> for PreboardingStage {
    fn from(stage: Option<keka::PreboardingStage>) -> Self {
        use keka::PreboardingStage as K;
        match stage {
            Some(K::Start) => Self::Start,
            Some(K::CollectInfo) => Self::CollectInfo,
            Some(K::VerifyInfo) => Self::VerifyInfo,
            Some(K::ManageOffer) => Self::ManageOffer,
            Some(K::OfferAcceptance) => Self::OfferAcceptance,
            Some(K::Hired) => Self::Hired,
            _ => Self::Unknown,
        }
    }
}

/// Outcome of a preboarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum PreboardingStatus {
    Initiated,
    Completed,
    Cancelled,
    Archived,
    CandidatureRevoked,
    MarkedAsNoShow,
    Unknown,
}

impl From<Option<keka::PreboardingStatus>> for PreboardingStatus {
    fn from(status: Option<keka::PreboardingStatus>) -> Self {
        use keka::PreboardingStatus as K;
        match status {
            Some(K::Initiated) => Self::Initiated,
            Some(K::Completed) => Self::Completed,
            Some(K::Cancelled) => Self::Cancelled,
            Some(K::Archived) => Self::Archived,
            Some(K::CandidatureRevoked) => Self::CandidatureRevoked,
            Some(K::MarkedAsNoShow) => Self::MarkedAsNoShow,
            _ => Self::Unknown,
        }
    }
}

/// Full-time or part-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TimeType {
    FullTime,
    PartTime,
    /// Not set in Keka.
    None,
    Unknown,
}

impl From<Option<keka::TimeType>> for TimeType {
    fn from(kind: Option<keka::TimeType>) -> Self {
        match kind {
            Some(keka::TimeType::FullTime) => Self::FullTime,
            Some(keka::TimeType::PartTime) => Self::PartTime,
            Some(keka::TimeType::None) => Self::None,
            _ => Self::Unknown,
        }
    }
}

/// Permanent staff or contingent worker (contractor, intern…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum WorkerType {
    Permanent,
    Contingent,
    /// Not set in Keka.
    None,
    Unknown,
}

impl From<Option<keka::WorkerType>> for WorkerType {
    fn from(kind: Option<keka::WorkerType>) -> Self {
        match kind {
            Some(keka::WorkerType::Permanent) => Self::Permanent,
            Some(keka::WorkerType::Contingent) => Self::Contingent,
            Some(keka::WorkerType::None) => Self::None,
            _ => Self::Unknown,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum Gender {
    Male,
    Female,
    NonBinary,
    PreferNotToRespond,
    NotSpecified,
    Unknown,
}

impl From<Option<keka::Gender>> for Gender {
    fn from(gender: Option<keka::Gender>) -> Self {
        use keka::Gender as K;
        match gender {
            Some(K::Male) => Self::Male,
            Some(K::Female) => Self::Female,
            Some(K::Nonbinary) => Self::NonBinary,
            Some(K::PreferNotToRespond) => Self::PreferNotToRespond,
            Some(K::NotSpecified) => Self::NotSpecified,
            _ => Self::Unknown,
        }
    }
}
