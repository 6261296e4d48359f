//! `/admin/vouchers`: vouchers made one at a time (a code typed) or by batches of generated codes
//! under a tag, the tag filter and its CSV, and the table edited in place like the passes editor:
//! one field per save with the row's version, the row replaced by the server's answer, a refusal
//! shown in its cell.
use super::{
    admin_create_vouchers, admin_delete_voucher, admin_update_voucher, admin_voucher_passes,
    admin_vouchers, VoucherEffect, VoucherRow, MAX_BATCH,
};
use crate::admin::ui::{after_saves, cell_saver, EditedRow};
use crate::ui::prelude::*;
use crate::{
    admin::ui::AdminPage, admin::ui::CellState, admin::ui::CheckCell, admin::ui::EditableCell,
    admin::ui::SelectCell,
};
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

/// The table's rows, each its own signal so that a save redraws one row.
type Rows = RwSignal<Vec<RwSignal<VoucherRow>>>;
/// The passes a voucher can name: (id, name, hidden).
type Passes = Vec<(Uuid, String, bool)>;

/// A value for a URL's query string (`?tag=…`), percent-encoded.
fn query_value(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The CSV of one tag's vouchers (of all of them when the tag is empty).
fn csv_href(tag: &str) -> String {
    if tag.is_empty() {
        "/admin/export/vouchers.csv".to_string()
    } else {
        format!("/admin/export/vouchers.csv?tag={}", query_value(tag))
    }
}

#[component]
pub fn AdminVouchersPage() -> impl IntoView {
    let query = use_query_map();
    let tag = move || {
        query
            .read()
            .get("tag")
            .map(|t| t.trim().to_string())
            .unwrap_or_default()
    };
    let data = Resource::new(tag, |tag| async move {
        let passes = admin_voucher_passes().await?;
        let list = admin_vouchers(Some(tag.clone())).await?;
        Ok::<_, AppError>((tag, list, passes))
    });
    view! {
        <AdminPage title="vouchers.admin.title" class="admin-vouchers">
            <TagFilter tag=Signal::derive(tag)/>
            {loaded(data, move |(tag, list, passes)| view! { <VouchersEditor tag list passes/> }.into_any())}
        </AdminPage>
    }
}

/// Narrows the list to one tag (in the URL, so a batch's page can be shared) and links its CSV.
#[component]
fn TagFilter(tag: Signal<String>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <form method="get" action="/admin/vouchers" class="search-form voucher-filter">
            <input type="search" name="tag" value=move || tag.get()
                placeholder=move || i18n.t("vouchers.admin.tag") aria-label=move || i18n.t("vouchers.admin.filter_tag")/>
            <button type="submit" class="button-secondary">{move || i18n.t("vouchers.admin.filter")}</button>
            {move || (!tag.get().is_empty()).then(|| view! {
                " "<a href="/admin/vouchers" class="clear-filter">{move || i18n.t("vouchers.admin.all_tags")}</a>
            })}
        </form>
        <p class="export-links">
            <a class="button-secondary export-vouchers" href=move || csv_href(&tag.get()) rel="external" download>
                {move || {
                    let t = tag.get();
                    if t.is_empty() { i18n.t("vouchers.admin.csv_all") } else { i18n.t_with("vouchers.admin.csv_tag", &[("tag", &t)]) }
                }}
            </a>
        </p>
    }
}

/// The create form and the table, sharing the rows: created vouchers appear on top.
#[component]
fn VouchersEditor(tag: String, list: Vec<VoucherRow>, passes: Passes) -> impl IntoView {
    let rows: Rows = RwSignal::new(list.into_iter().map(RwSignal::new).collect());
    view! {
        <CreateForm rows tag passes=passes.clone()/>
        <VouchersTable rows passes/>
    }
}

