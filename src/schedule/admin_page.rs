//! `/admin/schedule`: the programme's addresses for other tools, an import (from a pretalx URL
//! or a file; a preview first, then the import, with the talks gone from the source removed only
//! when ticked), and the last imports.
use super::{
    admin_schedule, admin_schedule_import, ImportReport, ImportRun, Outcome, ScheduleAdmin,
};
use crate::admin::ui::AdminPage;
use crate::ui::prelude::*;
use leptos::task::spawn_local;

/// The form's state: what was typed or chosen, the last answer.
#[derive(Clone, Copy)]
struct Form {
    url: RwSignal<String>,
    /// The chosen file: name and text.
    file: RwSignal<Option<(String, String)>>,
    remove_gone: RwSignal<bool>,
    report: RwSignal<Option<ImportReport>>,
    error: RwSignal<Option<AppError>>,
    busy: RwSignal<bool>,
}

impl Form {
    fn new() -> Form {
        Form {
            url: RwSignal::new(String::new()),
            file: RwSignal::new(None),
            remove_gone: RwSignal::new(false),
            report: RwSignal::new(None),
            error: RwSignal::new(None),
            busy: RwSignal::new(false),
        }
    }

    /// Previews (`apply` false) or imports.
    fn send(self, apply: bool, reload: RwSignal<u32>) {
        let url = self.url.get_untracked();
        let (name, content) = self.file.get_untracked().unwrap_or_default();
        let remove = self.remove_gone.get_untracked();
        self.busy.set(true);
        spawn_local(async move {
            let answer = admin_schedule_import(url, content, name, apply, remove).await;
            self.busy.set(false);
            match answer {
                Ok(report) => {
                    self.error.set(None);
                    self.report.set(Some(report));
                    if apply {
                        reload.update(|v| *v += 1);
                    }
                }
                Err(e) => {
                    self.report.set(None);
                    self.error.set(Some(e));
                }
            }
        });
    }

    /// Reads the chosen file in the browser.
    fn read(self, ev: leptos::ev::Event) {
        self.file.set(None);
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            let input = ev
                .target()
                .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlInputElement>().ok());
            let Some(file) = input.and_then(|i| i.files()).and_then(|f| f.get(0)) else {
                return;
            };
            spawn_local(async move {
                let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
                match text.ok().and_then(|t| t.as_string()) {
                    // The request limit is 1 MiB once form-encoded: a larger file is given by URL.
                    Some(text) if form_size(&text) > 1_000_000 => self.error.set(Some(
                        AppError::invalid("file", "schedule.import.error.file_too_large"),
                    )),
                    Some(text) => self.file.set(Some((file.name(), text))),
                    None => self.error.set(Some(AppError::invalid(
                        "file",
                        "schedule.import.error.encoding",
                    ))),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    }
}

/// The size of `text` as a form field sends it (`application/x-www-form-urlencoded`).
#[cfg(feature = "hydrate")]
fn form_size(text: &str) -> usize {
    let one = |b: &u8| b.is_ascii_alphanumeric() || b"*-._ ".contains(b);
    text.bytes().map(|b| if one(&b) { 1 } else { 3 }).sum()
}

#[component]
pub fn AdminSchedulePage() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let info = Resource::new(move || reload.get(), |_| admin_schedule());
    view! {
        <AdminPage title="schedule.admin.title" class="admin-schedule">
            <Exports/>
            <ImportForm reload/>
            {loaded(info, |ScheduleAdmin { runs, url, minutes }| view! { <History runs url minutes/> })}
        </AdminPage>
    }
}

/// The addresses other tools read the programme from.
#[component]
fn Exports() -> impl IntoView {
    let i18n = use_i18n();
    let link = |href: &'static str, key: &'static str| {
        view! { <li><a href=href rel="external">{href}</a>" — "{move || i18n.t(key)}</li> }
    };
    view! {
        <h2>{move || i18n.t("schedule.admin.exports")}</h2>
        <ul class="schedule-exports">
            {link("/schedule.json", "schedule.admin.json")}
            {link("/schedule.xml", "schedule.admin.xml")}
            {link("/schedule.ics", "schedule.admin.ics")}
        </ul>
    }
}

#[component]
fn ImportForm(reload: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let form = Form::new();
    let error = Signal::derive(move || form.error.get());
    view! {
        <h2>{move || i18n.t("schedule.admin.import")}</h2>
        <p class="hint">{move || i18n.t("schedule.admin.import_hint")}</p>
        <form class="stack-form schedule-import" on:submit=move |ev| ev.prevent_default()>
            <Labelled label="schedule.admin.url">
                <input type="url" name="url" maxlength="500" placeholder="https://pretalx.com/democon/schedule/export/schedule.json"
                    prop:value=move || form.url.get() on:input=move |ev| form.url.set(event_target_value(&ev))/>
            </Labelled>
            <FieldError error field="url"/>
            <Labelled label="schedule.admin.file">
                <input type="file" name="file" accept=".json,.xml,application/json,application/xml,text/xml"
                    on:change=move |ev| form.read(ev)/>
            </Labelled>
            <FieldError error field="file"/>
            <label class="check">
                <input type="checkbox" name="remove_gone" prop:checked=move || form.remove_gone.get()
                    on:change=move |ev| form.remove_gone.set(event_target_checked(&ev))/>
                {move || i18n.t("schedule.admin.remove_gone")}
            </label>
            <FormError error fields=&["url", "file"]/>
            <p class="actions">
                <button type="button" class="button-secondary schedule-preview" disabled=move || form.busy.get()
                    on:click=move |_| form.send(false, reload)>{move || i18n.t("schedule.admin.preview")}</button>
                " "
                <button type="button" class="button-primary schedule-apply" disabled=move || form.busy.get()
                    on:click=move |_| form.send(true, reload)>{move || i18n.t("schedule.admin.apply")}</button>
            </p>
        </form>
        {move || form.report.get().map(|report| view! { <Report report/> })}
    }
}

/// The translation key of a talk's field, as the programme's editor names it.
fn field_key(field: &str) -> &'static str {
    match field {
        "title" => "admin.talks.title",
        "description" => "admin.talks.description",
        "theme" => "admin.talks.theme",
        "start_at" => "admin.talks.start",
        "end_at" => "admin.talks.end",
        "speaker_name" => "admin.talks.speaker",
        "location" => "admin.talks.room",
        _ => "schedule.report.language",
    }
}

