//! GraphiQL served from the binary: the page (at `GET /`, and at `GET /graphql` for browsers) and its assets at
//! `GET /graphiql/{file}`. Nothing comes from another origin, so the page works offline and under its own strict
//! Content-Security-Policy: no inline script (GraphiQL starts from `init.js`), no CDN.
//!
//! The bundles (GraphiQL 3.9.0 and React 18.3.1, as published on npm) are vendored in `src/server/graphiql/`, with
//! their licences; its README says how to refresh them. Their URLs carry their version, so browsers may keep them
//! for good; the page, `init.js` and `page.css` change with this binary and are revalidated.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Where the assets are served (axum path syntax).
pub(super) const ASSETS_ROUTE: &str = "/graphiql/{file}";

/// The page's policy: everything from this origin. GraphiQL's fonts and icons are `data:` URLs in its stylesheet.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'none'";

/// The page. Every `/graphiql/…` URL in it is one of [`ASSETS`] (a unit test checks).
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="robots" content="noindex">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>keka-subgraph</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="/graphiql/graphiql-3.9.0.min.css">
    <link rel="stylesheet" href="/graphiql/page.css">
  </head>
  <body>
    <div id="graphiql">Loading…</div>
    <script src="/graphiql/react-18.3.1.production.min.js"></script>
    <script src="/graphiql/react-dom-18.3.1.production.min.js"></script>
    <script src="/graphiql/graphiql-3.9.0.min.js"></script>
    <script src="/graphiql/init.js"></script>
  </body>
</html>
"#;

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// A file served under `/graphiql/`.
struct Asset {
    file: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// A vendored bundle whose URL names its version: cached for good.
    versioned: bool,
}

const ASSETS: [Asset; 6] = [
    Asset {
        file: "react-18.3.1.production.min.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("graphiql/react.production.min.js"),
        versioned: true,
    },
    Asset {
        file: "react-dom-18.3.1.production.min.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("graphiql/react-dom.production.min.js"),
        versioned: true,
    },
    Asset {
        file: "graphiql-3.9.0.min.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("graphiql/graphiql.min.js"),
        versioned: true,
    },
    Asset {
        file: "graphiql-3.9.0.min.css",
        content_type: CSS,
        body: include_bytes!("graphiql/graphiql.min.css"),
        versioned: true,
    },
    Asset { file: "init.js", content_type: JAVASCRIPT, body: include_bytes!("graphiql/init.js"), versioned: false },
    Asset { file: "page.css", content_type: CSS, body: include_bytes!("graphiql/page.css"), versioned: false },
];

/// The GraphiQL page, with its security headers.
pub(super) fn page() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /graphiql/{file}`: one of [`ASSETS`], or 404.
pub(super) async fn asset(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.file == file) else {
        return (StatusCode::NOT_FOUND, "no such GraphiQL asset").into_response();
    };
    let cache_control = if asset.versioned { "public, max-age=31536000, immutable" } else { "no-cache" };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, cache_control),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `/graphiql/…` URLs the page references, in order.
    fn referenced() -> Vec<&'static str> {
        PAGE.split('"').filter_map(|part| part.strip_prefix("/graphiql/")).collect()
    }

    #[test]
    fn the_page_references_every_asset_and_nothing_else() {
        let mut referenced = referenced();
        let mut served: Vec<&str> = ASSETS.iter().map(|asset| asset.file).collect();
        referenced.sort_unstable();
        served.sort_unstable();
        assert_eq!(referenced, served);
        assert!(!PAGE.contains("http://") && !PAGE.contains("https://") && !PAGE.contains("//unpkg"));
        // No inline script: every <script> has a src.
        assert_eq!(PAGE.matches("<script").count(), PAGE.matches("<script src=\"/graphiql/").count());
    }

    #[test]
    fn the_bundles_are_the_vendored_versions() {
        let graphiql = std::str::from_utf8(ASSETS[2].body).unwrap();
        assert!(
            graphiql.contains("define.amd") && graphiql.contains(".GraphiQL=") && graphiql.contains("ReactDOM"),
            "graphiql.min.js is GraphiQL's UMD bundle, which sets the GraphiQL global from React's"
        );
        let react = std::str::from_utf8(ASSETS[0].body).unwrap();
        assert!(react.contains("18.3.1"), "react.production.min.js is React 18.3.1");
        let react_dom = std::str::from_utf8(ASSETS[1].body).unwrap();
        assert!(react_dom.contains("18.3.1"), "react-dom.production.min.js is React DOM 18.3.1");
    }
}
