//! `/admin/tickets`: the passes, edited in place like a spreadsheet.
use super::ui::{CellState, CheckCell, EditableCell, SpreadsheetPage};
use crate::admin::ui::{cell_saver, EditedRow};
use crate::ui::prelude::*;

/// `/admin/tickets`: the passes, edited in place like a spreadsheet.
#[component]
pub fn AdminPassesPage() -> impl IntoView {
    view! {
        <SpreadsheetPage title="admin.passes" class="admin-page" load=super::passes::admin_passes
            table=|list| view! { <PassesTable list/> }/>
    }
}

#[component]
fn PassesTable(list: Vec<super::passes::PassRow>) -> impl IntoView {
    let i18n = use_i18n();
    let rows = RwSignal::new(list.into_iter().map(RwSignal::new).collect::<Vec<_>>());
    let add_error = RwSignal::new(None::<AppError>);
    let add = move |_| {
        leptos::task::spawn_local(async move {
            match super::passes::admin_create_pass().await {
                Ok(row) => rows.update(|r| r.push(RwSignal::new(row))),
                Err(e) => add_error.set(Some(e)),
            }
        });
    };
    let headers = [
        "admin.passes.name",
        "admin.passes.description",
        "admin.passes.price",
        "admin.passes.currency",
        "admin.passes.vat_rate",
        "admin.passes.capacity",
        "admin.passes.active",
        "admin.passes.hidden",
        "admin.passes.names_required",
        "admin.passes.sales_start",
        "admin.passes.sales_end",
        "admin.passes.valid_from",
        "admin.passes.valid_until",
    ];
    view! {
        <ScrollTable class="data-table passes-table" keys=headers>
            <For each=move || rows.get() key=|r| r.get_untracked().id let:row>
                <tr data-pass=move || row.get().name>
                    {super::passes::FIELDS.map(|field| view! { <PassCell row field/> }).collect_view()}
                </tr>
            </For>
        </ScrollTable>
        <ActionErrorNotice error=add_error/>
        <button type="button" class="button-secondary add-pass" on:click=add>{move || i18n.t("admin.passes.add")}</button>
    }
}

/// What a cell shows when it is not being edited.
fn pass_cell_text(r: &super::passes::PassRow, field: &str, locale: crate::i18n::Locale) -> String {
    match field {
        "name" => r.name.clone(),
        "description" => r.description.clone(),
        "price" => crate::money::format_money(r.price_cents, &r.currency, locale),
        "currency" => r.currency.to_uppercase(),
        "vat_rate" if r.vat_rate.is_empty() => crate::i18n::tr_with(
            locale,
            "admin.passes.vat_default",
            &[("rate", &r.vat_default)],
        ),
        "vat_rate" => format!("{} %", r.vat_rate),
        "capacity" => crate::i18n::tr_with(
            locale,
            "admin.passes.capacity_value",
            &[
                ("capacity", &r.capacity.to_string()),
                ("sold", &r.sold.to_string()),
                ("reserved", &r.reserved.to_string()),
                ("held", &r.held.to_string()),
                ("waiting", &r.waiting.to_string()),
            ],
        ),
        "sales_start_at" => r.sales_start_at.replace('T', " "),
        "sales_end_at" => r.sales_end_at.replace('T', " "),
        "valid_from" => r.valid_from.replace('T', " "),
        "valid_until" => r.valid_until.replace('T', " "),
        _ => String::new(),
    }
}

/// What the editor's input starts with.
fn pass_cell_raw(r: &super::passes::PassRow, field: &str) -> String {
    match field {
        "price" => crate::money::price_text(r.price_cents),
        "capacity" => r.capacity.to_string(),
        "is_active" => r.is_active.to_string(),
        "is_hidden" => r.is_hidden.to_string(),
        "names_required" => r.names_required.to_string(),
        "sales_start_at" => r.sales_start_at.clone(),
        "sales_end_at" => r.sales_end_at.clone(),
        "valid_from" => r.valid_from.clone(),
        "valid_until" => r.valid_until.clone(),
        "currency" => r.currency.clone(),
        "vat_rate" => r.vat_rate.clone(),
        "description" => r.description.clone(),
        _ => r.name.clone(),
    }
}

/// A pass's cell: the new value shows at once, the server has the last word.
#[component]
fn PassCell(row: RwSignal<super::passes::PassRow>, field: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let state = CellState::new();
    let save = cell_saver(row, state, field, apply, super::passes::admin_update_pass);
    if matches!(field, "is_active" | "is_hidden" | "names_required") {
        let (label, checked) = match field {
            "is_active" => (
                "admin.passes.active",
                Signal::derive(move || row.get().is_active),
            ),
            "is_hidden" => (
                "admin.passes.hidden",
                Signal::derive(move || row.get().is_hidden),
            ),
            _ => (
                "admin.passes.names_required",
                Signal::derive(move || row.get().names_required),
            ),
        };
        return view! { <CheckCell field label checked state on_save=Callback::new(save)/> }
            .into_any();
    }
    let kind = match field {
        "capacity" => "number",
        "sales_start_at" | "sales_end_at" | "valid_from" | "valid_until" => "datetime-local",
        _ => "text",
    };
    view! {
        <EditableCell field kind state
            text=Signal::derive(move || pass_cell_text(&row.get(), field, i18n.locale.get()))
            raw=Signal::derive(move || pass_cell_raw(&row.get(), field))
            on_save=Callback::new(save)/>
    }
    .into_any()
}

/// Puts a cell's new value in a pass's row (a number that does not read keeps the old one: the
/// server refuses it with its reason).
fn apply(r: &mut super::passes::PassRow, field: &str, value: &str) {
    match field {
        "name" => r.name = value.to_string(),
        "description" => r.description = value.to_string(),
        "capacity" => r.capacity = value.trim().parse().unwrap_or(r.capacity),
        "price" => r.price_cents = crate::money::parse_price(value).unwrap_or(r.price_cents),
        "is_active" => r.is_active = value == "true",
        "is_hidden" => r.is_hidden = value == "true",
        "names_required" => r.names_required = value == "true",
        _ => {}
    }
}

impl EditedRow for super::passes::PassRow {
    fn id(&self) -> uuid::Uuid {
        self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
}
