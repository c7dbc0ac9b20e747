-- Webhook deliveries: one row per webhook and deployment event, claimed by the first server process
-- that sees the event, with what each attempt got.
create table api_webhook_deliveries (
    webhook        text not null,
    deployment_id  text not null,
    seq            bigint not null,
    event_type     text not null,
    claimed_by     text not null,
    attempts       int not null,
    status         int not null,        -- the last HTTP status, 0 when none came back
    error          text not null,
    delivered      boolean not null,
    updated_at     timestamptz not null,
    primary key (webhook, deployment_id, seq)
);
