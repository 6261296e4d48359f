//! The lists' part of `/admin/door`: the check-in lists (made, changed, archived), arrivals per
//! quarter hour and list with who is inside, and the badges to print.
use super::{
    admin_checkin_arrivals, admin_checkin_list_archive, admin_checkin_list_save,
    admin_checkin_lists, CheckinList, Choice, ListDraft, ListsAdmin, Rule,
};
use crate::ui::prelude::*;
use leptos::{prelude::*, task::spawn_local};
use uuid::Uuid;

/// Lists, arrivals and badges, one section each.
#[component]
pub fn CheckinAdmin() -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let data = Resource::new(move || version.get(), |_| admin_checkin_lists());
    view! {
        {loaded(data, move |d| view! {
                <section class="checkin-lists">
                    <h2>{move || i18n.t("checkin.admin.lists")}</h2>
                    <ListsTable lists=d.lists.clone() passes=d.passes.clone() version/>
                    <ListForm admin=d.clone() version/>
                </section>
                <Workshops admin=d.clone() version/>
                <Arrivals/>
                <BadgeLinks passes=d.passes/>
            }.into_any())}
    }
}

fn rule_label(i18n: crate::i18n::I18n, rule: Rule) -> String {
    i18n.t(rule.label_key())
}

#[component]
fn ListsTable(
    lists: Vec<CheckinList>,
    passes: Vec<Choice>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let error = RwSignal::new(None::<AppError>);
    let edit = use_context::<RwSignal<Option<CheckinList>>>();
    view! {
        <Table class="checkin-list-table" keys=["checkin.admin.name", "checkin.admin.rule", "checkin.admin.passes", "checkin.admin.hours", ""]>
            {lists.into_iter().map(|l| {
                let names = if l.all_passes {
                    i18n.t("checkin.admin.all_passes")
                } else {
                    passes.iter().filter(|p| l.passes.contains(&p.id)).map(|p| p.name.clone()).collect::<Vec<_>>().join(", ")
                };
                let hours = match (l.opens_local.as_str(), l.closes_local.as_str()) {
                    ("", "") => String::new(),
                    (o, c) => format!("{} → {}", o.replace('T', " "), c.replace('T', " ")),
                };
                let (id, archived, rule) = (l.id, l.archived, l.rule);
                let workshop = l.talk_title.clone();
                let edited = l.clone();
                view! {
                    <tr data-list=id.to_string() class:archived=archived>
                        <td>{l.name.clone()}{workshop.map(|w| view! { <br/><small class="checkin-workshop">{w}</small> })}</td>
                        <td>{move || rule_label(i18n, rule)}</td>
                        <td>{names}</td>
                        <td>{hours}</td>
                        <td>
                            <button type="button" class="button-secondary checkin-edit" on:click=move |_| {
                                if let Some(edit) = edit { edit.set(Some(edited.clone())) }
                            }>{move || i18n.t("checkin.admin.edit")}</button>
                            " "
                            <button type="button" class="button-secondary checkin-archive" on:click=move |_| {
                                spawn_local(async move {
                                    match admin_checkin_list_archive(id, !archived).await {
                                        Ok(()) => { error.set(None); version.update(|v| *v += 1) }
                                        Err(e) => error.set(Some(e)),
                                    }
                                });
                            }>{move || i18n.t(if archived { "checkin.admin.restore" } else { "checkin.admin.archive" })}</button>
                        </td>
                    </tr>
                }
            }).collect_view()}
        </Table>
        {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e.message(i18n.locale.get())}</p> })}
    }
}

