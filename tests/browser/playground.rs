//! The GraphiQL playground in a real browser: tokens never reach the browser's storage, the
//! console stays free of errors, the hint fits the editor, and in development mode a demo
//! token is one click away; subscriptions run over its WebSocket.

use serde_json::json;

use crate::harness::{serve, Browser};
use crate::helpers::{development_keys, each_backend};

/// Waits for GraphiQL to render its editors and to load the schema.
async fn open_playground(browser: &Browser, url: &str) {
    browser.goto(url).await;
    browser
        .wait_until(
            "GraphiQL with its schema",
            "return document.querySelectorAll('.CodeMirror').length >= 3
                && !!document.querySelector('.graphiql-execute-button')
                && !document.querySelector('.graphiql-spinner');",
        )
        .await;
}

/// The editor of the Headers tab (open from the start).
const HEADERS: &str =
    "section.graphiql-editor-tool[aria-label=Headers] .graphiql-editor:not(.hidden) .CodeMirror";

/// The text of the editor `arguments[0]` selects.
const EDITOR_TEXT: &str =
    "const e = document.querySelector(arguments[0]); return e && e.CodeMirror.getValue();";

/// Runs the query and waits for its response.
async fn run_query(browser: &Browser) -> String {
    let button = browser
        .find(".graphiql-execute-button")
        .await
        .expect("the run button");
    browser.click(&button).await;
    let response = browser
        .wait_until(
            "the response",
            "const e = document.querySelector('.result-window .CodeMirror');
             const text = e && e.CodeMirror.getValue();
             return text && text.includes('\"data\"') ? text : null;",
        )
        .await;
    response.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_token_pasted_into_the_playground_never_reaches_browser_storage() {
    let Some(chromium) = Browser::start().await else {
        return;
    };
    let browser = &chromium;
    each_backend(|app| async move {
        app.ticket(None).await;
        let addr = serve(&app, app.keys.clone()).await;
        open_playground(browser, &format!("http://{addr}/graphql")).await;

        assert!(
            browser.find(".demo-token-button").await.is_none(),
            "no demo token when a JWT secret is configured"
        );
        // The hint and the query fit the editor: nothing is cut off at its right edge.
        let overflow = browser
            .execute(
                "const s = document.querySelector('.graphiql-query-editor .CodeMirror-scroll');
                 return [s.scrollWidth, s.clientWidth];",
                json!([]),
            )
            .await;
        assert!(
            overflow[0].as_u64() <= overflow[1].as_u64(),
            "the query editor overflows: {overflow}"
        );
        let query = browser
            .execute(EDITOR_TEXT, json!([".graphiql-query-editor .CodeMirror"]))
            .await;
        assert!(
            query.as_str().unwrap_or_default().contains("Headers tab"),
            "{query}"
        );

        // As a paste into the Headers tab does.
        let token = app.all_areas();
        let headers = json!({ "Authorization": format!("Bearer {token}") }).to_string();
        browser
            .execute(
                "document.querySelector(arguments[0]).CodeMirror.setValue(arguments[1]);",
                json!([HEADERS, headers]),
            )
            .await;
        let response = run_query(browser).await;
        assert!(
            response.contains("ALL_AREAS") && response.contains("\"totalCount\": 1"),
            "{response}"
        );

        let stored = browser.stored().await;
        assert!(
            stored.contains("graphiql:queries"),
            "the run is in the history: {stored}"
        );
        let signature = token.rsplit('.').next().unwrap_or(&token);
        assert!(
            !stored.contains(signature) && !stored.contains("Bearer ey"),
            "the token is stored:\n{stored}"
        );
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
    })
    .await;
    chromium.quit().await;
}

#[tokio::test]
async fn in_development_mode_the_playground_offers_the_demo_token_in_one_click() {
    let Some(chromium) = Browser::start().await else {
        return;
    };
    let browser = &chromium;
    each_backend(|app| async move {
        app.ticket(None).await;
        let addr = serve(&app, development_keys()).await;
        open_playground(browser, &format!("http://{addr}/graphql")).await;

        let button = browser
            .find(".demo-token-button")
            .await
            .expect("the demo token button");
        browser.click(&button).await;
        let headers = browser.execute(EDITOR_TEXT, json!([HEADERS])).await;
        let headers: serde_json::Value =
            serde_json::from_str(headers.as_str().unwrap_or_default()).expect("JSON headers");
        let bearer = headers["Authorization"].as_str().unwrap_or_default();
        let token = bearer.strip_prefix("Bearer ").expect("a bearer token");
        let response = run_query(browser).await;
        assert!(
            response.contains("ALL_AREAS") && response.contains("\"totalCount\": 1"),
            "{response}"
        );

        let stored = browser.stored().await;
        let signature = token.rsplit('.').next().unwrap_or(token);
        assert!(
            !stored.contains(signature) && !stored.contains("Bearer ey"),
            "the demo token is stored:\n{stored}"
        );
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
    })
    .await;
    chromium.quit().await;
}

#[tokio::test]
async fn the_playground_runs_a_subscription_and_shows_each_change() {
    let Some(chromium) = Browser::start().await else {
        return;
    };
    let browser = &chromium;
    each_backend(|app| async move {
        let ticket = app.ticket(None).await.to_string();
        let addr = serve(&app, app.keys.clone()).await;
        open_playground(browser, &format!("http://{addr}/graphql")).await;
        let token = app.all_areas();
        let headers = json!({ "Authorization": format!("Bearer {token}") }).to_string();
        browser
            .execute(
                "document.querySelector(arguments[0]).CodeMirror.setValue(arguments[1]);",
                json!([HEADERS, headers]),
            )
            .await;
        browser
            .execute(
                "document.querySelector(arguments[0]).CodeMirror.setValue(arguments[1]);",
                json!([
                    ".graphiql-query-editor .CodeMirror",
                    "subscription Live { ticketChanged { kind version ticket { id humanVerifiedCategory } } }"
                ]),
            )
            .await;
        // GraphiQL takes the operation's name from the editor a moment after it changes; run
        // before that and it sends the new text under the old name (`Dashboard`).
        browser
            .wait_until(
                "GraphiQL to take the operation's name",
                "const state = JSON.parse(localStorage.getItem('graphiql:tabState') || '{}');
                 const tab = (state.tabs || [])[state.activeTabIndex || 0];
                 return !!tab && tab.operationName === 'Live';",
            )
            .await;
        let button = browser
            .find(".graphiql-execute-button")
            .await
            .expect("the run button");
        browser.click(&button).await;
        // The socket opens and subscribes with no acknowledgement to wait for: change the
        // ticket until a change shows (a loaded machine may take a while to subscribe).
        let pane = "const e = document.querySelector('.result-window .CodeMirror');
                    const text = e && e.CodeMirror.getValue();
                    return text && text.includes('CATEGORIZED') ? text : null;";
        let mut shown = serde_json::Value::Null;
        for (attempt, category) in ["CHARGER", "SOLAR"].iter().cycle().take(20).enumerate() {
            let categorized = app
                .graphql(
                    Some(&token),
                    "mutation($id: ID!, $c: Category) { categorizeTicket(id: $id, input: { humanVerifiedCategory: $c }) { ticket { version } } }",
                    json!({ "id": ticket, "c": category }),
                )
                .await;
            assert!(categorized.body["errors"].is_null(), "{}", categorized.text);
            for _ in 0..10 {
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                shown = browser.execute(pane, json!([])).await;
                if !shown.is_null() {
                    break;
                }
            }
            if !shown.is_null() {
                break;
            }
            if attempt == 19 {
                let seen = browser
                    .execute(
                        "const e = document.querySelector('.result-window .CodeMirror'); return e && e.CodeMirror.getValue();",
                        json!([]),
                    )
                    .await;
                panic!("{}: no change showed in the result pane, which shows: {seen}", app.backend);
            }
        }
        let shown = shown.as_str().unwrap_or_default();
        assert!(shown.contains(&ticket) && shown.contains("humanVerifiedCategory"), "{shown}");
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
    })
    .await;
    chromium.quit().await;
}
