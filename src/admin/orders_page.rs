//! `/admin/orders`: the orders, searched and filtered, each opened in a detail panel, refunds.
use super::ui::{AdminPage, DateFilter};
use crate::ui::prelude::*;
use leptos_router::hooks::use_query_map;

/// `/admin/orders`: search, status filter, and the full refund of a paid order.
#[component]
pub fn AdminOrdersPage() -> impl IntoView {
    use crate::{
        money::format_money,
        ticketing::{AdminRefundOrder, OrderStatus},
    };
    let i18n = use_i18n();
    let query = use_query_map();
    let (refund, refund_error) = form_action::<AdminRefundOrder>();
    let orders = Resource::new(
        move || {
            (
                query.read().get("q"),
                query.read().get("status"),
                query.read().get("from"),
                query.read().get("to"),
                refund.version().get(),
            )
        },
        |(q, status, from, to, _)| super::admin_orders(q, status, from, to),
    );
    view! {
        <AdminPage title="admin.orders">
            <form method="get" action="/admin/orders" class="search-form">
                <input type="search" name="q" value=move || query.read().get("q") placeholder=move || i18n.t("admin.search_orders")/>
                <select name="status" aria-label=move || i18n.t("admin.status")>
                    <option value="">{move || i18n.t("admin.all_statuses")}</option>
                    {OrderStatus::ALL.iter().map(|s| view! {
                        <option value=s.as_str() selected=move || query.read().get("status").as_deref() == Some(s.as_str())>
                            {move || i18n.t(&format!("orders.status.{}", s.as_str().to_lowercase()))}
                        </option>
                    }).collect_view()}
                </select>
                <DateFilter/>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </form>
            <ActionErrorNotice error=refund_error/>
            {loaded(orders, move |list| view! {
                <Table class="data-table orders-table" keys=&["admin.order", "form.email", "admin.status", "admin.total", "admin.actions"]>
                    {list.into_iter().map(|o| {
                        let (total, currency) = (o.total_cents, o.currency.clone());
                        let voucher = o.voucher_code.clone().map(|code| {
                            let (discount, currency) = (o.discount_cents, o.currency.clone());
                            let attr = code.clone();
                            view! {
                                <br/><small class="order-voucher" data-voucher=attr>
                                    {move || i18n.t_with("admin.order_voucher", &[("code", &code), ("amount", &format_money(discount, &currency, i18n.locale.get()))])}
                                </small>
                            }
                        });
                        let paid = o.status == OrderStatus::Paid;
                        let open = RwSignal::new(false);
                        let order_id = o.id;
                        view! {
                            <tr data-order=o.id.to_string() data-status=o.status.as_str() data-email=o.buyer_email.clone()>
                                <td><code>{o.id.simple().to_string()[..8].to_uppercase()}</code><br/><small>{o.created_at.format("%Y-%m-%d %H:%M").to_string()}</small></td>
                                <td>{o.buyer_email.clone()}</td>
                                <td>{move || i18n.t(&format!("orders.status.{}", o.status.as_str().to_lowercase()))}" ("{o.tickets}")"</td>
                                <td>{move || format_money(total, &currency, i18n.locale.get())}{voucher}</td>
                                <td>
                                    <button type="button" class="button-small order-open" aria-expanded=move || open.get().to_string()
                                        on:click=move |_| open.update(|v| *v = !*v)>{move || i18n.t("admin.order_details")}</button>
                                    {paid.then(|| view! {
                                        <ActionForm action=refund attr:class="inline-form">
                                            <input type="hidden" name="order_id" value=o.id.to_string()/>
                                            <button type="submit" class="button-small button-danger"
                                                on:click=move |ev| if !crate::ui::confirm(&i18n.t("admin.refund_confirm")) { ev.prevent_default() }>
                                                {move || i18n.t("admin.refund")}
                                            </button>
                                        </ActionForm>
                                    })}
                                </td>
                            </tr>
                            {move || open.get().then(|| view! {
                                <tr class="order-detail-row"><td colspan="5"><OrderDetailPanel order_id/></td></tr>
                            })}
                        }
                    }).collect_view()}
                </Table>
            })}
        </AdminPage>
    }
}

