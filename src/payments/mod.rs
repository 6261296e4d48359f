//! Payments: the provider (Stripe Checkout through async-stripe, or the built-in test mode used
//! when no Stripe keys are set, in dev only) and its webhook's signature. What a payment does to an
//! order is ticketing's (`ticketing::payment_events`, `ticketing::test_checkout`).
#[cfg(feature = "ssr")]
pub mod service;
