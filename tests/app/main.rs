//! The black-box test suite in one binary (one link instead of one per file): every test starts the
//! app on a real port against a fresh SQLite file and, when reachable, a fresh PostgreSQL database.
mod common;

mod accounts;
mod admin_dashboard;
mod admin_exports;
mod admin_logs;
mod admin_orders;
mod admin_passes;
mod admin_programme;
mod admin_vouchers;
mod api;
mod attendees;
mod door;
mod event_day;
mod instances;
mod invoices;
mod messages;
mod ops;
mod page_cache;
mod personal_programme;
mod privacy;
mod programme_changes;
mod scanning;
mod schedule;
mod security_accounts;
mod security_identity;
mod security_input;
mod security_seats;
mod skeleton;
mod ticketing;
mod vouchers;
mod waitlist;
mod webhooks;
