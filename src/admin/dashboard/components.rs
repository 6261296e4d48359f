use super::*;
use crate::admin::ui::AdminPage;
use crate::money::format_money;
use crate::ui::prelude::*;

const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 16.0;

/// A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least `max`.
fn nice_max(max: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max.max(1) {
                return m * step;
            }
        }
        step *= 10;
    }
}

/// Vertical columns with a y axis: one column per point, every label shown when there is room.
#[component]
fn ColumnChart(
    points: Vec<(String, i64)>,
    #[prop(into)] title: String,
    format: fn(i64) -> String,
) -> impl IntoView {
    let top = nice_max(points.iter().map(|p| p.1).max().unwrap_or(0));
    let n = points.len().max(1) as f64;
    let slot = (W - LEFT - 8.0) / n;
    let plot_h = H - BOTTOM - TOP;
    let every = ((points.len() as f64 / 12.0).ceil() as usize).max(1);
    let grid = [0, top / 2, top]
        .into_iter()
        .map(|v| {
            let y = TOP + plot_h - plot_h * v as f64 / top as f64;
            view! {
                <line class="chart-grid" x1=LEFT x2=W - 8.0 y1=y y2=y/>
                <text class="chart-axis" x=LEFT - 6.0 y=y + 4.0 text-anchor="end">{format(v)}</text>
            }
        })
        .collect_view();
    let bars = points
        .into_iter()
        .enumerate()
        .map(|(i, (label, v))| {
            let h = plot_h * v as f64 / top as f64;
            let w = (slot * 0.7).min(56.0);
            let x = LEFT + slot * i as f64 + (slot - w) / 2.0;
            let y = TOP + plot_h - h;
            let show_label = i % every == 0;
            let tip = format!("{label} : {}", format(v));
            view! {
                <g class="chart-bar" data-value=v>
                    <title>{tip}</title>
                    <rect x=x y=y width=w height=h.max(0.0) rx="2"/>
                    {(v > 0 && n <= 16.0).then(|| view! { <text class="chart-value" x=x + w / 2.0 y=y - 3.0 text-anchor="middle">{format(v)}</text> })}
                    {show_label.then(|| view! { <text class="chart-axis" x=x + w / 2.0 y=H - 10.0 text-anchor="middle">{label.clone()}</text> })}
                </g>
            }
        })
        .collect_view();
    let label = title.clone();
    view! {
        <svg class="chart" viewBox=format!("0 0 {W} {H}") role="img" aria-label=label>
            <title>{title}</title>
            {grid}
            {bars}
        </svg>
    }
}

fn whole(v: i64) -> String {
    v.to_string()
}

fn euros(v: i64) -> String {
    format!("{} €", v / 100)
}

#[component]
fn SalesCharts(sales: Vec<DaySales>) -> impl IntoView {
    let i18n = use_i18n();
    if sales.is_empty() {
        return view! { <p class="empty">{move || i18n.t("dashboard.no_sales")}</p> }.into_any();
    }
    let label = |d: NaiveDate| d.format("%d/%m").to_string();
    let tickets: Vec<(String, i64)> = sales.iter().map(|s| (label(s.day), s.tickets)).collect();
    let revenue: Vec<(String, i64)> = sales
        .iter()
        .map(|s| (label(s.day), s.revenue_cents))
        .collect();
    view! {
        <div class="chart-pair">
            <figure class="chart-box" data-chart="tickets-per-day">
                <figcaption>{move || i18n.t("dashboard.tickets_per_day")}</figcaption>
                <ColumnChart points=tickets title=i18n.t("dashboard.tickets_per_day") format=whole/>
            </figure>
            <figure class="chart-box" data-chart="revenue-per-day">
                <figcaption>{move || i18n.t("dashboard.revenue_per_day")}</figcaption>
                <ColumnChart points=revenue title=i18n.t("dashboard.revenue_per_day") format=euros/>
            </figure>
        </div>
    }
    .into_any()
}

/// A chart of one horizontal bar per row: its height, where the bars start and how long they may
/// grow (`label_w` left for the labels, `right_w` for the figures).
struct Frame {
    h: f64,
    x0: f64,
    bar_w: f64,
}

/// The frame of `items`' chart, and each item with the top of its row.
fn frame<T>(
    items: Vec<T>,
    row_h: f64,
    label_w: f64,
    right_w: f64,
) -> (Frame, impl Iterator<Item = (f64, T)>) {
    let h = row_h * items.len() as f64 + 8.0;
    let frame = Frame {
        h,
        x0: label_w,
        bar_w: W - label_w - right_w,
    };
    let rows = items.into_iter().enumerate();
    (frame, rows.map(move |(i, t)| (4.0 + row_h * i as f64, t)))
}

