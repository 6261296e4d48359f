//! The buyer's side: the "invoice for a company" fields (at checkout and on an order), and an
//! order's documents as download links.
use super::{BillingInput, InvoiceLink, SetOrderBilling};
use crate::money::format_money;
use crate::ui::prelude::*;

/// The form fields a billing error can name.
pub const BILLING_FIELDS: &[&str] = &[
    "billing[company]",
    "billing[address]",
    "billing[country]",
    "billing[vat_number]",
    "billing[reference]",
];

/// The company, address, country, VAT number and reference inputs (`billing[…]`), each with
/// its error under it.
#[component]
pub fn BillingFields(prefill: BillingInput, error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        <div class="billing-fields">
            <Labelled label="invoice.form.company">
                <input type="text" name="billing[company]" maxlength="200" autocomplete="organization" value=prefill.company/>
            </Labelled>
            <FieldError error field="billing[company]"/>
            <Labelled label="invoice.form.address">
                // The value as a property: a textarea's text child is not escaped when the server
                // renders it (found by an attack: `</textarea><script>` in an address).
                <textarea name="billing[address]" rows="3" maxlength="700" autocomplete="street-address" prop:value=prefill.address></textarea>
            </Labelled>
            <FieldError error field="billing[address]"/>
            <Labelled label="invoice.form.country">
                <input type="text" name="billing[country]" maxlength="2" size="3" autocomplete="country" placeholder="FR" value=prefill.country/>
            </Labelled>
            <FieldError error field="billing[country]"/>
            <Labelled label="invoice.form.vat_number">
                <input type="text" name="billing[vat_number]" maxlength="20" placeholder="FR40123456824" value=prefill.vat_number/>
            </Labelled>
            <FieldError error field="billing[vat_number]"/>
            <Labelled label="invoice.form.reference">
                <input type="text" name="billing[reference]" maxlength="100" value=prefill.reference/>
            </Labelled>
            <FieldError error field="billing[reference]"/>
        </div>
    }
}

/// At checkout: "I need an invoice for a company", folded until opened.
#[component]
pub fn CheckoutBilling(error: Signal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    let open = move || {
        error
            .get()
            .and_then(|e| e.field().map(|f| BILLING_FIELDS.contains(&f)))
            .unwrap_or(false)
    };
    view! {
        <details class="checkout-billing" open=open>
            <summary>{move || i18n.t("invoice.form.need_invoice")}</summary>
            <p class="hint">{move || i18n.t("invoice.form.hint")}</p>
            <BillingFields prefill=BillingInput::default() error/>
        </details>
    }
}

/// An order's invoices and credit notes, and (while it can change) its company address.
#[component]
pub fn OrderDocuments(
    order_id: uuid::Uuid,
    invoices: Vec<InvoiceLink>,
    billing: Option<BillingInput>,
    currency: String,
    editable: bool,
    /// Bumped once a change is saved, so the page reads the order (and its new documents) again.
    reload: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let (save, error) = form_action::<SetOrderBilling>();
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    Effect::new(move |_| {
        if saved() {
            reload.update(|n| *n += 1);
        }
    });
    let has_invoice = invoices.iter().any(|d| !d.credit_note);
    view! {
        <div class="order-documents">
            {(!invoices.is_empty()).then(|| view! {
                <ul class="invoice-links">
                    {invoices.into_iter().map(|d| {
                        let key = if d.credit_note { "invoice.credit_note_link" } else { "invoice.invoice_link" };
                        let (number, c, gross) = (d.number.clone(), currency.clone(), d.gross_cents);
                        view! {
                            <li>
                                <a href=format!("/invoices/{}.pdf", d.id) rel="external" download data-number=d.number.clone()
                                    class=if d.credit_note { "invoice-link credit-note" } else { "invoice-link" }>
                                    {move || i18n.t_with(key, &[("number", &number)])}
                                </a>
                                " "<small>{move || format_money(gross, &c, i18n.locale.get())}</small>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })}
            {editable.then(|| {
                let summary = if billing.is_some() { "invoice.form.change" } else { "invoice.form.need_invoice" };
                view! {
                    <details class="order-billing">
                        <summary>{move || i18n.t(summary)}</summary>
                        {has_invoice.then(|| view! { <p class="hint">{move || i18n.t("invoice.form.reissue_hint")}</p> })}
                        <ActionForm action=save attr:class="billing-form">
                            <input type="hidden" name="order_id" value=order_id.to_string()/>
                            <FormError error fields=BILLING_FIELDS/>
                            <BillingFields prefill=billing.clone().unwrap_or_default() error/>
                            <button type="submit" class="button-secondary" disabled=move || save.pending().get()>{move || i18n.t("invoice.form.save")}</button>
                        </ActionForm>
                        {move || saved().then(|| view! { <p class="notice notice-success" role="status">{move || i18n.t("invoice.form.saved")}</p> })}
                    </details>
                }
            })}
        </div>
    }
}
