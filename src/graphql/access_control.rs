//! Router-enforced access-control markers on personal data, switchable by configuration.
//!
//! Personal-data fields (personal email, phone numbers, date of birth, home address) carry
//! `@requiresScopes(scopes: [["read:employee_pii"]])` in the type definitions. Apollo Router
//! without a GraphOS license refuses to start on a supergraph that uses `@requiresScopes` or
//! `@authenticated`, so the SDL this subgraph publishes (`_service { sdl }`, `print-schema`)
//! carries the marker only when asked to.

use std::str::FromStr;

use async_graphql::Value;

use super::error::{code, coded};

/// The JWT scope the router must see before it resolves a personal-data field.
pub const PII_SCOPE: &str = "read:employee_pii";

/// Which access-control directive the published SDL puts on personal-data fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessDirectives {
    /// No directive: composes into a supergraph any router starts with (the default).
    #[default]
    None,
    /// `@requiresScopes(scopes: [["read:employee_pii"]])` (Apollo Router with a GraphOS license).
    RequiresScopes,
    /// `@authenticated` (published as `@federation__authenticated`, as the federation v2.5 link does not import it).
    Authenticated,
}

impl FromStr for AccessDirectives {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(Self::None),
            "requires-scopes" | "requiresscopes" => Ok(Self::RequiresScopes),
            "authenticated" => Ok(Self::Authenticated),
            other => Err(format!(
                "unknown access-control directive mode `{other}` (expected none, requires-scopes or authenticated)"
            )),
        }
    }
}

impl AccessDirectives {
    /// Rewrites SDL written with `@requiresScopes` markers into this mode.
    pub fn apply(self, sdl: &str) -> String {
        let marker = format!(" @requiresScopes(scopes: [[\"{PII_SCOPE}\"]])");
        match self {
            Self::RequiresScopes => sdl.to_owned(),
            Self::None => sdl.replace(&marker, ""),
            Self::Authenticated => sdl.replace(&marker, " @federation__authenticated"),
        }
    }

    /// Rewrites `data._service.sdl` of a response, if the request asked for it.
    pub fn apply_to_response(self, response: &mut async_graphql::Response) {
        if self == Self::RequiresScopes {
            return;
        }
        let Value::Object(data) = &mut response.data else { return };
        for (_alias, service) in data.iter_mut() {
            let Value::Object(service) = service else { continue };
            if let Some(Value::String(sdl)) = service.get_mut("sdl")
                && sdl.contains("extend schema @link")
            {
                *sdl = self.apply(sdl);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELD: &str = "\tpersonalEmail: String @requiresScopes(scopes: [[\"read:employee_pii\"]])\n";

    #[test]
    fn each_mode_rewrites_the_marker() {
        assert_eq!(AccessDirectives::None.apply(FIELD), "\tpersonalEmail: String\n");
        assert_eq!(AccessDirectives::RequiresScopes.apply(FIELD), FIELD);
        assert_eq!(
            AccessDirectives::Authenticated.apply(FIELD),
            "\tpersonalEmail: String @federation__authenticated\n"
        );
        assert_eq!("requires-scopes".parse(), Ok(AccessDirectives::RequiresScopes));
        assert!("sometimes".parse::<AccessDirectives>().is_err());
    }
}

/// What the server learnt about the caller, put into each request's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub scopes: CallerScopes,
    /// The caller's email, as the router vouched for it (the JWT's email claim, or the shared-secret mode's email
    /// header); how writes without `write:timeoff:any` find whose time off the caller may request.
    pub email: Option<String>,
}

impl Caller {
    /// Router authentication is off: nothing is known of the caller.
    pub const UNCHECKED: Self = Self { scopes: CallerScopes::NotChecked, email: None };
}

/// What the server learnt about the caller's scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerScopes {
    /// Router authentication is off: scopes are the router's business (`@requiresScopes`), not checked here.
    NotChecked,
    /// The router proved itself and passed these scopes for its caller.
    Granted(std::collections::HashSet<String>),
}

impl CallerScopes {
    pub fn allows(&self, scope: &str) -> bool {
        match self {
            Self::NotChecked => true,
            Self::Granted(scopes) => scopes.contains(scope),
        }
    }
}

/// Resolves a field only for callers holding `scope`, so personal data stays closed even to a request that reaches
/// the subgraph without passing the router's own check.
pub struct RequireScope(pub &'static str);

impl async_graphql::Guard for RequireScope {
    async fn check(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<()> {
        match ctx.data_opt::<Caller>() {
            Some(caller) if !caller.scopes.allows(self.0) => Err(coded(
                code::FORBIDDEN,
                format!("this field needs the `{}` scope, which the caller does not hold", self.0),
            )),
            _ => Ok(()),
        }
    }
}
