-- The example shop's own table. The GA4 ids, the consent and the in-session
-- checkout time are stored WITH THE ORDER when the browser checks out, so the
-- payment webhook (which runs without any browser) can enqueue a conversion
-- that GA4 joins to the session that earned it.
CREATE TABLE IF NOT EXISTS public.checkout_orders (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status      text        NOT NULL DEFAULT 'pending'
                CONSTRAINT checkout_orders_status_check CHECK (status IN ('pending', 'paid')),
    currency    text        NOT NULL,
    total_minor bigint      NOT NULL CONSTRAINT checkout_orders_total_check CHECK (total_minor >= 0),
    items       jsonb       NOT NULL,

    -- From web/ga4-ids.js: NULL when gtag was blocked or consent was denied.
    ga_client_id               text,
    ga_session_id              text,
    consent_analytics_storage  text,
    consent_ad_user_data       text,
    consent_ad_personalization text,
    -- A moment inside the browser session: the checkout click.
    session_event_at timestamptz NOT NULL,

    payment_intent text,
    -- What Stripe has refunded of the payment (charge.refunded), in minor units.
    refunded_minor bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    paid_at        timestamptz
);

-- Shops created before refunds: the column refunds write.
ALTER TABLE public.checkout_orders ADD COLUMN IF NOT EXISTS refunded_minor bigint NOT NULL DEFAULT 0;
