-- Invoices and credit notes (issue 17). Mirrors migrations/sqlite/0013_invoices.sql.

-- A pass's VAT rate in basis points (1000 = 10 %); NULL: the default rate of the settings.
ALTER TABLE ticket_types ADD COLUMN vat_rate_bp BIGINT CHECK (vat_rate_bp >= 0 AND vat_rate_bp <= 10000);
-- Each order line's VAT, fixed when the order is made (per line, rounded half up):
-- line_total_cents (gross) = net_cents + vat_cents.
ALTER TABLE order_items ADD COLUMN vat_rate_bp BIGINT;
ALTER TABLE order_items ADD COLUMN net_cents BIGINT;
ALTER TABLE order_items ADD COLUMN vat_cents BIGINT;
ALTER TABLE order_items ADD CONSTRAINT order_items_vat_check CHECK (net_cents IS NULL OR net_cents + vat_cents = line_total_cents);

-- "I need an invoice for a company": what the buyer typed, until the invoice is issued (then it
-- is frozen in the invoice; a change after that issues a credit note and a new invoice).
CREATE TABLE billing_details (
    order_id        UUID PRIMARY KEY NOT NULL REFERENCES orders (id),
    company         TEXT NOT NULL CHECK (length(company) BETWEEN 1 AND 200),
    address         TEXT NOT NULL CHECK (length(address) BETWEEN 1 AND 500),
    country         TEXT NOT NULL CHECK (length(country) = 2),
    vat_number      TEXT,
    reference       TEXT,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- One gap-free counter per numbering series and year (year 0: a series that never restarts).
-- Bumped by one INSERT … ON CONFLICT DO UPDATE … RETURNING in the transaction that issues the
-- document: a rolled-back payment gives its number back, and two payments queue on the row.
CREATE TABLE invoice_counters (
    series          TEXT NOT NULL,
    year            BIGINT NOT NULL,
    last_value      BIGINT NOT NULL CHECK (last_value > 0),
    PRIMARY KEY (series, year)
);

-- Issued documents, never changed: what the PDF shows is read from here (snapshots as JSON).
CREATE TABLE invoices (
    id              UUID PRIMARY KEY NOT NULL,
    number          TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('INVOICE', 'CREDIT_NOTE')),
    series          TEXT NOT NULL,
    year            BIGINT NOT NULL,
    seq             BIGINT NOT NULL CHECK (seq > 0),
    order_id        UUID NOT NULL REFERENCES orders (id) ON DELETE RESTRICT,
    -- A credit note names the invoice it corrects.
    corrects_id     UUID REFERENCES invoices (id) ON DELETE RESTRICT,
    reason          TEXT,
    issued_at       TIMESTAMPTZ NOT NULL,
    paid_at         TIMESTAMPTZ,
    locale          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    timezone        TEXT NOT NULL,
    order_ref       TEXT NOT NULL,
    payment_reference TEXT,
    seller          JSONB NOT NULL,
    buyer           JSONB NOT NULL,
    event           JSONB NOT NULL,
    -- Searchable copies of the buyer snapshot.
    buyer_name      TEXT NOT NULL,
    buyer_company   TEXT,
    net_cents       BIGINT NOT NULL,
    vat_cents       BIGINT NOT NULL,
    gross_cents     BIGINT NOT NULL,
    UNIQUE (series, year, seq),
    CHECK (gross_cents = net_cents + vat_cents),
    CHECK ((kind = 'CREDIT_NOTE') = (corrects_id IS NOT NULL)),
    CHECK ((kind = 'INVOICE' AND gross_cents >= 0) OR (kind = 'CREDIT_NOTE' AND gross_cents <= 0))
);
CREATE INDEX invoices_order_id_idx ON invoices (order_id);
CREATE INDEX invoices_issued_at_idx ON invoices (issued_at);
CREATE INDEX invoices_corrects_id_idx ON invoices (corrects_id);

CREATE TABLE invoice_lines (
    invoice_id      UUID NOT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    position        BIGINT NOT NULL,
    description     TEXT NOT NULL,
    quantity        BIGINT NOT NULL,
    unit_net_cents  BIGINT NOT NULL,
    vat_rate_bp     BIGINT NOT NULL,
    net_cents       BIGINT NOT NULL,
    vat_cents       BIGINT NOT NULL,
    gross_cents     BIGINT NOT NULL,
    PRIMARY KEY (invoice_id, position),
    CHECK (gross_cents = net_cents + vat_cents)
);

-- Issued means immutable: the database refuses to change or delete them.
CREATE FUNCTION forbid_invoice_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'issued invoices are immutable (% on %)', TG_OP, TG_TABLE_NAME USING ERRCODE = 'P0001';
END $$;
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION forbid_invoice_change();
CREATE TRIGGER invoices_no_truncate BEFORE TRUNCATE ON invoices
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_invoice_change();
CREATE TRIGGER invoice_lines_immutable BEFORE UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION forbid_invoice_change();
CREATE TRIGGER invoice_lines_no_truncate BEFORE TRUNCATE ON invoice_lines
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_invoice_change();

-- A mail may carry one invoice or credit note as a PDF (rendered when it is sent).
ALTER TABLE outbox_emails ADD COLUMN invoice_id UUID REFERENCES invoices (id);

-- The mail of a credit note for a partial refund or of a corrected invoice.
ALTER TABLE email_logs DROP CONSTRAINT email_logs_type_check;
ALTER TABLE email_logs ADD CONSTRAINT email_logs_type_check CHECK (type IN ('ORDER_CONFIRMED', 'TICKET_SENT', 'RESET_PASSWORD', 'VERIFY_EMAIL', 'CHANGE_EMAIL', 'ACCOUNT_EXISTS', 'PROGRAMME_CHANGED', 'ORDER_REFUNDED', 'EMAIL_CHANGED', 'ACCOUNT_DELETED', 'WAITLIST_OFFER', 'INVOICE_DOCUMENT'));