#[component]
fn CreateForm(rows: Rows, tag: String, passes: Passes) -> impl IntoView {
    let i18n = use_i18n();
    let count = RwSignal::new("1".to_string());
    let code = RwSignal::new(String::new());
    let effect = RwSignal::new("PERCENT".to_string());
    let value = RwSignal::new("0".to_string());
    let pass = RwSignal::new(String::new());
    let max_uses = RwSignal::new("1".to_string());
    let tag = RwSignal::new(tag);
    let error = RwSignal::new(None::<AppError>);
    let created = RwSignal::new(None::<(usize, String)>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let batch_tag = tag.get_untracked();
            let answer = admin_create_vouchers(
                count.get_untracked(),
                code.get_untracked(),
                batch_tag.clone(),
                Some(effect.get_untracked()),
                Some(value.get_untracked()),
                Some(pass.get_untracked()),
                Some(max_uses.get_untracked()),
            )
            .await;
            busy.set(false);
            match answer {
                Ok(new) => {
                    error.set(None);
                    code.set(String::new());
                    created.set(Some((new.len(), batch_tag.trim().to_string())));
                    rows.update(|r| {
                        let mut all: Vec<_> = new.into_iter().map(RwSignal::new).collect();
                        all.append(r);
                        *r = all;
                    });
                }
                Err(e) => {
                    created.set(None);
                    error.set(Some(e));
                }
            }
        });
    };
    let error_signal = Signal::from(error);
    let input = |signal: RwSignal<String>| move |ev| signal.set(event_target_value(&ev));
    view! {
        // Posted to the server function itself when scripts are off (it redirects back here).
        <form class="voucher-create" method="post" action="/api/admin_create_vouchers" on:submit=submit>
            <h2>{move || i18n.t("vouchers.admin.create")}</h2>
            <div class="row">
                <Field label="vouchers.admin.count" field="count" error=error_signal>
                    <input type="number" name="count" min="1" max=MAX_BATCH value="1" prop:value=move || count.get() on:input=input(count)/>
                </Field>
                <Field label="vouchers.admin.code_optional" field="code" error=error_signal>
                    <input type="text" name="code" maxlength="40" autocomplete="off" prop:value=move || code.get() on:input=input(code)/>
                </Field>
                <Field label="vouchers.admin.tag" field="tag" error=error_signal>
                    <input type="text" name="tag" maxlength="60" value=tag.get_untracked() prop:value=move || tag.get() on:input=input(tag)/>
                </Field>
            </div>
            <div class="row">
                <Field label="vouchers.admin.effect" field="effect" error=error_signal>
                    <select name="effect" on:change=input(effect)>
                        {VoucherEffect::ALL.iter().map(|e| {
                            let key = format!("vouchers.admin.effect.{}", e.as_str().to_lowercase());
                            view! { <option value=e.as_str() selected=*e == VoucherEffect::Percent>{move || i18n.t(&key)}</option> }
                        }).collect_view()}
                    </select>
                </Field>
                <Field label="vouchers.admin.value" field="value" error=error_signal>
                    <input type="text" name="value" inputmode="decimal" value="0" prop:value=move || value.get() on:input=input(value)/>
                </Field>
                <Field label="vouchers.admin.pass" field="ticket_type_id" error=error_signal>
                    <select name="ticket_type_id" on:change=input(pass)>
                        <option value="">{move || i18n.t("vouchers.admin.all_passes")}</option>
                        {passes.into_iter().map(|(id, name, hidden)| {
                            let label = name.clone();
                            view! { <option value=id.to_string()>{move || if hidden { i18n.t_with("vouchers.admin.hidden_pass", &[("name", &label)]) } else { label.clone() }}</option> }
                        }).collect_view()}
                    </select>
                </Field>
                <Field label="vouchers.admin.max_uses" field="max_uses" error=error_signal>
                    <input type="number" name="max_uses" min="1" value="1" prop:value=move || max_uses.get() on:input=input(max_uses)/>
                </Field>
            </div>
            <p class="hint">{move || i18n.t_with("vouchers.admin.create_hint", &[("max", &MAX_BATCH.to_string())])}</p>
            <FormError error=error_signal fields=&["count", "code", "tag", "effect", "value", "ticket_type_id", "max_uses"]/>
            <button type="submit" class="button-primary" disabled=move || busy.get()>{move || i18n.t("vouchers.admin.create_button")}</button>
        </form>
        {move || created.get().map(|(n, tag)| {
            let n = n.to_string();
            view! {
                <p class="notice notice-success voucher-created" role="status">
                    {move || i18n.t_with("vouchers.admin.created", &[("n", &n)])}
                    {(!tag.is_empty()).then(|| {
                        let label = tag.clone();
                        view! { " "<a href=csv_href(&tag) rel="external" download>{move || i18n.t_with("vouchers.admin.csv_tag", &[("tag", &label)])}</a> }
                    })}
                </p>
            }
        })}
    }
}

const HEADERS: [&str; 15] = [
    "vouchers.admin.code",
    "vouchers.admin.tag",
    "vouchers.admin.pass",
    "vouchers.admin.effect",
    "vouchers.admin.value",
    "vouchers.admin.max_uses",
    "vouchers.admin.uses",
    "vouchers.admin.held",
    "vouchers.admin.valid_from",
    "vouchers.admin.valid_until",
    "vouchers.admin.unlocks_hidden",
    "vouchers.admin.holds_seats",
    "vouchers.admin.orders",
    "vouchers.admin.personal",
    "admin.actions",
];

