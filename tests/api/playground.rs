//! The GraphiQL playground's page and icon, in-process (the browser tests are in
//! `tests/browser`).

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::helpers::{development_keys, each_backend, TestApp};

async fn playground_page(app: &TestApp) -> crate::helpers::TestResponse {
    app.send(
        Request::get("/graphql")
            .header("accept", "text/html")
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

#[tokio::test]
async fn the_page_carries_a_demo_token_only_in_development_mode_and_the_icon_is_served() {
    each_backend(|app| async move {
        let configured = playground_page(&app).await;
        assert_eq!(configured.status, 200);
        assert!(
            configured.text.contains("/*DEMO_TOKEN*/null"),
            "no token with a JWT secret"
        );

        let development = playground_page(&app.rekeyed(development_keys())).await;
        assert_eq!(development.header("cache-control"), Some("no-store"));
        let token = development
            .text
            .split("const demoToken = \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("a demo token in {}", development.text));
        let r = app
            .rekeyed(development_keys())
            .graphql(Some(token), "{ viewer { access canWrite } }", json!({}))
            .await;
        assert_eq!(
            r.body_sans_cost(),
            json!({ "data": { "viewer": { "access": "ALL_AREAS", "canWrite": true } } }),
            "{}",
            r.text
        );

        let icon = app
            .send(
                Request::get("/favicon.ico")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert_eq!(icon.status, 200);
        assert_eq!(icon.header("content-type"), Some("image/x-icon"));
        assert!(icon.text.len() > 100);
    })
    .await;
}
