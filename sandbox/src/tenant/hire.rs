//! Hire (ATS) data: job openings at real offices and departments with hiring teams of real
//! employees, their applicants, and preboarding candidates about to join.

use chrono::NaiveDate;
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};

use super::names::{
    DEGREES, INDIAN_FEMALE, INDIAN_LAST, INDIAN_MALE, INTL_FEMALE, INTL_LAST, INTL_MALE, PAST_EMPLOYERS,
    PERSONAL_MAIL_DOMAINS, SKILLS_BUSINESS, SKILLS_TECH, UNIVERSITIES,
};
use super::org::{HR_DEPARTMENT, Org};
use super::util::{at_office_time, date_between, digits, pick, shift, slug, weighted};
use super::{
    ArchiveInfo, Candidate, CandidateEducation, CandidateExperience, CandidateTag, Employee, EmploymentStatus, Gender,
    Guid, HiringTeamMember, Job, JobCustomField, JobStatus, PreboardingCandidate, TenantParams,
};

/// Output of this stage.
#[derive(Debug, Clone)]
pub(super) struct HireData {
    pub(super) jobs: Vec<Job>,
    pub(super) tags: Vec<CandidateTag>,
    pub(super) candidates: Vec<Candidate>,
    pub(super) preboarding: Vec<PreboardingCandidate>,
}

const STAGES: &[&str] = &["Applied", "Screening", "Technical Interview", "HR Interview", "Offer", "Hired"];

const TAGS: &[(&str, &str)] = &[
    ("Immediate Joiner", "Can join within two weeks"),
    ("Referral", "Referred by an employee"),
    ("Campus", "Campus hire"),
    ("Relocation Needed", "Needs relocation support"),
    ("Strong Communicator", "Excellent communication in interviews"),
    ("Rehire", "Former employee"),
];

const SOURCES: &[(&str, &str)] = &[
    ("Job Board", "LinkedIn"),
    ("Job Board", "Naukri"),
    ("Job Board", "Indeed"),
    ("Career Site", "Careers Page"),
    ("Referral", "Employee Referral"),
    ("Recruiter", "Sourced by Recruiter"),
    ("Agency", "Talent Agency"),
];

struct Person {
    first: String,
    last: String,
    gender: Gender,
}

fn person<R: Rng + ?Sized>(rng: &mut R) -> Person {
    let female = rng.random_bool(0.45);
    let international = rng.random_bool(0.1);
    let first = match (international, female) {
        (false, false) => pick(rng, INDIAN_MALE),
        (false, true) => pick(rng, INDIAN_FEMALE),
        (true, false) => pick(rng, INTL_MALE),
        (true, true) => pick(rng, INTL_FEMALE),
    };
    let last = if international { pick(rng, INTL_LAST) } else { pick(rng, INDIAN_LAST) };
    Person {
        first: (*first).to_owned(),
        last: (*last).to_owned(),
        gender: if female { Gender::Female } else { Gender::Male },
    }
}

fn personal_email<R: Rng + ?Sized>(rng: &mut R, p: &Person) -> String {
    format!("{}.{}{}@{}", slug(&p.first), slug(&p.last), rng.random_range(1..100), pick(rng, PERSONAL_MAIL_DOMAINS))
}

