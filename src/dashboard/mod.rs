//! The support dashboard at `GET /dashboard`: one page that charts `stats` for a filter, as a
//! plain client of the public GraphQL API (one `POST /graphql` per refresh, with the user's
//! own token). Like the playground, everything it loads is compiled into the binary, so it
//! works without internet access: its own script and styles (`dashboard.js`,
//! `dashboard.css`) and Apache ECharts, gzip-compressed. ECharts is Apache-2.0 and bundles
//! zrender and parts of d3 (both BSD-3-Clause); their licences and ECharts' NOTICE are in
//! `assets/` and are served beside the library.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

/// The vendored ECharts release (`npm pack echarts@5.6.0`, `dist/echarts.min.js`).
pub const ECHARTS_VERSION: &str = "5.6.0";

/// Where the page loads its assets from: `/dashboard/echarts/5.6.0/echarts.min.js` and
/// `/dashboard/app/<content hash>/dashboard.js`. The version is in every path, so the assets
/// can be cached for good.
pub const ASSETS_ROUTE: &str = "/dashboard/{package}/{version}/{file}";

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("dashboard.js");
const STYLES: &str = include_str!("dashboard.css");

/// The page may load and call only its own origin; a stray external load is refused by the
/// browser (and reported in its console) instead of leaving the host. ECharts sets inline
/// styles on its tooltips, hence `'unsafe-inline'` for styles only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A hash of the page's own script and styles: it changes whenever they do, so a browser
/// never runs a cached script from another build.
static APP_VERSION: LazyLock<String> = LazyLock::new(|| {
    // FNV-1a: stable across builds and platforms, which `DefaultHasher` does not promise.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in SCRIPT.bytes().chain(STYLES.bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
});

static PAGE_HTML: LazyLock<String> = LazyLock::new(|| {
    PAGE.replace("{{APP_VERSION}}", &APP_VERSION)
        .replace("{{ECHARTS_VERSION}}", ECHARTS_VERSION)
});

/// One file the page loads.
struct Asset {
    file: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// Stored gzip-compressed, and only ever sent so.
    gzipped: bool,
}

const ECHARTS: &[Asset] = &[
    Asset {
        file: "echarts.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/echarts.min.js.gz"),
        gzipped: true,
    },
    Asset {
        file: "LICENSE",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("assets/LICENSE-echarts"),
        gzipped: false,
    },
    Asset {
        file: "NOTICE",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("assets/NOTICE-echarts"),
        gzipped: false,
    },
    Asset {
        file: "LICENSE-zrender",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("assets/LICENSE-zrender"),
        gzipped: false,
    },
    Asset {
        file: "LICENSE-d3",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("assets/LICENSE-d3"),
        gzipped: false,
    },
];

const APP: &[Asset] = &[
    Asset {
        file: "dashboard.js",
        content_type: "text/javascript; charset=utf-8",
        body: SCRIPT.as_bytes(),
        gzipped: false,
    },
    Asset {
        file: "dashboard.css",
        content_type: "text/css; charset=utf-8",
        body: STYLES.as_bytes(),
        gzipped: false,
    },
];

/// `GET /dashboard`: the page. It holds no data and no token (the token stays in the
/// browser), so it needs neither a token nor the database.
pub async fn page() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            // Revalidated on every visit, so a new build's page (and asset hash) shows at once.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        PAGE_HTML.as_str(),
    )
        .into_response()
}

/// One asset of the page, under [`ASSETS_ROUTE`]. Compressed assets are sent gzip-encoded;
/// a client that refuses gzip (`identity` only, or `gzip;q=0`) gets 406 for them rather than
/// bytes it cannot read.
pub async fn asset(
    Path((package, version, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let assets = match package.as_str() {
        "echarts" if version == ECHARTS_VERSION => ECHARTS,
        "app" if version == *APP_VERSION => APP,
        _ => return AppError::NotFound.into_response(),
    };
    let Some(asset) = assets.iter().find(|a| a.file == file) else {
        return AppError::NotFound.into_response();
    };
    let mut response = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        asset.body,
    )
        .into_response();
    if asset.gzipped {
        if !crate::accept::accepts_gzip(&headers) {
            return (
                StatusCode::NOT_ACCEPTABLE,
                "This asset is only served gzip-encoded; send Accept-Encoding: gzip.",
            )
                .into_response();
        }
        let h = response.headers_mut();
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_the_assets_it_is_served_with() {
        assert!(PAGE_HTML.contains(&format!("/dashboard/app/{}/dashboard.js", *APP_VERSION)));
        assert!(PAGE_HTML.contains(&format!("/dashboard/app/{}/dashboard.css", *APP_VERSION)));
        assert!(PAGE_HTML.contains("/dashboard/echarts/5.6.0/echarts.min.js"));
        assert!(!PAGE_HTML.contains("{{"));
    }

    #[test]
    fn gzip_is_refused_only_when_the_client_says_so() {
        let with = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            crate::accept::accepts_gzip(&h)
        };
        assert!(crate::accept::accepts_gzip(&HeaderMap::new()));
        assert!(with("gzip, deflate, br"));
        assert!(with("*"));
        assert!(!with("identity"));
        assert!(!with("gzip;q=0, br"));
    }
}