/// One horizontal bar per pass: sold, then reserved, against the capacity.
#[component]
fn FillChart(passes: Vec<PassFill>) -> impl IntoView {
    let i18n = use_i18n();
    let (Frame { h, x0, bar_w }, rows) = frame(passes, 34.0, 150.0, 110.0);
    let rows = rows
        .map(|(y, p)| {
            let cap = p.capacity.max(1) as f64;
            let sold_w = bar_w * (p.sold as f64 / cap).min(1.0);
            let reserved_w = (bar_w * (p.reserved as f64 / cap)).min(bar_w - sold_w);
            let pct = if p.capacity > 0 { p.sold * 100 / p.capacity } else { 0 };
            let tip = i18n.t_with(
                "dashboard.fill_tip",
                &[
                    ("sold", &p.sold.to_string()),
                    ("reserved", &p.reserved.to_string()),
                    ("capacity", &p.capacity.to_string()),
                ],
            );
            view! {
                <g class="fill-row" data-pass=p.name.clone() data-sold=p.sold data-capacity=p.capacity>
                    <title>{tip}</title>
                    <text class="chart-label" x="0" y=y + 20.0>{p.name.clone()}</text>
                    <rect class="fill-capacity" x=x0 y=y + 6.0 width=bar_w height="20" rx="3"/>
                    <rect class="fill-sold" x=x0 y=y + 6.0 width=sold_w height="20" rx="3"/>
                    <rect class="fill-reserved" x=x0 + sold_w y=y + 6.0 width=reserved_w height="20"/>
                    <text class="chart-value" x=x0 + bar_w + 8.0 y=y + 21.0>{format!("{}/{} · {pct} %", p.sold, p.capacity)}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" viewBox=format!("0 0 {W} {h}") role="img" aria-label=move || i18n.t("dashboard.fill_rate")>
            {rows}
        </svg>
    }
}

/// Most saved talks: bars with the talk's room, so a crowded small room stands out.
#[component]
fn SavedChart(saved: Vec<TalkSaves>) -> impl IntoView {
    let i18n = use_i18n();
    if saved.is_empty() {
        return view! { <p class="empty">{move || i18n.t("dashboard.no_saves")}</p> }.into_any();
    }
    let max = saved.iter().map(|s| s.saves).max().unwrap_or(1).max(1) as f64;
    let (Frame { h, x0, bar_w }, rows) = frame(saved, 30.0, 330.0, 40.0);
    let rows = rows
        .map(|(y, s)| {
            let w = bar_w * s.saves as f64 / max;
            let mut title: String = s.title.chars().take(34).collect();
            if s.title.chars().count() > 34 {
                title.push('…');
            }
            let room = if s.room.is_empty() {
                i18n.t("personal.no_room")
            } else {
                s.room.clone()
            };
            view! {
                <g class="saved-row" data-saves=s.saves>
                    <title>{format!("{} — {room}", s.title)}</title>
                    <text class="chart-label" x="0" y=y + 13.0>{title}</text>
                    <text class="chart-room" x="0" y=y + 26.0>{room}</text>
                    <rect class="saved-bar" x=x0 y=y + 6.0 width=w height="18" rx="3"/>
                    <text class="chart-value" x=x0 + w + 6.0 y=y + 20.0>{s.saves}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" viewBox=format!("0 0 {W} {h}") role="img" aria-label=move || i18n.t("dashboard.most_saved")>
            {rows}
        </svg>
    }
    .into_any()
}

#[component]
fn CheckinCharts(days: Vec<CheckinDay>) -> impl IntoView {
    let i18n = use_i18n();
    if days.is_empty() {
        return view! { <p class="empty">{move || i18n.t("dashboard.no_checkins")}</p> }.into_any();
    }
    days.into_iter()
        .map(|d| {
            let points: Vec<(String, i64)> = d
                .quarters
                .iter()
                .map(|(t, n)| (t.format("%H:%M").to_string(), *n))
                .collect();
            let caption = i18n.date_long(d.day);
            view! {
                <figure class="chart-box" data-chart="checkins">
                    <figcaption>{caption.clone()}</figcaption>
                    <ColumnChart points title=caption format=whole/>
                </figure>
            }
        })
        .collect_view()
        .into_any()
}

#[component]
pub fn AdminDashboardPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = Resource::new(|| (), |_| admin_dashboard());
    view! {
        <AdminPage title="dashboard.title" class="dashboard">
            {loaded(data, move |d| {
                let revenue = format_money(d.revenue_cents, &d.currency, i18n.locale.get_untracked());
                let discount = format_money(d.discount_cents, &d.currency, i18n.locale.get_untracked());
                let (with_voucher, paid) = (d.voucher_orders.to_string(), d.paid_orders.to_string());
                view! {
                    <dl class="figures">
                        <div><dt>{move || i18n.t("dashboard.tickets")}</dt><dd data-figure="tickets">{d.tickets}</dd></div>
                        <div><dt>{move || i18n.t("dashboard.revenue")}</dt><dd data-figure="revenue">{revenue}</dd></div>
                        <div><dt>{move || i18n.t("dashboard.checked_in")}</dt><dd data-figure="checked-in">{d.checked_in}</dd></div>
                        <div>
                            <dt>{move || i18n.t("dashboard.vouchers")}</dt>
                            <dd data-figure="vouchers" data-orders=d.voucher_orders data-discount=d.discount_cents>
                                {move || i18n.t_with("dashboard.vouchers_value", &[("n", &with_voucher), ("paid", &paid)])}
                                <br/><small>{move || i18n.t_with("dashboard.vouchers_discount", &[("amount", &discount)])}</small>
                            </dd>
                        </div>
                    </dl>
                    <h2>{move || i18n.t("dashboard.sales")}</h2>
                    <SalesCharts sales=d.sales/>
                    <h2>{move || i18n.t("dashboard.fill_rate")}</h2>
                    <figure class="chart-box" data-chart="fill"><FillChart passes=d.passes/></figure>
                    <h2>{move || i18n.t("dashboard.checkins")}</h2>
                    <div class="chart-pair"><CheckinCharts days=d.checkins/></div>
                    <h2>{move || i18n.t("dashboard.most_saved")}</h2>
                    <figure class="chart-box" data-chart="saved"><SavedChart saved=d.saved/></figure>
                }
                    .into_any()
            })}
        </AdminPage>
    }
}