pub(super) fn generate<R: Rng + ?Sized>(
    rng: &mut R,
    params: &TenantParams,
    org: &Org,
    employees: &[Employee],
) -> HireData {
    let today = params.today;
    let working: Vec<usize> =
        (0..employees.len()).filter(|&i| employees[i].employment_status == EmploymentStatus::Working).collect();
    let mut has_reports = vec![false; employees.len()];
    for e in employees {
        if let Some(m) = e.reports_to {
            has_reports[m] = true;
        }
    }
    let tags: Vec<CandidateTag> = TAGS
        .iter()
        .map(|(name, description)| CandidateTag {
            id: Guid::random(rng),
            name: (*name).to_owned(),
            description: (*description).to_owned(),
        })
        .collect();

    // Departments that hire, weighted by size.
    let hiring_depts: Vec<usize> = (1..org.departments.len())
        .filter(|&d| !org.departments[d].is_archived && org.departments[d].weight > 0.0)
        .collect();
    let dept_weights: Vec<f64> = hiring_depts.iter().map(|&d| org.departments[d].weight).collect();

    let job_count = (10 + params.employees / 800).min(25);
    let mut jobs = Vec::with_capacity(job_count);
    let mut candidates = Vec::new();

    for j in 0..job_count {
        let d = hiring_depts[weighted(rng, &dept_weights)];
        let dept = &org.departments[d];
        let title_index = dept.titles[usize::from(rng.random_bool(0.4))];
        let title = org.job_titles[title_index].name.clone();
        let status = match weighted(rng, &[10.0, 50.0, 15.0, 15.0, 10.0]) {
            0 => JobStatus::Draft,
            1 => JobStatus::Online,
            2 => JobStatus::Archived,
            3 => JobStatus::Offline,
            _ => JobStatus::Confidential,
        };
        let created_day = shift(today, -rng.random_range(5..200));
        let created_on = at_office_time(rng, created_day);
        let published_on = (status != JobStatus::Draft)
            .then(|| {
                let day = shift(created_day, rng.random_range(0..5)).min(today);
                at_office_time(rng, day)
            })
            .map(|p| p.max(created_on));

        let mut locations: Vec<usize> = (0..org.locations.len()).collect();
        locations.shuffle(rng);
        locations.truncate(if rng.random_bool(0.3) { 2 } else { 1 });
        locations.sort_unstable();

        // Hiring team: a manager from the department, a recruiter from HR, one or two interviewers.
        let mut hiring_team = Vec::new();
        let in_dept: Vec<usize> = working.iter().copied().filter(|&i| employees[i].department == d).collect();
        let managers: Vec<usize> = in_dept.iter().copied().filter(|&i| has_reports[i]).collect();
        let recruiters: Vec<usize> =
            working.iter().copied().filter(|&i| employees[i].department == HR_DEPARTMENT).collect();
        let pool_or_all = |pool: &[usize]| if pool.is_empty() { working.clone() } else { pool.to_vec() };
        if !working.is_empty() {
            hiring_team.push(HiringTeamMember { employee: *pick(rng, &pool_or_all(&managers)), role: 0 });
            hiring_team.push(HiringTeamMember { employee: *pick(rng, &pool_or_all(&recruiters)), role: 1 });
            for _ in 0..rng.random_range(1..=2) {
                let member = *pick(rng, &pool_or_all(&in_dept));
                if hiring_team.iter().all(|m| m.employee != member) {
                    hiring_team.push(HiringTeamMember { employee: member, role: 2 });
                }
            }
        }

        let job_number = 100 + j;
        let stages: Vec<(Guid, String)> = STAGES.iter().map(|s| (Guid::random(rng), (*s).to_owned())).collect();
        let lo_exp = rng.random_range(0..8);
        let job = Job {
            id: Guid::random(rng),
            description: format!(
                "We are looking for a {title} to join our {} team in {}.",
                dept.name, org.locations[locations[0]].address.city
            ),
            title,
            openings: rng.random_range(1..=5),
            department: d,
            job_type: if rng.random_bool(0.92) { "FullTime" } else { "PartTime" }.to_owned(),
            is_referral_enabled: rng.random_bool(0.8),
            requisition: rng.random_bool(0.4).then(|| Guid::random(rng)),
            can_allow_internal_employees: rng.random_bool(0.7),
            org_job_id: format!("JOB-{job_number}"),
            locations,
            hiring_team,
            career_portal_url: format!("https://{}.keka.com/careers/jobdetails/{job_number}", org.company.subdomain),
            target_hire_date: shift(created_day, rng.random_range(45..120)),
            status,
            can_list_on_careers_site: status == JobStatus::Online && rng.random_bool(0.9),
            created_on,
            published_on,
            experience: format!("{lo_exp}-{} years", lo_exp + rng.random_range(2..5)),
            custom_fields: vec![
                JobCustomField {
                    name: "Hiring Priority".to_owned(),
                    required: true,
                    field_type: 3,
                    value: Some((*pick(rng, &["High", "Medium", "Low"])).to_owned()),
                },
                JobCustomField {
                    name: "Budget Approved".to_owned(),
                    required: false,
                    field_type: 4,
                    value: Some(rng.random_bool(0.8).to_string()),
                },
            ],
            stages,
            last_modified: {
                let day = date_between(rng, created_day, today);
                at_office_time(rng, day)
            },
        };

        let count = if status == JobStatus::Draft { 0 } else { rng.random_range(0..=40) };
        let mut job_candidates: Vec<Candidate> = (0..count)
            .map(|_| candidate(rng, today, j, &job, dept.technical, &tags, &working, &job_recruiters(&job)))
            .collect();
        job_candidates.sort_by_key(|c| (c.applied_on, c.id));
        candidates.extend(job_candidates);
        jobs.push(job);
    }

    let pre_count = (10 + params.employees / 500).min(30);
    let mut preboarding: Vec<PreboardingCandidate> = (0..pre_count)
        .map(|_| {
            let p = person(rng);
            let d = hiring_depts[weighted(rng, &dept_weights)];
            let dept = &org.departments[d];
            let (stage, status) = match weighted(rng, &[20.0, 25.0, 15.0, 15.0, 10.0, 8.0, 4.0, 3.0]) {
                0 => (0, 0),
                1 => (1, 0),
                2 => (2, 0),
                3 => (3, 0),
                4 => (4, 0),
                5 => (5, 1),
                6 => (rng.random_range(1..=4), 2),
                _ => (4, if rng.random_bool(0.5) { 4 } else { 5 }),
            };
            let joining = if stage == 5 {
                shift(today, -rng.random_range(0..14))
            } else {
                shift(today, rng.random_range(-7..60))
            };
            PreboardingCandidate {
                id: Guid::random(rng),
                email: personal_email(rng, &p),
                first_name: p.first,
                middle_name: None,
                last_name: p.last,
                country_code: "IN".to_owned(),
                mobile_number: format!("9{}", digits(rng, 9)),
                job_title: dept.titles[usize::from(rng.random_bool(0.3))],
                gender: p.gender,
                department: d,
                work_location: weighted(rng, &org.location_weights),
                expected_date_of_joining: joining,
                stage,
                status,
                last_modified: {
                    let day = shift(today, -rng.random_range(0..30));
                    at_office_time(rng, day)
                },
            }
        })
        .collect();
    preboarding.sort_by_key(|p| (p.expected_date_of_joining, p.id));

    HireData { jobs, tags, candidates, preboarding }
}

