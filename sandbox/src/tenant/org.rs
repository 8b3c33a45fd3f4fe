//! The organisation catalogue: company, group types, groups, offices, job titles and
//! policy lookups. The structure is fixed (a mid-sized Indian software company with offices
//! in India, London and Singapore); only ids and timestamps come from the seed.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rand::Rng;

use super::CustomFieldDef;
use super::util::{at_office_time, date_between, shift};
use super::{
    Address, Company, Group, GroupType, Guid, HolidayCalendar, JobTitle, Location, Lookup, Lookups, Shift,
    SystemGroupType, TenantParams,
};

/// A department before people are assigned (heads are filled in by `people`).
#[derive(Debug, Clone)]
pub(super) struct DeptTemplate {
    pub(super) name: &'static str,
    pub(super) description: &'static str,
    /// Index into [`Org::groups`].
    pub(super) group: usize,
    pub(super) parent: Option<usize>,
    pub(super) is_archived: bool,
    /// Share of the head count.
    pub(super) weight: f64,
    /// Group indices of the business unit and cost centre members of this department belong to.
    pub(super) business_unit: usize,
    pub(super) cost_center: usize,
    /// Job title indices: junior, senior, manager.
    pub(super) titles: [usize; 3],
    /// Whether members join project teams and use technical skills.
    pub(super) technical: bool,
    pub(super) last_modified: NaiveDateTime,
}

/// Everything generated here, consumed by the later stages.
#[derive(Debug, Clone)]
pub(super) struct Org {
    pub(super) company: Company,
    pub(super) group_types: Vec<GroupType>,
    pub(super) groups: Vec<Group>,
    pub(super) locations: Vec<Location>,
    /// Share of the head count per location.
    pub(super) location_weights: Vec<f64>,
    pub(super) job_titles: Vec<JobTitle>,
    pub(super) lookups: Lookups,
    pub(super) departments: Vec<DeptTemplate>,
    /// Group indices.
    pub(super) project_teams: Vec<usize>,
    pub(super) custom_groups: Vec<usize>,
    /// Job title indices of the CEO and of the department heads reporting to the CEO.
    pub(super) ceo_title: usize,
    pub(super) vp_title: usize,
}