/// An order opened in the back office: items, payments, tickets; resend the tickets mail, reissue
/// a ticket's QR code.
#[component]
fn OrderDetailPanel(order_id: uuid::Uuid) -> impl IntoView {
    use super::orders::{admin_order_detail, admin_reissue_ticket, admin_resend_tickets};
    use crate::{money::format_money, ticketing::TicketStatus};
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let notice = RwSignal::new(None::<Result<&'static str, AppError>>);
    let detail = Resource::new(move || version.get(), move |_| admin_order_detail(order_id));
    let resend = move |_| {
        leptos::task::spawn_local(async move {
            notice.set(Some(
                admin_resend_tickets(order_id)
                    .await
                    .map(|_| "admin.tickets_resent"),
            ));
        });
    };
    view! {
        <div class="order-detail" data-order=order_id.to_string()>
            {move || notice.get().map(|n| match n {
                Ok(key) => view! { <p class="notice notice-success" role="status">{move || i18n.t(key)}</p> }.into_any(),
                Err(e) => view! { <p class="notice notice-error" role="alert">{e.message(i18n.locale.get())}</p> }.into_any(),
            })}
            {loaded(detail, move |d| {
                let currency = d.order.currency.clone();
                let voucher = d.order.voucher_code.clone().map(|code| {
                    let (discount, currency) = (d.order.discount_cents, currency.clone());
                    let attr = code.clone();
                    view! {
                        <p class="order-voucher" data-voucher=attr>
                            {move || i18n.t_with("admin.order_voucher", &[("code", &code), ("amount", &format_money(discount, &currency, i18n.locale.get()))])}
                        </p>
                    }
                });
                view! {
                    <p>{d.buyer_email.clone()}</p>
                    <h3>{move || i18n.t("admin.order_items")}</h3>
                    <ul class="order-items">
                        {d.order.items.into_iter().map(|it| {
                            let currency = currency.clone();
                            view! { <li>{format!("{} × {}", it.quantity, it.name)}" — "{move || format_money(it.line_total_cents, &currency, i18n.locale.get())}</li> }
                        }).collect_view()}
                    </ul>
                    {voucher}
                    <h3>{move || i18n.t("invoice.admin.documents")}</h3>
                    <crate::invoicing::components::OrderDocuments order_id invoices=d.order.invoices.clone() billing=None
                        currency=currency.clone() editable=false reload=version/>
                    <h3>{move || i18n.t("admin.order_payments")}</h3>
                    <ul class="order-payments">
                        {d.payments.into_iter().map(|p| view! {
                            <li data-status=p.status.clone()><code>{p.status.clone()}</code>" "{p.provider}" · "{p.created_at}" "
                                <small>{p.payment_intent.or(p.checkout_session).unwrap_or_default()}</small></li>
                        }).collect_view()}
                    </ul>
                    <h3>{move || i18n.t("admin.order_tickets")}</h3>
                    <ul class="order-tickets">
                        {d.tickets.into_iter().map(|t| {
                            let status = t.status;
                            let ticket_id = t.id;
                            let reissue = move |_| {
                                if !crate::ui::confirm(&i18n.t("admin.reissue_confirm")) {
                                    return;
                                }
                                leptos::task::spawn_local(async move {
                                    let done = admin_reissue_ticket(ticket_id).await;
                                    notice.set(Some(done.map(|_| "admin.ticket_reissued")));
                                    version.update(|v| *v += 1);
                                });
                            };
                            view! {
                                <li data-ticket=ticket_id.to_string()>
                                    {t.holder}" · "{t.pass}" · "
                                    {move || i18n.t(&format!("tickets.status.{}", status.as_str().to_lowercase()))}
                                    {t.checked_in_at.map(|at| view! { " "<small>{at}</small> })}
                                    {(status != TicketStatus::Canceled).then(|| view! {
                                        " "<button type="button" class="button-small reissue" on:click=reissue>{move || i18n.t("admin.reissue")}</button>
                                        <RefundTicket ticket_id notice version/>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <button type="button" class="button-secondary resend-tickets" on:click=resend>{move || i18n.t("admin.resend_tickets")}</button>
                }
                    .into_any()
            })}
        </div>
    }
}

/// Refunds one ticket: its price (or the amount typed) given back, the ticket canceled unless
/// unticked (a goodwill refund keeps it valid). The refusal shows under the amount.
#[component]
fn RefundTicket(
    ticket_id: uuid::Uuid,
    notice: RwSignal<Option<Result<&'static str, AppError>>>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let amount = RwSignal::new(String::new());
    let cancel = RwSignal::new(true);
    let error = RwSignal::new(None::<AppError>);
    let refund = move |_| {
        if !crate::ui::confirm(&i18n.t("admin.refund_ticket_confirm")) {
            return;
        }
        leptos::task::spawn_local(async move {
            let cancel = cancel.get_untracked().then(|| "on".to_string());
            match crate::ticketing::admin_refund_ticket(
                ticket_id,
                Some(amount.get_untracked()),
                cancel,
            )
            .await
            {
                Ok(()) => {
                    error.set(None);
                    notice.set(Some(Ok("admin.ticket_refunded")));
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <details class="refund-ticket">
            <summary>{move || i18n.t("admin.refund_ticket")}</summary>
            <Labelled label="admin.refund_amount">
                <input type="text" inputmode="decimal" name="amount" prop:value=move || amount.get() on:input=move |ev| amount.set(event_target_value(&ev))/>
            </Labelled>
            <small class="hint">{move || i18n.t("admin.refund_amount_hint")}</small>
            <label class="check"><input type="checkbox" name="cancel" prop:checked=move || cancel.get() on:change=move |ev| cancel.set(event_target_checked(&ev))/>" "{move || i18n.t("admin.refund_cancel")}</label>
            <button type="button" class="button-small button-danger refund-ticket-submit" on:click=refund>{move || i18n.t("admin.refund_ticket")}</button>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert" data-field="amount">{e.message(i18n.locale.get())}</p> })}
        </details>
    }
}
