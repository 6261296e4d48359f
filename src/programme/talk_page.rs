//! `/talks/:id`: one talk, its facts and its description.
use super::widgets::{hm, provide_personal, SaveButton};
use super::{get_talk, Filter, TalkDetail};
use crate::ui::prelude::*;
use crate::ui::NotFound;
use leptos_router::hooks::use_params_map;

#[component]
pub fn TalkPage() -> impl IntoView {
    provide_personal();
    let params = use_params_map();
    let talk = Resource::new_blocking(
        move || params.read().get("id").unwrap_or_default(),
        get_talk,
    );
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match talk.await {
                    Ok(detail) => view! { <TalkView detail/> }.into_any(),
                    Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TalkView(detail: TalkDetail) -> impl IntoView {
    let i18n = use_i18n();
    let TalkDetail {
        talk,
        description,
        timezone,
    } = detail;
    let title = talk.title.clone();
    let day = talk.day;
    let back = Filter {
        theme: Some(talk.theme.clone()),
        day: None,
    }
    .href();
    view! {
            <Title text=title.clone()/>
            <article class="talk-page" data-talk-id=talk.id.to_string()>
                <p class="breadcrumb"><a href="/">{move || i18n.t("talk.back")}</a></p>
                <span class="talk-theme" data-theme=talk.theme.clone()>{talk.theme.clone()}</span>
                <h1>{title}</h1>
                <SaveButton talk=talk.clone()/>
                <super::workshops::WorkshopSeat talk_id=talk.id/>
                <dl class="talk-facts">
                    <dt>{move || i18n.t("talk.when")}</dt>
                    <dd>
                        {move || i18n.t_with(
                            "talk.when_value",
                            &[("date", &i18n.date_long(day)), ("start", &hm(talk.start)), ("end", &hm(talk.end)), ("tz", &timezone)],
                        )}
                    </dd>
                    {talk.location.clone().map(|room| view! {
                        <dt>{move || i18n.t("talk.room")}</dt>
                        <dd class="talk-room">{room}</dd>
                    })}
                    {talk.speaker_name.clone().map(|speaker| view! {
                        <dt>{move || i18n.t("talk.speaker")}</dt>
                        <dd class="talk-speaker">{speaker}</dd>
                    })}
                </dl>
    <TalkDescription text=description/>
                <p><a class="button-secondary" href=back>{move || i18n.t_with("talk.more_in_theme", &[("theme", &talk.theme)])}</a></p>
            </article>
        }
}

/// A talk's description as attendees read it: paragraphs split on blank lines. The admin's
/// description editor previews with the same component.
#[component]
pub fn TalkDescription(#[prop(into)] text: Signal<String>) -> impl IntoView {
    view! {
        <div class="talk-description">
            {move || text.get().split("\n\n").filter(|p| !p.trim().is_empty()).map(|para| view! { <p>{para.to_string()}</p> }).collect_view()}
        </div>
    }
}