/// (name, description, parent, business unit, weight, cost centre, [junior, senior, manager], technical, archived)
type DeptRow = (&'static str, &'static str, Option<usize>, usize, f64, usize, [&'static str; 3], bool, bool);

/// Department 0 is the CEO's office; the CEO is generated separately.
const DEPARTMENTS: &[DeptRow] = &[
    (
        "Office of the CEO",
        "Executive leadership and strategy",
        None,
        2,
        0.3,
        4,
        ["Executive Assistant", "Chief of Staff", "Chief of Staff"],
        false,
        false,
    ),
    (
        "Engineering",
        "Builds and runs the product",
        None,
        0,
        22.0,
        0,
        ["Software Engineer", "Senior Software Engineer", "Engineering Manager"],
        true,
        false,
    ),
    (
        "Platform Engineering",
        "Cloud infrastructure, CI/CD and reliability",
        Some(1),
        0,
        7.0,
        0,
        ["DevOps Engineer", "Site Reliability Engineer", "Engineering Manager"],
        true,
        false,
    ),
    (
        "Quality Assurance",
        "Test automation and release quality",
        Some(1),
        0,
        6.0,
        0,
        ["QA Engineer", "QA Engineer", "QA Lead"],
        true,
        false,
    ),
    (
        "Product Management",
        "Product strategy and roadmaps",
        None,
        0,
        4.0,
        0,
        ["Associate Product Manager", "Product Manager", "Group Product Manager"],
        true,
        false,
    ),
    (
        "Design",
        "Product and brand design",
        None,
        0,
        3.0,
        0,
        ["Product Designer", "Product Designer", "Design Manager"],
        true,
        false,
    ),
    (
        "Data Science",
        "Analytics, reporting and ML",
        None,
        0,
        4.0,
        0,
        ["Data Analyst", "Data Scientist", "Data Science Manager"],
        true,
        false,
    ),
    (
        "Sales",
        "New business and account growth",
        None,
        1,
        12.0,
        1,
        ["Sales Development Representative", "Account Executive", "Sales Manager"],
        false,
        false,
    ),
    (
        "Marketing",
        "Demand generation, brand and content",
        None,
        1,
        5.0,
        1,
        ["Marketing Associate", "Senior Marketing Specialist", "Marketing Manager"],
        false,
        false,
    ),
    (
        "Customer Success",
        "Onboarding, support and renewals",
        None,
        1,
        10.0,
        2,
        ["Customer Success Associate", "Customer Success Manager", "Customer Success Lead"],
        false,
        false,
    ),
    (
        "Finance",
        "Accounting, payroll and FP&A",
        None,
        2,
        4.0,
        3,
        ["Accountant", "Senior Accountant", "Finance Manager"],
        false,
        false,
    ),
    (
        "Human Resources",
        "Talent acquisition and people operations",
        None,
        2,
        4.0,
        3,
        ["HR Executive", "HR Business Partner", "HR Manager"],
        false,
        false,
    ),
    (
        "Operations",
        "Facilities, procurement and admin",
        None,
        2,
        4.0,
        3,
        ["Operations Analyst", "Operations Analyst", "Operations Manager"],
        false,
        false,
    ),
    (
        "IT",
        "Internal IT and security",
        None,
        2,
        3.0,
        3,
        ["IT Support Engineer", "IT Support Engineer", "IT Manager"],
        true,
        false,
    ),
    (
        "Legal",
        "Contracts, compliance and governance",
        None,
        2,
        1.0,
        3,
        ["Legal Associate", "Legal Counsel", "Legal Counsel"],
        false,
        false,
    ),
    (
        "Field Services",
        "On-site implementation (merged into Customer Success)",
        None,
        1,
        0.0,
        2,
        ["Customer Success Associate", "Customer Success Manager", "Customer Success Lead"],
        false,
        true,
    ),
];

/// Department index of the Human Resources department (recruiters come from here).
pub(super) const HR_DEPARTMENT: usize = 11;

/// Departments an HR change may set up after generation (`super::changes`): (name,
/// description, parent department by name). None of them is generated; the parent is used when
/// the tenant has it.
pub(super) const NEW_DEPARTMENTS: &[(&str, &str, Option<&str>)] = &[
    ("Data Platform", "Data pipelines, warehouse and ML infrastructure", Some("Engineering")),
    ("Security Engineering", "Application and cloud security", Some("Engineering")),
    ("Procurement", "Vendor selection, purchasing and contracts", Some("Operations")),
    ("Internal Audit", "Independent review of controls and compliance", None),
    ("Revenue Operations", "Sales systems, forecasting and deal desk", Some("Sales")),
    ("Solutions Engineering", "Pre-sales technical consulting and demos", Some("Sales")),
    ("Developer Relations", "Developer community, content and advocacy", Some("Marketing")),
    ("Partnerships", "Channel and technology partners", None),
    ("Learning & Development", "Training programmes and career growth", Some("Human Resources")),
    ("Business Intelligence", "Company dashboards and reporting", Some("Data Science")),
    ("Workplace Experience", "Offices, events and employee experience", Some("Operations")),
    ("Technical Writing", "Product documentation and release notes", Some("Product Management")),
];

/// The group code of a department: `DEPT-` and the initials of its name, upper-cased
/// (`Platform Engineering` → `DEPT-PE`).
pub(super) fn department_code(name: &str) -> String {
    let initials: String = name.split_whitespace().filter_map(|w| w.chars().next()).collect();
    format!("DEPT-{}", initials.to_uppercase())
}

/// (name, code)
const BUSINESS_UNITS: &[(&str, &str)] =
    &[("Product & Engineering", "BU-PE"), ("Go-To-Market", "BU-GTM"), ("Corporate Functions", "BU-CORP")];

/// (name, code, GL code)
const COST_CENTERS: &[(&str, &str, &str)] = &[
    ("Research & Development", "CC-1000", "GL-61000"),
    ("Sales & Marketing", "CC-2000", "GL-62000"),
    ("Customer Success", "CC-2100", "GL-62100"),
    ("General & Administrative", "CC-3000", "GL-63000"),
    ("Executive Office", "CC-9000", "GL-69000"),
];

const PROJECT_TEAMS: &[GroupRow] = &[
    ("Project Phoenix", "PRJ-PHX", "Rebuild of the billing engine"),
    ("Project Atlas", "PRJ-ATL", "Multi-region deployment"),
    ("Payments Revamp", "PRJ-PAY", "New payment gateway integrations"),
    ("Mobile App 2.0", "PRJ-MOB", "Redesigned mobile apps"),
    ("Data Lake Migration", "PRJ-DLM", "Warehouse to lakehouse migration"),
];

/// (name, code, description)
type GroupRow = (&'static str, &'static str, &'static str);

/// (custom group type, members)
const CUSTOM_GROUPS: &[(&str, &[GroupRow])] = &[
    (
        "Guild",
        &[
            ("Rust Guild", "GLD-RUST", "Rust practitioners"),
            ("Frontend Guild", "GLD-FE", "Web and mobile UI craft"),
            ("Data Guild", "GLD-DATA", "Data engineering and analytics"),
            ("Security Champions", "GLD-SEC", "Security advocates in every team"),
        ],
    ),
    (
        "Committee",
        &[
            ("Wellness Committee", "CMT-WELL", "Employee wellbeing initiatives"),
            ("Internal Complaints Committee", "CMT-ICC", "POSH internal committee"),
            ("Culture Club", "CMT-CULT", "Events and celebrations"),
        ],
    ),
];

/// One office.
struct OfficeRow {
    name: &'static str,
    code: &'static str,
    description: &'static str,
    line1: &'static str,
    line2: Option<&'static str>,
    city: &'static str,
    state: &'static str,
    zip: &'static str,
    country_code: &'static str,
    country_name: &'static str,
    utc_offset_minutes: i32,
    uk_summer_time: bool,
    saturday_half_day: bool,
    shift: (u32, u32, f64, f64),
    weight: f64,
}

const OFFICES: &[OfficeRow] = &[
    OfficeRow {
        name: "Bengaluru HQ",
        code: "LOC-BLR",
        description: "Headquarters and main engineering centre",
        line1: "Embassy Tech Village, Outer Ring Road",
        line2: Some("Devarabisanahalli, Bellandur"),
        city: "Bengaluru",
        state: "Karnataka",
        zip: "560103",
        country_code: "IN",
        country_name: "India",
        utc_offset_minutes: 330,
        uk_summer_time: false,
        saturday_half_day: false,
        shift: (9, 30, 9.0, 1.0),
        weight: 35.0,
    },
    OfficeRow {
        name: "Hyderabad",
        code: "LOC-HYD",
        description: "Engineering and customer success centre",
        line1: "Building 12, Mindspace, Hitec City",
        line2: Some("Madhapur"),
        city: "Hyderabad",
        state: "Telangana",
        zip: "500081",
        country_code: "IN",
        country_name: "India",
        utc_offset_minutes: 330,
        uk_summer_time: false,
        saturday_half_day: false,
        shift: (9, 30, 9.0, 1.0),
        weight: 20.0,
    },
    OfficeRow {
        name: "Pune",
        code: "LOC-PUN",
        description: "Operations and QA centre",
        line1: "Blue Ridge SEZ, Hinjewadi Phase 1",
        line2: None,
        city: "Pune",
        state: "Maharashtra",
        zip: "411057",
        country_code: "IN",
        country_name: "India",
        utc_offset_minutes: 330,
        uk_summer_time: false,
        saturday_half_day: true,
        shift: (9, 0, 9.0, 1.0),
        weight: 15.0,
    },
    OfficeRow {
        name: "Gurugram",
        code: "LOC-GGN",
        description: "North India sales office",
        line1: "DLF Cyber City, Tower 8B",
        line2: Some("DLF Phase 2"),
        city: "Gurugram",
        state: "Haryana",
        zip: "122002",
        country_code: "IN",
        country_name: "India",
        utc_offset_minutes: 330,
        uk_summer_time: false,
        saturday_half_day: false,
        shift: (10, 0, 9.0, 1.0),
        weight: 15.0,
    },
    OfficeRow {
        name: "London",
        code: "LOC-LON",
        description: "EMEA sales and customer success",
        line1: "1 Finsbury Avenue",
        line2: None,
        city: "London",
        state: "England",
        zip: "EC2M 2PF",
        country_code: "GB",
        country_name: "United Kingdom",
        utc_offset_minutes: 0,
        uk_summer_time: true,
        saturday_half_day: false,
        shift: (9, 0, 8.5, 0.5),
        weight: 8.0,
    },
    OfficeRow {
        name: "Singapore",
        code: "LOC-SIN",
        description: "APAC sales hub",
        line1: "1 Raffles Place, #20-61",
        line2: Some("One Raffles Place Tower 2"),
        city: "Singapore",
        state: "Singapore",
        zip: "048616",
        country_code: "SG",
        country_name: "Singapore",
        utc_offset_minutes: 480,
        uk_summer_time: false,
        saturday_half_day: false,
        shift: (9, 0, 9.0, 1.0),
        weight: 7.0,
    },
];

/// (month, day, name)
type Holiday = (u32, u32, &'static str);

/// Fixed-date approximations of public holidays, per country.
const HOLIDAYS: &[(&str, &[Holiday])] = &[
    (
        "IN",
        &[
            (1, 26, "Republic Day"),
            (3, 14, "Holi"),
            (5, 1, "May Day"),
            (8, 15, "Independence Day"),
            (10, 2, "Gandhi Jayanti"),
            (10, 20, "Diwali"),
            (12, 25, "Christmas"),
        ],
    ),
    (
        "GB",
        &[
            (1, 1, "New Year's Day"),
            (4, 18, "Good Friday"),
            (5, 26, "Spring Bank Holiday"),
            (8, 25, "Summer Bank Holiday"),
            (12, 25, "Christmas Day"),
            (12, 26, "Boxing Day"),
        ],
    ),
    (
        "SG",
        &[
            (1, 1, "New Year's Day"),
            (1, 29, "Chinese New Year"),
            (5, 1, "Labour Day"),
            (8, 9, "National Day"),
            (10, 20, "Deepavali"),
            (12, 25, "Christmas Day"),
        ],
    ),
];

/// A random "modified at" in the last `days` days before `today`.
fn modified<R: Rng + ?Sized>(rng: &mut R, today: NaiveDate, days: i64) -> NaiveDateTime {
    let day = date_between(rng, shift(today, -days), shift(today, -1));
    at_office_time(rng, day)
}

fn lookups<R: Rng + ?Sized>(rng: &mut R, titles: &[&str]) -> Vec<Lookup> {
    titles.iter().map(|t| Lookup { id: Guid::random(rng), title: (*t).to_owned() }).collect()
}

pub(super) fn generate<R: Rng + ?Sized>(rng: &mut R, params: &TenantParams) -> Org {
    let today = params.today;
    let company = Company {
        name: "Acme Technologies Pvt. Ltd.".to_owned(),
        domain: "acme.example".to_owned(),
        subdomain: "acme".to_owned(),
        employee_number_prefix: "ACM".to_owned(),
    };

    // Group types: the five system types the tenant uses plus two custom ones.
    let mut group_types = Vec::new();
    let mut add_type = |rng: &mut R, name: &str, kind: SystemGroupType| {
        group_types.push(GroupType {
            id: Guid::random(rng),
            name: name.to_owned(),
            is_system_defined: kind != SystemGroupType::None,
            system_group_type: kind,
        });
        group_types.len() - 1
    };
    let bu_type = add_type(rng, "Business Unit", SystemGroupType::BusinessUnit);
    let dept_type = add_type(rng, "Department", SystemGroupType::Department);
    let loc_type = add_type(rng, "Location", SystemGroupType::OrgLocation);
    let cc_type = add_type(rng, "Cost Center", SystemGroupType::CostCenter);
    let project_type = add_type(rng, "Project Team", SystemGroupType::ProjectTeam);
    let custom_types: Vec<usize> =
        CUSTOM_GROUPS.iter().map(|(name, _)| add_type(rng, name, SystemGroupType::None)).collect();

    let mut groups: Vec<Group> = Vec::new();
    let mut add_group = |rng: &mut R, name: &str, code: &str, description: &str, ty: usize, gl: Option<&str>| {
        groups.push(Group {
            id: Guid::random(rng),
            name: name.to_owned(),
            code: code.to_owned(),
            description: description.to_owned(),
            group_type: ty,
            kind: group_types[ty].system_group_type,
            gl_code: gl.map(str::to_owned),
            last_modified: modified(rng, today, 900),
        });
        (groups.len() - 1, groups[groups.len() - 1].id)
    };

    let business_units: Vec<usize> = BUSINESS_UNITS
        .iter()
        .map(|(name, code)| add_group(rng, name, code, &format!("{name} business unit"), bu_type, None).0)
        .collect();
    let cost_centers: Vec<usize> = COST_CENTERS
        .iter()
        .map(|(name, code, gl)| add_group(rng, name, code, &format!("{name} cost centre"), cc_type, Some(gl)).0)
        .collect();

    // Job titles, deduplicated by name, in first-seen order.
    let mut title_names: Vec<&str> = vec!["Chief Executive Officer", "Vice President"];
    for row in DEPARTMENTS {
        for t in row.6 {
            if !title_names.contains(&t) {
                title_names.push(t);
            }
        }
    }
    let job_titles: Vec<JobTitle> = title_names
        .iter()
        .map(|name| JobTitle {
            id: Guid::random(rng),
            name: (*name).to_owned(),
            description: format!("{name} role"),
            last_modified: modified(rng, today, 1200),
        })
        .collect();
    let title_index = |name: &str| title_names.iter().position(|t| *t == name).expect("title listed");

    let departments: Vec<DeptTemplate> = DEPARTMENTS
        .iter()
        .map(|&(name, description, parent, bu, weight, cc, titles, technical, archived)| {
            let (group, _) = add_group(rng, name, &department_code(name), description, dept_type, None);
            DeptTemplate {
                name,
                description,
                group,
                parent,
                is_archived: archived,
                weight,
                business_unit: business_units[bu],
                cost_center: cost_centers[cc],
                titles: titles.map(title_index),
                technical,
                last_modified: modified(rng, today, 700),
            }
        })
        .collect();

    let lookups_holidays: Vec<HolidayCalendar> = HOLIDAYS
        .iter()
        .map(|(country, days)| HolidayCalendar {
            id: Guid::random(rng),
            country_code: (*country).to_owned(),
            holidays: days.iter().map(|(m, d, n)| (*m, *d, (*n).to_owned())).collect(),
        })
        .collect();

    let mut locations = Vec::new();
    let mut location_weights = Vec::new();
    for office in OFFICES {
        let (group, group_id) = add_group(rng, office.name, office.code, office.description, loc_type, None);
        let own_id = Guid::random(rng);
        let (h, m, hours, break_hours) = office.shift;
        locations.push(Location {
            id: if params.location_ids_match_groups { group_id } else { own_id },
            group,
            name: office.name.to_owned(),
            description: office.description.to_owned(),
            address: Address {
                line1: office.line1.to_owned(),
                line2: office.line2.map(str::to_owned),
                country_code: office.country_code.to_owned(),
                city: office.city.to_owned(),
                state: office.state.to_owned(),
                zip: office.zip.to_owned(),
            },
            country_name: office.country_name.to_owned(),
            utc_offset_minutes: office.utc_offset_minutes,
            uk_summer_time: office.uk_summer_time,
            saturday_half_day: office.saturday_half_day,
            shift: Shift { start: NaiveTime::from_hms_opt(h, m, 0).expect("valid shift start"), hours, break_hours },
            holiday_calendar: lookups_holidays
                .iter()
                .position(|c| c.country_code == office.country_code)
                .expect("calendar per country"),
            last_modified: modified(rng, today, 900),
        });
        location_weights.push(office.weight);
    }

    let project_teams: Vec<usize> = PROJECT_TEAMS
        .iter()
        .map(|(name, code, description)| add_group(rng, name, code, description, project_type, None).0)
        .collect();
    let mut custom_groups = Vec::new();
    for ((_, members), &ty) in CUSTOM_GROUPS.iter().zip(&custom_types) {
        for (name, code, description) in *members {
            custom_groups.push(add_group(rng, name, code, description, ty, None).0);
        }
    }

    let shift_titles: Vec<String> =
        OFFICES.iter().map(|o| format!("{} General Shift ({:02}:{:02})", o.city, o.shift.0, o.shift.1)).collect();
    let shift_title_refs: Vec<&str> = shift_titles.iter().map(String::as_str).collect();
    let lookups = Lookups {
        leave_plans: lookups(rng, &["India Leave Plan", "UK Leave Plan", "Singapore Leave Plan"]),
        bands: lookups(rng, &["Band 1", "Band 2", "Band 3", "Band 4", "Band 5", "Band 6"]),
        pay_grades: lookups(rng, &["PG-1", "PG-2", "PG-3", "PG-4", "PG-5", "PG-6"]),
        shift_policies: lookups(rng, &shift_title_refs),
        weekly_off_policies: lookups(rng, &["Saturday & Sunday Off", "Sunday Off, Saturday Half Day"]),
        capture_schemes: lookups(rng, &["Biometric + Web Clock-in", "Web & Mobile Clock-in"]),
        tracking_policies: lookups(rng, &["Standard Tracking Policy", "Flexible Hours Policy"]),
        expense_policies: lookups(rng, &["Standard Expense Policy", "Sales Travel Policy"]),
        overtime_policies: lookups(rng, &["Overtime Eligible"]),
        contingent_types: lookups(rng, &["Contractor", "Intern", "Consultant"]),
        holiday_calendars: lookups_holidays,
        custom_fields: [("T-Shirt Size", "Dropdown"), ("Laptop Asset Tag", "Text")]
            .iter()
            .map(|(title, ty)| CustomFieldDef {
                id: Guid::random(rng),
                title: (*title).to_owned(),
                field_type: (*ty).to_owned(),
            })
            .chain(super::custom_fields::definitions())
            .collect(),
    };

    Org {
        company,
        group_types,
        groups,
        locations,
        location_weights,
        ceo_title: title_index("Chief Executive Officer"),
        vp_title: title_index("Vice President"),
        job_titles,
        lookups,
        departments,
        project_teams,
        custom_groups,
    }
}