/// Recruiters of a job (hiring-team members with the recruiter role).
fn job_recruiters(job: &Job) -> Vec<usize> {
    job.hiring_team.iter().filter(|m| m.role == 1).map(|m| m.employee).collect()
}

#[allow(clippy::too_many_arguments)]
fn candidate<R: Rng + ?Sized>(
    rng: &mut R,
    today: NaiveDate,
    job_index: usize,
    job: &Job,
    technical: bool,
    tags: &[CandidateTag],
    working: &[usize],
    recruiters: &[usize],
) -> Candidate {
    let p = person(rng);
    let created = job.created_on.date();
    let applied_day = date_between(rng, created, today);
    let applied_on = at_office_time(rng, applied_day);
    let stage = weighted(rng, &[30.0, 25.0, 20.0, 12.0, 8.0, 5.0]).min(job.stages.len().saturating_sub(1));
    let moved_day = date_between(rng, applied_day, today);
    let moved_to_stage_on = at_office_time(rng, moved_day).max(applied_on);

    let years = rng.random_range(0..12);
    let graduated = shift(today, -365 * years - rng.random_range(30..300));
    let (degree, branch) = *pick(rng, DEGREES);
    let education = vec![CandidateEducation {
        degree: degree.to_owned(),
        branch: branch.to_owned(),
        date_of_joining: shift(graduated, -4 * 365),
        date_of_completion: graduated,
        university: (*pick(rng, UNIVERSITIES)).to_owned(),
        location: (*pick(rng, &["Bengaluru", "Chennai", "Mumbai", "Delhi", "Pune", "Hyderabad"])).to_owned(),
    }];
    let mut experience = Vec::new();
    if years > 0 {
        let current_start = shift(today, -rng.random_range(180..(365 * years).max(181)));
        experience.push(CandidateExperience {
            company_name: (*pick(rng, PAST_EMPLOYERS)).to_owned(),
            designation: job.title.clone(),
            is_currently_working: true,
            date_of_joining: current_start,
            date_of_relieving: None,
            location: (*pick(rng, &["Bengaluru", "Hyderabad", "Pune", "Gurugram", "Chennai"])).to_owned(),
        });
        if years > 3 {
            experience.push(CandidateExperience {
                company_name: (*pick(rng, PAST_EMPLOYERS)).to_owned(),
                designation: job.title.clone(),
                is_currently_working: false,
                date_of_joining: shift(graduated, 30),
                date_of_relieving: Some(shift(current_start, -15)),
                location: (*pick(rng, &["Bengaluru", "Mumbai", "Noida", "Kochi"])).to_owned(),
            });
        }
    }

    let skill_pool = if technical { SKILLS_TECH } else { SKILLS_BUSINESS };
    let skill_count = rng.random_range(2..=5);
    let skills: Vec<String> = skill_pool.choose_multiple(rng, skill_count).map(|s| (*s).to_owned()).collect();
    let tag_count = weighted(rng, &[50.0, 35.0, 15.0]);
    let tag_indices: Vec<usize> =
        (0..tags.len()).collect::<Vec<_>>().choose_multiple(rng, tag_count).copied().collect();
    let (sourced_by, source_title) = *pick(rng, SOURCES);

    // Archiving needs someone to have archived the candidate.
    let archived = (!working.is_empty() && rng.random_bool(0.25)).then(|| ArchiveInfo {
        archived_on: {
            let day = date_between(rng, applied_day, today);
            at_office_time(rng, day).max(applied_on)
        },
        reason: (*pick(rng, &["Not a fit", "Position filled", "Candidate withdrew", "No response"])).to_owned(),
        archived_by: recruiters.first().or_else(|| working.first()).copied().unwrap_or(0),
    });
    let assigned = recruiters
        .choose(rng)
        .filter(|_| rng.random_bool(0.8))
        .map(|&r| (r, at_office_time(rng, applied_day).max(applied_on)));
    let application_status = if archived.is_some() {
        1
    } else if stage == 5 {
        2
    } else {
        0
    };
    let last_modified = archived.as_ref().map_or(moved_to_stage_on, |a| a.archived_on.max(moved_to_stage_on));

    Candidate {
        id: Guid::random(rng),
        job: job_index,
        email: personal_email(rng, &p),
        first_name: p.first,
        middle_name: None,
        last_name: p.last,
        gender: p.gender,
        phone: format!("+91-9{}", digits(rng, 9)),
        education,
        tags: tag_indices,
        experience,
        skills,
        additional_details: vec![
            ("Current CTC".to_owned(), format!("{} LPA", rng.random_range(4..60))),
            (
                "Notice Period".to_owned(),
                (*pick(rng, &["Immediate", "15 days", "30 days", "60 days", "90 days"])).to_owned(),
            ),
        ],
        stage,
        moved_to_stage_on,
        screening_answers: vec![(
            "Are you open to working from the office?".to_owned(),
            (*pick(rng, &["Yes", "No", "Hybrid preferred"])).to_owned(),
        )],
        applied_on,
        application_status,
        sourced_by: sourced_by.to_owned(),
        source_title: source_title.to_owned(),
        assigned,
        archived,
        last_modified,
    }
}
