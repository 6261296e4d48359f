//! Dev-only tools for checking the server's own guarantees. `/dev/panic` makes a page panic (in a
//! task the page spawned, or with `?in=render` while the page itself renders), and the server
//! function `dev_panic` panics while answering: the tests use them to check that a panic is answered
//! with a plain 500 and hands nobody's identity to the next request. Both are refused (404) in
//! production.
use crate::ui::prelude::*;
use leptos_router::hooks::use_query_map;

/// Looks up the caller first, as every page does (so a leak of the identity would show), then panics.
#[server(prefix = "/api", endpoint = "dev_panic")]
pub async fn dev_panic() -> Result<(), AppError> {
    let state = crate::server::state()?;
    if !state.config.is_dev() {
        return Err(AppError::NotFound);
    }
    let _caller = crate::accounts::session::current_user().await?;
    panic!("deliberate panic: /dev/panic (dev only)")
}

#[component]
pub fn DevPanicPage() -> impl IntoView {
    let in_render = use_query_map().read_untracked().get("in").as_deref() == Some("render");
    #[cfg(feature = "ssr")]
    if in_render && crate::server::state().is_ok_and(|s| s.config.is_dev()) {
        panic!("deliberate panic while rendering /dev/panic (dev only)");
    }
    let outcome = Resource::new(
        || (),
        move |_| async move {
            if in_render {
                Err(AppError::NotFound)
            } else {
                dev_panic().await
            }
        },
    );
    view! {
        <Suspense fallback=crate::ui::Loading>
            {move || outcome.get().map(|r| r.err().map(|error| view! { <ErrorNotice error/> }))}
        </Suspense>
    }
}