/// A new list, or the one being changed.
#[component]
fn ListForm(admin: ListsAdmin, version: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let edit = RwSignal::new(None::<CheckinList>);
    provide_context(edit);
    let ListsAdmin {
        passes, workshops, ..
    } = admin;
    let draft = move || {
        edit.get().map_or_else(
            || ListDraft {
                rule: Rule::Daily.as_str().into(),
                all_passes: true,
                ..Default::default()
            },
            |l| ListDraft {
                id: Some(l.id),
                name: l.name,
                rule: l.rule.as_str().into(),
                all_passes: l.all_passes,
                passes: l.passes,
                opens_at: l.opens_local,
                closes_at: l.closes_local,
                talk_id: l.talk_id,
            },
        )
    };
    let error = RwSignal::new(None::<AppError>);
    let field_error = move |field: &'static str| {
        move || match error.get() {
            Some(AppError::Invalid { field: f, key }) if f == field => {
                Some(view! { <p class="field-error" role="alert">{i18n.t(&key)}</p> })
            }
            _ => None,
        }
    };
    let form = NodeRef::<leptos::html::Form>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(form) = form.get() else { return };
        let d = read_form(&form, draft().id);
        spawn_local(async move {
            let passes = d.passes_field();
            let saved = admin_checkin_list_save(
                d.id,
                d.name,
                d.rule,
                Some(passes),
                Some(d.opens_at),
                Some(d.closes_at),
                d.talk_id.map(|t| t.to_string()),
            );
            match saved.await {
                Ok(_) => {
                    error.set(None);
                    edit.set(None);
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    move || {
        let d = draft();
        let passes = passes.clone();
        let workshops = workshops.clone();
        view! {
            <form node_ref=form class="stack-form checkin-list-form" on:submit=submit>
                <h3>{move || i18n.t(if edit.with(Option::is_some) { "checkin.admin.change" } else { "checkin.admin.new" })}</h3>
                <Labelled label="checkin.admin.name">" "<input name="name" required maxlength="80" value=d.name.clone()/></Labelled>
                {field_error("name")}
                <Labelled label="checkin.admin.rule">" "
                    <select name="rule">
                        {Rule::ALL.into_iter().map(|r| view! {
                            <option value=r.as_str() selected=d.rule == r.as_str()>{move || rule_label(i18n, r)}</option>
                        }).collect_view()}
                    </select>
                </Labelled>
                <fieldset>
                    <legend>{move || i18n.t("checkin.admin.passes")}</legend>
                    <label><input type="checkbox" name="all_passes" checked=d.all_passes/>" "{move || i18n.t("checkin.admin.all_passes")}</label>
                    {passes.into_iter().map(|p| view! {
                        <label><input type="checkbox" name="pass" value=p.id.to_string() checked=d.passes.contains(&p.id)/>" "{p.name}</label>
                    }).collect_view()}
                </fieldset>
                {field_error("passes")}
                <Labelled label="checkin.admin.opens">" "<input type="datetime-local" name="opens_at" value=d.opens_at.clone()/></Labelled>
                {field_error("opens_at")}
                <Labelled label="checkin.admin.closes">" "<input type="datetime-local" name="closes_at" value=d.closes_at.clone()/></Labelled>
                {field_error("closes_at")}
                <Labelled label="checkin.admin.workshop">" "
                    <select name="talk_id">
                        <option value="">{move || i18n.t("checkin.admin.no_workshop")}</option>
                        {workshops.into_iter().map(|w| view! {
                            <option value=w.id.to_string() selected=d.talk_id == Some(w.id)>{w.name}</option>
                        }).collect_view()}
                    </select>
                </Labelled>
                {field_error("talk_id")}
                <button type="submit" class="button">{move || i18n.t("checkin.admin.save")}</button>
                {move || edit.with(Option::is_some).then(|| view! {
                    " "<button type="button" class="button-secondary" on:click=move |_| edit.set(None)>{move || i18n.t("checkin.admin.cancel")}</button>
                })}
                {move || match error.get() {
                    Some(AppError::Invalid { .. }) | None => None,
                    Some(e) => Some(view! { <p class="notice notice-error" role="alert">{e.message(i18n.locale.get())}</p> }),
                }}
            </form>
        }
    }
}

/// The form's fields as a draft (read in the browser).
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables, unused_mut))]
fn read_form(form: &leptos::web_sys::HtmlFormElement, id: Option<Uuid>) -> ListDraft {
    let mut d = ListDraft {
        id,
        ..Default::default()
    };
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let elements = form.elements();
        for i in 0..elements.length() {
            let Some(el) = elements.item(i) else { continue };
            if let Some(input) = el.dyn_ref::<leptos::web_sys::HtmlInputElement>() {
                match input.name().as_str() {
                    "name" => d.name = input.value(),
                    "all_passes" => d.all_passes = input.checked(),
                    "pass" if input.checked() => {
                        if let Ok(p) = Uuid::parse_str(&input.value()) {
                            d.passes.push(p);
                        }
                    }
                    "opens_at" => d.opens_at = input.value(),
                    "closes_at" => d.closes_at = input.value(),
                    _ => {}
                }
            } else if let Some(select) = el.dyn_ref::<leptos::web_sys::HtmlSelectElement>() {
                match select.name().as_str() {
                    "rule" => d.rule = select.value(),
                    "talk_id" => d.talk_id = Uuid::parse_str(&select.value()).ok(),
                    _ => {}
                }
            }
        }
    }
    d
}

