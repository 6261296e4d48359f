//! One request, one scope. Every request gets an id (`X-Request-Id`, on each of its log lines) and
//! runs from a clean reactive owner; a panic anywhere in its handling (the handler, a task its page
//! spawned, its body) is answered with a plain 500, logged once with the request's id, and leaves
//! the worker thread clean.
//!
//! Why here and not only a catch-panic layer: leptos's `Owner::with` does not restore the
//! thread-local owner when its closure unwinds, and `Owner::new_root` sets it without ever unsetting
//! it. A tokio worker thread that ran a panicking page kept that page's owner as its "current"
//! owner, and the next server function on that thread (`Owner::new()` in leptos_axum) was created
//! as its child: `use_context` then found the dead page's contexts, the logged-in user among them.
//! So every poll that starts request work here (the request's future, its body, every task leptos
//! spawns, through the executor installed by [`init`]) first clears the thread's owner, and clears
//! it again when the poll ends or unwinds.
use axum::{
    body::{Body, Bytes, HttpBody},
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures_util::{FutureExt, Stream};
use leptos::reactive::owner::Owner;
use std::{
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, OnceLock,
    },
    task::{Context, Poll},
};
use tracing::Instrument;

/// The request's id, in its extensions (so in the `Parts` leptos provides) and in its task scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub Arc<str>);

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestId {
    /// A new id: 32 hexadecimal digits.
    pub fn new() -> Self {
        RequestId(uuid::Uuid::new_v4().simple().to_string().into())
    }
}

/// What the tasks of one request share: its id and whether one of them panicked.
#[derive(Clone)]
struct Scope(Arc<ScopeInner>);

struct ScopeInner {
    id: RequestId,
    panicked: AtomicBool,
    wake: tokio::sync::Notify,
}

impl Scope {
    fn new(id: RequestId) -> Self {
        Scope(Arc::new(ScopeInner {
            id,
            panicked: AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
        }))
    }

    fn fail(&self) {
        self.0.panicked.store(true, Ordering::SeqCst);
        self.0.wake.notify_one();
    }

    async fn failed(&self) {
        while !self.0.panicked.load(Ordering::SeqCst) {
            self.0.wake.notified().await;
        }
    }
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// The id of the request whose work is running now (its handler, or a task its page spawned).
pub fn current_request_id() -> Option<RequestId> {
    SCOPE.try_with(|s| s.0.id.clone()).ok()
}

/// Forgets the thread's current reactive owner, whatever an earlier poll left there.
fn reset_owner() {
    if let Some(owner) = Owner::current() {
        owner.unset();
    }
}

struct ResetOnDrop;

impl Drop for ResetOnDrop {
    fn drop(&mut self) {
        reset_owner();
    }
}

/// A future or stream polled from a clean owner, which it leaves clean, even when it panics.
struct Clean<T: ?Sized>(Pin<Box<T>>);

impl<F: Future + ?Sized> Future for Clean<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        reset_owner();
        let _reset = ResetOnDrop;
        self.0.as_mut().poll(cx)
    }
}

/// Installs the executor leptos spawns its tasks with (tokio, each task kept clean and tied to its
/// request) and the panic hook that logs a request's panic with its id. Once per process; must run
/// before anything renders (leptos_axum would otherwise install plain tokio).
pub fn init() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if any_spawner::Executor::init_custom_executor(ContainedExecutor).is_err() {
            tracing::error!("another executor was installed first: a panic in a page's task would hang its request");
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| match current_request_id() {
            Some(id) if tracing::dispatcher::has_been_set() => {
                let backtrace = std::backtrace::Backtrace::capture();
                tracing::error!(request_id = %id.0, panic = %info, %backtrace, "request panicked");
            }
            _ => previous(info),
        }));
    });
}

struct ContainedExecutor;

impl any_spawner::CustomExecutor for ContainedExecutor {
    fn spawn(&self, fut: any_spawner::PinnedFuture<()>) {
        let scope = SCOPE.try_with(Scope::clone).ok();
        // The task logs under its request's span (its id), as the request's own lines do.
        let task = {
            let scope = scope.clone();
            tracing::Instrument::in_current_span(async move {
                if AssertUnwindSafe(Clean(fut)).catch_unwind().await.is_err() {
                    if let Some(scope) = scope {
                        scope.fail();
                    }
                }
            })
        };
        match scope {
            Some(scope) => drop(tokio::spawn(SCOPE.scope(scope, task))),
            None => drop(tokio::spawn(task)),
        }
    }