/// What an import did or would do: the counts, the talks that change, those gone.
#[component]
fn Report(report: ImportReport) -> impl IntoView {
    let i18n = use_i18n();
    let kinds = [
        ("schedule.report.created", Outcome::Created),
        ("schedule.report.updated", Outcome::Updated(vec![])),
        ("schedule.report.unchanged", Outcome::Unchanged),
        ("schedule.report.gone", Outcome::Gone(uuid::Uuid::nil())),
        ("schedule.report.removed", Outcome::Removed),
    ];
    let counts = kinds.map(|(key, kind)| {
        let n = report.count(&kind).to_string();
        view! { <li>{move || i18n.t_with(key, &[("n", &n)])}</li> }
    });
    let intro = if report.applied {
        "schedule.report.applied"
    } else {
        "schedule.report.preview"
    };
    let line = |(title, outcome): (String, Outcome)| match outcome {
        Outcome::Updated(fields) => {
            let names: Vec<String> = fields.iter().map(|f| i18n.t(field_key(f))).collect();
            Some(view! { <li class="updated">{title}" ("{names.join(", ")}")"</li> }.into_any())
        }
        Outcome::Gone(id) => Some(
            view! { <li class="gone"><a href=format!("/talks/{id}")>{title}</a></li> }.into_any(),
        ),
        _ => None,
    };
    let gone = report.count(&Outcome::Gone(uuid::Uuid::nil())) > 0;
    view! {
        <section class="schedule-report" data-applied=report.applied.to_string() role="status">
            <p class="notice notice-success">{move || i18n.t(intro)}</p>
            <ul class="schedule-counts">{counts.into_iter().collect_view()}</ul>
            <ul class="schedule-talks">{report.talks.into_iter().filter_map(line).collect_view()}</ul>
            {gone.then(|| view! { <p class="hint">{move || i18n.t("schedule.report.gone_hint")}</p> })}
        </section>
    }
}

/// The last imports, and the periodic import.
#[component]
fn History(runs: Vec<ImportRun>, url: Option<String>, minutes: i64) -> impl IntoView {
    let i18n = use_i18n();
    let periodic = url.map(|url| {
        let minutes = minutes.to_string();
        view! { <p class="hint">{move || i18n.t_with("schedule.admin.periodic", &[("url", &url), ("minutes", &minutes)])}</p> }
    });
    let rows = runs.into_iter().map(move |r| {
        let by = r.by.unwrap_or_else(|| i18n.t("schedule.admin.by_job"));
        let [created, updated, unchanged, removed, gone] = r.counts;
        let outcome = r
            .error
            .unwrap_or_else(|| format!("+{created} ~{updated} ={unchanged} −{removed} ?{gone}"));
        view! { <tr><td>{r.at}</td><td>{r.source}</td><td>{by}</td><td>{outcome}</td></tr> }
    });
    view! {
        <h2>{move || i18n.t("schedule.admin.history")}</h2>
        {periodic}
        <Table class="data-table schedule-runs" keys=vec!["schedule.admin.at", "schedule.admin.source", "schedule.admin.by", "schedule.admin.outcome"]>
            {rows.collect_view()}
        </Table>
    }
}