/// Workshops: the talks that need a booking, their seats; a talk made one, or its seats changed.
#[component]
fn Workshops(admin: ListsAdmin, version: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let error = RwSignal::new(None::<AppError>);
    let ListsAdmin {
        workshops,
        talks,
        seats,
        ..
    } = admin;
    let talk = RwSignal::new(String::new());
    let capacity = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(id) = Uuid::parse_str(&talk.get_untracked()) else {
            return;
        };
        let n = capacity.get_untracked();
        spawn_local(async move {
            match crate::programme::workshops::admin_talk_workshop(id, n).await {
                Ok(()) => {
                    error.set(None);
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="checkin-workshops">
            <h2>{move || i18n.t("checkin.admin.workshops")}</h2>
            <ul>
                {workshops.into_iter().map(|w| {
                    let (cap, booked) = seats.iter().find(|s| s.0 == w.id).map_or((0, 0), |s| (s.1, s.2));
                    view! { <li data-workshop=w.id.to_string()>{w.name}" — "{move || i18n.t_with("checkin.admin.seats", &[("booked", &booked.to_string()), ("capacity", &cap.to_string())])}</li> }
                }).collect_view()}
            </ul>
            <form class="stack-form workshop-form" on:submit=submit>
                <Labelled label="checkin.admin.talk">" "
                    <select name="talk_id" on:change=move |ev| talk.set(event_target_value(&ev))>
                        <option value="">"—"</option>
                        {talks.into_iter().map(|t| view! { <option value=t.id.to_string()>{t.name}</option> }).collect_view()}
                    </select>
                </Labelled>
                <Labelled label="checkin.admin.capacity">" "
                    <input name="capacity" inputmode="numeric" on:input=move |ev| capacity.set(event_target_value(&ev))/>
                </Labelled>
                <button type="submit" class="button">{move || i18n.t("checkin.admin.save")}</button>
                {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e.message(i18n.locale.get())}</p> })}
            </form>
        </section>
    }
}

/// Arrivals per quarter hour and list on a day, and who is inside on in/out lists.
#[component]
fn Arrivals() -> impl IntoView {
    let i18n = use_i18n();
    let day = RwSignal::new(String::new());
    let data = Resource::new(move || day.get(), admin_checkin_arrivals);
    view! {
        <section class="checkin-arrivals">
            <h2>{move || i18n.t("checkin.admin.arrivals")}</h2>
            <Labelled label="checkin.admin.day">" "
                <input type="date" name="day" on:change=move |ev| day.set(event_target_value(&ev))/>
            </Labelled>
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(a) => view! {
                            <p class="checkin-day">{a.day.clone()}</p>
                            {a.lists.into_iter().map(|l| {
                                let max = l.quarters.iter().map(|q| q.1).max().unwrap_or(1).max(1);
                                view! {
                                    <div class="checkin-arrivals-list" data-list=l.list_id.to_string() data-total=l.total.to_string()>
                                        <h3>{l.name}" · "{move || i18n.t_with("checkin.admin.total", &[("n", &l.total.to_string())])}
                                            {l.inside.map(|n| view! { " · "<span class="checkin-inside" data-inside=n.to_string()>{move || i18n.t_with("checkin.inside", &[("n", &n.to_string())])}</span> })}
                                        </h3>
                                        <ul class="checkin-quarters">
                                            {l.quarters.into_iter().map(|(q, n)| view! {
                                                <li><span class="q">{q}</span><meter min="0" max=max.to_string() value=n.to_string()></meter><span>{n}</span></li>
                                            }).collect_view()}
                                        </ul>
                                    </div>
                                }
                            }).collect_view()}
                        }.into_any(),
                        Err(AppError::Invalid { key, .. }) => view! { <p class="field-error" role="alert">{move || i18n.t(&key)}</p> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The badges' PDF: everyone, or one pass, on A6 pages or A4 sheets of 8.
#[component]
fn BadgeLinks(passes: Vec<Choice>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="checkin-badges">
            <h2>{move || i18n.t("checkin.admin.badges")}</h2>
            <p>
                <a class="button-secondary" href="/admin/badges.pdf?sheet=a6" target="_blank">{move || i18n.t("checkin.admin.badges_all_a6")}</a>" "
                <a class="button-secondary" href="/admin/badges.pdf?sheet=a4" target="_blank">{move || i18n.t("checkin.admin.badges_all_a4")}</a>
            </p>
            <ul>
                {passes.into_iter().map(|p| {
                    let a6 = format!("/admin/badges.pdf?sheet=a6&pass={}", p.id);
                    let a4 = format!("/admin/badges.pdf?sheet=a4&pass={}", p.id);
                    view! { <li>{p.name}" : "<a href=a6 target="_blank">"A6"</a>" · "<a href=a4 target="_blank">"A4 × 8"</a></li> }
                }).collect_view()}
            </ul>
        </section>
    }
}