    fn spawn_local(&self, fut: any_spawner::PinnedLocalFuture<()>) {
        drop(tokio::task::spawn_local(fut));
    }

    fn poll_local(&self) {}
}

/// The outermost application middleware: id, clean owner, panics turned into a 500.
pub async fn contain(mut req: Request, next: Next) -> Response {
    // The id `metrics::observe` made for this request (sent back as X-Request-Id, on its log
    // lines); a new one if that layer is absent.
    let id = req
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(RequestId::new);
    req.extensions_mut().insert(id.clone());
    let api = req.uri().path().starts_with("/api/");
    let locale = {
        let h = |name: header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok());
        crate::i18n::Locale::from_request(h(header::COOKIE), h(header::ACCEPT_LANGUAGE))
    };
    let span = tracing::info_span!("request", id = %id.0);
    let scope = Scope::new(id.clone());
    let run = SCOPE.scope(scope.clone(), Clean(Box::pin(next.run(req))));
    let answer = async {
        tokio::select! {
            biased;
            done = AssertUnwindSafe(run).catch_unwind() => done.ok(),
            () = scope.failed() => None,
        }
    }
    .instrument(span)
    .await;
    let mut res = match answer {
        Some(res) => contain_body(res, scope),
        None => panic_response(api, locale),
    };
    if let Ok(v) = HeaderValue::from_str(&id.0) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// The answer to a request that panicked: nothing of the page, only that it failed.
fn panic_response(api: bool, locale: crate::i18n::Locale) -> Response {
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    if api {
        let body = serde_json::to_string(&crate::error::AppError::Internal).unwrap_or_default();
        return (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    let message = crate::i18n::tr(locale, "error.internal");
    let page = format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>500</title></head>\
         <body><main><h1>500</h1><p>{}</p><p><a href=\"/\">{}</a></p></main></body></html>",
        locale.code(),
        html_escape(&message),
        html_escape(&crate::i18n::tr(locale, "nav.programme")),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A body still to be produced (a stream) is polled clean and in its request's scope; a panic ends
/// it with an error, so the connection is closed instead of left waiting.
fn contain_body(res: Response, scope: Scope) -> Response {
    if res.body().size_hint().exact().is_some() {
        return res;
    }
    let (parts, body) = res.into_parts();
    let stream = CleanBody {
        inner: body.into_data_stream(),
        scope,
        done: false,
    };
    Response::from_parts(parts, Body::from_stream(stream))
}

struct CleanBody {
    inner: axum::body::BodyDataStream,
    scope: Scope,
    done: bool,
}

impl Stream for CleanBody {
    type Item = Result<Bytes, axum::BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        reset_owner();
        let _reset = ResetOnDrop;
        let this = &mut *self;
        let scope = this.scope.clone();
        let inner = &mut this.inner;
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| {
            SCOPE.sync_scope(scope, || Pin::new(inner).poll_next(cx))
        }));
        match polled {
            Ok(Poll::Ready(Some(Err(e)))) => {
                this.done = true;
                Poll::Ready(Some(Err(e.into())))
            }
            Ok(Poll::Ready(Some(Ok(bytes)))) => Poll::Ready(Some(Ok(bytes))),
            Ok(Poll::Ready(None)) => {
                this.done = true;
                Poll::Ready(None)
            }
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => {
                this.done = true;
                Poll::Ready(Some(Err("the response body panicked".into())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::prelude::{provide_context, use_context};

    #[derive(Clone)]
    struct Secret;

    #[test]
    fn a_panic_inside_an_owner_leaves_the_thread_without_it() {
        let page = Owner::new();
        let mut work = Clean(Box::pin(async {
            page.with(|| {
                provide_context(Secret);
                panic!("deliberate");
            })
        }));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let outcome =
            std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut work).poll(&mut cx)));
        assert!(outcome.is_err(), "the work panicked");
        assert!(Owner::current().is_none(), "the thread holds no owner");
        let next = Owner::new();
        assert!(
            next.with(use_context::<Secret>).is_none(),
            "the next owner inherits nothing"
        );
        drop(page);
    }
}