#[component]
fn VouchersTable(rows: Rows, passes: Passes) -> impl IntoView {
    let i18n = use_i18n();
    let notice = RwSignal::new(None::<AppError>);
    // The pass select's choices: every pass, the hidden ones marked.
    let pass_options = Signal::derive(move || {
        let mut options = vec![(String::new(), i18n.t("vouchers.admin.all_passes"))];
        options.extend(passes.iter().map(|(id, name, hidden)| {
            let text = if *hidden {
                i18n.t_with("vouchers.admin.hidden_pass", &[("name", name)])
            } else {
                name.clone()
            };
            (id.to_string(), text)
        }));
        options
    });
    view! {
        <p class="hint">{move || i18n.t("admin.passes.hint")}</p>
        <p class="hint voucher-count">{move || i18n.t_with("vouchers.admin.count_listed", &[("n", &rows.with(Vec::len).to_string())])}</p>
        <ScrollTable error=notice class="data-table vouchers-table" keys=HEADERS>
            <For each=move || rows.get() key=|r| r.get_untracked().id let:row>
                <VoucherLine row rows notice pass_options/>
            </For>
        </ScrollTable>
        {move || rows.with(Vec::is_empty).then(|| view! { <p class="empty">{move || i18n.t("vouchers.admin.empty")}</p> })}
    }
}

#[component]
fn VoucherLine(
    row: RwSignal<VoucherRow>,
    rows: Rows,
    notice: RwSignal<Option<AppError>>,
    pass_options: Signal<Vec<(String, String)>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let cell = move |field: &'static str| view! { <VoucherCell row field pass_options/> };
    view! {
        <tr data-voucher=move || row.get().code class:voucher-personal=move || row.get().personal>
            {cell("code")}
            {cell("tag")}
            {cell("ticket_type_id")}
            {cell("effect")}
            {cell("value")}
            {cell("max_uses")}
            <td class="readonly" data-field="uses">{move || row.get().uses}</td>
            <td class="readonly" data-field="held">{move || row.get().held}</td>
            {cell("valid_from")}
            {cell("valid_until")}
            {cell("unlocks_hidden")}
            {cell("holds_seats")}
            <td class="readonly" data-field="orders">{move || row.get().orders}</td>
            <td class="readonly" data-field="personal">
                {move || row.get().personal.then(|| view! { <span class="badge">{move || i18n.t("vouchers.admin.waitlist_offer")}</span> })}
            </td>
            <td><DeleteButton row rows notice/></td>
        </tr>
    }
}

impl EditedRow for VoucherRow {
    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
}

/// The new value shown at once, before the server's answer.
fn apply(r: &mut VoucherRow, field: &str, value: &str) {
    let v = value.trim();
    match field {
        "code" => r.code = v.to_uppercase(),
        "tag" => r.tag = v.to_string(),
        "ticket_type_id" => r.ticket_type_id = Uuid::parse_str(v).ok(),
        "effect" => r.effect = v.parse().unwrap_or(r.effect),
        "value" => r.value = v.to_string(),
        "max_uses" => r.max_uses = v.parse().unwrap_or(r.max_uses),
        "valid_from" => r.valid_from = v.to_string(),
        "valid_until" => r.valid_until = v.to_string(),
        "unlocks_hidden" => r.unlocks_hidden = v == "true",
        "holds_seats" => r.holds_seats = v == "true",
        _ => {}
    }
}

/// What the editor's input starts with.
fn raw_value(r: &VoucherRow, field: &str) -> String {
    match field {
        "code" => r.code.clone(),
        "tag" => r.tag.clone(),
        "ticket_type_id" => r
            .ticket_type_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        "effect" => r.effect.as_str().to_string(),
        "value" => r.value.clone(),
        "max_uses" => r.max_uses.to_string(),
        "valid_from" => r.valid_from.clone(),
        "valid_until" => r.valid_until.clone(),
        "unlocks_hidden" => r.unlocks_hidden.to_string(),
        "holds_seats" => r.holds_seats.to_string(),
        _ => String::new(),
    }
}

/// What a text cell shows when it is not being edited.
fn cell_text(r: &VoucherRow, field: &str, locale: crate::i18n::Locale) -> String {
    match field {
        "value" if r.effect == VoucherEffect::Percent => {
            crate::i18n::tr_with(locale, "vouchers.admin.percent", &[("n", &r.value)])
        }
        "valid_from" | "valid_until" => raw_value(r, field).replace('T', " "),
        _ => raw_value(r, field),
    }
}

/// One editable cell of a voucher: saved on change with the row's version; the row becomes the
/// server's answer, or goes back as it was with the reason in the cell.
#[component]
fn VoucherCell(
    row: RwSignal<VoucherRow>,
    field: &'static str,
    pass_options: Signal<Vec<(String, String)>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = CellState::new();
    let save = Callback::new(cell_saver(row, state, field, apply, admin_update_voucher));
    // A waiting-list offer keeps its pass and its held seat.
    let personal = Signal::derive(move || row.get().personal);
    let raw = Signal::derive(move || raw_value(&row.get(), field));
    match field {
        "ticket_type_id" => view! {
            <SelectCell field label="vouchers.admin.pass" value=raw options=pass_options state on_save=save disabled=personal/>
        }
        .into_any(),
        "effect" => {
            let options = Signal::derive(move || {
                VoucherEffect::ALL
                    .iter()
                    .map(|e| {
                        let key = format!("vouchers.admin.effect.{}", e.as_str().to_lowercase());
                        (e.as_str().to_string(), i18n.t(&key))
                    })
                    .collect::<Vec<_>>()
            });
            view! { <SelectCell field label="vouchers.admin.effect" value=raw options state on_save=save/> }.into_any()
        }
        "unlocks_hidden" | "holds_seats" => {
            let checked = Signal::derive(move || raw.get() == "true");
            let label = if field == "unlocks_hidden" {
                "vouchers.admin.unlocks_hidden"
            } else {
                "vouchers.admin.holds_seats"
            };
            let disabled = Signal::derive(move || field == "holds_seats" && personal.get());
            view! { <CheckCell field label checked state on_save=save disabled/> }.into_any()
        }
        _ => {
            let kind = match field {
                "max_uses" => "number",
                "valid_from" | "valid_until" => "datetime-local",
                _ => "text",
            };
            view! {
                <EditableCell field kind state
                    text=Signal::derive(move || cell_text(&row.get(), field, i18n.locale.get()))
                    raw on_save=save/>
            }
            .into_any()
        }
    }
}

/// Deletes a voucher no order used; one that was used (or a waiting-list offer) is ended instead,
/// and its row shows its new end date.
#[component]
fn DeleteButton(
    row: RwSignal<VoucherRow>,
    rows: Rows,
    notice: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let ends = move || {
        let r = row.get();
        r.orders > 0 || r.personal
    };
    let busy = RwSignal::new(false);
    let act = move |_| {
        let v = row.get_untracked();
        let key = if v.orders > 0 || v.personal {
            "vouchers.admin.end_confirm"
        } else {
            "vouchers.admin.delete_confirm"
        };
        if !crate::ui::confirm(&i18n.t_with(key, &[("code", &v.code)])) {
            return;
        }
        busy.set(true);
        after_saves(row, move |v| {
            leptos::task::spawn_local(async move {
                let done = admin_delete_voucher(v.id, v.version).await;
                let done = match done {
                    // Deleted, or ended: the row as it now is, if it still exists.
                    Ok(()) => admin_vouchers(Some(v.tag.clone()))
                        .await
                        .map(|list| list.into_iter().find(|r| r.id == v.id)),
                    Err(e) => Err(e),
                };
                busy.set(false);
                match done {
                    Ok(Some(now)) => {
                        notice.set(None);
                        row.set(now);
                    }
                    Ok(None) => {
                        notice.set(None);
                        rows.update(|r| r.retain(|s| s.get_untracked().id != v.id));
                    }
                    Err(e) => notice.set(Some(e)),
                }
            })
        });
    };
    view! {
        <button type="button" class="button-small button-danger delete-voucher" disabled=move || busy.get() on:click=act>
            {move || if ends() { i18n.t("vouchers.admin.end") } else { i18n.t("vouchers.admin.delete") }}
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_encoded_in_the_csv_link() {
        assert_eq!(csv_href(""), "/admin/export/vouchers.csv");
        assert_eq!(
            csv_href("sponsor acme&co"),
            "/admin/export/vouchers.csv?tag=sponsor%20acme%26co"
        );
        assert_eq!(
            csv_href("été"),
            "/admin/export/vouchers.csv?tag=%C3%A9t%C3%A9"
        );
    }
}
